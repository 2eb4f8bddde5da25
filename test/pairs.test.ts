import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from './harness.ts';
import { adjust, expectReconciled, joinExchange, member, pointsUrl } from './ledger-helpers.ts';

// Every pair of operations on one member, run at the same time, round after round: no 5xx, no
// deadlock (PostgreSQL counts them), no points left on a member merged away, and the ledger
// reconciles. This is what the lock order (README, "Lock order") is for.

let t: TestContext;
let phones = 0;
const phone = () => `131${String(phones++).padStart(8, '0')}`;

interface Round {
  /** The member every operation is about. */
  m: string;
  /** Another member, for a merge of `m` into it. */
  survivor: string;
  phone: string;
  hold: string;
  /** A purchase of the member's made before the round, to return. */
  purchase: string;
}

type Op = (r: Round) => Promise<{ statusCode: number; body: string }>;

const post = (url: string, payload?: object) =>
  t.call({ method: 'POST', url, ...(payload && { payload }) });

const OPS: Record<string, Op> = {
  merge: (r) => post(`/v1/members/${r.survivor}/merge`, { from: r.m }),
  erase: (r) => post(`/v1/members/${r.m}/erase`),
  profile: (r) =>
    t.call({ method: 'PATCH', url: `/v1/programs/pair/members/${r.m}`, payload: { name: '王芳' } }),
  activate: (r) =>
    post(`/v1/programs/pair/members/${r.m}/activate`, {
      name: '王芳',
      birthday: '1990-01-01',
      gender: 'female',
    }),
  block: (r) => post(`/v1/programs/pair/members/${r.m}/block`, { reason: 'pairs' }),
  enroll: (r) =>
    post('/v1/programs/pair/members', {
      identifiers: [
        { type: 'phone', value: r.phone },
        { type: 'email', value: `${r.m}@pairs.cn` },
      ],
      channel: 'app',
    }),
  credit: (r) => post(`${pointsUrl('pair', r.m)}/adjustments`, { points: 5, reason: 'pairs' }),
  redemption: (r) => post(`${pointsUrl('pair', r.m)}/redemptions`, { points: 3, reference: 'p' }),
  hold: (r) => post(`${pointsUrl('pair', r.m)}/holds`, { points: 2 }),
  capture: (r) => post(`${pointsUrl('pair', r.m)}/holds/${r.hold}/capture`),
  // Growth moves a tier and writes events in the ledger's batch; a benefit use and an override
  // lock the member's tier row in transactions of their own.
  growth: (r) =>
    post(`/v1/programs/pair/members/${r.m}/growth`, { source: 'spend', value: 10, reference: 'g' }),
  benefit: (r) => post(`/v1/programs/pair/members/${r.m}/benefits/gift/use`, { reference: 'b' }),
  // A purchase earns points under a budgeted rule and growth in one linked command; a return
  // claims its purchase, then takes both back.
  purchase: (r) =>
    post('/v1/programs/pair/purchases', {
      id: `buy-${r.m}`,
      member: { id: r.m },
      amount: 1_000,
      currency: 'CNY',
      occurredAt: t.clock.now().toISOString(),
    }),
  return: (r) =>
    post(`/v1/programs/pair/purchases/${r.purchase}/returns`, {
      id: `ret-${r.m}`,
      amount: 500,
      reason: 'pairs',
    }),
  override: (r) =>
    t.call({
      method: 'PUT',
      url: `/v1/programs/pair/members/${r.m}/tier`,
      payload: { code: 'silver', reason: 'pairs' },
    }),
  // Status match locks the member's row, then their tier row, in a transaction of its own.
  match: (r) => post(`/v1/programs/pair/members/${r.m}/tier/match`),
  // A conversion locks the member's accounts in two ledgers and a limit counter in one batch.
  convert: (r) =>
    post(`/v1/members/${r.m}/conversions`, {
      from: 'pair',
      to: 'pair2',
      points: 20,
      reference: `cv-${r.m}`,
    }),
};

const names = Object.keys(OPS);
const pairs = names.flatMap((a, i) => names.slice(i).map((b) => [a, b] as const));
const ROUNDS = 3;

