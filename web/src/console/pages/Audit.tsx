import { CheckOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  App,
  Button,
  Col,
  Input,
  Popconfirm,
  Row,
  Segmented,
  Select,
  Space,
  Table,
  Tabs,
  Tag,
  Typography,
} from 'antd';
import { type ReactNode, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { unwrap } from '../../api/client.ts';
import type { components } from '../../api/schema';
import { audit as dictionary } from '../../i18n/audit.ts';
import { shell } from '../../i18n/console.ts';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { ErrorView } from '../ErrorView.tsx';
import { PageHeader } from '../PageHeader.tsx';
import { Pager, QueryPager, useCursor } from '../Pager.tsx';
import { useApi, useCan, useSession } from '../session.tsx';

type Entry = components['schemas']['AuditEntry'];
type Action = Entry['action'];
type DomainEvent = components['schemas']['DomainEvent'];
type EventType = DomainEvent['type'];
type AlertRow = components['schemas']['Alert'];

const TABS = ['audit', 'events', 'alerts'] as const;
type Tab = (typeof TABS)[number];

/** A program's audit log, its domain events and its alerts, each filtered as its API allows. */
export default function Audit() {
  const { programId = '' } = useParams();
  const t = useT(dictionary);
  const can = useCan();
  const admin = can.program(programId, 'admin');
  const [search, setSearch] = useSearchParams();
  const asked = TABS.find((x) => x === search.get('tab')) ?? 'audit';
  // The audit log and the alerts are for admins; a program's events for any of its keys.
  const tab: Tab = admin ? asked : 'events';

  return (
    <Space orientation="vertical" size="large" style={{ width: '100%' }}>
      <PageHeader title={t.title} intro={t.intro} />
      {!admin && <Alert type="info" showIcon title={t.noAccess} />}
      <Tabs
        activeKey={tab}
        onChange={(key) => setSearch({ tab: key }, { replace: true })}
        destroyOnHidden
        items={(admin ? TABS : (['events'] as const)).map((key) => ({
          key,
          label: <span data-testid={`audit-tab-${key}`}>{t.tabs[key]}</span>,
          children:
            key === 'audit' ? (
              <AuditLog programId={programId} />
            ) : key === 'events' ? (
              <Events programId={programId} />
            ) : (
              <Alerts programId={programId} />
            ),
        }))}
      />
    </Space>
  );
}

/** JSON as it is, indented. */
function Json({ value }: { value: unknown }) {
  return (
    <pre
      style={{
        margin: 0,
        padding: 12,
        background: '#fafafa',
        border: '1px solid #f0f0f0',
        borderRadius: 6,
        fontSize: 12,
        maxHeight: 360,
        overflow: 'auto',
        whiteSpace: 'pre-wrap',
        wordBreak: 'break-all',
      }}
    >
      {value === undefined ? '—' : JSON.stringify(value, null, 2)}
    </pre>
  );
}

/** The names of the program's keys, to show who did what. */
function useKeyNames(programId: string) {
  const api = useApi();
  const can = useCan();
  const names = useQuery({
    queryKey: ['keys', programId, 'names'],
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/programs/{programId}/api-keys', {
          params: { path: { programId }, query: { limit: 100 } },
        }),
      ),
    enabled: can.program(programId, 'admin'),
    staleTime: 60_000,
  });
  const { session } = useSession();
  const current = session?.principal;
  const byId = new Map((names.data?.data ?? []).map((k) => [k.id, k]));
  // A coalition key is not among the program's: the signed-in one is known anyway.
  return (id: string) => byId.get(id) ?? (current?.id === id ? current : undefined);
}

function Actor({ programId, keyId }: { programId: string; keyId: string | null }) {
  const t = useT(dictionary);
  const s = useT(shell);
  const keyOf = useKeyNames(programId);
  if (keyId === null) return <Typography.Text type="secondary">{t.actorSystem}</Typography.Text>;
  const key = keyOf(keyId);
  return key ? (
    <Space size={4}>
      <span>{key.name}</span>
      <Tag>{key.programId === null ? s.coalition : s.role[key.role]}</Tag>
    </Space>
  ) : (
    <Typography.Text code>{keyId}</Typography.Text>
  );
}

function MemberLink({ programId, memberId }: { programId: string; memberId: string | null }) {
  if (!memberId) return <Typography.Text type="secondary">—</Typography.Text>;
  return (
    <Link to={`/p/${encodeURIComponent(programId)}/members/${encodeURIComponent(memberId)}`}>
      {memberId}
    </Link>
  );
}

function Filters({ children }: { children: ReactNode }) {
  return (
    <Row gutter={[12, 12]} style={{ marginBottom: 16 }}>
      {children}
    </Row>
  );
}

function MemberFilter({ onSearch }: { onSearch: (memberId: string | undefined) => void }) {
  const t = useT(dictionary);
  return (
    <Input.Search
      allowClear
      placeholder={t.memberFilter}
      onSearch={(v) => onSearch(v.trim() || undefined)}
      data-testid="filter-member"
    />
  );
}

