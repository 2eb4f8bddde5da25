import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { adjust, expectReconciled, member, pointsUrl } from '../../test/ledger-helpers.ts';
import type { portalCardSchema, portalLinkSchema } from './portal.schemas.ts';
import { linkSecret } from './portal.service.ts';

type Link = z.infer<typeof portalLinkSchema>;
type Card = z.infer<typeof portalCardSchema>;

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
  t.clock.set('2026-06-01T04:00:00Z'); // noon in Shanghai
  const res = await t.call({
    method: 'POST',
    url: '/v1/programs',
    payload: {
      id: 'cafe',
      name: 'Café Lumen',
      pointsName: '咖啡豆',
      pointsExpiry: { kind: 'rolling', days: 30 },
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  await t.program('other');
});
afterAll(async () => {
  await expectReconciled(t);
  await t.close();
});

const linksUrl = (programId: string, memberId: string) =>
  `/v1/programs/${programId}/members/${memberId}/portal-links`;

function createLink(programId: string, memberId: string, payload?: object, key?: string) {
  return t.call({
    method: 'POST',
    url: linksUrl(programId, memberId),
    ...(payload && { payload }),
    ...(key && { key }),
  });
}

async function link(programId: string, memberId: string, payload?: object): Promise<Link> {
  const res = await createLink(programId, memberId, payload);
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

/** GET /v1/portal/card as the portal calls it: the link's token, no API key. */
function card(authorization: string | undefined) {
  return t.call({
    method: 'GET',
    url: '/v1/portal/card',
    key: null,
    ...(authorization !== undefined && { headers: { authorization } }),
  });
}

async function cardOf(token: string): Promise<Card> {
  const res = await card(`Portal ${token}`);
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['cache-control']).toBe('no-store');
  return res.json();
}

function expectProblem(
  res: { statusCode: number; headers: Record<string, unknown>; json(): { code: string } },
  status: number,
  code: string,
) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json().code).toBe(code);
}

/** The token's payload part, decoded. */
const payloadOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString('utf8'));

/** The token with its payload replaced and its signature kept. */
const withPayload = (token: string, payload: object) =>
  `${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${token.split('.')[1]}`;

