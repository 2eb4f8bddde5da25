import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';

let t: TestContext;
let memberB: string;
let memberA: string;
const keys: Record<string, string> = {};

beforeAll(async () => {
  t = await createTestApp();
  await t.program('brand-a');
  await t.program('brand-b');
  for (const role of ['read', 'integration', 'admin'] as const)
    keys[role] = await t.key('brand-a', role);
  const enroll = (programId: string, phone: string) =>
    t.call({
      method: 'POST',
      url: `/v1/programs/${programId}/members`,
      payload: { identifiers: [{ type: 'phone', value: phone }], channel: 'pos' },
    });
  memberA = (await enroll('brand-a', '13900001111')).json().id;
  memberB = (await enroll('brand-b', '13900002222')).json().id;
});
afterAll(() => t.close());

type Call = { method: 'GET' | 'POST' | 'PATCH'; url: string; payload?: object };

const programPaths = (programId: string, memberId: string): Call[] => [
  {
    method: 'POST',
    url: `/v1/programs/${programId}/members`,
    payload: { identifiers: [{ type: 'phone', value: '13900003333' }], channel: 'pos' },
  },
  { method: 'GET', url: `/v1/programs/${programId}/members` },
  { method: 'GET', url: `/v1/programs/${programId}/members?identifier=phone:13900002222` },
  { method: 'GET', url: `/v1/programs/${programId}/members/${memberId}` },
  { method: 'PATCH', url: `/v1/programs/${programId}/members/${memberId}`, payload: { name: 'x' } },
  { method: 'POST', url: `/v1/programs/${programId}/members/${memberId}/activate`, payload: {} },
  {
    method: 'POST',
    url: `/v1/programs/${programId}/members/${memberId}/block`,
    payload: { reason: 'x' },
  },
  {
    method: 'POST',
    url: `/v1/programs/${programId}/members/${memberId}/unblock`,
    payload: { reason: 'x' },
  },
  { method: 'GET', url: `/v1/audit?programId=${programId}` },
];

describe('members: tenants and roles', () => {
  it.each(programPaths('brand-b', 'MEMBER_B'))(
    "gives a program-A key 404 on B's $method $url",
    async (c) => {
      const res = await t.call({ ...c, url: c.url.replace('MEMBER_B', memberB), key: keys.admin });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('not_found');
    },
  );

  it("answers 404 for a member of B asked for under A's own path", async () => {
    for (const c of programPaths('brand-a', memberB).slice(3, 8)) {
      const res = await t.call({ ...c, key: keys.admin });
      expect(res.statusCode, `${c.method} ${c.url}`).toBe(404);
    }
  });

  it('gives a read key 403 on every write', async () => {
    for (const c of programPaths('brand-a', memberA).filter((p) => p.method !== 'GET')) {
      const res = await t.call({ ...c, key: keys.read });
      expect(res.statusCode, `${c.method} ${c.url}`).toBe(403);
    }
  });

  it('lets only a program admin block, unblock and read the audit log', async () => {
    for (const c of programPaths('brand-a', memberA).filter((p) => /block|audit/.test(p.url))) {
      expect((await t.call({ ...c, key: keys.integration })).statusCode, c.url).toBe(403);
      expect((await t.call({ ...c, key: keys.admin })).statusCode, c.url).toBe(200);
    }
  });

  it("names in an identifier_conflict only the members the caller's program may see", async () => {
    const enroll = (programId: string, identifiers: object[], key?: string) =>
      t.call({
        method: 'POST',
        url: `/v1/programs/${programId}/members`,
        payload: { identifiers, channel: 'pos' },
        ...(key && { key }),
      });
    const phone = { type: 'phone', value: '13900004444' };
    const email = { type: 'email', value: 'only-b@example.cn' };
    const onlyB1 = (await enroll('brand-b', [phone])).json().id;
    const onlyB2 = (await enroll('brand-b', [email])).json().id;
    // Program A's key joins two people it has never seen: the conflict names neither.
    const hidden = await enroll('brand-a', [phone, email], keys.integration);
    expect(hidden.statusCode).toBe(409);
    expect(hidden.json()).toMatchObject({ code: 'identifier_conflict', memberIds: [] });
    expect(hidden.body).not.toContain(onlyB1);
    expect(hidden.body).not.toContain(onlyB2);
    expect(hidden.json().detail).toContain('2 enrolled only in other programs');
    // Once one of them joins A, A's key may see that one.
    await enroll('brand-a', [phone], keys.integration);
    const partly = await enroll('brand-a', [phone, email], keys.integration);
    expect(partly.json().memberIds).toEqual([onlyB1]);
    expect(partly.body).not.toContain(onlyB2);
    // The coalition admin sees both.
    const all = await enroll('brand-a', [phone, email]);
    expect(all.json().memberIds).toEqual([onlyB1, onlyB2].sort());
  });

  it('shows a program admin only its own audit rows', async () => {
    const rows = (await t.call({ method: 'GET', url: '/v1/audit', key: keys.admin })).json().data;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r: { programId: string }) => r.programId === 'brand-a')).toBe(true);
  });

  it('keeps the coalition paths for the coalition admin', async () => {
    const coalition: Call[] = [
      { method: 'GET', url: '/v1/members?identifier=phone:13900001111' },
      { method: 'GET', url: `/v1/members/${memberA}` },
      { method: 'GET', url: `/v1/members/${memberA}/export` },
      { method: 'POST', url: `/v1/members/${memberA}/erase` },
    ];
    for (const c of coalition) {
      for (const key of Object.values(keys)) {
        expect((await t.call({ ...c, key })).statusCode, `${c.method} ${c.url}`).toBe(403);
      }
      expect((await t.call({ ...c, key: null })).statusCode).toBe(401);
    }
    expect((await t.call({ method: 'GET', url: `/v1/members/${memberA}` })).statusCode).toBe(200);
  });

  it('answers 401 without a key or with a revoked one on member paths', async () => {
    const { id, key } = (
      await t.call({
        method: 'POST',
        url: '/v1/programs/brand-a/api-keys',
        payload: { role: 'read' },
      })
    ).json();
    await t.call({ method: 'DELETE', url: `/v1/programs/brand-a/api-keys/${id}` });
    for (const k of [key, null]) {
      expect(
        (await t.call({ method: 'GET', url: `/v1/programs/brand-a/members/${memberA}`, key: k }))
          .statusCode,
      ).toBe(401);
    }
  });
});
