import { EditOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  App,
  Button,
  Col,
  DatePicker,
  Form,
  Input,
  InputNumber,
  Progress,
  Row,
  Select,
  Space,
  Tag,
  Typography,
} from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useState } from 'react';
import { unwrap } from '../../api/client.ts';
import type { components } from '../../api/schema';
import { coalition } from '../../i18n/coalition.ts';
import { shell } from '../../i18n/console.ts';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { usePartyName, useProgramOptions } from '../coalition/common.tsx';
import { FormModal } from '../FormModal.tsx';
import { NameAndId } from '../NameAndId.tsx';
import { PagedTableCard } from '../PagedTableCard.tsx';
import { PageHeader } from '../PageHeader.tsx';
import { useCursor } from '../Pager.tsx';
import { useApi, useCan, useSession } from '../session.tsx';

type Benefit = components['schemas']['PoolBenefit'];
type Eligibility = Benefit['eligibility'];
type Kind = Benefit['kind'];
type Status = Benefit['status'];

const KINDS: Kind[] = ['lounge', 'fast_track', 'voucher', 'membership', 'other'];
const STATUSES: Status[] = ['active', 'paused', 'closed'];
const STATUS_COLOR: Record<Status, string> = {
  active: 'green',
  paused: 'orange',
  closed: 'default',
};

/**
 * The benefits pool with its stock: every brand's contributions for the coalition admin, a
 * brand's own for its keys. Contributing and changing stock, validity and status.
 */
export default function Pool() {
  const t = useT(coalition).pool;
  const s = useT(shell);
  const f = useFormat();
  const api = useApi();
  const can = useCan();
  const own = useSession().session?.principal.programId ?? null;
  const name = usePartyName();
  const pages = useCursor();
  const [editing, setEditing] = useState<Benefit | 'new' | null>(null);
  const mayEdit = (programId: string) => can.program(programId, 'admin');
  const query = { limit: 50, ...(pages.cursor && { cursor: pages.cursor }) };

  const list = useQuery({
    queryKey: ['pool', own, pages.cursor],
    queryFn: async () =>
      unwrap(
        own === null
          ? await api.GET('/v1/pool/benefits', { params: { query } })
          : await api.GET('/v1/programs/{programId}/pool-benefits', {
              params: { path: { programId: own }, query },
            }),
      ),
  });

  const eligibility = (e: Eligibility) =>
    'any' in e
      ? t.anyMember
      : 'coalitionLevelAtLeast' in e
        ? t.levelAtLeast(e.coalitionLevelAtLeast)
        : t.tierAtLeast(e.programId, e.tierAtLeast);

  return (
    <Space orientation="vertical" size="large" style={{ width: '100%' }}>
      <PageHeader
        title={t.title}
        intro={t.intro}
        extra={
          (own === null ? can.coalitionAdmin : mayEdit(own)) && (
            <Button
              type="primary"
              icon={<PlusOutlined />}
              onClick={() => setEditing('new')}
              data-testid="pool-create"
            >
              {t.create}
            </Button>
          )
        }
      />
      <PagedTableCard<Benefit>
        flush
        size="large"
        query={list}
        pages={pages}
        emptyText={t.none}
        rowTestId={(b) => `pool-row-${b.id}`}
        columns={[
          {
            title: t.name,
            dataIndex: 'name',
            render: (v: string, b) => <NameAndId name={v} id={b.id} />,
          },
          { title: t.contributor, dataIndex: 'programId', render: (id: string) => name(id) },
          {
            title: t.kind,
            dataIndex: 'kind',
            render: (k: Kind) => <Tag>{t.kinds[k] ?? k}</Tag>,
          },
          {
            title: t.stock,
            key: 'stock',
            render: (_, b) => (
              <Space orientation="vertical" size={0} style={{ minWidth: 140 }}>
                <Typography.Text data-testid={`pool-stock-${b.id}`}>
                  {`${f.number(b.stockLeft)} / ${f.number(b.stock)}`}
                </Typography.Text>
                <Progress
                  size="small"
                  showInfo={false}
                  percent={b.stock ? Math.round((b.claimed / b.stock) * 100) : 0}
                />
              </Space>
            ),
          },
          {
            title: t.claimed,
            dataIndex: 'claimed',
            align: 'right',
            render: (v: number, b) => (
              <span data-testid={`pool-claimed-${b.id}`}>{f.number(v)}</span>
            ),
          },
          {
            title: t.used,
            dataIndex: 'used',
            align: 'right',
            render: (v: number, b) => <span data-testid={`pool-used-${b.id}`}>{f.number(v)}</span>,
          },
          {
            title: t.cost,
            dataIndex: 'costFen',
            align: 'right',
            render: (v: number) => f.money(v),
          },
          {
            title: t.perMemberLimit,
            dataIndex: 'perMemberLimit',
            align: 'right',
            render: (v: number) => f.number(v),
          },
          { title: t.eligibility, dataIndex: 'eligibility', render: eligibility },
          {
            title: t.chargeTo,
            dataIndex: 'chargeTo',
            render: (v: Benefit['chargeTo']) => (v === 'home' ? t.chargeHome : t.chargeContributor),
          },
          {
            title: t.validUntil,
            dataIndex: 'validUntil',
            render: (v: string | null) => (v ? f.date(v) : t.noEnd),
          },
          {
            title: t.status,
            dataIndex: 'status',
            render: (v: Status) => <Tag color={STATUS_COLOR[v]}>{t.statuses[v]}</Tag>,
          },
          {
            title: s.actions,
            key: 'actions',
            render: (_, b) =>
              mayEdit(b.programId) && (
                <Button
                  size="small"
                  icon={<EditOutlined />}
                  onClick={() => setEditing(b)}
                  data-testid={`pool-edit-${b.id}`}
                >
                  {t.edit}
                </Button>
              ),
          },
        ]}
      />
      {editing === 'new' && <Contribute own={own} onClose={() => setEditing(null)} />}
      {editing && editing !== 'new' && (
        <EditBenefit benefit={editing} onClose={() => setEditing(null)} />
      )}
    </Space>
  );
}

