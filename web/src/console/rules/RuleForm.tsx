import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  App,
  Button,
  Checkbox,
  Col,
  DatePicker,
  Divider,
  Drawer,
  Form,
  Input,
  InputNumber,
  Row,
  Segmented,
  Select,
  Space,
  Switch,
  Typography,
} from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { unwrap } from '../../api/client.ts';
import type { components } from '../../api/schema';
import { shell } from '../../i18n/console.ts';
import { useT } from '../../i18n/i18n.tsx';
import { rules as dictionary } from '../../i18n/rules.ts';
import { ErrorView } from '../ErrorView.tsx';
import { useApi } from '../session.tsx';
import {
  type Conditions,
  type Effect,
  LIST_CONDITIONS,
  type Limits,
  type Rule,
} from './summary.tsx';

type RuleBody = components['schemas']['CreateEarningRuleInput'];
type ListCondition = (typeof LIST_CONDITIONS)[number];
type LimitKey = keyof Limits;

/** A rule as the form holds it: money in yuan, instants as dayjs. */
interface RuleValues {
  id?: string;
  name: string;
  priority: number;
  exclusive: boolean;
  effect: { type: Effect['type']; points?: number; perYuan?: number; factor?: number };
  conditions: Partial<Record<ListCondition, string[]>> & {
    minSpendYuan?: number | null;
    from?: Dayjs | null;
    to?: Dayjs | null;
    weekdays?: number[];
    daysOfMonth?: number[];
    birthday?: Conditions['birthday'] | null;
    firstPurchase?: boolean;
  };
  limits: Partial<Record<LimitKey, number | null>>;
}

const LIMITS: LimitKey[] = ['perPurchase', 'perMemberPerDay', 'perMemberPerMonth', 'budget'];
const RULE_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const fen = (yuan: number) => Math.round(yuan * 100);
const present = <T,>(v: T | null | undefined): v is T => v !== null && v !== undefined;

function toValues(rule: Rule | null): RuleValues {
  if (!rule)
    return {
      name: '',
      priority: 0,
      exclusive: false,
      effect: { type: 'rate', points: 1, perYuan: 10 },
      conditions: {},
      limits: {},
    };
  const e = rule.effect;
  const c = rule.conditions;
  return {
    id: rule.id,
    name: rule.name,
    priority: rule.priority,
    exclusive: rule.exclusive,
    effect:
      e.type === 'rate'
        ? { type: 'rate', points: e.points, perYuan: e.per / 100 }
        : e.type === 'multiplier'
          ? { type: 'multiplier', factor: e.factor }
          : { type: 'bonus', points: e.points },
    conditions: {
      ...Object.fromEntries(LIST_CONDITIONS.map((k) => [k, c[k] ?? []])),
      minSpendYuan: c.minSpend === undefined ? null : c.minSpend / 100,
      from: c.from ? dayjs(c.from) : null,
      to: c.to ? dayjs(c.to) : null,
      weekdays: c.weekdays ?? [],
      daysOfMonth: c.daysOfMonth ?? [],
      birthday: c.birthday ?? null,
      firstPurchase: c.firstPurchase ?? false,
    },
    limits: { ...rule.limits },
  };
}

function toBody(v: RuleValues): Omit<RuleBody, 'id'> {
  const e = v.effect;
  const effect: Effect =
    e.type === 'rate'
      ? { type: 'rate', points: e.points ?? 1, per: fen(e.perYuan ?? 1) }
      : e.type === 'multiplier'
        ? { type: 'multiplier', factor: e.factor ?? 1 }
        : { type: 'bonus', points: e.points ?? 1 };
  const c = v.conditions ?? {};
  const conditions: Conditions = {};
  for (const k of LIST_CONDITIONS) {
    const values = (c[k] ?? []).map((s) => s.trim()).filter(Boolean);
    if (values.length) conditions[k] = [...new Set(values)];
  }
  if (present(c.minSpendYuan)) conditions.minSpend = fen(c.minSpendYuan);
  if (c.from) conditions.from = c.from.toISOString();
  if (c.to) conditions.to = c.to.toISOString();
  if (c.weekdays?.length) conditions.weekdays = [...c.weekdays].sort((a, b) => a - b);
  if (c.daysOfMonth?.length) conditions.daysOfMonth = [...c.daysOfMonth].sort((a, b) => a - b);
  if (c.birthday) conditions.birthday = c.birthday;
  if (c.firstPurchase) conditions.firstPurchase = true;
  const limits: Limits = {};
  for (const k of LIMITS) {
    const n = v.limits?.[k];
    if (present(n)) limits[k] = n;
  }
  return {
    name: v.name.trim(),
    priority: v.priority ?? 0,
    exclusive: v.exclusive ?? false,
    effect,
    conditions,
    limits,
  };
}

