import { EditOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  App,
  Button,
  Col,
  Divider,
  Drawer,
  Form,
  Input,
  InputNumber,
  Row,
  Select,
  Space,
  Table,
  Tag,
  Typography,
} from 'antd';
import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { unwrap } from '../../api/client.ts';
import type { components } from '../../api/schema';
import { shell } from '../../i18n/console.ts';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { programs as dictionary } from '../../i18n/programs.ts';
import { ErrorView } from '../ErrorView.tsx';
import { FormModal } from '../FormModal.tsx';
import { PageHeader } from '../PageHeader.tsx';
import { QueryPager, useCursor } from '../Pager.tsx';
import { useApi, useCan } from '../session.tsx';

type Program = components['schemas']['Program'];
type Expiry = components['schemas']['ExpiryPolicy'];
type EarningPolicy = components['schemas']['EarningPolicy'];

/** The expiry policy as the form holds it: every variant's fields, the kind choosing. */
interface ExpiryValues {
  kind: Expiry['kind'];
  days?: number;
  period?: 'month' | 'quarter' | 'year';
  afterDays?: number;
  months?: number;
}

interface ProgramValues {
  id: string;
  name: string;
  pointsName?: string;
  timezone: string;
  status: Program['status'];
  pointsExpiry: ExpiryValues;
}

const DEFAULT_TIMEZONE = 'Asia/Shanghai';

/** Common IANA time zones, Greater China first. */
const TIME_ZONES = [
  'Asia/Shanghai',
  'Asia/Hong_Kong',
  'Asia/Macau',
  'Asia/Taipei',
  'Asia/Urumqi',
  'Asia/Tokyo',
  'Asia/Seoul',
  'Asia/Singapore',
  'Asia/Kuala_Lumpur',
  'Asia/Bangkok',
  'Asia/Ho_Chi_Minh',
  'Asia/Jakarta',
  'Asia/Manila',
  'Asia/Kolkata',
  'Asia/Dubai',
  'Australia/Sydney',
  'Australia/Perth',
  'Pacific/Auckland',
  'Europe/London',
  'Europe/Paris',
  'Europe/Berlin',
  'Europe/Moscow',
  'America/New_York',
  'America/Chicago',
  'America/Denver',
  'America/Los_Angeles',
  'America/Sao_Paulo',
  'UTC',
];

const PROGRAM_ID = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function toExpiry(v: ExpiryValues): Expiry {
  switch (v.kind) {
    case 'rolling':
      return { kind: 'rolling', days: v.days ?? 365 };
    case 'period_end':
      return { kind: 'period_end', period: v.period ?? 'year', afterDays: v.afterDays ?? 0 };
    case 'months':
      return { kind: 'months', months: v.months ?? 12 };
    default:
      return { kind: 'never' };
  }
}

/** An expiry policy in a few words. */
function useExpirySummary() {
  const t = useT(dictionary);
  return (e: Expiry) => {
    switch (e.kind) {
      case 'never':
        return t.expirySummary.never;
      case 'rolling':
        return t.expirySummary.rolling(e.days);
      case 'period_end':
        return t.expirySummary.periodEnd(t.periodName[e.period], e.afterDays);
      case 'months':
        return t.expirySummary.months(e.months);
    }
  };
}

