import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from './harness.ts';
import { adjust, expectReconciled, member, pointsUrl } from './ledger-helpers.ts';
import {
  invalidBodies,
  type Operation,
  oddBodies,
  oddRawBodies,
  oddSegments,
  oddString,
  operationsOf,
  sample,
} from './openapi-fuzz.ts';

// Every operation of the OpenAPI document, attacked as a hostile integrator would: inputs wrong
// by construction answer 400; odd inputs (strings, numbers, path segments, queries, headers, raw
// bodies) never answer 5xx; every answer that is not a success is problem+json with its request
// id. And program B's keys, on every route, never see program A's objects. A new route is
// covered without a test of its own; a new path parameter needs a fixture below.
//
// Seeded: FUZZ_SEED=<n> repeats a run; a failure names its seed.

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

let t: TestContext;
let operations: Operation[];
/** Program A's objects, by the path parameter that names them. */
const fixtures: Record<string, string> = { programId: 'fuzz-a' };
/** Program B's keys, by role. */
const keysOfB: Record<string, string> = {};
/** Portal links' tokens: of A's member (the fixture the portal's routes are called with), and of B's. */
const portalTokens = { a: '', b: '' };
let memberOfB = '';

beforeAll(async () => {
  t = await createTestApp();
  await t.program('fuzz-a');
  await t.program('fuzz-b');
  fixtures.memberId = await member(t, 'fuzz-a', '13200000001');
  await adjust(t, 'fuzz-a', fixtures.memberId, 1_000_000);
  const hold = await t.call({
    method: 'POST',
    url: `${pointsUrl('fuzz-a', fixtures.memberId)}/holds`,
    payload: { points: 10 },
  });
  fixtures.holdId = hold.json().id;
  fixtures.keyId = (
    await t.call({ method: 'POST', url: '/v1/programs/fuzz-a/api-keys', payload: { role: 'read' } })
  ).json().id;
  // A tier and a benefit both named `vip`, and an alert (every post is a spike at factor 1).
  fixtures.code = 'vip';
  await t.call({
    method: 'PUT',
    url: '/v1/programs/fuzz-a/tiers',
    payload: {
      basis: 'growth',
      evaluation: 'immediate',
      tiers: [
        {
          code: 'member',
          name: 'Member',
          threshold: 0,
          benefits: [
            { code: 'vip', name: 'VIP', kind: 'quota', quota: { count: 1, period: 'month' } },
          ],
        },
        { code: 'vip', name: 'VIP', threshold: 100, inviteOnly: true },
      ],
    },
  });
  await t.call({
    method: 'PUT',
    url: '/v1/programs/fuzz-a/growth-policy',
    payload: { mode: 'one_way', sources: [{ source: 'spend' }], spike: { factor: 1, minimum: 0 } },
  });
  await t.call({
    method: 'POST',
    url: `/v1/programs/fuzz-a/members/${fixtures.memberId}/growth`,
    payload: { source: 'spend', value: 10, reference: 'r' },
  });
  fixtures.alertId = (
    await t.call({ method: 'GET', url: '/v1/programs/fuzz-a/alerts' })
  ).json().data[0].id;
  fixtures.ruleId = (
    await t.call({
      method: 'POST',
      url: '/v1/programs/fuzz-a/earning-rules',
      payload: { id: 'base', name: 'Base', effect: { type: 'rate', points: 1, per: 100 } },
    })
  ).json().id;
  fixtures.purchaseId = (
    await t.call({
      method: 'POST',
      url: '/v1/programs/fuzz-a/purchases',
      payload: {
        id: 'order-1',
        member: { id: fixtures.memberId },
        amount: 10_000,
        currency: 'CNY',
        occurredAt: t.clock.now().toISOString(),
      },
    })
  ).json().id;
  // Coalition levels, A's member at one, and A's status match table naming it.
  await t.call({
    method: 'PUT',
    url: '/v1/coalition/levels',
    payload: [{ code: 'gold', name: 'Gold', rank: 2 }],
  });
  await t.call({
    method: 'PUT',
    url: `/v1/members/${fixtures.memberId}/coalition-level`,
    payload: { level: 'gold', source: 'fuzz' },
  });
  await t.call({
    method: 'PUT',
    url: '/v1/programs/fuzz-a/tier-match',
    payload: {
      maxMatchTier: 'vip',
      windowDays: 30,
      rules: [{ coalitionLevel: 'gold', tier: 'vip' }],
    },
  });
  // The exchange: A's member converts into a third program's points, so that A and C settle.
  await t.program('fuzz-c');
  await member(t, 'fuzz-c', '13200000001');
  for (const id of ['fuzz-a', 'fuzz-c']) {
    await t.call({
      method: 'PUT',
      url: `/v1/coalition/exchange/programs/${id}`,
      payload: { pointsPerHubUnit: 1, pointValueFen: 1 },
    });
  }
  Object.assign(fixtures, { from: 'fuzz-a', to: 'fuzz-c', a: 'fuzz-a', b: 'fuzz-c' });
  await t.call({
    method: 'PUT',
    url: '/v1/coalition/exchange/pairs/fuzz-a/fuzz-c',
    payload: { feePercent: 1, maxPoints: 100_000, dailyLimit: 1_000_000 },
  });
  await t.call({
    method: 'POST',
    url: `/v1/members/${fixtures.memberId}/conversions`,
    payload: { from: 'fuzz-a', to: 'fuzz-c', points: 1_000, reference: 'fuzz' },
  });
  // The benefits pool and cross-brand offers: a benefit A contributed, an offer of A's.
  fixtures.benefitId = (
    await t.call({
      method: 'POST',
      url: '/v1/programs/fuzz-a/pool-benefits',
      payload: {
        name: 'Lounge',
        kind: 'lounge',
        stock: 5,
        costFen: 100,
        eligibility: { any: true },
      },
    })
  ).json().id;
  fixtures.offerId = (
    await t.call({
      method: 'POST',
      url: '/v1/programs/fuzz-a/offers',
      payload: {
        name: 'Spend ¥89',
        minSpendFen: 8900,
        reward: { kind: 'points', programId: 'fuzz-c', points: 10 },
        stock: 5,
        startsAt: '2026-01-01T00:00:00Z',
        endsAt: '2027-01-01T00:00:00Z',
      },
    })
  ).json().id;
  // Coupons: a template of A's.
  fixtures.templateId = (
    await t.call({
      method: 'POST',
      url: '/v1/programs/fuzz-a/coupon-templates',
      payload: { name: '¥5 off', kind: 'amount_off', amountOffFen: 500, stock: 5 },
    })
  ).json().id;
  // The rewards mall: a reward of A's (supplier `yx`) and an order of A's member.
  fixtures.rewardId = (
    await t.call({
      method: 'POST',
      url: '/v1/programs/fuzz-a/rewards',
      payload: {
        sku: 'FZ-1',
        name: 'Tea',
        kind: 'goods',
        pricePoints: 10,
        stock: 5,
        onShelf: true,
        supplier: 'yx',
      },
    })
  ).json().id;
  fixtures.supplier = 'yx';
  fixtures.orderId = (
    await t.call({
      method: 'POST',
      url: `/v1/programs/fuzz-a/members/${fixtures.memberId}/orders`,
      payload: { id: 'fz-order-1', items: [{ rewardId: fixtures.rewardId, quantity: 1 }] },
    })
  ).json().id;
  fixtures.month = t.clock.now().toISOString().slice(0, 7);
  fixtures.period = t.clock.now().toISOString().slice(0, 7);
  for (const role of ['admin', 'integration', 'read'] as const) {
    keysOfB[role] = await t.key('fuzz-b', role);
  }
  memberOfB = await member(t, 'fuzz-b', '13200000002');
  for (const [which, programId, memberId] of [
    ['a', 'fuzz-a', fixtures.memberId],
    ['b', 'fuzz-b', memberOfB],
  ] as const) {
    portalTokens[which] = (
      await t.call({
        method: 'POST',
        url: `/v1/programs/${programId}/members/${memberId}/portal-links`,
        payload: { ttlMinutes: 1440 },
      })
    ).json().token;
  }
  operations = operationsOf((await t.call({ method: 'GET', url: '/openapi.json' })).json());
});
afterAll(() => t.close());

