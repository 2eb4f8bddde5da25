import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Card, Col, Empty, Row, Space, Table, Tag, Typography } from 'antd';
import { unwrap } from '../../api/client.ts';
import type { components } from '../../api/schema';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { member as dictionary } from '../../i18n/members.ts';
import { ErrorView } from '../ErrorView.tsx';
import { QueryPager, useCursor } from '../Pager.tsx';
import { useApi } from '../session.tsx';
import { memberKey, signed } from './common.tsx';

type Purchase = components['schemas']['PurchaseView'];

const num = { align: 'right' as const };
const MONO = { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace' };
const dash = <Typography.Text type="secondary">—</Typography.Text>;

/** The member's purchases, newest first; each opens on its items, points and returns. */
export function PurchasesTab({ programId, memberId }: { programId: string; memberId: string }) {
  const t = useT(dictionary).purchases;
  const f = useFormat();
  const api = useApi();
  const pages = useCursor();
  const purchases = useQuery({
    queryKey: [...memberKey(programId, memberId), 'purchases', pages.cursor],
    placeholderData: keepPreviousData,
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/programs/{programId}/members/{memberId}/purchases', {
          params: {
            path: { programId, memberId },
            query: { limit: 20, ...(pages.cursor && { cursor: pages.cursor }) },
          },
        }),
      ),
  });

  return (
    <Card title={t.title} styles={{ body: { paddingTop: 8 } }}>
      {purchases.error ? (
        <ErrorView error={purchases.error} retry={() => purchases.refetch()} />
      ) : (
        <>
          <Table<Purchase>
            size="middle"
            rowKey="id"
            loading={purchases.isFetching}
            dataSource={purchases.data?.data ?? []}
            pagination={false}
            locale={{
              emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t.empty} />,
            }}
            // A set width, not max-content: an opened row then spans what is visible.
            scroll={{ x: 940 }}
            onRow={(p) => ({ 'data-testid': `purchase-row-${p.id}` }) as object}
            expandable={{
              expandedRowRender: (p) => <PurchaseDetail programId={programId} purchase={p} />,
            }}
            columns={[
              {
                title: t.occurredAt,
                dataIndex: 'occurredAt',
                width: 170,
                render: (d: string) => f.dateTime(d),
              },
              {
                title: t.order,
                dataIndex: 'id',

                ellipsis: true,
                render: (id: string) => (
                  <Typography.Text copyable style={MONO}>
                    {id}
                  </Typography.Text>
                ),
              },
              {
                title: t.amount,
                dataIndex: 'amount',
                width: 120,
                ...num,
                render: (fen: number) => <Typography.Text strong>{f.money(fen)}</Typography.Text>,
              },
              {
                title: t.store,
                key: 'store',
                width: 170,
                render: (_: unknown, p) => (
                  <Space orientation="vertical" size={0}>
                    {p.store ?? dash}
                    {(p.channel || p.paymentMethod) && (
                      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                        {[p.channel, p.paymentMethod].filter(Boolean).join(' · ')}
                      </Typography.Text>
                    )}
                  </Space>
                ),
              },
              {
                title: t.points,
                key: 'points',
                width: 140,
                ...num,
                render: (_: unknown, p) => (
                  <Space orientation="vertical" size={0} align="end">
                    <Typography.Text strong style={{ color: '#389e0d' }}>
                      {signed(p.points.earned, f.number)}
                    </Typography.Text>
                    {p.points.pending > 0 && (
                      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                        {t.pending(f.number(p.points.pending))}
                      </Typography.Text>
                    )}
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                      {t.growthEarned(signed(p.growth.credited, f.number))}
                    </Typography.Text>
                  </Space>
                ),
              },
              {
                title: t.returned,
                key: 'returned',
                width: 150,
                render: (_: unknown, p) =>
                  p.returned.amount > 0 || p.returned.points > 0 ? (
                    <Space orientation="vertical" size={0}>
                      <Tag color="volcano">{t.returnedAmount(f.money(p.returned.amount))}</Tag>
                      {p.returned.points > 0 && (
                        <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                          {t.reversed} {signed(-p.returned.points, f.number)}
                        </Typography.Text>
                      )}
                    </Space>
                  ) : (
                    <Typography.Text type="secondary">{t.none}</Typography.Text>
                  ),
              },
            ]}
          />
          <QueryPager query={purchases} pages={pages} />
        </>
      )}
    </Card>
  );
}

