import {
  Button,
  ConfigProvider,
  ErrorBlock,
  List,
  ProgressBar,
  Segmented,
  SpinLoading,
  Tabs,
  Tag,
} from 'antd-mobile';
import enUS from 'antd-mobile/es/locales/en-US';
import zhCN from 'antd-mobile/es/locales/zh-CN';
import { QRCodeSVG } from 'qrcode.react';
import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import { apiClient, problemOf } from '../api/client.ts';
import type { paths } from '../api/schema';
import { FONT_FAMILY } from '../font.ts';
import { LANG_NAMES, LANGS, type Lang, useFormat, useLang, useT } from '../i18n/i18n.tsx';
import { portalMall } from '../i18n/mall.ts';
import { portal, portalCoalition } from '../i18n/portal.ts';

// The coalition's pages load when opened, so the card's first page stays small.
const ExchangeView = lazy(() =>
  import('./Coalition.tsx').then((m) => ({ default: m.ExchangeView })),
);
const PoolView = lazy(() => import('./Coalition.tsx').then((m) => ({ default: m.PoolView })));
// The mall and the coupons too.
const MallView = lazy(() => import('./Mall.tsx').then((m) => ({ default: m.MallView })));
const CouponsView = lazy(() => import('./Mall.tsx').then((m) => ({ default: m.CouponsView })));
const TABS = ['card', 'mall', 'coupons', 'exchange', 'pool'] as const;
type Tab = (typeof TABS)[number];

type Card = paths['/v1/portal/card']['get']['responses'][200]['content']['application/json'];

/** The link's token: /portal/#/t/<token> (after the #, so it never reaches a server's logs). */
const tokenOf = (hash: string) => /^#\/t\/([A-Za-z0-9_.-]+)$/.exec(hash)?.[1];

type State =
  | { kind: 'loading' }
  | { kind: 'card'; card: Card; token: string }
  | { kind: 'refused'; code: 'expired' | 'invalid' | 'gone' | 'failed' };

/** The member's own page, opened from a brand's signed link: one member, in one program. */
export function Portal() {
  const { lang } = useLang();
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [tab, setTab] = useState<Tab>('card');
  /** Reads the card; `quiet` keeps the page as it is meanwhile (after a conversion). */
  const load = useCallback(async (quiet = false) => {
    const token = tokenOf(location.hash);
    if (!token) return setState({ kind: 'refused', code: 'invalid' });
    if (quiet !== true) setState({ kind: 'loading' });
    const api = apiClient(() => `Portal ${token}`);
    const answer = await api.GET('/v1/portal/card').catch(() => undefined);
    if (answer?.data) return setState({ kind: 'card', card: answer.data, token });
    const problem =
      answer && problemOf({ problem: { ...answer.error, status: answer.response.status } });
    setState({
      kind: 'refused',
      code:
        problem?.code === 'portal_link_expired'
          ? 'expired'
          : problem?.status === 401
            ? 'invalid'
            : problem?.status === 404
              ? 'gone'
              : 'failed',
    });
  }, []);
  useEffect(() => {
    const reload = () => void load();
    reload();
    addEventListener('hashchange', reload);
    return () => removeEventListener('hashchange', reload);
  }, [load]);

  return (
    <ConfigProvider locale={lang === 'zh-CN' ? zhCN : enUS}>
      <div className="portal" style={{ fontFamily: FONT_FAMILY }}>
        <div className="topline">
          <LanguageSwitch />
        </div>
        {state.kind === 'loading' && <Loading />}
        {state.kind === 'refused' && <Refused code={state.code} retry={load} />}
        {state.kind === 'card' && (
          <>
            <PortalTabs tab={tab} onChange={setTab} />
            {tab === 'card' && <CardView card={state.card} />}
            <Suspense fallback={<Loading />}>
              {tab === 'exchange' && (
                <ExchangeView token={state.token} onChanged={() => void load(true)} />
              )}
              {tab === 'pool' && <PoolView token={state.token} />}
              {tab === 'mall' && <MallView token={state.token} onChanged={() => void load(true)} />}
              {tab === 'coupons' && <CouponsView token={state.token} />}
            </Suspense>
          </>
        )}
      </div>
    </ConfigProvider>
  );
}

function PortalTabs({ tab, onChange }: { tab: Tab; onChange: (tab: Tab) => void }) {
  const t = { ...useT(portalCoalition).tabs, ...useT(portalMall).tabs };
  return (
    <div className="tabs">
      <Tabs activeKey={tab} onChange={(k) => onChange(k as Tab)} data-testid="portal-tabs">
        {TABS.map((k) => (
          <Tabs.Tab key={k} title={<span data-testid={`portal-tab-${k}`}>{t[k]}</span>} />
        ))}
      </Tabs>
    </div>
  );
}

