import { randomUUID } from 'node:crypto';
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

// The member portal's side of the coalition: a member converts the link's program's points into
// another program's, and claims benefits from the pool — with the link's token, for the link's
// member and program only.

let t: TestContext;
let m: string; // enrolled at both hotels
let other: string; // enrolled at hotel A only
let tokenA: string; // m's link at hotel A
let tokenB: string; // m's link at hotel B
let otherToken: string; // other's link at hotel A

const portal = (
  token: string | null,
  method: 'GET' | 'POST',
  url: string,
  payload?: Record<string, unknown>,
) =>
  t.call({
    method,
    url: `/v1/portal${url}`,
    key: null,
    ...(token !== null && { headers: { authorization: `Portal ${token}` } }),
    ...(payload && { payload }),
  });

async function linkOf(programId: string, memberId: string, ttlMinutes = 60): Promise<string> {
  const res = await t.call({
    method: 'POST',
    url: `/v1/programs/${programId}/members/${memberId}/portal-links`,
    payload: { ttlMinutes },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().token;
}

const expectProblem = (
  res: { statusCode: number; body: string; json(): { code: string } },
  status: number,
  code: string,
) => {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.json().code).toBe(code);
};

beforeAll(async () => {
  t = await createTestApp();
  t.clock.set('2026-11-10T04:00:00Z');
  await t.program('hotel-a');
  await t.program('hotel-b');
  await t.program('cafe');
  m = await member(t, 'hotel-a', '13600000001');
  expect(await member(t, 'hotel-b', '13600000001')).toBe(m);
  other = await member(t, 'hotel-a', '13600000002');
  await joinExchange(
    t.call,
    { 'hotel-a': [100, 5], 'hotel-b': [50, 8], cafe: [10, 1] },
    { 'hotel-a>hotel-b': PAIR_TERMS, 'hotel-a>cafe': PAIR_TERMS, 'hotel-b>cafe': PAIR_TERMS },
  );
  await adjust(t, 'hotel-a', m, 20_000);
  await adjust(t, 'hotel-a', other, 5_000);
  [tokenA, tokenB, otherToken] = await Promise.all([
    linkOf('hotel-a', m),
    linkOf('hotel-b', m),
    linkOf('hotel-a', other),
  ]);
});

afterAll(async () => {
  await expectReconciled(t);
  await t.close();
});

describe('portal exchange: happy path', () => {
  it('lists where the link’s points may go, and whether the member is a member there', async () => {
    const res = await portal(tokenA, 'GET', '/exchange');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toMatchObject({
      programId: 'hotel-a',
      available: 20_000,
      targets: [
        { programId: 'cafe', enrolled: false, feePercent: 2, minPoints: 100 },
        {
          programId: 'hotel-b',
          programName: 'Program hotel-b',
          enrolled: true,
          rate: { fromPointsPerHubUnit: 100, toPointsPerHubUnit: 50 },
        },
      ],
    });
  });

  it('quotes without writing, then converts once per requestId however often it is sent', async () => {
    const quote = await portal(tokenA, 'POST', '/conversions/quote', {
      to: 'hotel-b',
      points: 10_000,
    });
    expect(quote.statusCode, quote.body).toBe(200);
    expect(quote.json()).toMatchObject({
      converted: 10_000,
      fee: 200,
      debited: 10_200,
      credited: 5_000,
      dailyRemaining: 30_000,
    });
    expect((await points(t, 'hotel-a', m)).available).toBe(20_000);

    const requestId = randomUUID();
    const body = { to: 'hotel-b', points: 10_000, requestId };
    const [first, again] = await Promise.all([
      portal(tokenA, 'POST', '/conversions', body),
      portal(tokenA, 'POST', '/conversions', body),
    ]);
    const codes = [first.statusCode, again.statusCode].sort();
    expect(codes, `${first.body} ${again.body}`).toEqual([200, 201]);
    expect(first.json().conversionId).toBe(again.json().conversionId);
    expect(first.json()).toMatchObject({
      memberId: m,
      from: 'hotel-a',
      to: 'hotel-b',
      reference: `portal:${requestId}`,
      debited: 10_200,
      credited: 5_000,
    });
    expect((await points(t, 'hotel-a', m)).available).toBe(9_800);
    expect((await points(t, 'hotel-b', m)).available).toBe(5_000);

    const list = await portal(tokenA, 'GET', '/conversions');
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json().data.map((c: { conversionId: string }) => c.conversionId)).toEqual([
      first.json().conversionId,
    ]);
  });
});

