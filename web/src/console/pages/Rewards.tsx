import { EditOutlined, PlusOutlined, UploadOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  App,
  Button,
  Col,
  DatePicker,
  Form,
  Input,
  InputNumber,
  Modal,
  Row,
  Select,
  Space,
  Statistic,
  Switch,
  Table,
  Tag,
  Typography,
} from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useState } from 'react';
import { useParams } from 'react-router';
import { unwrap } from '../../api/client.ts';
import type { components } from '../../api/schema';
import { shell } from '../../i18n/console.ts';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { mall } from '../../i18n/mall.ts';
import { ErrorView } from '../ErrorView.tsx';
import { FormModal } from '../FormModal.tsx';
import { NameAndId } from '../NameAndId.tsx';
import { PagedTableCard } from '../PagedTableCard.tsx';
import { PageHeader } from '../PageHeader.tsx';
import { useCursor } from '../Pager.tsx';
import { useApi, useCan } from '../session.tsx';

type Reward = components['schemas']['Reward'];
type Kind = Reward['kind'];
type ImportResult = components['schemas']['RewardImport'];

const KINDS: Kind[] = ['goods', 'voucher', 'coupon', 'membership'];
const PERIODS = ['ever', 'day', 'month', 'year'] as const;

/** `gold:800; silver:900` → tier prices; undefined when a pair is not `code:points`. */
function parseTierPrices(text: string | undefined) {
  const pairs = (text ?? '')
    .split(/[;；\n]/)
    .map((p) => p.trim())
    .filter(Boolean);
  const out: { tier: string; pricePoints: number }[] = [];
  for (const pair of pairs) {
    const m = /^([^:：\s]+)\s*[:：]\s*(\d+)$/.exec(pair);
    if (!m) return undefined;
    out.push({ tier: m[1] as string, pricePoints: Number(m[2]) });
  }
  return out;
}
const tierPricesText = (r: Reward) =>
  r.tierPrices.map((p) => `${p.tier}:${p.pricePoints}`).join('; ');

/**
 * The mall's catalog: each reward with its price, its stock left and reserved, on or off the
 * shelf. A program admin adds and changes rewards and imports a supplier's CSV.
 */
