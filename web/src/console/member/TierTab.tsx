import { CrownOutlined } from '@ant-design/icons';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import {
  Card,
  Col,
  Descriptions,
  Empty,
  Progress,
  Row,
  Space,
  Statistic,
  Table,
  Tag,
  Typography,
} from 'antd';
import { unwrap } from '../../api/client.ts';
import type { components } from '../../api/schema';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { member as dictionary, labels } from '../../i18n/members.ts';
import { ErrorView } from '../ErrorView.tsx';
import { PagedTableCard } from '../PagedTableCard.tsx';
import { useCursor } from '../Pager.tsx';
import { useApi } from '../session.tsx';
import { type Ladder, type MemberTier, memberKey, signed } from './common.tsx';

type Benefit = components['schemas']['MemberBenefit'];
type TierChange = components['schemas']['TierChange'];
type GrowthMovement = components['schemas']['GrowthMovement'];
type Growth = components['schemas']['Growth'];

const WHY_COLOR: Record<TierChange['why'], string> = {
  upgrade: 'green',
  downgrade: 'orange',
  renewal: 'blue',
  invite: 'purple',
  override: 'magenta',
  merge: 'geekblue',
  match: 'cyan',
  ladder: 'default',
};
const KIND_COLOR: Record<Benefit['kind'], string> = {
  multiplier: 'gold',
  quota: 'blue',
  flag: 'purple',
};
const num = { align: 'right' as const };

/** The tier and what it stands on, its benefits, and how both changed. */
export function TierTab({
  programId,
  memberId,
  tier,
  tierError,
  growth,
  growthError,
  ladder,
}: {
  programId: string;
  memberId: string;
  tier: MemberTier | undefined;
  tierError: unknown;
  growth: Growth | undefined;
  growthError: unknown;
  ladder: Ladder | undefined;
}) {
  const t = useT(dictionary);
  const l = useT(labels);
  const f = useFormat();
  const nameOf = (code: string) => ladder?.tiers.find((x) => x.code === code)?.name ?? code;
  const sourceName = (s: string) => l.source[s] ?? s;
  const next = tier?.next;
  const percent = tier && next ? Math.floor((tier.basis / (tier.basis + next.needed)) * 100) : 100;

  return (
    <Row gutter={[16, 16]}>
      <Col xs={24} xl={12}>
        <Card
          title={
            <Space>
              <CrownOutlined style={{ color: '#d4a017' }} />
              {t.tier.title}
            </Space>
          }
          loading={!tier && !tierError}
          style={{ height: '100%' }}
        >
          {tierError ? (
            <ErrorView error={tierError} />
          ) : (
            tier && (
              <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
                <Descriptions
                  column={1}
                  size="small"
                  styles={{ label: { width: 130 } }}
                  items={[
                    {
                      key: 'tier',
                      label: t.tier.current,
                      children: (
                        <Space size={4} wrap>
                          <Tag color="gold" style={{ fontSize: 14, padding: '2px 10px' }}>
                            {tier.tier.name}
                          </Tag>
                          {tier.overridden && <Tag color="magenta">{t.tier.overriddenTag}</Tag>}
                        </Space>
                      ),
                    },
                    { key: 'since', label: t.tier.since, children: f.date(tier.since) },
                    {
                      key: 'until',
                      label: t.tier.validUntil,
                      children: tier.validUntil ? f.date(tier.validUntil) : t.tier.noEnd,
                    },
                    { key: 'basis', label: t.tier.basis, children: f.number(tier.basis) },
                    ...(tier.eligible.length > 0
                      ? [
                          {
                            key: 'eligible',
                            label: t.tier.eligible,
                            children: (
                              <Space size={4} wrap>
                                {tier.eligible.map((c) => (
                                  <Tag key={c} color="purple">
                                    {nameOf(c)}
                                  </Tag>
                                ))}
                              </Space>
                            ),
                          },
                        ]
                      : []),
                  ]}
                />
                <div>
                  <Typography.Text type="secondary">{t.tier.next}</Typography.Text>
                  <Progress
                    percent={percent}
                    showInfo={false}
                    strokeColor={{ from: '#91caff', to: '#1f5fbf' }}
                  />
                  <Typography.Text>
                    {next ? t.tier.needed(f.number(next.needed), next.name) : t.tier.top}
                  </Typography.Text>
                </div>
              </Space>
            )
          )}
        </Card>
      </Col>
      <Col xs={24} xl={12}>
        <Card title={t.growth.title} loading={!growth && !growthError} style={{ height: '100%' }}>
          {growthError ? (
            <ErrorView error={growthError} />
          ) : (
            growth && (
              <Row gutter={[16, 16]}>
                <Col xs={24} sm={8}>
                  <Statistic
                    title={t.growth.title}
                    value={f.number(growth.growth)}
                    valueRender={(node) => <span data-testid="growth-value">{node}</span>}
                  />
                </Col>
                <Col xs={24} sm={16}>
                  <Table
                    size="small"
                    rowKey="source"
                    dataSource={growth.bySource.map((b) => ({
                      ...b,
                      today: growth.today.find((x) => x.source === b.source),
                    }))}
                    pagination={false}
                    locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} /> }}
                    columns={[
                      { title: t.growth.source, dataIndex: 'source', render: sourceName },
                      {
                        title: t.growth.value,
                        dataIndex: 'value',
                        ...num,
                        render: (n: number) => f.number(n),
                      },
                      {
                        title: t.growth.today,
                        key: 'today',
                        ...num,
                        render: (_: unknown, b) =>
                          b.today
                            ? `${f.number(b.today.credited)} / ${
                                b.today.cap === null ? t.growth.noCap : f.number(b.today.cap)
                              }`
                            : '—',
                      },
                    ]}
                  />
                </Col>
              </Row>
            )
          )}
        </Card>
      </Col>
      <Col span={24}>
        <Benefits programId={programId} memberId={memberId} />
      </Col>
      <Col span={24}>
        <TierHistory programId={programId} memberId={memberId} nameOf={nameOf} />
      </Col>
      <Col span={24}>
        <GrowthHistory programId={programId} memberId={memberId} sourceName={sourceName} />
      </Col>
    </Row>
  );
}

