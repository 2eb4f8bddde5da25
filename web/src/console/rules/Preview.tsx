import { DeleteOutlined, PlusOutlined, ThunderboltOutlined } from '@ant-design/icons';
import { useMutation } from '@tanstack/react-query';
import {
  Button,
  Card,
  Col,
  DatePicker,
  Descriptions,
  Empty,
  Form,
  Input,
  InputNumber,
  Row,
  Space,
  Statistic,
  Table,
  Tag,
  Typography,
} from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { unwrap } from '../../api/client.ts';
import type { components } from '../../api/schema';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { preview as dictionary } from '../../i18n/rules.ts';
import { ErrorView } from '../ErrorView.tsx';
import { useApi } from '../session.tsx';

type Purchase = components['schemas']['PurchaseInput'];
type Result = components['schemas']['PurchaseResult'];
type Line = Result['points']['breakdown'][number];

interface ItemValues {
  sku?: string;
  category?: string;
  quantity?: number;
  amountYuan?: number | null;
}

interface PreviewValues {
  member: string;
  amountYuan?: number | null;
  items?: ItemValues[];
  store?: string;
  channel?: string;
  paymentMethod?: string;
  occurredAt?: Dayjs | null;
}

const fen = (yuan: number | null | undefined) => Math.round((yuan ?? 0) * 100);
const text = (s: string | undefined) => s?.trim() || undefined;

function toPurchase(v: PreviewValues): Purchase {
  const items = (v.items ?? []).map((i) => ({
    sku: (i.sku ?? '').trim(),
    ...(text(i.category) && { category: text(i.category) }),
    quantity: i.quantity ?? 1,
    amount: fen(i.amountYuan),
  }));
  const store = text(v.store);
  const channel = text(v.channel);
  const paymentMethod = text(v.paymentMethod);
  return {
    // A fresh order number each time: a preview records nothing, and never replays another.
    id: `preview-${crypto.randomUUID()}`,
    member: { id: v.member.trim() },
    amount: items.length ? items.reduce((sum, i) => sum + i.amount, 0) : fen(v.amountYuan),
    currency: 'CNY',
    occurredAt: (v.occurredAt ?? dayjs()).toISOString(),
    ...(store && { store }),
    ...(channel && { channel }),
    ...(paymentMethod && { paymentMethod }),
    ...(items.length && { items }),
  };
}

/** A sample purchase, and what it would earn under the rules as they stand (nothing is written). */
export function PreviewPanel({ programId }: { programId: string }) {
  const t = useT(dictionary);
  const [form] = Form.useForm<PreviewValues>();
  const api = useApi();
  const items = Form.useWatch('items', form);
  const withItems = (items?.length ?? 0) > 0;

  const run = useMutation({
    mutationFn: async (v: PreviewValues) =>
      unwrap(
        await api.POST('/v1/programs/{programId}/purchases/preview', {
          params: { path: { programId } },
          body: toPurchase(v),
        }),
      ),
  });

  return (
    <Card
      title={
        <Space>
          <ThunderboltOutlined />
          {t.title}
        </Space>
      }
    >
      <Typography.Paragraph type="secondary">{t.intro}</Typography.Paragraph>
      <Row gutter={[24, 16]}>
        <Col xs={24} xl={12}>
          <Form<PreviewValues>
            form={form}
            layout="vertical"
            initialValues={{ occurredAt: dayjs(), items: [] }}
            onFinish={(v) => run.mutate(v)}
            onValuesChange={(changed: Partial<PreviewValues>, all) => {
              if ('items' in changed && all.items?.length)
                form.setFieldValue(
                  'amountYuan',
                  all.items.reduce((sum, i) => sum + fen(i?.amountYuan), 0) / 100,
                );
            }}
          >
            <Row gutter={12}>
              <Col span={12}>
                <Form.Item
                  name="member"
                  label={t.member}
                  rules={[{ required: true, whitespace: true, message: t.memberRequired }]}
                >
                  <Input maxLength={100} data-testid="preview-member" />
                </Form.Item>
              </Col>
              <Col span={12}>
                <Form.Item
                  name="amountYuan"
                  label={t.amount}
                  extra={withItems ? t.amountFromItems : undefined}
                  rules={[{ required: !withItems, message: t.amountRequired }]}
                >
                  <InputNumber
                    min={0}
                    max={10_000_000_000}
                    precision={2}
                    prefix="¥"
                    disabled={withItems}
                    style={{ width: '100%' }}
                    data-testid="preview-amount"
                  />
                </Form.Item>
              </Col>
            </Row>
            <Row gutter={12}>
              <Col span={8}>
                <Form.Item name="store" label={t.store}>
                  <Input maxLength={100} data-testid="preview-store" />
                </Form.Item>
              </Col>
              <Col span={8}>
                <Form.Item name="channel" label={t.channel}>
                  <Input maxLength={100} data-testid="preview-channel" />
                </Form.Item>
              </Col>
              <Col span={8}>
                <Form.Item name="paymentMethod" label={t.paymentMethod}>
                  <Input maxLength={100} data-testid="preview-payment" />
                </Form.Item>
              </Col>
            </Row>
            <Form.Item name="occurredAt" label={t.occurredAt}>
              <DatePicker showTime style={{ width: '100%' }} data-testid="preview-occurred" />
            </Form.Item>
            <Typography.Text strong>{t.items}</Typography.Text>
            <Form.List name="items">
              {(fields, { add, remove }) => (
                <div style={{ marginTop: 8 }}>
                  {fields.map((field, index) => (
                    <Row gutter={8} key={field.key} wrap={false} align="top">
                      <Col flex="1 1 0">
                        <Form.Item
                          name={[field.name, 'sku']}
                          rules={[{ required: true, whitespace: true, message: t.sku }]}
                        >
                          <Input
                            placeholder={t.sku}
                            maxLength={100}
                            data-testid={`preview-item-sku-${index}`}
                          />
                        </Form.Item>
                      </Col>
                      <Col flex="1 1 0">
                        <Form.Item name={[field.name, 'category']}>
                          <Input
                            placeholder={t.category}
                            maxLength={100}
                            data-testid={`preview-item-category-${index}`}
                          />
                        </Form.Item>
                      </Col>
                      <Col flex="0 0 88px">
                        <Form.Item name={[field.name, 'quantity']} rules={[{ required: true }]}>
                          <InputNumber
                            placeholder={t.quantity}
                            min={1}
                            max={1_000_000}
                            precision={0}
                            style={{ width: '100%' }}
                            data-testid={`preview-item-quantity-${index}`}
                          />
                        </Form.Item>
                      </Col>
                      <Col flex="0 0 130px">
                        <Form.Item
                          name={[field.name, 'amountYuan']}
                          rules={[{ required: true, message: t.itemAmount }]}
                        >
                          <InputNumber
                            placeholder={t.itemAmount}
                            min={0}
                            precision={2}
                            prefix="¥"
                            style={{ width: '100%' }}
                            data-testid={`preview-item-amount-${index}`}
                          />
                        </Form.Item>
                      </Col>
                      <Col flex="none">
                        <Button
                          type="text"
                          danger
                          icon={<DeleteOutlined />}
                          onClick={() => remove(field.name)}
                        />
                      </Col>
                    </Row>
                  ))}
                  <Button
                    type="dashed"
                    size="small"
                    icon={<PlusOutlined />}
                    onClick={() => add({ quantity: 1 })}
                    data-testid="preview-item-add"
                  >
                    {t.addItem}
                  </Button>
                </div>
              )}
            </Form.List>
            <Button
              type="primary"
              htmlType="submit"
              loading={run.isPending}
              icon={<ThunderboltOutlined />}
              style={{ marginTop: 16 }}
              data-testid="preview-run"
            >
              {t.run}
            </Button>
          </Form>
        </Col>
        <Col xs={24} xl={12}>
          {run.error ? (
            <ErrorView error={run.error} />
          ) : run.data ? (
            <PreviewResult result={run.data} />
          ) : (
            <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t.intro} />
          )}
        </Col>
      </Row>
    </Card>
  );
}

