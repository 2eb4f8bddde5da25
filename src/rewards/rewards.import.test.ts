import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { importRewards } from './rewards.import.ts';
import { reserveStock } from './rewards.service.ts';

let t: TestContext;
let dir: string;

beforeAll(async () => {
  t = await createTestApp();
  await t.program('yanxuan-mall');
  const ladder = {
    basis: 'growth',
    evaluation: 'immediate',
    tiers: [
      { code: 'member', name: 'Member', threshold: 0 },
      { code: 'gold', name: 'Gold', threshold: 500 },
    ],
  };
  const res = await t.call({
    method: 'PUT',
    url: '/v1/programs/yanxuan-mall/tiers',
    payload: ladder,
  });
  expect(res.statusCode, res.body).toBe(200);
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tessera-rewards-'));
});
afterAll(async () => {
  await t.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const HEADER =
  'sku,name,kind,pricePoints,priceCash,supplierCost,stock,perMemberLimit,limitPeriod,onShelf,supplier,category,imageUrl,tierPrices';

function catalog(n: number, price: (i: number) => number): string {
  const lines = [HEADER];
  for (let i = 0; i < n; i++) {
    lines.push(
      `YX-${String(i).padStart(5, '0')},"Item ${i}, boxed",goods,${price(i)},,${1000 + i},100,2,month,true,yanxuan,cat-${i % 10},https://img.example.com/${i}.png,gold:${Math.max(0, price(i) - 10)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function rewardsCount() {
  const row = await t.deps.db
    .selectFrom('rewards')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('program_id', '=', 'yanxuan-mall')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('rewards: supplier import', () => {
  it('imports 10,000 SKUs in seconds, and a rerun updates them by SKU', async () => {
    const file = path.join(dir, 'catalog.csv');
    await fs.writeFile(
      file,
      catalog(10_000, (i) => 100 + i),
    );
    const seen: number[] = [];
    const began = performance.now();
    const first = await importRewards(t.deps, 'yanxuan-mall', file, (done) => seen.push(done));
    const secs = (performance.now() - began) / 1000;
    expect(first).toMatchObject({ read: 10_000, created: 10_000, updated: 0, refused: [] });
    expect(secs).toBeLessThan(10);
    expect(seen.length).toBeGreaterThan(5);
    expect(seen.at(-1)).toBe((await fs.stat(file)).size);
    expect(await rewardsCount()).toBe(10_000);
    const one = await t.deps.db
      .selectFrom('rewards')
      .selectAll()
      .where('sku', '=', 'YX-00042')
      .executeTakeFirstOrThrow();
    expect(one).toMatchObject({
      name: 'Item 42, boxed',
      price_points: 142,
      stock: 100,
      per_member_limit: 2,
      limit_period: 'month',
      supplier: 'yanxuan',
      category: 'cat-2',
    });
    expect(one.tier_prices).toEqual([{ tier: 'gold', pricePoints: 132 }]);

    // Orders hold 50 of one SKU: the next price list may not cut its stock below that.
    await t.deps.db.transaction().execute(async (trx) => {
      expect(await reserveStock(trx, one.id, 50, t.clock.now())).toBe('reserved');
    });
    const again = path.join(dir, 'catalog2.csv');
    await fs.writeFile(
      again,
      catalog(10_000, (i) => 200 + i).replace(
        /YX-00042,(.*?),100,2,month/,
        'YX-00042,$1,10,2,month',
      ),
    );
    const second = await importRewards(t.deps, 'yanxuan-mall', again);
    expect(second).toMatchObject({ read: 10_000, created: 0, updated: 9_999 });
    expect(second.refused).toEqual([
      expect.objectContaining({ sku: 'YX-00042', code: 'stock_below_reserved', line: 44 }),
    ]);
    expect(await rewardsCount()).toBe(10_000);
    const after = await t.deps.db
      .selectFrom('rewards')
      .select(['id', 'price_points', 'reserved'])
      .where('sku', 'in', ['YX-00042', 'YX-00043'])
      .orderBy('sku')
      .execute();
    expect(after).toEqual([
      { id: one.id, price_points: 142, reserved: 50 },
      expect.objectContaining({ price_points: 243, reserved: 0 }),
    ]);
    const audit = await t.deps.db
      .selectFrom('audit_log')
      .select('action')
      .where('action', '=', 'rewards.imported')
      .execute();
    expect(audit).toHaveLength(20);
  });

  it('refuses bad rows by line and imports the rest', async () => {
    const file = path.join(dir, 'bad.csv');
    await fs.writeFile(
      file,
      [
        HEADER,
        'OK-1,Good,voucher,10,,,,,,true,,,,',
        'BAD-1,Bad kind,spa,10,,,,,,true,,,,',
        'BAD-2,Bad price,goods,ten,,,,,,true,,,,',
        'BAD-3,Bad tier,goods,10,,,,,,true,,,,platinum:5',
        'OK-2,Unlimited,membership,2900,,,,,,false,,,,',
      ].join('\n'),
    );
    const s = await importRewards(t.deps, 'yanxuan-mall', file);
    expect(s).toMatchObject({ read: 5, created: 2, updated: 0 });
    expect(s.refused.map((r) => [r.line, r.sku, r.code])).toEqual([
      [3, 'BAD-1', 'validation_failed'],
      [4, 'BAD-2', 'validation_failed'],
      [5, 'BAD-3', 'validation_failed'],
    ]);
    const ok2 = await t.deps.db
      .selectFrom('rewards')
      .select(['stock', 'on_shelf', 'kind'])
      .where('sku', '=', 'OK-2')
      .executeTakeFirstOrThrow();
    expect(ok2).toEqual({ stock: null, on_shelf: false, kind: 'membership' });
  });

  it('refuses a header without the required columns', async () => {
    const file = path.join(dir, 'header.csv');
    await fs.writeFile(file, 'sku,name\nA,B\n');
    await expect(importRewards(t.deps, 'yanxuan-mall', file)).rejects.toThrow(/pricePoints/);
  });
});
