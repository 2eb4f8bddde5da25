import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { adjust, expectReconciled, member, points } from '../../test/ledger-helpers.ts';
import { sweepExpired } from '../ledger/ledger.service.ts';
import { sweepOrders } from './orders.service.ts';

// Random orders, confirmations, cancellations, timeouts and restocks against a model: stock is
// never negative nor oversold, what is reserved is the model's, and each member's held and
// posted points are the model's — so the points held and captured match the ledger.

let t: TestContext;
let till: string;
let runs = 0;
const seen = new Map<string, number>();
const saw = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);

beforeAll(async () => {
  t = await createTestApp();
  await t.program('model');
  till = await t.key('model', 'integration');
});
afterAll(async () => {
  await expectReconciled(t);
  await t.close();
});

type Command =
  | { type: 'place'; member: number; reward: number; quantity: number }
  | { type: 'confirm' | 'cancel'; order: number }
  | { type: 'timeout' }
  | { type: 'restock'; reward: number; stock: number }
  | { type: 'burst'; reward: number; buyers: number[] };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('burst' as const),
      reward: fc.nat(2),
      buyers: fc.array(fc.nat(2), { minLength: 2, maxLength: 6 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      type: fc.constant('place' as const),
      member: fc.nat(2),
      reward: fc.nat(2),
      quantity: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('confirm' as const), order: fc.nat(30) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('cancel' as const), order: fc.nat(30) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('timeout' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('restock' as const),
      reward: fc.nat(2),
      stock: fc.nat(8),
    }),
  },
);

interface ModelReward {
  id: string;
  price: number;
  stock: number | null;
  reserved: number;
  limit: number | null;
}
interface ModelOrder {
  id: string;
  member: number;
  reward: number;
  quantity: number;
  points: number;
  status: 'placed' | 'confirmed' | 'cancelled' | 'expired';
}

let phone = 13500000000;