export default function Rewards() {
  const t = useT(mall);
  const s = useT(shell);
  const f = useFormat();
  const api = useApi();
  const can = useCan();
  const queries = useQueryClient();
  const { message } = App.useApp();
  const { programId = '' } = useParams();
  const pages = useCursor();
  const [shelf, setShelf] = useState<'all' | 'true' | 'false'>('all');
  const [editing, setEditing] = useState<Reward | 'new' | null>(null);
  const [importing, setImporting] = useState(false);
  const admin = can.program(programId, 'admin');

  const list = useQuery({
    queryKey: ['rewards', programId, shelf, pages.cursor],
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/programs/{programId}/rewards', {
          params: {
            path: { programId },
            query: {
              limit: 50,
              ...(shelf !== 'all' && { onShelf: shelf }),
              ...(pages.cursor && { cursor: pages.cursor }),
            },
          },
        }),
      ),
  });

  const toggle = useMutation({
    mutationFn: async (r: Reward) =>
      unwrap(
        await api.PATCH('/v1/programs/{programId}/rewards/{rewardId}', {
          params: { path: { programId, rewardId: r.id } },
          body: { onShelf: !r.onShelf },
        }),
      ),
    onSuccess: async () => {
      message.success(t.rewards.saved);
      await queries.invalidateQueries({ queryKey: ['rewards', programId] });
    },
    onError: (error) => message.error(error.message),
  });

  return (
    <Space orientation="vertical" size="large" style={{ width: '100%' }}>
      <PageHeader
        title={t.rewards.title}
        intro={t.rewards.intro}
        extra={
          admin && (
            <Space>
              <Button
                icon={<UploadOutlined />}
                onClick={() => setImporting(true)}
                data-testid="rewards-import"
              >
                {t.rewards.import}
              </Button>
              <Button
                type="primary"
                icon={<PlusOutlined />}
                onClick={() => setEditing('new')}
                data-testid="reward-create"
              >
                {t.rewards.create}
              </Button>
            </Space>
          )
        }
      />
      <PagedTableCard<Reward>
        flush
        title={
          <Space>
            <Typography.Text type="secondary">{t.rewards.filter}</Typography.Text>
            <Select
              value={shelf}
              style={{ width: 140 }}
              onChange={(v) => {
                setShelf(v);
                pages.reset();
              }}
              options={[
                { value: 'all', label: t.rewards.all },
                { value: 'true', label: t.rewards.onShelf },
                { value: 'false', label: t.rewards.offShelf },
              ]}
              data-testid="rewards-shelf-filter"
            />
          </Space>
        }
        query={list}
        pages={pages}
        emptyText={t.rewards.none}
        rowTestId={(r) => `reward-row-${r.sku}`}
        columns={[
          {
            title: t.rewards.name,
            dataIndex: 'name',
            render: (v: string, r) => <NameAndId name={v} id={r.sku} />,
          },
          {
            title: t.rewards.kind,
            dataIndex: 'kind',
            render: (k: Kind) => <Tag>{t.kinds[k] ?? k}</Tag>,
          },
          {
            title: t.rewards.price,
            key: 'price',
            align: 'right',
            render: (_, r) => (
              <Space orientation="vertical" size={0} style={{ alignItems: 'flex-end' }}>
                <span data-testid={`reward-price-${r.sku}`}>
                  {f.number(r.pricePoints)}
                  {r.priceCash ? ` + ${f.money(r.priceCash)}` : ''}
                </span>
                {r.tierPrices.length > 0 && (
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    {tierPricesText(r)}
                  </Typography.Text>
                )}
              </Space>
            ),
          },
          {
            title: t.rewards.stock,
            key: 'stock',
            align: 'right',
            render: (_, r) => (
              <span data-testid={`reward-stock-${r.sku}`}>
                {r.stock === null
                  ? t.rewards.unlimited
                  : `${f.number(r.stockLeft ?? 0)} / ${f.number(r.stock)}`}
              </span>
            ),
          },
          {
            title: t.rewards.reserved,
            dataIndex: 'reserved',
            align: 'right',
            render: (v: number, r) => (
              <span data-testid={`reward-reserved-${r.sku}`}>{f.number(v)}</span>
            ),
          },
          {
            title: t.rewards.perMemberLimit,
            dataIndex: 'perMemberLimit',
            render: (v: Reward['perMemberLimit']) =>
              v ? `${v.count} / ${t.rewards.periods[v.period ?? 'ever']}` : '—',
          },
          { title: t.rewards.supplier, dataIndex: 'supplier', render: (v) => v ?? '—' },
          { title: t.rewards.category, dataIndex: 'category', render: (v) => v ?? '—' },
          {
            title: t.rewards.endsAt,
            dataIndex: 'endsAt',
            render: (v: string | null) => (v ? f.date(v) : '—'),
          },
          {
            title: t.rewards.shelf,
            dataIndex: 'onShelf',
            render: (v: boolean, r) => (
              <Switch
                checked={v}
                disabled={!admin}
                loading={toggle.isPending && toggle.variables?.id === r.id}
                onChange={() => toggle.mutate(r)}
                data-testid={`reward-shelf-${r.sku}`}
              />
            ),
          },
          {
            title: s.actions,
            key: 'actions',
            render: (_, r) =>
              admin && (
                <Button
                  size="small"
                  icon={<EditOutlined />}
                  onClick={() => setEditing(r)}
                  data-testid={`reward-edit-${r.sku}`}
                >
                  {t.rewards.edit}
                </Button>
              ),
          },
        ]}
      />
      {editing && (
        <RewardForm
          programId={programId}
          reward={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
        />
      )}
      {importing && <ImportDialog programId={programId} onClose={() => setImporting(false)} />}
    </Space>
  );
}

