import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { member } from '../../test/ledger-helpers.ts';
import { localDateString } from './expiry.core.ts';
import { pointsLedger, type SystemKind } from './ledger.core.ts';
import {
  balanceOf,
  capture,
  credit,
  debit,
  hold,
  type LinkedPartInput,
  limitsUsed,
  linked,
  release,
  sweepExpired,
  systemAccountsOf,
  type TransferResult,
} from './ledger.service.ts';
import { reconcile } from './reconcile.ts';

// The ledger against a reference model: random sequences of credits (plain, or in shares under
// limit counters, partial or not), redemptions, debits from named lots (pending or not, `only`,
// `pendingOnly`, at most, with a write-off), holds, captures, releases, linked commands of any of
// those credits and debits, expiry sweeps and clock moves. After every step each member's
// balance, available, pending and held points match the model, the counters match it and stay
// under their max, every write-off is one transfer from the adjustment account, and every
// invariant holds.

const DAY = 86_400_000;
const EXPIRY_DAYS = 30;
/** Limit counters the credits in shares count against, with their max. */
const CAPS = { a: 150, b: 260, c: 90 } as const;
type Cap = keyof typeof CAPS;
const CAP_NAMES = Object.keys(CAPS) as Cap[];
const capKey = (k: Cap) => `cap:${k}`;

interface MLot {
  /** The real lot's id (its credit's transfer id), once the real credit has made it. */
  id: string;
  member: number;
  seq: number;
  remaining: number;
  expiresAt: number;
  pendingUntil: number | null;
  createdAt: number;
}
interface MHold {
  id: string | null;
  member: number;
  amount: number;
  status: 'pending' | 'captured' | 'released' | 'expired';
  expiresAt: number;
  draws: [MLot, number][];
}

type MShare = { n: number; caps: Cap[] };
interface CreditPart {
  credit: true;
  m: number;
  n: number;
  pendingDays: number;
  /** Null: a plain credit of `n`; else the credit is their sum, each under its caps. */
  shares: MShare[] | null;
  partial: boolean;
}
interface DebitPart {
  credit: false;
  m: number;
  n: number;
  to: 'redemption' | 'issuance' | 'adjustment';
  /**
   * The lots named, each the `back`-th latest of the member's own lots or (not `own`) of every
   * lot made so far, of any member; null: no lots named.
   */
  lots: { own: boolean; back: number }[] | null;
  only: boolean;
  pendingOnly: boolean;
  atMost: boolean;
  writeOff: boolean;
}
type Part = CreditPart | DebitPart;

/** What the model expects of a credit or a debit that applies. */
type Expected =
  | { credit: true; points: number; shares: number[] | undefined; lot: MLot | null }
  | { credit: false; points: number; writtenOff: number | undefined; to: DebitPart['to'] };

