import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { adjust, member } from '../../test/ledger-helpers.ts';
import type { createRewardBody, rewardSchema } from './rewards.schemas.ts';
import { reserveStock } from './rewards.service.ts';

let t: TestContext;
let adminA: string;
let readA: string;
let adminB: string;

beforeAll(async () => {
  t = await createTestApp();
  await t.program('mall-a');
  await t.program('mall-b');
  adminA = await t.key('mall-a', 'admin');
  readA = await t.key('mall-a', 'read');
  adminB = await t.key('mall-b', 'admin');
  const ladder = {
    basis: 'growth',
    evaluation: 'immediate',
    tiers: [
      { code: 'member', name: 'Member', threshold: 0 },
      { code: 'gold', name: 'Gold', threshold: 500 },
    ],
  };
  const res = await t.call({ method: 'PUT', url: '/v1/programs/mall-a/tiers', payload: ladder });
  expect(res.statusCode, res.body).toBe(200);
});
afterAll(() => t.close());

type NewReward = z.input<typeof createRewardBody>;
type RewardView = z.infer<typeof rewardSchema>;

let seq = 0;
async function create(over: Partial<NewReward> = {}, key = adminA, programId = 'mall-a') {
  const res = await t.call({
    method: 'POST',
    url: `/v1/programs/${programId}/rewards`,
    key,
    payload: {
      sku: `SKU-${++seq}`,
      name: 'Tea set',
      kind: 'goods',
      pricePoints: 1000,
      onShelf: true,
      ...over,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as RewardView;
}

const rewardCount = async () =>
  Number(
    (
      await t.deps.db
        .selectFrom('rewards')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('rewards: catalog', () => {
  it('creates a reward, reads it, changes it, and audits both', async () => {
    const r = await create({
      sku: 'YX-TEA-01',
      priceCash: 990,
      supplierCost: 5000,
      tierPrices: [{ tier: 'gold', pricePoints: 800 }],
      stock: 50,
      perMemberLimit: { count: 2, period: 'month' },
      supplier: 'yanxuan',
      category: 'home',
      imageUrl: 'https://img.example.com/tea.png',
    });
    expect(r).toMatchObject({
      sku: 'YX-TEA-01',
      stock: 50,
      reserved: 0,
      stockLeft: 50,
      perMemberLimit: { count: 2, period: 'month' },
      tierPrices: [{ tier: 'gold', pricePoints: 800 }],
      supplier: 'yanxuan',
    });
    const got = await t.call({
      method: 'GET',
      url: `/v1/programs/mall-a/rewards/${r.id}`,
      key: readA,
    });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(r);
    const patched = await t.call({
      method: 'PATCH',
      url: `/v1/programs/mall-a/rewards/${r.id}`,
      key: adminA,
      payload: { stock: 60, onShelf: false, perMemberLimit: null, priceCash: null },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({
      stock: 60,
      stockLeft: 60,
      onShelf: false,
      perMemberLimit: null,
      priceCash: null,
    });
    const audit = await t.call({ method: 'GET', url: '/v1/audit?programId=mall-a' });
    const actions = audit.json().data.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['rewards.created', 'rewards.changed']));
  });

  it('lists by category and shelf state, in pages', async () => {
    for (let i = 0; i < 3; i++) await create({ category: 'books' });
    await create({ category: 'books', onShelf: false });
    const first = await t.call({
      method: 'GET',
      url: '/v1/programs/mall-a/rewards?category=books&onShelf=true&limit=2',
      key: readA,
    });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json().data).toHaveLength(2);
    const next = await t.call({
      method: 'GET',
      url: `/v1/programs/mall-a/rewards?category=books&onShelf=true&limit=2&cursor=${first.json().nextCursor}`,
      key: readA,
    });
    expect(next.json().data).toHaveLength(1);
    expect(next.json().nextCursor).toBeNull();
    const off = await t.call({
      method: 'GET',
      url: '/v1/programs/mall-a/rewards?category=books&onShelf=false',
      key: readA,
    });
    expect(off.json().data).toHaveLength(1);
  });

  it.each([
    [{ name: '' }, 'name'],
    [{ kind: 'spa' }, 'kind'],
    [{ pricePoints: -1 }, 'pricePoints'],
    [{ priceCash: 1.5 }, 'priceCash'],
    [{ stock: -1 }, 'stock'],
    [{ perMemberLimit: { count: 0 } }, 'perMemberLimit.count'],
    [{ perMemberLimit: { count: 1, period: 'week' } }, 'perMemberLimit.period'],
    [{ imageUrl: 'not a url' }, 'imageUrl'],
    [{ sku: 'has space' }, 'sku'],
    [{ startsAt: '2026-07-01T00:00:00Z', endsAt: '2026-06-01T00:00:00Z' }, 'endsAt'],
    [{ tierPrices: [{ tier: 'platinum', pricePoints: 1 }] }, 'tierPrices.0.tier'],
  ])('refuses %j with 400 naming %s, changing nothing', async (over, path) => {
    const before = await rewardCount();
    const res = await t.call({
      method: 'POST',
      url: '/v1/programs/mall-a/rewards',
      key: adminA,
      payload: {
        sku: `BAD-${++seq}`,
        name: 'x',
        kind: 'goods',
        pricePoints: 1,
        onShelf: true,
        ...over,
      },
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().code).toBe('validation_failed');
    expect(res.json().errors[0].path).toBe(path);
    expect(await rewardCount()).toBe(before);
  });

  it('refuses a SKU taken in the program (409) but not in another program', async () => {
    await create({ sku: 'DUP-1' });
    const again = await t.call({
      method: 'POST',
      url: '/v1/programs/mall-a/rewards',
      key: adminA,
      payload: { sku: 'DUP-1', name: 'x', kind: 'goods', pricePoints: 1, onShelf: true },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('reward_exists');
    await create({ sku: 'DUP-1' }, adminB, 'mall-b');
  });

  it('refuses a stock below what is reserved (409), and an empty change (400)', async () => {
    const r = await create({ stock: 5 });
    await t.deps.db.transaction().execute(async (trx) => {
      expect(await reserveStock(trx, r.id, 3, t.clock.now())).toBe('reserved');
      expect(await reserveStock(trx, r.id, 3, t.clock.now())).toBe('short');
    });
    const low = await t.call({
      method: 'PATCH',
      url: `/v1/programs/mall-a/rewards/${r.id}`,
      key: adminA,
      payload: { stock: 2 },
    });
    expect(low.statusCode).toBe(409);
    expect(low.json()).toMatchObject({ code: 'stock_below_reserved', reserved: 3 });
    const ok = await t.call({
      method: 'PATCH',
      url: `/v1/programs/mall-a/rewards/${r.id}`,
      key: adminA,
      payload: { stock: 3 },
    });
    expect(ok.json()).toMatchObject({ stock: 3, stockLeft: 0 });
    const empty = await t.call({
      method: 'PATCH',
      url: `/v1/programs/mall-a/rewards/${r.id}`,
      key: adminA,
      payload: {},
    });
    expect(empty.statusCode).toBe(400);
  });

  it("answers another program's key 404 (whichever program it names) and a read key 403", async () => {
    const r = await create();
    const other = await t.call({
      method: 'GET',
      url: `/v1/programs/mall-b/rewards/${r.id}`,
      key: adminB,
    });
    expect(other.statusCode).toBe(404);
    const patch = await t.call({
      method: 'PATCH',
      url: `/v1/programs/mall-b/rewards/${r.id}`,
      key: adminB,
      payload: { name: 'stolen' },
    });
    expect(patch.statusCode).toBe(404);
    const cross = await t.call({
      method: 'GET',
      url: `/v1/programs/mall-a/rewards/${r.id}`,
      key: adminB,
    });
    expect(cross.statusCode).toBe(404);
    const readOnly = await t.call({
      method: 'POST',
      url: '/v1/programs/mall-a/rewards',
      key: readA,
      payload: { sku: 'R-1', name: 'x', kind: 'goods', pricePoints: 1, onShelf: true },
    });
    expect(readOnly.statusCode).toBe(403);
  });
});

describe("rewards: a member's shelf", () => {
  it("shows the member's tier prices, and ranks what they can afford", async () => {
    await t.program('shelf');
    const key = await t.key('shelf', 'read');
    const ladder = {
      basis: 'growth',
      evaluation: 'immediate',
      tiers: [
        { code: 'member', name: 'Member', threshold: 0 },
        { code: 'gold', name: 'Gold', threshold: 500 },
      ],
    };
    await t.call({ method: 'PUT', url: '/v1/programs/shelf/tiers', payload: ladder });
    const mk = (over: Partial<NewReward>) => create(over, t.adminKey, 'shelf');
    const cheap = await mk({ pricePoints: 100 });
    const mid = await mk({ pricePoints: 2900, kind: 'membership' });
    const dear = await mk({
      pricePoints: 5000,
      tierPrices: [{ tier: 'member', pricePoints: 3000 }],
    });
    await mk({ pricePoints: 1, onShelf: false });
    await mk({ pricePoints: 1, startsAt: '2026-12-01T00:00:00Z' });
    const soldOut = await mk({ pricePoints: 1, stock: 0 });
    const m = await member(t, 'shelf', '13900000001');
    await adjust(t, 'shelf', m, 3000);
    const all = await t.call({
      method: 'GET',
      url: `/v1/programs/shelf/members/${m}/rewards`,
      key,
    });
    expect(all.statusCode, all.body).toBe(200);
    expect(all.json()).toMatchObject({ tier: 'member', available: 3000 });
    const ids = all.json().data.map((x: { rewardId: string }) => x.rewardId);
    expect(ids).toEqual([cheap.id, mid.id, dear.id]);
    expect(ids).not.toContain(soldOut.id);
    expect(all.json().data[2]).toMatchObject({ pricePoints: 3000, listPricePoints: 5000 });
    const affordable = await t.call({
      method: 'GET',
      url: `/v1/programs/shelf/members/${m}/rewards?affordable=true`,
      key,
    });
    expect(affordable.json().data.map((x: { rewardId: string }) => x.rewardId)).toEqual([
      dear.id,
      mid.id,
      cheap.id,
    ]);
    await adjust(t, 'shelf', m, -100);
    const less = await t.call({
      method: 'GET',
      url: `/v1/programs/shelf/members/${m}/rewards?affordable=true`,
      key,
    });
    expect(less.json().data.map((x: { rewardId: string }) => x.rewardId)).toEqual([
      mid.id,
      cheap.id,
    ]);
    const stranger = await t.call({
      method: 'GET',
      url: `/v1/programs/mall-a/members/${m}/rewards`,
      key: readA,
    });
    expect(stranger.statusCode).toBe(404);
  });
});