interface RewardValues {
  sku: string;
  name: string;
  kind: Kind;
  pricePoints: number;
  tierPrices?: string;
  priceCash?: number | null;
  supplierCost?: number | null;
  stock?: number | null;
  limitCount?: number | null;
  limitPeriod: (typeof PERIODS)[number];
  supplier?: string;
  category?: string;
  endsAt?: Dayjs | null;
  onShelf: boolean;
  couponTemplateId?: string | null;
}

const fen = (yuan: number | null | undefined) =>
  yuan === null || yuan === undefined ? null : Math.round(yuan * 100);
const text = (v: string | undefined) => (v?.trim() ? v.trim() : null);

/** Adds a reward, or changes one (its SKU and kind stay). */
function RewardForm({
  programId,
  reward,
  onClose,
}: {
  programId: string;
  reward: Reward | null;
  onClose: () => void;
}) {
  const t = useT(mall).rewards;
  const kinds = useT(mall).kinds;
  const s = useT(shell);
  const api = useApi();
  const queries = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm<RewardValues>();
  const kind = Form.useWatch('kind', form) ?? reward?.kind;
  // A coupon reward issues one of the program's coupon templates; a voucher may.
  const issues = kind === 'coupon' || kind === 'voucher';
  const templates = useQuery({
    queryKey: ['coupon-templates', programId, 'options'],
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/programs/{programId}/coupon-templates', {
          params: { path: { programId }, query: { limit: 100 } },
        }),
      ),
    enabled: issues,
  });
  const save = useMutation({
    mutationFn: async (v: RewardValues) => {
      const tierPrices = parseTierPrices(v.tierPrices) ?? [];
      const limit = v.limitCount
        ? { count: v.limitCount, ...(v.limitPeriod !== 'ever' && { period: v.limitPeriod }) }
        : null;
      const common = {
        name: v.name,
        pricePoints: v.pricePoints,
        tierPrices,
        onShelf: v.onShelf,
      };
      if (reward) {
        return unwrap(
          await api.PATCH('/v1/programs/{programId}/rewards/{rewardId}', {
            params: { path: { programId, rewardId: reward.id } },
            body: {
              ...common,
              priceCash: fen(v.priceCash),
              supplierCost: fen(v.supplierCost),
              stock: v.stock ?? null,
              perMemberLimit: limit,
              supplier: text(v.supplier),
              category: text(v.category),
              endsAt: v.endsAt ? v.endsAt.endOf('day').toISOString() : null,
              couponTemplateId: issues ? (v.couponTemplateId ?? null) : null,
            },
          }),
        );
      }
      const priceCash = fen(v.priceCash);
      const supplierCost = fen(v.supplierCost);
      return unwrap(
        await api.POST('/v1/programs/{programId}/rewards', {
          params: { path: { programId } },
          body: {
            ...common,
            sku: v.sku.trim(),
            kind: v.kind,
            ...(priceCash !== null && { priceCash }),
            ...(supplierCost !== null && { supplierCost }),
            ...(v.stock !== null && v.stock !== undefined && { stock: v.stock }),
            ...(limit && { perMemberLimit: limit }),
            ...(text(v.supplier) && { supplier: text(v.supplier) as string }),
            ...(text(v.category) && { category: text(v.category) as string }),
            ...(v.endsAt && { endsAt: v.endsAt.endOf('day').toISOString() }),
            ...(issues && v.couponTemplateId && { couponTemplateId: v.couponTemplateId }),
          },
        }),
      );
    },
    onSuccess: async () => {
      message.success(t.saved);
      // Closed at once: a refresh must not close a dialog opened meanwhile.
      onClose();
      await queries.invalidateQueries({ queryKey: ['rewards', programId] });
    },
  });
  return (
    <FormModal<RewardValues>
      form={form}
      title={reward ? `${t.editTitle} · ${reward.name}` : t.create}
      okText={reward ? s.save : s.create}
      okTestId="reward-submit"
      pending={save.isPending}
      width={720}
      error={save.error}
      initialValues={
        reward
          ? {
              sku: reward.sku,
              name: reward.name,
              kind: reward.kind,
              pricePoints: reward.pricePoints,
              tierPrices: tierPricesText(reward),
              priceCash: reward.priceCash === null ? null : reward.priceCash / 100,
              supplierCost: reward.supplierCost === null ? null : reward.supplierCost / 100,
              stock: reward.stock,
              limitCount: reward.perMemberLimit?.count ?? null,
              limitPeriod: reward.perMemberLimit?.period ?? 'ever',
              supplier: reward.supplier ?? '',
              category: reward.category ?? '',
              endsAt: reward.endsAt ? dayjs(reward.endsAt) : null,
              onShelf: reward.onShelf,
              couponTemplateId: reward.couponTemplateId,
            }
          : { kind: 'goods', onShelf: true, limitPeriod: 'ever' }
      }
      onFinish={(v) => save.mutate(v)}
      onClose={onClose}
    >
      <Row gutter={16}>
        <Col span={8}>
          <Form.Item name="sku" label={t.sku} rules={[{ required: true }]}>
            <Input maxLength={64} disabled={!!reward} data-testid="reward-sku" />
          </Form.Item>
        </Col>
        <Col span={10}>
          <Form.Item name="name" label={t.name} rules={[{ required: true }]}>
            <Input maxLength={200} data-testid="reward-name" />
          </Form.Item>
        </Col>
        <Col span={6}>
          <Form.Item name="kind" label={t.kind} rules={[{ required: true }]}>
            <Select
              disabled={!!reward}
              options={KINDS.map((k) => ({ value: k, label: kinds[k] }))}
              data-testid="reward-kind"
            />
          </Form.Item>
        </Col>
        <Col span={8}>
          <Form.Item name="pricePoints" label={t.price} rules={[{ required: true }]}>
            <InputNumber
              min={1}
              precision={0}
              style={{ width: '100%' }}
              data-testid="reward-points"
            />
          </Form.Item>
        </Col>
        <Col span={16}>
          <Form.Item
            name="tierPrices"
            label={t.tierPrices}
            extra={t.tierPricesHint}
            rules={[
              {
                validator: async (_, v: string | undefined) => {
                  if (parseTierPrices(v) === undefined) throw new Error(t.tierPricesInvalid);
                },
              },
            ]}
          >
            <Input data-testid="reward-tier-prices" />
          </Form.Item>
        </Col>
        <Col span={8}>
          <Form.Item name="priceCash" label={t.priceCash}>
            <InputNumber min={0} precision={2} prefix="¥" style={{ width: '100%' }} />
          </Form.Item>
        </Col>
        <Col span={8}>
          <Form.Item name="supplierCost" label={t.supplierCost}>
            <InputNumber min={0} precision={2} prefix="¥" style={{ width: '100%' }} />
          </Form.Item>
        </Col>
        <Col span={8}>
          <Form.Item
            name="stock"
            label={t.stock}
            extra={reward ? `${t.reserved}: ${reward.reserved}` : t.stockHint}
          >
            <InputNumber
              min={reward?.reserved ?? 0}
              precision={0}
              style={{ width: '100%' }}
              data-testid="reward-stock"
            />
          </Form.Item>
        </Col>
        <Col span={8}>
          <Form.Item name="limitCount" label={t.perMemberLimit}>
            <InputNumber min={1} max={10_000} precision={0} style={{ width: '100%' }} />
          </Form.Item>
        </Col>
        <Col span={8}>
          <Form.Item name="limitPeriod" label={t.limitPeriod}>
            <Select options={PERIODS.map((p) => ({ value: p, label: t.periods[p] }))} />
          </Form.Item>
        </Col>
        <Col span={8}>
          <Form.Item name="endsAt" label={t.endsAt}>
            <DatePicker style={{ width: '100%' }} />
          </Form.Item>
        </Col>
        <Col span={10}>
          <Form.Item name="supplier" label={t.supplier}>
            <Input maxLength={200} />
          </Form.Item>
        </Col>
        <Col span={10}>
          <Form.Item name="category" label={t.category}>
            <Input maxLength={200} />
          </Form.Item>
        </Col>
        <Col span={4}>
          <Form.Item name="onShelf" label={t.shelf} valuePropName="checked">
            <Switch data-testid="reward-on-shelf" />
          </Form.Item>
        </Col>
        {issues && (
          <Col span={24}>
            <Form.Item
              name="couponTemplateId"
              label={t.couponTemplate}
              extra={t.couponTemplateHint}
              rules={[{ required: kind === 'coupon' }]}
            >
              <Select
                allowClear
                loading={templates.isLoading}
                options={(templates.data?.data ?? []).map((c) => ({
                  value: c.id,
                  label: `${c.name} (${c.id})`,
                }))}
                data-testid="reward-coupon-template"
              />
            </Form.Item>
          </Col>
        )}
      </Row>
    </FormModal>
  );
}

