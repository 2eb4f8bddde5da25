import {
  AccountBookOutlined,
  ApartmentOutlined,
  AuditOutlined,
  CrownOutlined,
  DashboardOutlined,
  GiftOutlined,
  KeyOutlined,
  LogoutOutlined,
  ProfileOutlined,
  RiseOutlined,
  ShopOutlined,
  ShoppingCartOutlined,
  ShoppingOutlined,
  SwapOutlined,
  TagsOutlined,
  TeamOutlined,
  TrophyOutlined,
} from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { Button, Layout, Menu, Select, Space, Tag, Typography } from 'antd';
import { Outlet, useLocation, useNavigate, useParams } from 'react-router';
import { unwrap } from '../api/client.ts';
import { shell } from '../i18n/console.ts';
import { useT } from '../i18n/i18n.tsx';
import { mall } from '../i18n/mall.ts';
import { LanguageSwitch } from './LanguageSwitch.tsx';
import { useApi, useCan, useSession } from './session.tsx';

/** The frame of every page: navigation by what the key may do, the program, language, sign-out. */
export function Shell() {
  const t = useT(shell);
  const m = useT(mall).nav;
  const { session, signOut } = useSession();
  const can = useCan();
  const api = useApi();
  const navigate = useNavigate();
  const location = useLocation();
  const { programId: routeProgram } = useParams();
  const principal = session?.principal;
  const programId = routeProgram ?? principal?.programId ?? undefined;

  const programs = useQuery({
    queryKey: ['programs'],
    queryFn: async () =>
      unwrap(await api.GET('/v1/programs', { params: { query: { limit: 100 } } })),
    enabled: can.coalitionAdmin,
  });

  const p = (path: string) => `/p/${encodeURIComponent(programId ?? '')}/${path}`;
  const items = [
    ...(can.coalitionAdmin
      ? [{ key: '/programs', icon: <ShopOutlined />, label: t.nav.programs }]
      : []),
    ...(programId
      ? [
          { key: p('dashboard'), icon: <DashboardOutlined />, label: t.nav.dashboard },
          { key: p('members'), icon: <TeamOutlined />, label: t.nav.members },
          { key: p('tiers'), icon: <CrownOutlined />, label: t.nav.tiers },
          { key: p('rules'), icon: <GiftOutlined />, label: t.nav.rules },
          ...(can.program(programId, 'admin')
            ? [
                { key: p('keys'), icon: <KeyOutlined />, label: t.nav.keys },
                { key: p('audit'), icon: <AuditOutlined />, label: t.nav.audit },
              ]
            : []),
        ]
      : []),
  ];
  // The program's rewards mall: its catalog and orders for every key of the program; coupon
  // templates (whose list is the admin's) for its admins.
  const mallItems = programId
    ? [
        { key: p('rewards'), icon: <ShoppingOutlined />, label: m.rewards },
        { key: p('orders'), icon: <ProfileOutlined />, label: m.orders },
        ...(can.program(programId, 'admin')
          ? [{ key: p('coupons'), icon: <TagsOutlined />, label: m.coupons }]
          : []),
      ]
    : [];
  // The coalition's pages: all of them for the coalition admin; a brand sees its own settlements
  // and the benefits it contributes.
  const coalitionItems = can.coalitionAdmin
    ? [
        { key: '/coalition/levels', icon: <TrophyOutlined />, label: t.nav.levels },
        { key: '/coalition/exchange', icon: <SwapOutlined />, label: t.nav.exchange },
        { key: '/coalition/pool', icon: <RiseOutlined />, label: t.nav.pool },
        { key: '/coalition/settlements', icon: <AccountBookOutlined />, label: t.nav.settlements },
      ]
    : principal?.programId
      ? [
          { key: '/coalition/pool', icon: <RiseOutlined />, label: t.nav.pool },
          {
            key: '/coalition/settlements',
            icon: <AccountBookOutlined />,
            label: t.nav.settlements,
          },
        ]
      : [];
  const menu = [
    ...items,
    ...(mallItems.length > 0
      ? [
          {
            key: 'mall',
            type: 'group' as const,
            label: (
              <span>
                <ShoppingCartOutlined /> {m.mall}
              </span>
            ),
            children: mallItems,
          },
        ]
      : []),
    ...(coalitionItems.length > 0
      ? [
          {
            key: 'coalition',
            type: 'group' as const,
            label: (
              <span>
                <ApartmentOutlined /> {t.nav.coalition}
              </span>
            ),
            children: coalitionItems,
          },
        ]
      : []),
  ];
  const selected = [...items, ...mallItems, ...coalitionItems]
    .map((i) => i.key)
    .filter((k) => location.pathname.startsWith(k))
    .sort((a, b) => b.length - a.length)
    .slice(0, 1);

  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Sider width={208} theme="light" style={{ borderRight: '1px solid #f0f0f0' }}>
        <div className="brand">{t.product}</div>
        <Menu
          mode="inline"
          selectedKeys={selected}
          items={menu}
          onClick={({ key }) => navigate(key)}
          style={{ borderInlineEnd: 'none' }}
        />
      </Layout.Sider>
      <Layout>
        <Layout.Header className="topbar">
          <Space size="middle">
            <Typography.Text type="secondary">{t.program}</Typography.Text>
            {can.coalitionAdmin ? (
              <Select
                style={{ minWidth: 220 }}
                placeholder={t.choose}
                value={programId}
                loading={programs.isLoading}
                options={(programs.data?.data ?? []).map((x) => ({
                  value: x.id,
                  label: `${x.name} (${x.id})`,
                }))}
                onChange={(id: string) => navigate(`/p/${encodeURIComponent(id)}/dashboard`)}
                data-testid="program-select"
              />
            ) : (
              <Typography.Text strong>{programId}</Typography.Text>
            )}
          </Space>
          <Space size="middle">
            <Tag color={can.coalitionAdmin ? 'gold' : 'blue'}>
              {principal?.programId === null ? t.coalition : t.role[principal?.role ?? 'read']}
              {principal?.name ? ` · ${principal.name}` : ''}
            </Tag>
            <LanguageSwitch />
            <Button icon={<LogoutOutlined />} onClick={signOut}>
              {t.signOut}
            </Button>
          </Space>
        </Layout.Header>
        <Layout.Content className="content">
          <Outlet />
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
