import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { member } from '../../test/ledger-helpers.ts';
import { localDateString } from './expiry.core.ts';
import { pointsLedger } from './ledger.core.ts';
import {
  balanceOf,
  capture,
  credit,
  debit,
  hold,
  linked,
  release,
  sweepExpired,
} from './ledger.service.ts';
import { reconcile } from './reconcile.ts';

// The ledger against a reference model: random sequences of credits, redemptions, holds,
// captures, releases, linked credits and debits, expiry sweeps and clock moves. After every step
// each member's balance, available, pending and held points match the model, and every invariant
// holds.

const DAY = 86_400_000;
const EXPIRY_DAYS = 30;

interface MLot {
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

/** The simplest ledger that could work: lots per member, drawn soonest-expiry first. */
class Model {
  now: number;
  seq = 0;
  lots: MLot[][] = [[], [], []];
  holds: MHold[] = [];
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
  credit(m: number, n: number, pendingDays: number) {
    this.lots[m]?.push({
      seq: this.seq++,
      remaining: n,
      expiresAt: this.now + EXPIRY_DAYS * DAY,
      pendingUntil: pendingDays ? this.now + pendingDays * DAY : null,
      createdAt: this.now,
    });
  }
  draw(m: number, n: number): [MLot, number][] | null {
    const lots = this.order((this.lots[m] ?? []).filter((l) => this.usable(l)));
    if (lots.reduce((s, l) => s + l.remaining, 0) < n) return null;
    const draws: [MLot, number][] = [];
    let left = n;
    for (const l of lots) {
      const take = Math.min(l.remaining, left);
      if (take === 0) continue;
      l.remaining -= take;
      draws.push([l, take]);
      left -= take;
    }
    return draws;
  }
  /** Credits and debits that all apply or none. */
  linked(parts: { m: number; n: number; credit: boolean }[]): boolean {
    const saved = this.lots.flat().map((l) => [l, l.remaining] as const);
    const lengths = this.lots.map((ls) => ls.length);
    const seq = this.seq;
    for (const p of parts) {
      if (p.credit) this.credit(p.m, p.n, 0);
      else if (!this.draw(p.m, p.n)) {
        for (const [l, remaining] of saved) l.remaining = remaining;
        this.lots.forEach((ls, i) => {
          ls.length = lengths[i] ?? 0;
        });
        this.seq = seq;
        return false;
      }
    }
    return true;
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
  | { kind: 'credit'; m: number; n: number; pendingDays: number }
  | { kind: 'redeem'; m: number; n: number }
  | { kind: 'hold'; m: number; n: number; ttlMinutes: number }
  | { kind: 'capture'; h: number; n: number | null }
  | { kind: 'release'; h: number }
  | { kind: 'linked'; parts: { m: number; n: number; credit: boolean }[] }
  | { kind: 'advance'; minutes: number }
  | { kind: 'sweep' };

const member3 = fc.integer({ min: 0, max: 2 });
const amount = fc.integer({ min: 1, max: 120 });
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('credit' as const),
      m: member3,
      n: amount,
      pendingDays: fc.constantFrom(0, 0, 3),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('redeem' as const), m: member3, n: amount }),
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
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('linked' as const),
      parts: fc.array(fc.record({ m: member3, n: amount, credit: fc.boolean() }), {
        minLength: 2,
        maxLength: 3,
      }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      minutes: fc.integer({ min: 1, max: 20 * 24 * 60 }),
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
      fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 25 }), async (actions) => {
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
        for (const a of actions) {
          const memberId = members[(a as { m?: number }).m ?? 0] as string;
          switch (a.kind) {
            case 'credit': {
              const pendingUntil = a.pendingDays
                ? new Date(t.clock.now().getTime() + a.pendingDays * DAY)
                : null;
              await credit(t.deps, {
                ledger,
                memberId,
                points: a.n,
                code: 'earn',
                reference: null,
                pendingUntil,
                commandId: cmd(),
              });
              model.credit(a.m, a.n, a.pendingDays);
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
              expect(real.ok, JSON.stringify(a)).toBe(expected !== null);
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
              expect(real.ok, JSON.stringify(a)).toBe(draws !== null);
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
                expect(real.ok, `${JSON.stringify(a)} ${h.status}`).toBe(ok);
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
              const real = await outcome(
                linked(t.deps, {
                  commandId: cmd(),
                  parts: a.parts.map((p) => ({
                    type: p.credit ? 'credit' : 'debit',
                    ledger,
                    memberId: members[p.m] as string,
                    points: p.n,
                    code: p.credit ? 'earn' : 'redeem',
                    reference: null,
                  })),
                }),
              );
              expect(real.ok, JSON.stringify(a)).toBe(model.linked(a.parts));
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
            expect(real, `member ${i} after ${JSON.stringify(a)}`).toEqual(model.view(i));
          }
          const report = await reconcile(t.deps);
          expect(report.checks.filter((c) => !c.held)).toEqual([]);
        }
      }),
      { numRuns: 40 },
    );
  }, 240_000);
});