function AuditLog({ programId }: { programId: string }) {
  const t = useT(dictionary);
  const f = useFormat();
  const api = useApi();
  const pages = useCursor();
  const [action, setAction] = useState<Action | undefined>();
  const [memberId, setMemberId] = useState<string | undefined>();
  const actionName = (a: Action) => (t.actions as Record<string, string>)[a] ?? a;

  const list = useQuery({
    queryKey: ['audit', programId, action, memberId, pages.cursor],
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/audit', {
          params: {
            query: {
              programId,
              limit: 20,
              ...(action && { action }),
              ...(memberId && { memberId }),
              ...(pages.cursor && { cursor: pages.cursor }),
            },
          },
        }),
      ),
  });

  return (
    <>
      <Filters>
        <Col xs={24} md={8}>
          <Select<Action>
            allowClear
            showSearch={{ optionFilterProp: 'label' }}
            style={{ width: '100%' }}
            placeholder={t.allActions}
            value={action}
            onChange={(v) => {
              setAction(v);
              pages.reset();
            }}
            options={(Object.keys(t.actions) as Action[]).map((a) => ({
              value: a,
              label: actionName(a),
            }))}
            data-testid="filter-action"
          />
        </Col>
        <Col xs={24} md={8}>
          <MemberFilter
            onSearch={(v) => {
              setMemberId(v);
              pages.reset();
            }}
          />
        </Col>
        <Col xs={24} md={8}>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {t.noActorFilter}
          </Typography.Text>
        </Col>
      </Filters>
      {list.error ? (
        <ErrorView error={list.error} retry={() => list.refetch()} />
      ) : (
        <>
          <Table<Entry>
            rowKey="id"
            size="middle"
            loading={list.isFetching}
            dataSource={list.data?.data ?? []}
            pagination={false}
            scroll={{ x: 'max-content' }}
            onRow={() => ({ 'data-testid': 'audit-row' }) as object}
            expandable={{
              expandedRowRender: (e) => (
                <Row gutter={16}>
                  <Col xs={24} lg={12}>
                    <Typography.Text type="secondary">{t.before}</Typography.Text>
                    <Json value={e.before} />
                  </Col>
                  <Col xs={24} lg={12}>
                    <Typography.Text type="secondary">{t.after}</Typography.Text>
                    <Json value={e.after} />
                  </Col>
                </Row>
              ),
            }}
            columns={[
              { title: t.at, dataIndex: 'at', render: (d: string) => f.dateTime(d) },
              {
                title: t.action,
                dataIndex: 'action',
                render: (a: Action) => (
                  <Space size={4}>
                    <Tag color="blue">{actionName(a)}</Tag>
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                      {a}
                    </Typography.Text>
                  </Space>
                ),
              },
              {
                title: t.actor,
                dataIndex: 'actorKeyId',
                render: (id: string | null) => <Actor programId={programId} keyId={id} />,
              },
              {
                title: t.member,
                dataIndex: 'memberId',
                render: (id: string | null) => <MemberLink programId={programId} memberId={id} />,
              },
            ]}
          />
          <QueryPager query={list} pages={pages} />
        </>
      )}
    </>
  );
}

function Events({ programId }: { programId: string }) {
  const t = useT(dictionary);
  const f = useFormat();
  const api = useApi();
  const pages = useCursor<number>();
  const [type, setType] = useState<EventType | undefined>();
  const [memberId, setMemberId] = useState<string | undefined>();
  const typeName = (x: EventType) => (t.eventTypes as Record<string, string>)[x] ?? x;

  const list = useQuery({
    queryKey: ['events', programId, type, memberId, pages.cursor],
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/programs/{programId}/events', {
          params: {
            path: { programId },
            query: {
              limit: 50,
              ...(type && { type }),
              ...(memberId && { memberId }),
              ...(pages.cursor !== undefined && { after: pages.cursor }),
            },
          },
        }),
      ),
  });

  return (
    <>
      <Filters>
        <Col xs={24} md={8}>
          <Select<EventType>
            allowClear
            style={{ width: '100%' }}
            placeholder={t.allTypes}
            value={type}
            onChange={(v) => {
              setType(v);
              pages.reset();
            }}
            options={(Object.keys(t.eventTypes) as EventType[]).map((x) => ({
              value: x,
              label: typeName(x),
            }))}
            data-testid="filter-event-type"
          />
        </Col>
        <Col xs={24} md={8}>
          <MemberFilter
            onSearch={(v) => {
              setMemberId(v);
              pages.reset();
            }}
          />
        </Col>
      </Filters>
      {list.error ? (
        <ErrorView error={list.error} retry={() => list.refetch()} />
      ) : (
        <>
          <Table<DomainEvent>
            rowKey="id"
            size="middle"
            loading={list.isFetching}
            dataSource={list.data?.data ?? []}
            pagination={false}
            scroll={{ x: 'max-content' }}
            onRow={() => ({ 'data-testid': 'event-row' }) as object}
            expandable={{ expandedRowRender: (e) => <Json value={e.data} /> }}
            columns={[
              { title: t.sequence, dataIndex: 'sequence', align: 'right' },
              {
                title: t.occurredAt,
                dataIndex: 'occurredAt',
                render: (d: string) => f.dateTime(d),
              },
              {
                title: t.type,
                dataIndex: 'type',
                render: (x: EventType) => (
                  <Space size={4}>
                    <Tag color="purple">{typeName(x)}</Tag>
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                      {x}
                    </Typography.Text>
                  </Space>
                ),
              },
              {
                title: t.member,
                dataIndex: 'memberId',
                render: (id: string | null) => <MemberLink programId={programId} memberId={id} />,
              },
            ]}
          />
          <Space style={{ marginTop: 16, width: '100%', justifyContent: 'space-between' }}>
            <Typography.Text type="secondary">
              {list.data && list.data.next === null && t.eventsCaughtUp}
            </Typography.Text>
            <Pager
              page={pages.page}
              nextCursor={list.data?.next}
              loading={list.isFetching}
              onNext={() => {
                const next = list.data?.next;
                if (next !== null && next !== undefined) pages.next(next);
              }}
              onPrevious={pages.previous}
            />
          </Space>
        </>
      )}
    </>
  );
}

