import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { expectReconciled, member, points } from '../../test/ledger-helpers.ts';
import { csvFields } from '../shared/csv.ts';
import { importPurchases } from './purchases.import.ts';

let t: TestContext;
let dir: string;
beforeAll(async () => {
  t = await createTestApp();
  await t.program('shop');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-import-'));
  const res = await t.call({
    method: 'POST',
    url: '/v1/programs/shop/earning-rules',
    payload: { name: '1 per ¥1', effect: { type: 'rate', points: 1, per: 100 } },
  });
  expect(res.statusCode).toBe(201);
});
afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await expectReconciled(t);
  await t.close();
});

describe('importing purchases', () => {
  it('splits CSV fields with quotes', () => {
    expect(csvFields('a,"b,c","say ""hi""",')).toEqual(['a', 'b,c', 'say "hi"', '']);
  });

  it('imports a CSV with items, reports what it refused, and a rerun skips what it imported', async () => {
    const m = await member(t, 'shop', '13800000001');
    const at = t.clock.now().toISOString();
    const file = path.join(dir, 'purchases.csv');
    fs.writeFileSync(
      file,
      [
        'id,member,amount,occurredAt,store,sku,category,quantity,itemAmount',
        `P-1,${m},3000,${at},s1,rice,food,2,2000`,
        `P-1,${m},3000,${at},s1,tea,food,1,1000`,
        `P-2,phone:13800000001,500,${at},s1,,,,`,
        `P-3,${m},100,${at},s1,rice,food,1,99`,
        `P-4,phone:13900000000,500,${at},,,,,`,
        '',
      ].join('\n'),
    );
    const first = await importPurchases(t.deps, 'shop', file);
    expect(first).toMatchObject({ read: 4, imported: 2, skipped: 0, points: 35 });
    expect(first.refused.map((r) => [r.line, r.code])).toEqual([
      [5, 'validation_failed'],
      [6, 'not_found'],
    ]);
    const purchase = await t.call({ method: 'GET', url: '/v1/programs/shop/purchases/P-1' });
    expect(purchase.json().items).toHaveLength(2);

    const again = await importPurchases(t.deps, 'shop', file);
    expect(again).toMatchObject({ read: 4, imported: 0, skipped: 2, points: 0 });
    expect((await points(t, 'shop', m)).balance).toBe(35);
  });

  it('imports JSON Lines, enrolling when a line asks', async () => {
    const at = t.clock.now().toISOString();
    const file = path.join(dir, 'purchases.jsonl');
    const lines = [
      {
        id: 'J-1',
        member: { identifier: { type: 'phone', value: '13700000001' } },
        enroll: true,
        amount: 1000,
        currency: 'CNY',
        occurredAt: at,
      },
      'not json',
      // Text PostgreSQL cannot store is refused with its line, not a failed import.
      {
        id: 'J-2',
        member: { identifier: { type: 'phone', value: '13700000001' } },
        amount: 1000,
        currency: 'CNY',
        occurredAt: at,
        store: 'north\u0000',
      },
    ];
    fs.writeFileSync(
      file,
      lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'),
    );
    const summary = await importPurchases(t.deps, 'shop', file);
    expect(summary).toMatchObject({ read: 3, imported: 1, points: 10 });
    expect(summary.refused[0]).toEqual({
      line: 2,
      code: 'validation_failed',
      detail: 'not valid JSON',
    });
    expect(summary.refused[1]).toMatchObject({ line: 3, code: 'validation_failed' });
  });
});
