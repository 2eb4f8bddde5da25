import { EditOutlined, PlusOutlined, StopOutlined, UndoOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  App,
  Button,
  Popconfirm,
  Progress,
  Space,
  Switch,
  Table,
  Tag,
  Typography,
} from 'antd';
import { useState } from 'react';
import { useParams } from 'react-router';
import { unwrap } from '../../api/client.ts';
import { shell } from '../../i18n/console.ts';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { rules as dictionary } from '../../i18n/rules.ts';
import { ErrorView } from '../ErrorView.tsx';
import { PageHeader } from '../PageHeader.tsx';
import { PreviewPanel } from '../rules/Preview.tsx';
import { RuleDrawer } from '../rules/RuleForm.tsx';
import { ConditionTags, EffectSummary, LimitTags, type Rule } from '../rules/summary.tsx';
import { useApi, useCan } from '../session.tsx';

/** A program's earning rules (admins create, change and deactivate them) and the preview. */
export default function Rules() {
  const { programId = '' } = useParams();
  const t = useT(dictionary);
  const s = useT(shell);
  const f = useFormat();
  const api = useApi();
  const can = useCan();
  const queries = useQueryClient();
  const { message } = App.useApp();
  const admin = can.program(programId, 'admin');
  const [onlyActive, setOnlyActive] = useState(false);
  // undefined: the drawer is closed; null: a new rule.
  const [editing, setEditing] = useState<Rule | null | undefined>(undefined);

  const list = useQuery({
    queryKey: ['earning-rules', programId, onlyActive],
    queryFn: async () =>
      unwrap(
        await api.GET('/v1/programs/{programId}/earning-rules', {
          params: { path: { programId }, query: onlyActive ? { active: 'true' } : {} },
        }),
      ),
  });

  const setActive = useMutation({
    mutationFn: async ({ rule, active }: { rule: Rule; active: boolean }) => {
      const params = { params: { path: { programId, ruleId: rule.id } } };
      return unwrap(
        active
          ? await api.PATCH('/v1/programs/{programId}/earning-rules/{ruleId}', {
              ...params,
              body: { active: true },
            })
          : await api.DELETE('/v1/programs/{programId}/earning-rules/{ruleId}', params),
      );
    },
    onSuccess: async (rule) => {
      message.success(rule.active ? t.reactivated : t.deactivated);
      await queries.invalidateQueries({ queryKey: ['earning-rules', programId] });
    },
    onError: (error) => message.error(error.message),
  });

  const rules = [...(list.data?.data ?? [])].sort(
    (a, b) => Number(b.active) - Number(a.active) || b.priority - a.priority,
  );

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
              onClick={() => setEditing(null)}
              data-testid="rule-create"
            >
              {t.create}
            </Button>
          )
        }
      />
      {!admin && <Alert type="info" showIcon title={t.readOnly} />}
      {list.error ? (
        <ErrorView error={list.error} retry={() => list.refetch()} />
      ) : (
        <div>
          <Space style={{ marginBottom: 12 }}>
            <Switch
              size="small"
              checked={onlyActive}
              onChange={setOnlyActive}
              data-testid="rules-only-active"
            />
            <Typography.Text>{t.onlyActive}</Typography.Text>
          </Space>
          <Table<Rule>
            rowKey="id"
            loading={list.isLoading}
            dataSource={rules}
            pagination={rules.length > 20 ? { pageSize: 20 } : false}
            scroll={{ x: 'max-content' }}
            onRow={(r) => ({ 'data-testid': `rule-row-${r.id}` }) as object}
            columns={[
              {
                title: t.name,
                dataIndex: 'name',
                render: (name: string, r) => (
                  <Space orientation="vertical" size={0}>
                    <Typography.Text strong data-testid="rule-row-name">
                      {name}
                    </Typography.Text>
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                      {r.id}
                    </Typography.Text>
                  </Space>
                ),
              },
              { title: t.priority, dataIndex: 'priority', align: 'right' },
              {
                title: t.effect,
                key: 'effect',
                render: (_: unknown, r) => (
                  <Space size={4} wrap>
                    <Tag color="geekblue">{t.effectType[r.effect.type]}</Tag>
                    <EffectSummary effect={r.effect} />
                    {r.exclusive && <Tag color="volcano">{t.exclusive}</Tag>}
                  </Space>
                ),
              },
              {
                title: t.conditions,
                key: 'conditions',
                width: 280,
                render: (_: unknown, r) => <ConditionTags conditions={r.conditions} />,
              },
              {
                title: t.limits,
                key: 'limits',
                render: (_: unknown, r) => <LimitTags limits={r.limits} />,
              },
              {
                title: t.budgetIssued,
                key: 'budget',
                render: (_: unknown, r) =>
                  r.limits.budget === undefined ? (
                    <Typography.Text type="secondary">{t.noLimits}</Typography.Text>
                  ) : (
                    <div style={{ minWidth: 140 }}>
                      <Typography.Text>
                        {f.number(r.issued ?? 0)} / {f.number(r.limits.budget)}
                      </Typography.Text>
                      <Progress
                        size="small"
                        showInfo={false}
                        percent={Math.min(100, ((r.issued ?? 0) / r.limits.budget) * 100)}
                      />
                    </div>
                  ),
              },
              {
                title: t.status,
                dataIndex: 'active',
                render: (active: boolean) => (
                  <Tag color={active ? 'green' : 'default'}>{active ? t.active : t.inactive}</Tag>
                ),
              },
              { title: t.version, dataIndex: 'version', align: 'right' },
              ...(admin
                ? [
                    {
                      title: s.actions,
                      key: 'actions',
                      fixed: 'right' as const,
                      render: (_: unknown, r: Rule) => (
                        <Space size="small">
                          <Button
                            size="small"
                            icon={<EditOutlined />}
                            onClick={() => setEditing(r)}
                            data-testid={`rule-edit-${r.id}`}
                          >
                            {s.edit}
                          </Button>
                          {r.active ? (
                            <Popconfirm
                              title={t.deactivate}
                              description={t.deactivateConfirm}
                              okText={t.deactivate}
                              cancelText={s.cancel}
                              okButtonProps={{ danger: true }}
                              onConfirm={() => setActive.mutateAsync({ rule: r, active: false })}
                            >
                              <Button
                                size="small"
                                danger
                                icon={<StopOutlined />}
                                data-testid={`rule-deactivate-${r.id}`}
                              >
                                {t.deactivate}
                              </Button>
                            </Popconfirm>
                          ) : (
                            <Button
                              size="small"
                              icon={<UndoOutlined />}
                              onClick={() => setActive.mutate({ rule: r, active: true })}
                              data-testid={`rule-reactivate-${r.id}`}
                            >
                              {t.reactivate}
                            </Button>
                          )}
                        </Space>
                      ),
                    },
                  ]
                : []),
            ]}
          />
        </div>
      )}
      {can.program(programId, 'integration') && <PreviewPanel programId={programId} />}
      {editing !== undefined && (
        <RuleDrawer programId={programId} rule={editing} onClose={() => setEditing(undefined)} />
      )}
    </Space>
  );
}