/** A supplier's CSV, read in the browser and sent whole; the answer's counts and refusals. */
function ImportDialog({ programId, onClose }: { programId: string; onClose: () => void }) {
  const t = useT(mall).rewards;
  const s = useT(shell);
  const api = useApi();
  const queries = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const run = useMutation({
    mutationFn: async (csv: string) =>
      unwrap(
        await api.POST('/v1/programs/{programId}/rewards/import', {
          params: { path: { programId } },
          body: { csv },
        }),
      ),
    onSuccess: () => queries.invalidateQueries({ queryKey: ['rewards', programId] }),
  });
  const result: ImportResult | undefined = run.data;
  return (
    <Modal
      open
      title={t.importTitle}
      width={680}
      onCancel={onClose}
      cancelText={s.cancel}
      okText={result ? s.confirm : t.importRun}
      okButtonProps={{ disabled: !file && !result, 'data-testid': 'import-submit' }}
      confirmLoading={run.isPending}
      onOk={async () => {
        if (result) return onClose();
        if (file) run.mutate(await file.text());
      }}
    >
      <Typography.Paragraph type="secondary">{t.importIntro}</Typography.Paragraph>
      <Space>
        <Button
          icon={<UploadOutlined />}
          onClick={() => document.getElementById('import-file')?.click()}
        >
          {t.importFile}
        </Button>
        <Typography.Text>{file?.name}</Typography.Text>
      </Space>
      <input
        id="import-file"
        type="file"
        accept=".csv,text/csv"
        style={{ display: 'none' }}
        onChange={(e) => {
          setFile(e.target.files?.[0] ?? null);
          run.reset();
        }}
        data-testid="import-file"
      />
      {run.error ? <ErrorView error={run.error} /> : null}
      {result && (
        <div data-testid="import-result" style={{ marginTop: 16 }}>
          <Typography.Title level={5}>{t.importDone}</Typography.Title>
          <Row gutter={16}>
            <Col span={6}>
              <Statistic title={t.read} value={result.read} />
            </Col>
            <Col span={6}>
              <Statistic
                title={t.created}
                value={result.created}
                valueRender={(v) => <span data-testid="import-created">{v}</span>}
              />
            </Col>
            <Col span={6}>
              <Statistic
                title={t.updated}
                value={result.updated}
                valueRender={(v) => <span data-testid="import-updated">{v}</span>}
              />
            </Col>
            <Col span={6}>
              <Statistic
                title={t.refused}
                value={result.refused.length}
                valueRender={(v) => <span data-testid="import-refused">{v}</span>}
              />
            </Col>
          </Row>
          {result.refused.length > 0 && (
            <Table
              size="small"
              style={{ marginTop: 12 }}
              rowKey={(r) => `${r.line}`}
              pagination={{ pageSize: 10, hideOnSinglePage: true }}
              dataSource={result.refused}
              data-testid="import-refusals"
              columns={[
                { title: t.line, dataIndex: 'line', width: 70 },
                { title: t.sku, dataIndex: 'sku', render: (v?: string) => v ?? '—' },
                { title: t.reason, dataIndex: 'detail' },
              ]}
            />
          )}
        </div>
      )}
    </Modal>
  );
}
