import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { expectReconciled } from '../../test/ledger-helpers.ts';
import { addMonthsLocal } from '../ledger/expiry.core.ts';
import type { matchOutcomeSchema, matchTableBody } from './match.schemas.ts';

// Status match (等级匹配) end to end: a platform's diamond member joins hotel A and starts at A's
// matching tier on day one; members A had already, members past the window, members already
// higher get nothing.

let t: TestContext;
let adminA: string;
let readA: string;
let integrationA: string;
let integrationB: string;
let adminB: string;
let phones = 0;
const phone = () => `137${String(phones++).padStart(8, '0')}`;

const LADDER = {
  basis: 'growth',
  evaluation: 'periodic',
  validityMonths: 12,
  tiers: [
    { code: 'member', name: 'Member', threshold: 0 },
    { code: 'silver', name: 'Silver', threshold: 100 },
    { code: 'gold', name: 'Gold', threshold: 500 },
    { code: 'platinum', name: 'Platinum', threshold: 2000 },
  ],
};

const TABLE: z.infer<typeof matchTableBody> = {
  maxMatchTier: 'gold',
  windowDays: 30,
  rules: [
    { coalitionLevel: 'diamond', tier: 'platinum' },
    { coalitionLevel: 'gold', tier: 'silver' },
    { programId: 'hotel-b', tier: 'platinum', matchTier: 'gold' },
  ],
};

type Outcome = z.infer<typeof matchOutcomeSchema>;

const matchUrl = (p: string) => `/v1/programs/${p}/tier-match`;
const memberUrl = (p: string, m: string) => `/v1/programs/${p}/members/${m}`;

async function enroll(p: string, number: string, key?: string) {
  const res = await t.call({
    method: 'POST',
    url: `/v1/programs/${p}/members`,
    payload: { identifiers: [{ type: 'phone', value: number }], channel: 'app' },
    ...(key && { key }),
  });
  expect(res.statusCode, res.body).toBeLessThan(300);
  return { id: res.json().id as string, status: res.statusCode };
}

async function setLevel(m: string, level: string) {
  const res = await t.call({
    method: 'PUT',
    url: `/v1/members/${m}/coalition-level`,
    payload: { level, source: 'alipay' },
  });
  expect(res.statusCode, res.body).toBe(200);
}

