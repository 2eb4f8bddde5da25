import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { expectReconciled } from '../../test/ledger-helpers.ts';

// The flash deal (秒杀): a 1-point reward with a start time, stock 100 and one per member, and
// 2,000 buyers at the same instant. The reservation is the conditional update itself (no lock
// taken first, no read-modify-write), in a short transaction before any point is held: exactly
// 100 orders go through, and the rest hear `out_of_stock` without reaching the ledger.

let t: TestContext;
let till: string;
const BUYERS = 2000;
const STOCK = 100;
const members: string[] = [];

beforeAll(async () => {
  t = await createTestApp();
  await t.program('flash');
  till = await t.key('flash', 'integration');
  for (let i = 0; i < BUYERS; i += 100) {
    const made = await Promise.all(
      Array.from({ length: Math.min(100, BUYERS - i) }, async (_, k) => {
        const res = await t.call({
          method: 'POST',
          url: '/v1/programs/flash/members',
          payload: {
            identifiers: [{ type: 'phone', value: String(13600000000 + i + k) }],
            channel: 'app',
          },
        });
        expect(res.statusCode, res.body).toBeLessThan(300);
        const id = res.json().id as string;
        const credit = await t.call({
          method: 'POST',
          url: `/v1/programs/flash/members/${id}/points/adjustments`,
          payload: { points: 5, reason: 'flash test' },
        });
        expect(credit.statusCode, credit.body).toBe(201);
        return id;
      }),
    );
    members.push(...made);
  }
}, 120_000);
afterAll(() => t.close());

describe('orders: a flash deal', () => {
  it('2,000 concurrent buyers, stock 100: exactly 100 orders, no member twice', async () => {
    const created = await t.call({
      method: 'POST',
      url: '/v1/programs/flash/rewards',
      payload: {
        sku: 'FLASH-1',
        name: '1-point tea',
        kind: 'goods',
        pricePoints: 1,
        stock: STOCK,
        perMemberLimit: { count: 1 },
        startsAt: '2026-06-01T00:01:00Z',
        onShelf: true,
        supplier: 'yanxuan',
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const rewardId = created.json().id as string;
    const buy = (m: string, id: string) =>
      t.call({
        method: 'POST',
        url: `/v1/programs/flash/members/${m}/orders`,
        key: till,
        payload: { id, items: [{ rewardId, quantity: 1 }] },
      });
    const early = await buy(members[0] as string, 'early');
    expect(early.statusCode).toBe(409);
    expect(early.json().code).toBe('reward_unavailable');

    t.clock.advance(60 * 1000);
    // Every buyer once, and the first 200 a second time under another order id.
    const attempts = [
      ...members.map((m, i) => ({ m, id: `flash-${i}` })),
      ...members.slice(0, 200).map((m, i) => ({ m, id: `flash-again-${i}` })),
    ];
    const began = performance.now();
    const results = await Promise.all(attempts.map((a) => buy(a.m, a.id)));
    const ms = performance.now() - began;
    const placed = results.filter((r) => r.statusCode === 201);
    const refused = results.filter((r) => r.statusCode === 409).map((r) => r.json().code);
    expect(placed).toHaveLength(STOCK);
    expect(refused).toHaveLength(attempts.length - STOCK);
    expect(new Set(refused)).toEqual(
      new Set(refused.filter((c) => c === 'out_of_stock' || c === 'limit_reached')),
    );
    const buyers = placed.map((r) => r.json().memberId as string);
    expect(new Set(buyers).size).toBe(STOCK);

    const rows = await t.deps.db
      .selectFrom('reward_orders')
      .select(['member_id', 'status'])
      .where('program_id', '=', 'flash')
      .execute();
    expect(rows).toHaveLength(STOCK);
    expect(new Set(rows.map((r) => r.member_id)).size).toBe(STOCK);
    const reward = await t.call({ method: 'GET', url: `/v1/programs/flash/rewards/${rewardId}` });
    expect(reward.json()).toMatchObject({ stock: STOCK, reserved: STOCK, stockLeft: 0 });
    await expectReconciled(t);
    process.stdout.write(
      `flash deal: ${attempts.length} requests in ${ms.toFixed(0)} ms, ${placed.length} orders\n`,
    );
  }, 120_000);
});
