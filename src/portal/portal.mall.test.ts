import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { adjust, expectReconciled, member, points } from '../../test/ledger-helpers.ts';

// The rewards mall from the member's side (browsing at their tier's prices, ordering with points
// in one go, their coupons and codes) and the console's additions: the program's orders, and the
// supplier's CSV imported over HTTP.

let t: TestContext;
let m: string;
let other: string; // a member of the mall with few points
let token: string; // m's link
let otherToken: string;
const ids: Record<string, string> = {};

const portal = (
  tok: string,
  method: 'GET' | 'POST',
  url: string,
  payload?: Record<string, unknown>,
) =>
  t.call({
    method,
    url: `/v1/portal${url}`,
    key: null,
    headers: { authorization: `Portal ${tok}` },
    ...(payload && { payload }),
  });

async function linkOf(programId: string, memberId: string): Promise<string> {
  const res = await t.call({
    method: 'POST',
    url: `/v1/programs/${programId}/members/${memberId}/portal-links`,
    payload: { ttlMinutes: 60 },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().token;
}

async function reward(programId: string, over: Record<string, unknown>) {
  const res = await t.call({
    method: 'POST',
    url: `/v1/programs/${programId}/rewards`,
    payload: { name: 'Tea set', kind: 'voucher', onShelf: true, ...over },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

beforeAll(async () => {
  t = await createTestApp();
  t.clock.set('2026-11-10T04:00:00Z');
  await t.program('mall');
  await t.program('elsewhere');
  const ladder = {
    basis: 'growth',
    evaluation: 'immediate',
    tiers: [
      { code: 'member', name: 'Member', threshold: 0 },
      { code: 'gold', name: 'Gold', threshold: 500 },
    ],
  };
  const res = await t.call({ method: 'PUT', url: '/v1/programs/mall/tiers', payload: ladder });
  expect(res.statusCode, res.body).toBe(200);
  ids.tea = await reward('mall', {
    sku: 'TEA',
    pricePoints: 1000,
    tierPrices: [{ tier: 'member', pricePoints: 800 }],
    stock: 5,
  });
  ids.cash = await reward('mall', { sku: 'CASH', pricePoints: 100, priceCash: 990 });
  ids.dear = await reward('mall', { sku: 'DEAR', pricePoints: 50_000 });
  ids.off = await reward('mall', { sku: 'OFF', pricePoints: 10, onShelf: false });
  ids.elsewhere = await reward('elsewhere', { sku: 'ELSE', pricePoints: 10 });
  m = await member(t, 'mall', '13500000001');
  other = await member(t, 'mall', '13500000002');
  await adjust(t, 'mall', m, 3_000);
  await adjust(t, 'mall', other, 100);
  [token, otherToken] = await Promise.all([linkOf('mall', m), linkOf('mall', other)]);
});

afterAll(async () => {
  await expectReconciled(t);
  await t.close();
});

describe('portal: the mall', () => {
  it("lists what the member may order at their tier's prices, and what they can afford", async () => {
    const res = await portal(token, 'GET', '/rewards');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(body).toMatchObject({ memberId: m, tier: 'member', available: 3_000 });
    const byId = new Map(body.data.map((r: { rewardId: string }) => [r.rewardId, r]));
    expect(byId.get(ids.tea)).toMatchObject({
      pricePoints: 800,
      listPricePoints: 1000,
      stockLeft: 5,
      affordable: true,
    });
    // A cash part is paid where cash is taken: shown, never orderable here.
    expect(byId.get(ids.cash)).toMatchObject({ priceCash: 990, affordable: false });
    expect(byId.get(ids.dear)).toMatchObject({ affordable: false });
    expect(byId.has(ids.off)).toBe(false);
    expect(byId.has(ids.elsewhere)).toBe(false);
  });

  it('orders with points in one go, once per requestId, and lists the order', async () => {
    const requestId = randomUUID();
    const body = { requestId, items: [{ rewardId: ids.tea, quantity: 2 }] };
    const first = await portal(token, 'POST', '/orders', body);
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json()).toMatchObject({
      id: `portal:${requestId}`,
      memberId: m,
      status: 'confirmed',
      points: 1_600,
      replayed: false,
    });
    // A double tap: the same order, the points taken once.
    const again = await portal(token, 'POST', '/orders', body);
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toMatchObject({ id: `portal:${requestId}`, replayed: true });
    expect((await points(t, 'mall', m)).available).toBe(1_400);
    const stock = await t.call({ method: 'GET', url: `/v1/programs/mall/rewards/${ids.tea}` });
    expect(stock.json()).toMatchObject({ reserved: 2, stockLeft: 3 });

    const list = await portal(token, 'GET', '/orders');
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json()).toMatchObject({
      memberId: m,
      data: [{ id: `portal:${requestId}`, status: 'confirmed' }],
    });
    // Another member's link sees none of it.
    const theirs = await portal(otherToken, 'GET', '/orders');
    expect(theirs.json()).toEqual({ memberId: other, data: [] });
  });

  it('refuses a cash part, too few points, and another program’s reward, changing nothing', async () => {
    const before = await points(t, 'mall', other);
    const cash = await portal(otherToken, 'POST', '/orders', {
      requestId: randomUUID(),
      items: [{ rewardId: ids.cash, quantity: 1 }],
    });
    expect(cash.statusCode, cash.body).toBe(400);
    expect(cash.json().detail).toContain('cash part');
    const poor = await portal(otherToken, 'POST', '/orders', {
      requestId: randomUUID(),
      items: [{ rewardId: ids.tea, quantity: 1 }],
    });
    expect(poor.statusCode, poor.body).toBe(409);
    expect(poor.json().code).toBe('insufficient_points');
    const foreign = await portal(otherToken, 'POST', '/orders', {
      requestId: randomUUID(),
      items: [{ rewardId: ids.elsewhere, quantity: 1 }],
    });
    expect(foreign.statusCode, foreign.body).toBe(400);
    expect(await points(t, 'mall', other)).toEqual(before);
    expect((await portal(otherToken, 'GET', '/orders')).json().data).toEqual([]);
  });

  it('answers 401 without a link, and refuses an API key', async () => {
    for (const url of ['/rewards', '/orders', '/coupons']) {
      const res = await t.call({ method: 'GET', url: `/v1/portal${url}` });
      expect(res.statusCode, url).toBe(401);
    }
  });
});

describe('portal: the member’s coupons', () => {
  it('lists the coupons with their codes and what each is, for the link’s member only', async () => {
    const template = await t.call({
      method: 'POST',
      url: '/v1/programs/mall/coupon-templates',
      payload: { id: 'five-off', name: '¥5 off', kind: 'amount_off', amountOffFen: 500 },
    });
    expect(template.statusCode, template.body).toBe(201);
    const issued = await t.call({
      method: 'POST',
      url: '/v1/programs/mall/coupon-templates/five-off/issue',
      payload: { memberIds: [m], reference: 'welcome-1' },
    });
    expect(issued.statusCode, issued.body).toBe(201);
    const code = issued.json().data[0].code as string;
    const res = await portal(token, 'GET', '/coupons');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      memberId: m,
      data: [
        {
          code,
          status: 'issued',
          templateId: 'five-off',
          template: { name: '¥5 off', kind: 'amount_off', amountOffFen: 500 },
        },
      ],
    });
    expect((await portal(otherToken, 'GET', '/coupons')).json()).toEqual({
      memberId: other,
      data: [],
    });
  });
});

describe("console: the program's orders", () => {
  it('lists every member’s orders by status, a page at a time, to the program’s keys only', async () => {
    for (const n of [1, 2, 3]) {
      const res = await t.call({
        method: 'POST',
        url: `/v1/programs/mall/members/${m}/orders`,
        payload: { id: `c-${n}`, items: [{ rewardId: ids.dear, quantity: 1 }] },
      });
      // Too dear: refused, and nothing is left of it.
      expect(res.statusCode, res.body).toBe(409);
    }
    await adjust(t, 'mall', other, 2_000);
    for (const n of [1, 2]) {
      const res = await t.call({
        method: 'POST',
        url: `/v1/programs/mall/members/${other}/orders`,
        payload: { id: `c-${n}`, items: [{ rewardId: ids.tea, quantity: 1 }] },
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    const all = await t.call({ method: 'GET', url: '/v1/programs/mall/orders?limit=2' });
    expect(all.statusCode, all.body).toBe(200);
    expect(all.json().data.map((o: { id: string }) => o.id)).toEqual(['c-1', 'c-2']);
    const next = await t.call({
      method: 'GET',
      url: `/v1/programs/mall/orders?limit=2&cursor=${all.json().nextCursor}`,
    });
    expect(next.json()).toMatchObject({ data: [{ memberId: m, status: 'confirmed' }] });
    expect(next.json().nextCursor).toBeNull();
    const placed = await t.call({ method: 'GET', url: '/v1/programs/mall/orders?status=placed' });
    expect(placed.json().data.map((o: { id: string }) => o.id)).toEqual(['c-1', 'c-2']);
    const confirmed = await t.call({
      method: 'GET',
      url: '/v1/programs/mall/orders?status=confirmed',
    });
    expect(confirmed.json().data).toHaveLength(1);

    const read = await t.key('mall', 'read');
    const asRead = await t.call({ method: 'GET', url: '/v1/programs/mall/orders', key: read });
    expect(asRead.statusCode).toBe(200);
    const elsewhere = await t.key('elsewhere', 'admin');
    const foreign = await t.call({
      method: 'GET',
      url: '/v1/programs/mall/orders',
      key: elsewhere,
    });
    expect(foreign.statusCode).toBe(404);
    const empty = await t.call({ method: 'GET', url: '/v1/programs/elsewhere/orders' });
    expect(empty.json()).toEqual({ data: [], nextCursor: null });
  });
});

describe('console: the supplier’s CSV over HTTP', () => {
  const csv = [
    'sku,name,kind,pricePoints,stock,tierPrices',
    'IMP-1,Mug,goods,300,10,member:250',
    'IMP-2,Bag,goods,abc,5,',
    '',
    'TEA,Tea set (new),voucher,900,8,',
    'IMP-3,Hat,goods,200,,gold:150',
  ].join('\n');

  it('upserts by SKU and lists each refused line with its number; audited with the key', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/programs/mall/rewards/import',
      payload: { csv },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ read: 4, created: 2, updated: 1 });
    expect(res.json().refused).toEqual([
      { line: 3, sku: 'IMP-2', code: 'validation_failed', detail: expect.any(String) },
    ]);
    const tea = await t.call({ method: 'GET', url: `/v1/programs/mall/rewards/${ids.tea}` });
    // Updated in place: its id and what orders reserved are kept.
    expect(tea.json()).toMatchObject({ name: 'Tea set (new)', stock: 8, reserved: 4 });
    const audit = await t.deps.db
      .selectFrom('audit_log')
      .select(['actor_key_id', 'after'])
      .where('action', '=', 'rewards.imported')
      .where('program_id', '=', 'mall')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]?.actor_key_id).not.toBeNull();
  });

  it('refuses a CSV without the required columns (400), and keys that are not the admin’s', async () => {
    const bad = await t.call({
      method: 'POST',
      url: '/v1/programs/mall/rewards/import',
      payload: { csv: 'sku,name\nX,Y' },
    });
    expect(bad.statusCode, bad.body).toBe(400);
    expect(bad.json().detail).toContain('pricePoints');
    const till = await t.key('mall', 'integration');
    const res = await t.call({
      method: 'POST',
      url: '/v1/programs/mall/rewards/import',
      key: till,
      payload: { csv },
    });
    expect(res.statusCode).toBe(403);
  });
});
