import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Form, Input, InputNumber, Select, Space } from 'antd';
import { useEffect } from 'react';
import { unwrap } from '../../api/client.ts';
import type { components } from '../../api/schema';
import { coalition } from '../../i18n/coalition.ts';
import { shell } from '../../i18n/console.ts';
import { useT } from '../../i18n/i18n.tsx';
import { useProgramOptions } from '../coalition/common.tsx';
import { ErrorView } from '../ErrorView.tsx';
import { PageHeader } from '../PageHeader.tsx';
import { useApi, useCan } from '../session.tsx';

type Level = components['schemas']['CoalitionLevel'];
type Rule = components['schemas']['CoalitionLevelRule'];

/** The coalition's member levels, and the rules that derive a level from a member's tiers. */
export default function Levels() {
  const t = useT(coalition).levels;
  const s = useT(shell);
  const api = useApi();
  const admin = useCan().coalitionAdmin;
  const queries = useQueryClient();
  const { message, modal } = App.useApp();
  const [levelsForm] = Form.useForm<{ levels: Level[] }>();
  const [rulesForm] = Form.useForm<{ rules: Rule[] }>();
  const programs = useProgramOptions();

  const levels = useQuery({
    queryKey: ['coalition', 'levels'],
    queryFn: async () => unwrap(await api.GET('/v1/coalition/levels')),
  });
  const rules = useQuery({
    queryKey: ['coalition', 'level-rules'],
    queryFn: async () => unwrap(await api.GET('/v1/coalition/level-rules')),
    enabled: admin,
  });
  useEffect(() => {
    if (levels.data) levelsForm.setFieldsValue({ levels: levels.data.data });
  }, [levels.data, levelsForm]);
  useEffect(() => {
    if (rules.data) rulesForm.setFieldsValue({ rules: rules.data.data });
  }, [rules.data, rulesForm]);

  const saveLevels = useMutation({
    mutationFn: async (body: Level[]) => unwrap(await api.PUT('/v1/coalition/levels', { body })),
    onSuccess: async (saved) => {
      queries.setQueryData(['coalition', 'levels'], saved);
      await queries.invalidateQueries({ queryKey: ['member'] });
      message.success(t.saved);
    },
  });
  const saveRules = useMutation({
    mutationFn: async (body: Rule[]) =>
      unwrap(await api.PUT('/v1/coalition/level-rules', { body })),
    onSuccess: async (saved) => {
      queries.setQueryData(['coalition', 'level-rules'], saved);
      await queries.invalidateQueries({ queryKey: ['member'] });
      message.success(t.saved);
    },
  });
  const confirmThen = (run: () => Promise<unknown>) =>
    modal.confirm({
      title: s.save,
      content: t.confirmSave,
      okText: s.confirm,
      cancelText: s.cancel,
      onOk: run,
    });
  const levelOptions = (levels.data?.data ?? []).map((l) => ({
    value: l.code,
    label: `${l.name} (${l.code})`,
  }));

  if (levels.error) return <ErrorView error={levels.error} retry={() => levels.refetch()} />;

  return (
    <Space orientation="vertical" size="large" style={{ width: '100%' }}>
      <PageHeader title={t.title} intro={t.intro} />
      {!admin && <Alert type="info" showIcon title={t.readOnly} />}
      <Card title={t.list} loading={levels.isLoading}>
        <Form
          form={levelsForm}
          layout="vertical"
          disabled={!admin}
          onFinish={(v) => confirmThen(() => saveLevels.mutateAsync(v.levels ?? []))}
        >
          <Form.List name="levels">
            {(fields, { add, remove }) => (
              <>
                {fields.map((field, index) => (
                  <Space key={field.key} align="start" wrap data-testid={`level-${index}`}>
                    <Form.Item
                      name={[field.name, 'code']}
                      label={t.code}
                      rules={[{ required: true, pattern: /^[a-z0-9][a-z0-9_-]{0,39}$/ }]}
                    >
                      <Input style={{ width: 160 }} data-testid={`level-code-${index}`} />
                    </Form.Item>
                    <Form.Item
                      name={[field.name, 'name']}
                      label={t.name}
                      rules={[{ required: true }]}
                    >
                      <Input style={{ width: 220 }} data-testid={`level-name-${index}`} />
                    </Form.Item>
                    <Form.Item
                      name={[field.name, 'rank']}
                      label={t.rank}
                      rules={[{ required: true }]}
                    >
                      <InputNumber
                        min={0}
                        precision={0}
                        style={{ width: 160 }}
                        data-testid={`level-rank-${index}`}
                      />
                    </Form.Item>
                    {admin && (
                      <Form.Item label=" ">
                        <Button
                          icon={<DeleteOutlined />}
                          onClick={() => remove(field.name)}
                          aria-label={t.remove}
                        />
                      </Form.Item>
                    )}
                  </Space>
                ))}
                {admin && (
                  <Space style={{ display: 'flex' }}>
                    <Button
                      icon={<PlusOutlined />}
                      onClick={() => add({ rank: (fields.length + 1) * 10 })}
                      data-testid="level-add"
                    >
                      {t.add}
                    </Button>
                    <Button
                      type="primary"
                      htmlType="submit"
                      loading={saveLevels.isPending}
                      data-testid="levels-save"
                    >
                      {t.save}
                    </Button>
                  </Space>
                )}
              </>
            )}
          </Form.List>
        </Form>
        {saveLevels.error && <ErrorView error={saveLevels.error} />}
      </Card>

      {admin && (
        <Card title={t.rules} loading={rules.isLoading}>
          <Alert type="info" title={t.rulesIntro} style={{ marginBottom: 16 }} />
          {rules.error && <ErrorView error={rules.error} retry={() => rules.refetch()} />}
          <Form
            form={rulesForm}
            layout="vertical"
            onFinish={(v) => confirmThen(() => saveRules.mutateAsync(v.rules ?? []))}
          >
            <Form.List name="rules">
              {(fields, { add, remove }) => (
                <>
                  {fields.map((field) => (
                    <Space key={field.key} align="start" wrap>
                      <Form.Item
                        name={[field.name, 'when', 'programId']}
                        label={t.ruleProgram}
                        rules={[{ required: true }]}
                      >
                        <Select style={{ width: 240 }} options={programs} showSearch />
                      </Form.Item>
                      <Form.Item
                        name={[field.name, 'when', 'tierAtLeast']}
                        label={t.ruleTier}
                        rules={[{ required: true }]}
                      >
                        <Input style={{ width: 160 }} />
                      </Form.Item>
                      <Form.Item
                        name={[field.name, 'level']}
                        label={t.ruleLevel}
                        rules={[{ required: true }]}
                      >
                        <Select style={{ width: 220 }} options={levelOptions} />
                      </Form.Item>
                      <Form.Item label=" ">
                        <Button
                          icon={<DeleteOutlined />}
                          onClick={() => remove(field.name)}
                          aria-label={t.remove}
                        />
                      </Form.Item>
                    </Space>
                  ))}
                  <Space style={{ display: 'flex' }}>
                    <Button icon={<PlusOutlined />} onClick={() => add()}>
                      {t.addRule}
                    </Button>
                    <Button type="primary" htmlType="submit" loading={saveRules.isPending}>
                      {t.saveRules}
                    </Button>
                  </Space>
                </>
              )}
            </Form.List>
          </Form>
          {saveRules.error && <ErrorView error={saveRules.error} />}
        </Card>
      )}
    </Space>
  );
}
