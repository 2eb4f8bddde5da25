import { Typography } from 'antd';
import { shell } from '../../i18n/console.ts';
import { useT } from '../../i18n/i18n.tsx';

export default function Tiers() {
  const t = useT(shell);
  return <Typography.Title level={3}>{t.loading}</Typography.Title>;
}
