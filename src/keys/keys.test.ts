import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { createKey as createKeyWithSecret, hashKey, KEY_TTL_MS } from './keys.service.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
  await t.program('hotel-a');
  await t.program('hotel-b');
});
afterAll(() => t.close());

const createKey = (programId: string, payload: object, key?: string) =>
  t.call({
    method: 'POST',
    url: `/v1/programs/${programId}/api-keys`,
    payload,
    ...(key && { key }),
  });

describe('api keys: happy path', () => {
  it('creates a key shown once, which then works and is listed without its secret', async () => {
    const res = await createKey('hotel-a', { role: 'integration', name: 'POS store 12' });
    expect(res.statusCode).toBe(201);
    const created = res.json();
    expect(created).toMatchObject({
      programId: 'hotel-a',
      role: 'integration',
      name: 'POS store 12',
      revokedAt: null,
    });
    expect(created.key).toMatch(/^tsk_[A-Za-z0-9_-]{32}$/);
    expect(created.id).toMatch(/^key_/);
    expect(created.key.startsWith(created.prefix)).toBe(true);

    const own = await t.call({ method: 'GET', url: '/v1/programs/hotel-a', key: created.key });
    expect(own.statusCode).toBe(200);

    const list = await t.call({ method: 'GET', url: '/v1/programs/hotel-a/api-keys' });
    expect(list.statusCode).toBe(200);
    const listed = list.json().data.find((k: { id: string }) => k.id === created.id);
    expect(listed).toMatchObject({ role: 'integration', prefix: created.prefix });
    expect(listed.key).toBeUndefined();
    expect(list.body).not.toContain(created.key);
  });

  it('tells a caller which key it is using: its program and role, never its secret', async () => {
    const { id, key } = (await createKey('hotel-a', { role: 'read', name: 'Dashboard' })).json();
    const res = await t.call({ method: 'GET', url: '/v1/api-keys/current', key });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, programId: 'hotel-a', role: 'read', name: 'Dashboard' });
    expect(res.body).not.toContain(key);
    const coalition = await t.call({ method: 'GET', url: '/v1/api-keys/current' });
    expect(coalition.json()).toMatchObject({ programId: null, role: 'admin' });
    const none = await t.call({ method: 'GET', url: '/v1/api-keys/current', key: null });
    expect(none.statusCode).toBe(401);
  });

  it('stores only a hash of the key', async () => {
    const { key } = (await createKey('hotel-a', { role: 'read' })).json();
    const rows = await t.deps.db.selectFrom('api_keys').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(key);
  });

  it("lets a program's admin key create keys for that program", async () => {
    const admin = await t.key('hotel-a', 'admin');
    const res = await createKey('hotel-a', { role: 'read' }, admin);
    expect(res.statusCode).toBe(201);
  });

  it('revokes a key: it answers 401 from then on, and revoking again keeps the first time', async () => {
    const { id, key } = (await createKey('hotel-a', { role: 'read' })).json();
    const revoked = await t.call({ method: 'DELETE', url: `/v1/programs/hotel-a/api-keys/${id}` });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().revokedAt).toBe('2026-06-01T00:00:00.000Z');
    const after = await t.call({ method: 'GET', url: '/v1/programs/hotel-a', key });
    expect(after.statusCode).toBe(401);
    expect(after.json().code).toBe('unauthorized');
    t.clock.advance(1000);
    const again = await t.call({ method: 'DELETE', url: `/v1/programs/hotel-a/api-keys/${id}` });
    expect(again.json().revokedAt).toBe('2026-06-01T00:00:00.000Z');
  });
});

describe('api keys: what a process remembers of them', () => {
  it('refuses a key revoked here at once, even one it authenticated a moment before', async () => {
    const { id, key } = (await createKey('hotel-a', { role: 'read' })).json();
    const before = await t.call({ method: 'GET', url: '/v1/programs/hotel-a', key });
    expect(before.statusCode).toBe(200);
    await t.call({ method: 'DELETE', url: `/v1/programs/hotel-a/api-keys/${id}` });
    const after = await t.call({ method: 'GET', url: '/v1/programs/hotel-a', key });
    expect(after.statusCode).toBe(401);
  });

  it(`refuses a key revoked by another process within ${KEY_TTL_MS} ms`, async () => {
    const { id, key } = (await createKey('hotel-a', { role: 'read' })).json();
    const get = () => t.call({ method: 'GET', url: '/v1/programs/hotel-a', key });
    expect((await get()).statusCode).toBe(200);
    // Another server revokes it: this process learns of it when its memory of the key runs out.
    await t.deps.db
      .updateTable('api_keys')
      .set({ revoked_at: t.clock.now() })
      .where('id', '=', id)
      .execute();
    t.clock.advance(KEY_TTL_MS - 1);
    expect((await get()).statusCode).toBe(200);
    t.clock.advance(1);
    expect((await get()).statusCode).toBe(401);
  });

  it('never remembers an unknown key: one created afterwards with that secret works', async () => {
    const secret = `tsk_${'u'.repeat(32)}`;
    const get = () => t.call({ method: 'GET', url: '/v1/programs/hotel-a', key: secret });
    expect((await get()).statusCode).toBe(401);
    await createKeyWithSecret(
      t.deps,
      { programId: 'hotel-a', role: 'read', name: 'late' },
      null,
      secret,
    );
    expect((await get()).statusCode).toBe(200);
  });
});

