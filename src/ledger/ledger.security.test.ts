import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { adjust, member, pointsUrl } from '../../test/ledger-helpers.ts';

let t: TestContext;
let a: string;
let b: string;
let holdB: string;
const keys: Record<string, string> = {};

beforeAll(async () => {
  t = await createTestApp();
  await t.program('brand-a');
  await t.program('brand-b');
  for (const role of ['read', 'integration', 'admin'] as const)
    keys[role] = await t.key('brand-a', role);
  a = await member(t, 'brand-a', '13500000001');
  b = await member(t, 'brand-b', '13500000002');
  await adjust(t, 'brand-a', a, 100);
  await adjust(t, 'brand-b', b, 100);
  holdB = (
    await t.call({
      method: 'POST',
      url: `${pointsUrl('brand-b', b)}/holds`,
      payload: { points: 10 },
    })
  ).json().id;
});
afterAll(() => t.close());

type Call = { method: 'GET' | 'POST'; url: string; payload?: object };
const paths = (programId: string, memberId: string, holdId: string): Call[] => [
  { method: 'GET', url: pointsUrl(programId, memberId) },
  { method: 'GET', url: `${pointsUrl(programId, memberId)}/history` },
  { method: 'GET', url: `${pointsUrl(programId, memberId)}/lots` },
  { method: 'GET', url: `${pointsUrl(programId, memberId)}/holds/${holdId}` },
  {
    method: 'POST',
    url: `${pointsUrl(programId, memberId)}/adjustments`,
    payload: { points: 5, reason: 'x' },
  },
  {
    method: 'POST',
    url: `${pointsUrl(programId, memberId)}/redemptions`,
    payload: { points: 5, reference: 'x' },
  },
  { method: 'POST', url: `${pointsUrl(programId, memberId)}/holds`, payload: { points: 5 } },
  { method: 'POST', url: `${pointsUrl(programId, memberId)}/holds/${holdId}/capture`, payload: {} },
  { method: 'POST', url: `${pointsUrl(programId, memberId)}/holds/${holdId}/release` },
];

describe('points: tenants and roles', () => {
  it("gives a program-A admin key 404 on every points path of B's member", async () => {
    for (const c of paths('brand-b', b, holdB)) {
      const res = await t.call({ ...c, key: keys.admin });
      expect(res.statusCode, `${c.method} ${c.url}`).toBe(404);
    }
    // B's hold is untouched.
    expect(
      (await t.call({ method: 'GET', url: `${pointsUrl('brand-b', b)}/holds/${holdB}` })).json()
        .status,
    ).toBe('pending');
  });

  it("answers 404 for B's member or hold under A's own path", async () => {
    for (const c of paths('brand-a', b, 'hld_x')) {
      const res = await t.call({ ...c, key: keys.admin });
      expect(res.statusCode, `${c.method} ${c.url}`).toBe(404);
    }
    for (const c of paths('brand-a', a, holdB).filter((p) => p.url.includes('/holds/'))) {
      expect((await t.call({ ...c, key: keys.admin })).statusCode, c.url).toBe(404);
    }
  });

  it('gives a read key 403 on every write and an integration key 403 on adjustments', async () => {
    for (const c of paths('brand-a', a, 'hld_x').filter((p) => p.method === 'POST')) {
      expect((await t.call({ ...c, key: keys.read })).statusCode, c.url).toBe(403);
    }
    const adjustCall = paths('brand-a', a, 'hld_x')[4] as Call;
    expect((await t.call({ ...adjustCall, key: keys.integration })).statusCode).toBe(403);
    expect((await t.call({ ...adjustCall, key: keys.admin })).statusCode).toBe(201);
  });

  it('keeps reconcile for the coalition admin', async () => {
    for (const key of Object.values(keys)) {
      expect((await t.call({ method: 'GET', url: '/v1/ledger/reconcile', key })).statusCode).toBe(
        403,
      );
    }
    expect(
      (await t.call({ method: 'GET', url: '/v1/ledger/reconcile', key: null })).statusCode,
    ).toBe(401);
  });

  it('answers 400 for bad amounts', async () => {
    for (const payload of [
      { points: 0, reference: 'x' },
      { points: -5, reference: 'x' },
      { points: 1.5, reference: 'x' },
      { points: 5 },
      { points: '5', reference: 'x' },
    ]) {
      const res = await t.call({
        method: 'POST',
        url: `${pointsUrl('brand-a', a)}/redemptions`,
        payload,
      });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
    }
    const zero = await t.call({
      method: 'POST',
      url: `${pointsUrl('brand-a', a)}/adjustments`,
      payload: { points: 0, reason: 'x' },
    });
    expect(zero.statusCode).toBe(400);
    const long = await t.call({
      method: 'POST',
      url: `${pointsUrl('brand-a', a)}/holds`,
      payload: { points: 1, expiresInSeconds: 8 * 86_400 },
    });
    expect(long.statusCode).toBe(400);
  });
});