/** Creates a rule (`rule` null) or changes one: a new version of it. */
export function RuleDrawer({
  programId,
  rule,
  onClose,
}: {
  programId: string;
  rule: Rule | null;
  onClose: () => void;
}) {
  const t = useT(dictionary);
  const s = useT(shell);
  const api = useApi();
  const queries = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm<RuleValues>();

  const save = useMutation({
    mutationFn: async (v: RuleValues) => {
      const body = toBody(v);
      // Every change makes a new version: an unchanged rule is left as it is.
      if (rule && JSON.stringify(body) === JSON.stringify(toBody(toValues(rule)))) return rule;
      if (rule)
        return unwrap(
          await api.PATCH('/v1/programs/{programId}/earning-rules/{ruleId}', {
            params: { path: { programId, ruleId: rule.id } },
            body,
          }),
        );
      const id = v.id?.trim();
      return unwrap(
        await api.POST('/v1/programs/{programId}/earning-rules', {
          params: { path: { programId } },
          body: { ...body, ...(id && { id }) },
        }),
      );
    },
    onSuccess: async (saved) => {
      if (saved === rule) return onClose();
      message.success(rule ? t.saved : t.created);
      await queries.invalidateQueries({ queryKey: ['earning-rules', programId] });
      onClose();
    },
  });

  return (
    <Drawer
      open
      size={760}
      title={rule ? `${t.edit} · ${rule.name}` : t.create}
      onClose={onClose}
      destroyOnHidden
      footer={
        <Space style={{ width: '100%', justifyContent: 'flex-end' }}>
          <Button onClick={onClose}>{s.cancel}</Button>
          <Button
            type="primary"
            loading={save.isPending}
            onClick={() => form.submit()}
            data-testid="rule-save"
          >
            {s.save}
          </Button>
        </Space>
      }
    >
      <Form<RuleValues>
        form={form}
        layout="vertical"
        initialValues={toValues(rule)}
        onFinish={(v) => save.mutate(v)}
        scrollToFirstError
      >
        <Typography.Title level={5} style={{ marginTop: 0 }}>
          {t.basics}
        </Typography.Title>
        <Row gutter={12}>
          <Col span={8}>
            {rule ? (
              <Form.Item label={t.id}>
                <Typography.Text code>{rule.id}</Typography.Text>
              </Form.Item>
            ) : (
              <Form.Item
                name="id"
                label={t.id}
                tooltip={t.idHelp}
                rules={[{ pattern: RULE_ID, message: t.idInvalid }]}
              >
                <Input maxLength={63} data-testid="rule-id" />
              </Form.Item>
            )}
          </Col>
          <Col span={16}>
            <Form.Item name="name" label={t.name} rules={[{ required: true, whitespace: true }]}>
              <Input maxLength={100} data-testid="rule-name" />
            </Form.Item>
          </Col>
        </Row>
        <Row gutter={12}>
          <Col span={8}>
            <Form.Item
              name="priority"
              label={t.priority}
              tooltip={t.priorityHelp}
              rules={[{ required: true }]}
            >
              <InputNumber
                min={-1_000_000}
                max={1_000_000}
                precision={0}
                style={{ width: '100%' }}
                data-testid="rule-priority"
              />
            </Form.Item>
          </Col>
          <Col span={16}>
            <Form.Item
              name="exclusive"
              label={t.exclusive}
              tooltip={t.exclusiveHelp}
              valuePropName="checked"
            >
              <Switch data-testid="rule-exclusive" />
            </Form.Item>
          </Col>
        </Row>

        <Section title={t.effect} />
        <EffectFields />

        <Section title={t.conditions} />
        <Typography.Paragraph type="secondary">{t.conditionsHelp}</Typography.Paragraph>
        <ConditionFields />

        <Section title={t.limits} />
        <Row gutter={12}>
          {LIMITS.map((k) => (
            <Col span={6} key={k}>
              <Form.Item name={['limits', k]} label={t.limit[k]}>
                <InputNumber
                  min={1}
                  max={1_000_000_000}
                  precision={0}
                  style={{ width: '100%' }}
                  data-testid={`rule-limit-${k}`}
                />
              </Form.Item>
            </Col>
          ))}
        </Row>
      </Form>
      {save.error && <ErrorView error={save.error} />}
    </Drawer>
  );
}

function Section({ title }: { title: string }) {
  return (
    <>
      <Divider style={{ margin: '8px 0 16px' }} />
      <Typography.Title level={5} style={{ marginTop: 0 }}>
        {title}
      </Typography.Title>
    </>
  );
}