describe('api keys: audit', () => {
  it('records creation and revocation with the acting key, never the secret', async () => {
    const admin = await t.key('hotel-a', 'admin');
    const created = (await createKey('hotel-a', { role: 'read', name: 'audited' }, admin)).json();
    await t.call({
      method: 'DELETE',
      url: `/v1/programs/hotel-a/api-keys/${created.id}`,
      key: admin,
    });
    await t.call({
      method: 'DELETE',
      url: `/v1/programs/hotel-a/api-keys/${created.id}`,
      key: admin,
    });
    const rows = (await t.call({ method: 'GET', url: '/v1/audit?programId=hotel-a' })).json().data;
    const mine = rows.filter((r: { after: { id?: string } }) => r.after?.id === created.id);
    expect(mine.map((r: { action: string }) => r.action)).toEqual([
      'api_key.revoked',
      'api_key.created',
    ]);
    const adminId = (
      await t.deps.db
        .selectFrom('api_keys')
        .select('id')
        .where('hash', '=', hashKey(admin))
        .executeTakeFirst()
    )?.id;
    expect(adminId).toMatch(/^key_/);
    expect(mine.every((r: { actorKeyId: string }) => r.actorKeyId === adminId)).toBe(true);
    expect(JSON.stringify(rows)).not.toContain(created.key);
  });
});

describe('api keys: errors', () => {
  it.each([{ role: 'owner' }, { role: 'read', extra: 1 }, { role: 'read', name: '' }, {}])(
    'answers 400 for %j',
    async (payload) => {
      const res = await createKey('hotel-a', payload);
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    },
  );

  it('answers 404 for keys of an unknown program and an unknown key', async () => {
    expect((await createKey('no-such', { role: 'read' })).statusCode).toBe(404);
    expect(
      (await t.call({ method: 'DELETE', url: '/v1/programs/hotel-a/api-keys/key_nope' }))
        .statusCode,
    ).toBe(404);
  });
});

describe('api keys: security', () => {
  it('answers 401 without a key, with a malformed one and with an unknown one', async () => {
    for (const authorization of [
      undefined,
      'Basic abc',
      'Bearer nope',
      'Bearer tsk_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    ]) {
      const res = await t.call({
        method: 'GET',
        url: '/v1/programs',
        key: null,
        headers: authorization ? { authorization } : {},
      });
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  it('gives a program-A key 404 on every program-B key path', async () => {
    const adminA = await t.key('hotel-a', 'admin');
    const keyB = (await createKey('hotel-b', { role: 'read' })).json();
    const paths = [
      { method: 'POST' as const, url: '/v1/programs/hotel-b/api-keys', payload: { role: 'read' } },
      { method: 'GET' as const, url: '/v1/programs/hotel-b/api-keys' },
      { method: 'DELETE' as const, url: `/v1/programs/hotel-b/api-keys/${keyB.id}` },
    ];
    for (const p of paths) {
      const res = await t.call({ ...p, key: adminA });
      expect(res.statusCode, `${p.method} ${p.url}`).toBe(404);
    }
    // B's key still works: A could not revoke it.
    expect(
      (await t.call({ method: 'GET', url: '/v1/programs/hotel-b', key: keyB.key })).statusCode,
    ).toBe(200);
  });

  it('gives read and integration keys 403 on key management', async () => {
    for (const role of ['read', 'integration'] as const) {
      const key = await t.key('hotel-a', role);
      expect((await createKey('hotel-a', { role: 'read' }, key)).statusCode).toBe(403);
      expect(
        (await t.call({ method: 'GET', url: '/v1/programs/hotel-a/api-keys', key })).statusCode,
      ).toBe(403);
    }
  });

  it('does not let a key act on a key of the same id in another program', async () => {
    const keyB = (await createKey('hotel-b', { role: 'read' })).json();
    const res = await t.call({ method: 'DELETE', url: `/v1/programs/hotel-a/api-keys/${keyB.id}` });
    expect(res.statusCode).toBe(404);
  });
});
