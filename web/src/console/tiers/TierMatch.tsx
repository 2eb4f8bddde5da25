import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Form, Input, InputNumber, Select, Space } from 'antd';
import { useEffect } from 'react';
import { problemOf, unwrap } from '../../api/client.ts';
import type { components } from '../../api/schema';
import { coalition } from '../../i18n/coalition.ts';
import { useT } from '../../i18n/i18n.tsx';
import { useProgramOptions } from '../coalition/common.tsx';
import { ErrorView } from '../ErrorView.tsx';
import { useApi, useCan } from '../session.tsx';

type Rule = components['schemas']['TierMatchRule'];
type Ladder = components['schemas']['TierLadder'];

/** A rule as the form edits it: one shape for both kinds. */
interface FormRule {
  kind: 'level' | 'tier';
  coalitionLevel?: string;
  programId?: string;
  fromTier?: string;
  tier: string;
}
interface FormValues {
  maxMatchTier: string;
  windowDays: number;
  rules: FormRule[];
}

const toForm = (r: Rule): FormRule =>
  'coalitionLevel' in r
    ? { kind: 'level', coalitionLevel: r.coalitionLevel, tier: r.tier }
    : { kind: 'tier', programId: r.programId, fromTier: r.tier, tier: r.matchTier };
const fromForm = (r: FormRule): Rule =>
  r.kind === 'level'
    ? { coalitionLevel: r.coalitionLevel ?? '', tier: r.tier }
    : { programId: r.programId ?? '', tier: r.fromTier ?? '', matchTier: r.tier };

/**
 * The program's status match table: coalition level → tier, tier at another program → tier, the
 * highest tier a match may give and the window after enrolling. Program admins edit it.
 */
export function TierMatch({ programId, ladder }: { programId: string; ladder?: Ladder }) {
  const t = useT(coalition).match;
  const api = useApi();
  const admin = useCan().program(programId, 'admin');
  const queries = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm<FormValues>();
  const programs = useProgramOptions().filter((p) => p.value !== programId);
  const path = { params: { path: { programId } } };

  const table = useQuery({
    queryKey: ['tier-match', programId],
    queryFn: async () => {
      const answer = await api.GET('/v1/programs/{programId}/tier-match', path);
      // No table yet is an answer, not an error: the program offers no status match.
      if (answer.response.status === 404) return null;
      return unwrap(answer);
    },
  });
  const levels = useQuery({
    queryKey: ['coalition', 'levels'],
    queryFn: async () => unwrap(await api.GET('/v1/coalition/levels')),
  });
  useEffect(() => {
    if (table.data) form.setFieldsValue({ ...table.data, rules: table.data.rules.map(toForm) });
  }, [table.data, form]);

  const save = useMutation({
    mutationFn: async (v: FormValues) =>
      unwrap(
        await api.PUT('/v1/programs/{programId}/tier-match', {
          ...path,
          body: {
            maxMatchTier: v.maxMatchTier,
            windowDays: v.windowDays,
            rules: (v.rules ?? []).map(fromForm),
          },
        }),
      ),
    onSuccess: (saved) => {
      queries.setQueryData(['tier-match', programId], saved);
      message.success(t.saved);
    },
  });

  const tiers = (ladder?.tiers ?? []).map((x) => ({
    value: x.code,
    label: `${x.name} (${x.code})`,
  }));
  const levelOptions = (levels.data?.data ?? []).map((l) => ({
    value: l.code,
    label: `${l.name} (${l.code})`,
  }));
  const rules = Form.useWatch('rules', form) ?? [];

  return (
    <Card title={t.title} loading={table.isLoading} data-testid="tier-match">
      <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
        <Alert type="info" title={t.intro} />
        {table.data === null && <Alert type="warning" showIcon title={t.none} />}
        {!admin && <Alert type="info" showIcon title={t.readOnly} />}
        {table.error && problemOf(table.error)?.status !== 404 && (
          <ErrorView error={table.error} retry={() => table.refetch()} />
        )}
        <Form
          form={form}
          layout="vertical"
          disabled={!admin}
          initialValues={{ windowDays: 30, rules: [] }}
          onFinish={(v) => save.mutate(v)}
        >
          <Space wrap size="large">
            <Form.Item name="maxMatchTier" label={t.maxMatchTier} rules={[{ required: true }]}>
              <Select style={{ width: 220 }} options={tiers} data-testid="match-max" />
            </Form.Item>
            <Form.Item name="windowDays" label={t.windowDays} rules={[{ required: true }]}>
              <InputNumber min={1} max={3650} precision={0} style={{ width: 180 }} />
            </Form.Item>
          </Space>
          <Form.List name="rules">
            {(fields, { add, remove }) => (
              <>
                {fields.map((field, index) => (
                  <Space key={field.key} align="start" wrap>
                    <Form.Item name={[field.name, 'kind']} label={t.kind}>
                      <Select
                        style={{ width: 180 }}
                        options={[
                          { value: 'level', label: t.byLevel },
                          { value: 'tier', label: t.byTier },
                        ]}
                      />
                    </Form.Item>
                    {rules[index]?.kind === 'tier' ? (
                      <>
                        <Form.Item
                          name={[field.name, 'programId']}
                          label={t.program}
                          rules={[{ required: true }]}
                        >
                          {programs.length > 0 ? (
                            <Select style={{ width: 220 }} options={programs} showSearch />
                          ) : (
                            <Input style={{ width: 220 }} />
                          )}
                        </Form.Item>
                        <Form.Item
                          name={[field.name, 'fromTier']}
                          label={t.tier}
                          rules={[{ required: true }]}
                        >
                          <Input style={{ width: 140 }} />
                        </Form.Item>
                      </>
                    ) : (
                      <Form.Item
                        name={[field.name, 'coalitionLevel']}
                        label={t.level}
                        rules={[{ required: true }]}
                      >
                        <Select style={{ width: 220 }} options={levelOptions} />
                      </Form.Item>
                    )}
                    <Form.Item
                      name={[field.name, 'tier']}
                      label={t.matchTier}
                      rules={[{ required: true }]}
                    >
                      <Select style={{ width: 200 }} options={tiers} />
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
                    <Button icon={<PlusOutlined />} onClick={() => add({ kind: 'level' })}>
                      {t.addRule}
                    </Button>
                    <Button
                      type="primary"
                      htmlType="submit"
                      loading={save.isPending}
                      data-testid="match-save"
                    >
                      {t.save}
                    </Button>
                  </Space>
                )}
              </>
            )}
          </Form.List>
        </Form>
        {save.error && <ErrorView error={save.error} />}
      </Space>
    </Card>
  );
}
