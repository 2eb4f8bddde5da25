import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
  await t.program('hotel-a');
  await t.program('cafe-b');
});
afterAll(() => t.close());

/** Every text a table holds, to search for personal data after erasure. */
async function everything(): Promise<string> {
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(
    t.deps.db,
  );
  let all = '';
  for (const { table_name } of tables.rows) {
    const rows = await sql`select * from ${sql.table(table_name)}`.execute(t.deps.db);
    all += JSON.stringify(rows.rows);
  }
  return all;
}

describe('export and erasure', () => {
  it('exports everything, then erases every personal field while the member id stays', async () => {
    const headers = { 'idempotency-key': 'enroll-erase-me' };
    const m = (
      await t.call({
        method: 'POST',
        url: '/v1/programs/hotel-a/members',
        headers,
        payload: {
          identifiers: [
            { type: 'phone', value: '13987654321' },
            { type: 'email', value: 'erase.me@example.com' },
            { type: 'card_number', value: 'HA-ERASE' },
          ],
          profile: {
            name: '赵敏',
            birthday: '1992-03-04',
            gender: 'female',
            address: { city: '杭州', line: '西湖路 9 号' },
          },
          channel: 'pos',
          consents: { marketing: true },
        },
      })
    ).json();
    await t.call({
      method: 'POST',
      url: '/v1/programs/cafe-b/members',
      payload: {
        identifiers: [
          { type: 'wechat_openid', value: 'oERASE_1' },
          { type: 'phone', value: '13987654321' },
        ],
        channel: 'app',
      },
    });
    await t.call({
      method: 'PATCH',
      url: `/v1/programs/hotel-a/members/${m.id}`,
      payload: { name: '赵敏敏' },
    });
    await t.call({
      method: 'POST',
      url: `/v1/programs/hotel-a/members/${m.id}/block`,
      payload: { reason: '赵敏敏 abused a coupon' },
    });

    const exported = await t.call({ method: 'GET', url: `/v1/members/${m.id}/export` });
    expect(exported.statusCode).toBe(200);
    const x = exported.json();
    expect(x.member).toMatchObject({
      id: m.id,
      status: 'active',
      profile: { name: '赵敏敏', birthday: '1992-03-04' },
    });
    expect(x.member.identifiers).toHaveLength(4);
    expect(x.member.enrollments.map((e: { programId: string }) => e.programId)).toEqual([
      'hotel-a',
      'cafe-b',
    ]);
    expect(x.audit.map((e: { action: string }) => e.action)).toEqual([
      'member.blocked',
      'member.profile_updated',
    ]);

    const before = await everything();
    expect(before).toContain('13987654321');
    expect(before).toContain('赵敏');

    const erased = await t.call({ method: 'POST', url: `/v1/members/${m.id}/erase` });
    expect(erased.statusCode).toBe(200);
    expect(erased.json()).toMatchObject({
      id: m.id,
      status: 'erased',
      identifiers: [],
      profile: { name: null, birthday: null },
    });

    for (const identifier of [
      'phone:13987654321',
      'email:erase.me@example.com',
      'wechat_openid:oERASE_1',
    ]) {
      expect(
        (await t.call({ method: 'GET', url: `/v1/members?identifier=${identifier}` })).json().data,
        identifier,
      ).toEqual([]);
      expect(
        (
          await t.call({
            method: 'GET',
            url: `/v1/programs/hotel-a/members?identifier=${identifier}`,
          })
        ).json().data,
      ).toEqual([]);
    }
    const after = (await t.call({ method: 'GET', url: `/v1/members/${m.id}/export` })).json();
    expect(after.member).toMatchObject({ status: 'erased', erasedAt: '2026-06-01T00:00:00.000Z' });

    const all = await everything();
    for (const personal of [
      '13987654321',
      'erase.me@example.com',
      'HA-ERASE',
      'oERASE_1',
      '赵敏',
      '1992-03-04',
      '西湖路',
      'abused',
    ]) {
      expect(all, personal).not.toContain(personal);
    }
    // The pseudonymous member id remains, for the financial records that point at it.
    expect(all).toContain(m.id);

    // The idempotent enrollment is forgotten with it: a repeat now enrolls a new person.
    expect(
      (
        await t.call({ method: 'GET', url: `/v1/audit?memberId=${m.id}&action=member.erased` })
      ).json().data,
    ).toHaveLength(1);
    const again = await t.call({
      method: 'POST',
      url: '/v1/programs/hotel-a/members',
      headers,
      payload: { identifiers: [{ type: 'phone', value: '13987654321' }], channel: 'pos' },
    });
    expect(again.statusCode).toBe(201);
    expect(again.json().id).not.toBe(m.id);
  });

  it('refuses profile changes to an erased member, and erasing twice changes nothing', async () => {
    const m = (
      await t.call({
        method: 'POST',
        url: '/v1/programs/hotel-a/members',
        payload: { identifiers: [{ type: 'phone', value: '13900009999' }], channel: 'pos' },
      })
    ).json();
    const once = (await t.call({ method: 'POST', url: `/v1/members/${m.id}/erase` })).json();
    t.clock.advance(1000);
    const twice = await t.call({ method: 'POST', url: `/v1/members/${m.id}/erase` });
    expect(twice.json().erasedAt).toBe(once.erasedAt);
    const patch = await t.call({
      method: 'PATCH',
      url: `/v1/programs/hotel-a/members/${m.id}`,
      payload: { name: 'back' },
    });
    expect(patch.statusCode).toBe(409);
    expect(patch.json().code).toBe('member_erased');
    // Nor does a block: its free-text reason would be personal data again.
    const block = await t.call({
      method: 'POST',
      url: `/v1/programs/hotel-a/members/${m.id}/block`,
      payload: { reason: 'Zhang San, phone 13900009999' },
    });
    expect(block.statusCode).toBe(409);
    expect(block.json().code).toBe('member_erased');
    expect(
      (await t.call({ method: 'GET', url: `/v1/programs/hotel-a/members/${m.id}` })).json().status,
    ).toBe('erased');
    expect(
      (await t.call({ method: 'POST', url: '/v1/members/mem_unknown/erase' })).statusCode,
    ).toBe(404);
  });
});
