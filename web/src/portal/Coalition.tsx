import {
  Button,
  Dialog,
  Empty,
  Input,
  List,
  Result,
  Selector,
  SpinLoading,
  Tag,
} from 'antd-mobile';
import { QRCodeSVG } from 'qrcode.react';
import { type ReactNode, useCallback, useEffect, useMemo, useState } from 'react';
import { apiClient } from '../api/client.ts';
import type { paths } from '../api/schema';
import { useFormat, useT } from '../i18n/i18n.tsx';
import { portalCoalition } from '../i18n/portal.ts';
import { uuid } from '../uuid.ts';

type Exchange =
  paths['/v1/portal/exchange']['get']['responses'][200]['content']['application/json'];
type Quote =
  paths['/v1/portal/conversions/quote']['post']['responses'][200]['content']['application/json'];
type Conversion =
  paths['/v1/portal/conversions']['post']['responses'][201]['content']['application/json'];
type Pool = paths['/v1/portal/pool']['get']['responses'][200]['content']['application/json'];
type Claim = Pool['claims'][number];

/** The portal's API client, speaking with the link's token. */
export const useClient = (token: string) =>
  useMemo(() => apiClient(() => `Portal ${token}`), [token]);

/** The problem's code of a failed answer, if it sent one. */
export const codeOf = (error: unknown) => (error as { code?: string } | undefined)?.code;

export function useLoad<T>(load: () => Promise<T | undefined>) {
  const [data, setData] = useState<T | undefined>();
  const [failed, setFailed] = useState(false);
  const reload = useCallback(async () => {
    try {
      const next = await load();
      setFailed(next === undefined);
      if (next !== undefined) setData(next);
    } catch {
      setFailed(true);
    }
  }, [load]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, failed, reload };
}

interface Asking {
  title: string;
  content: ReactNode;
  ok: string;
  cancel: string;
  onOk: () => void;
}

/** A confirmation, rendered in place (antd-mobile's imperative dialogs predate React 19). */
function Confirm({ asking, onClose }: { asking: Asking | null; onClose: () => void }) {
  return (
    <Dialog
      visible={asking !== null}
      title={asking?.title}
      content={asking?.content}
      onClose={onClose}
      closeOnMaskClick
      actions={[
        [
          { key: 'cancel', text: asking?.cancel, onClick: onClose },
          {
            key: 'ok',
            text: asking?.ok,
            bold: true,
            onClick: () => {
              onClose();
              asking?.onOk();
            },
          },
        ],
      ]}
      data-testid="confirm"
    />
  );
}

/** What went wrong, said in the page. */
export function Problem({ text }: { text: string | null }) {
  return text ? (
    <div className="section problem" role="alert" data-testid="problem">
      {text}
    </div>
  ) : null;
}

/**
 * Converting the link's program's points into another program's: pick where, say how many, see
 * the quote (what leaves, the fee, what arrives), confirm. One request id per confirmed quote, so
 * a double tap or a retry converts once.
 */