async function tier(p: string, m: string) {
  const res = await t.call({ method: 'GET', url: `${memberUrl(p, m)}/tier` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { tier: { code: string }; since: string; validUntil: string | null };
}

async function history(p: string, m: string) {
  const res = await t.call({ method: 'GET', url: `${memberUrl(p, m)}/tier/history` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().data as {
    from: string | null;
    to: string;
    why: string;
    validUntil: string | null;
  }[];
}

const requestMatch = (p: string, m: string, key = integrationA) =>
  t.call({ method: 'POST', url: `${memberUrl(p, m)}/tier/match`, key });

async function matched(p: string, m: string): Promise<Outcome> {
  const res = await requestMatch(p, m);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function grow(p: string, m: string, value: number) {
  const res = await t.call({
    method: 'POST',
    url: `${memberUrl(p, m)}/growth`,
    payload: { source: 'spend', value, reference: `g-${value}` },
  });
  expect(res.statusCode, res.body).toBe(201);
}

async function audits() {
  const res = await t.call({ method: 'GET', url: '/v1/audit?action=tiers.match_table_set' });
  return res.json().data as { programId: string; before: unknown; after: unknown }[];
}

/** The one tier-match table the scenario sets, and who was a member before it. */
let early: string;

beforeAll(async () => {
  t = await createTestApp();
  t.clock.set('2026-06-01T04:00:00Z'); // noon in Shanghai
  for (const p of ['platform', 'hotel-a', 'hotel-b']) {
    await t.program(p);
    const ladder = await t.call({ method: 'PUT', url: `/v1/programs/${p}/tiers`, payload: LADDER });
    expect(ladder.statusCode, ladder.body).toBe(200);
    const policy = await t.call({
      method: 'PUT',
      url: `/v1/programs/${p}/growth-policy`,
      payload: { mode: 'one_way', sources: [{ source: 'spend' }] },
    });
    expect(policy.statusCode, policy.body).toBe(200);
  }
  const levels = await t.call({
    method: 'PUT',
    url: '/v1/coalition/levels',
    payload: [
      { code: 'diamond', name: '钻石', rank: 4 },
      { code: 'platinum', name: '铂金', rank: 3 },
      { code: 'gold', name: '黄金', rank: 2 },
      { code: 'silver', name: '白银', rank: 1 },
    ],
  });
  expect(levels.statusCode, levels.body).toBe(200);
  adminA = await t.key('hotel-a', 'admin');
  readA = await t.key('hotel-a', 'read');
  integrationA = await t.key('hotel-a', 'integration');
  integrationB = await t.key('hotel-b', 'integration');
  adminB = await t.key('hotel-b', 'admin');
  // A member of hotel A before it offered status match.
  early = (await enroll('hotel-a', phone())).id;
  t.clock.advance(60_000);
});
afterAll(async () => {
  await expectReconciled(t);
  await t.close();
});

describe('the status match table', () => {
  it('is 404 before the program sets one', async () => {
    const res = await t.call({ method: 'GET', url: matchUrl('hotel-a') });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('not_found');
  });

  it('refuses what names nothing real (400), a read key (403), another program (404): nothing changes', async () => {
    const bad = [
      { ...TABLE, maxMatchTier: 'emerald' },
      { ...TABLE, rules: [{ coalitionLevel: 'bronze', tier: 'gold' }] },
      { ...TABLE, rules: [{ coalitionLevel: 'gold', tier: 'emerald' }] },
      { ...TABLE, rules: [{ programId: 'hotel-a', tier: 'gold', matchTier: 'gold' }] },
      { ...TABLE, rules: [{ programId: 'hotel-z', tier: 'gold', matchTier: 'gold' }] },
      { ...TABLE, rules: [{ programId: 'hotel-b', tier: 'emerald', matchTier: 'gold' }] },
      { ...TABLE, rules: [{ programId: 'hotel-b', tier: 'gold', matchTier: 'emerald' }] },
      { ...TABLE, rules: [{ coalitionLevel: 'gold', tier: 'gold', matchTier: 'gold' }] },
      { ...TABLE, windowDays: 0 },
      { ...TABLE, windowDays: 1.5 },
      { maxMatchTier: 'gold', rules: [] },
    ];
    for (const payload of bad) {
      const res = await t.call({ method: 'PUT', url: matchUrl('hotel-a'), payload, key: adminA });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json().code).toBe('validation_failed');
    }
    const read = await t.call({
      method: 'PUT',
      url: matchUrl('hotel-a'),
      payload: TABLE,
      key: readA,
    });
    expect(read.statusCode).toBe(403);
    for (const [method, key] of [
      ['PUT', adminB],
      ['GET', adminB],
      ['GET', integrationB],
    ] as const) {
      const res = await t.call({
        method,
        url: matchUrl('hotel-a'),
        key,
        ...(method === 'PUT' && { payload: TABLE }),
      });
      expect(res.statusCode, `${method} ${res.body}`).toBe(404);
    }
    expect((await t.call({ method: 'GET', url: matchUrl('hotel-a') })).statusCode).toBe(404);
    expect(await audits()).toEqual([]);
  });

  it('is set by the program admin (audited) and read by any key of the program', async () => {
    const res = await t.call({
      method: 'PUT',
      url: matchUrl('hotel-a'),
      payload: TABLE,
      key: adminA,
    });
    expect(res.statusCode, res.body).toBe(200);
    const table = res.json();
    expect(table).toEqual({
      programId: 'hotel-a',
      ...TABLE,
      createdAt: '2026-06-01T04:01:00.000Z',
      updatedAt: '2026-06-01T04:01:00.000Z',
    });
    const read = await t.call({ method: 'GET', url: matchUrl('hotel-a'), key: readA });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(table);
    const rows = await audits();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ programId: 'hotel-a', before: null });
  });

  it('keeps the date it was first offered when it changes', async () => {
    t.clock.advance(60_000);
    const res = await t.call({ method: 'PUT', url: matchUrl('hotel-a'), payload: TABLE });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().createdAt).toBe('2026-06-01T04:01:00.000Z');
    expect(res.json().updatedAt).toBe('2026-06-01T04:02:00.000Z');
    expect(await audits()).toHaveLength(2);
  });

  it('keeps the coalition levels it names from being removed (409)', async () => {
    const res = await t.call({
      method: 'PUT',
      url: '/v1/coalition/levels',
      payload: [{ code: 'gold', name: '黄金', rank: 2 }],
    });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'level_in_use', programs: ['hotel-a'] });
  });
});