function EffectFields() {
  const t = useT(dictionary);
  const type = Form.useWatch(['effect', 'type']) as Effect['type'] | undefined;
  return (
    <Row gutter={12} align="bottom">
      <Col span={10}>
        <Form.Item name={['effect', 'type']} label={t.effect} rules={[{ required: true }]}>
          <Segmented
            block
            data-testid="rule-effect-type"
            options={(['rate', 'multiplier', 'bonus'] as const).map((v) => ({
              value: v,
              label: t.effectType[v],
            }))}
          />
        </Form.Item>
      </Col>
      {type === 'rate' && (
        <>
          <Col span={7}>
            <Form.Item
              name={['effect', 'points']}
              label={t.ratePoints}
              rules={[{ required: true }]}
            >
              <InputNumber
                min={1}
                max={1_000_000_000}
                precision={0}
                style={{ width: '100%' }}
                data-testid="rule-points"
              />
            </Form.Item>
          </Col>
          <Col span={7}>
            <Form.Item name={['effect', 'perYuan']} label={t.ratePer} rules={[{ required: true }]}>
              <InputNumber
                min={0.01}
                max={1_000_000}
                precision={2}
                prefix="¥"
                style={{ width: '100%' }}
                data-testid="rule-per"
              />
            </Form.Item>
          </Col>
        </>
      )}
      {type === 'multiplier' && (
        <Col span={7}>
          <Form.Item
            name={['effect', 'factor']}
            label={t.factor}
            initialValue={2}
            rules={[{ required: true }]}
          >
            <InputNumber
              min={1}
              max={100}
              precision={4}
              step={0.5}
              prefix="×"
              style={{ width: '100%' }}
              data-testid="rule-factor"
            />
          </Form.Item>
        </Col>
      )}
      {type === 'bonus' && (
        <Col span={7}>
          <Form.Item
            name={['effect', 'points']}
            label={t.bonusPoints}
            initialValue={100}
            rules={[{ required: true }]}
          >
            <InputNumber
              min={1}
              max={1_000_000_000}
              precision={0}
              style={{ width: '100%' }}
              data-testid="rule-points"
            />
          </Form.Item>
        </Col>
      )}
    </Row>
  );
}

function ConditionFields() {
  const t = useT(dictionary);
  return (
    <>
      <Row gutter={12}>
        {LIST_CONDITIONS.map((k) => (
          <Col span={12} key={k}>
            <Form.Item name={['conditions', k]} label={t.cond[k]}>
              <Select
                mode="tags"
                open={false}
                suffixIcon={null}
                tokenSeparators={[',', '，', ' ']}
                placeholder={t.tagsPlaceholder}
                data-testid={`rule-cond-${k}`}
              />
            </Form.Item>
          </Col>
        ))}
      </Row>
      <Row gutter={12}>
        <Col span={8}>
          <Form.Item name={['conditions', 'minSpendYuan']} label={t.cond.minSpend}>
            <InputNumber
              min={0}
              max={10_000_000_000}
              precision={2}
              prefix="¥"
              style={{ width: '100%' }}
              data-testid="rule-cond-minSpend"
            />
          </Form.Item>
        </Col>
        <Col span={8}>
          <Form.Item name={['conditions', 'from']} label={t.cond.from}>
            <DatePicker showTime style={{ width: '100%' }} />
          </Form.Item>
        </Col>
        <Col span={8}>
          <Form.Item
            name={['conditions', 'to']}
            label={t.cond.to}
            dependencies={[['conditions', 'from']]}
            rules={[
              ({ getFieldValue }) => ({
                validator: (_, to: Dayjs | null) => {
                  const from = getFieldValue(['conditions', 'from']) as Dayjs | null;
                  return !to || !from || to.isAfter(from)
                    ? Promise.resolve()
                    : Promise.reject(new Error(t.toAfterFrom));
                },
              }),
            ]}
          >
            <DatePicker showTime style={{ width: '100%' }} />
          </Form.Item>
        </Col>
      </Row>
      <Form.Item name={['conditions', 'weekdays']} label={t.cond.weekdays}>
        <Checkbox.Group
          options={t.weekdayNames.map((label, i) => ({ value: i + 1, label }))}
          data-testid="rule-cond-weekdays"
        />
      </Form.Item>
      <Row gutter={12}>
        <Col span={10}>
          <Form.Item name={['conditions', 'daysOfMonth']} label={t.cond.daysOfMonth}>
            <Select
              mode="multiple"
              allowClear
              options={Array.from({ length: 31 }, (_, i) => ({ value: i + 1, label: i + 1 }))}
              data-testid="rule-cond-daysOfMonth"
            />
          </Form.Item>
        </Col>
        <Col span={8}>
          <Form.Item name={['conditions', 'birthday']} label={t.cond.birthday}>
            <Select
              allowClear
              options={(['day', 'week', 'month'] as const).map((v) => ({
                value: v,
                label: t.birthdayName[v],
              }))}
              data-testid="rule-cond-birthday"
            />
          </Form.Item>
        </Col>
        <Col span={6}>
          <Form.Item
            name={['conditions', 'firstPurchase']}
            label={t.cond.firstPurchase}
            valuePropName="checked"
          >
            <Switch data-testid="rule-cond-firstPurchase" />
          </Form.Item>
        </Col>
      </Row>
    </>
  );
}