/** The coalition's programs: list, create, edit. */
export default function Programs() {
  const t = useT(dictionary);
  const s = useT(shell);
  const f = useFormat();
  const api = useApi();
  const can = useCan();
  const summary = useExpirySummary();
  const pages = useCursor();
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Program | null>(null);

  const list = useQuery({
    queryKey: ['programs', 'page', pages.cursor],
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/programs', {
          params: { query: { limit: 20, ...(pages.cursor && { cursor: pages.cursor }) } },
        }),
      ),
  });

  return (
    <Space orientation="vertical" size="large" style={{ width: '100%' }}>
      <PageHeader
        title={t.title}
        intro={t.intro}
        extra={
          can.coalitionAdmin && (
            <Button
              type="primary"
              icon={<PlusOutlined />}
              onClick={() => setCreating(true)}
              data-testid="program-create"
            >
              {t.create}
            </Button>
          )
        }
      />
      {!can.coalitionAdmin && <Alert type="info" showIcon title={t.noAccess} />}
      {list.error ? (
        <ErrorView error={list.error} retry={() => list.refetch()} />
      ) : (
        <div>
          <Table<Program>
            rowKey="id"
            loading={list.isLoading}
            dataSource={list.data?.data ?? []}
            pagination={false}
            scroll={{ x: 'max-content' }}
            onRow={(p) => ({ 'data-testid': `program-row-${p.id}` }) as object}
            columns={[
              {
                title: t.id,
                dataIndex: 'id',
                render: (id: string) => <Typography.Text code>{id}</Typography.Text>,
              },
              {
                title: t.name,
                dataIndex: 'name',
                render: (name: string, p) => (
                  <Link to={`/p/${encodeURIComponent(p.id)}/dashboard`}>{name}</Link>
                ),
              },
              { title: t.pointsName, dataIndex: 'pointsName' },
              { title: t.timezone, dataIndex: 'timezone' },
              {
                title: t.status,
                dataIndex: 'status',
                render: (status: Program['status']) => (
                  <Tag color={status === 'active' ? 'green' : 'orange'}>{t.statusName[status]}</Tag>
                ),
              },
              {
                title: t.expiry,
                dataIndex: 'pointsExpiry',
                render: (e: Expiry) => summary(e),
              },
              {
                title: t.createdAt,
                dataIndex: 'createdAt',
                render: (d: string) => f.date(d),
              },
              {
                title: s.actions,
                key: 'actions',
                render: (_: unknown, p) => (
                  <Space size="small" wrap>
                    <Link to={`/p/${encodeURIComponent(p.id)}/dashboard`}>{t.dashboard}</Link>
                    {can.program(p.id, 'admin') && (
                      <>
                        <Link to={`/p/${encodeURIComponent(p.id)}/keys`}>{t.keys}</Link>
                        <Button
                          size="small"
                          type="link"
                          style={{ padding: 0 }}
                          icon={<EditOutlined />}
                          onClick={() => setEditing(p)}
                          data-testid={`program-edit-${p.id}`}
                        >
                          {s.edit}
                        </Button>
                      </>
                    )}
                  </Space>
                ),
              },
            ]}
          />
          <QueryPager query={list} pages={pages} />
        </div>
      )}
      {creating && <CreateProgram onClose={() => setCreating(false)} />}
      {editing && <EditProgram program={editing} onClose={() => setEditing(null)} />}
    </Space>
  );
}

/** The points expiry policy's fields: its kind, and what that kind needs. */
function ExpiryFields() {
  const t = useT(dictionary);
  const kind = Form.useWatch(['pointsExpiry', 'kind']) as Expiry['kind'] | undefined;
  return (
    <Row gutter={12}>
      <Col span={kind === 'period_end' ? 8 : 14}>
        <Form.Item name={['pointsExpiry', 'kind']} label={t.expiry} rules={[{ required: true }]}>
          <Select
            data-testid="program-expiry-kind"
            options={(['never', 'rolling', 'period_end', 'months'] as const).map((k) => ({
              value: k,
              label: t.expiryKind[k],
            }))}
          />
        </Form.Item>
      </Col>
      {kind === 'rolling' && (
        <Col span={10}>
          <Form.Item
            name={['pointsExpiry', 'days']}
            label={t.days}
            initialValue={365}
            rules={[{ required: true }]}
          >
            <InputNumber min={1} max={36_500} precision={0} style={{ width: '100%' }} />
          </Form.Item>
        </Col>
      )}
      {kind === 'months' && (
        <Col span={10}>
          <Form.Item
            name={['pointsExpiry', 'months']}
            label={t.months}
            initialValue={12}
            rules={[{ required: true }]}
          >
            <InputNumber min={1} max={1200} precision={0} style={{ width: '100%' }} />
          </Form.Item>
        </Col>
      )}
      {kind === 'period_end' && (
        <>
          <Col span={7}>
            <Form.Item
              name={['pointsExpiry', 'period']}
              label={t.period}
              initialValue="year"
              rules={[{ required: true }]}
            >
              <Select
                options={(['month', 'quarter', 'year'] as const).map((p) => ({
                  value: p,
                  label: t.periodName[p],
                }))}
              />
            </Form.Item>
          </Col>
          <Col span={9}>
            <Form.Item
              name={['pointsExpiry', 'afterDays']}
              label={t.afterDays}
              tooltip={t.afterDaysHelp}
              initialValue={0}
              rules={[{ required: true }]}
            >
              <InputNumber min={0} max={36_500} precision={0} style={{ width: '100%' }} />
            </Form.Item>
          </Col>
        </>
      )}
    </Row>
  );
}