describe('status match: the scenario', () => {
  let diamond: string;

  it("a platform's diamond member joins hotel A and starts at A's matching tier, capped", async () => {
    const number = phone();
    diamond = (await enroll('platform', number)).id;
    await setLevel(diamond, 'diamond');
    // The same person enrolls at hotel A through A's own integration.
    const joined = await enroll('hotel-a', number, integrationA);
    expect(joined).toEqual({ id: diamond, status: 201 });
    const now = t.clock.now();
    const view = await tier('hotel-a', diamond);
    // diamond → platinum, capped at gold; with a periodic ladder's validity, as an upgrade.
    expect(view.tier.code).toBe('gold');
    expect(view.validUntil).toBe(addMonthsLocal(now, 12, 'Asia/Shanghai').toISOString());
    expect(await history('hotel-a', diamond)).toEqual([
      expect.objectContaining({
        from: 'member',
        to: 'gold',
        why: 'match',
        validUntil: view.validUntil,
      }),
    ]);
    const events = await t.call({ method: 'GET', url: '/v1/programs/hotel-a/events' });
    expect(events.json().data.filter((e: { memberId: string }) => e.memberId === diamond)).toEqual([
      expect.objectContaining({
        type: 'tier.upgraded',
        data: expect.objectContaining({ from: 'member', to: 'gold', why: 'match' }),
      }),
    ]);
  });

  it('matching again applies once: the first match is answered, nothing changes', async () => {
    const again = await matched('hotel-a', diamond);
    expect(again.applied).toBe(false);
    expect(again.match).toMatchObject({
      tier: 'gold',
      rule: { coalitionLevel: 'diamond', tier: 'platinum' },
    });
    expect(again.tier.tier.code).toBe('gold');
    // Enrolling again is not new either.
    expect((await enroll('hotel-a', (await phoneOf(diamond)) as string)).status).toBe(200);
    expect(await history('hotel-a', diamond)).toHaveLength(1);
  });

  it('a member enrolled before the table existed gets nothing (409 match_not_new)', async () => {
    await setLevel(early, 'diamond');
    const res = await requestMatch('hotel-a', early);
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().code).toBe('match_not_new');
    expect((await tier('hotel-a', early)).tier.code).toBe('member');
    expect(await history('hotel-a', early)).toEqual([]);
  });

  it('a new member whose level arrives later is matched on request, within the window', async () => {
    const m = (await enroll('hotel-a', phone())).id;
    expect((await tier('hotel-a', m)).tier.code).toBe('member');
    // Nothing to match yet: nothing happens, and nothing is recorded.
    const nothing = await matched('hotel-a', m);
    expect(nothing).toMatchObject({ applied: false, match: null });
    t.clock.advance(29 * 86_400_000);
    await setLevel(m, 'gold');
    const out = await matched('hotel-a', m);
    expect(out.applied).toBe(true);
    expect(out.match).toMatchObject({ tier: 'silver', rule: { coalitionLevel: 'gold' } });
    expect(out.tier.tier.code).toBe('silver');
    expect((await history('hotel-a', m))[0]).toMatchObject({ to: 'silver', why: 'match' });
    // A higher level later changes nothing: a match applies once.
    await setLevel(m, 'diamond');
    const later = await matched('hotel-a', m);
    expect(later).toMatchObject({ applied: false, match: { tier: 'silver' } });
  });

  it('outside the window: 409 match_window_closed, nothing changes', async () => {
    const m = (await enroll('hotel-a', phone())).id;
    t.clock.advance(30 * 86_400_000);
    await setLevel(m, 'diamond');
    const res = await requestMatch('hotel-a', m);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'match_window_closed', windowDays: 30 });
    expect((await tier('hotel-a', m)).tier.code).toBe('member');
    expect(await history('hotel-a', m)).toEqual([]);
  });

  it('a tier at another program matches too', async () => {
    const number = phone();
    const m = (await enroll('hotel-b', number)).id;
    await grow('hotel-b', m, 2000);
    expect((await tier('hotel-b', m)).tier.code).toBe('platinum');
    await enroll('hotel-a', number);
    expect((await tier('hotel-a', m)).tier.code).toBe('gold');
    expect((await history('hotel-a', m))[0]).toMatchObject({ why: 'match', to: 'gold' });
  });

  it('never lowers a tier: a member holding a higher tier keeps it', async () => {
    const m = (await enroll('hotel-a', phone())).id;
    await grow('hotel-a', m, 2000);
    expect((await tier('hotel-a', m)).tier.code).toBe('platinum');
    await setLevel(m, 'diamond');
    const out = await matched('hotel-a', m);
    expect(out).toMatchObject({ applied: false, match: null });
    expect(out.tier.tier.code).toBe('platinum');
    expect((await history('hotel-a', m)).map((h) => h.why)).toEqual(['upgrade']);
  });

  it("is 404 to another program's keys, and for a member not enrolled in the program", async () => {
    const res = await requestMatch('hotel-a', diamond, integrationB);
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('not_found');
    // hotel-b's own path, with a member of hotel A only.
    const onlyA = (await enroll('hotel-a', phone())).id;
    const own = await requestMatch('hotel-b', onlyA, integrationB);
    expect(own.statusCode).toBe(404);
    // hotel-b has no table: its own members get 404 too.
    const mine = (await enroll('hotel-b', phone())).id;
    const none = await requestMatch('hotel-b', mine, integrationB);
    expect(none.statusCode).toBe(404);
    // A read key may not ask.
    expect((await requestMatch('hotel-a', onlyA, readA)).statusCode).toBe(403);
  });

  it('refuses a blocked member (403) and changes nothing', async () => {
    const m = (await enroll('hotel-a', phone())).id;
    const block = await t.call({
      method: 'POST',
      url: `${memberUrl('hotel-a', m)}/block`,
      payload: { reason: 'fraud' },
    });
    expect(block.statusCode, block.body).toBe(200);
    await setLevel(m, 'diamond');
    const res = await requestMatch('hotel-a', m);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('member_blocked');
    expect((await tier('hotel-a', m)).tier.code).toBe('member');
  });

  it('two requests at once match once', async () => {
    const m = (await enroll('hotel-a', phone())).id;
    await setLevel(m, 'gold');
    const both = await Promise.all([requestMatch('hotel-a', m), requestMatch('hotel-a', m)]);
    expect(both.map((r) => r.statusCode)).toEqual([200, 200]);
    expect(both.map((r) => r.json().applied).sort()).toEqual([false, true]);
    expect((await history('hotel-a', m)).filter((h) => h.why === 'match')).toHaveLength(1);
  });
});

async function phoneOf(memberId: string): Promise<string | undefined> {
  const res = await t.call({ method: 'GET', url: `/v1/members/${memberId}` });
  return res.json().identifiers.find((i: { type: string }) => i.type === 'phone')?.value as
    | string
    | undefined;
}
