import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  App,
  Button,
  Card,
  Col,
  Form,
  Input,
  InputNumber,
  Progress,
  Row,
  Select,
  Space,
  Switch,
  Table,
  Typography,
} from 'antd';
import { useEffect } from 'react';
import { useParams } from 'react-router';
import { unwrap } from '../../api/client.ts';
import type { paths } from '../../api/schema';
import { shell } from '../../i18n/console.ts';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { tiers as dictionary } from '../../i18n/tiers.ts';
import { ErrorView } from '../ErrorView.tsx';
import { PageHeader } from '../PageHeader.tsx';
import { useApi, useCan } from '../session.tsx';
import { TierMatch } from '../tiers/TierMatch.tsx';

type Ladder =
  paths['/v1/programs/{programId}/tiers']['put']['requestBody']['content']['application/json'];
type Preview =
  paths['/v1/programs/{programId}/tiers/preview']['post']['responses'][200]['content']['application/json'];

/** The tier ladder editor: edit, preview how members would spread, save. */
export default function Tiers() {
  const { programId = '' } = useParams();
  const t = useT(dictionary);
  const s = useT(shell);
  const api = useApi();
  const can = useCan();
  const queries = useQueryClient();
  const { message, modal } = App.useApp();
  const [form] = Form.useForm<Ladder>();
  const admin = can.program(programId, 'admin');
  const path = { params: { path: { programId } } };

  const ladder = useQuery({
    queryKey: ['ladder', programId],
    queryFn: async () => unwrap(await api.GET('/v1/programs/{programId}/tiers', path)),
  });
  useEffect(() => {
    if (ladder.data) form.setFieldsValue(ladder.data);
  }, [ladder.data, form]);

  // The form edits all but the score's components, which are kept as they are.
  const body = async (): Promise<Ladder> =>
    ({ ...ladder.data, ...(await form.validateFields()) }) as Ladder;
  const preview = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST('/v1/programs/{programId}/tiers/preview', { ...path, body: await body() }),
      ),
  });
  const save = useMutation({
    mutationFn: async () =>
      unwrap(await api.PUT('/v1/programs/{programId}/tiers', { ...path, body: await body() })),
    onSuccess: async (saved) => {
      queries.setQueryData(['ladder', programId], saved);
      await queries.invalidateQueries({ queryKey: ['member'] });
      message.success(t.saved);
      preview.reset();
    },
  });

  if (ladder.error) return <ErrorView error={ladder.error} retry={() => ladder.refetch()} />;

  return (
    <Space direction="vertical" size="large" style={{ width: '100%' }}>
      <PageHeader title={t.title} intro={t.intro} />
      {!admin && <Alert type="info" showIcon title={t.readOnly} />}
      <Form form={form} layout="vertical" disabled={ladder.isLoading}>
        <Card>
          <Row gutter={16}>
            <Col span={6}>
              <Form.Item name="basis" label={t.basis}>
                <Select
                  options={[
                    { value: 'growth', label: t.basisGrowth },
                    { value: 'score', label: t.basisScore },
                  ]}
                />
              </Form.Item>
            </Col>
            <Col span={6}>
              <Form.Item name="evaluation" label={t.evaluation}>
                <Select
                  options={[
                    { value: 'immediate', label: t.immediate },
                    { value: 'periodic', label: t.periodic },
                  ]}
                />
              </Form.Item>
            </Col>
            <Col span={4}>
              <Form.Item name="validityMonths" label={t.validityMonths}>
                <InputNumber min={1} max={120} style={{ width: '100%' }} />
              </Form.Item>
            </Col>
            <Col span={4}>
              <Form.Item name="downgrade" label={t.downgrade}>
                <Select
                  options={[
                    { value: 'to_qualified', label: t.toQualified },
                    { value: 'one_level', label: t.oneLevel },
                  ]}
                />
              </Form.Item>
            </Col>
            <Col span={4}>
              <Form.Item name="warningDays" label={t.warningDays}>
                <InputNumber min={0} max={365} style={{ width: '100%' }} />
              </Form.Item>
            </Col>
          </Row>
          {ladder.data?.basis === 'score' && (
            <Typography.Text type="secondary">{t.scoreNote}</Typography.Text>
          )}
        </Card>
        <Typography.Title level={5}>{t.tierList}</Typography.Title>
        <Form.List name="tiers">
          {(fields, { add, remove }) => (
            <Space direction="vertical" style={{ width: '100%' }}>
              {fields.map((field, index) => (
                <Card
                  key={field.key}
                  size="small"
                  title={<TierTitle index={index} />}
                  extra={
                    fields.length > 1 && (
                      <Button
                        size="small"
                        danger
                        icon={<DeleteOutlined />}
                        onClick={() => remove(field.name)}
                      >
                        {t.remove}
                      </Button>
                    )
                  }
                >
                  <Row gutter={16}>
                    <Col span={5}>
                      <Form.Item
                        name={[field.name, 'code']}
                        label={t.code}
                        rules={[{ required: true }]}
                      >
                        <Input />
                      </Form.Item>
                    </Col>
                    <Col span={7}>
                      <Form.Item
                        name={[field.name, 'name']}
                        label={t.name}
                        rules={[{ required: true }]}
                      >
                        <Input />
                      </Form.Item>
                    </Col>
                    <Col span={6}>
                      <Form.Item
                        name={[field.name, 'threshold']}
                        label={t.threshold}
                        rules={[{ required: true }]}
                      >
                        <InputNumber
                          min={0}
                          style={{ width: '100%' }}
                          data-testid={`tier-threshold-${index}`}
                        />
                      </Form.Item>
                    </Col>
                    <Col span={6}>
                      <Form.Item
                        name={[field.name, 'inviteOnly']}
                        label={t.inviteOnly}
                        valuePropName="checked"
                      >
                        <Switch />
                      </Form.Item>
                    </Col>
                  </Row>
                  <Benefits tier={field.name} />
                </Card>
              ))}
              <Button
                icon={<PlusOutlined />}
                onClick={() =>
                  add({ code: '', name: '', threshold: 0, inviteOnly: false, benefits: [] })
                }
              >
                {t.addTier}
              </Button>
            </Space>
          )}
        </Form.List>
      </Form>
      {(preview.error || save.error) && <ErrorView error={preview.error ?? save.error} />}
      <Space>
        <Button
          onClick={() => preview.mutate()}
          loading={preview.isPending}
          data-testid="tiers-preview"
        >
          {t.preview}
        </Button>
        {admin && (
          <Button
            type="primary"
            loading={save.isPending}
            data-testid="tiers-save"
            onClick={() =>
              modal.confirm({
                title: t.save,
                content: t.confirmSave,
                okText: s.confirm,
                cancelText: s.cancel,
                onOk: () => save.mutateAsync(),
              })
            }
          >
            {t.save}
          </Button>
        )}
      </Space>
      {preview.data && <PreviewTable preview={preview.data} />}
      <TierMatch programId={programId} ladder={ladder.data} />
    </Space>
  );
}