interface ContributeForm {
  programId: string;
  id?: string;
  name: string;
  kind: Kind;
  stock: number;
  costFen: number;
  perMemberLimit: number;
  who: 'any' | 'level' | 'tier';
  level?: string;
  tierProgram?: string;
  tier?: string;
  chargeTo: 'contributor' | 'home';
  validUntil?: Dayjs | null;
  codeValidDays?: number | null;
}

function Contribute({ own, onClose }: { own: string | null; onClose: () => void }) {
  const t = useT(coalition).pool;
  const s = useT(shell);
  const api = useApi();
  const queries = useQueryClient();
  const { message } = App.useApp();
  const programs = useProgramOptions();
  const [form] = Form.useForm<ContributeForm>();
  const who = Form.useWatch('who', form);
  const levels = useQuery({
    queryKey: ['coalition', 'levels'],
    queryFn: async () => unwrap(await api.GET('/v1/coalition/levels')),
  });
  const create = useMutation({
    mutationFn: async (v: ContributeForm) => {
      const eligibility: Eligibility =
        v.who === 'level'
          ? { coalitionLevelAtLeast: v.level ?? '' }
          : v.who === 'tier'
            ? { programId: v.tierProgram ?? '', tierAtLeast: v.tier ?? '' }
            : { any: true };
      return unwrap(
        await api.POST('/v1/programs/{programId}/pool-benefits', {
          params: { path: { programId: v.programId } },
          body: {
            ...(v.id?.trim() && { id: v.id.trim() }),
            name: v.name,
            kind: v.kind,
            stock: v.stock,
            costFen: Math.round(v.costFen * 100),
            perMemberLimit: v.perMemberLimit,
            eligibility,
            chargeTo: v.chargeTo,
            ...(v.validUntil && { validUntil: v.validUntil.endOf('day').toISOString() }),
            ...(v.codeValidDays && { codeValidDays: v.codeValidDays }),
          },
        }),
      );
    },
    onSuccess: async () => {
      message.success(t.saved);
      // Closed at once: a refresh must not close a dialog opened meanwhile.
      onClose();
      await queries.invalidateQueries({ queryKey: ['pool'] });
    },
  });
  return (
    <FormModal
      form={form}
      title={t.create}
      okText={s.create}
      okTestId="pool-submit"
      pending={create.isPending}
      width={680}
      error={create.error}
      initialValues={{
        programId: own ?? undefined,
        kind: 'lounge',
        stock: 100,
        costFen: 60,
        perMemberLimit: 1,
        who: 'any',
        chargeTo: 'contributor',
      }}
      onFinish={(v) => create.mutate(v)}
      onClose={onClose}
    >
      <Row gutter={16}>
        <Col span={12}>
          <Form.Item name="programId" label={t.contributor} rules={[{ required: true }]}>
            {own ? (
              <Input disabled />
            ) : (
              <Select showSearch options={programs} data-testid="pool-program" />
            )}
          </Form.Item>
        </Col>
        <Col span={12}>
          <Form.Item name="id" label={t.id}>
            <Input maxLength={64} data-testid="pool-id" />
          </Form.Item>
        </Col>
        <Col span={12}>
          <Form.Item name="name" label={t.name} rules={[{ required: true }]}>
            <Input maxLength={200} data-testid="pool-name" />
          </Form.Item>
        </Col>
        <Col span={12}>
          <Form.Item name="kind" label={t.kind} rules={[{ required: true }]}>
            <Select options={KINDS.map((k) => ({ value: k, label: t.kinds[k] }))} />
          </Form.Item>
        </Col>
        <Col span={8}>
          <Form.Item name="stock" label={t.stock} rules={[{ required: true }]}>
            <InputNumber min={0} precision={0} style={{ width: '100%' }} data-testid="pool-stock" />
          </Form.Item>
        </Col>
        <Col span={8}>
          <Form.Item name="costFen" label={t.cost} rules={[{ required: true }]}>
            <InputNumber min={0} precision={2} prefix="¥" style={{ width: '100%' }} />
          </Form.Item>
        </Col>
        <Col span={8}>
          <Form.Item name="perMemberLimit" label={t.perMemberLimit} rules={[{ required: true }]}>
            <InputNumber min={1} max={1000} precision={0} style={{ width: '100%' }} />
          </Form.Item>
        </Col>
        <Col span={12}>
          <Form.Item name="who" label={t.eligibilityKind}>
            <Select
              options={[
                { value: 'any', label: t.eligibilityAny },
                { value: 'level', label: t.eligibilityLevel },
                { value: 'tier', label: t.eligibilityTier },
              ]}
            />
          </Form.Item>
        </Col>
        <Col span={12}>
          {who === 'level' && (
            <Form.Item name="level" label={t.level} rules={[{ required: true }]}>
              <Select
                options={(levels.data?.data ?? []).map((l) => ({
                  value: l.code,
                  label: `${l.name} (${l.code})`,
                }))}
              />
            </Form.Item>
          )}
          {who === 'tier' && (
            <Space.Compact style={{ width: '100%' }}>
              <Form.Item
                name="tierProgram"
                label={t.contributor}
                rules={[{ required: true }]}
                style={{ width: '60%' }}
              >
                {own ? <Input /> : <Select showSearch options={programs} />}
              </Form.Item>
              <Form.Item
                name="tier"
                label={t.tier}
                rules={[{ required: true }]}
                style={{ width: '40%' }}
              >
                <Input />
              </Form.Item>
            </Space.Compact>
          )}
        </Col>
        <Col span={8}>
          <Form.Item name="chargeTo" label={t.chargeTo}>
            <Select
              options={[
                { value: 'contributor', label: t.chargeContributor },
                { value: 'home', label: t.chargeHome },
              ]}
            />
          </Form.Item>
        </Col>
        <Col span={8}>
          <Form.Item name="validUntil" label={t.validUntil}>
            <DatePicker style={{ width: '100%' }} disabledDate={(d) => d.isBefore(dayjs())} />
          </Form.Item>
        </Col>
        <Col span={8}>
          <Form.Item name="codeValidDays" label={t.codeValidDays}>
            <InputNumber min={1} max={3650} precision={0} style={{ width: '100%' }} />
          </Form.Item>
        </Col>
      </Row>
    </FormModal>
  );
}