export function ExchangeView({ token, onChanged }: { token: string; onChanged: () => void }) {
  const t = useT(portalCoalition).exchange;
  const f = useFormat();
  const api = useClient(token);
  const exchange = useLoad(
    useCallback(async () => (await api.GET('/v1/portal/exchange')).data, [api]),
  );
  const history = useLoad(
    useCallback(async () => (await api.GET('/v1/portal/conversions')).data, [api]),
  );
  const [to, setTo] = useState<string | undefined>();
  const [amount, setAmount] = useState('');
  const [quote, setQuote] = useState<{ quote: Quote; requestId: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<Conversion | null>(null);
  const [asking, setAsking] = useState<Asking | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  const e: Exchange | undefined = exchange.data;
  const targets = e?.targets ?? [];
  const target = targets.find((x) => x.programId === to);
  useEffect(() => {
    if (!to) setTo(targets.find((x) => x.enrolled)?.programId);
  }, [to, targets]);

  const fail = (error: unknown) => {
    setProblem(t.problems[codeOf(error) ?? ''] ?? t.failed);
  };

  const ask = async () => {
    const points = Number(amount);
    if (!target || !Number.isSafeInteger(points) || points < 1) return;
    setBusy(true);
    setProblem(null);
    const answer = await api.POST('/v1/portal/conversions/quote', {
      body: { to: target.programId, points },
    });
    setBusy(false);
    if (answer.error || !answer.data) return fail(answer.error);
    // This quote, once confirmed, is one conversion: its id is made now and kept for retries.
    setQuote({ quote: answer.data, requestId: uuid() });
  };

  const confirm = () => {
    if (!quote || !target) return;
    setAsking({
      title: t.confirmTitle,
      content: t.confirmBody(
        f.number(quote.quote.debited),
        f.number(quote.quote.credited),
        target.programName,
      ),
      ok: t.ok,
      cancel: t.cancel,
      onOk: () => void convertNow(),
    });
  };

  const convertNow = async () => {
    if (!quote || !target) return;
    setBusy(true);
    setProblem(null);
    const answer = await api.POST('/v1/portal/conversions', {
      body: { to: target.programId, points: Number(amount), requestId: quote.requestId },
    });
    setBusy(false);
    if (answer.error || !answer.data) return fail(answer.error);
    setDone(answer.data);
    setQuote(null);
    setAmount('');
    onChanged();
    void exchange.reload();
    void history.reload();
  };

  if (!e) return exchange.failed ? <Empty description={t.failed} /> : <Spinner />;

  if (done) {
    return (
      <div className="section" data-testid="convert-done">
        <Result
          status="success"
          title={t.done}
          description={t.doneBody(f.number(done.credited), target?.programName ?? done.to)}
        />
        <Button block color="primary" onClick={() => setDone(null)}>
          {t.again}
        </Button>
      </div>
    );
  }

  return (
    <div data-testid="exchange">
      <Confirm asking={asking} onClose={() => setAsking(null)} />
      <div className="section note">{t.intro(f.number(e.available), e.pointsName)}</div>
      {targets.length === 0 ? (
        <Empty description={t.none} />
      ) : (
        <>
          <List header={t.target} className="section">
            <List.Item>
              <Selector
                columns={1}
                value={to ? [to] : []}
                onChange={(v) => {
                  setTo(v[0]);
                  setQuote(null);
                }}
                options={targets.map((x) => ({
                  value: x.programId,
                  label: x.programName,
                  description: x.enrolled
                    ? `${x.pointsName} · ${t.rate(f.number(x.rate.fromPointsPerHubUnit), f.number(x.rate.toPointsPerHubUnit))}`
                    : t.notMember,
                  disabled: !x.enrolled,
                }))}
                data-testid="convert-target"
              />
            </List.Item>
          </List>
          {target && (
            <List header={t.amount(e.pointsName)} className="section">
              <List.Item
                description={t.limits(
                  f.number(target.minPoints),
                  f.number(target.maxPoints),
                  f.number(target.feePercent),
                )}
              >
                <Input
                  type="number"
                  inputMode="numeric"
                  placeholder={t.amountPlaceholder}
                  value={amount}
                  onChange={(v) => {
                    setAmount(v.replace(/\D/g, ''));
                    setQuote(null);
                  }}
                  data-testid="convert-points"
                />
              </List.Item>
            </List>
          )}
          {quote && target && (
            <List className="section" data-testid="convert-quote">
              <List.Item extra={<b data-testid="quote-debited">{f.number(quote.quote.debited)}</b>}>
                {t.debited}
              </List.Item>
              <List.Item extra={<span data-testid="quote-fee">{f.number(quote.quote.fee)}</span>}>
                {t.fee}
              </List.Item>
              <List.Item
                extra={
                  <b className="plus" data-testid="quote-credited">
                    {f.number(quote.quote.credited)}
                  </b>
                }
              >
                {`${t.credited} · ${target.pointsName}`}
              </List.Item>
              <List.Item extra={f.number(quote.quote.dailyRemaining)}>{t.dailyRemaining}</List.Item>
            </List>
          )}
          <Problem text={problem} />
          <div className="section">
            {quote ? (
              <Button
                block
                color="primary"
                loading={busy}
                onClick={confirm}
                data-testid="convert-confirm"
              >
                {t.confirm}
              </Button>
            ) : (
              <Button
                block
                color="primary"
                fill="outline"
                loading={busy}
                disabled={!target || !amount}
                onClick={ask}
                data-testid="convert-quote-button"
              >
                {t.quote}
              </Button>
            )}
          </div>
        </>
      )}
      <List header={t.history} className="section" data-testid="convert-history">
        {(history.data?.data ?? []).length === 0 ? (
          <List.Item>{t.noHistory}</List.Item>
        ) : (
          history.data?.data.map((c) => (
            <List.Item
              key={c.conversionId}
              description={f.dateTime(c.createdAt)}
              extra={
                <span>
                  <span className="minus">{`−${f.number(c.debited)}`}</span>
                  {' → '}
                  <span className="plus">{`+${f.number(c.credited)}`}</span>
                </span>
              }
            >
              {`${c.from} → ${c.to}`}
            </List.Item>
          ))
        )}
      </List>
    </div>
  );
}

/** The coalition's benefits pool: what the member may claim, and the codes they hold, as QR. */
export function PoolView({ token }: { token: string }) {
  const t = useT(portalCoalition).pool;
  const kinds = useT(portalCoalition).kinds;
  const f = useFormat();
  const api = useClient(token);
  const pool = useLoad(useCallback(async () => (await api.GET('/v1/portal/pool')).data, [api]));
  const [busy, setBusy] = useState<string | null>(null);
  const [shown, setShown] = useState<Claim | null>(null);
  const [asking, setAsking] = useState<Asking | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  const claim = (benefitId: string, name: string) =>
    setAsking({
      title: t.confirmTitle,
      content: t.confirmBody(name),
      ok: t.ok,
      cancel: t.cancel,
      // One id per confirmation: a retry of this one claims once.
      onOk: () => void claimNow(benefitId, uuid()),
    });

  const claimNow = async (benefitId: string, requestId: string) => {
    setBusy(benefitId);
    setProblem(null);
    const answer = await api.POST('/v1/portal/pool/{benefitId}/claim', {
      params: { path: { benefitId } },
      body: { requestId },
    });
    setBusy(null);
    if (answer.error || !answer.data) {
      setProblem(t.problems[codeOf(answer.error) ?? ''] ?? t.failed);
      return;
    }
    setShown({ ...answer.data, benefitName: answer.data.benefit.name });
    void pool.reload();
  };

  const p = pool.data;
  if (!p) return pool.failed ? <Empty description={t.failed} /> : <Spinner />;
  return (
    <div data-testid="pool">
      <Confirm asking={asking} onClose={() => setAsking(null)} />
      <div className="section note">{t.intro}</div>
      <Problem text={problem} />
      <List header={t.claimable} className="section">
        {p.claimable.length === 0 ? (
          <List.Item>{t.none}</List.Item>
        ) : (
          p.claimable.map((b) => (
            <List.Item
              key={b.benefitId}
              description={[
                t.left(f.number(b.left)),
                b.validUntil ? t.validUntil(f.date(b.validUntil)) : '',
              ]
                .filter(Boolean)
                .join(' · ')}
              extra={
                <Button
                  size="small"
                  color="primary"
                  loading={busy === b.benefitId}
                  onClick={() => claim(b.benefitId, b.name)}
                  data-testid={`pool-claim-${b.benefitId}`}
                >
                  {t.claim}
                </Button>
              }
            >
              <Tag color="primary" fill="outline" style={{ marginRight: 6 }}>
                {kinds[b.kind] ?? kinds.other}
              </Tag>
              {b.name}
            </List.Item>
          ))
        )}
      </List>
      <List header={t.mine} className="section" data-testid="pool-codes">
        {p.claims.length === 0 ? (
          <List.Item>{t.noCodes}</List.Item>
        ) : (
          p.claims.map((c) => (
            <CodeItem
              key={c.id}
              code={c.code}
              usable={c.status === 'claimed'}
              status={t.status[c.status] ?? c.status}
              testId="pool-code"
              onShow={() => setShown(c)}
            >
              {c.benefitName ?? c.benefitId}
            </CodeItem>
          ))
        )}
      </List>
      {shown && (
        <CodeDialog
          title={shown.benefitName ?? t.code}
          code={shown.code}
          note={shown.expiresAt && t.expires(f.date(shown.expiresAt))}
          closeText={t.close}
          testId="pool-code"
          onClose={() => setShown(null)}
        />
      )}
    </div>
  );
}

/** A code the member holds, in a list: while it can still be used, a tap shows it. */
export function CodeItem({
  code,
  usable,
  status,
  note,
  testId,
  itemTestId,
  onShow,
  children,
}: {
  code: string;
  usable: boolean;
  status: string;
  note?: ReactNode;
  /** The code's data-testid. */
  testId: string;
  itemTestId?: string;
  onShow: () => void;
  children: ReactNode;
}) {
  return (
    <List.Item
      clickable={usable}
      onClick={usable ? onShow : undefined}
      data-testid={itemTestId}
      description={
        <>
          <span className="code-text" data-testid={testId}>
            {code}
          </span>
          {note && <div>{note}</div>}
        </>
      }
      extra={<Tag color={usable ? 'success' : 'default'}>{status}</Tag>}
    >
      {children}
    </List.Item>
  );
}

/**
 * A code shown to the cashier, large and as a QR code to scan. `testId` names the dialog
 * (`<testId>-shown`) and the code in it (`<testId>-value`).
 */
export function CodeDialog({
  title,
  code,
  note,
  closeText,
  testId,
  onClose,
}: {
  title: ReactNode;
  code: string;
  note?: ReactNode;
  closeText: string;
  testId: string;
  onClose: () => void;
}) {
  return (
    <Dialog
      visible
      title={title}
      onClose={onClose}
      closeOnMaskClick
      content={
        <div className="code-dialog" data-testid={`${testId}-shown`}>
          <QRCodeSVG value={code} size={180} />
          <div className="code-text" data-testid={`${testId}-value`}>
            {code}
          </div>
          {note && <div className="note">{note}</div>}
        </div>
      }
      actions={[{ key: 'close', text: closeText, onClick: onClose }]}
    />
  );
}

export function Spinner() {
  return (
    <div style={{ display: 'flex', justifyContent: 'center', padding: 48 }}>
      <SpinLoading />
    </div>
  );
}
