import { useQuery } from '@tanstack/react-query';
import { Card, Col, Descriptions, Row, Space, Table, Tag, Typography } from 'antd';
import { Link } from 'react-router';
import { unwrap } from '../../api/client.ts';
import type { components } from '../../api/schema';
import { shell } from '../../i18n/console.ts';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { member as dictionary, labels } from '../../i18n/members.ts';
import { ErrorView } from '../ErrorView.tsx';
import { useApi, useCan } from '../session.tsx';
import { addressLine, type Member, memberKey, StatusTag } from './common.tsx';

type GlobalMember = components['schemas']['GlobalMember'];
type Enrollment = Omit<GlobalMember['enrollments'][number], 'status'> & {
  status: Member['status'];
};
type Identifier = GlobalMember['identifiers'][number];

const MONO = { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace' };

/** Who the member is: profile, identifiers, and the programs they joined. */
export function Overview({ programId, member }: { programId: string; member: Member }) {
  const t = useT(dictionary);
  const l = useT(labels);
  const s = useT(shell);
  const f = useFormat();
  const api = useApi();
  const can = useCan();
  const p = member.profile;
  const none = <Typography.Text type="secondary">—</Typography.Text>;

  // Every enrollment is the coalition's to see; a program key sees its own.
  const global = useQuery({
    queryKey: [...memberKey(programId, member.id), 'global'],
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/members/{memberId}', { params: { path: { memberId: member.id } } }),
      ),
    enabled: can.coalitionAdmin,
  });
  const enrollments: Enrollment[] = global.data
    ? global.data.enrollments.map((e) => ({
        ...e,
        status: global.data.status === 'active' ? e.status : global.data.status,
      }))
    : [
        {
          programId: member.programId,
          enrolledAt: member.enrolledAt,
          channel: member.channel,
          status: member.status,
          blockedReason: member.blockedReason,
          activatedAt: member.activatedAt,
          consents: member.consents,
        },
      ];
  const identifiers: Identifier[] = global.data
    ? global.data.identifiers
    : member.identifiers.map((i) => ({ ...i, programId: null }));
  const consents = Object.entries(member.consents);

  return (
    <Row gutter={[16, 16]}>
      <Col xs={24} xl={12}>
        <Card title={t.profile.title} style={{ height: '100%' }}>
          <Descriptions
            column={1}
            size="small"
            styles={{ label: { width: 120 } }}
            items={[
              { key: 'name', label: t.profile.name, children: p.name ?? none },
              {
                key: 'gender',
                label: t.profile.gender,
                children: p.gender ? l.gender[p.gender] : none,
              },
              {
                key: 'birthday',
                label: t.profile.birthday,
                children: p.birthday ? f.date(`${p.birthday}T00:00:00`) : none,
              },
              {
                key: 'address',
                label: t.profile.address,
                children: addressLine(p.address) || none,
              },
              {
                key: 'activation',
                label: t.profile.activation,
                children: member.activatedAt ? (
                  <Tag color="green">{t.profile.activatedAt(f.date(member.activatedAt))}</Tag>
                ) : (
                  <Tag>{t.notActivated}</Tag>
                ),
              },
              {
                key: 'consents',
                label: t.profile.consents,
                children:
                  consents.length === 0 ? (
                    none
                  ) : (
                    <Space size={[4, 4]} wrap>
                      {consents.map(([name, given]) => (
                        <Tag key={name} color={given ? 'blue' : 'default'}>
                          {name} · {given ? t.profile.granted : t.profile.refused}
                        </Tag>
                      ))}
                    </Space>
                  ),
              },
            ]}
          />
        </Card>
      </Col>
      <Col xs={24} xl={12}>
        <Card
          title={t.identifiers.title}
          style={{ height: '100%' }}
          styles={{ body: { paddingTop: 8 } }}
        >
          <Table
            size="small"
            rowKey={(i) => `${i.type}:${i.value}:${i.programId ?? ''}`}
            dataSource={identifiers}
            pagination={false}
            scroll={{ x: 'max-content' }}
            locale={{ emptyText: s.none }}
            data-testid="member-identifiers"
            columns={[
              {
                title: t.identifiers.type,
                dataIndex: 'type',
                width: 140,
                render: (type: Member['identifiers'][number]['type']) => l.identifier[type],
              },
              {
                title: t.identifiers.value,
                dataIndex: 'value',
                render: (v: string) => (
                  <Typography.Text copyable style={MONO}>
                    {v}
                  </Typography.Text>
                ),
              },
              ...(global.data
                ? [
                    {
                      title: t.identifiers.program,
                      dataIndex: 'programId',
                      width: 140,
                      render: (id: string | null) => id ?? <Tag>{t.identifiers.global}</Tag>,
                    },
                  ]
                : []),
            ]}
          />
        </Card>
      </Col>
      <Col span={24}>
        <Card title={t.enrollments.title} styles={{ body: { paddingTop: 8 } }}>
          {global.error ? (
            <ErrorView error={global.error} retry={() => global.refetch()} />
          ) : (
            <Table
              size="small"
              rowKey="programId"
              loading={global.isLoading}
              dataSource={enrollments}
              pagination={false}
              scroll={{ x: 'max-content' }}
              columns={[
                {
                  title: t.enrollments.program,
                  dataIndex: 'programId',
                  render: (id: string) =>
                    id === programId ? (
                      <Typography.Text strong>{id}</Typography.Text>
                    ) : (
                      <Link
                        to={`/p/${encodeURIComponent(id)}/members/${encodeURIComponent(member.id)}`}
                      >
                        {id}
                      </Link>
                    ),
                },
                {
                  title: t.enrollments.enrolledAt,
                  dataIndex: 'enrolledAt',
                  width: 190,
                  render: (d: string) => f.dateTime(d),
                },
                {
                  title: t.enrollments.channel,
                  dataIndex: 'channel',
                  width: 140,
                  render: (c: Member['channel']) => l.channel[c],
                },
                {
                  title: t.enrollments.status,
                  dataIndex: 'status',
                  width: 200,
                  render: (st: Member['status'], e) => (
                    <Space size={4} wrap>
                      <StatusTag status={st} />
                      {e.blockedReason && (
                        <Typography.Text type="secondary">{e.blockedReason}</Typography.Text>
                      )}
                    </Space>
                  ),
                },
                {
                  title: t.enrollments.activation,
                  dataIndex: 'activatedAt',
                  width: 190,
                  render: (d: string | null) => (d ? f.dateTime(d) : <Tag>{t.notActivated}</Tag>),
                },
              ]}
            />
          )}
        </Card>
      </Col>
    </Row>
  );
}
