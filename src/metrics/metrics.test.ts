import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import {
  adjust,
  expectReconciled,
  joinExchange,
  member,
  points,
  pointsUrl,
} from '../../test/ledger-helpers.ts';
import type { createRuleBody } from '../earning/earning.schemas.ts';
import { pointsLedger } from '../ledger/ledger.core.ts';
import { credit, sweepExpired } from '../ledger/ledger.service.ts';
import type { metricsSchema } from './metrics.schemas.ts';

type Metrics = z.infer<typeof metricsSchema>;
type Day = Metrics['days'][number];

let t: TestContext;
let phones = 0;
const phone = () => `137${String(phones++).padStart(8, '0')}`;

beforeAll(async () => {
  t = await createTestApp();
  // Asia/Shanghai, UTC+8 all year: local midnight is 16:00 UTC the day before.
  await t.program('dash');
  await t.program('other');
});
afterAll(async () => {
  await expectReconciled(t);
  await t.close();
});

async function metrics(programId: string, query = '', key?: string): Promise<Metrics> {
  const res = await t.call({
    method: 'GET',
    url: `/v1/programs/${programId}/metrics${query}`,
    ...(key && { key }),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function post(url: string, payload?: object) {
  const res = await t.call({ method: 'POST', url, ...(payload && { payload }) });
  expect(res.statusCode, `${url}: ${res.body}`).toBeLessThan(300);
  return res.json();
}

async function rule(programId: string, body: z.input<typeof createRuleBody>) {
  return post(`/v1/programs/${programId}/earning-rules`, body);
}

function buy(programId: string, id: string, memberId: string, amount: number) {
  return post(`/v1/programs/${programId}/purchases`, {
    id,
    member: { id: memberId },
    amount,
    currency: 'CNY',
    occurredAt: t.clock.now().toISOString(),
  });
}

/** Points from the issuance account, as earning does (the API's own credits are adjustments). */
async function issue(programId: string, memberId: string, n: number, id: string) {
  const r = await credit(t.deps, {
    ledger: pointsLedger(programId),
    memberId,
    points: n,
    code: 'earn',
    reference: id,
    commandId: id,
  });
  expect(r.points).toBe(n);
}

const day = (d: string, figures: Partial<Day>): Day => ({
  day: d,
  enrolled: 0,
  issued: 0,
  returned: 0,
  redeemed: 0,
  expired: 0,
  adjusted: 0,
  exchanged: 0,
  outstanding: 0,
  ...figures,
});

describe('a program’s week, day by day (Asia/Shanghai)', () => {
  const m = { a: '', b: '', c: '', d: '', e: '', f: '' };
  let reversed = 0;

  beforeAll(async () => {
    await rule('dash', {
      id: 'base',
      name: '1 per ¥1',
      priority: 1,
      effect: { type: 'rate', points: 1, per: 100 },
    });
    await rule('dash', {
      id: 'big',
      name: '50 over ¥200',
      priority: 2,
      conditions: { minSpend: 20_000 },
      effect: { type: 'bonus', points: 50 },
    });
    const ladder = await t.call({
      method: 'PUT',
      url: '/v1/programs/dash/tiers',
      payload: {
        basis: 'growth',
        evaluation: 'periodic',
        tiers: [
          { code: 'member', name: 'Member', threshold: 0 },
          { code: 'silver', name: 'Silver', threshold: 1_000_000 },
          { code: 'gold', name: 'Gold', threshold: 5_000_000 },
        ],
      },
    });
    expect(ladder.statusCode, ladder.body).toBe(200);

    // 06-01, 10:00 local: two members join; one is credited by an operator, one earns.
    t.clock.set('2026-06-01T02:00:00Z');
    m.a = await member(t, 'dash', phone());
    m.b = await member(t, 'dash', phone());
    await adjust(t, 'dash', m.a, 100);
    await issue('dash', m.b, 200, 'issue-b');
  });

  it('counts the first day, and holds what members hold', async () => {
    const r = await metrics('dash', '?from=2026-06-01&to=2026-06-01');
    expect(r).toMatchObject({
      programId: 'dash',
      timezone: 'Asia/Shanghai',
      from: '2026-06-01',
      to: '2026-06-01',
      days: [day('2026-06-01', { enrolled: 2, issued: 200, adjusted: 100, outstanding: 300 })],
      outstanding: { total: 300, held: 0, asOf: '2026-06-01T02:00:00.000Z' },
    });
  });

  it('counts redemptions and captured holds as redeemed, and a pending hold as still held', async () => {
    // 06-02: a third member; a spends 30; b holds 50 and captures 40, then holds 20 more.
    t.clock.set('2026-06-02T02:00:00Z');
    m.c = await member(t, 'dash', phone());
    await post(`${pointsUrl('dash', m.a)}/redemptions`, { points: 30, reference: 'cafe' });
    const hold = await post(`${pointsUrl('dash', m.b)}/holds`, { points: 50 });
    await post(`${pointsUrl('dash', m.b)}/holds/${hold.id}/capture`, { points: 40 });
    await post(`${pointsUrl('dash', m.b)}/holds`, { points: 20 });
    const r = await metrics('dash', '?from=2026-06-01&to=2026-06-02');
    expect(r.days).toEqual([
      day('2026-06-01', { enrolled: 2, issued: 200, adjusted: 100, outstanding: 300 }),
      day('2026-06-02', { enrolled: 1, redeemed: 70, outstanding: 230 }),
    ]);
    // The pending 20 are still b's: part of the liability, reserved.
    expect(r.outstanding).toMatchObject({ total: 230, held: 20 });
  });

  it('counts purchases’ points as issued, by rule, and a return as returned', async () => {
    // 06-03: c buys ¥500 (500 + a 50 bonus) and returns half; b buys ¥100; an operator takes 25
    // from b; d joins and is credited 70 points that expire a day later.
    t.clock.set('2026-06-03T02:00:00Z');
    await buy('dash', 'P-1', m.c, 50_000);
    await buy('dash', 'P-2', m.b, 10_000);
    const ret = await post('/v1/programs/dash/purchases/P-1/returns', {
      id: 'R-1',
      amount: 25_000,
      reason: 'half back',
    });
    reversed = ret.points.reversed;
    expect(reversed).toBeGreaterThan(0);
    await adjust(t, 'dash', m.b, -25);
    m.d = await member(t, 'dash', phone());
    await t.call({
      method: 'PATCH',
      url: '/v1/programs/dash',
      payload: { pointsExpiry: { kind: 'rolling', days: 1 } },
    });
    await issue('dash', m.d, 70, 'issue-d');
    await t.call({
      method: 'PATCH',
      url: '/v1/programs/dash',
      payload: { pointsExpiry: { kind: 'never' } },
    });
    const r = await metrics('dash', '?from=2026-06-03&to=2026-06-03');
    expect(r.days).toEqual([
      day('2026-06-03', {
        enrolled: 1,
        issued: 550 + 100 + 70,
        returned: reversed,
        adjusted: -25,
        outstanding: 230 + 720 - reversed - 25,
      }),
    ]);
    expect(r.topRules).toEqual([
      { ruleId: 'base', name: '1 per ¥1', points: 600, purchases: 2 },
      { ruleId: 'big', name: '50 over ¥200', points: 50, purchases: 1 },
    ]);
  });

  it('puts what happens at 23:30 local on that day, and at 00:30 on the next', async () => {
    // 06-04 23:30 local is 15:30 UTC the same date; 06-05 00:30 local is still 06-04 in UTC.
    t.clock.set('2026-06-04T15:30:00Z');
    expect(await sweepExpired(t.deps)).toBeGreaterThan(0);
    await adjust(t, 'dash', m.a, 5);
    await buy('dash', 'P-3', m.c, 10_000);
    t.clock.set('2026-06-04T15:45:00Z');
    m.e = await member(t, 'dash', phone());
    t.clock.set('2026-06-04T16:15:00Z');
    m.f = await member(t, 'dash', phone());
    t.clock.set('2026-06-04T16:30:00Z');
    await adjust(t, 'dash', m.a, 7);
    await buy('dash', 'P-4', m.b, 30_000);

    const r = await metrics('dash', '?from=2026-06-01&to=2026-06-05');
    const d3 = 230 + 720 - reversed - 25;
    expect(r.days).toEqual([
      day('2026-06-01', { enrolled: 2, issued: 200, adjusted: 100, outstanding: 300 }),
      day('2026-06-02', { enrolled: 1, redeemed: 70, outstanding: 230 }),
      day('2026-06-03', {
        enrolled: 1,
        issued: 720,
        returned: reversed,
        adjusted: -25,
        outstanding: d3,
      }),
      // d's 70 points expired; the sweep also ended b's pending hold, which moves nothing.
      day('2026-06-04', {
        enrolled: 1,
        issued: 100,
        expired: 70,
        adjusted: 5,
        outstanding: d3 + 35,
      }),
      day('2026-06-05', { enrolled: 1, issued: 350, adjusted: 7, outstanding: d3 + 392 }),
    ]);
    expect(r.totals).toEqual({
      enrolled: 6,
      issued: 1370,
      returned: reversed,
      redeemed: 70,
      expired: 70,
      adjusted: 87,
      exchanged: 0,
    });
    // Today's end is now: what members hold, which is the sum of their balances.
    expect(r.outstanding).toEqual({ total: d3 + 392, held: 0, asOf: '2026-06-04T16:30:00.000Z' });
    let sum = 0;
    for (const id of Object.values(m)) sum += (await points(t, 'dash', id)).balance;
    expect(sum).toBe(d3 + 392);
    expect(r.topRules).toEqual([
      { ruleId: 'base', name: '1 per ¥1', points: 1000, purchases: 4 },
      { ruleId: 'big', name: '50 over ¥200', points: 100, purchases: 2 },
    ]);
    // A purchase at 23:30 counts for its local day's rules, one at 00:30 for the next day's.
    const rulesOf = async (d: string) =>
      (await metrics('dash', `?from=${d}&to=${d}`)).topRules.map((x) => [x.ruleId, x.points]);
    expect(await rulesOf('2026-06-04')).toEqual([['base', 100]]);
    expect(await rulesOf('2026-06-05')).toEqual([
      ['base', 300],
      ['big', 50],
    ]);
  });

  it('answers the last 30 local days by default, with zeros where nothing happened', async () => {
    const r = await metrics('dash');
    expect(r.from).toBe('2026-05-07');
    expect(r.to).toBe('2026-06-05');
    expect(r.days).toHaveLength(30);
    expect(r.days[0]).toEqual(day('2026-05-07', {}));
    expect(r.days.slice(-5).map((d) => d.outstanding)).toEqual([
      300,
      230,
      925 - reversed,
      960 - reversed,
      1317 - reversed,
    ]);
    expect(r.totals.enrolled).toBe(6);
  });

  it('leaves the liability of a day not yet begun empty', async () => {
    const r = await metrics('dash', '?from=2026-06-05&to=2026-06-07');
    expect(r.days.map((d) => d.outstanding)).toEqual([1317 - reversed, null, null]);
  });

  it('counts the tier distribution now, in the ladder’s order', async () => {
    for (const [who, code] of [
      [m.a, 'gold'],
      [m.b, 'silver'],
    ]) {
      const res = await t.call({
        method: 'PUT',
        url: `/v1/programs/dash/members/${who}/tier`,
        payload: { code, reason: 'test' },
      });
      expect(res.statusCode, res.body).toBe(200);
    }
    const r = await metrics('dash');
    expect(r.tiers).toEqual([
      { tier: 'member', name: 'Member', members: 4 },
      { tier: 'silver', name: 'Silver', members: 1 },
      { tier: 'gold', name: 'Gold', members: 1 },
    ]);
  });

  it('keeps its rollups equal to the transfers and purchases they sum', async () => {
    const ledger = pointsLedger('dash');
    const { rows: direct } = await sql<{ issued: string; redeemed: string; expired: string }>`
      select coalesce(sum(t.amount) filter (where d.kind = 'issuance' and c.kind = 'member'), 0) as issued,
             coalesce(sum(t.amount) filter (where c.kind = 'redemption' and d.kind = 'member'), 0) as redeemed,
             coalesce(sum(t.amount) filter (where c.kind = 'breakage' and d.kind = 'member'), 0) as expired
      from ledger_transfers t
      join ledger_accounts d on d.id = t.debit_account_id
      join ledger_accounts c on c.id = t.credit_account_id
      where t.ledger = ${ledger} and t.kind in ('single', 'post')`.execute(t.deps.db);
    const { rows: rolled } = await sql<{ issued: string; redeemed: string; expired: string }>`
      select sum(issued) as issued, sum(redeemed) as redeemed, sum(expired) as expired
      from metrics_point_flows where ledger = ${ledger}`.execute(t.deps.db);
    expect(rolled[0]).toEqual(direct[0]);
    expect(direct[0]).toEqual({ issued: '1370', redeemed: '70', expired: '70' });
  });

  it('rebuilds its rollups from the tables to exactly what the triggers kept', async () => {
    const snapshot = async () =>
      Promise.all(
        ['metrics_point_flows', 'metrics_rule_points', 'metrics_rule_days'].map(
          async (table) =>
            (await sql`select * from ${sql.table(table)} order by 1, 2, 3`.execute(t.deps.db)).rows,
        ),
      );
    const kept = await snapshot();
    expect(kept.map((rows) => rows.length > 0)).toEqual([true, true, true]);
    await sql`select metrics_rebuild()`.execute(t.deps.db);
    expect(await snapshot()).toEqual(kept);
  });
});

describe('members merged away and erased', () => {
  it('counts a merged pair once, on the earlier day, and erased members only on their day', async () => {
    await t.program('merges');
    t.clock.set('2026-07-01T02:00:00Z');
    const survivor = await member(t, 'merges', phone());
    const erased = await member(t, 'merges', phone());
    t.clock.set('2026-07-02T02:00:00Z');
    const duplicate = await member(t, 'merges', phone());
    await adjust(t, 'merges', duplicate, 40);
    await post(`/v1/members/${survivor}/merge`, { from: duplicate });
    await post(`/v1/members/${erased}/erase`);
    const r = await metrics('merges', '?from=2026-07-01&to=2026-07-02');
    // The merge moved the duplicate's 40 points to the survivor: members hold the same.
    expect(r.days).toEqual([
      day('2026-07-01', { enrolled: 2 }),
      day('2026-07-02', { enrolled: 0, adjusted: 40, outstanding: 40 }),
    ]);
    expect(r.tiers).toEqual([{ tier: 'member', name: 'Member', members: 1 }]);
    expect(r.outstanding.total).toBe(40);
  });
});

describe('conversions between programs', () => {
  it('counts points converted out and in, fee included, so each day’s liability still adds up', async () => {
    await t.program('from');
    await t.program('into');
    t.clock.set('2026-08-01T02:00:00Z');
    const number = phone();
    const who = await member(t, 'from', number);
    expect(await member(t, 'into', number)).toBe(who);
    await adjust(t, 'from', who, 1000);
    await joinExchange(
      t.call,
      { from: [10, 1], into: [1, 1] },
      { 'from>into': { feePercent: 10, maxPoints: 1000, dailyLimit: 1000 } },
    );
    await post(`/v1/members/${who}/conversions`, {
      from: 'from',
      to: 'into',
      points: 500,
      reference: 'm1',
    });
    const out = await metrics('from', '?from=2026-08-01&to=2026-08-01');
    expect(out.days).toEqual([
      day('2026-08-01', { enrolled: 1, adjusted: 1000, exchanged: -550, outstanding: 450 }),
    ]);
    const into = await metrics('into', '?from=2026-08-01&to=2026-08-01');
    expect(into.days[0]).toMatchObject({ exchanged: 50, outstanding: 50 });
  });
});

describe('metrics: errors and other tenants', () => {
  it.each([
    ['?from=2026-06-05&to=2026-06-01', 'from'],
    ['?from=2025-06-01&to=2026-06-02', 'to'],
    ['?from=2026-6-1', 'from'],
    ['?to=2026-02-30', 'to'],
  ])('answers 400 naming the field for %s', async (query, field) => {
    const res = await t.call({ method: 'GET', url: `/v1/programs/dash/metrics${query}` });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().code).toBe('validation_failed');
    expect(res.json().errors[0].path).toBe(field);
  });

  it('takes up to 366 days, both ends included', async () => {
    const r = await metrics('dash', '?from=2025-06-02&to=2026-06-02');
    expect(r.days).toHaveLength(366);
    expect(r.days.at(-1)).toMatchObject({ day: '2026-06-02', outstanding: 230 });
  });

  it('answers a read key of the program, and another program’s keys as not found', async () => {
    const read = await t.key('dash', 'read');
    expect((await metrics('dash', '?from=2026-06-01&to=2026-06-01', read)).days[0]).toMatchObject({
      enrolled: 2,
      outstanding: 300,
    });
    for (const role of ['read', 'admin'] as const) {
      const res = await t.call({
        method: 'GET',
        url: '/v1/programs/dash/metrics',
        key: await t.key('other', role),
      });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('not_found');
    }
    const missing = await t.call({ method: 'GET', url: '/v1/programs/nowhere/metrics' });
    expect(missing.statusCode).toBe(404);
    const anonymous = await t.call({ method: 'GET', url: '/v1/programs/dash/metrics', key: null });
    expect(anonymous.statusCode).toBe(401);
  });

  it('shows another program nothing of this one', async () => {
    const r = await metrics('other', '?from=2026-06-01&to=2026-06-05');
    expect(r.totals).toEqual({
      enrolled: 0,
      issued: 0,
      returned: 0,
      redeemed: 0,
      expired: 0,
      adjusted: 0,
      exchanged: 0,
    });
    expect(r.outstanding.total).toBe(0);
    expect(r.topRules).toEqual([]);
    expect(r.tiers).toEqual([{ tier: 'member', name: 'Member', members: 0 }]);
  });
});
