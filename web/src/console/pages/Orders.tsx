import { CheckOutlined, CloseOutlined, SendOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Form, Input, Select, Space, Tag, Typography } from 'antd';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { unwrap } from '../../api/client.ts';
import type { components } from '../../api/schema';
import { shell } from '../../i18n/console.ts';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { mall } from '../../i18n/mall.ts';
import { FormModal } from '../FormModal.tsx';
import { PagedTableCard } from '../PagedTableCard.tsx';
import { PageHeader } from '../PageHeader.tsx';
import { useCursor } from '../Pager.tsx';
import { useApi, useCan } from '../session.tsx';

type Order = components['schemas']['Order'];
type Status = Order['status'];

const STATUSES: Status[] = ['placed', 'confirmed', 'shipped', 'completed', 'cancelled', 'expired'];
const STATUS_COLOR: Record<Status, string> = {
  placed: 'orange',
  confirmed: 'blue',
  shipped: 'cyan',
  completed: 'green',
  cancelled: 'default',
  expired: 'default',
};

/**
 * The program's orders, every member's, by status: ship what is confirmed, complete what
 * arrived, cancel (points and stock back). Acting takes an integration or admin key.
 */
export default function Orders() {
  const t = useT(mall).orders;
  const s = useT(shell);
  const f = useFormat();
  const api = useApi();
  const can = useCan();
  const queries = useQueryClient();
  const { message, modal } = App.useApp();
  const { programId = '' } = useParams();
  const pages = useCursor();
  const [status, setStatus] = useState<Status | 'all'>('all');
  const [shipping, setShipping] = useState<Order | null>(null);
  const mayAct = can.program(programId, 'integration');

  const list = useQuery({
    queryKey: ['orders', programId, status, pages.cursor],
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/programs/{programId}/orders', {
          params: {
            path: { programId },
            query: {
              limit: 50,
              ...(status !== 'all' && { status }),
              ...(pages.cursor && { cursor: pages.cursor }),
            },
          },
        }),
      ),
  });

  const act = useMutation({
    mutationFn: async ({ order, action }: { order: Order; action: 'complete' | 'cancel' }) => {
      const path = { programId, memberId: order.memberId, orderId: order.id };
      return unwrap(
        action === 'complete'
          ? await api.POST(
              '/v1/programs/{programId}/members/{memberId}/orders/{orderId}/complete',
              {
                params: { path },
                body: {},
              },
            )
          : await api.POST('/v1/programs/{programId}/members/{memberId}/orders/{orderId}/cancel', {
              params: { path },
              body: {},
            }),
      );
    },
    onSuccess: async () => {
      message.success(t.done);
      await queries.invalidateQueries({ queryKey: ['orders', programId] });
    },
    onError: (error) => message.error(error.message),
  });

  const confirm = (order: Order, action: 'complete' | 'cancel') =>
    modal.confirm({
      title: action === 'complete' ? t.complete : t.cancel,
      content: action === 'complete' ? t.completeConfirm : t.cancelConfirm,
      okText: s.confirm,
      cancelText: s.cancel,
      onOk: () => act.mutateAsync({ order, action }),
    });

  return (
    <Space orientation="vertical" size="large" style={{ width: '100%' }}>
      <PageHeader title={t.title} intro={t.intro} />
      <PagedTableCard<Order>
        flush
        title={
          <Space>
            <Typography.Text type="secondary">{t.status}</Typography.Text>
            <Select
              value={status}
              style={{ width: 160 }}
              onChange={(v) => {
                setStatus(v);
                pages.reset();
              }}
              options={[
                { value: 'all', label: t.all },
                ...STATUSES.map((x) => ({ value: x, label: t.statuses[x] })),
              ]}
              data-testid="orders-status"
            />
          </Space>
        }
        query={list}
        pages={pages}
        emptyText={t.none}
        rowTestId={(o) => `order-row-${o.id}`}
        columns={[
          { title: t.id, dataIndex: 'id' },
          {
            title: t.member,
            dataIndex: 'memberId',
            render: (m: string) => (
              <Link to={`/p/${encodeURIComponent(programId)}/members/${encodeURIComponent(m)}`}>
                {m}
              </Link>
            ),
          },
          {
            title: t.items,
            dataIndex: 'items',
            render: (items: Order['items']) => (
              <Space orientation="vertical" size={0}>
                {items.map((i) => (
                  <span key={i.rewardId}>{`${i.name} × ${i.quantity}`}</span>
                ))}
              </Space>
            ),
          },
          {
            title: t.points,
            dataIndex: 'points',
            align: 'right',
            render: (v: number) => f.number(v),
          },
          {
            title: t.cash,
            dataIndex: 'cashFen',
            align: 'right',
            render: (v: number) => (v ? f.money(v) : '—'),
          },
          {
            title: t.status,
            dataIndex: 'status',
            render: (v: Status, o) => (
              <Tag color={STATUS_COLOR[v]} data-testid={`order-status-${o.id}`}>
                {t.statuses[v]}
              </Tag>
            ),
          },
          {
            title: t.placedAt,
            dataIndex: 'placedAt',
            render: (v: string) => f.dateTime(v),
          },
          {
            title: t.address,
            dataIndex: 'address',
            render: (v: Order['address'], o) =>
              v ? (
                <Space orientation="vertical" size={0} data-testid={`order-address-${o.id}`}>
                  <span>{`${v.name} ${v.phone}`}</span>
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    {[...v.lines, v.postcode ?? ''].filter(Boolean).join(' ')}
                  </Typography.Text>
                </Space>
              ) : (
                '—'
              ),
          },
          {
            title: t.shipping,
            key: 'shipping',
            render: (_, o) =>
              o.tracking ? (
                <span data-testid={`order-tracking-${o.id}`}>
                  {`${o.carrier ?? ''} ${o.tracking}`}
                </span>
              ) : (
                '—'
              ),
          },
          {
            title: s.actions,
            key: 'actions',
            render: (_, o) =>
              mayAct && (
                <Space>
                  {o.status === 'confirmed' && (
                    <Button
                      size="small"
                      type="primary"
                      icon={<SendOutlined />}
                      onClick={() => setShipping(o)}
                      data-testid={`order-ship-${o.id}`}
                    >
                      {t.ship}
                    </Button>
                  )}
                  {(o.status === 'confirmed' || o.status === 'shipped') && (
                    <Button
                      size="small"
                      icon={<CheckOutlined />}
                      onClick={() => confirm(o, 'complete')}
                      data-testid={`order-complete-${o.id}`}
                    >
                      {t.complete}
                    </Button>
                  )}
                  {(o.status === 'placed' || o.status === 'confirmed') && (
                    <Button
                      size="small"
                      danger
                      icon={<CloseOutlined />}
                      onClick={() => confirm(o, 'cancel')}
                      data-testid={`order-cancel-${o.id}`}
                    >
                      {t.cancel}
                    </Button>
                  )}
                </Space>
              ),
          },
        ]}
      />
      {shipping && (
        <ShipDialog programId={programId} order={shipping} onClose={() => setShipping(null)} />
      )}
    </Space>
  );
}

