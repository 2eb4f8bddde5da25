import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import {
  adjust,
  expectReconciled,
  joinExchange,
  member,
  PAIR_TERMS,
  points,
} from '../../test/ledger-helpers.ts';
import { recordSettlement } from '../settlement/settlement.service.ts';

// The coalition's exchange: rates and pairs, conversions across two ledgers, and what the brands
// owe each other for them.

let t: TestContext;
let m: string; // one person, enrolled at both hotels and the shop
let aKey: string;
let bKey: string;
let shopKey: string;

const convert = (body: Record<string, unknown>, key = aKey, memberId = m) =>
  t.call({ method: 'POST', url: `/v1/members/${memberId}/conversions`, payload: body, key });

beforeAll(async () => {
  t = await createTestApp();
  t.clock.set('2026-11-10T04:00:00Z');
  await t.program('hotel-a');
  await t.program('hotel-b');
  await t.program('shop');
  m = await member(t, 'hotel-a', '13700000001');
  expect(await member(t, 'hotel-b', '13700000001')).toBe(m);
  expect(await member(t, 'shop', '13700000001')).toBe(m);
  aKey = await t.key('hotel-a', 'integration');
  bKey = await t.key('hotel-b', 'admin');
  shopKey = await t.key('shop', 'admin');
  await joinExchange(
    t.call,
    { 'hotel-a': [100, 5], 'hotel-b': [50, 8], shop: [1, 0.5] },
    { 'hotel-a>hotel-b': PAIR_TERMS },
  );
  await adjust(t, 'hotel-a', m, 100_000);
});

afterAll(async () => {
  await expectReconciled(t);
  await t.close();
});