function LanguageSwitch() {
  const { lang, setLang } = useLang();
  return (
    <Segmented
      value={lang}
      options={LANGS.map((l) => ({ value: l, label: LANG_NAMES[l] }))}
      onChange={(v) => setLang(v as Lang)}
      data-testid="language"
    />
  );
}

function Loading() {
  const t = useT(portal);
  return (
    <div
      style={{ display: 'flex', justifyContent: 'center', padding: 64 }}
      role="status"
      aria-label={t.loading}
    >
      <SpinLoading />
    </div>
  );
}

function Refused({
  code,
  retry,
}: {
  code: 'expired' | 'invalid' | 'gone' | 'failed';
  retry: () => void;
}) {
  const t = useT(portal);
  const [title, hint] = {
    expired: [t.expired, t.expiredHint],
    invalid: [t.invalid, t.invalidHint],
    gone: [t.gone, t.goneHint],
    failed: [t.failed, ''],
  }[code];
  return (
    <div data-testid="refused" data-code={code}>
      <ErrorBlock status="default" title={title} description={hint} fullPage />
      {code === 'failed' && (
        <Button block color="primary" onClick={retry}>
          {t.retry}
        </Button>
      )}
    </div>
  );
}

function CardView({ card }: { card: Card }) {
  const t = useT(portal);
  const f = useFormat();
  const tier = card.tier;
  return (
    <div data-testid="card">
      <div className={`member-card ${tier && tier.code !== card.entryTier ? 'gold' : ''}`}>
        <div className="program">{card.programName}</div>
        <div className="tier-name" data-testid="tier-name">
          {tier?.name ?? t.title}
        </div>
        <div className="row">
          <div>
            <div className="small">{t.memberNo}</div>
            <div className="small" data-testid="member-id">
              {card.memberId}
            </div>
            <div className="small">{t.since(f.date(card.since))}</div>
          </div>
          <div className="qr" title={t.showCode}>
            <QRCodeSVG value={card.memberId} size={84} />
          </div>
        </div>
      </div>

      <div className="section">
        <div className="figures">
          <div>
            <div className="value" data-testid="points-available">
              {f.number(card.points.available)}
            </div>
            <div className="label">{t.available}</div>
          </div>
          <div>
            <div className="value">{f.number(card.points.pending)}</div>
            <div className="label">{t.pending}</div>
          </div>
          <div>
            <div className="value">
              {f.number(card.points.expiringSoon.reduce((s, e) => s + e.points, 0))}
            </div>
            <div className="label">{t.expiringSoon}</div>
          </div>
        </div>
      </div>

      {tier && (
        <List header={t.tier} className="section">
          <List.Item
            description={
              <div style={{ paddingTop: 8 }}>
                <ProgressBar percent={Math.round(tier.progress * 100)} />
                <div style={{ marginTop: 6 }}>
                  {tier.next ? t.toNext(f.number(tier.next.need), tier.next.name) : t.topTier}
                </div>
              </div>
            }
            extra={tier.validUntil ? t.validUntil(f.date(tier.validUntil)) : t.noExpiry}
          >
            {tier.name}
          </List.Item>
        </List>
      )}

      <List header={t.expiringSoon} className="section">
        {card.points.expiringSoon.length === 0 ? (
          <List.Item>{t.noneExpiring}</List.Item>
        ) : (
          card.points.expiringSoon.map((e) => (
            <List.Item key={e.expiresAt} extra={t.expiresOn(f.date(e.expiresAt))}>
              {f.number(e.points)}
            </List.Item>
          ))
        )}
      </List>

      <List header={t.benefits} className="section">
        {card.benefits.length === 0 ? (
          <List.Item>{t.noBenefits}</List.Item>
        ) : (
          card.benefits.map((b) => (
            <List.Item
              key={b.code}
              extra={
                b.limit !== undefined &&
                b.limit !== null &&
                b.remaining !== undefined &&
                b.remaining !== null ? (
                  <Tag color="primary" fill="outline">
                    {`${b.period ? (t.period[b.period] ?? '') : ''} ${t.left(f.number(b.remaining), f.number(b.limit))}`}
                  </Tag>
                ) : undefined
              }
            >
              {b.name}
            </List.Item>
          ))
        )}
      </List>

      <List header={t.history} className="section" data-testid="history">
        {card.history.length === 0 ? (
          <List.Item>{t.noHistory}</List.Item>
        ) : (
          card.history.map((h) => (
            <List.Item
              key={h.id}
              description={f.dateTime(h.createdAt)}
              extra={
                <span className={h.points >= 0 ? 'plus' : 'minus'}>
                  {`${h.points >= 0 ? '+' : ''}${f.number(h.points)}`}
                </span>
              }
            >
              {t.code[h.code] ?? t.other}
            </List.Item>
          ))
        )}
      </List>
    </div>
  );
}
