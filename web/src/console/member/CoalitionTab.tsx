import { TrophyOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  App,
  Button,
  Card,
  DatePicker,
  Descriptions,
  Empty,
  Form,
  Input,
  Select,
  Space,
  Tag,
  Typography,
} from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { unwrap } from '../../api/client.ts';
import type { components } from '../../api/schema';
import { coalition } from '../../i18n/coalition.ts';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { usePartyName } from '../coalition/common.tsx';
import { ErrorView } from '../ErrorView.tsx';
import { FormModal } from '../FormModal.tsx';
import { PagedTableCard } from '../PagedTableCard.tsx';
import { useCursor } from '../Pager.tsx';
import { useApi, useCan } from '../session.tsx';
import { memberKey } from './common.tsx';

type Conversion = components['schemas']['Conversion'];
type Claim = components['schemas']['PoolClaim'];

/** The member across the coalition: their coalition level, conversions, and pool claims. */
export function CoalitionTab({ programId, memberId }: { programId: string; memberId: string }) {
  const t = useT(coalition).member;
  const f = useFormat();
  const api = useApi();
  const name = usePartyName();
  const conversionPages = useCursor();
  const claimPages = useCursor();
  const path = { params: { path: { memberId } } };
  const key = memberKey(programId, memberId);

  const level = useQuery({
    queryKey: [...key, 'coalition-level'],
    queryFn: async () => unwrap(await api.GET('/v1/members/{memberId}/coalition-level', path)),
  });
  const conversions = useQuery({
    queryKey: [...key, 'conversions', conversionPages.cursor],
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/members/{memberId}/conversions', {
          params: {
            path: { memberId },
            query: { limit: 20, ...(conversionPages.cursor && { cursor: conversionPages.cursor }) },
          },
        }),
      ),
  });
  const claims = useQuery({
    queryKey: [...key, 'pool-claims', claimPages.cursor],
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/members/{memberId}/pool/claims', {
          params: {
            path: { memberId },
            query: { limit: 20, ...(claimPages.cursor && { cursor: claimPages.cursor }) },
          },
        }),
      ),
  });

  const can = useCan();
  const [setting, setSetting] = useState(false);
  const l = level.data;
  return (
    <Space orientation="vertical" size="large" style={{ width: '100%' }}>
      <Card
        title={t.level}
        loading={level.isLoading}
        extra={
          can.coalitionAdmin && (
            <Button onClick={() => setSetting(true)} data-testid="coalition-level-set">
              {t.setLevel}
            </Button>
          )
        }
      >
        {level.error ? (
          <ErrorView error={level.error} retry={() => level.refetch()} />
        ) : l?.level ? (
          <Descriptions column={{ xs: 1, md: 3 }}>
            <Descriptions.Item label={t.level}>
              <Tag icon={<TrophyOutlined />} color="purple" data-testid="coalition-level">
                {l.level.name}
              </Tag>
            </Descriptions.Item>
            <Descriptions.Item label={t.source}>
              {l.level.source === 'rule' ? t.fromRule : l.level.source}
            </Descriptions.Item>
            <Descriptions.Item label={t.validUntil}>
              {l.level.validUntil ? f.date(l.level.validUntil) : t.noEnd}
            </Descriptions.Item>
            {l.derived && (
              <Descriptions.Item span={3} label={t.fromRule}>
                {t.derived(name(l.derived.programId), l.derived.tier)}
              </Descriptions.Item>
            )}
          </Descriptions>
        ) : (
          <Empty
            image={Empty.PRESENTED_IMAGE_SIMPLE}
            description={<span data-testid="coalition-level-none">{t.noLevel}</span>}
          />
        )}
      </Card>
      {setting && <SetLevel memberId={memberId} queryKey={key} onClose={() => setSetting(false)} />}

      <PagedTableCard<Conversion>
        title={t.conversions}
        query={conversions}
        pages={conversionPages}
        testId="member-conversions"
        columns={[
          { title: t.at, dataIndex: 'createdAt', render: (d: string) => f.dateTime(d) },
          { title: t.from, dataIndex: 'from', render: (id: string) => name(id) },
          { title: t.to, dataIndex: 'to', render: (id: string) => name(id) },
          {
            title: t.debited,
            dataIndex: 'debited',
            align: 'right',
            render: (v: number) => (
              <Typography.Text type="danger">{`−${f.number(v)}`}</Typography.Text>
            ),
          },
          {
            title: t.fee,
            dataIndex: 'fee',
            align: 'right',
            render: (v: number) => f.number(v),
          },
          {
            title: t.credited,
            dataIndex: 'credited',
            align: 'right',
            render: (v: number) => (
              <Typography.Text type="success">{`+${f.number(v)}`}</Typography.Text>
            ),
          },
          {
            title: t.reference,
            dataIndex: 'reference',
            render: (v: string) => <Typography.Text type="secondary">{v}</Typography.Text>,
          },
        ]}
      />

      <PagedTableCard<Claim>
        title={t.claims}
        query={claims}
        pages={claimPages}
        testId="member-pool-claims"
        columns={[
          { title: t.at, dataIndex: 'claimedAt', render: (d: string) => f.dateTime(d) },
          { title: t.benefit, dataIndex: 'benefitId' },
          {
            title: t.code,
            dataIndex: 'code',
            render: (v: string) => <Typography.Text code>{v}</Typography.Text>,
          },
          {
            title: t.status,
            dataIndex: 'status',
            render: (v: string) => (
              <Tag color={v === 'used' ? 'default' : 'green'}>{t.claimStatus[v] ?? v}</Tag>
            ),
          },
        ]}
      />
    </Space>
  );
}

