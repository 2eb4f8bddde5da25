import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { member } from '../../test/ledger-helpers.ts';
import type { levelsBody, memberLevelSchema } from './coalition.schemas.ts';
import { effectiveLevel, levelsOf, listLevels } from './coalition.service.ts';

let t: TestContext;
let keyA: string; // hotel-a admin
let readB: string; // hotel-b read
let alice: string; // enrolled in hotel-a
let bob: string; // enrolled in hotel-b only

const LEVELS: z.infer<typeof levelsBody> = [
  { code: 'diamond', name: '钻石', rank: 4 },
  { code: 'platinum', name: '铂金', rank: 3 },
  { code: 'gold', name: '黄金', rank: 2 },
  { code: 'silver', name: '白银', rank: 1 },
];

const LADDER = {
  basis: 'growth',
  evaluation: 'periodic',
  tiers: [
    { code: 'member', name: 'Member', threshold: 0 },
    { code: 'silver', name: 'Silver', threshold: 100 },
    { code: 'gold', name: 'Gold', threshold: 500 },
    { code: 'platinum', name: 'Platinum', threshold: 2000 },
  ],
};

type MemberLevel = z.infer<typeof memberLevelSchema>;

async function call(method: 'GET' | 'PUT', url: string, payload?: unknown, key?: string) {
  return t.call({
    method,
    url,
    ...(payload !== undefined && { payload: payload as object }),
    ...(key && { key }),
  });
}

const levelUrl = (m: string) => `/v1/members/${m}/coalition-level`;

