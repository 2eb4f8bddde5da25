import { Alert, Button, Card, Form, Input, Typography } from 'antd';
import { useState } from 'react';
import { shell } from '../i18n/console.ts';
import { useT } from '../i18n/i18n.tsx';
import { LanguageSwitch } from './LanguageSwitch.tsx';
import { useSession } from './session.tsx';

/** Sign in by pasting an API key; nothing else is stored. */
export function SignIn() {
  const t = useT(shell);
  const { signIn } = useSession();
  const [failed, setFailed] = useState(false);
  const [busy, setBusy] = useState(false);
  const submit = async ({ key }: { key: string }) => {
    setBusy(true);
    setFailed(false);
    try {
      await signIn(key.trim());
    } catch {
      setFailed(true);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="signin">
      <Card style={{ width: 420 }}>
        <div style={{ display: 'flex', justifyContent: 'space-between', alignItems: 'center' }}>
          <Typography.Title level={3} style={{ margin: 0 }}>
            {t.product}
          </Typography.Title>
          <LanguageSwitch />
        </div>
        <Typography.Title level={5}>{t.signIn.title}</Typography.Title>
        <Typography.Paragraph type="secondary">{t.signIn.intro}</Typography.Paragraph>
        {failed && (
          <Alert type="error" showIcon title={t.signIn.invalid} style={{ marginBottom: 16 }} />
        )}
        <Form layout="vertical" onFinish={submit} requiredMark={false}>
          <Form.Item
            name="key"
            label={t.signIn.key}
            rules={[{ required: true, message: t.signIn.required }]}
          >
            <Input.Password
              placeholder={t.signIn.keyPlaceholder}
              autoComplete="off"
              data-testid="api-key"
            />
          </Form.Item>
          <Button type="primary" htmlType="submit" block loading={busy}>
            {t.signIn.submit}
          </Button>
        </Form>
      </Card>
    </div>
  );
}