/** The operation's path with its parameters filled from `values`. */
function urlOf(op: Operation, values: Record<string, string>): string {
  return op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`no fixture for path parameter {${name}} of ${op.path}`);
    return v;
  });
}

/** What every answer must be: never 5xx; if not a success, problem+json with its request id. */
function expectWellFormed(res: LightMyRequestResponse, what: string): void {
  expect(res.statusCode, `${what} → ${res.statusCode} ${res.body.slice(0, 300)}`).toBeLessThan(500);
  if (res.statusCode < 400) return;
  expect(res.headers['content-type'], what).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body.status, what).toBe(res.statusCode);
  expect(typeof body.code, what).toBe('string');
  expect(body.requestId, what).toBe(res.headers['x-request-id']);
}

const json = { 'content-type': 'application/json' };
const DEEP = [
  `{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
  `{"a":${'{"b":'.repeat(10_000)}1${'}'.repeat(10_000)}}`,
];

function send(
  op: Operation,
  options: {
    url?: string;
    payload?: unknown;
    raw?: string;
    headers?: Record<string, string>;
    key?: string;
  },
) {
  const body =
    options.raw ?? (options.payload === undefined ? undefined : JSON.stringify(options.payload));
  // The portal's routes are called as the portal calls them (A's member's link), unless a key is given.
  const asPortal = portal(op) && !options.key;
  return t.call({
    method: op.method as 'GET',
    url: options.url ?? urlOf(op, fixtures),
    headers: {
      ...(body !== undefined && json),
      ...(asPortal && { authorization: `Portal ${portalTokens.a}` }),
      ...options.headers,
    },
    ...(body !== undefined && { payload: body }),
    ...(asPortal ? { key: null } : options.key && { key: options.key }),
  });
}

/** Runs a seeded property; a failure says how to run it again. */
async function check<T>(arb: fc.Arbitrary<T>, runs: number, predicate: (v: T) => Promise<void>) {
  try {
    await fc.assert(fc.asyncProperty(arb, predicate), { seed: SEED, numRuns: runs });
  } catch (error) {
    throw new Error(`FUZZ_SEED=${SEED} reproduces this: ${(error as Error).message}`);
  }
}

const scoped = (op: Operation) => op.pathParams.includes('programId');
const v1 = (op: Operation) => op.path.startsWith('/v1/');
/** Called with a member portal link's token instead of an API key. */
const portal = (op: Operation) => op.security.includes('portalToken');

describe("program B's keys never see program A's objects", () => {
  it('answer 404 on every route under one of A’s program paths, whatever the body', async () => {
    const checked: string[] = [];
    for (const op of operations.filter(scoped)) {
      for (const [role, key] of Object.entries(keysOfB)) {
        for (const payload of op.body ? [sample(op.body), { junk: true }] : [undefined]) {
          const res = await send(op, { key, payload });
          const what = `${role} key: ${op.method} ${op.path}`;
          expect(res.statusCode, `${what} ${res.body}`).toBe(404);
          expect(res.json().code).toBe('not_found');
          expect(res.body).not.toContain(fixtures.memberId);
        }
      }
      checked.push(`${op.method} ${op.path}`);
    }
    expect(checked.length).toBeGreaterThan(15);
  });

  it("answer 404 for A's member, hold and key named under B's own program path", async () => {
    const inB = { ...fixtures, programId: 'fuzz-b' };
    for (const op of operations.filter((o) => scoped(o) && o.pathParams.length > 1)) {
      const res = await send(op, {
        url: urlOf(op, inB),
        key: keysOfB.admin,
        payload: op.body && sample(op.body),
      });
      expect(res.statusCode, `${op.method} ${op.path}: ${res.body}`).toBe(404);
    }
  });

  it("are refused (403) on the coalition's routes, or shown only B's own", async () => {
    for (const op of operations.filter((o) => v1(o) && !scoped(o) && !portal(o))) {
      for (const key of Object.values(keysOfB)) {
        const query = op.query.map(
          (q) => `${q.name}=${encodeURIComponent(fixtures[q.name] ?? '')}`,
        );
        const res = await send(op, {
          key,
          url: `${urlOf(op, fixtures)}${query.length ? `?${query.filter((q) => !q.endsWith('=')).join('&')}` : ''}`,
          payload: op.body && sample(op.body),
        });
        const what = `${op.method} ${op.path}: ${res.statusCode} ${res.body.slice(0, 200)}`;
        expect([200, 400, 403, 404], what).toContain(res.statusCode);
        for (const id of [
          fixtures.memberId,
          fixtures.holdId,
          fixtures.keyId,
          fixtures.purchaseId,
          'fuzz-a"',
        ]) {
          expect(res.body, what).not.toContain(id);
        }
      }
    }
  });
});

describe("the portal's routes open only the member their link names", () => {
  it("refuse B's keys (401), and show B's member's link B's member only", async () => {
    const routes = operations.filter(portal);
    expect(routes.length).toBeGreaterThan(0);
    for (const op of routes) {
      const what = `${op.method} ${op.path}`;
      for (const key of Object.values(keysOfB)) {
        const res = await send(op, { key });
        expect(res.statusCode, `${what}: ${res.body}`).toBe(401);
        expect(res.body).not.toContain(fixtures.memberId);
      }
      // The reads answer the link's member; the writes (conversions, claims) need a body, and
      // their own tests check whose points they move.
      if (op.method !== 'GET') continue;
      const own = await send(op, { headers: { authorization: `Portal ${portalTokens.b}` } });
      expect(own.statusCode, `${what}: ${own.body}`).toBe(200);
      expect(own.body).toContain(memberOfB);
      // The benefits pool is the coalition's: A's benefits are for B's members to claim too.
      const shared = op.path === '/v1/portal/pool' ? [] : ['fuzz-a"'];
      for (const id of [fixtures.memberId, fixtures.holdId, fixtures.purchaseId, ...shared]) {
        expect(own.body, what).not.toContain(id);
      }
      const a = await send(op, {});
      expect(a.statusCode, `${what}: ${a.body}`).toBe(200);
      expect(a.body).toContain(fixtures.memberId);
    }
  });
});

describe('every operation, attacked', () => {
  it('answers 400 problem+json to every body that breaks one rule of its schema', async () => {
    let sent = 0;
    for (const op of operations.filter((o) => o.body)) {
      const bodies = invalidBodies(op.body as NonNullable<Operation['body']>);
      expect(bodies.length, `${op.method} ${op.path}`).toBeGreaterThan(0);
      for (const payload of bodies) {
        const res = await send(op, { payload });
        const what = `${op.method} ${op.path} ${JSON.stringify(payload)}`;
        expectWellFormed(res, what);
        expect(res.statusCode, `${what} → ${res.body}`).toBe(400);
        sent++;
      }
    }
    expect(sent).toBeGreaterThan(100);
  });

  it('answers 400 problem+json to a body sent to a route that takes none', async () => {
    const bodiless = operations.filter((o) => !o.body && o.method !== 'GET');
    expect(bodiless.length).toBeGreaterThan(0);
    for (const op of bodiless) {
      for (const raw of ['{"unexpected":true}', '[]', '"x"', 'null', '0']) {
        const res = await send(op, { raw });
        const what = `${op.method} ${op.path} ${raw}`;
        expectWellFormed(res, what);
        expect(res.statusCode, `${what} → ${res.body}`).toBe(400);
      }
    }
  });

  it('never answers 5xx to odd values in a body of the right shape', async () => {
    for (const op of operations.filter((o) => o.body)) {
      await check(oddBodies(op.body as NonNullable<Operation['body']>), 60, async (payload) => {
        expectWellFormed(
          await send(op, { payload }),
          `${op.method} ${op.path} ${JSON.stringify(payload)}`,
        );
      });
    }
  });

  it('never answers 5xx to raw bodies that are not the JSON a route wants', async () => {
    for (const op of operations.filter((o) => o.method !== 'GET')) {
      // Nested deep enough to exhaust a stack that recursed over it: refused as such, everywhere.
      for (const raw of DEEP) {
        const res = await send(op, { raw });
        expectWellFormed(res, `${op.method} ${op.path} (deep JSON)`);
        expect(res.statusCode).toBe(400);
      }
      await check(
        fc.tuple(
          oddRawBodies,
          fc.constantFrom(
            'application/json',
            'text/plain',
            'application/xml',
            'application/json; charset=latin1',
          ),
        ),
        30,
        async ([raw, type]) => {
          expectWellFormed(
            await send(op, { raw, headers: { 'content-type': type } }),
            `${op.method} ${op.path} ${type} ${JSON.stringify(raw)}`,
          );
        },
      );
    }
  });

  it('never answers 5xx to odd path segments', async () => {
    for (const op of operations.filter((o) => o.pathParams.length > 0)) {
      await check(
        fc.tuple(fc.constantFrom(...op.pathParams), oddSegments),
        30,
        async ([name, segment]) => {
          const url = urlOf(op, { ...fixtures, [name]: segment });
          expectWellFormed(
            await send(op, { url, payload: op.body && sample(op.body) }),
            `${op.method} ${url}`,
          );
        },
      );
    }
  });

  it('never answers 5xx to odd query values, repeated parameters or unknown ones', async () => {
    for (const op of operations.filter((o) => o.query.length > 0)) {
      await check(
        fc.tuple(
          fc.constantFrom(...op.query.map((q) => q.name), 'unknownParam'),
          fc.oneof(oddSegments, oddString(600).map(encodeURIComponent)),
          fc.boolean(),
        ),
        30,
        async ([name, value, twice]) => {
          const url = `${urlOf(op, fixtures)}?${name}=${value}${twice ? `&${name}=${value}` : ''}`;
          expectWellFormed(await send(op, { url }), `${op.method} ${url}`);
        },
      );
    }
  });

  it('never answers 5xx to odd headers: keys, content types, idempotency keys, request ids', async () => {
    const header = fc.oneof(
      fc.record({
        authorization: fc.constantFrom(
          'Bearer',
          'Basic YTpi',
          'Bearer tsk_',
          `Bearer tsk_${'x'.repeat(200)}`,
          'bearer',
          'Bearer  x y',
        ),
      }),
      fc.record({
        'idempotency-key': fc.oneof(
          fc.constantFrom('a b', 'é', 'x'.repeat(256), '', '\u00ff'),
          fc.string({ maxLength: 300 }),
        ),
      }),
      fc.record({ 'x-request-id': fc.string({ unit: 'grapheme', maxLength: 200 }) }),
      fc.record({
        'content-type': fc.constantFrom(
          '',
          'application/json;',
          'multipart/form-data; boundary=x',
          'application/x-www-form-urlencoded',
          'APPLICATION/JSON',
        ),
      }),
      fc.record({ accept: fc.constantFrom('text/html', 'application/xml', '*/*;q=0') }),
    );
    for (const op of operations) {
      await check(header, 10, async (headers) => {
        const clean = Object.fromEntries(
          Object.entries(headers).filter(([, v]) => /^[\x20-\x7e\u00a0-\u00ff]*$/.test(v)),
        );
        const res = await send(op, { headers: clean, payload: op.body && sample(op.body) });
        expectWellFormed(res, `${op.method} ${op.path} ${JSON.stringify(clean)}`);
      });
    }
  });

  it('is still up, and the ledger still reconciles, after all of it', async () => {
    expect((await t.call({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
    await expectReconciled(t);
  });
});