async function levelOf(m: string, key?: string): Promise<MemberLevel> {
  const res = await call('GET', levelUrl(m), undefined, key);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function setLevel(m: string, body: object) {
  const res = await call('PUT', levelUrl(m), body);
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as MemberLevel;
}

async function audit(action: string) {
  const res = await t.call({ method: 'GET', url: `/v1/audit?action=${action}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().data as { memberId: string | null; before: unknown; after: unknown }[];
}

async function grow(p: string, m: string, value: number) {
  const res = await t.call({
    method: 'POST',
    url: `/v1/programs/${p}/members/${m}/growth`,
    payload: { source: 'spend', value, reference: `g-${m}-${value}` },
  });
  expect(res.statusCode, res.body).toBe(201);
}

beforeAll(async () => {
  t = await createTestApp();
  for (const p of ['hotel-a', 'hotel-b']) {
    await t.program(p);
    expect((await call('PUT', `/v1/programs/${p}/tiers`, LADDER)).statusCode).toBe(200);
    const policy = await call('PUT', `/v1/programs/${p}/growth-policy`, {
      mode: 'one_way',
      sources: [{ source: 'spend' }],
    });
    expect(policy.statusCode, policy.body).toBe(200);
  }
  keyA = await t.key('hotel-a', 'admin');
  readB = await t.key('hotel-b', 'read');
  alice = await member(t, 'hotel-a', '13900000001');
  bob = await member(t, 'hotel-b', '13900000002');
});
afterAll(() => t.close());

describe('coalition levels', () => {
  it('are set by the coalition admin, listed highest first to any key, and audited', async () => {
    const shuffled = [LEVELS[2], LEVELS[0], LEVELS[3], LEVELS[1]];
    const res = await call('PUT', '/v1/coalition/levels', shuffled);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data).toEqual(LEVELS);
    const read = await call('GET', '/v1/coalition/levels', undefined, readB);
    expect(read.statusCode).toBe(200);
    expect(read.json().data).toEqual(LEVELS);
    expect(await listLevels(t.deps)).toEqual(LEVELS);
    const rows = await audit('coalition.levels_set');
    expect(rows).toHaveLength(1);
    expect(rows[0]?.after).toEqual(shuffled);
  });

  it('refuse a program key (403) and a bad list (400), changing nothing', async () => {
    const forbidden = await call('PUT', '/v1/coalition/levels', LEVELS, keyA);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.headers['content-type']).toMatch(/^application\/problem\+json/);
    for (const bad of [
      [...LEVELS, { code: 'gold', name: 'again', rank: 9 }],
      [...LEVELS, { code: 'bronze', name: 'same rank', rank: 1 }],
      [{ code: 'Bad Code', name: 'x', rank: 1 }],
      [{ code: 'x', name: 'x', rank: 1.5 }],
      { levels: LEVELS },
    ]) {
      const res = await call('PUT', '/v1/coalition/levels', bad);
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
    expect(await listLevels(t.deps)).toEqual(LEVELS);
    expect(await audit('coalition.levels_set')).toHaveLength(1);
  });

  it('may change ranks and names in one go (two levels swapping ranks)', async () => {
    const swapped = LEVELS.map((l) =>
      l.code === 'gold' ? { ...l, rank: 1 } : l.code === 'silver' ? { ...l, rank: 2 } : l,
    );
    const res = await call('PUT', '/v1/coalition/levels', swapped);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data.map((l: { code: string }) => l.code)).toEqual([
      'diamond',
      'platinum',
      'silver',
      'gold',
    ]);
    expect((await call('PUT', '/v1/coalition/levels', LEVELS)).statusCode).toBe(200);
  });
});

describe("a member's coalition level, set by the coalition's integration", () => {
  it('is set (audited), read back by the coalition and by a program the member is in', async () => {
    const set = await setLevel(alice, {
      level: 'platinum',
      source: 'alipay',
      validUntil: '2027-06-01T00:00:00.000Z',
    });
    expect(set.level).toEqual({
      code: 'platinum',
      name: '铂金',
      rank: 3,
      source: 'alipay',
      validUntil: '2027-06-01T00:00:00.000Z',
    });
    expect(set.set).toMatchObject({ level: 'platinum', source: 'alipay', counted: true });
    // A key of a program the member is enrolled in sees the level that counts, and no more.
    const seen = await levelOf(alice, keyA);
    expect(seen).toEqual({ memberId: alice, level: set.level });
    const rows = await audit('coalition.member_level_set');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ memberId: alice, before: null });
    expect(await effectiveLevel(t.deps, alice)).toEqual({
      code: 'platinum',
      name: '铂金',
      rank: 3,
      source: 'alipay',
      validUntil: new Date('2027-06-01T00:00:00.000Z'),
    });
  });

  it('is idempotent: the same PUT again changes nothing and records nothing', async () => {
    const again = await setLevel(alice, {
      level: 'platinum',
      source: 'alipay',
      validUntil: '2027-06-01T00:00:00.000Z',
    });
    expect(again.level?.code).toBe('platinum');
    expect(await audit('coalition.member_level_set')).toHaveLength(1);
  });

  it('refuses an unknown member (404), an unknown level or a past validity (400), a program key (403)', async () => {
    const unknown = await call('PUT', levelUrl('mem_nobody'), { level: 'gold', source: 'alipay' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('not_found');
    for (const body of [
      { level: 'bronze', source: 'alipay' },
      { level: 'gold', source: 'alipay', validUntil: '2026-01-01T00:00:00.000Z' },
      { level: 'gold' },
      { level: 'gold', source: '' },
      { level: 'gold', source: 'alipay', extra: 1 },
    ]) {
      const res = await call('PUT', levelUrl(alice), body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    const byProgram = await call('PUT', levelUrl(alice), { level: 'gold', source: 'x' }, keyA);
    expect(byProgram.statusCode).toBe(403);
    expect((await levelOf(alice)).level?.code).toBe('platinum');
    expect(await audit('coalition.member_level_set')).toHaveLength(1);
  });

  it("is 404 to another program's key, and for a member that does not exist", async () => {
    const other = await call('GET', levelUrl(alice), undefined, readB);
    expect(other.statusCode).toBe(404);
    expect(other.json().code).toBe('not_found');
    expect(other.body).not.toContain('platinum');
    expect(other.body).not.toContain(alice);
    expect((await call('GET', levelUrl('mem_nobody'))).statusCode).toBe(404);
  });

  it('stops counting once its validity ends', async () => {
    const before = t.clock.now();
    t.clock.set('2027-06-01T00:00:01Z');
    const after = await levelOf(alice);
    expect(after.level).toBeNull();
    expect(after.set).toMatchObject({ level: 'platinum', counted: false });
    expect(await effectiveLevel(t.deps, alice)).toBeNull();
    t.clock.set(before.toISOString());
  });

  it('cannot lose its level from the list while a member holds it (409, nothing changes)', async () => {
    const res = await call(
      'PUT',
      '/v1/coalition/levels',
      LEVELS.filter((l) => l.code !== 'platinum'),
    );
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'level_in_use', level: 'platinum', members: 1 });
    expect(await listLevels(t.deps)).toEqual(LEVELS);
  });
});

describe('levels derived from tiers by the coalition rules', () => {
  it('are set by the coalition admin (audited) and refused with 400 when they name nothing real', async () => {
    const rules = [
      { level: 'gold', when: { programId: 'hotel-b', tierAtLeast: 'gold' } },
      { level: 'silver', when: { programId: 'hotel-b', tierAtLeast: 'silver' } },
      { level: 'diamond', when: { programId: 'hotel-a', tierAtLeast: 'platinum' } },
    ];
    const res = await call('PUT', '/v1/coalition/level-rules', rules);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data).toEqual(rules);
    expect((await call('GET', '/v1/coalition/level-rules')).json().data).toEqual(rules);
    expect(await audit('coalition.level_rules_set')).toHaveLength(1);
    for (const bad of [
      [{ level: 'bronze', when: { programId: 'hotel-b', tierAtLeast: 'gold' } }],
      [{ level: 'gold', when: { programId: 'hotel-z', tierAtLeast: 'gold' } }],
      [{ level: 'gold', when: { programId: 'hotel-b', tierAtLeast: 'emerald' } }],
    ]) {
      const r = await call('PUT', '/v1/coalition/level-rules', bad);
      expect(r.statusCode, JSON.stringify(bad)).toBe(400);
      expect(r.json().errors[0].path).toMatch(/^0\./);
    }
    expect((await call('PUT', '/v1/coalition/level-rules', rules, keyA)).statusCode).toBe(403);
    expect((await call('GET', '/v1/coalition/level-rules', undefined, keyA)).statusCode).toBe(403);
    expect((await call('GET', '/v1/coalition/level-rules')).json().data).toEqual(rules);
    expect(await audit('coalition.level_rules_set')).toHaveLength(1);
  });

  it("give a member the highest level one of their tiers meets; the rule's level must stay", async () => {
    // Bob holds the entry tier at hotel-b: no rule yet.
    expect((await levelOf(bob)).level).toBeNull();
    await grow('hotel-b', bob, 150);
    expect((await levelOf(bob)).level).toMatchObject({ code: 'silver', source: 'rule' });
    await grow('hotel-b', bob, 500);
    const view = await levelOf(bob);
    expect(view.level).toEqual({
      code: 'gold',
      name: '黄金',
      rank: 2,
      source: 'rule',
      validUntil: null,
    });
    expect(view.derived).toEqual({
      code: 'gold',
      name: '黄金',
      rank: 2,
      programId: 'hotel-b',
      tier: 'gold',
    });
    // hotel-b's key sees the level, not which program it came from.
    expect(await levelOf(bob, readB)).toEqual({ memberId: bob, level: view.level });
    const res = await call('PUT', '/v1/coalition/levels', LEVELS.slice(0, 3));
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'level_in_use', level: 'silver', rules: 1 });
  });

  it('count the higher of the level set and the level derived', async () => {
    // Set lower than derived: the derived one counts.
    await setLevel(bob, { level: 'silver', source: 'alipay' });
    expect((await levelOf(bob)).level).toMatchObject({ code: 'gold', source: 'rule' });
    // Set higher: the set one counts.
    await setLevel(bob, { level: 'diamond', source: 'alipay' });
    expect((await levelOf(bob)).level).toMatchObject({
      code: 'diamond',
      source: 'alipay',
      validUntil: null,
    });
    const batch = await levelsOf(t.deps, [alice, bob, 'mem_nobody']);
    expect([...batch.keys()].sort()).toEqual([alice, bob].sort());
    expect(batch.get(bob)?.code).toBe('diamond');
    expect(batch.get(alice)?.code).toBe('platinum');
  });
});

describe('a merge', () => {
  it("gives the survivor the duplicate's level when it ranks higher", async () => {
    const dup = await member(t, 'hotel-a', '13900000011');
    const survivor = await member(t, 'hotel-a', '13900000012');
    await setLevel(dup, { level: 'diamond', source: 'alipay' });
    await setLevel(survivor, { level: 'silver', source: 'alipay' });
    const merged = await t.call({
      method: 'POST',
      url: `/v1/members/${survivor}/merge`,
      payload: { from: dup },
    });
    expect(merged.statusCode, merged.body).toBe(200);
    expect((await levelOf(survivor)).level).toMatchObject({ code: 'diamond', source: 'alipay' });
    const gone = await call('PUT', levelUrl(dup), { level: 'gold', source: 'alipay' });
    expect(gone.statusCode).toBe(409);
    expect(gone.json().code).toBe('member_merged');
  });
});