function Benefits({ programId, memberId }: { programId: string; memberId: string }) {
  const t = useT(dictionary).tier;
  const l = useT(labels);
  const f = useFormat();
  const api = useApi();
  const benefits = useQuery({
    queryKey: [...memberKey(programId, memberId), 'benefits'],
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/programs/{programId}/members/{memberId}/benefits', {
          params: { path: { programId, memberId } },
        }),
      ),
  });
  return (
    <Card title={t.benefits} styles={{ body: { paddingTop: 8 } }}>
      {benefits.error ? (
        <ErrorView error={benefits.error} retry={() => benefits.refetch()} />
      ) : (
        <Table<Benefit>
          size="small"
          rowKey="code"
          loading={benefits.isLoading}
          dataSource={benefits.data?.data ?? []}
          pagination={false}
          scroll={{ x: 'max-content' }}
          locale={{
            emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t.noBenefits} />,
          }}
          data-testid="member-benefits"
          columns={[
            {
              title: t.benefit,
              dataIndex: 'name',
              render: (name: string, b) => (
                <Space size={6}>
                  {name}
                  <Typography.Text type="secondary">{b.code}</Typography.Text>
                </Space>
              ),
            },
            {
              title: t.kind,
              dataIndex: 'kind',
              width: 140,
              render: (k: Benefit['kind']) => <Tag color={KIND_COLOR[k]}>{l.benefitKind[k]}</Tag>,
            },
            {
              title: t.detail,
              key: 'detail',
              width: 180,
              render: (_: unknown, b) =>
                b.kind === 'multiplier' && b.value !== undefined
                  ? t.multiplier(f.number(b.value))
                  : b.kind === 'quota' && b.quota
                    ? t.quota(f.number(b.quota.count), l.period[b.quota.period])
                    : '—',
            },
            {
              title: t.left,
              key: 'left',
              width: 160,
              ...num,
              render: (_: unknown, b) =>
                b.left === undefined ? (
                  '—'
                ) : (
                  <Typography.Text strong type={b.left === 0 ? 'danger' : undefined}>
                    {f.number(b.left)}
                    {b.quota && (
                      <Typography.Text type="secondary">
                        {' '}
                        / {f.number(b.quota.count)}
                      </Typography.Text>
                    )}
                  </Typography.Text>
                ),
            },
          ]}
        />
      )}
    </Card>
  );
}

