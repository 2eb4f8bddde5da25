import { App as AntApp, ConfigProvider } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn';
import { createBrowserRouter, Navigate, RouterProvider } from 'react-router';
import { FONT_FAMILY } from '../font.ts';
import { useLang } from '../i18n/i18n.tsx';
import { Shell } from './Shell.tsx';
import { SignIn } from './SignIn.tsx';
import { useSession } from './session.tsx';

const page = (load: () => Promise<{ default: React.ComponentType }>) => async () => ({
  Component: (await load()).default,
});

/** Pages load on demand, so the first page carries only the shell. */
const router = createBrowserRouter(
  [
    {
      path: '/',
      Component: Shell,
      HydrateFallback: () => null,
      children: [
        { index: true, Component: Home },
        { path: 'programs', lazy: page(() => import('./pages/Programs.tsx')) },
        { path: 'p/:programId/dashboard', lazy: page(() => import('./pages/Dashboard.tsx')) },
        { path: 'p/:programId/keys', lazy: page(() => import('./pages/Keys.tsx')) },
        { path: 'p/:programId/members', lazy: page(() => import('./pages/Members.tsx')) },
        { path: 'p/:programId/members/:memberId', lazy: page(() => import('./pages/Member.tsx')) },
        { path: 'p/:programId/tiers', lazy: page(() => import('./pages/Tiers.tsx')) },
        { path: 'p/:programId/rules', lazy: page(() => import('./pages/Rules.tsx')) },
        { path: 'p/:programId/audit', lazy: page(() => import('./pages/Audit.tsx')) },
        { path: 'p/:programId/rewards', lazy: page(() => import('./pages/Rewards.tsx')) },
        { path: 'p/:programId/orders', lazy: page(() => import('./pages/Orders.tsx')) },
        { path: 'p/:programId/coupons', lazy: page(() => import('./pages/Coupons.tsx')) },
        { path: 'coalition/levels', lazy: page(() => import('./pages/Levels.tsx')) },
        { path: 'coalition/exchange', lazy: page(() => import('./pages/Exchange.tsx')) },
        { path: 'coalition/pool', lazy: page(() => import('./pages/Pool.tsx')) },
        { path: 'coalition/settlements', lazy: page(() => import('./pages/Settlements.tsx')) },
        { path: '*', lazy: page(() => import('./pages/NotFound.tsx')) },
      ],
    },
  ],
  { basename: '/console' },
);

/** A coalition key starts at its programs, a program key at its program. */
function Home() {
  const { session } = useSession();
  const own = session?.principal.programId;
  return <Navigate to={own ? `/p/${encodeURIComponent(own)}/dashboard` : '/programs'} replace />;
}

export function App() {
  const { lang } = useLang();
  const { session } = useSession();
  dayjs.locale(lang === 'zh-CN' ? 'zh-cn' : 'en');
  return (
    <ConfigProvider
      locale={lang === 'zh-CN' ? zhCN : enUS}
      theme={{ token: { colorPrimary: '#1f5fbf', borderRadius: 6, fontFamily: FONT_FAMILY } }}
    >
      <AntApp>{session ? <RouterProvider router={router} /> : <SignIn />}</AntApp>
    </ConfigProvider>
  );
}