function TimeZoneSelect(props: { value?: string; onChange?: (v: string) => void }) {
  const zones = props.value && !TIME_ZONES.includes(props.value) ? [props.value] : [];
  return (
    <Select
      {...props}
      showSearch
      data-testid="program-timezone"
      options={[...zones, ...TIME_ZONES].map((z) => ({ value: z, label: z }))}
    />
  );
}

function CreateProgram({ onClose }: { onClose: () => void }) {
  const t = useT(dictionary);
  const s = useT(shell);
  const api = useApi();
  const queries = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm<ProgramValues>();

  const create = useMutation({
    mutationFn: async (v: ProgramValues) =>
      unwrap(
        await api.POST('/v1/programs', {
          body: {
            id: v.id,
            name: v.name,
            ...(v.pointsName?.trim() && { pointsName: v.pointsName.trim() }),
            timezone: v.timezone,
            pointsExpiry: toExpiry(v.pointsExpiry),
          },
        }),
      ),
    onSuccess: async () => {
      message.success(t.created);
      // Closed at once: a refresh must not close a dialog opened meanwhile.
      onClose();
      await queries.invalidateQueries({ queryKey: ['programs'] });
    },
  });

  return (
    <FormModal<ProgramValues>
      form={form}
      title={t.create}
      okText={s.create}
      okTestId="program-submit"
      pending={create.isPending}
      width={600}
      error={create.error}
      initialValues={{ timezone: DEFAULT_TIMEZONE, pointsExpiry: { kind: 'never' } }}
      onFinish={(v) => create.mutate(v)}
      onClose={onClose}
    >
      <Row gutter={12}>
        <Col span={10}>
          <Form.Item
            name="id"
            label={t.id}
            tooltip={t.idHelp}
            rules={[{ required: true }, { pattern: PROGRAM_ID, message: t.idInvalid }]}
          >
            <Input data-testid="program-id" maxLength={63} />
          </Form.Item>
        </Col>
        <Col span={14}>
          <Form.Item name="name" label={t.name} rules={[{ required: true, whitespace: true }]}>
            <Input data-testid="program-name" maxLength={200} />
          </Form.Item>
        </Col>
      </Row>
      <Row gutter={12}>
        <Col span={10}>
          <Form.Item name="pointsName" label={t.pointsName} tooltip={t.pointsNameHelp}>
            <Input maxLength={50} data-testid="program-points-name" />
          </Form.Item>
        </Col>
        <Col span={14}>
          <Form.Item name="timezone" label={t.timezone} rules={[{ required: true }]}>
            <TimeZoneSelect />
          </Form.Item>
        </Col>
      </Row>
      <ExpiryFields />
    </FormModal>
  );
}

