import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('programs: happy path', () => {
  it('creates a program with defaults and reads it back', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/programs',
      payload: { id: 'hotel-a', name: 'Hotel A' },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({
      id: 'hotel-a',
      name: 'Hotel A',
      pointsName: 'points',
      timezone: 'Asia/Shanghai',
      pointsExpiry: { kind: 'never' },
      status: 'active',
      createdAt: '2026-06-01T00:00:00.000Z',
      updatedAt: '2026-06-01T00:00:00.000Z',
    });
    const got = await t.call({ method: 'GET', url: '/v1/programs/hotel-a' });
    expect(got.statusCode).toBe(200);
    expect(got.json().name).toBe('Hotel A');
  });

  it('patches name, points name, time zone and status', async () => {
    await t.program('cafe-b');
    t.clock.advance(60_000);
    const res = await t.call({
      method: 'PATCH',
      url: '/v1/programs/cafe-b',
      payload: {
        name: 'Café B',
        pointsName: '咖啡豆',
        timezone: 'Europe/Paris',
        status: 'suspended',
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      name: 'Café B',
      pointsName: '咖啡豆',
      timezone: 'Europe/Paris',
      status: 'suspended',
      updatedAt: '2026-06-01T00:01:00.000Z',
    });
  });

  it('pages through programs with a cursor', async () => {
    for (const id of ['p-01', 'p-02', 'p-03', 'p-04', 'p-05']) await t.program(id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/programs?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await t.call({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { data: { id: string }[]; nextCursor: string | null };
      expect(body.data.length).toBeLessThanOrEqual(2);
      seen.push(...body.data.map((p) => p.id));
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...seen].sort());
    expect(seen).toEqual(
      expect.arrayContaining(['p-01', 'p-02', 'p-03', 'p-04', 'p-05', 'hotel-a', 'cafe-b']),
    );
    expect(new Set(seen).size).toBe(seen.length);
  });
});

describe('programs: errors', () => {
  it('refuses a duplicate id with 409 program_exists', async () => {
    await t.program('dup');
    const res = await t.call({
      method: 'POST',
      url: '/v1/programs',
      payload: { id: 'dup', name: 'Again' },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'program_exists', programId: 'dup' });
  });

  it.each([
    [{ id: 'Bad Slug', name: 'x' }, 'id'],
    [{ id: '-lead', name: 'x' }, 'id'],
    [{ id: 'ok-id', name: '' }, 'name'],
    [{ id: 'ok-id', name: 'x', timezone: 'Mars/Olympus' }, 'timezone'],
    [{ id: 'ok-id', name: 'x', status: 'active' }, 'body'],
  ])('answers 400 naming the field for %j', async (payload, field) => {
    const res = await t.call({ method: 'POST', url: '/v1/programs', payload });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().code).toBe('validation_failed');
    expect(res.json().errors[0].path).toBe(field);
    expect((await t.call({ method: 'GET', url: '/v1/programs/ok-id' })).statusCode).toBe(404);
  });

  it('refuses an empty patch and an unknown program', async () => {
    await t.program('patchy');
    expect(
      (await t.call({ method: 'PATCH', url: '/v1/programs/patchy', payload: {} })).statusCode,
    ).toBe(400);
    const missing = await t.call({
      method: 'PATCH',
      url: '/v1/programs/nope',
      payload: { name: 'x' },
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('not_found');
  });

  it('rejects a bad cursor with 400 invalid_cursor', async () => {
    const res = await t.call({ method: 'GET', url: '/v1/programs?cursor=garbage' });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('invalid_cursor');
  });
});

describe('programs: security', () => {
  it('lets only a coalition admin create programs', async () => {
    await t.program('own');
    const programAdmin = await t.key('own', 'admin');
    const res = await t.call({
      method: 'POST',
      url: '/v1/programs',
      key: programAdmin,
      payload: { id: 'x1', name: 'x' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('forbidden');
  });

  it("shows a program key only its own program, and another's as not found", async () => {
    await t.program('brand-a');
    await t.program('brand-b');
    const keyA = await t.key('brand-a', 'read');
    const list = await t.call({ method: 'GET', url: '/v1/programs', key: keyA });
    expect(list.json().data.map((p: { id: string }) => p.id)).toEqual(['brand-a']);
    const other = await t.call({ method: 'GET', url: '/v1/programs/brand-b', key: keyA });
    expect(other.statusCode).toBe(404);
    const missing = await t.call({ method: 'GET', url: '/v1/programs/never-made', key: keyA });
    expect(missing.statusCode).toBe(404);
    expect(other.json().detail).toBe('Program brand-b was not found');
    const patch = await t.call({
      method: 'PATCH',
      url: '/v1/programs/brand-b',
      key: await t.key('brand-a', 'admin'),
      payload: { name: 'mine' },
    });
    expect(patch.statusCode).toBe(404);
    expect((await t.call({ method: 'GET', url: '/v1/programs/brand-b' })).json().name).toBe(
      'Program brand-b',
    );
  });

  it('refuses writes from read and integration keys on program settings', async () => {
    await t.program('roles');
    for (const role of ['read', 'integration'] as const) {
      const res = await t.call({
        method: 'PATCH',
        url: '/v1/programs/roles',
        key: await t.key('roles', role),
        payload: { name: 'x' },
      });
      expect(res.statusCode).toBe(403);
    }
    const admin = await t.call({
      method: 'PATCH',
      url: '/v1/programs/roles',
      key: await t.key('roles', 'admin'),
      payload: { name: 'ok' },
    });
    expect(admin.statusCode).toBe(200);
  });
});