function TierHistory({
  programId,
  memberId,
  nameOf,
}: {
  programId: string;
  memberId: string;
  nameOf: (code: string) => string;
}) {
  const t = useT(dictionary).tier;
  const l = useT(labels);
  const f = useFormat();
  const api = useApi();
  const pages = useCursor();
  const history = useQuery({
    queryKey: [...memberKey(programId, memberId), 'tierHistory', pages.cursor],
    placeholderData: keepPreviousData,
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/programs/{programId}/members/{memberId}/tier/history', {
          params: {
            path: { programId, memberId },
            query: { limit: 10, ...(pages.cursor && { cursor: pages.cursor }) },
          },
        }),
      ),
  });
  return (
    <PagedTableCard<TierChange>
      title={t.history}
      query={history}
      pages={pages}
      testId="tier-history"
      columns={[
        { title: t.at, dataIndex: 'at', width: 180, render: (d: string) => f.dateTime(d) },
        {
          title: t.change,
          key: 'change',
          width: 220,
          render: (_: unknown, c) => (
            <Space size={4}>
              {c.from ? <Tag>{nameOf(c.from)}</Tag> : <Tag>{t.entry}</Tag>}→
              <Tag color="gold">{nameOf(c.to)}</Tag>
            </Space>
          ),
        },
        {
          title: t.why,
          dataIndex: 'why',
          width: 120,
          render: (w: TierChange['why']) => <Tag color={WHY_COLOR[w]}>{l.why[w]}</Tag>,
        },
        {
          title: t.validUntil,
          dataIndex: 'validUntil',
          width: 130,
          render: (d: string | null) => (d ? f.date(d) : t.noEnd),
        },
        {
          title: t.reason,
          dataIndex: 'reason',
          render: (r: string | null) => r ?? <Typography.Text type="secondary">—</Typography.Text>,
        },
      ]}
    />
  );
}

function GrowthHistory({
  programId,
  memberId,
  sourceName,
}: {
  programId: string;
  memberId: string;
  sourceName: (s: string) => string;
}) {
  const t = useT(dictionary).growth;
  const f = useFormat();
  const api = useApi();
  const pages = useCursor();
  const history = useQuery({
    queryKey: [...memberKey(programId, memberId), 'growthHistory', pages.cursor],
    placeholderData: keepPreviousData,
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/programs/{programId}/members/{memberId}/growth/history', {
          params: {
            path: { programId, memberId },
            query: { limit: 10, ...(pages.cursor && { cursor: pages.cursor }) },
          },
        }),
      ),
  });
  return (
    <PagedTableCard<GrowthMovement>
      title={t.history}
      query={history}
      pages={pages}
      testId="growth-history"
      columns={[
        {
          title: t.occurredAt,
          dataIndex: 'occurredAt',
          width: 180,
          render: (d: string) => f.dateTime(d),
        },
        { title: t.source, dataIndex: 'source', width: 120, render: sourceName },
        {
          title: t.credited,
          dataIndex: 'value',
          width: 120,
          ...num,
          render: (n: number) => (
            <Typography.Text strong style={{ color: n < 0 ? '#cf1322' : '#389e0d' }}>
              {signed(n, f.number)}
            </Typography.Text>
          ),
        },
        {
          title: t.requested,
          dataIndex: 'requested',
          width: 200,
          render: (n: number, e) =>
            n === e.value ? (
              <Typography.Text type="secondary">{signed(n, f.number)}</Typography.Text>
            ) : (
              <Space size={4}>
                {signed(n, f.number)}
                <Tag color="orange">{t.capped(f.number(Math.abs(n - e.value)))}</Tag>
              </Space>
            ),
        },
        {
          title: t.reference,
          dataIndex: 'reference',
          render: (r: string) => (
            <Typography.Text copyable style={{ wordBreak: 'break-all' }}>
              {r}
            </Typography.Text>
          ),
        },
      ]}
    />
  );
}
