import { DeleteOutlined, EditOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  App,
  Button,
  Card,
  Col,
  Form,
  InputNumber,
  Popconfirm,
  Row,
  Select,
  Space,
  Table,
  Tag,
  Typography,
} from 'antd';
import { useState } from 'react';
import { unwrap } from '../../api/client.ts';
import type { components } from '../../api/schema';
import { coalition } from '../../i18n/coalition.ts';
import { shell } from '../../i18n/console.ts';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { usePartyName, usePrograms } from '../coalition/common.tsx';
import { ErrorView } from '../ErrorView.tsx';
import { FormModal } from '../FormModal.tsx';
import { PageHeader } from '../PageHeader.tsx';
import { useApi, useCan } from '../session.tsx';

type Rate = components['schemas']['ExchangeRate'];
type Pair = components['schemas']['ExchangePair'];
type PairBody = components['schemas']['ExchangePairBody'];

/** The exchange: each program's rate to the hub unit and point value, and the approved pairs. */
export default function Exchange() {
  const t = useT(coalition).exchange;
  const s = useT(shell);
  const f = useFormat();
  const api = useApi();
  const can = useCan();
  const admin = can.coalitionAdmin;
  const queries = useQueryClient();
  const { message } = App.useApp();
  const name = usePartyName();
  const programs = usePrograms();
  const [editingRate, setEditingRate] = useState<{ programId: string; rate?: Rate } | null>(null);
  const [editingPair, setEditingPair] = useState<Pair | 'new' | null>(null);

  const rates = useQuery({
    queryKey: ['exchange', 'rates'],
    queryFn: async () => unwrap(await api.GET('/v1/coalition/exchange/programs')),
  });
  const pairs = useQuery({
    queryKey: ['exchange', 'pairs'],
    queryFn: async () => unwrap(await api.GET('/v1/coalition/exchange/pairs')),
  });
  const remove = useMutation({
    mutationFn: async (p: Pair) =>
      unwrap(
        await api.DELETE('/v1/coalition/exchange/pairs/{from}/{to}', {
          params: { path: { from: p.from, to: p.to } },
        }),
      ),
    onSuccess: async () => {
      message.success(t.removed);
      await queries.invalidateQueries({ queryKey: ['exchange'] });
    },
    onError: (error) => message.error(error.message),
  });

  const rateOf = new Map((rates.data?.data ?? []).map((r) => [r.programId, r]));
  // Every program, joined or not (the coalition admin sees them all); others see the joined ones.
  const rows: { programId: string; rate?: Rate }[] = admin
    ? [
        ...(programs.data?.data ?? []).map((p) => ({ programId: p.id, rate: rateOf.get(p.id) })),
        ...[...rateOf.values()]
          .filter((r) => !(programs.data?.data ?? []).some((p) => p.id === r.programId))
          .map((r) => ({ programId: r.programId, rate: r })),
      ]
    : [...rateOf.values()].map((r) => ({ programId: r.programId, rate: r }));

  return (
    <Space orientation="vertical" size="large" style={{ width: '100%' }}>
      <PageHeader title={t.title} intro={t.intro} />
      {!admin && <Alert type="info" showIcon title={t.readOnly} />}
      <Card title={t.rates}>
        {rates.error ? (
          <ErrorView error={rates.error} retry={() => rates.refetch()} />
        ) : (
          <Table
            size="middle"
            rowKey="programId"
            loading={rates.isLoading || programs.isLoading}
            dataSource={rows}
            pagination={false}
            onRow={(r) => ({ 'data-testid': `rate-row-${r.programId}` }) as object}
            columns={[
              { title: s.nav.programs, dataIndex: 'programId', render: (id: string) => name(id) },
              {
                title: t.pointsPerHubUnit,
                key: 'perHub',
                align: 'right',
                render: (_, r) =>
                  r.rate ? f.number(r.rate.pointsPerHubUnit) : <Tag>{t.notJoined}</Tag>,
              },
              {
                title: t.pointValueFen,
                key: 'value',
                align: 'right',
                render: (_, r) => (r.rate ? f.number(r.rate.pointValueFen) : '—'),
              },
              ...(admin
                ? [
                    {
                      title: s.actions,
                      key: 'actions',
                      render: (_: unknown, r: { programId: string; rate?: Rate }) => (
                        <Button
                          size="small"
                          icon={<EditOutlined />}
                          onClick={() => setEditingRate(r)}
                          data-testid={`rate-edit-${r.programId}`}
                        >
                          {t.setRate}
                        </Button>
                      ),
                    },
                  ]
                : []),
            ]}
          />
        )}
      </Card>

      <Card
        title={t.pairs}
        extra={
          admin && (
            <Button
              type="primary"
              icon={<PlusOutlined />}
              onClick={() => setEditingPair('new')}
              disabled={rateOf.size < 2}
              data-testid="pair-add"
            >
              {t.addPair}
            </Button>
          )
        }
      >
        {pairs.error ? (
          <ErrorView error={pairs.error} retry={() => pairs.refetch()} />
        ) : (
          <Table<Pair>
            size="middle"
            rowKey={(p) => `${p.from}→${p.to}`}
            loading={pairs.isLoading}
            dataSource={pairs.data?.data ?? []}
            pagination={false}
            scroll={{ x: 'max-content' }}
            locale={{ emptyText: t.none }}
            onRow={(p) => ({ 'data-testid': `pair-row-${p.from}-${p.to}` }) as object}
            columns={[
              { title: t.from, dataIndex: 'from', render: (id: string) => name(id) },
              { title: t.to, dataIndex: 'to', render: (id: string) => name(id) },
              {
                title: t.fee,
                key: 'fee',
                align: 'right',
                render: (_, p) => t.feeText(f.number(p.feePercent), f.number(p.feeMinimum)),
              },
              {
                title: t.perConversion,
                key: 'range',
                align: 'right',
                render: (_, p) => `${f.number(p.minPoints)} – ${f.number(p.maxPoints)}`,
              },
              {
                title: t.dailyLimit,
                dataIndex: 'dailyLimit',
                align: 'right',
                render: (v: number) => f.number(v),
              },
              {
                title: t.exampleTitle,
                key: 'example',
                render: (_, p) => {
                  const a = rateOf.get(p.from);
                  const b = rateOf.get(p.to);
                  if (!a || !b) return '—';
                  const credited = Math.floor((1000 * b.pointsPerHubUnit) / a.pointsPerHubUnit);
                  return <Typography.Text type="secondary">{f.number(credited)}</Typography.Text>;
                },
              },
              ...(admin
                ? [
                    {
                      title: s.actions,
                      key: 'actions',
                      render: (_: unknown, p: Pair) => (
                        <Space>
                          <Button
                            size="small"
                            icon={<EditOutlined />}
                            onClick={() => setEditingPair(p)}
                            data-testid={`pair-edit-${p.from}-${p.to}`}
                          >
                            {s.edit}
                          </Button>
                          <Popconfirm
                            title={t.removePair}
                            description={t.removeConfirm}
                            okText={t.removePair}
                            cancelText={s.cancel}
                            okButtonProps={{ danger: true }}
                            onConfirm={() => remove.mutateAsync(p)}
                          >
                            <Button size="small" danger icon={<DeleteOutlined />}>
                              {t.removePair}
                            </Button>
                          </Popconfirm>
                        </Space>
                      ),
                    },
                  ]
                : []),
            ]}
          />
        )}
      </Card>
      {editingRate && (
        <RateModal
          programId={editingRate.programId}
          rate={editingRate.rate}
          onClose={() => setEditingRate(null)}
        />
      )}
      {editingPair && (
        <PairModal
          pair={editingPair === 'new' ? undefined : editingPair}
          joined={[...rateOf.keys()]}
          onClose={() => setEditingPair(null)}
        />
      )}
    </Space>
  );
}