/** A purchase opened: its items, how its points were earned, and its returns (read on opening). */
function PurchaseDetail({ programId, purchase }: { programId: string; purchase: Purchase }) {
  const t = useT(dictionary).purchases;
  const f = useFormat();
  const api = useApi();
  const detail = useQuery({
    queryKey: [...memberKey(programId, purchase.memberId), 'purchase', purchase.id],
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/programs/{programId}/purchases/{purchaseId}', {
          params: { path: { programId, purchaseId: purchase.id } },
        }),
      ),
  });
  const returns = detail.data?.returns ?? [];

  return (
    <Row gutter={[16, 16]} style={{ padding: '4px 0' }}>
      <Col xs={24} xl={12}>
        <Typography.Title level={5} style={{ marginTop: 0 }}>
          {t.items}
        </Typography.Title>
        <Table
          size="small"
          rowKey={(_, i) => String(i)}
          dataSource={purchase.items ?? []}
          pagination={false}
          locale={{ emptyText: t.none }}
          columns={[
            { title: t.sku, dataIndex: 'sku', render: (s: string | null) => s ?? dash },
            { title: t.category, dataIndex: 'category', render: (s: string | null) => s ?? dash },
            {
              title: t.quantity,
              dataIndex: 'quantity',
              ...num,
              render: (n: number) => f.number(n),
            },
            { title: t.amount, dataIndex: 'amount', ...num, render: (n: number) => f.money(n) },
          ]}
        />
      </Col>
      <Col xs={24} xl={12}>
        <Typography.Title level={5} style={{ marginTop: 0 }}>
          {t.breakdown}
        </Typography.Title>
        <Table
          size="small"
          rowKey="ruleId"
          dataSource={purchase.points.breakdown}
          pagination={false}
          locale={{ emptyText: t.none }}
          columns={[
            {
              title: t.rule,
              dataIndex: 'name',
              render: (name: string, b) => (
                <Space size={6}>
                  {name}
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    {b.ruleId}
                  </Typography.Text>
                </Space>
              ),
            },
            {
              title: t.points,
              dataIndex: 'points',
              ...num,
              render: (n: number) => signed(n, f.number),
            },
          ]}
        />
      </Col>
      <Col span={24}>
        <Typography.Title level={5} style={{ marginTop: 0 }}>
          {t.returns}
        </Typography.Title>
        {detail.error ? (
          <ErrorView error={detail.error} retry={() => detail.refetch()} />
        ) : (
          <Table
            size="small"
            rowKey="id"
            loading={detail.isLoading}
            dataSource={returns}
            pagination={false}
            scroll={{ x: 'max-content' }}
            locale={{ emptyText: t.noReturns }}
            columns={[
              {
                title: t.returnAt,
                dataIndex: 'createdAt',
                width: 180,
                render: (d: string) => f.dateTime(d),
              },
              {
                title: t.returnId,
                dataIndex: 'id',
                render: (id: string) => <Typography.Text style={MONO}>{id}</Typography.Text>,
              },
              {
                title: t.returnAmount,
                dataIndex: 'amount',
                width: 120,
                ...num,
                render: (n: number) => f.money(n),
              },
              {
                title: t.reversed,
                key: 'reversed',
                width: 120,
                ...num,
                render: (_: unknown, r) => signed(-r.points.reversed, f.number),
              },
              {
                title: t.writtenOff,
                key: 'writtenOff',
                width: 120,
                ...num,
                render: (_: unknown, r) => f.number(r.points.writtenOff),
              },
              { title: t.returnReason, dataIndex: 'reason' },
            ]}
          />
        )}
      </Col>
    </Row>
  );
}
