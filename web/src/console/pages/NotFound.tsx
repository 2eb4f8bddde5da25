import { Button, Result } from 'antd';
import { useNavigate } from 'react-router';
import { shell } from '../../i18n/console.ts';
import { useT } from '../../i18n/i18n.tsx';

export default function NotFound() {
  const t = useT(shell);
  const navigate = useNavigate();
  return (
    <Result
      status="404"
      title={t.notFound}
      extra={<Button onClick={() => navigate('/')}>{t.back}</Button>}
    />
  );
}