function RateModal({
  programId,
  rate,
  onClose,
}: {
  programId: string;
  rate: Rate | undefined;
  onClose: () => void;
}) {
  const t = useT(coalition).exchange;
  const _s = useT(shell);
  const api = useApi();
  const name = usePartyName();
  const queries = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm<{ pointsPerHubUnit: number; pointValueFen: number }>();
  const save = useMutation({
    mutationFn: async (body: { pointsPerHubUnit: number; pointValueFen: number }) =>
      unwrap(
        await api.PUT('/v1/coalition/exchange/programs/{programId}', {
          params: { path: { programId } },
          body,
        }),
      ),
    onSuccess: async () => {
      message.success(t.saved);
      // Closed at once: a refresh must not close a dialog opened meanwhile.
      onClose();
      await queries.invalidateQueries({ queryKey: ['exchange'] });
    },
  });
  return (
    <FormModal
      form={form}
      title={`${t.setRate} · ${name(programId)}`}
      okTestId="rate-submit"
      pending={save.isPending}
      error={save.error}
      initialValues={rate ?? { pointsPerHubUnit: 100, pointValueFen: 1 }}
      onFinish={(v) => save.mutate(v)}
      onClose={onClose}
    >
      <Form.Item name="pointsPerHubUnit" label={t.pointsPerHubUnit} rules={[{ required: true }]}>
        <InputNumber min={1} precision={0} style={{ width: '100%' }} data-testid="rate-perhub" />
      </Form.Item>
      <Form.Item name="pointValueFen" label={t.pointValueFen} rules={[{ required: true }]}>
        <InputNumber
          min={0.0001}
          step={0.1}
          precision={4}
          style={{ width: '100%' }}
          data-testid="rate-value"
        />
      </Form.Item>
    </FormModal>
  );
}

