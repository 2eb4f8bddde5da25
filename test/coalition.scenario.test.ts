import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from './harness.ts';
import { adjust, expectReconciled, joinExchange, member, points } from './ledger-helpers.ts';

// The seed's scenario, end to end through the API: a payment platform's member at its highest
// level joins hotel A and starts at A's matching tier; converts 10,000 hotel-A points into
// hotel-B points at the unified standard; claims a lounge pass hotel B contributed, which B's
// lounge redeems; and the month's statement nets what A and B owe each other.

let t: TestContext;
let keyA: string; // hotel A's integration (its app)
let deskB: string; // hotel B's lounge desk

const ok = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, key?: string) => {
  const res = await t.call({
    method,
    url,
    ...(payload !== undefined && { payload: payload as object }),
    ...(key && { key }),
  });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.json();
};

beforeAll(async () => {
  t = await createTestApp();
  t.clock.set('2026-11-05T02:00:00Z');
  for (const id of ['hotel-a', 'hotel-b']) {
    await t.program(id);
    await ok('PUT', `/v1/programs/${id}/tiers`, {
      basis: 'growth',
      evaluation: 'periodic',
      validityMonths: 12,
      tiers: [
        { code: 'member', name: '会员', threshold: 0 },
        { code: 'gold', name: '金卡', threshold: 10_000 },
        { code: 'platinum', name: '白金卡', threshold: 50_000 },
      ],
    });
  }
  keyA = await t.key('hotel-a', 'integration');
  deskB = await t.key('hotel-b', 'integration');
  // The coalition (the payment platform): its levels, and the hotels' places in the exchange.
  await ok('PUT', '/v1/coalition/levels', [
    { code: 'l5', name: '钻石会员', rank: 5 },
    { code: 'l4', name: '铂金会员', rank: 4 },
    { code: 'l3', name: '黄金会员', rank: 3 },
  ]);
  const terms = { feePercent: 1, minPoints: 100, maxPoints: 50_000, dailyLimit: 50_000 };
  await joinExchange(
    t.call,
    { 'hotel-a': [100, 5], 'hotel-b': [50, 8] },
    { 'hotel-a>hotel-b': terms, 'hotel-b>hotel-a': terms },
  );
  // Hotel A matches the platform's top level to platinum, but gives no more than gold.
  await ok('PUT', '/v1/programs/hotel-a/tier-match', {
    maxMatchTier: 'gold',
    windowDays: 30,
    rules: [{ coalitionLevel: 'l5', tier: 'platinum' }],
  });
});

afterAll(async () => {
  await expectReconciled(t);
  await t.close();
});

