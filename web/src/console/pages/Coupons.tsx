import { PlusOutlined, SendOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  App,
  Button,
  Col,
  DatePicker,
  Form,
  Input,
  InputNumber,
  Row,
  Select,
  Space,
  Tag,
} from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useState } from 'react';
import { useParams } from 'react-router';
import { unwrap } from '../../api/client.ts';
import type { components } from '../../api/schema';
import { shell } from '../../i18n/console.ts';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { mall } from '../../i18n/mall.ts';
import { uuid } from '../../uuid.ts';
import { FormModal } from '../FormModal.tsx';
import { NameAndId } from '../NameAndId.tsx';
import { PagedTableCard } from '../PagedTableCard.tsx';
import { PageHeader } from '../PageHeader.tsx';
import { useCursor } from '../Pager.tsx';
import { useApi, useCan } from '../session.tsx';

type Template = components['schemas']['CouponTemplate'];
type Kind = Template['kind'];
type Status = Template['status'];

const KINDS: Kind[] = ['amount_off', 'percent_off', 'gift', 'free_shipping'];
const STATUS_COLOR: Record<Status, string> = {
  active: 'green',
  paused: 'orange',
  closed: 'default',
};

/** Member ids pasted one a line, or separated by spaces or commas. */
const memberIdsOf = (text: string) => [
  ...new Set(
    text
      .split(/[\s,，;；]+/)
      .map((x) => x.trim())
      .filter(Boolean),
  ),
];

/**
 * The program's coupon templates with how many were issued and redeemed; creating one, and
 * issuing coupons to a member or a list of them.
 */
export default function Coupons() {
  const t = useT(mall).coupons;
  const s = useT(shell);
  const f = useFormat();
  const api = useApi();
  const can = useCan();
  const { programId = '' } = useParams();
  const pages = useCursor();
  const [creating, setCreating] = useState(false);
  const [issuing, setIssuing] = useState<Template | null>(null);
  const admin = can.program(programId, 'admin');

  const list = useQuery({
    queryKey: ['coupon-templates', programId, pages.cursor],
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/programs/{programId}/coupon-templates', {
          params: {
            path: { programId },
            query: { limit: 50, ...(pages.cursor && { cursor: pages.cursor }) },
          },
        }),
      ),
  });

  const value = (c: Template) =>
    c.kind === 'amount_off'
      ? f.money(c.amountOffFen ?? 0)
      : c.kind === 'percent_off'
        ? `${t.percentText(c.percentOff ?? 0)}${c.capFen ? ` (≤ ${f.money(c.capFen)})` : ''}`
        : c.kind === 'gift'
          ? (c.gift ?? '')
          : t.kinds.free_shipping;

  return (
    <Space orientation="vertical" size="large" style={{ width: '100%' }}>
      <PageHeader
        title={t.title}
        intro={t.intro}
        extra={
          admin && (
            <Button
              type="primary"
              icon={<PlusOutlined />}
              onClick={() => setCreating(true)}
              data-testid="coupon-create"
            >
              {t.create}
            </Button>
          )
        }
      />
      <PagedTableCard<Template>
        flush
        query={list}
        pages={pages}
        emptyText={t.none}
        rowTestId={(c) => `coupon-row-${c.id}`}
        columns={[
          {
            title: t.name,
            dataIndex: 'name',
            render: (v: string, c) => <NameAndId name={v} id={c.id} />,
          },
          {
            title: t.kind,
            dataIndex: 'kind',
            render: (k: Kind) => <Tag>{t.kinds[k] ?? k}</Tag>,
          },
          { title: t.value, key: 'value', render: (_, c) => value(c) },
          {
            title: t.validity,
            key: 'validity',
            render: (_, c) =>
              c.validDays ? t.days(c.validDays) : c.validUntil ? f.date(c.validUntil) : t.noEnd,
          },
          {
            title: t.stock,
            dataIndex: 'stock',
            align: 'right',
            render: (v: number | null) => (v === null ? t.unlimited : f.number(v)),
          },
          {
            title: t.issued,
            dataIndex: 'issued',
            align: 'right',
            render: (v: number, c) => (
              <span data-testid={`coupon-issued-${c.id}`}>{f.number(v)}</span>
            ),
          },
          {
            title: t.redeemed,
            dataIndex: 'redeemed',
            align: 'right',
            render: (v: number, c) => (
              <span data-testid={`coupon-redeemed-${c.id}`}>{f.number(v)}</span>
            ),
          },
          {
            title: t.perMemberLimit,
            dataIndex: 'perMemberLimit',
            align: 'right',
            render: (v: number | null) => (v === null ? t.unlimited : f.number(v)),
          },
          {
            title: t.status,
            dataIndex: 'status',
            render: (v: Status) => <Tag color={STATUS_COLOR[v]}>{t.statuses[v]}</Tag>,
          },
          {
            title: s.actions,
            key: 'actions',
            render: (_, c) =>
              c.status === 'active' && (
                <Button
                  size="small"
                  icon={<SendOutlined />}
                  onClick={() => setIssuing(c)}
                  data-testid={`coupon-issue-${c.id}`}
                >
                  {t.issue}
                </Button>
              ),
          },
        ]}
      />
      {creating && <CreateTemplate programId={programId} onClose={() => setCreating(false)} />}
      {issuing && (
        <IssueDialog programId={programId} template={issuing} onClose={() => setIssuing(null)} />
      )}
    </Space>
  );
}