describe('rates and pairs', () => {
  it('are the coalition admin’s, audited; a brand reads them', async () => {
    const put = await t.call({
      method: 'PUT',
      url: '/v1/coalition/exchange/programs/shop',
      payload: { pointsPerHubUnit: 1, pointValueFen: 0.5 },
      key: shopKey,
    });
    expect(put.statusCode).toBe(403);
    // A brand sees its own rate and its partners'; the shop has no partner yet.
    const rates = await t.call({
      method: 'GET',
      url: '/v1/coalition/exchange/programs',
      key: bKey,
    });
    expect(rates.json().data).toEqual([
      { programId: 'hotel-a', pointsPerHubUnit: 100, pointValueFen: 5 },
      { programId: 'hotel-b', pointsPerHubUnit: 50, pointValueFen: 8 },
    ]);
    const alone = await t.call({
      method: 'GET',
      url: '/v1/coalition/exchange/programs',
      key: shopKey,
    });
    expect(alone.json().data).toEqual([
      { programId: 'shop', pointsPerHubUnit: 1, pointValueFen: 0.5 },
    ]);
    const pairs = await t.call({ method: 'GET', url: '/v1/coalition/exchange/pairs', key: bKey });
    expect(pairs.json().data).toEqual([
      {
        from: 'hotel-a',
        to: 'hotel-b',
        feePercent: 2,
        feeMinimum: 10,
        minPoints: 100,
        maxPoints: 50_000,
        dailyLimit: 30_000,
      },
    ]);
    expect(
      (await t.call({ method: 'GET', url: '/v1/coalition/exchange/pairs', key: shopKey })).json()
        .data,
    ).toEqual([]);
    const { rows } = await sql<{ action: string }>`
      select action from audit_log where action like 'exchange.%'`.execute(t.deps.db);
    expect(rows.map((r) => r.action)).toEqual([
      'exchange.rate_set',
      'exchange.rate_set',
      'exchange.rate_set',
      'exchange.pair_set',
    ]);
  });

  it('refuses bad terms and unknown programs with a problem, changing nothing', async () => {
    const bad = await t.call({
      method: 'PUT',
      url: '/v1/coalition/exchange/pairs/hotel-a/shop',
      payload: { feePercent: 1.234, maxPoints: 10, minPoints: 20, dailyLimit: 5 },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    const unknown = await t.call({
      method: 'PUT',
      url: '/v1/coalition/exchange/pairs/hotel-a/nowhere',
      payload: { feePercent: 1, maxPoints: 10, dailyLimit: 5 },
    });
    expect(unknown.statusCode).toBe(404);
    const self = await t.call({
      method: 'PUT',
      url: '/v1/coalition/exchange/programs/nowhere',
      payload: { pointsPerHubUnit: 1, pointValueFen: 1 },
    });
    expect(self.statusCode).toBe(404);
    const list = await t.call({ method: 'GET', url: '/v1/coalition/exchange/pairs' });
    expect(list.json().data).toHaveLength(1);
  });
});

describe('conversions', () => {
  it('quotes without writing, then converts both sides in one command', async () => {
    const before = await points(t, 'hotel-a', m);
    const quote = await t.call({
      method: 'POST',
      url: `/v1/members/${m}/conversions/quote`,
      payload: { from: 'hotel-a', to: 'hotel-b', points: 10_000 },
      key: aKey,
    });
    expect(quote.statusCode, quote.body).toBe(200);
    expect(quote.json()).toEqual({
      converted: 10_000,
      fee: 200,
      debited: 10_200,
      credited: 5_000,
      rate: { fromPointsPerHubUnit: 100, toPointsPerHubUnit: 50 },
      dailyRemaining: 30_000,
    });
    expect((await points(t, 'hotel-a', m)).balance).toBe(before.balance);

    const res = await convert({ from: 'hotel-a', to: 'hotel-b', points: 10_000, reference: 'c1' });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ debited: 10_200, credited: 5_000, fee: 200 });
    expect((await points(t, 'hotel-a', m)).balance).toBe(before.balance - 10_200);
    expect((await points(t, 'hotel-b', m)).balance).toBe(5_000);

    // A repeat applies once, and answers the first conversion.
    const again = await convert({
      from: 'hotel-a',
      to: 'hotel-b',
      points: 10_000,
      reference: 'c1',
    });
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(res.json());
    expect((await points(t, 'hotel-b', m)).balance).toBe(5_000);
    // The same reference for another request is refused.
    const reused = await convert({ from: 'hotel-a', to: 'hotel-b', points: 500, reference: 'c1' });
    expect(reused.statusCode).toBe(422);
    expect(reused.json().code).toBe('command_id_reused');

    const history = await t.call({ method: 'GET', url: `/v1/members/${m}/conversions`, key: bKey });
    expect(history.json().data).toHaveLength(1);
    expect(
      (await t.call({ method: 'GET', url: `/v1/members/${m}/conversions`, key: shopKey })).json()
        .data,
    ).toEqual([]);
  });

  it('takes "receive" as the fewest points that buy at least that many', async () => {
    const res = await convert({ from: 'hotel-a', to: 'hotel-b', receive: 333, reference: 'c2' });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ converted: 666, credited: 333, fee: 14 });
  });

  it('refuses an unapproved direction, a range the pair refuses, a key of another program', async () => {
    const back = await convert(
      { from: 'hotel-b', to: 'hotel-a', points: 500, reference: 'x1' },
      await t.key('hotel-b', 'integration'),
    );
    expect(back.statusCode).toBe(409);
    expect(back.json().code).toBe('pair_not_approved');
    const small = await convert({ from: 'hotel-a', to: 'hotel-b', points: 99, reference: 'x2' });
    expect(small.statusCode).toBe(422);
    expect(small.json()).toMatchObject({ code: 'conversion_out_of_range', minPoints: 100 });
    const other = await convert(
      { from: 'hotel-a', to: 'hotel-b', points: 500, reference: 'x3' },
      shopKey,
    );
    expect(other.statusCode).toBe(404);
    const both = await convert({
      from: 'hotel-a',
      to: 'hotel-b',
      points: 500,
      receive: 5,
      reference: 'x4',
    });
    expect(both.statusCode).toBe(400);
  });

  it('hides a member who is not the key’s: quote and list answer 404', async () => {
    const stranger = await member(t, 'hotel-b', '13700000999');
    const quote = await t.call({
      method: 'POST',
      url: `/v1/members/${stranger}/conversions/quote`,
      payload: { from: 'hotel-a', to: 'hotel-b', points: 500 },
      key: aKey,
    });
    expect(quote.statusCode, quote.body).toBe(404);
    const nobody = await t.call({
      method: 'POST',
      url: '/v1/members/mem_nobody/conversions/quote',
      payload: { from: 'hotel-a', to: 'hotel-b', points: 500 },
      key: aKey,
    });
    expect(nobody.statusCode, nobody.body).toBe(404);
    const list = await t.call({
      method: 'GET',
      url: `/v1/members/${stranger}/conversions`,
      key: aKey,
    });
    expect(list.statusCode, list.body).toBe(404);
  });

  it('refuses a member without the points, and one blocked in either program, moving nothing', async () => {
    const poor = await member(t, 'hotel-a', '13700000002');
    await member(t, 'hotel-b', '13700000002');
    await adjust(t, 'hotel-a', poor, 150);
    const res = await convert(
      { from: 'hotel-a', to: 'hotel-b', points: 200, reference: 'p1' },
      aKey,
      poor,
    );
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('insufficient_points');

    await adjust(t, 'hotel-a', poor, 1000);
    const block = await t.call({
      method: 'POST',
      url: `/v1/programs/hotel-b/members/${poor}/block`,
      payload: { reason: 'fraud review' },
    });
    expect(block.statusCode, block.body).toBeLessThan(300);
    const blocked = await convert(
      { from: 'hotel-a', to: 'hotel-b', points: 200, reference: 'p2' },
      aKey,
      poor,
    );
    expect(blocked.statusCode).toBe(403);
    expect(blocked.json().code).toBe('member_blocked');
    expect((await points(t, 'hotel-a', poor)).balance).toBe(1150);
    expect((await points(t, 'hotel-b', poor)).balance).toBe(0);
  });

  it('holds the daily limit under 100 concurrent conversions by one member', async () => {
    const racer = await member(t, 'hotel-a', '13700000003');
    await member(t, 'hotel-b', '13700000003');
    await adjust(t, 'hotel-a', racer, 1_000_000);
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        convert(
          { from: 'hotel-a', to: 'hotel-b', points: 1_000, reference: `race-${i}` },
          aKey,
          racer,
        ),
      ),
    );
    const codes = results.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 201)).toHaveLength(30); // 30,000 a day, 1,000 each
    expect(results.filter((r) => r.statusCode === 409).map((r) => r.json().code)).toEqual(
      Array(70).fill('limit_reached'),
    );
    expect((await points(t, 'hotel-b', racer)).balance).toBe(15_000);
    // The next day counts afresh.
    t.clock.set('2026-11-11T04:00:00Z');
    const next = await convert(
      { from: 'hotel-a', to: 'hotel-b', points: 1_000, reference: 'race-next' },
      aKey,
      racer,
    );
    expect(next.statusCode).toBe(201);
  });
});