function PreviewResult({ result }: { result: Result }) {
  const t = useT(dictionary);
  const f = useFormat();
  const { points, growth, tier } = result;
  const ruleName = (l: Line) =>
    l.ruleId.startsWith('tier:') ? t.tierRule(l.ruleId.slice('tier:'.length)) : l.name;
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Row gutter={16}>
        <Col span={8}>
          <Statistic
            title={t.earned}
            value={points.earned}
            formatter={(v) => (
              <span data-testid="preview-points" data-points={points.earned}>
                {f.number(Number(v))}
              </span>
            )}
          />
        </Col>
        <Col span={8}>
          <Statistic
            title={t.pending}
            value={points.pending}
            formatter={(v) => <span data-testid="preview-pending">{f.number(Number(v))}</span>}
          />
          {points.pendingUntil && (
            <Typography.Text type="secondary">
              {t.pendingUntil(f.dateTime(points.pendingUntil))}
            </Typography.Text>
          )}
        </Col>
        <Col span={8}>
          <Statistic
            title={t.growth}
            value={growth.credited}
            formatter={(v) => <span data-testid="preview-growth">{f.number(Number(v))}</span>}
          />
          {growth.capped > 0 && (
            <Typography.Text type="secondary">
              {t.growthCapped(f.number(growth.capped))}
            </Typography.Text>
          )}
        </Col>
      </Row>
      <Descriptions
        size="small"
        column={1}
        items={[
          {
            key: 'tier',
            label: t.tier,
            children: (
              <Space>
                <Tag data-testid="preview-tier">{tier.code}</Tag>
                {tier.changed && <Tag color="gold">{t.tierChanged}</Tag>}
              </Space>
            ),
          },
        ]}
      />
      <Table<Line & { key: number }>
        size="small"
        pagination={false}
        dataSource={points.breakdown.map((l, key) => ({ ...l, key }))}
        data-testid="preview-breakdown"
        locale={{ emptyText: t.noBreakdown }}
        onRow={() => ({ 'data-testid': 'preview-breakdown-row' }) as object}
        columns={[
          {
            title: t.rule,
            key: 'rule',
            render: (_: unknown, l) => (
              <Space size={4} wrap>
                <span data-testid="preview-breakdown-rule">{ruleName(l)}</span>
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                  {l.ruleId}
                </Typography.Text>
              </Space>
            ),
          },
          {
            title: t.points,
            dataIndex: 'points',
            align: 'right',
            render: (n: number) => (
              <span data-testid="preview-breakdown-points">{f.number(n)}</span>
            ),
          },
        ]}
        summary={() =>
          points.breakdown.length > 0 && (
            <Table.Summary.Row>
              <Table.Summary.Cell index={0}>
                <Typography.Text strong>{t.total}</Typography.Text>
              </Table.Summary.Cell>
              <Table.Summary.Cell index={1} align="right">
                <Typography.Text strong data-testid="preview-breakdown-total">
                  {f.number(points.breakdown.reduce((sum, l) => sum + l.points, 0))}
                </Typography.Text>
              </Table.Summary.Cell>
            </Table.Summary.Row>
          )
        }
      />
    </Space>
  );
}
