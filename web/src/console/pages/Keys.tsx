import { CopyOutlined, PlusOutlined, WarningOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  App,
  Button,
  Form,
  Input,
  Modal,
  Popconfirm,
  Result,
  Select,
  Space,
  Table,
  Tag,
  Typography,
} from 'antd';
import { useState } from 'react';
import { useParams } from 'react-router';
import { unwrap } from '../../api/client.ts';
import type { components } from '../../api/schema';
import { shell } from '../../i18n/console.ts';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { keys as dictionary } from '../../i18n/programs.ts';
import { ErrorView } from '../ErrorView.tsx';
import { FormModal } from '../FormModal.tsx';
import { PageHeader } from '../PageHeader.tsx';
import { QueryPager, useCursor } from '../Pager.tsx';
import { type Role, useApi, useCan, useSession } from '../session.tsx';

type ApiKey = components['schemas']['ApiKey'];
type CreatedKey = components['schemas']['CreatedApiKey'];

const ROLES: Role[] = ['admin', 'integration', 'read'];
const ROLE_COLOR: Record<Role, string> = { admin: 'gold', integration: 'blue', read: 'default' };

/** A program's API keys: list, create (the secret shown once), revoke. */
export default function Keys() {
  const { programId = '' } = useParams();
  const t = useT(dictionary);
  const s = useT(shell);
  const f = useFormat();
  const api = useApi();
  const can = useCan();
  const { session } = useSession();
  const queries = useQueryClient();
  const { message } = App.useApp();
  const pages = useCursor();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const admin = can.program(programId, 'admin');
  const path = { programId };

  const list = useQuery({
    queryKey: ['keys', programId, pages.cursor],
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/programs/{programId}/api-keys', {
          params: { path, query: { limit: 20, ...(pages.cursor && { cursor: pages.cursor }) } },
        }),
      ),
    enabled: admin,
  });

  const revoke = useMutation({
    mutationFn: async (keyId: string) =>
      unwrap(
        await api.DELETE('/v1/programs/{programId}/api-keys/{keyId}', {
          params: { path: { programId, keyId } },
        }),
      ),
    onSuccess: async () => {
      message.success(t.revokedDone);
      await queries.invalidateQueries({ queryKey: ['keys', programId] });
    },
    onError: (error) => message.error(error.message),
  });

  if (!admin) return <Result status="403" title={t.noAccess} />;

  return (
    <Space orientation="vertical" size="large" style={{ width: '100%' }}>
      <PageHeader
        title={t.title}
        intro={t.intro}
        extra={
          <Button
            type="primary"
            icon={<PlusOutlined />}
            onClick={() => setCreating(true)}
            data-testid="key-create"
          >
            {t.create}
          </Button>
        }
      />
      {list.error ? (
        <ErrorView error={list.error} retry={() => list.refetch()} />
      ) : (
        <div>
          <Table<ApiKey>
            rowKey="id"
            loading={list.isLoading}
            dataSource={list.data?.data ?? []}
            pagination={false}
            scroll={{ x: 'max-content' }}
            onRow={(k) => ({ 'data-testid': `key-row-${k.id}` }) as object}
            columns={[
              {
                title: t.name,
                dataIndex: 'name',
                render: (name: string, k) => (
                  <Space>
                    {name}
                    {k.id === session?.principal.id && <Tag color="cyan">{t.current}</Tag>}
                  </Space>
                ),
              },
              {
                title: t.role,
                dataIndex: 'role',
                render: (role: Role) => <Tag color={ROLE_COLOR[role]}>{s.role[role]}</Tag>,
              },
              {
                title: t.prefix,
                dataIndex: 'prefix',
                render: (prefix: string) => <Typography.Text code>{prefix}…</Typography.Text>,
              },
              { title: t.createdAt, dataIndex: 'createdAt', render: (d: string) => f.dateTime(d) },
              {
                title: t.status,
                dataIndex: 'revokedAt',
                render: (d: string | null) =>
                  d ? (
                    <Space size={4}>
                      <Tag color="red">{t.revoked}</Tag>
                      <Typography.Text type="secondary">{f.dateTime(d)}</Typography.Text>
                    </Space>
                  ) : (
                    <Tag color="green">{t.active}</Tag>
                  ),
              },
              {
                title: s.actions,
                key: 'actions',
                render: (_: unknown, k) =>
                  !k.revokedAt && (
                    <Popconfirm
                      title={t.revoke}
                      description={
                        k.id === session?.principal.id ? t.revokeCurrent : t.revokeConfirm
                      }
                      okText={t.revoke}
                      cancelText={s.cancel}
                      okButtonProps={{ danger: true }}
                      onConfirm={() => revoke.mutateAsync(k.id)}
                    >
                      <Button size="small" danger data-testid={`key-revoke-${k.id}`}>
                        {t.revoke}
                      </Button>
                    </Popconfirm>
                  ),
              },
            ]}
          />
          <QueryPager query={list} pages={pages} />
        </div>
      )}
      {creating && (
        <CreateKey
          programId={programId}
          onClose={() => setCreating(false)}
          onCreated={(k) => {
            setCreating(false);
            setCreated(k);
          }}
        />
      )}
      {created && <Secret created={created} onClose={() => setCreated(null)} />}
    </Space>
  );
}