/** The simplest ledger that could work: lots per member, drawn soonest-expiry first. */
class Model {
  now: number;
  seq = 0;
  lots: MLot[][] = [[], [], []];
  /** Every lot, in the order made: what a debit's named lots are picked from. */
  made: MLot[] = [];
  holds: MHold[] = [];
  /** What each cap's counter has counted: the sum of the credited shares under it. */
  counters = new Map<Cap, number>();
  constructor(now: number) {
    this.now = now;
  }
  usable(l: MLot) {
    return (
      l.remaining > 0 &&
      (l.pendingUntil === null || l.pendingUntil <= this.now) &&
      l.expiresAt > this.now
    );
  }
  order(lots: MLot[]) {
    return [...lots].sort(
      (a, b) => a.expiresAt - b.expiresAt || a.createdAt - b.createdAt || a.seq - b.seq,
    );
  }
  /** A lot of `n` (none for nothing); its id comes from the real credit. */
  lot(m: number, n: number, pendingDays: number): MLot | null {
    if (n === 0) return null;
    const lot: MLot = {
      id: '',
      member: m,
      seq: this.seq++,
      remaining: n,
      expiresAt: this.now + EXPIRY_DAYS * DAY,
      pendingUntil: pendingDays ? this.now + pendingDays * DAY : null,
      createdAt: this.now,
    };
    this.lots[m]?.push(lot);
    this.made.push(lot);
    return lot;
  }
  credit(m: number, n: number, pendingDays: number) {
    return this.lot(m, n, pendingDays);
  }
  /**
   * Each share cut to what its caps leave, counting the shares before it; without `partial` a
   * share cut refuses the whole credit (null).
   */
  creditShares(m: number, shares: MShare[], partial: boolean, pendingDays: number) {
    const used = new Map<Cap, number>();
    const credited: number[] = [];
    for (const s of shares) {
      const left = s.caps.map((k) =>
        Math.max(0, CAPS[k] - (this.counters.get(k) ?? 0) - (used.get(k) ?? 0)),
      );
      const n = Math.min(s.n, ...left);
      if (n < s.n && !partial) return null;
      for (const k of s.caps) used.set(k, (used.get(k) ?? 0) + n);
      credited.push(n);
    }
    for (const [k, n] of used) this.counters.set(k, (this.counters.get(k) ?? 0) + n);
    const points = credited.reduce((s, n) => s + n, 0);
    return { points, shares: credited, lot: this.lot(m, points, pendingDays) };
  }
  /**
   * The lots a debit draws from, in order: the named lots of the member (once each, pending or
   * not, not expired; with `pendingOnly` only those still pending), then, unless it takes from
   * them alone, the spendable ones soonest-expiry first.
   */
  drawable(m: number, named?: { lots: MLot[]; only: boolean; pendingOnly: boolean }) {
    const first = [...new Set(named?.lots ?? [])].filter(
      (l) =>
        l.member === m &&
        l.remaining > 0 &&
        l.expiresAt > this.now &&
        (!named?.pendingOnly || (l.pendingUntil !== null && l.pendingUntil > this.now)),
    );
    if (named?.only || named?.pendingOnly) return first;
    return [
      ...first,
      ...this.order((this.lots[m] ?? []).filter((l) => !first.includes(l) && this.usable(l))),
    ];
  }
  /** Draws `n` (at most: what there is, up to `n`), or null when there is not enough. */
  draw(
    m: number,
    n: number,
    named?: { lots: MLot[]; only: boolean; pendingOnly: boolean },
    atMost = false,
  ): [MLot, number][] | null {
    const lots = this.drawable(m, named);
    const available = lots.reduce((s, l) => s + l.remaining, 0);
    if (!atMost && available < n) return null;
    const draws: [MLot, number][] = [];
    let left = Math.min(n, available);
    for (const l of lots) {
      const take = Math.min(l.remaining, left);
      if (take === 0) continue;
      l.remaining -= take;
      draws.push([l, take]);
      left -= take;
    }
    return draws;
  }
  /**
   * The lots a debit names, picked from every lot made before the command (a linked command's
   * parts cannot name the lots its own credits make).
   */
  named(p: Part): MLot[] | null {
    if (p.credit || !p.lots) return null;
    return p.lots.flatMap(({ own, back }) => {
      const lots = own ? (this.lots[p.m] ?? []) : this.made;
      return lots.length ? [lots[lots.length - 1 - (back % lots.length)] as MLot] : [];
    });
  }
  /** A credit or debit part (a debit's named lots picked already): what it does, or the refusal. */
  apply(p: Part, lots: MLot[] | null): Expected | { refused: string } {
    if (p.credit) {
      if (!p.shares) {
        return {
          credit: true,
          points: p.n,
          shares: undefined,
          lot: this.credit(p.m, p.n, p.pendingDays),
        };
      }
      const r = this.creditShares(p.m, p.shares, p.partial, p.pendingDays);
      return r ? { credit: true, ...r } : { refused: 'limit_reached' };
    }
    const named = lots ? { lots, only: p.only, pendingOnly: p.pendingOnly } : undefined;
    const draws = this.draw(p.m, p.n, named, p.atMost);
    if (!draws) return { refused: 'insufficient_points' };
    const points = draws.reduce((s, [, n]) => s + n, 0);
    return {
      credit: false,
      points,
      writtenOff: p.writeOff ? p.n - points : undefined,
      to: p.to,
    };
  }
  /** Credits and debits that all apply or none. */
  linked(parts: Part[], named: (MLot[] | null)[]): Expected[] | { refused: string } {
    const saved = this.made.map((l) => [l, l.remaining] as const);
    const lengths = this.lots.map((ls) => ls.length);
    const made = this.made.length;
    const seq = this.seq;
    const counters = new Map(this.counters);
    const out: Expected[] = [];
    for (const [i, p] of parts.entries()) {
      const e = this.apply(p, named[i] ?? null);
      if ('refused' in e) {
        for (const [l, remaining] of saved) l.remaining = remaining;
        this.lots.forEach((ls, i) => {
          ls.length = lengths[i] ?? 0;
        });
        this.made.length = made;
        this.seq = seq;
        this.counters = counters;
        return e;
      }
      out.push(e);
    }
    return out;
  }
  restore(h: MHold, n: number) {
    let left = n;
    for (const [l, took] of [...h.draws].reverse()) {
      const give = Math.min(took, left);
      l.remaining += give;
      left -= give;
    }
  }
  sweep() {
    for (const h of this.holds) {
      if (h.status === 'pending' && h.expiresAt <= this.now) {
        this.restore(h, h.amount);
        h.status = 'expired';
      }
    }
    for (const lots of this.lots)
      for (const l of lots) if (l.expiresAt <= this.now) l.remaining = 0;
  }
  view(m: number) {
    const lots = this.lots[m] ?? [];
    const held = this.holds
      .filter((h) => h.member === m && h.status === 'pending')
      .reduce((s, h) => s + h.amount, 0);
    const live = lots.filter((l) => l.expiresAt > this.now);
    const balance = live.reduce((s, l) => s + l.remaining, 0) + held;
    const pending = live
      .filter((l) => l.pendingUntil !== null && l.pendingUntil > this.now)
      .reduce((s, l) => s + l.remaining, 0);
    const byDate = new Map<string, number>();
    for (const l of live) {
      if (l.remaining === 0) continue;
      const date = localDateString(new Date(l.expiresAt - 1), 'Asia/Shanghai');
      byDate.set(date, (byDate.get(date) ?? 0) + l.remaining);
    }
    const expiring = [...byDate.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([date, points]) => ({ date, points }));
    return { balance, held, pending, available: balance - held - pending, expiring };
  }
}