describe('rates and pairs changed by another server', () => {
  it('take effect here within a second', async () => {
    const who = await member(t, 'hotel-a', '13700000010');
    await member(t, 'hotel-b', '13700000010');
    await adjust(t, 'hotel-a', who, 5_000);
    const ask = (reference: string) =>
      convert({ from: 'hotel-a', to: 'hotel-b', points: 1_000, reference }, aKey, who);
    expect((await ask('ttl-1')).json()).toMatchObject({ credited: 500 });
    // Another server (here: SQL) halves hotel B's points per hub unit.
    await sql`update exchange_programs set points_per_hub_unit = 25 where program_id = 'hotel-b'`.execute(
      t.deps.db,
    );
    expect((await ask('ttl-2')).json()).toMatchObject({ credited: 500 });
    t.clock.set(new Date(t.clock.now().getTime() + 1_001));
    expect((await ask('ttl-3')).json()).toMatchObject({ credited: 250 });
    await sql`update exchange_programs set points_per_hub_unit = 50 where program_id = 'hotel-b'`.execute(
      t.deps.db,
    );
    t.clock.set(new Date(t.clock.now().getTime() + 1_001));
  });
});

describe('a merge', () => {
  it('gives the duplicate’s conversions to the survivor', async () => {
    const dup = await member(t, 'hotel-a', '13700000009');
    await member(t, 'hotel-b', '13700000009');
    await adjust(t, 'hotel-a', dup, 500);
    const res = await convert(
      { from: 'hotel-a', to: 'hotel-b', points: 200, reference: 'dup-1' },
      aKey,
      dup,
    );
    expect(res.statusCode, res.body).toBe(201);
    const merged = await t.call({
      method: 'POST',
      url: `/v1/members/${m}/merge`,
      payload: { from: dup },
    });
    expect(merged.statusCode, merged.body).toBeLessThan(300);
    const list = await t.call({ method: 'GET', url: `/v1/members/${m}/conversions?limit=100` });
    expect(list.json().data.map((c: { reference: string }) => c.reference)).toContain('dup-1');
  });
});