function TierTitle({ index }: { index: number }) {
  const name = Form.useWatch(['tiers', index, 'name']);
  const code = Form.useWatch(['tiers', index, 'code']);
  return (
    <Space>
      <Typography.Text strong>{name || '—'}</Typography.Text>
      <Typography.Text type="secondary">{code}</Typography.Text>
    </Space>
  );
}

/** A tier's benefits: a multiplier of points, a quota of uses per period, or a flag. */
function Benefits({ tier }: { tier: number }) {
  const t = useT(dictionary);
  const form = Form.useFormInstance();
  return (
    <Form.List name={[tier, 'benefits']}>
      {(fields, { add, remove }) => (
        <Space direction="vertical" style={{ width: '100%' }}>
          <Typography.Text type="secondary">{t.benefits}</Typography.Text>
          {fields.map((field) => {
            return (
              <Space key={field.key} align="start" wrap>
                <Form.Item name={[field.name, 'code']} rules={[{ required: true }]} noStyle>
                  <Input placeholder={t.code} style={{ width: 120 }} />
                </Form.Item>
                <Form.Item name={[field.name, 'name']} rules={[{ required: true }]} noStyle>
                  <Input placeholder={t.name} style={{ width: 180 }} />
                </Form.Item>
                <Form.Item name={[field.name, 'kind']} noStyle>
                  <Select
                    style={{ width: 140 }}
                    options={(['multiplier', 'quota', 'flag'] as const).map((k) => ({
                      value: k,
                      label: t.benefitKind[k],
                    }))}
                  />
                </Form.Item>
                <Form.Item noStyle shouldUpdate>
                  {() => {
                    const kind = form.getFieldValue([
                      'tiers',
                      tier,
                      'benefits',
                      field.name,
                      'kind',
                    ]);
                    return kind === 'multiplier' ? (
                      <Form.Item name={[field.name, 'value']} noStyle>
                        <InputNumber min={0} max={100} step={0.1} placeholder={t.value} />
                      </Form.Item>
                    ) : kind === 'quota' ? (
                      <Space>
                        <Form.Item name={[field.name, 'quota', 'count']} noStyle>
                          <InputNumber min={1} placeholder={t.count} />
                        </Form.Item>
                        <Form.Item name={[field.name, 'quota', 'period']} noStyle>
                          <Select
                            style={{ width: 110 }}
                            options={(['month', 'year'] as const).map((p) => ({
                              value: p,
                              label: t.period[p],
                            }))}
                          />
                        </Form.Item>
                      </Space>
                    ) : null;
                  }}
                </Form.Item>
                <Button
                  size="small"
                  type="text"
                  danger
                  icon={<DeleteOutlined />}
                  onClick={() => remove(field.name)}
                />
              </Space>
            );
          })}
          <Button
            size="small"
            type="dashed"
            icon={<PlusOutlined />}
            onClick={() => add({ kind: 'flag' })}
          >
            {t.addBenefit}
          </Button>
        </Space>
      )}
    </Form.List>
  );
}

function PreviewTable({ preview }: { preview: Preview }) {
  const t = useT(dictionary);
  const f = useFormat();
  const share = (n: number) => (preview.members > 0 ? Math.round((n / preview.members) * 100) : 0);
  return (
    <Card
      title={t.previewTitle}
      extra={
        <Typography.Text type="secondary">{t.total(f.number(preview.members))}</Typography.Text>
      }
    >
      <Table
        rowKey="code"
        pagination={false}
        dataSource={preview.tiers}
        data-testid="tiers-preview-table"
        columns={[
          { title: t.name, dataIndex: 'name', render: (name: string, r) => `${name} (${r.code})` },
          { title: t.now, dataIndex: 'now', align: 'right', render: (n: number) => f.number(n) },
          {
            title: t.after,
            dataIndex: 'members',
            align: 'right',
            render: (n: number) => <span data-testid="tier-members">{f.number(n)}</span>,
          },
          {
            title: '',
            key: 'share',
            width: 240,
            render: (_: unknown, r) => <Progress percent={share(r.members)} size="small" />,
          },
        ]}
      />
    </Card>
  );
}