describe('portal links: happy path', () => {
  it('creates a signed link for an enrolled member, by default for 15 minutes', async () => {
    const m = await member(t, 'cafe', '13900000001');
    const res = await createLink('cafe', m, undefined, await t.key('cafe', 'integration'));
    expect(res.statusCode, res.body).toBe(201);
    const created: Link = res.json();
    expect(created.token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(created.url).toBe(`http://localhost:80/portal/#/t/${created.token}`);
    expect(created.expiresAt).toBe('2026-06-01T04:15:00.000Z');
    expect(payloadOf(created.token)).toEqual({
      v: 1,
      p: 'cafe',
      m,
      exp: Date.parse('2026-06-01T04:15:00Z') / 1000,
    });
  });

  it('takes a lifetime from 1 minute to a day; anything else is 400', async () => {
    const m = await member(t, 'cafe', '13900000002');
    expect((await link('cafe', m, { ttlMinutes: 1440 })).expiresAt).toBe(
      '2026-06-02T04:00:00.000Z',
    );
    expect((await link('cafe', m, { ttlMinutes: 1 })).expiresAt).toBe('2026-06-01T04:01:00.000Z');
    expect((await link('cafe', m, {})).expiresAt).toBe('2026-06-01T04:15:00.000Z');
    for (const ttlMinutes of [0, 1441, 1.5, '15', -1]) {
      const res = await createLink('cafe', m, { ttlMinutes });
      expectProblem(res, 400, 'validation_failed');
      expect(res.json().errors[0].path).toBe('ttlMinutes');
    }
    expectProblem(await createLink('cafe', m, { ttl: 5 }), 400, 'validation_failed');
  });

  it('gives a path, not an address, when the request names no usable host', async () => {
    const m = await member(t, 'cafe', '13900000003');
    const res = await t.call({
      method: 'POST',
      url: linksUrl('cafe', m),
      headers: { host: 'evil.example/"><script>' },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().url).toBe(`/portal/#/t/${res.json().token}`);
  });

  it('keeps one 32-byte secret in the database, which every link is signed with', async () => {
    const secret = await linkSecret(t.deps);
    const rows = await t.deps.db.selectFrom('portal_secrets').select(['id', 'secret']).execute();
    expect(rows).toEqual([{ id: 'links', secret }]);
    expect(secret).toHaveLength(32);
  });
});

describe('portal links: errors and other tenants', () => {
  it('answers 404 for an unknown member and for a member of another program only', async () => {
    expectProblem(await createLink('cafe', 'mem_unknown'), 404, 'not_found');
    const elsewhere = await member(t, 'other', '13900000010');
    expectProblem(await createLink('cafe', elsewhere), 404, 'not_found');
    expectProblem(await createLink('nope', elsewhere), 404, 'not_found');
  });

  it("answers another program's keys 404, whether the path names its program or theirs", async () => {
    const m = await member(t, 'cafe', '13900000011');
    for (const role of ['admin', 'integration', 'read'] as const) {
      const key = await t.key('other', role);
      const res = await createLink('cafe', m, { ttlMinutes: 5 }, key);
      expectProblem(res, 404, 'not_found');
      expect(res.body).not.toContain(m);
    }
    const theirs = await createLink('other', m, undefined, await t.key('other', 'integration'));
    expectProblem(theirs, 404, 'not_found');
  });

  it('needs the integration role: a read key is refused', async () => {
    const m = await member(t, 'cafe', '13900000012');
    expectProblem(await createLink('cafe', m, {}, await t.key('cafe', 'read')), 403, 'forbidden');
    expect((await createLink('cafe', m, {}, await t.key('cafe', 'admin'))).statusCode).toBe(201);
  });

  it('refuses a link for an erased member (409) and stops opening the ones made before (404)', async () => {
    const m = await member(t, 'cafe', '13900000013');
    const before = await link('cafe', m);
    expect((await card(`Portal ${before.token}`)).statusCode).toBe(200);
    expect((await t.call({ method: 'POST', url: `/v1/members/${m}/erase` })).statusCode).toBe(200);
    expectProblem(await createLink('cafe', m), 409, 'member_erased');
    expectProblem(await card(`Portal ${before.token}`), 404, 'not_found');
  });
});

describe('the card', () => {
  it("shows the member's points, what expires soon, tier, benefits and latest movements", async () => {
    await t.call({
      method: 'PUT',
      url: '/v1/programs/cafe/growth-policy',
      payload: { mode: 'two_way', sources: [{ source: 'spend' }] },
    });
    const ladder = await t.call({
      method: 'PUT',
      url: '/v1/programs/cafe/tiers',
      payload: {
        basis: 'growth',
        evaluation: 'immediate',
        tiers: [
          {
            code: 'member',
            name: 'Member',
            threshold: 0,
            benefits: [
              {
                code: 'refill',
                name: 'Free refill',
                kind: 'quota',
                quota: { count: 3, period: 'month' },
              },
            ],
          },
          {
            code: 'silver',
            name: 'Silver',
            threshold: 100,
            benefits: [{ code: 'earn', name: '1.5× beans', kind: 'multiplier', value: 1.5 }],
          },
          { code: 'gold', name: 'Gold', threshold: 500 },
        ],
      },
    });
    expect(ladder.statusCode, ladder.body).toBe(200);

    const enrolled = await t.call({
      method: 'POST',
      url: '/v1/programs/cafe/members',
      payload: {
        identifiers: [{ type: 'phone', value: '13900000020' }],
        channel: 'app',
        profile: { name: 'Li Lei' },
      },
    });
    expect(enrolled.statusCode, enrolled.body).toBe(201);
    const m: string = enrolled.json().id;

    await adjust(t, 'cafe', m, 300, 'welcome');
    t.clock.advance(24 * 60 * 60 * 1000);
    await adjust(t, 'cafe', m, 200, 'apology');
    const spent = await t.call({
      method: 'POST',
      url: `${pointsUrl('cafe', m)}/redemptions`,
      payload: { points: 120, reference: 'order-7' },
      key: await t.key('cafe', 'integration'),
    });
    expect(spent.statusCode, spent.body).toBe(201);
    const held = await t.call({
      method: 'POST',
      url: `${pointsUrl('cafe', m)}/holds`,
      payload: { points: 30 },
    });
    expect(held.statusCode, held.body).toBe(201);
    const grown = await t.call({
      method: 'POST',
      url: `/v1/programs/cafe/members/${m}/growth`,
      payload: { source: 'spend', value: 150, reference: 'g-1' },
    });
    expect(grown.statusCode, grown.body).toBe(201);
    const used = await t.call({
      method: 'POST',
      url: `/v1/programs/cafe/members/${m}/benefits/refill/use`,
      payload: { reference: 'cup-1' },
    });
    expect(used.statusCode, used.body).toBe(201);

    const c = await cardOf((await link('cafe', m)).token);
    // Every lot expires 30 days after it was earned: both are within the 90 days shown.
    const lots = (await t.call({ method: 'GET', url: `${pointsUrl('cafe', m)}/lots` })).json()
      .data as { remaining: number; expiresAt: string }[];
    expect(c.points.expiringSoon).toEqual(
      lots
        .filter((l) => l.remaining > 0)
        .map((l) => ({ points: l.remaining, expiresAt: l.expiresAt }))
        .sort((a, b) => a.expiresAt.localeCompare(b.expiresAt)),
    );
    // 500 earned, 120 spent, 30 held: a hold takes its points out of the lots already.
    expect(c.points.expiringSoon.reduce((s, e) => s + e.points, 0)).toBe(350);
    expect(c.points.expiringSoon).toHaveLength(2);
    expect(c).toEqual({
      programId: 'cafe',
      programName: 'Café Lumen',
      pointsName: '咖啡豆',
      memberId: m,
      displayName: 'Li Lei',
      status: 'active',
      since: '2026-06-01T04:00:00.000Z',
      points: {
        available: 350,
        pending: 0,
        held: 30,
        expiringSoon: c.points.expiringSoon,
      },
      entryTier: 'member',
      tier: {
        code: 'silver',
        name: 'Silver',
        validUntil: null,
        next: { code: 'gold', name: 'Gold', need: 350, have: 150 },
        progress: 0.125,
      },
      benefits: [
        {
          code: 'refill',
          name: 'Free refill',
          kind: 'quota',
          limit: 3,
          remaining: 2,
          period: 'month',
          currentPeriod: '2026-06',
        },
        { code: 'earn', name: '1.5× beans', kind: 'multiplier', value: 1.5 },
      ],
      history: [
        expect.objectContaining({ points: -120, code: 'redeem', reference: 'order-7' }),
        expect.objectContaining({ points: 200, code: 'adjust' }),
        expect.objectContaining({ points: 300, code: 'adjust' }),
      ],
    });
    expect(c.history[0]?.createdAt).toBe('2026-06-02T04:00:00.000Z');
  });

  it('lists only the latest 20 movements, and no tier when the ladder is the entry tier alone', async () => {
    const m = await member(t, 'other', '13900000030');
    for (let i = 1; i <= 22; i++) await adjust(t, 'other', m, i);
    const c = await cardOf((await link('other', m)).token);
    expect(c.history).toHaveLength(20);
    expect(c.history.map((h) => h.points)).toEqual(Array.from({ length: 20 }, (_, i) => 22 - i));
    expect(c).toMatchObject({
      pointsName: 'points',
      displayName: null,
      entryTier: 'member',
      tier: null,
      benefits: [],
      points: { available: 253, pending: 0, held: 0, expiringSoon: [] },
    });
  });

  it('works until its last second, then answers 401 portal_link_expired', async () => {
    const m = await member(t, 'cafe', '13900000040');
    const { token } = await link('cafe', m, { ttlMinutes: 15 });
    t.clock.advance(15 * 60 * 1000 - 1);
    expect((await card(`Portal ${token}`)).statusCode).toBe(200);
    t.clock.advance(1);
    const res = await card(`Portal ${token}`);
    expectProblem(res, 401, 'portal_link_expired');
    expect(res.body).not.toContain(m);
  });

  it('refuses a token whose payload was changed, signature kept: 401 portal_link_invalid', async () => {
    const mine = await member(t, 'cafe', '13900000050');
    const theirs = await member(t, 'cafe', '13900000051');
    const { token } = await link('cafe', mine);
    const words = payloadOf(token);
    for (const changed of [
      { ...words, m: theirs },
      { ...words, p: 'other' },
      { ...words, exp: words.exp + 86_400 },
      { ...words, v: 2 },
    ]) {
      const res = await card(`Portal ${withPayload(token, changed)}`);
      expectProblem(res, 401, 'portal_link_invalid');
      expect(res.body).not.toContain(theirs);
    }
    // The same words re-encoded are the same token: still valid.
    expect((await card(`Portal ${withPayload(token, words)}`)).statusCode).toBe(200);
  });

  it('refuses garbage with 401 portal_link_invalid, and no token at all with 401 unauthorized', async () => {
    const m = await member(t, 'cafe', '13900000060');
    const { token } = await link('cafe', m);
    const [payload, signature] = token.split('.') as [string, string];
    const flipped = `${signature.slice(0, -2)}${signature.at(-2) === 'A' ? 'B' : 'A'}${signature.at(-1)}`;
    for (const garbage of [
      'garbage',
      'a.b',
      'x.y.z',
      `${payload}.`,
      `.${signature}`,
      `${payload}.${flipped}`,
      `${payload}.${signature}.${signature}`,
      `${payload}.${signature}x`,
      `${payload}!.${signature}`,
      `${Buffer.from('not json').toString('base64url')}.${signature}`,
      'x'.repeat(5000),
    ]) {
      expectProblem(await card(`Portal ${garbage}`), 401, 'portal_link_invalid');
    }
    expectProblem(await card(undefined), 401, 'unauthorized');
    expectProblem(await card('Portal'), 401, 'unauthorized');
    expectProblem(await card(token), 401, 'unauthorized');
  });
});

describe('portal tokens and API keys do not mix', () => {
  it('does not accept an API key, of any role, on the card', async () => {
    await member(t, 'cafe', '13900000070');
    for (const key of [t.adminKey, await t.key('cafe', 'admin'), await t.key('cafe', 'read')]) {
      expectProblem(await card(`Bearer ${key}`), 401, 'unauthorized');
      expectProblem(await card(`Portal ${key}`), 401, 'portal_link_invalid');
    }
  });

  it('does not accept a portal token anywhere else under /v1', async () => {
    const m = await member(t, 'cafe', '13900000071');
    const { token } = await link('cafe', m);
    for (const [method, url] of [
      ['GET', pointsUrl('cafe', m)],
      ['GET', `/v1/programs/cafe/members/${m}`],
      ['GET', `/v1/programs/cafe/members/${m}/tier`],
      ['POST', linksUrl('cafe', m)],
      ['GET', '/v1/api-keys/current'],
    ] as const) {
      for (const authorization of [`Portal ${token}`, `Bearer ${token}`]) {
        const res = await t.call({ method, url, key: null, headers: { authorization } });
        expectProblem(res, 401, 'unauthorized');
      }
    }
  });
});
