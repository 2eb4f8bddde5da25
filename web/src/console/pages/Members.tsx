import { PlusOutlined, SearchOutlined } from '@ant-design/icons';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import {
  Alert,
  Button,
  Card,
  Empty,
  Form,
  Input,
  Select,
  Space,
  Table,
  Tag,
  Tooltip,
  Typography,
} from 'antd';
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { problemOf, unwrap } from '../../api/client.ts';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { members as dictionary, labels } from '../../i18n/members.ts';
import { ErrorView } from '../ErrorView.tsx';
import {
  IDENTIFIER_TYPES,
  type IdentifierType,
  type Member,
  StatusTag,
} from '../member/common.tsx';
import { EnrollModal } from '../member/EnrollModal.tsx';
import { PageHeader } from '../PageHeader.tsx';
import { QueryPager, useCursor } from '../Pager.tsx';
import { useApi, useCan } from '../session.tsx';

type SearchBy = 'memberId' | IdentifierType;
const SEARCH_BY: SearchBy[] = ['phone', 'memberId', ...IDENTIFIER_TYPES.slice(1)];
const isSearchBy = (x: string | null): x is SearchBy => SEARCH_BY.includes(x as SearchBy);
const PAGE = 20;

/** A program's members: find one by an identifier or their id, and enroll new ones. */
export default function Members() {
  const { programId = '' } = useParams();
  const t = useT(dictionary);
  const l = useT(labels);
  const can = useCan();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const [enrolling, setEnrolling] = useState(false);

  // The search lives in the address, so going back from a member returns to it.
  const rawBy = params.get('by');
  const by: SearchBy = isSearchBy(rawBy) ? rawBy : 'phone';
  const q = params.get('q')?.trim() ?? '';
  const [form] = Form.useForm<{ by: SearchBy; q: string }>();
  useEffect(() => form.setFieldsValue({ by, q }), [form, by, q]);
  const watchedBy = Form.useWatch('by', form) ?? by;

  const search = (v: { by: SearchBy; q?: string }) => {
    const value = v.q?.trim() ?? '';
    setParams(value ? { by: v.by, q: value } : v.by === 'phone' ? {} : { by: v.by });
  };
  const searchLabel = (b: SearchBy) => (b === 'memberId' ? t.memberId : l.identifier[b]);
  const memberUrl = (id: string) =>
    `/p/${encodeURIComponent(programId)}/members/${encodeURIComponent(id)}`;

  return (
    <Space orientation="vertical" size="large" style={{ width: '100%' }}>
      <PageHeader
        title={t.title}
        intro={t.intro}
        extra={
          can.program(programId, 'integration') && (
            <Button
              type="primary"
              icon={<PlusOutlined />}
              onClick={() => setEnrolling(true)}
              data-testid="member-enroll"
            >
              {t.enroll.button}
            </Button>
          )
        }
      />

      <Card>
        <Form
          form={form}
          layout="inline"
          initialValues={{ by, q }}
          onFinish={search}
          style={{ rowGap: 12 }}
        >
          <Form.Item name="by" label={t.searchBy}>
            <Select
              style={{ width: 168 }}
              options={SEARCH_BY.map((b) => ({ value: b, label: searchLabel(b) }))}
              data-testid="member-search-type"
            />
          </Form.Item>
          <Form.Item name="q" style={{ flex: '1 1 280px', maxWidth: 480 }}>
            <Input
              allowClear
              placeholder={t.placeholder[watchedBy]}
              prefix={<SearchOutlined style={{ color: '#8c8c8c' }} />}
              maxLength={320}
              data-testid="member-search-input"
            />
          </Form.Item>
          <Form.Item>
            <Space>
              <Button type="primary" htmlType="submit" data-testid="member-search-button">
                {t.search}
              </Button>
              {q && (
                <Button onClick={() => setParams({})} data-testid="member-search-clear">
                  {t.clear}
                </Button>
              )}
            </Space>
          </Form.Item>
        </Form>
      </Card>

      <Results
        key={`${by}:${q}`}
        programId={programId}
        by={by}
        q={q}
        title={q ? t.resultsFor(`${searchLabel(by)} ${q}`) : t.allMembers}
        typeLabel={searchLabel(by)}
        memberUrl={memberUrl}
      />
      {enrolling && (
        <EnrollModal
          programId={programId}
          onClose={() => setEnrolling(false)}
          onEnrolled={(id) => navigate(memberUrl(id))}
        />
      )}
    </Space>
  );
}

