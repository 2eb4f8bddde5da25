import { MinusCircleOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  App,
  Button,
  Col,
  DatePicker,
  Divider,
  Form,
  Input,
  Modal,
  Row,
  Select,
  Space,
} from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { unwrap } from '../../api/client.ts';
import type { paths } from '../../api/schema';
import { shell } from '../../i18n/console.ts';
import { useT } from '../../i18n/i18n.tsx';
import { members as dictionary, labels } from '../../i18n/members.ts';
import { ErrorView } from '../ErrorView.tsx';
import { useApi } from '../session.tsx';
import {
  CHANNELS,
  type Channel,
  GENDERS,
  type Gender,
  IDENTIFIER_TYPES,
  type IdentifierType,
  useIdempotencyKey,
} from './common.tsx';

type Enrollment =
  paths['/v1/programs/{programId}/members']['post']['requestBody']['content']['application/json'];

interface Values {
  identifiers: { type: IdentifierType; value?: string }[];
  channel: Channel;
  name?: string;
  birthday?: Dayjs | null;
  gender?: Gender;
  address?: {
    province?: string;
    city?: string;
    district?: string;
    line?: string;
    postalCode?: string;
  };
}

/** The request the form describes: only what was filled in. */
function bodyOf(v: Values): Enrollment {
  const address = Object.fromEntries(
    Object.entries(v.address ?? {})
      .map(([k, x]) => [k, x?.trim()])
      .filter(([, x]) => x),
  );
  const profile = {
    ...(v.name?.trim() && { name: v.name.trim() }),
    ...(v.birthday && { birthday: v.birthday.format('YYYY-MM-DD') }),
    ...(v.gender && { gender: v.gender }),
    ...(Object.keys(address).length > 0 && { address }),
  };
  return {
    identifiers: v.identifiers.map((i) => ({ type: i.type, value: (i.value ?? '').trim() })),
    channel: v.channel,
    ...(Object.keys(profile).length > 0 && { profile }),
  };
}

/** Enroll a member (or find the one the identifiers name), then open them. */
export function EnrollModal({
  programId,
  onClose,
  onEnrolled,
}: {
  programId: string;
  onClose: () => void;
  onEnrolled: (memberId: string) => void;
}) {
  const t = useT(dictionary);
  const l = useT(labels);
  const s = useT(shell);
  const api = useApi();
  const queries = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm<Values>();
  const idempotencyKey = useIdempotencyKey();

  const enroll = useMutation({
    mutationFn: async (body: Enrollment) => {
      const answer = await api.POST('/v1/programs/{programId}/members', {
        params: { path: { programId } },
        headers: { 'Idempotency-Key': idempotencyKey(body) },
        body,
      });
      return { member: unwrap(answer), created: answer.response.status === 201 };
    },
    onSuccess: async ({ member, created }) => {
      message.success(created ? t.enroll.created : t.enroll.existing);
      await queries.invalidateQueries({ queryKey: ['members', programId] });
      onClose();
      onEnrolled(member.id);
    },
  });

  return (
    <Modal
      open
      width={640}
      title={t.enroll.title}
      okText={t.enroll.submit}
      cancelText={s.cancel}
      onOk={() => form.submit()}
      onCancel={onClose}
      confirmLoading={enroll.isPending}
      okButtonProps={{ 'data-testid': 'enroll-submit' }}
    >
      <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
        <Alert type="info" showIcon title={t.enroll.intro} />
        <Form<Values>
          form={form}
          layout="vertical"
          initialValues={{ identifiers: [{ type: 'phone' }], channel: 'web' }}
          onFinish={(v) => enroll.mutate(bodyOf(v))}
          requiredMark="optional"
        >
          <Form.List name="identifiers">
            {(fields, { add, remove }) => (
              <Form.Item label={t.enroll.identifiers} required style={{ marginBottom: 8 }}>
                {fields.map((field, index) => (
                  <Space.Compact key={field.key} style={{ width: '100%', marginBottom: 8 }}>
                    <Form.Item name={[field.name, 'type']} noStyle>
                      <Select
                        style={{ width: 170 }}
                        options={IDENTIFIER_TYPES.map((x) => ({
                          value: x,
                          label: l.identifier[x],
                        }))}
                        data-testid={`enroll-identifier-type-${index}`}
                      />
                    </Form.Item>
                    <Form.Item
                      name={[field.name, 'value']}
                      noStyle
                      rules={[
                        { required: true, whitespace: true, message: t.enroll.valueRequired },
                      ]}
                    >
                      <Input
                        style={{ flex: 1 }}
                        maxLength={320}
                        placeholder={t.enroll.value}
                        data-testid={`enroll-identifier-value-${index}`}
                      />
                    </Form.Item>
                    {fields.length > 1 && (
                      <Button
                        icon={<MinusCircleOutlined />}
                        aria-label={t.enroll.remove}
                        onClick={() => remove(field.name)}
                      />
                    )}
                  </Space.Compact>
                ))}
                {fields.length < 10 && (
                  <Button
                    type="dashed"
                    icon={<PlusOutlined />}
                    onClick={() => add({ type: 'email' })}
                    block
                  >
                    {t.enroll.add}
                  </Button>
                )}
              </Form.Item>
            )}
          </Form.List>
          <Form.Item name="channel" label={t.enroll.channel} rules={[{ required: true }]}>
            <Select
              options={CHANNELS.map((c) => ({ value: c, label: l.channel[c] }))}
              data-testid="enroll-channel"
            />
          </Form.Item>
          <Divider titlePlacement="start" plain style={{ marginTop: 8 }}>
            {t.enroll.profile}
          </Divider>
          <Row gutter={16}>
            <Col xs={24} sm={12}>
              <Form.Item name="name" label={t.enroll.name}>
                <Input maxLength={100} data-testid="enroll-name" />
              </Form.Item>
            </Col>
            <Col xs={12} sm={6}>
              <Form.Item name="birthday" label={t.enroll.birthday}>
                <DatePicker
                  style={{ width: '100%' }}
                  disabledDate={(d) => d.isAfter(dayjs(), 'day')}
                  data-testid="enroll-birthday"
                />
              </Form.Item>
            </Col>
            <Col xs={12} sm={6}>
              <Form.Item name="gender" label={t.enroll.gender}>
                <Select
                  allowClear
                  options={GENDERS.map((g) => ({ value: g, label: l.gender[g] }))}
                />
              </Form.Item>
            </Col>
            <Col xs={12} sm={8}>
              <Form.Item name={['address', 'province']} label={t.enroll.province}>
                <Input maxLength={100} />
              </Form.Item>
            </Col>
            <Col xs={12} sm={8}>
              <Form.Item name={['address', 'city']} label={t.enroll.city}>
                <Input maxLength={100} />
              </Form.Item>
            </Col>
            <Col xs={24} sm={8}>
              <Form.Item name={['address', 'district']} label={t.enroll.district}>
                <Input maxLength={100} />
              </Form.Item>
            </Col>
            <Col xs={24} sm={16}>
              <Form.Item name={['address', 'line']} label={t.enroll.line}>
                <Input maxLength={300} />
              </Form.Item>
            </Col>
            <Col xs={24} sm={8}>
              <Form.Item name={['address', 'postalCode']} label={t.enroll.postalCode}>
                <Input maxLength={20} />
              </Form.Item>
            </Col>
          </Row>
        </Form>
        {enroll.error && <ErrorView error={enroll.error} />}
      </Space>
    </Modal>
  );
}