interface LevelValues {
  level: string;
  source: string;
  validUntil?: Dayjs | null;
}

/** The coalition admin sets a member's level by hand, as its integration would (audited). */
function SetLevel({
  memberId,
  queryKey,
  onClose,
}: {
  memberId: string;
  queryKey: readonly unknown[];
  onClose: () => void;
}) {
  const t = useT(coalition).member;
  const api = useApi();
  const queries = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm<LevelValues>();
  const levels = useQuery({
    queryKey: ['coalition', 'levels'],
    queryFn: async () => unwrap(await api.GET('/v1/coalition/levels')),
  });
  const save = useMutation({
    mutationFn: async (v: LevelValues) =>
      unwrap(
        await api.PUT('/v1/members/{memberId}/coalition-level', {
          params: { path: { memberId } },
          body: {
            level: v.level,
            source: v.source,
            ...(v.validUntil && { validUntil: v.validUntil.endOf('day').toISOString() }),
          },
        }),
      ),
    onSuccess: async () => {
      message.success(t.setLevelSaved);
      // Closed at once: a refresh must not close a dialog opened meanwhile.
      onClose();
      await queries.invalidateQueries({ queryKey: [...queryKey, 'coalition-level'] });
    },
  });
  return (
    <FormModal<LevelValues>
      form={form}
      title={t.setLevel}
      okTestId="coalition-level-submit"
      pending={save.isPending}
      error={save.error}
      initialValues={{ source: 'console' }}
      onFinish={(v) => save.mutate(v)}
      onClose={onClose}
    >
      <Form.Item name="level" label={t.level} rules={[{ required: true }]}>
        <Select
          data-testid="coalition-level-select"
          loading={levels.isLoading}
          options={(levels.data?.data ?? []).map((x) => ({ value: x.code, label: x.name }))}
        />
      </Form.Item>
      <Form.Item name="source" label={t.setLevelSource} rules={[{ required: true }]}>
        <Input maxLength={100} />
      </Form.Item>
      <Form.Item name="validUntil" label={t.validUntil}>
        <DatePicker style={{ width: '100%' }} />
      </Form.Item>
    </FormModal>
  );
}