interface TemplateValues {
  id?: string;
  name: string;
  kind: Kind;
  amountOff?: number;
  percentOff?: number;
  cap?: number | null;
  gift?: string;
  minSpend?: number | null;
  validDays?: number | null;
  validUntil?: Dayjs | null;
  stock?: number | null;
  perMemberLimit?: number | null;
}

function CreateTemplate({ programId, onClose }: { programId: string; onClose: () => void }) {
  const t = useT(mall).coupons;
  const s = useT(shell);
  const api = useApi();
  const queries = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm<TemplateValues>();
  const kind = Form.useWatch('kind', form);
  const fen = (yuan: number | null | undefined) =>
    yuan === null || yuan === undefined ? undefined : Math.round(yuan * 100);
  const create = useMutation({
    mutationFn: async (v: TemplateValues) => {
      const minSpendFen = fen(v.minSpend);
      return unwrap(
        await api.POST('/v1/programs/{programId}/coupon-templates', {
          params: { path: { programId } },
          body: {
            ...(v.id?.trim() && { id: v.id.trim() }),
            name: v.name,
            kind: v.kind,
            ...(v.kind === 'amount_off' && { amountOffFen: fen(v.amountOff) }),
            ...(v.kind === 'percent_off' && {
              percentOff: v.percentOff,
              ...(v.cap && { capFen: fen(v.cap) }),
            }),
            ...(v.kind === 'gift' && { gift: v.gift }),
            ...(v.validDays && { validDays: v.validDays }),
            ...(v.validUntil && { validUntil: v.validUntil.endOf('day').toISOString() }),
            ...(v.stock !== null && v.stock !== undefined && { stock: v.stock }),
            ...(v.perMemberLimit && { perMemberLimit: v.perMemberLimit }),
            ...(minSpendFen && { conditions: { minSpendFen } }),
          },
        }),
      );
    },
    onSuccess: async () => {
      message.success(t.saved);
      onClose();
      await queries.invalidateQueries({ queryKey: ['coupon-templates', programId] });
    },
  });
  return (
    <FormModal<TemplateValues>
      form={form}
      title={t.create}
      okText={s.create}
      okTestId="coupon-submit"
      pending={create.isPending}
      width={640}
      error={create.error}
      initialValues={{ kind: 'amount_off' }}
      onFinish={(v) => create.mutate(v)}
      onClose={onClose}
    >
      <Row gutter={16}>
        <Col span={12}>
          <Form.Item name="id" label={t.id}>
            <Input maxLength={64} data-testid="coupon-id" />
          </Form.Item>
        </Col>
        <Col span={12}>
          <Form.Item name="name" label={t.name} rules={[{ required: true }]}>
            <Input maxLength={200} data-testid="coupon-name" />
          </Form.Item>
        </Col>
        <Col span={12}>
          <Form.Item name="kind" label={t.kind} rules={[{ required: true }]}>
            <Select
              options={KINDS.map((k) => ({ value: k, label: t.kinds[k] }))}
              data-testid="coupon-kind"
            />
          </Form.Item>
        </Col>
        <Col span={12}>
          {kind === 'amount_off' && (
            <Form.Item name="amountOff" label={t.amountOff} rules={[{ required: true }]}>
              <InputNumber
                min={0.01}
                precision={2}
                prefix="¥"
                style={{ width: '100%' }}
                data-testid="coupon-amount"
              />
            </Form.Item>
          )}
          {kind === 'percent_off' && (
            <Space.Compact style={{ width: '100%' }}>
              <Form.Item
                name="percentOff"
                label={t.percentOff}
                rules={[{ required: true }]}
                style={{ width: '50%' }}
              >
                <InputNumber min={1} max={100} precision={0} suffix="%" style={{ width: '100%' }} />
              </Form.Item>
              <Form.Item name="cap" label={t.cap} style={{ width: '50%' }}>
                <InputNumber min={0.01} precision={2} prefix="¥" style={{ width: '100%' }} />
              </Form.Item>
            </Space.Compact>
          )}
          {kind === 'gift' && (
            <Form.Item name="gift" label={t.gift} rules={[{ required: true }]}>
              <Input maxLength={200} />
            </Form.Item>
          )}
        </Col>
        <Col span={8}>
          <Form.Item name="minSpend" label={t.minSpend}>
            <InputNumber min={0.01} precision={2} prefix="¥" style={{ width: '100%' }} />
          </Form.Item>
        </Col>
        <Col span={8}>
          <Form.Item name="validDays" label={t.validDays}>
            <InputNumber min={1} max={3650} precision={0} style={{ width: '100%' }} />
          </Form.Item>
        </Col>
        <Col span={8}>
          <Form.Item name="validUntil" label={t.validUntil}>
            <DatePicker style={{ width: '100%' }} disabledDate={(d) => d.isBefore(dayjs())} />
          </Form.Item>
        </Col>
        <Col span={12}>
          <Form.Item name="stock" label={t.stock}>
            <InputNumber min={0} precision={0} style={{ width: '100%' }} />
          </Form.Item>
        </Col>
        <Col span={12}>
          <Form.Item name="perMemberLimit" label={t.perMemberLimit}>
            <InputNumber min={1} max={1000} precision={0} style={{ width: '100%' }} />
          </Form.Item>
        </Col>
      </Row>
    </FormModal>
  );
}