function ShipDialog({
  programId,
  order,
  onClose,
}: {
  programId: string;
  order: Order;
  onClose: () => void;
}) {
  const t = useT(mall).orders;
  const api = useApi();
  const queries = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm<{ carrier: string; tracking: string }>();
  const ship = useMutation({
    mutationFn: async (v: { carrier: string; tracking: string }) =>
      unwrap(
        await api.POST('/v1/programs/{programId}/members/{memberId}/orders/{orderId}/ship', {
          params: { path: { programId, memberId: order.memberId, orderId: order.id } },
          body: { carrier: v.carrier, tracking: v.tracking },
        }),
      ),
    onSuccess: async () => {
      message.success(t.done);
      onClose();
      await queries.invalidateQueries({ queryKey: ['orders', programId] });
    },
  });
  return (
    <FormModal
      form={form}
      title={`${t.shipTitle} · ${order.id}`}
      okText={t.ship}
      okTestId="ship-submit"
      pending={ship.isPending}
      error={ship.error}
      onFinish={(v) => ship.mutate(v)}
      onClose={onClose}
    >
      <Form.Item name="carrier" label={t.carrier} rules={[{ required: true }]}>
        <Input maxLength={100} data-testid="ship-carrier" />
      </Form.Item>
      <Form.Item name="tracking" label={t.tracking} rules={[{ required: true }]}>
        <Input maxLength={100} data-testid="ship-tracking" />
      </Form.Item>
    </FormModal>
  );
}
