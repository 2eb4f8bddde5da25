import { ArrowLeftOutlined, CrownOutlined, UserOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import {
  Alert,
  Avatar,
  Button,
  Card,
  Col,
  Flex,
  Result,
  Row,
  Space,
  Statistic,
  Tabs,
  Tag,
  Tooltip,
  Typography,
} from 'antd';
import type { ReactNode } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { problemOf, unwrap } from '../../api/client.ts';
import { coalition } from '../../i18n/coalition.ts';
import { useFormat, useT } from '../../i18n/i18n.tsx';
import { member as dictionary, labels } from '../../i18n/members.ts';
import { ErrorView } from '../ErrorView.tsx';
import { MemberActions } from '../member/Actions.tsx';
import { CoalitionTab } from '../member/CoalitionTab.tsx';
import { memberKey, type Points, StatusTag } from '../member/common.tsx';
import { Overview } from '../member/Overview.tsx';
import { PointsTab } from '../member/PointsTab.tsx';
import { PurchasesTab } from '../member/PurchasesTab.tsx';
import { TierTab } from '../member/TierTab.tsx';
import { useApi } from '../session.tsx';

const TABS = ['overview', 'points', 'tier', 'purchases', 'coalition'] as const;
type Tab = (typeof TABS)[number];

/** One member of a program: who they are, their points, tier and purchases, and what staff may do. */
export default function Member() {
  const { programId = '', memberId = '' } = useParams();
  const t = useT(dictionary);
  const l = useT(labels);
  const c = useT(coalition);
  const f = useFormat();
  const api = useApi();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const tab: Tab = TABS.find((x) => x === params.get('tab')) ?? 'overview';
  const key = memberKey(programId, memberId);
  const path = { params: { path: { programId, memberId } } };
  const listUrl = `/p/${encodeURIComponent(programId)}/members`;

  const member = useQuery({
    queryKey: [...key, 'profile'],
    queryFn: async () => unwrap(await api.GET('/v1/programs/{programId}/members/{memberId}', path)),
  });
  const enrolled = !!member.data;
  const points = useQuery({
    queryKey: [...key, 'points'],
    enabled: enrolled,
    queryFn: async () =>
      unwrap(await api.GET('/v1/programs/{programId}/members/{memberId}/points', path)),
  });
  const tier = useQuery({
    queryKey: [...key, 'tier'],
    enabled: enrolled,
    queryFn: async () =>
      unwrap(await api.GET('/v1/programs/{programId}/members/{memberId}/tier', path)),
  });
  const growth = useQuery({
    queryKey: [...key, 'growth'],
    enabled: enrolled,
    queryFn: async () =>
      unwrap(await api.GET('/v1/programs/{programId}/members/{memberId}/growth', path)),
  });
  // The same query as the tier editor's, so a saved ladder shows here at once.
  const ladder = useQuery({
    queryKey: ['ladder', programId],
    enabled: enrolled,
    queryFn: async () =>
      unwrap(await api.GET('/v1/programs/{programId}/tiers', { params: { path: { programId } } })),
  });

  const back = (
    <Link to={listUrl} data-testid="member-back">
      <Space size={4}>
        <ArrowLeftOutlined />
        {t.back}
      </Space>
    </Link>
  );

  if (member.error) {
    return (
      <Space orientation="vertical" size="large" style={{ width: '100%' }}>
        {back}
        {problemOf(member.error)?.status === 404 ? (
          <Result
            status="404"
            title={t.notFound}
            subTitle={<Typography.Text code>{memberId}</Typography.Text>}
            extra={
              <Button type="primary" onClick={() => navigate(listUrl)}>
                {t.back}
              </Button>
            }
          />
        ) : (
          <ErrorView error={member.error} retry={() => member.refetch()} />
        )}
      </Space>
    );
  }

  const m = member.data;
  const name = m?.profile.name;
  return (
    <Space orientation="vertical" size="large" style={{ width: '100%' }}>
      {back}
      <Card loading={!m}>
        {m && (
          <Flex justify="space-between" align="flex-start" gap={24} wrap>
            <Flex gap={16} align="center" style={{ minWidth: 0 }}>
              <Avatar
                size={64}
                style={{ background: '#1f5fbf', flex: 'none', fontSize: 26 }}
                icon={name ? undefined : <UserOutlined />}
              >
                {name ? [...name][0] : undefined}
              </Avatar>
              <div style={{ minWidth: 0 }}>
                <Space size={8} wrap align="center" style={{ display: 'flex' }}>
                  <Typography.Title
                    level={3}
                    style={{ margin: 0 }}
                    type={name ? undefined : 'secondary'}
                    data-testid="member-name"
                  >
                    {name ?? t.noName}
                  </Typography.Title>
                  <StatusTag status={m.status} />
                  {tier.data && (
                    <Tag icon={<CrownOutlined />} color="gold" data-testid="member-tier">
                      {tier.data.tier.name}
                    </Tag>
                  )}
                  {!m.activatedAt && <Tag>{t.notActivated}</Tag>}
                </Space>
                <Space size={[16, 4]} wrap style={{ display: 'flex', marginTop: 6 }}>
                  <Typography.Text type="secondary">
                    {t.id}{' '}
                    <Typography.Text
                      copyable
                      data-testid="member-id"
                      style={{
                        fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
                      }}
                    >
                      {m.id}
                    </Typography.Text>
                  </Typography.Text>
                  <Typography.Text type="secondary">
                    {t.enrolledVia(f.date(m.enrolledAt), l.channel[m.channel])}
                  </Typography.Text>
                  {tier.data && (
                    <Typography.Text type="secondary">
                      {tier.data.validUntil
                        ? `${t.tier.validUntil} ${f.date(tier.data.validUntil)}`
                        : t.tier.noEnd}
                    </Typography.Text>
                  )}
                </Space>
              </div>
            </Flex>
            <MemberActions
              programId={programId}
              member={m}
              balance={points.data?.balance}
              tier={tier.data}
              ladder={ladder.data}
            />
          </Flex>
        )}
      </Card>

      {m?.status === 'blocked' && (
        <Alert
          type="error"
          showIcon
          title={t.blockedAlert}
          description={m.blockedReason ? t.blockedReason(m.blockedReason) : undefined}
          data-testid="member-blocked"
        />
      )}
      {m?.status === 'merged' && (
        <Alert
          type="warning"
          showIcon
          title={t.mergedAlert}
          action={
            m.mergedInto && (
              <Link to={`${listUrl}/${encodeURIComponent(m.mergedInto)}`}>{t.openMerged}</Link>
            )
          }
        />
      )}
      {m?.status === 'erased' && <Alert type="info" showIcon title={t.erasedAlert} />}

      {points.error ? (
        <ErrorView error={points.error} retry={() => points.refetch()} />
      ) : (
        <PointsCards
          points={points.data}
          growth={growth.error ? null : growth.data?.growth}
          loading={!m}
        />
      )}

      {m && (
        <Tabs
          activeKey={tab}
          onChange={(k) => setParams(k === 'overview' ? {} : { tab: k }, { replace: true })}
          items={[
            {
              key: 'overview',
              label: t.tabs.overview,
              children: <Overview programId={programId} member={m} />,
            },
            {
              key: 'points',
              label: t.tabs.points,
              children: <PointsTab programId={programId} memberId={m.id} points={points.data} />,
            },
            {
              key: 'tier',
              label: t.tabs.tier,
              children: (
                <TierTab
                  programId={programId}
                  memberId={m.id}
                  tier={tier.data}
                  tierError={tier.error}
                  growth={growth.data}
                  growthError={growth.error}
                  ladder={ladder.data}
                />
              ),
            },
            {
              key: 'purchases',
              label: t.tabs.purchases,
              children: <PurchasesTab programId={programId} memberId={m.id} />,
            },
            {
              key: 'coalition',
              label: c.member.tab,
              children: <CoalitionTab programId={programId} memberId={m.id} />,
            },
          ]}
          data-testid="member-tabs"
        />
      )}
    </Space>
  );
}

/** Balance, available, pending, held, what expires next, and the growth value, at a glance. */
function PointsCards({
  points,
  growth,
  loading,
}: {
  points: Points | undefined;
  /** null: it could not be read (the tier tab says why). */
  growth: number | null | undefined;
  loading: boolean;
}) {
  const t = useT(dictionary).stats;
  const f = useFormat();
  const soonest = points?.expiring[0];
  const later = (points?.expiring.length ?? 1) - 1;

  const card = (
    id: string,
    title: ReactNode,
    value: number | null | undefined,
    footer?: ReactNode,
    color?: string,
  ) => (
    <Col xs={12} md={8} xl={4} key={id}>
      <Card loading={loading || value === undefined} style={{ height: '100%' }}>
        <Statistic
          title={title}
          value={value === undefined ? '' : value === null ? '—' : f.number(value)}
          styles={{ content: color ? { color } : {} }}
          valueRender={(node) => <span data-testid={id}>{node}</span>}
        />
        {footer && (
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
            {footer}
          </Typography.Text>
        )}
      </Card>
    </Col>
  );
  const help = (title: string, tip: string) => (
    <Tooltip title={tip}>
      <span style={{ borderBottom: '1px dashed #bfbfbf', cursor: 'help' }}>{title}</span>
    </Tooltip>
  );

  return (
    <Row gutter={[16, 16]}>
      {card(
        'points-balance',
        help(t.balance, t.balanceHelp),
        points?.balance,
        undefined,
        '#1f5fbf',
      )}
      {card('points-available', t.available, points?.available, undefined, '#389e0d')}
      {card('points-pending', help(t.pending, t.pendingHelp), points?.pending)}
      {card('points-held', t.held, points?.held)}
      {card(
        'points-expiring',
        t.expiring,
        points ? (soonest?.points ?? 0) : undefined,
        soonest ? (
          <>
            {t.expiringOn(f.date(`${soonest.date}T00:00:00`))}
            {later > 0 && <div>{t.moreDates(later)}</div>}
          </>
        ) : (
          t.nothingExpiring
        ),
        soonest ? '#d46b08' : undefined,
      )}
      {card('growth-total', t.growth, growth)}
    </Row>
  );
}