type Action =
  | ({ kind: 'credit' } & CreditPart)
  | { kind: 'redeem'; m: number; n: number }
  | ({ kind: 'take' } & DebitPart)
  | { kind: 'hold'; m: number; n: number; ttlMinutes: number }
  | { kind: 'capture'; h: number; n: number | null }
  | { kind: 'release'; h: number }
  | { kind: 'linked'; parts: Part[] }
  | { kind: 'advance'; minutes: number }
  | { kind: 'sweep' };

const member3 = fc.integer({ min: 0, max: 2 });
const amount = fc.integer({ min: 1, max: 120 });
const shares = fc.array(fc.record({ n: amount, caps: fc.subarray(CAP_NAMES) }), {
  minLength: 1,
  maxLength: 3,
});
const creditPart = (withShares: boolean): fc.Arbitrary<CreditPart> =>
  fc.record({
    credit: fc.constant(true as const),
    m: member3,
    n: amount,
    // A purchase's points wait out its return window.
    pendingDays: withShares ? fc.constantFrom(0, 3, 10) : fc.constantFrom(0, 0, 3),
    shares: withShares ? shares : fc.constant(null),
    partial: withShares ? fc.boolean() : fc.constant(false),
  });
const debitPart: fc.Arbitrary<DebitPart> = fc.record({
  credit: fc.constant(false as const),
  m: member3,
  n: amount,
  to: fc.constantFrom(
    'issuance' as const,
    'issuance' as const,
    'redemption' as const,
    'adjustment' as const,
  ),
  lots: fc.option(
    fc.array(fc.record({ own: fc.constantFrom(true, true, false), back: fc.nat(5) }), {
      minLength: 1,
      maxLength: 3,
    }),
    { nil: null, freq: 4 },
  ),
  only: fc.constantFrom(false, false, true),
  pendingOnly: fc.constantFrom(false, false, true),
  atMost: fc.constantFrom(false, true, true),
  writeOff: fc.constantFrom(false, true, true),
});
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: creditPart(false).map((p) => ({ kind: 'credit' as const, ...p })),
  },
  {
    weight: 3,
    arbitrary: creditPart(true).map((p) => ({ kind: 'credit' as const, ...p })),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('redeem' as const), m: member3, n: amount }),
  },
  {
    weight: 3,
    arbitrary: debitPart.map((p) => ({ kind: 'take' as const, ...p })),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('hold' as const),
      m: member3,
      n: amount,
      ttlMinutes: fc.integer({ min: 1, max: 3000 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('capture' as const),
      h: fc.nat(20),
      n: fc.option(amount, { nil: null }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), h: fc.nat(20) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('linked' as const),
      parts: fc.array(fc.oneof(creditPart(false), creditPart(true), debitPart), {
        minLength: 2,
        maxLength: 3,
      }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      minutes: fc.oneof(
        fc.integer({ min: 1, max: 24 * 60 }),
        fc.integer({ min: 1, max: 20 * 24 * 60 }),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sweep' as const) }) },
);

let t: TestContext;
let run = 0;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

async function outcome<T>(
  p: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; code: string }> {
  try {
    return { ok: true, value: await p };
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (!code) throw e;
    return { ok: false, code };
  }
}

describe('ledger against a reference model', () => {
  it('agrees after every step, and every invariant holds', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 30 }), async (actions) => {
        const programId = `model-${run++}`;
        await t.program(programId);
        await t.call({
          method: 'PATCH',
          url: `/v1/programs/${programId}`,
          payload: { pointsExpiry: { kind: 'rolling', days: EXPIRY_DAYS } },
        });
        const members = [
          await member(t, programId, `1380000${String(run).padStart(4, '0')}`),
          await member(t, programId, `1381000${String(run).padStart(4, '0')}`),
          await member(t, programId, `1382000${String(run).padStart(4, '0')}`),
        ];
        const model = new Model(t.clock.now().getTime());
        let n = 0;
        const cmd = () => `${programId}-${n++}`;
        const ledger = pointsLedger(programId);
        const system = await systemAccountsOf(t.deps, ledger);
        const kindOf = new Map([...system].map(([kind, id]) => [id, kind]));

        /** The service's input for a credit or debit part. */
        const input = (p: Part, named: MLot[] | null): LinkedPartInput => {
          const base = { ledger, memberId: members[p.m] as string, reference: null };
          if (p.credit) {
            const pendingUntil = p.pendingDays
              ? new Date(t.clock.now().getTime() + p.pendingDays * DAY)
              : null;
            return p.shares
              ? {
                  ...base,
                  type: 'credit',
                  code: 'earn',
                  points: p.shares.reduce((s, x) => s + x.n, 0),
                  pendingUntil,
                  partial: p.partial,
                  shares: p.shares.map((s) => ({
                    amount: s.n,
                    limits: s.caps.map((k) => ({ key: capKey(k), max: CAPS[k] })),
                  })),
                }
              : { ...base, type: 'credit', code: 'earn', points: p.n, pendingUntil };
          }
          return {
            ...base,
            type: 'debit',
            code: p.to === 'issuance' ? 'reverse' : p.to === 'redemption' ? 'redeem' : 'adjust',
            to: p.to,
            points: p.n,
            ...(p.atMost && { atMost: true }),
            ...(p.writeOff && { writeOff: true }),
            ...(named && {
              lots: {
                ids: named.map((l) => l.id),
                ...(p.only && { only: true }),
                ...(p.pendingOnly && { pendingOnly: true }),
              },
            }),
          };
        };

        /** A credit's or debit's result against what the model expected of it. */
        const agree = (r: Omit<TransferResult, 'replayed'>, e: Expected, what: string) => {
          expect(r.points, what).toBe(e.points);
          expect(r.transferId === null, what).toBe(e.points === 0);
          if (e.credit) {
            expect(r.shares, what).toEqual(e.shares);
            // Each credit's shares add up to its points.
            if (r.shares)
              expect(
                r.shares.reduce((s, x) => s + x, 0),
                what,
              ).toBe(r.points);
            if (e.lot) e.lot.id = r.transferId as string;
          } else {
            expect(r.writtenOff, what).toBe(e.writtenOff);
          }
        };

        /**
         * A command's write-offs: its transfers out of the adjustment account are exactly one for
         * each debit that wrote off points to another account, of what it wrote off.
         */
        const expectWriteOffs = async (commandId: string, expected: Expected[], what: string) => {
          const rows = await t.deps.db
            .selectFrom('ledger_transfers')
            .select(['credit_account_id', 'amount'])
            .where('command_id', '=', commandId)
            .where('debit_account_id', '=', system.get('adjustment') as string)
            .execute();
          const real = rows
            .map((r) => `${kindOf.get(r.credit_account_id) as SystemKind}:${Number(r.amount)}`)
            .sort();
          const want = expected
            .flatMap((e) =>
              !e.credit && e.writtenOff && e.to !== 'adjustment' ? [`${e.to}:${e.writtenOff}`] : [],
            )
            .sort();
          expect(real, what).toEqual(want);
        };
        const transfersOf = async (commandId: string) =>
          (
            await t.deps.db
              .selectFrom('ledger_transfers')
              .select('id')
              .where('command_id', '=', commandId)
              .execute()
          ).length;

        for (const a of actions) {
          const memberId = members[(a as { m?: number }).m ?? 0] as string;
          const what = JSON.stringify(a);
          switch (a.kind) {
            case 'credit':
            case 'take': {
              const id = cmd();
              const named = model.named(a);
              const { type, ...rest } = input(a, named);
              const real = await outcome(
                type === 'credit'
                  ? credit(t.deps, { ...rest, commandId: id })
                  : debit(t.deps, { ...rest, commandId: id }),
              );
              const expected = model.apply(a, named);
              if ('refused' in expected) {
                expect(real, what).toEqual({ ok: false, code: expected.refused });
                expect(await transfersOf(id), what).toBe(0);
              } else {
                expect(real, what).toMatchObject({ ok: true });
                if (real.ok) agree(real.value, expected, what);
                await expectWriteOffs(id, [expected], what);
              }
              break;
            }
            case 'redeem': {
              const real = await outcome(
                debit(t.deps, {
                  ledger,
                  memberId,
                  points: a.n,
                  code: 'redeem',
                  reference: null,
                  commandId: cmd(),
                }),
              );
              const expected = model.draw(a.m, a.n);
              expect(real.ok, what).toBe(expected !== null);
              break;
            }
            case 'hold': {
              const real = await outcome(
                hold(t.deps, {
                  ledger,
                  memberId,
                  points: a.n,
                  reference: null,
                  expiresInSeconds: a.ttlMinutes * 60,
                  commandId: cmd(),
                }),
              );
              const draws = model.draw(a.m, a.n);
              expect(real.ok, what).toBe(draws !== null);
              if (real.ok && draws) {
                model.holds.push({
                  id: real.value.hold?.id ?? null,
                  member: a.m,
                  amount: a.n,
                  status: 'pending',
                  expiresAt: model.now + a.ttlMinutes * 60_000,
                  draws,
                });
              }
              break;
            }
            case 'capture':
            case 'release': {
              const h = model.holds[a.h % Math.max(1, model.holds.length)];
              if (!h?.id) break;
              const owner = members[h.member] as string;
              if (a.kind === 'capture') {
                const real = await outcome(
                  capture(t.deps, {
                    ledger,
                    memberId: owner,
                    holdId: h.id,
                    points: a.n,
                    commandId: cmd(),
                  }),
                );
                const want = a.n ?? h.amount;
                const ok = h.status === 'pending' && h.expiresAt > model.now && want <= h.amount;
                expect(real.ok, `${what} ${h.status}`).toBe(ok);
                if (ok) {
                  model.restore(h, h.amount - want);
                  h.status = 'captured';
                }
              } else {
                const real = await outcome(
                  release(t.deps, { ledger, memberId: owner, holdId: h.id, commandId: cmd() }),
                );
                expect(real.ok).toBe(h.status === 'pending');
                if (h.status === 'pending') {
                  model.restore(h, h.amount);
                  h.status = 'released';
                }
              }
              break;
            }
            case 'linked': {
              const id = cmd();
              const named = a.parts.map((p) => model.named(p));
              const real = await outcome(
                linked(t.deps, {
                  commandId: id,
                  parts: a.parts.map((p, i) => input(p, named[i] ?? null)),
                }),
              );
              const expected = model.linked(a.parts, named);
              if ('refused' in expected) {
                // All or nothing: refused with the first failing part's reason, nothing moved.
                expect(real, what).toEqual({ ok: false, code: expected.refused });
                expect(await transfersOf(id), what).toBe(0);
              } else {
                expect(real, what).toMatchObject({ ok: true });
                if (real.ok) {
                  expect(real.value.parts, what).toHaveLength(expected.length);
                  for (const [i, e] of expected.entries()) {
                    agree(real.value.parts[i] as TransferResult, e, `part ${i} of ${what}`);
                  }
                }
                await expectWriteOffs(id, expected, what);
              }
              break;
            }
            case 'advance':
              t.clock.advance(a.minutes * 60_000);
              model.now = t.clock.now().getTime();
              break;
            case 'sweep':
              await sweepExpired(t.deps);
              model.sweep();
              break;
          }
          for (const [i, id] of members.entries()) {
            const real = await balanceOf(t.deps, ledger, id);
            expect(real, `member ${i} after ${what}`).toEqual(model.view(i));
          }
          // Each counter is the sum of the shares credited under it, never above its max.
          const used = await limitsUsed(t.deps, ledger, CAP_NAMES.map(capKey));
          for (const k of CAP_NAMES) {
            const real = used.get(capKey(k)) ?? 0;
            expect(real, `counter ${k} after ${what}`).toBe(model.counters.get(k) ?? 0);
            expect(real).toBeLessThanOrEqual(CAPS[k]);
          }
          // The invariants, over this run's ledger: a run that broke one (while a counterexample
          // shrinks) must not fail the runs after it.
          const accounts = await t.deps.db
            .selectFrom('ledger_accounts')
            .select('id')
            .where('ledger', '=', ledger)
            .execute();
          const ours = new Set([
            ledger,
            ...members,
            ...accounts.map((r) => r.id),
            ...model.made.map((l) => l.id),
            ...model.holds.flatMap((h) => (h.id ? [h.id] : [])),
          ]);
          const report = await reconcile(t.deps);
          const broken = report.checks
            .map((c) => ({
              ...c,
              offending: c.offending.filter((row) =>
                Object.values(row).some((v) => ours.has(String(v))),
              ),
            }))
            .filter((c) => c.offending.length > 0);
          expect(broken, `after ${what}`).toEqual([]);
        }
      }),
      { numRuns: 60 },
    );
  }, 240_000);
});