describe('portal exchange: the link’s program and member only', () => {
  it('converts from the link’s program: naming `from` is refused, and its pairs decide', async () => {
    const withFrom = await portal(tokenA, 'POST', '/conversions/quote', {
      from: 'hotel-b',
      to: 'cafe',
      points: 100,
    });
    expectProblem(withFrom, 400, 'validation_failed');
    // Hotel B's link converts B's points: B → A is not approved, B → café is.
    expectProblem(
      await portal(tokenB, 'POST', '/conversions/quote', { to: 'hotel-a', points: 1_000 }),
      409,
      'pair_not_approved',
    );
    const bTargets = (await portal(tokenB, 'GET', '/exchange')).json().targets;
    expect(bTargets.map((x: { programId: string }) => x.programId)).toEqual(['cafe']);
  });

  it('shows another member nothing of this member’s conversions', async () => {
    const res = await portal(otherToken, 'GET', '/conversions');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data).toEqual([]);
    // The other member is not at hotel B: the conversion is refused, and nothing moves.
    const refused = await portal(otherToken, 'POST', '/conversions', {
      to: 'hotel-b',
      points: 1_000,
      requestId: randomUUID(),
    });
    expect(refused.statusCode, refused.body).toBeGreaterThanOrEqual(400);
    expect((await points(t, 'hotel-a', other)).available).toBe(5_000);
  });

  it('needs a requestId that is a UUID', async () => {
    const res = await portal(tokenA, 'POST', '/conversions', {
      to: 'hotel-b',
      points: 100,
      requestId: 'again',
    });
    expectProblem(res, 400, 'validation_failed');
  });
});

describe('portal pool', () => {
  it('lists what the member may claim and claims a code once per requestId', async () => {
    const created = await t.call({
      method: 'POST',
      url: '/v1/programs/hotel-b/pool-benefits',
      payload: {
        id: 'lounge',
        name: 'Lounge pass',
        kind: 'lounge',
        stock: 5,
        costFen: 6_000,
        eligibility: { any: true },
      },
    });
    expect(created.statusCode, created.body).toBe(201);

    const before = await portal(tokenA, 'GET', '/pool');
    expect(before.statusCode, before.body).toBe(200);
    expect(before.json()).toMatchObject({
      claimable: [{ benefitId: 'lounge', name: 'Lounge pass', left: 1 }],
      claims: [],
    });

    const requestId = randomUUID();
    const first = await portal(tokenA, 'POST', '/pool/lounge/claim', { requestId });
    expect(first.statusCode, first.body).toBe(201);
    const again = await portal(tokenA, 'POST', '/pool/lounge/claim', { requestId });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json().code).toBe(first.json().code);
    expect(first.json()).toMatchObject({ memberId: m, benefit: { name: 'Lounge pass' } });

    const after = (await portal(tokenA, 'GET', '/pool')).json();
    expect(after.claimable).toEqual([]);
    expect(after.claims).toMatchObject([
      { code: first.json().code, benefitName: 'Lounge pass', status: 'claimed' },
    ]);
    // A second claim is over the member's limit; another member sees none of this one's codes.
    expectProblem(
      await portal(tokenA, 'POST', '/pool/lounge/claim', { requestId: randomUUID() }),
      409,
      'limit_reached',
    );
    expect((await portal(otherToken, 'GET', '/pool')).json().claims).toEqual([]);
  });
});

describe('portal coalition routes: refused links', () => {
  const routes: ['GET' | 'POST', string, Record<string, unknown>?][] = [
    ['GET', '/exchange'],
    ['POST', '/conversions/quote', { to: 'hotel-b', points: 100 }],
    ['POST', '/conversions', { to: 'hotel-b', points: 100, requestId: randomUUID() }],
    ['GET', '/conversions'],
    ['GET', '/pool'],
    ['POST', '/pool/lounge/claim', { requestId: randomUUID() }],
  ];

  it('refuses no token, an API key, a tampered token and an expired one, moving nothing', async () => {
    const [payload, signature] = tokenA.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = `${Buffer.from(JSON.stringify({ ...claims, m: other })).toString('base64url')}.${signature}`;
    const short = await linkOf('hotel-a', m, 1);
    t.clock.advance(2 * 60 * 1000);
    try {
      for (const [method, url, body] of routes) {
        expectProblem(await portal(null, method, url, body), 401, 'unauthorized');
        const withKey = await t.call({
          method,
          url: `/v1/portal${url}`,
          ...(body && { payload: body }),
        });
        expectProblem(withKey, 401, 'unauthorized');
        expectProblem(await portal(forged, method, url, body), 401, 'portal_link_invalid');
        expectProblem(await portal(short, method, url, body), 401, 'portal_link_expired');
      }
    } finally {
      t.clock.advance(-2 * 60 * 1000);
    }
    expect((await points(t, 'hotel-a', m)).available).toBe(9_800);
  });
});