/** A program's settings, and its earning policy (pending days, rounding, returns), each saved on its own. */
function EditProgram({ program, onClose }: { program: Program; onClose: () => void }) {
  const t = useT(dictionary);
  const s = useT(shell);
  const api = useApi();
  const queries = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm<ProgramValues>();
  const [policyForm] = Form.useForm<EarningPolicy>();
  const path = { params: { path: { programId: program.id } } };

  const policy = useQuery({
    queryKey: ['earning-policy', program.id],
    queryFn: async () => unwrap(await api.GET('/v1/programs/{programId}/earning-policy', path)),
  });
  useEffect(() => {
    if (policy.data) policyForm.setFieldsValue(policy.data);
  }, [policy.data, policyForm]);

  const save = useMutation({
    mutationFn: async (v: ProgramValues) =>
      unwrap(
        await api.PATCH('/v1/programs/{programId}', {
          ...path,
          body: {
            name: v.name,
            ...(v.pointsName?.trim() && { pointsName: v.pointsName.trim() }),
            timezone: v.timezone,
            status: v.status,
            pointsExpiry: toExpiry(v.pointsExpiry),
          },
        }),
      ),
    onSuccess: async () => {
      message.success(t.saved);
      await queries.invalidateQueries({ queryKey: ['programs'] });
      // Closed at once: a refresh must not close a dialog opened meanwhile.
      onClose();
      await queries.invalidateQueries({ queryKey: ['program', program.id] });
    },
  });

  const savePolicy = useMutation({
    mutationFn: async (v: EarningPolicy) =>
      unwrap(await api.PUT('/v1/programs/{programId}/earning-policy', { ...path, body: v })),
    onSuccess: (saved) => {
      queries.setQueryData(['earning-policy', program.id], saved);
      message.success(t.policySaved);
    },
  });

  return (
    <Drawer open size={600} title={`${t.edit} · ${program.name}`} onClose={onClose} destroyOnHidden>
      <Form<ProgramValues>
        form={form}
        layout="vertical"
        initialValues={{ ...program, pointsExpiry: { ...program.pointsExpiry } }}
        onFinish={(v) => save.mutate(v)}
      >
        <Form.Item label={t.id}>
          <Typography.Text code>{program.id}</Typography.Text>
        </Form.Item>
        <Row gutter={12}>
          <Col span={14}>
            <Form.Item name="name" label={t.name} rules={[{ required: true, whitespace: true }]}>
              <Input maxLength={200} data-testid="program-name" />
            </Form.Item>
          </Col>
          <Col span={10}>
            <Form.Item
              name="pointsName"
              label={t.pointsName}
              tooltip={t.pointsNameHelp}
              rules={[{ required: true, whitespace: true }]}
            >
              <Input maxLength={50} />
            </Form.Item>
          </Col>
        </Row>
        <Row gutter={12}>
          <Col span={14}>
            <Form.Item name="timezone" label={t.timezone} rules={[{ required: true }]}>
              <TimeZoneSelect />
            </Form.Item>
          </Col>
          <Col span={10}>
            <Form.Item name="status" label={t.status} rules={[{ required: true }]}>
              <Select
                data-testid="program-status"
                options={(['active', 'suspended'] as const).map((v) => ({
                  value: v,
                  label: t.statusName[v],
                }))}
              />
            </Form.Item>
          </Col>
        </Row>
        <ExpiryFields />
        {save.error && <ErrorView error={save.error} />}
        <Button
          type="primary"
          htmlType="submit"
          loading={save.isPending}
          style={{ marginTop: 8 }}
          data-testid="program-save"
        >
          {s.save}
        </Button>
      </Form>
      <Divider />
      <Typography.Title level={5}>{t.earning}</Typography.Title>
      <Typography.Paragraph type="secondary">{t.earningIntro}</Typography.Paragraph>
      {policy.error ? (
        <ErrorView error={policy.error} retry={() => policy.refetch()} />
      ) : (
        <Form<EarningPolicy>
          form={policyForm}
          layout="vertical"
          disabled={policy.isLoading}
          onFinish={(v) => savePolicy.mutate(v)}
        >
          <Row gutter={12}>
            <Col span={10}>
              <Form.Item name="pendingDays" label={t.pendingDays} rules={[{ required: true }]}>
                <InputNumber
                  min={0}
                  max={365}
                  precision={0}
                  style={{ width: '100%' }}
                  data-testid="program-pending-days"
                />
              </Form.Item>
            </Col>
            <Col span={14}>
              <Form.Item name="rounding" label={t.rounding} rules={[{ required: true }]}>
                <Select
                  options={(['floor', 'round', 'ceil'] as const).map((v) => ({
                    value: v,
                    label: t.roundingName[v],
                  }))}
                />
              </Form.Item>
            </Col>
          </Row>
          <Form.Item name="returnPolicy" label={t.returnPolicy} rules={[{ required: true }]}>
            <Select
              data-testid="program-return-policy"
              options={(['within_balance', 'only_pending'] as const).map((v) => ({
                value: v,
                label: t.returnPolicyName[v],
              }))}
            />
          </Form.Item>
          {savePolicy.error && <ErrorView error={savePolicy.error} />}
          <Button
            htmlType="submit"
            loading={savePolicy.isPending}
            style={{ marginTop: 8 }}
            data-testid="program-policy-save"
          >
            {t.savePolicy}
          </Button>
        </Form>
      )}
    </Drawer>
  );
}
