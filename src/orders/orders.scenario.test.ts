import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { adjust, expectReconciled, member, points } from '../../test/ledger-helpers.ts';
import { announceExpiringPoints } from '../rewards/rewards.nudges.ts';

// The seeds' scenario: year-end clearing (年底积分清零) in a mall operator's points mall. A member
// with 3,000 points expiring on 31 December asks what they can afford, buys a 1-point flash deal
// and a 2,900-point membership month, and the supplier's December statement shows the goods. The
// daily nudge tells them of the expiring points once, with the same suggestions.

let t: TestContext;

beforeAll(async () => {
  t = await createTestApp();
  t.clock.set('2026-12-20T02:00:00Z');
  const res = await t.call({
    method: 'POST',
    url: '/v1/programs',
    payload: {
      id: 'maoku',
      name: 'Mall points',
      timezone: 'Asia/Shanghai',
      pointsExpiry: { kind: 'period_end', period: 'year', afterDays: 0 },
    },
  });
  expect(res.statusCode, res.body).toBe(201);
});
afterAll(() => t.close());

describe('rewards mall: year-end clearing', () => {
  it('spends expiring points on a flash deal and a membership; the supplier is owed the goods', async () => {
    const m = await member(t, 'maoku', '13900139000');
    await adjust(t, 'maoku', m, 3000);
    expect((await points(t, 'maoku', m)).expiring).toEqual([{ date: '2026-12-31', points: 3000 }]);
    const create = async (body: object) => {
      const res = await t.call({
        method: 'POST',
        url: '/v1/programs/maoku/rewards',
        payload: { onShelf: true, ...body },
      });
      expect(res.statusCode, res.body).toBe(201);
      return res.json() as { id: string };
    };
    const flash = await create({
      sku: 'YX-FLASH-TOWEL',
      name: 'Cotton towel (flash deal)',
      kind: 'goods',
      pricePoints: 1,
      stock: 100,
      perMemberLimit: { count: 1 },
      startsAt: '2026-12-20T02:00:00Z',
      supplier: 'yanxuan',
      supplierCost: 1500,
    });
    const month = await create({
      sku: 'VIDEO-VIP-1M',
      name: 'Video VIP, one month',
      kind: 'membership',
      pricePoints: 2900,
      supplier: 'video',
      supplierCost: 1000,
    });
    await create({ sku: 'YX-SUITCASE', name: 'Suitcase', kind: 'goods', pricePoints: 20_000 });

    const nudge = await t.call({
      method: 'GET',
      url: `/v1/programs/maoku/members/${m}/rewards?affordable=true`,
    });
    expect(nudge.json().data.map((r: { rewardId: string }) => r.rewardId)).toEqual([
      month.id,
      flash.id,
    ]);

    // The daily nudge: one `points.expiring` event, carrying the same ranking; once per day due.
    const other = await member(t, 'maoku', '13900139001');
    expect(await announceExpiringPoints(t.deps)).toBe(1);
    const expiring = await t.call({
      method: 'GET',
      url: `/v1/programs/maoku/events?type=points.expiring`,
    });
    expect(expiring.json().data).toEqual([
      expect.objectContaining({
        memberId: m,
        data: {
          expiresOn: '2026-12-31',
          points: 3000,
          available: 3000,
          suggestions: [
            {
              rewardId: month.id,
              sku: 'VIDEO-VIP-1M',
              name: 'Video VIP, one month',
              pricePoints: 2900,
            },
            {
              rewardId: flash.id,
              sku: 'YX-FLASH-TOWEL',
              name: 'Cotton towel (flash deal)',
              pricePoints: 1,
            },
          ],
        },
      }),
    ]);
    expect(expiring.json().data.some((e: { memberId: string }) => e.memberId === other)).toBe(
      false,
    );
    expect(await announceExpiringPoints(t.deps)).toBe(0);

    const order = async (id: string, rewardId: string, extra: object = {}) => {
      const res = await t.call({
        method: 'POST',
        url: `/v1/programs/maoku/members/${m}/orders`,
        payload: { id, items: [{ rewardId, quantity: 1 }], ...extra },
      });
      expect(res.statusCode, res.body).toBe(201);
      const ok = await t.call({
        method: 'POST',
        url: `/v1/programs/maoku/members/${m}/orders/${id}/confirm`,
        payload: {},
      });
      expect(ok.statusCode, ok.body).toBe(200);
    };
    await order('dec-flash', flash.id, {
      address: { name: '韩梅梅', phone: '13900139000', lines: ['南京西路1号', '上海'] },
    });
    await order('dec-vip', month.id);
    const base = `/v1/programs/maoku/members/${m}/orders`;
    const shipped = await t.call({
      method: 'POST',
      url: `${base}/dec-flash/ship`,
      payload: { carrier: 'SF', tracking: 'SF0001' },
    });
    expect(shipped.statusCode, shipped.body).toBe(200);
    const vip = await t.call({ method: 'POST', url: `${base}/dec-vip/complete`, payload: {} });
    expect(vip.json()).toMatchObject({ status: 'completed' });
    expect(await points(t, 'maoku', m)).toMatchObject({
      balance: 99,
      expiring: [{ date: '2026-12-31', points: 99 }],
    });

    const statement = await t.call({
      method: 'GET',
      url: '/v1/programs/maoku/suppliers/yanxuan/statements/2026-12',
    });
    expect(statement.json()).toMatchObject({
      orders: 1,
      lines: [{ sku: 'YX-FLASH-TOWEL', quantity: 1, unitCost: 1500, amountFen: 1500 }],
      totalFen: 1500,
      from: '2026-11-30T16:00:00.000Z',
      to: '2026-12-31T16:00:00.000Z',
    });
    // The next day's run tells no one again of the same expiry day.
    t.clock.advance(24 * 60 * 60 * 1000);
    expect(await announceExpiringPoints(t.deps)).toBe(0);
    await expectReconciled(t);
  });
});