function Alerts({ programId }: { programId: string }) {
  const t = useT(dictionary);
  const s = useT(shell);
  const f = useFormat();
  const api = useApi();
  const queries = useQueryClient();
  const { message } = App.useApp();
  const pages = useCursor();
  const keyOf = useKeyNames(programId);
  const [open, setOpen] = useState<'all' | 'true' | 'false'>('all');

  const list = useQuery({
    queryKey: ['alerts', programId, open, pages.cursor],
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/programs/{programId}/alerts', {
          params: {
            path: { programId },
            query: {
              limit: 20,
              ...(open !== 'all' && { open }),
              ...(pages.cursor && { cursor: pages.cursor }),
            },
          },
        }),
      ),
  });

  const acknowledge = useMutation({
    mutationFn: async (alertId: string) =>
      unwrap(
        await api.POST('/v1/programs/{programId}/alerts/{alertId}/acknowledge', {
          params: { path: { programId, alertId } },
        }),
      ),
    onSuccess: async () => {
      message.success(t.acknowledgedDone);
      await queries.invalidateQueries({ queryKey: ['alerts', programId] });
    },
    onError: (error) => message.error(error.message),
  });

  return (
    <>
      <Filters>
        <Col>
          <Segmented
            value={open}
            onChange={(v) => {
              setOpen(v as typeof open);
              pages.reset();
            }}
            options={[
              { value: 'all', label: t.allAlerts },
              { value: 'true', label: t.open },
              { value: 'false', label: t.acknowledged },
            ]}
            data-testid="filter-alert-open"
          />
        </Col>
      </Filters>
      {list.error ? (
        <ErrorView error={list.error} retry={() => list.refetch()} />
      ) : (
        <>
          <Table<AlertRow>
            rowKey="id"
            size="middle"
            loading={list.isFetching}
            dataSource={list.data?.data ?? []}
            pagination={false}
            scroll={{ x: 'max-content' }}
            onRow={() => ({ 'data-testid': 'alert-row' }) as object}
            expandable={{ expandedRowRender: (a) => <Json value={a.data} /> }}
            columns={[
              { title: t.createdAt, dataIndex: 'createdAt', render: (d: string) => f.dateTime(d) },
              {
                title: t.kind,
                dataIndex: 'kind',
                render: (k: string) => <Tag color="orange">{t.alertKinds[k] ?? k}</Tag>,
              },
              {
                title: t.member,
                dataIndex: 'memberId',
                render: (id: string | null) => <MemberLink programId={programId} memberId={id} />,
              },
              { title: t.day, dataIndex: 'day' },
              {
                title: t.status,
                key: 'status',
                render: (_: unknown, a) =>
                  a.acknowledgedAt ? (
                    <Space orientation="vertical" size={0}>
                      <Tag color="green">{t.acknowledged}</Tag>
                      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                        {f.dateTime(a.acknowledgedAt)}
                        {a.acknowledgedBy &&
                          ` · ${t.acknowledgedBy(keyOf(a.acknowledgedBy)?.name ?? a.acknowledgedBy)}`}
                      </Typography.Text>
                    </Space>
                  ) : (
                    <Tag color="red">{t.open}</Tag>
                  ),
              },
              {
                title: s.actions,
                key: 'actions',
                render: (_: unknown, a) =>
                  !a.acknowledgedAt && (
                    <Popconfirm
                      title={t.acknowledge}
                      description={t.acknowledgeConfirm}
                      okText={t.acknowledge}
                      cancelText={s.cancel}
                      onConfirm={() => acknowledge.mutateAsync(a.id)}
                    >
                      <Button
                        size="small"
                        icon={<CheckOutlined />}
                        data-testid={`alert-acknowledge-${a.id}`}
                      >
                        {t.acknowledge}
                      </Button>
                    </Popconfirm>
                  ),
              },
            ]}
          />
          <QueryPager query={list} pages={pages} />
        </>
      )}
    </>
  );
}