describe('settlement', () => {
  it('nets what the brands owe each other per period, at the agreed point values', async () => {
    const res = await t.call({ method: 'GET', url: '/v1/coalition/settlements?period=2026-11' });
    expect(res.statusCode, res.body).toBe(200);
    const pairs = res.json().pairs as { a: string; b: string; aOwesB: number; net: number }[];
    // 5,000 + 333 + 15,000 + 500 B points at 8 fen, owed by A; fees at 5 fen to the coalition.
    const owedToB = (5_000 + 333 + 15_000 + 500 + 500 + 500 + 250 + 100) * 8;
    expect(pairs.find((p) => p.a === 'hotel-a' && p.b === 'hotel-b')).toMatchObject({
      aOwesB: owedToB,
      net: owedToB,
    });
    const fees = (200 + 14 + 30 * 20 + 20 + 20 * 3 + 10) * 5;
    expect(pairs.find((p) => p.a === 'coalition' && p.b === 'hotel-a')).toMatchObject({
      bOwesA: fees,
      net: -fees,
    });
    // A brand sees only its own pairs.
    const shop = await t.call({
      method: 'GET',
      url: '/v1/coalition/settlements?period=2026-11',
      key: shopKey,
    });
    expect(shop.json().pairs).toEqual([]);
    const lines = await t.call({
      method: 'GET',
      url: '/v1/coalition/settlements/2026-11/hotel-a/hotel-b?limit=100',
      key: bKey,
    });
    expect(lines.statusCode).toBe(200);
    expect(lines.json().data).toHaveLength(37); // c1, c2, 30 in the race, one the next day, 3 at changing rates, the duplicate's
    const hidden = await t.call({
      method: 'GET',
      url: '/v1/coalition/settlements/2026-11/hotel-a/hotel-b',
      key: shopKey,
    });
    expect(hidden.statusCode).toBe(404);
    const csv = await t.call({
      method: 'GET',
      url: '/v1/coalition/settlements/2026-11/export.csv',
    });
    expect(csv.headers['content-type']).toContain('text/csv');
    const rows = csv.body.trim().split('\r\n');
    expect(rows[0]).toBe(
      'period,kind,source_id,debtor,creditor,points,amount_fen,member_id,created_at',
    );
    expect(rows).toHaveLength(1 + 37 + 37); // a conversion line and a fee line each
    const pairCsv = await t.call({
      method: 'GET',
      url: '/v1/coalition/settlements/2026-11/hotel-b/hotel-a/export.csv',
      key: bKey,
    });
    expect(pairCsv.statusCode).toBe(200);
    expect(pairCsv.body.trim().split('\r\n')).toHaveLength(1 + 37);
    const notTheirs = await t.call({
      method: 'GET',
      url: '/v1/coalition/settlements/2026-11/hotel-a/coalition/export.csv',
      key: bKey,
    });
    expect(notTheirs.statusCode).toBe(404);
  });

  it('closes only an ended period, freezes its statement, and marks it settled', async () => {
    const early = await t.call({ method: 'POST', url: '/v1/coalition/settlements/2026-11/close' });
    expect(early.statusCode).toBe(409);
    expect(early.json().code).toBe('period_open');
    const byBrand = await t.call({
      method: 'POST',
      url: '/v1/coalition/settlements/2026-10/close',
      key: bKey,
    });
    expect(byBrand.statusCode).toBe(403);

    const open = (
      await t.call({ method: 'GET', url: '/v1/coalition/settlements?period=2026-11' })
    ).json();
    t.clock.set('2026-12-01T00:00:00Z'); // 08:00 in Shanghai: November has ended there
    const closed = await t.call({ method: 'POST', url: '/v1/coalition/settlements/2026-11/close' });
    expect(closed.statusCode, closed.body).toBe(200);
    expect(closed.json()).toMatchObject({ status: 'closed', pairs: open.pairs });
    // December's business goes to December; November's statement stays as it was.
    const dec = await convert({
      from: 'hotel-a',
      to: 'hotel-b',
      points: 1_000,
      reference: 'dec-1',
    });
    expect(dec.statusCode).toBe(201);
    const after = (
      await t.call({ method: 'GET', url: '/v1/coalition/settlements?period=2026-11' })
    ).json();
    expect(after.pairs).toEqual(open.pairs);
    // Nothing writes into a closed period: the database refuses it, whoever writes.
    await expect(
      recordSettlement(t.deps.db, [
        {
          kind: 'pool',
          sourceId: 'late',
          debtor: 'hotel-a',
          creditor: 'hotel-b',
          points: null,
          amountFen: 100,
          memberId: null,
          at: new Date('2026-11-30T12:00:00Z'),
        },
      ]),
    ).rejects.toThrow(/closed period/);
    const settled = await t.call({
      method: 'POST',
      url: '/v1/coalition/settlements/2026-11/settle',
    });
    expect(settled.json()).toMatchObject({ status: 'settled' });
    expect(
      (await t.call({ method: 'POST', url: '/v1/coalition/settlements/2026-12/settle' })).json()
        .code,
    ).toBe('period_open');
  });
});