async function deadlocks(): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    select deadlocks as n from pg_stat_database where datname = current_database()`.execute(
    t.deps.db,
  );
  return Number(rows[0]?.n ?? 0);
}

beforeAll(async () => {
  t = await createTestApp();
  await t.program('pair');
  const ladder = await t.call({
    method: 'PUT',
    url: '/v1/programs/pair/tiers',
    payload: {
      basis: 'growth',
      evaluation: 'periodic',
      tiers: [
        {
          code: 'member',
          name: 'Member',
          threshold: 0,
          benefits: [
            { code: 'gift', name: 'Gift', kind: 'quota', quota: { count: 100, period: 'month' } },
          ],
        },
        { code: 'silver', name: 'Silver', threshold: 10 },
      ],
    },
  });
  expect(ladder.statusCode, ladder.body).toBe(200);
  const rule = await post('/v1/programs/pair/earning-rules', {
    name: '1 per ¥1',
    effect: { type: 'rate', points: 1, per: 100 },
    limits: { perMemberPerDay: 1_000, budget: 1_000_000 },
  });
  expect(rule.statusCode, rule.body).toBe(201);
  const policy = await t.call({
    method: 'PUT',
    url: '/v1/programs/pair/growth-policy',
    payload: { mode: 'two_way', sources: [{ source: 'spend' }] },
  });
  expect(policy.statusCode, policy.body).toBe(200);
  const levels = await t.call({
    method: 'PUT',
    url: '/v1/coalition/levels',
    payload: [{ code: 'gold', name: 'Gold', rank: 1 }],
  });
  expect(levels.statusCode, levels.body).toBe(200);
  const match = await t.call({
    method: 'PUT',
    url: '/v1/programs/pair/tier-match',
    payload: {
      maxMatchTier: 'silver',
      windowDays: 30,
      rules: [{ coalitionLevel: 'gold', tier: 'silver' }],
    },
  });
  expect(match.statusCode, match.body).toBe(200);
  await t.program('pair2');
  await joinExchange(
    t.call,
    { pair: [2, 1], pair2: [2, 1] },
    { 'pair>pair2': { feePercent: 5, maxPoints: 1_000, dailyLimit: 1_000 } },
  );
});
afterAll(() => t.close());

describe('every pair of member operations at once', () => {
  it(`runs ${pairs.length} pairs × ${ROUNDS} rounds without a 5xx, a deadlock or a stranded point`, async () => {
    const before = await deadlocks();
    for (let round = 0; round < ROUNDS; round++) {
      for (const [a, b] of pairs) {
        const r: Round = { m: '', survivor: '', phone: phone(), hold: '', purchase: '' };
        r.m = await member(t, 'pair', r.phone);
        r.survivor = await member(t, 'pair', phone());
        await member(t, 'pair2', r.phone);
        await adjust(t, 'pair', r.m, 100);
        // A coalition level the match op matches (after enrollment, so that only the op does).
        const level = await t.call({
          method: 'PUT',
          url: `/v1/members/${r.m}/coalition-level`,
          payload: { level: 'gold', source: 'pairs' },
        });
        expect(level.statusCode, level.body).toBe(200);
        r.hold = (await post(`${pointsUrl('pair', r.m)}/holds`, { points: 10 })).json().id;
        r.purchase = `before-${r.m}`;
        const before = await post('/v1/programs/pair/purchases', {
          id: r.purchase,
          member: { id: r.m },
          amount: 2_000,
          currency: 'CNY',
          occurredAt: t.clock.now().toISOString(),
        });
        expect(before.statusCode, before.body).toBe(201);
        // Each side twice: the same operation also races itself.
        const ops = [a, b, a, b].map((name) => (OPS[name] as Op)(r));
        const responses = await Promise.all(ops);
        for (const [i, res] of responses.entries()) {
          const what = `${a} × ${b}: ${[a, b, a, b][i]} → ${res.statusCode} ${res.body.slice(0, 200)}`;
          expect(res.statusCode, what).toBeLessThan(500);
        }
        const gone = await t.deps.db
          .selectFrom('members')
          .select('status')
          .where('id', '=', r.m)
          .executeTakeFirstOrThrow();
        if (gone.status === 'merged') {
          const left = await t.deps.db
            .selectFrom('ledger_accounts')
            .select(['credits_posted', 'debits_posted', 'debits_pending'])
            .where('member_id', '=', r.m)
            .execute();
          const held = left.some(
            (x) => x.credits_posted !== x.debits_posted || x.debits_pending !== '0',
          );
          expect(held, `${a} × ${b}: points left on the member merged away`).toBe(false);
        }
      }
    }
    // Backends report their statistics at most once a second.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await deadlocks()).toBe(before);
    await expectReconciled(t);
  }, 240_000);
});