function EditBenefit({ benefit, onClose }: { benefit: Benefit; onClose: () => void }) {
  const t = useT(coalition).pool;
  const _s = useT(shell);
  const api = useApi();
  const queries = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm<{
    name: string;
    stock: number;
    perMemberLimit: number;
    status: Status;
    validUntil: Dayjs | null;
  }>();
  const save = useMutation({
    mutationFn: async (v: {
      name: string;
      stock: number;
      perMemberLimit: number;
      status: Status;
      validUntil: Dayjs | null;
    }) =>
      unwrap(
        await api.PATCH('/v1/programs/{programId}/pool-benefits/{benefitId}', {
          params: { path: { programId: benefit.programId, benefitId: benefit.id } },
          body: {
            name: v.name,
            stock: v.stock,
            perMemberLimit: v.perMemberLimit,
            status: v.status,
            validUntil: v.validUntil ? v.validUntil.endOf('day').toISOString() : null,
          },
        }),
      ),
    onSuccess: async () => {
      message.success(t.saved);
      // Closed at once: a refresh must not close a dialog opened meanwhile.
      onClose();
      await queries.invalidateQueries({ queryKey: ['pool'] });
    },
  });
  return (
    <FormModal
      form={form}
      title={`${t.editTitle} · ${benefit.name}`}
      okTestId="pool-edit-submit"
      pending={save.isPending}
      error={save.error}
      initialValues={{
        name: benefit.name,
        stock: benefit.stock,
        perMemberLimit: benefit.perMemberLimit,
        status: benefit.status,
        validUntil: benefit.validUntil ? dayjs(benefit.validUntil) : null,
      }}
      onFinish={(v) => save.mutate(v)}
      onClose={onClose}
    >
      <Form.Item name="name" label={t.name} rules={[{ required: true }]}>
        <Input maxLength={200} />
      </Form.Item>
      <Form.Item name="stock" label={t.stock} extra={`${t.claimed}: ${benefit.claimed}`}>
        <InputNumber min={benefit.claimed} precision={0} style={{ width: '100%' }} />
      </Form.Item>
      <Form.Item name="perMemberLimit" label={t.perMemberLimit}>
        <InputNumber min={1} max={1000} precision={0} style={{ width: '100%' }} />
      </Form.Item>
      <Form.Item name="validUntil" label={t.validUntil}>
        <DatePicker style={{ width: '100%' }} />
      </Form.Item>
      <Form.Item name="status" label={t.status}>
        <Select options={STATUSES.map((x) => ({ value: x, label: t.statuses[x] }))} />
      </Form.Item>
    </FormModal>
  );
}