/**
 * Issues a template's coupons to the members listed, all or none. One reference per dialog, so
 * that pressing OK again after a lost answer issues nothing twice.
 */
function IssueDialog({
  programId,
  template,
  onClose,
}: {
  programId: string;
  template: Template;
  onClose: () => void;
}) {
  const t = useT(mall).coupons;
  const api = useApi();
  const queries = useQueryClient();
  const { message } = App.useApp();
  const [reference] = useState(() => `console:${uuid()}`);
  const [form] = Form.useForm<{ memberIds: string }>();
  const issue = useMutation({
    mutationFn: async (v: { memberIds: string }) =>
      unwrap(
        await api.POST('/v1/programs/{programId}/coupon-templates/{templateId}/issue', {
          params: { path: { programId, templateId: template.id } },
          body: { memberIds: memberIdsOf(v.memberIds), reference },
        }),
      ),
    onSuccess: async (r) => {
      message.success(t.issuedCount(r.data.length));
      onClose();
      await queries.invalidateQueries({ queryKey: ['coupon-templates', programId] });
    },
  });
  return (
    <FormModal
      form={form}
      title={`${t.issueTitle} · ${template.name}`}
      okText={t.issue}
      okTestId="issue-submit"
      pending={issue.isPending}
      error={issue.error}
      onFinish={(v) => issue.mutate(v)}
      onClose={onClose}
    >
      <Form.Item
        name="memberIds"
        label={t.memberIds}
        extra={t.memberIdsHint}
        rules={[
          { required: true },
          {
            validator: async (_, v: string | undefined) => {
              const n = memberIdsOf(v ?? '').length;
              if (n > 1000) throw new Error(t.memberIdsHint);
            },
          },
        ]}
      >
        <Input.TextArea rows={5} data-testid="issue-members" />
      </Form.Item>
    </FormModal>
  );
}