describe('orders: a model', () => {
  it('keeps stock, reservations and points as the model says', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(command, { minLength: 5, maxLength: 25 }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 3, maxLength: 3 }),
        async (commands, start) => {
          runs++;
          const run = runs;
          const rewards: ModelReward[] = [];
          for (const [i, r] of [
            { price: 30, stock: 4, limit: null },
            { price: 70, stock: 2, limit: 2 },
            { price: 10, stock: null, limit: 3 },
          ].entries()) {
            const res = await t.call({
              method: 'POST',
              url: '/v1/programs/model/rewards',
              payload: {
                sku: `M${run}-${i}`,
                name: `Reward ${i}`,
                kind: 'goods',
                pricePoints: r.price,
                onShelf: true,
                ...(r.stock !== null && { stock: r.stock }),
                ...(r.limit !== null && { perMemberLimit: { count: r.limit } }),
              },
            });
            expect(res.statusCode, res.body).toBe(201);
            rewards.push({
              id: res.json().id,
              price: r.price,
              stock: r.stock,
              reserved: 0,
              limit: r.limit,
            });
          }
          const members: { id: string; balance: number; held: number; counts: number[] }[] = [];
          for (const p of start) {
            const id = await member(t, 'model', String(++phone));
            if (p > 0) await adjust(t, 'model', id, p);
            members.push({ id, balance: p, held: 0, counts: [0, 0, 0] });
          }
          const orders: ModelOrder[] = [];
          const at = (m: number) => members[m] as (typeof members)[number];
          const rw = (r: number) => rewards[r] as ModelReward;
          const giveBack = (o: ModelOrder) => {
            rw(o.reward).reserved -= o.quantity;
            at(o.member).counts[o.reward] = (at(o.member).counts[o.reward] ?? 0) - o.quantity;
          };

          for (const c of commands) {
            if (c.type === 'place') {
              const r = rw(c.reward);
              const m = at(c.member);
              const points = r.price * c.quantity;
              const expected =
                r.stock !== null && r.stock - r.reserved < c.quantity
                  ? 'out_of_stock'
                  : r.limit !== null && (m.counts[c.reward] ?? 0) + c.quantity > r.limit
                    ? 'limit_reached'
                    : m.balance - m.held < points
                      ? 'insufficient_points'
                      : 'placed';
              const id = `m${run}-${orders.length}-${Math.random().toString(36).slice(2, 6)}`;
              const res = await t.call({
                method: 'POST',
                url: `/v1/programs/model/members/${m.id}/orders`,
                key: till,
                payload: { id, items: [{ rewardId: r.id, quantity: c.quantity }] },
              });
              saw(`place:${expected}`);
              if (expected === 'placed') {
                expect(res.statusCode, res.body).toBe(201);
                r.reserved += c.quantity;
                m.held += points;
                m.counts[c.reward] = (m.counts[c.reward] ?? 0) + c.quantity;
                orders.push({
                  id,
                  member: c.member,
                  reward: c.reward,
                  quantity: c.quantity,
                  points,
                  status: 'placed',
                });
              } else {
                expect(res.statusCode, res.body).toBe(409);
                expect(res.json().code).toBe(expected);
              }
            } else if (c.type === 'confirm' || c.type === 'cancel') {
              const o = orders[c.order % Math.max(1, orders.length)];
              if (!o) continue;
              const m = at(o.member);
              const res = await t.call({
                method: 'POST',
                url: `/v1/programs/model/members/${m.id}/orders/${o.id}/${c.type}`,
                key: till,
                payload: {},
              });
              saw(`${c.type}:${o.status}`);
              if (c.type === 'confirm') {
                if (o.status === 'placed') {
                  expect(res.statusCode, res.body).toBe(200);
                  m.held -= o.points;
                  m.balance -= o.points;
                  o.status = 'confirmed';
                } else if (o.status === 'confirmed') {
                  expect(res.json()).toMatchObject({ status: 'confirmed', replayed: true });
                } else {
                  expect(res.statusCode).toBe(409);
                }
              } else if (o.status === 'placed' || o.status === 'confirmed') {
                expect(res.statusCode, res.body).toBe(200);
                if (o.status === 'placed') m.held -= o.points;
                // After capture, a refund credit.
                else m.balance += o.points;
                giveBack(o);
                o.status = 'cancelled';
              } else {
                expect(res.json()).toMatchObject({ status: o.status, replayed: true });
              }
            } else if (c.type === 'timeout') {
              t.clock.advance(31 * 60 * 1000 + 60 * 1000);
              await sweepExpired(t.deps);
              await sweepOrders(t.deps);
              for (const o of orders.filter((x) => x.status === 'placed')) {
                at(o.member).held -= o.points;
                giveBack(o);
                o.status = 'expired';
                saw('timeout');
              }
            } else if (c.type === 'burst') {
              // Concurrent orders of one unit each: which of them win is the race's to decide,
              // but never more than the stock, the limits or the points allow.
              const r = rw(c.reward);
              const tries = c.buyers.map((b, k) => ({
                b,
                id: `b${run}-${orders.length}-${k}-${Math.random().toString(36).slice(2, 6)}`,
              }));
              const results = await Promise.all(
                tries.map(({ b, id }) =>
                  t.call({
                    method: 'POST',
                    url: `/v1/programs/model/members/${at(b).id}/orders`,
                    key: till,
                    payload: { id, items: [{ rewardId: r.id, quantity: 1 }] },
                  }),
                ),
              );
              results.forEach((res, k) => {
                const { b, id } = tries[k] as (typeof tries)[number];
                if (res.statusCode === 201) {
                  saw('burst:placed');
                  r.reserved += 1;
                  at(b).held += r.price;
                  at(b).counts[c.reward] = (at(b).counts[c.reward] ?? 0) + 1;
                  orders.push({
                    id,
                    member: b,
                    reward: c.reward,
                    quantity: 1,
                    points: r.price,
                    status: 'placed',
                  });
                } else {
                  expect(res.statusCode, res.body).toBe(409);
                  expect(['out_of_stock', 'limit_reached', 'insufficient_points']).toContain(
                    res.json().code,
                  );
                }
              });
              if (r.stock !== null) expect(r.reserved).toBeLessThanOrEqual(r.stock);
              for (const m of members) {
                expect(m.held).toBeLessThanOrEqual(m.balance);
                if (r.limit !== null) expect(m.counts[c.reward] ?? 0).toBeLessThanOrEqual(r.limit);
              }
            } else if (c.type === 'restock') {
              const r = rw(c.reward);
              const res = await t.call({
                method: 'PATCH',
                url: `/v1/programs/model/rewards/${r.id}`,
                payload: { stock: c.stock },
              });
              if (c.stock < r.reserved) {
                expect(res.statusCode).toBe(409);
                saw('restock:refused');
              } else {
                expect(res.statusCode, res.body).toBe(200);
                r.stock = c.stock;
                saw('restock');
              }
            }
            // After every step: the catalog and the ledger are the model's.
            for (const r of rewards) {
              const got = (
                await t.call({ method: 'GET', url: `/v1/programs/model/rewards/${r.id}` })
              ).json();
              expect(got.reserved).toBe(r.reserved);
              expect(got.reserved).toBeGreaterThanOrEqual(0);
              if (got.stock !== null) expect(got.stockLeft).toBeGreaterThanOrEqual(0);
            }
          }
          for (const m of members) {
            expect(await points(t, 'model', m.id)).toMatchObject({
              balance: m.balance,
              held: m.held,
            });
          }
        },
      ),
      {
        numRuns: 25,
        // One run that surely times an order out, beside the random ones.
        examples: [
          [
            [{ type: 'place', member: 0, reward: 0, quantity: 1 }, { type: 'timeout' }],
            [100, 100, 100],
          ],
        ],
      },
    );
    for (const what of [
      'place:placed',
      'place:out_of_stock',
      'place:insufficient_points',
      'confirm:placed',
      'cancel:placed',
      'timeout',
      'burst:placed',
    ]) {
      expect(
        seen.get(what) ?? 0,
        `${what} never happened: ${JSON.stringify([...seen])}`,
      ).toBeGreaterThan(0);
    }
  }, 300_000);
});