function PairModal({
  pair,
  joined,
  onClose,
}: {
  pair: Pair | undefined;
  joined: string[];
  onClose: () => void;
}) {
  const t = useT(coalition).exchange;
  const _s = useT(shell);
  const api = useApi();
  const name = usePartyName();
  const queries = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm<PairBody & { from: string; to: string }>();
  const from = Form.useWatch('from', form);
  const save = useMutation({
    mutationFn: async ({ from, to, ...body }: PairBody & { from: string; to: string }) =>
      unwrap(
        await api.PUT('/v1/coalition/exchange/pairs/{from}/{to}', {
          params: { path: { from, to } },
          body,
        }),
      ),
    onSuccess: async () => {
      message.success(t.saved);
      // Closed at once: a refresh must not close a dialog opened meanwhile.
      onClose();
      await queries.invalidateQueries({ queryKey: ['exchange'] });
    },
  });
  const options = joined.map((id) => ({ value: id, label: name(id) }));
  const number = (field: keyof PairBody, label: string, testId: string, min = 0) => (
    <Col span={12}>
      <Form.Item name={field} label={label} rules={[{ required: true }]}>
        <InputNumber min={min} style={{ width: '100%' }} data-testid={testId} />
      </Form.Item>
    </Col>
  );
  return (
    <FormModal
      form={form}
      title={pair ? t.editPair : t.addPair}
      okTestId="pair-submit"
      pending={save.isPending}
      width={600}
      error={save.error}
      initialValues={
        pair ?? {
          feePercent: 2,
          feeMinimum: 0,
          minPoints: 100,
          maxPoints: 100_000,
          dailyLimit: 200_000,
        }
      }
      onFinish={(v) => save.mutate(v)}
      onClose={onClose}
    >
      <Row gutter={16}>
        <Col span={12}>
          <Form.Item name="from" label={t.from} rules={[{ required: true }]}>
            <Select
              showSearch={{ optionFilterProp: 'label' }}
              disabled={!!pair}
              options={options}
              data-testid="pair-from"
            />
          </Form.Item>
        </Col>
        <Col span={12}>
          <Form.Item name="to" label={t.to} rules={[{ required: true }]}>
            <Select
              showSearch={{ optionFilterProp: 'label' }}
              disabled={!!pair}
              options={options.filter((o) => o.value !== from)}
              data-testid="pair-to"
            />
          </Form.Item>
        </Col>
        {number('feePercent', t.feePercent, 'pair-fee')}
        {number('feeMinimum', t.feeMinimum, 'pair-fee-minimum')}
        {number('minPoints', t.minPoints, 'pair-min', 1)}
        {number('maxPoints', t.maxPoints, 'pair-max', 1)}
        {number('dailyLimit', t.dailyLimit, 'pair-daily', 1)}
      </Row>
    </FormModal>
  );
}
