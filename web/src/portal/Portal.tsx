import {
  Button,
  ConfigProvider,
  ErrorBlock,
  List,
  ProgressBar,
  Segmented,
  SpinLoading,
  Tag,
} from 'antd-mobile';
import enUS from 'antd-mobile/es/locales/en-US';
import zhCN from 'antd-mobile/es/locales/zh-CN';
import { QRCodeSVG } from 'qrcode.react';
import { useCallback, useEffect, useState } from 'react';
import { apiClient, problemOf } from '../api/client.ts';
import type { paths } from '../api/schema';
import { FONT_FAMILY } from '../font.ts';
import { LANG_NAMES, LANGS, type Lang, useFormat, useLang, useT } from '../i18n/i18n.tsx';
import { portal } from '../i18n/portal.ts';

type Card = paths['/v1/portal/card']['get']['responses'][200]['content']['application/json'];

/** The link's token: /portal/#/t/<token> (after the #, so it never reaches a server's logs). */
const tokenOf = (hash: string) => /^#\/t\/([A-Za-z0-9_.-]+)$/.exec(hash)?.[1];

type State =
  | { kind: 'loading' }
  | { kind: 'card'; card: Card }
  | { kind: 'refused'; code: 'expired' | 'invalid' | 'gone' | 'failed' };

/** The member's own page, opened from a brand's signed link: one member, in one program. */
export function Portal() {
  const { lang } = useLang();
  const [state, setState] = useState<State>({ kind: 'loading' });
  const load = useCallback(async () => {
    const token = tokenOf(location.hash);
    if (!token) return setState({ kind: 'refused', code: 'invalid' });
    setState({ kind: 'loading' });
    const api = apiClient(() => `Portal ${token}`);
    const answer = await api.GET('/v1/portal/card').catch(() => undefined);
    if (answer?.data) return setState({ kind: 'card', card: answer.data });
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
    void load();
    addEventListener('hashchange', load);
    return () => removeEventListener('hashchange', load);
  }, [load]);

  return (
    <ConfigProvider locale={lang === 'zh-CN' ? zhCN : enUS}>
      <div className="portal" style={{ fontFamily: FONT_FAMILY }}>
        <div className="topline">
          <LanguageSwitch />
        </div>
        {state.kind === 'loading' && <Loading />}
        {state.kind === 'refused' && <Refused code={state.code} retry={load} />}
        {state.kind === 'card' && <CardView card={state.card} />}
      </div>
    </ConfigProvider>
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
