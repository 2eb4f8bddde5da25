import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Card, Col, Empty, Row, Table, Tag, Typography } from 'antd';
import { unwrap } from '../../api/client.ts';
import type { components } from '../../api/schema';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { member as dictionary, labels } from '../../i18n/members.ts';
import { ErrorView } from '../ErrorView.tsx';
import { PagedTableCard } from '../PagedTableCard.tsx';
import { useCursor } from '../Pager.tsx';
import { useApi } from '../session.tsx';
import { memberKey, type Points, signed } from './common.tsx';

type Lot = components['schemas']['Lot'];
type Movement = components['schemas']['PointsMovement'];
type Code = Movement['code'];

const CODE_COLOR: Record<Code, string> = {
  earn: 'green',
  redeem: 'blue',
  hold: 'gold',
  capture: 'blue',
  release: 'cyan',
  expire: 'default',
  refund: 'orange',
  adjust: 'purple',
  merge: 'geekblue',
  reverse: 'volcano',
  convert: 'magenta',
  fee: 'default',
};

const num = { align: 'right' as const };
const amountColor = (n: number) => (n > 0 ? '#389e0d' : n < 0 ? '#cf1322' : undefined);

/** What will expire, the lots, and every movement. */
export function PointsTab({
  programId,
  memberId,
  points,
}: {
  programId: string;
  memberId: string;
  points: Points | undefined;
}) {
  const t = useT(dictionary).points;
  const f = useFormat();
  const api = useApi();
  const path = { params: { path: { programId, memberId } } };
  const key = memberKey(programId, memberId);

  const lots = useQuery({
    queryKey: [...key, 'lots'],
    queryFn: async () =>
      unwrap(await api.GET('/v1/programs/{programId}/members/{memberId}/points/lots', path)),
  });

  const lotState = (lot: Lot) => {
    const now = Date.now();
    if (lot.usable) return <Tag color="green">{t.usable}</Tag>;
    if (lot.remaining === 0) return <Tag>{t.usedUp}</Tag>;
    if (lot.expiresAt && Date.parse(lot.expiresAt) <= now) return <Tag>{t.expired}</Tag>;
    if (lot.pendingUntil && Date.parse(lot.pendingUntil) > now)
      return <Tag color="gold">{t.pending}</Tag>;
    return <Tag>{t.usedUp}</Tag>;
  };

  return (
    <Row gutter={[16, 16]}>
      <Col xs={24} xl={8}>
        <Card title={t.expiring} style={{ height: '100%' }} styles={{ body: { paddingTop: 8 } }}>
          <Table
            size="small"
            rowKey="date"
            loading={!points}
            dataSource={points?.expiring ?? []}
            pagination={points && points.expiring.length > 10 ? { pageSize: 10 } : false}
            locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} /> }}
            data-testid="points-expiring"
            columns={[
              { title: t.date, dataIndex: 'date', render: (d: string) => f.date(`${d}T00:00:00`) },
              { title: t.points, dataIndex: 'points', ...num, render: (n: number) => f.number(n) },
            ]}
          />
        </Card>
      </Col>
      <Col xs={24} xl={16}>
        <Card
          title={t.lots}
          extra={
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {t.lotsHelp}
            </Typography.Text>
          }
          style={{ height: '100%' }}
          styles={{ body: { paddingTop: 8 } }}
        >
          {lots.error ? (
            <ErrorView error={lots.error} retry={() => lots.refetch()} />
          ) : (
            <Table<Lot>
              size="small"
              rowKey="id"
              loading={lots.isLoading}
              dataSource={lots.data?.data ?? []}
              pagination={(lots.data?.data.length ?? 0) > 10 ? { pageSize: 10 } : false}
              scroll={{ x: 'max-content' }}
              data-testid="points-lots"
              columns={[
                {
                  title: t.createdAt,
                  dataIndex: 'createdAt',
                  width: 170,
                  render: (d: string) => f.dateTime(d),
                },
                {
                  title: t.amount,
                  dataIndex: 'amount',
                  ...num,
                  render: (n: number) => f.number(n),
                },
                {
                  title: t.remaining,
                  dataIndex: 'remaining',
                  ...num,
                  render: (n: number) => <Typography.Text strong>{f.number(n)}</Typography.Text>,
                },
                {
                  title: t.expiresAt,
                  dataIndex: 'expiresAt',
                  width: 130,
                  render: (d: string | null) =>
                    d ? (
                      f.date(d)
                    ) : (
                      <Typography.Text type="secondary">{t.noExpiry}</Typography.Text>
                    ),
                },
                {
                  title: t.pendingUntil,
                  dataIndex: 'pendingUntil',
                  width: 130,
                  render: (d: string | null) =>
                    d ? f.date(d) : <Typography.Text type="secondary">—</Typography.Text>,
                },
                { title: t.state, key: 'state', width: 90, render: (_: unknown, l) => lotState(l) },
              ]}
            />
          )}
        </Card>
      </Col>
      <Col span={24}>
        <History programId={programId} memberId={memberId} />
      </Col>
    </Row>
  );
}

/** Posted movements, newest first, a page at a time. */
function History({ programId, memberId }: { programId: string; memberId: string }) {
  const t = useT(dictionary).points;
  const l = useT(labels);
  const f = useFormat();
  const api = useApi();
  const pages = useCursor();
  const history = useQuery({
    queryKey: [...memberKey(programId, memberId), 'history', pages.cursor],
    placeholderData: keepPreviousData,
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/programs/{programId}/members/{memberId}/points/history', {
          params: {
            path: { programId, memberId },
            query: { limit: 20, ...(pages.cursor && { cursor: pages.cursor }) },
          },
        }),
      ),
  });

  return (
    <PagedTableCard<Movement>
      title={t.history}
      query={history}
      pages={pages}
      testId="points-history"
      columns={[
        {
          title: t.time,
          dataIndex: 'createdAt',
          width: 180,
          render: (d: string) => f.dateTime(d),
        },
        {
          title: t.kind,
          dataIndex: 'code',
          width: 130,
          render: (c: Code) => <Tag color={CODE_COLOR[c]}>{l.transfer[c]}</Tag>,
        },
        {
          title: t.change,
          dataIndex: 'points',
          width: 120,
          ...num,
          render: (n: number) => (
            <Typography.Text strong style={{ color: amountColor(n) }}>
              {signed(n, f.number)}
            </Typography.Text>
          ),
        },
        {
          title: t.balanceAfter,
          dataIndex: 'balanceAfter',
          width: 130,
          ...num,
          render: (n: number | null) => (n === null ? '—' : f.number(n)),
        },
        {
          title: t.reference,
          dataIndex: 'reference',
          render: (r: string | null) =>
            r ? (
              <Typography.Text copyable style={{ wordBreak: 'break-all' }}>
                {r}
              </Typography.Text>
            ) : (
              <Typography.Text type="secondary">—</Typography.Text>
            ),
        },
      ]}
    />
  );
}