/** The members a search finds (or all of them), a page at a time. */
function Results({
  programId,
  by,
  q,
  title,
  typeLabel,
  memberUrl,
}: {
  programId: string;
  by: SearchBy;
  q: string;
  title: string;
  typeLabel: string;
  memberUrl: (id: string) => string;
}) {
  const t = useT(dictionary);
  const l = useT(labels);
  const f = useFormat();
  const api = useApi();
  const navigate = useNavigate();
  // Keyed by the search: a new search starts again at its first page.
  const pages = useCursor();
  const path = { programId };
  const list = useQuery({
    queryKey: ['members', programId, q ? by : null, q, pages.cursor],
    placeholderData: keepPreviousData,
    queryFn: async (): Promise<{ data: Member[]; nextCursor: string | null }> => {
      if (q && by === 'memberId') {
        const answer = await api.GET('/v1/programs/{programId}/members/{memberId}', {
          params: { path: { programId, memberId: q } },
        });
        if (answer.response.status === 404) return { data: [], nextCursor: null };
        return { data: [unwrap(answer)], nextCursor: null };
      }
      return unwrap(
        await api.GET('/v1/programs/{programId}/members', {
          params: {
            path,
            query: {
              limit: PAGE,
              ...(pages.cursor && { cursor: pages.cursor }),
              ...(q && { identifier: `${by}:${q}` }),
            },
          },
        }),
      );
    },
  });

  // A value its type cannot be (a phone of five digits) is the operator's to correct.
  if (list.error && q && problemOf(list.error)?.status === 400) {
    return (
      <Alert
        type="warning"
        showIcon
        title={t.invalid(typeLabel)}
        description={problemOf(list.error)?.detail}
        data-testid="member-search-invalid"
      />
    );
  }
  return list.error ? (
    <ErrorView error={list.error} retry={() => list.refetch()} />
  ) : (
    <Card title={title} styles={{ body: { paddingTop: 0 } }}>
      <Table<Member>
        rowKey="id"
        loading={list.isFetching}
        dataSource={list.data?.data ?? []}
        pagination={false}
        tableLayout="fixed"
        scroll={{ x: 1000 }}
        locale={{
          emptyText: (
            <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={q ? t.notFound : t.empty} />
          ),
        }}
        onRow={(m) =>
          ({
            'data-testid': `member-row-${m.id}`,
            style: { cursor: 'pointer' },
            onClick: (e: React.MouseEvent) => {
              // A click on the row opens the member; links and selections keep theirs.
              if ((e.target as HTMLElement).closest('a') || getSelection()?.toString()) return;
              navigate(memberUrl(m.id));
            },
          }) as object
        }
        columns={[
          {
            title: t.columns.id,
            dataIndex: 'id',
            width: 290,
            render: (id: string) => (
              <Link
                to={memberUrl(id)}
                data-testid={`member-link-${id}`}
                style={{
                  fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
                  fontSize: 13,
                  whiteSpace: 'nowrap',
                }}
              >
                {id}
              </Link>
            ),
          },
          {
            title: t.columns.name,
            key: 'name',
            width: 140,
            ellipsis: true,
            render: (_: unknown, m) =>
              m.profile.name ?? <Typography.Text type="secondary">{t.noName}</Typography.Text>,
          },
          {
            title: t.columns.identifiers,
            key: 'identifiers',
            render: (_: unknown, m) => {
              const shown = m.identifiers.slice(0, 2);
              const rest = m.identifiers.slice(2);
              return (
                <Space size={[4, 4]} wrap>
                  {shown.map((i) => (
                    <Tag key={`${i.type}:${i.value}`}>
                      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                        {l.identifier[i.type]}
                      </Typography.Text>{' '}
                      {i.value}
                    </Tag>
                  ))}
                  {rest.length > 0 && (
                    <Tooltip
                      title={rest.map((i) => (
                        <div key={`${i.type}:${i.value}`}>
                          {l.identifier[i.type]} {i.value}
                        </div>
                      ))}
                    >
                      <Tag>{t.more(rest.length)}</Tag>
                    </Tooltip>
                  )}
                </Space>
              );
            },
          },
          {
            title: t.columns.status,
            dataIndex: 'status',
            width: 90,
            render: (s: Member['status']) => <StatusTag status={s} />,
          },
          {
            title: t.columns.channel,
            dataIndex: 'channel',
            width: 110,
            render: (c: Member['channel']) => l.channel[c],
          },
          {
            title: t.columns.enrolledAt,
            dataIndex: 'enrolledAt',
            width: 180,
            render: (d: string) => <span style={{ whiteSpace: 'nowrap' }}>{f.dateTime(d)}</span>,
          },
        ]}
      />
      <QueryPager query={list} pages={pages} />
    </Card>
  );
}