function CreateKey({
  programId,
  onClose,
  onCreated,
}: {
  programId: string;
  onClose: () => void;
  onCreated: (k: CreatedKey) => void;
}) {
  const t = useT(dictionary);
  const s = useT(shell);
  const api = useApi();
  const queries = useQueryClient();
  const [form] = Form.useForm<{ role: Role; name?: string }>();
  // One key per attempt: a retry of the same submission replays it instead of making another.
  const [idempotencyKey] = useState(() => crypto.randomUUID());

  const create = useMutation({
    mutationFn: async (v: { role: Role; name?: string }) =>
      unwrap(
        await api.POST('/v1/programs/{programId}/api-keys', {
          params: { path: { programId } },
          headers: { 'Idempotency-Key': idempotencyKey },
          body: { role: v.role, ...(v.name?.trim() && { name: v.name.trim() }) },
        }),
      ),
    onSuccess: async (k) => {
      await queries.invalidateQueries({ queryKey: ['keys', programId] });
      onCreated(k);
    },
  });
  const role = Form.useWatch('role', form);

  return (
    <FormModal
      form={form}
      title={t.create}
      okText={s.create}
      okTestId="key-submit"
      pending={create.isPending}
      error={create.error}
      initialValues={{ role: 'integration' }}
      onFinish={(v) => create.mutate(v)}
      onClose={onClose}
    >
      <Form.Item
        name="role"
        label={t.role}
        rules={[{ required: true }]}
        extra={role && t.roleHelp[role]}
      >
        <Select
          data-testid="key-role"
          options={ROLES.map((r) => ({ value: r, label: s.role[r] }))}
        />
      </Form.Item>
      <Form.Item name="name" label={t.name}>
        <Input placeholder={t.namePlaceholder} maxLength={100} data-testid="key-name" />
      </Form.Item>
    </FormModal>
  );
}

/** The new key's secret, shown this once. */
function Secret({ created, onClose }: { created: CreatedKey; onClose: () => void }) {
  const t = useT(dictionary);
  const s = useT(shell);
  const { message } = App.useApp();
  const secret = created.key;

  const copy = async () => {
    if (!secret) return;
    try {
      await navigator.clipboard.writeText(secret);
      message.success(t.copied);
    } catch {
      message.warning(t.copyFailed);
    }
  };

  return (
    <Modal
      open
      title={
        <Space>
          <WarningOutlined style={{ color: '#faad14' }} />
          {t.secretTitle}
        </Space>
      }
      closable={false}
      mask={{ closable: false }}
      keyboard={false}
      footer={
        <Button type="primary" onClick={onClose} data-testid="new-key-done">
          {t.done}
        </Button>
      }
    >
      <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
        <Typography.Text>
          {created.name} · <Tag>{s.role[created.role]}</Tag>
        </Typography.Text>
        {secret ? (
          <>
            <Alert type="warning" showIcon title={t.secretWarning} />
            <div style={{ display: 'flex', gap: 8, alignItems: 'stretch' }}>
              <div
                style={{
                  flex: 1,
                  padding: '6px 12px',
                  fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
                  fontSize: 15,
                  background: '#f6f8fa',
                  border: '1px solid #d9d9d9',
                  borderRadius: 6,
                  wordBreak: 'break-all',
                  userSelect: 'all',
                }}
                data-testid="new-key-secret"
              >
                {secret}
              </div>
              <Button icon={<CopyOutlined />} onClick={copy} data-testid="new-key-copy">
                {t.copy}
              </Button>
            </div>
          </>
        ) : (
          <Alert type="error" showIcon title={t.secretMissing} />
        )}
      </Space>
    </Modal>
  );
}
