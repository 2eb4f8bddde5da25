import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { adjust, expectReconciled, member, points, pointsUrl } from '../../test/ledger-helpers.ts';
import { pointsLedger } from './ledger.core.ts';
import { credit, debit } from './ledger.service.ts';

// Who may move points: the member's standing is checked by the ledger itself, in the batch, so a
// module calling the service directly gets the same answers as the HTTP routes.

let t: TestContext;
let n = 0;
const ledger = pointsLedger('gym');
const earn = (memberId: string) =>
  credit(t.deps, {
    ledger,
    memberId,
    points: 10,
    code: 'earn',
    reference: null,
    commandId: `earn-${n++}`,
  });
const spend = (memberId: string) =>
  debit(t.deps, {
    ledger,
    memberId,
    points: 10,
    code: 'redeem',
    reference: null,
    commandId: `spend-${n++}`,
  });
const post = (url: string, payload?: object) =>
  t.call({ method: 'POST', url, ...(payload && { payload }) });
const holdOf = async (m: string, pts = 20) => {
  const res = await post(`${pointsUrl('gym', m)}/holds`, { points: pts });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
};

beforeAll(async () => {
  t = await createTestApp();
  await t.program('gym');
  await t.program('spa');
});
afterAll(async () => {
  await expectReconciled(t);
  await t.close();
});

describe('the ledger checks the member, whoever calls it', () => {
  it('refuses a member not enrolled in the program as unknown, and opens no wallet', async () => {
    const elsewhere = await member(t, 'spa', '13300000001');
    await expect(earn(elsewhere)).rejects.toMatchObject({ code: 'not_found' });
    await expect(earn('mem_nobody')).rejects.toMatchObject({ code: 'not_found' });
    const wallets = await t.deps.db
      .selectFrom('ledger_accounts')
      .select('id')
      .where('member_id', 'in', [elsewhere, 'mem_nobody'])
      .where('ledger', '=', ledger)
      .execute();
    expect(wallets).toEqual([]);
  });

  it('lets a blocked member neither earn nor spend, but an operator may still adjust', async () => {
    const m = await member(t, 'gym', '13300000002');
    await adjust(t, 'gym', m, 100);
    await post(`/v1/programs/gym/members/${m}/block`, { reason: 'fraud' });
    await expect(earn(m)).rejects.toMatchObject({ code: 'member_blocked' });
    await expect(spend(m)).rejects.toMatchObject({ code: 'member_blocked' });
    await adjust(t, 'gym', m, -40);
    expect((await points(t, 'gym', m)).balance).toBe(60);
  });

  it('refuses an erased member (409 member_erased) and a merged one (409 member_merged)', async () => {
    const gone = await member(t, 'gym', '13300000003');
    await post(`/v1/members/${gone}/erase`);
    await expect(earn(gone)).rejects.toMatchObject({ code: 'member_erased' });
    const keep = await member(t, 'gym', '13300000004');
    const dup = await member(t, 'gym', '13300000005');
    await post(`/v1/members/${keep}/merge`, { from: dup });
    await expect(earn(dup)).rejects.toMatchObject({
      code: 'member_merged',
      extensions: { mergedInto: keep },
    });
  });
});

describe('a suspended program', () => {
  it('takes no new business — no earning, redemption or hold — but settles holds placed before and takes adjustments', async () => {
    await t.program('paused');
    const m = await member(t, 'paused', '13300000010');
    await adjust(t, 'paused', m, 100);
    const url = pointsUrl('paused', m);
    const open = (await post(`${url}/holds`, { points: 30 })).json().id;
    const other = (await post(`${url}/holds`, { points: 20 })).json().id;
    await t.call({ method: 'PATCH', url: '/v1/programs/paused', payload: { status: 'suspended' } });

    for (const [path, payload] of [
      ['redemptions', { points: 1, reference: 'x' }],
      ['holds', { points: 1 }],
    ] as const) {
      const res = await post(`${url}/${path}`, payload);
      expect(res.statusCode, path).toBe(409);
      expect(res.json().code).toBe('program_suspended');
    }
    await expect(
      credit(t.deps, {
        ledger: pointsLedger('paused'),
        memberId: m,
        points: 5,
        code: 'earn',
        reference: null,
        commandId: 'paused-earn',
      }),
    ).rejects.toMatchObject({ code: 'program_suspended' });

    expect((await post(`${url}/holds/${open}/capture`)).statusCode).toBe(200);
    expect((await post(`${url}/holds/${other}/release`)).statusCode).toBe(200);
    await adjust(t, 'paused', m, 7);
    expect(await points(t, 'paused', m)).toMatchObject({ balance: 77, held: 0 });

    await t.call({ method: 'PATCH', url: '/v1/programs/paused', payload: { status: 'active' } });
    expect((await post(`${url}/redemptions`, { points: 1, reference: 'x' })).statusCode).toBe(201);
  });
});

describe('a hold placed before the member lost its standing', () => {
  it('cannot be captured once the member is blocked (403), but can be released', async () => {
    const m = await member(t, 'gym', '13300000020');
    await adjust(t, 'gym', m, 100);
    const a = await holdOf(m);
    const b = await holdOf(m);
    await post(`/v1/programs/gym/members/${m}/block`, { reason: 'fraud' });
    const capture = await post(`${pointsUrl('gym', m)}/holds/${a}/capture`);
    expect(capture.statusCode).toBe(403);
    expect(capture.json().code).toBe('member_blocked');
    expect((await post(`${pointsUrl('gym', m)}/holds/${b}/release`)).statusCode).toBe(200);
    await post(`/v1/programs/gym/members/${m}/unblock`, { reason: 'cleared' });
    expect((await post(`${pointsUrl('gym', m)}/holds/${a}/capture`)).statusCode).toBe(200);
  });

  it('cannot be captured once the member is erased (409), but can be released', async () => {
    const m = await member(t, 'gym', '13300000021');
    await adjust(t, 'gym', m, 100);
    const a = await holdOf(m);
    const b = await holdOf(m);
    await post(`/v1/members/${m}/erase`);
    const capture = await post(`${pointsUrl('gym', m)}/holds/${a}/capture`);
    expect(capture.statusCode).toBe(409);
    expect(capture.json().code).toBe('member_erased');
    expect((await post(`${pointsUrl('gym', m)}/holds/${b}/release`)).statusCode).toBe(200);
  });
});
