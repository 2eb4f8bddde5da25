import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';

let t: TestContext;
let keyA: string;
let keyB: string;
beforeAll(async () => {
  t = await createTestApp();
  await t.program('hotel-a');
  await t.program('cafe-b');
  keyA = await t.key('hotel-a', 'integration');
  keyB = await t.key('cafe-b', 'integration');
});
afterAll(() => t.close());

const enroll = (programId: string, payload: object, key?: string) =>
  t.call({
    method: 'POST',
    url: `/v1/programs/${programId}/members`,
    payload,
    ...(key && { key }),
  });

describe('enrollment and one identity', () => {
  it('makes one member of a phone enrolled at A and then at B with a wechat_openid', async () => {
    const a = await enroll(
      'hotel-a',
      {
        identifiers: [
          { type: 'phone', value: '138 0013 8000' },
          { type: 'card_number', value: 'HA-0001' },
        ],
        profile: { name: '张伟', birthday: '1990-05-01' },
        channel: 'pos',
      },
      keyA,
    );
    expect(a.statusCode).toBe(201);
    const member = a.json();
    expect(member.id).toMatch(/^mem_/);
    expect(member).toMatchObject({
      programId: 'hotel-a',
      status: 'active',
      channel: 'pos',
      activatedAt: null,
    });
    expect(member.identifiers).toEqual([
      { type: 'card_number', value: 'HA-0001' },
      { type: 'phone', value: '+8613800138000' },
    ]);

    const b = await enroll(
      'cafe-b',
      {
        identifiers: [
          { type: 'phone', value: '+86 138-0013-8000' },
          { type: 'wechat_openid', value: 'oWx_abc123' },
          { type: 'card_number', value: 'CB-77' },
        ],
        channel: 'app',
      },
      keyB,
    );
    expect(b.statusCode).toBe(201);
    expect(b.json().id).toBe(member.id);
    expect(b.json().profile.name).toBe('张伟');

    for (const identifier of [
      'phone:13800138000',
      'wechat_openid:oWx_abc123',
      'card_number:CB-77',
    ]) {
      const found = await t.call({
        method: 'GET',
        url: `/v1/programs/cafe-b/members?identifier=${encodeURIComponent(identifier)}`,
        key: keyB,
      });
      expect(
        found.json().data.map((m: { id: string }) => m.id),
        identifier,
      ).toEqual([member.id]);
    }
    // A sees the shared identifiers but not B's card number, and cannot find the member by it.
    const seenByA = (
      await t.call({ method: 'GET', url: `/v1/programs/hotel-a/members/${member.id}`, key: keyA })
    ).json();
    expect(seenByA.identifiers).toContainEqual({ type: 'wechat_openid', value: 'oWx_abc123' });
    expect(seenByA.identifiers).not.toContainEqual({ type: 'card_number', value: 'CB-77' });
    expect(JSON.stringify(seenByA)).not.toContain('CB-77');
    const byBCard = await t.call({
      method: 'GET',
      url: '/v1/programs/hotel-a/members?identifier=card_number:CB-77',
      key: keyA,
    });
    expect(byBCard.json().data).toEqual([]);
  });

  it('returns the same member with 200 when enrolling again, keeping known profile fields', async () => {
    const first = await enroll('hotel-a', {
      identifiers: [{ type: 'email', value: 'Li.Na@Example.com' }],
      profile: { name: '李娜' },
      channel: 'web',
    });
    const again = await enroll('hotel-a', {
      identifiers: [{ type: 'email', value: 'li.na@example.com' }],
      profile: { name: 'Someone Else', gender: 'female' },
      channel: 'web',
    });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);
    expect(again.json().profile).toMatchObject({ name: '李娜', gender: 'female' });
  });

  it('answers 409 identifier_conflict with both member ids when identifiers name two members', async () => {
    const one = (
      await enroll('hotel-a', {
        identifiers: [{ type: 'phone', value: '13900000001' }],
        channel: 'pos',
      })
    ).json().id;
    const two = (
      await enroll('hotel-a', {
        identifiers: [{ type: 'phone', value: '13900000002' }],
        channel: 'pos',
      })
    ).json().id;
    const res = await enroll('hotel-a', {
      identifiers: [
        { type: 'phone', value: '13900000001' },
        { type: 'phone', value: '13900000002' },
        { type: 'email', value: 'x@y.cn' },
      ],
      channel: 'pos',
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('identifier_conflict');
    expect(res.json().memberIds.sort()).toEqual([one, two].sort());
    // Nothing changed: the email was not attached to either.
    const byEmail = await t.call({ method: 'GET', url: '/v1/members?identifier=email:x@y.cn' });
    expect(byEmail.json().data).toEqual([]);
  });

  it('keeps card numbers unique per program only', async () => {
    const a = await enroll('hotel-a', {
      identifiers: [{ type: 'card_number', value: 'SAME-1' }],
      channel: 'pos',
    });
    const b = await enroll('cafe-b', {
      identifiers: [{ type: 'card_number', value: 'SAME-1' }],
      channel: 'pos',
    });
    expect(a.statusCode).toBe(201);
    expect(b.statusCode).toBe(201);
    expect(a.json().id).not.toBe(b.json().id);
  });

  it('enforces "an identifier belongs to one member" in the database itself', async () => {
    const m = (
      await enroll('hotel-a', {
        identifiers: [{ type: 'phone', value: '13700000000' }],
        channel: 'pos',
      })
    ).json().id;
    const other = (
      await enroll('hotel-a', {
        identifiers: [{ type: 'phone', value: '13700000009' }],
        channel: 'pos',
      })
    ).json().id;
    expect(m).not.toBe(other);
    await expect(
      sql`insert into identifiers (type, scope, value, member_id, created_at) values ('phone', '', '+8613700000000', ${other}, now())`.execute(
        t.deps.db,
      ),
    ).rejects.toThrow(/duplicate key/);
  });

  it('makes exactly one member of twenty concurrent enrollments of one new phone', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        enroll(i % 2 ? 'hotel-a' : 'cafe-b', {
          identifiers: [{ type: 'phone', value: '13612345678' }],
          channel: 'pos',
        }),
      ),
    );
    expect(responses.every((r) => r.statusCode === 200 || r.statusCode === 201)).toBe(true);
    expect(new Set(responses.map((r) => r.json().id)).size).toBe(1);
    expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(2); // one new enrollment per program
    const rows = await t.deps.db
      .selectFrom('identifiers')
      .select('member_id')
      .where('value', '=', '+8613612345678')
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('refuses enrollment in a suspended program', async () => {
    await t.program('closed');
    await t.call({ method: 'PATCH', url: '/v1/programs/closed', payload: { status: 'suspended' } });
    const res = await enroll('closed', {
      identifiers: [{ type: 'phone', value: '13511112222' }],
      channel: 'pos',
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('program_suspended');
  });
});

describe('listing', () => {
  it("pages through a program's members, each once, with its identifiers", async () => {
    await t.program('listed');
    const ids: string[] = [];
    for (const phone of [
      '13400000001',
      '13400000002',
      '13400000003',
      '13400000004',
      '13400000005',
    ]) {
      ids.push(
        (
          await enroll('listed', { identifiers: [{ type: 'phone', value: phone }], channel: 'pos' })
        ).json().id,
      );
    }
    const seen: { id: string; identifiers: unknown[] }[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/programs/listed/members?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const body = (await t.call({ method: 'GET', url })).json() as {
        data: typeof seen;
        nextCursor: string | null;
      };
      expect(body.data.length).toBeLessThanOrEqual(2);
      seen.push(...body.data);
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen.map((m) => m.id)).toEqual([...ids].sort());
    expect(seen.every((m) => m.identifiers.length === 1)).toBe(true);
  });

  it("reads only its own list's cursors: not the audit log's, nor another program's", async () => {
    await t.program('other-list');
    await enroll('other-list', {
      identifiers: [{ type: 'phone', value: '13400000011' }],
      channel: 'pos',
    });
    await enroll('other-list', {
      identifiers: [{ type: 'phone', value: '13400000012' }],
      channel: 'pos',
    });
    const audit = (await t.call({ method: 'GET', url: '/v1/audit?limit=1' })).json().nextCursor;
    const other = (
      await t.call({ method: 'GET', url: '/v1/programs/other-list/members?limit=1' })
    ).json().nextCursor;
    expect(audit).toEqual(expect.any(String));
    expect(other).toEqual(expect.any(String));
    for (const cursor of [audit, other]) {
      const res = await t.call({
        method: 'GET',
        url: `/v1/programs/listed/members?cursor=${cursor}`,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('invalid_cursor');
    }
    // A filter is part of the list too: the audit log of one action is not that of another.
    const filtered = (
      await t.call({ method: 'GET', url: '/v1/audit?limit=1&action=program.created' })
    ).json().nextCursor;
    const res = await t.call({ method: 'GET', url: `/v1/audit?cursor=${filtered}` });
    expect(res.json().code).toBe('invalid_cursor');
    // The limit is not: a next page may be asked for in another size.
    const resized = await t.call({
      method: 'GET',
      url: `/v1/audit?limit=5&action=program.created&cursor=${filtered}`,
    });
    expect(resized.statusCode).toBe(200);
  });
});

describe('validation', () => {
  it.each([
    [{ identifiers: [{ type: 'phone', value: '12345' }], channel: 'pos' }, 'identifiers.0.value'],
    [
      { identifiers: [{ type: 'email', value: 'not-an-email' }], channel: 'pos' },
      'identifiers.0.value',
    ],
    [{ identifiers: [{ type: 'fax', value: '1' }], channel: 'pos' }, 'identifiers.0.type'],
    [{ identifiers: [], channel: 'pos' }, 'identifiers'],
    [{ identifiers: [{ type: 'phone', value: '13800000000' }], channel: 'mail' }, 'channel'],
    [
      {
        identifiers: [{ type: 'phone', value: '13800000000' }],
        channel: 'pos',
        profile: { birthday: '1990-13-01' },
      },
      'profile.birthday',
    ],
    [
      {
        identifiers: [{ type: 'phone', value: '13800000000' }],
        channel: 'pos',
        profile: { birthday: '2030-01-01' },
      },
      'profile.birthday',
    ],
    [
      {
        identifiers: [{ type: 'phone', value: '13800000000' }],
        channel: 'pos',
        profile: { gender: 'x' },
      },
      'profile.gender',
    ],
    [{ identifiers: [{ type: 'phone', value: '13800000000' }], channel: 'pos', extra: 1 }, 'body'],
  ])('answers 400 naming the field for %j', async (payload, path) => {
    const res = await enroll('hotel-a', payload);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('validation_failed');
    expect(res.json().errors[0].path).toBe(path);
  });

  it('answers 400 for a malformed identifier query', async () => {
    for (const q of ['phone', 'fax:1', 'phone:12']) {
      const res = await t.call({
        method: 'GET',
        url: `/v1/programs/hotel-a/members?identifier=${q}`,
      });
      expect(res.statusCode, q).toBe(400);
    }
  });
});

describe('profile, activation and blacklist', () => {
  it('pre-fills what another brand knows at activation, and names what is missing', async () => {
    const m = (
      await enroll('hotel-a', {
        identifiers: [{ type: 'phone', value: '13811110000' }],
        profile: { name: '王芳' },
        channel: 'pos',
      })
    ).json();
    await enroll('cafe-b', {
      identifiers: [{ type: 'phone', value: '13811110000' }],
      channel: 'app',
    });
    const first = await t.call({
      method: 'POST',
      url: `/v1/programs/cafe-b/members/${m.id}/activate`,
      key: keyB,
      payload: {},
    });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({
      activated: false,
      prefilled: ['name'],
      missing: ['birthday', 'gender'],
    });
    const done = await t.call({
      method: 'POST',
      url: `/v1/programs/cafe-b/members/${m.id}/activate`,
      key: keyB,
      payload: { birthday: '1988-02-29', gender: 'female' },
    });
    expect(done.json()).toMatchObject({ activated: true, prefilled: ['name'], missing: [] });
    expect(done.json().member.activatedAt).toBe('2026-06-01T00:00:00.000Z');
    // Activation at B does not activate A.
    expect(
      (await t.call({ method: 'GET', url: `/v1/programs/hotel-a/members/${m.id}` })).json()
        .activatedAt,
    ).toBeNull();
  });

  it('patches the profile and consents, and audits the change', async () => {
    const m = (
      await enroll('hotel-a', {
        identifiers: [{ type: 'phone', value: '13822220000' }],
        channel: 'pos',
      })
    ).json();
    const res = await t.call({
      method: 'PATCH',
      url: `/v1/programs/hotel-a/members/${m.id}`,
      key: keyA,
      payload: {
        name: 'Chen Jie',
        address: { city: '上海', line: '南京西路 1 号' },
        consents: { marketing: true },
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      profile: { name: 'Chen Jie', address: { city: '上海' } },
      consents: { marketing: true },
    });
    // Consents belong to the program they were given to.
    await enroll('cafe-b', {
      identifiers: [{ type: 'phone', value: '13822220000' }],
      channel: 'app',
    });
    expect(
      (await t.call({ method: 'GET', url: `/v1/programs/cafe-b/members/${m.id}` })).json().consents,
    ).toEqual({});
    const audit = await t.call({
      method: 'GET',
      url: `/v1/audit?memberId=${m.id}&action=member.profile_updated`,
    });
    expect(audit.json().data).toHaveLength(1);
    expect(audit.json().data[0]).toMatchObject({
      programId: 'hotel-a',
      before: { name: null, address: null, consents: {} },
      after: { name: 'Chen Jie', consents: { marketing: true } },
    });
    expect(audit.json().data[0].actorKeyId).toMatch(/^key_/);
  });

  it('keeps at most 20 consents in all, however many requests add them', async () => {
    const m = (
      await enroll('hotel-a', {
        identifiers: [{ type: 'phone', value: '13822220001' }],
        channel: 'pos',
      })
    ).json();
    const patch = (consents: Record<string, boolean>) =>
      t.call({
        method: 'PATCH',
        url: `/v1/programs/hotel-a/members/${m.id}`,
        key: keyA,
        payload: { consents },
      });
    const twenty = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`c${i}`, true]));
    expect((await patch(twenty)).statusCode).toBe(200);
    expect((await patch({ c0: false })).statusCode).toBe(200); // a change, not one more
    const more = await patch({ one_more: true });
    expect(more.statusCode).toBe(400);
    expect(more.json().errors).toEqual([{ path: 'consents', message: expect.any(String) }]);
    const now = (
      await t.call({ method: 'GET', url: `/v1/programs/hotel-a/members/${m.id}`, key: keyA })
    ).json();
    expect(Object.keys(now.consents)).toHaveLength(20);
    expect(now.consents.c0).toBe(false);
  });

  it('blocks and unblocks with a reason, audited once per change', async () => {
    const m = (
      await enroll('hotel-a', {
        identifiers: [{ type: 'phone', value: '13833330000' }],
        channel: 'pos',
      })
    ).json();
    const admin = await t.key('hotel-a', 'admin');
    const url = `/v1/programs/hotel-a/members/${m.id}`;
    const blocked = await t.call({
      method: 'POST',
      url: `${url}/block`,
      key: admin,
      payload: { reason: 'fraudulent returns' },
    });
    expect(blocked.json()).toMatchObject({
      status: 'blocked',
      blockedReason: 'fraudulent returns',
    });
    await t.call({ method: 'POST', url: `${url}/block`, key: admin, payload: { reason: 'again' } });
    // Blocked at A only.
    await enroll('cafe-b', {
      identifiers: [{ type: 'phone', value: '13833330000' }],
      channel: 'app',
    });
    expect(
      (await t.call({ method: 'GET', url: `/v1/programs/cafe-b/members/${m.id}` })).json().status,
    ).toBe('active');
    const unblocked = await t.call({
      method: 'POST',
      url: `${url}/unblock`,
      key: admin,
      payload: { reason: 'cleared' },
    });
    expect(unblocked.json()).toMatchObject({ status: 'active', blockedReason: null });
    const audit = (await t.call({ method: 'GET', url: `/v1/audit?memberId=${m.id}` })).json().data;
    expect(audit.map((e: { action: string }) => e.action)).toEqual([
      'member.unblocked',
      'member.blocked',
    ]);
    expect(
      (await t.call({ method: 'POST', url: `${url}/block`, key: admin, payload: {} })).statusCode,
    ).toBe(400);
  });
});