describe('the coalition, as the seed tells it', () => {
  it('matches, converts, claims and settles', async () => {
    // A platform member at its highest level (the platform's integration says so) …
    const platform = await member(t, 'hotel-b', '13988886666');
    await ok('PUT', `/v1/members/${platform}/coalition-level`, {
      level: 'l5',
      source: 'alipay',
      validUntil: '2027-11-05T00:00:00Z',
    });
    // … joins hotel A a few minutes later, and starts at A's matching tier, capped at gold, for
    // the ladder's year.
    t.clock.set('2026-11-05T02:05:00Z');
    const m = await member(t, 'hotel-a', '13988886666');
    expect(m).toBe(platform);
    const tier = await ok('GET', `/v1/programs/hotel-a/members/${m}/tier`);
    expect(tier).toMatchObject({ tier: { code: 'gold' }, validUntil: '2027-11-04T16:00:00.000Z' });
    const history = await ok('GET', `/v1/programs/hotel-a/members/${m}/tier/history`);
    expect(history.data[0]).toMatchObject({ to: 'gold', why: 'match' });

    // A stay at hotel A earns 12,000 points; the member converts 10,000 into hotel B points at
    // the unified standard: 10,000 / 100 = 100 hub units = 5,000 B points, a 1% fee on top.
    await adjust(t, 'hotel-a', m, 12_000, 'stay');
    const quote = await ok(
      'POST',
      `/v1/members/${m}/conversions/quote`,
      { from: 'hotel-a', to: 'hotel-b', points: 10_000 },
      keyA,
    );
    expect(quote).toMatchObject({ converted: 10_000, fee: 100, credited: 5_000 });
    const conversion = await ok(
      'POST',
      `/v1/members/${m}/conversions`,
      { from: 'hotel-a', to: 'hotel-b', points: 10_000, reference: 'app-1' },
      keyA,
    );
    expect(conversion).toMatchObject({ debited: 10_100, credited: 5_000 });
    expect((await points(t, 'hotel-a', m)).balance).toBe(1_900);
    expect((await points(t, 'hotel-b', m)).balance).toBe(5_000);

    // Hotel B contributes lounge passes for the platform's gold level and above; each use is
    // charged to the member's home program (where they enrolled first: here hotel B itself, so
    // a second member, at home at A, claims one too).
    const pass = await ok(
      'POST',
      '/v1/programs/hotel-b/pool-benefits',
      {
        name: '贵宾休息室',
        kind: 'lounge',
        stock: 10,
        costFen: 3_000,
        eligibility: { coalitionLevelAtLeast: 'l3' },
        chargeTo: 'home',
        codeValidDays: 30,
      },
      await t.key('hotel-b', 'admin'),
    );
    const guest = await member(t, 'hotel-a', '13977775555');
    await ok('PUT', `/v1/members/${guest}/coalition-level`, { level: 'l4', source: 'alipay' });
    for (const who of [m, guest]) {
      const claimable = await ok('GET', `/v1/members/${who}/pool`, undefined, keyA);
      expect(claimable.data.map((b: { benefitId: string }) => b.benefitId)).toContain(pass.id);
      const claim = await ok(
        'POST',
        `/v1/members/${who}/pool/${pass.id}/claim`,
        { reference: `lounge-${who}` },
        keyA,
      );
      // At the lounge, hotel B's desk redeems the code, once.
      await ok('POST', '/v1/pool/redeem', { code: claim.code }, deskB);
      const again = await t.call({
        method: 'POST',
        url: '/v1/pool/redeem',
        payload: { code: claim.code },
        key: deskB,
      });
      expect(again.statusCode).toBe(409);
    }

    // A member at home at B converts the other way, so that B owes A something too.
    const other = await member(t, 'hotel-b', '13966664444');
    await member(t, 'hotel-a', '13966664444');
    await adjust(t, 'hotel-b', other, 1_000, 'stay');
    await ok(
      'POST',
      `/v1/members/${other}/conversions`,
      { from: 'hotel-b', to: 'hotel-a', points: 500, reference: 'b-1' },
      deskB,
    );

    // November's statement nets what A and B owe each other, to the fen.
    const statement = await ok('GET', '/v1/coalition/settlements?period=2026-11');
    const ab = statement.pairs.find(
      (p: { a: string; b: string }) => p.a === 'hotel-a' && p.b === 'hotel-b',
    );
    const aOwesB = 5_000 * 8 + 3_000; // B's points sold to A's member; the guest's lounge pass
    const bOwesA = 1_000 * 5; // 500 B points = 10 hub units = 1,000 A points at 5 fen
    expect(ab).toEqual({
      a: 'hotel-a',
      b: 'hotel-b',
      aOwesB,
      bOwesA,
      net: aOwesB - bOwesA,
      lines: 3,
    });
    // Each brand sees the same pair, and the CSV has every line.
    const seenByB = await ok('GET', '/v1/coalition/settlements?period=2026-11', undefined, deskB);
    expect(seenByB.pairs).toContainEqual(ab);
    const lines = await ok('GET', '/v1/coalition/settlements/2026-11/hotel-a/hotel-b');
    expect(lines.data.map((l: { kind: string }) => l.kind).sort()).toEqual([
      'conversion',
      'conversion',
      'pool',
    ]);

    // December: the coalition closes November; its statement stays as it is.
    t.clock.set('2026-12-01T02:00:00Z');
    const closed = await ok('POST', '/v1/coalition/settlements/2026-11/close');
    expect(closed.status).toBe('closed');
    expect(closed.pairs).toContainEqual(ab);
  });
});
