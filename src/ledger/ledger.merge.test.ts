import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { adjust, expectReconciled, member, points, pointsUrl } from '../../test/ledger-helpers.ts';
import { pointsLedger } from './ledger.core.ts';
import { credit } from './ledger.service.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
  await t.program('hotel');
  await t.program('cafe');
  await t.call({
    method: 'PATCH',
    url: '/v1/programs/hotel',
    payload: { pointsExpiry: { kind: 'rolling', days: 90 } },
  });
});
afterAll(() => t.close());

describe('member merge', () => {
  it('moves identifiers, enrollments, points with their expiry, holds and history to the survivor', async () => {
    const keep = await member(t, 'hotel', '13600000001');
    await adjust(t, 'hotel', keep, 100);
    const dup = await member(t, 'hotel', '13600000002');
    await t.call({
      method: 'POST',
      url: '/v1/programs/cafe/members',
      payload: {
        identifiers: [
          { type: 'phone', value: '13600000002' },
          { type: 'wechat_openid', value: 'oDUP' },
        ],
        channel: 'app',
      },
    });
    t.clock.advance(86_400_000);
    await adjust(t, 'hotel', dup, 300);
    await adjust(t, 'cafe', dup, 50);
    const hold = (
      await t.call({
        method: 'POST',
        url: `${pointsUrl('hotel', dup)}/holds`,
        payload: { points: 120 },
      })
    ).json();
    const dupLots = (await t.call({ method: 'GET', url: `${pointsUrl('hotel', dup)}/lots` })).json()
      .data;

    const res = await t.call({
      method: 'POST',
      url: `/v1/members/${keep}/merge`,
      payload: { from: dup },
    });
    expect(res.statusCode, res.body).toBe(200);
    const merged = res.json();
    expect(merged.enrollments.map((e: { programId: string }) => e.programId).sort()).toEqual([
      'cafe',
      'hotel',
    ]);
    expect(merged.identifiers.map((i: { value: string }) => i.value)).toEqual(
      expect.arrayContaining(['+8613600000001', '+8613600000002', 'oDUP']),
    );

    // Found by the duplicate's identifiers now.
    const found = await t.call({
      method: 'GET',
      url: '/v1/programs/cafe/members?identifier=wechat_openid:oDUP',
    });
    expect(found.json().data[0].id).toBe(keep);

    expect(await points(t, 'hotel', keep)).toMatchObject({
      balance: 400,
      held: 120,
      available: 280,
    });
    expect(await points(t, 'cafe', keep)).toMatchObject({ balance: 50, available: 50 });
    // Lots keep their expiry.
    const lots = (await t.call({ method: 'GET', url: `${pointsUrl('hotel', keep)}/lots` })).json()
      .data;
    expect(lots.map((l: { expiresAt: string }) => l.expiresAt)).toContain(dupLots[0].expiresAt);

    // The hold moved with its id, and can be captured on the survivor.
    const captured = await t.call({
      method: 'POST',
      url: `${pointsUrl('hotel', keep)}/holds/${hold.id}/capture`,
      payload: { points: 100 },
    });
    expect(captured.statusCode, captured.body).toBe(200);
    expect(await points(t, 'hotel', keep)).toMatchObject({ balance: 300, held: 0, available: 300 });

    // History includes the duplicate's.
    const history = (
      await t.call({ method: 'GET', url: `${pointsUrl('hotel', keep)}/history?limit=100` })
    ).json().data;
    expect(history.map((h: { code: string }) => h.code)).toEqual(
      expect.arrayContaining(['capture', 'merge', 'adjust']),
    );

    // The duplicate answers as merged.
    const old = await t.call({ method: 'GET', url: `/v1/programs/hotel/members/${dup}` });
    expect(old.json()).toMatchObject({ status: 'merged', mergedInto: keep });
    const spend = await t.call({
      method: 'POST',
      url: `${pointsUrl('hotel', dup)}/redemptions`,
      payload: { points: 1, reference: 'x' },
    });
    expect(spend.statusCode).toBe(409);
    expect(spend.json()).toMatchObject({ code: 'member_merged', mergedInto: keep });
    const audit = (
      await t.call({ method: 'GET', url: `/v1/audit?memberId=${keep}&action=member.merged` })
    ).json().data;
    expect(audit[0].after).toMatchObject({ into: keep, points: 350 });
    await expectReconciled(t);
  });

  it('refuses profile changes, activation and blocking of the member merged away', async () => {
    const keep = await member(t, 'hotel', '13600000021');
    const dup = await member(t, 'hotel', '13600000022');
    const merged = await t.call({
      method: 'POST',
      url: `/v1/members/${keep}/merge`,
      payload: { from: dup },
    });
    expect(merged.statusCode, merged.body).toBe(200);
    const url = `/v1/programs/hotel/members/${dup}`;
    for (const [method, path, payload] of [
      ['PATCH', '', { name: 'Back again' }],
      ['POST', '/activate', { name: 'Back again' }],
      ['POST', '/block', { reason: 'test' }],
    ] as const) {
      const res = await t.call({ method, url: `${url}${path}`, payload });
      expect(res.statusCode, `${method} ${path}: ${res.body}`).toBe(409);
      expect(res.json()).toMatchObject({ code: 'member_merged', mergedInto: keep });
    }
  });

  it('puts a moved hold back on spendable points, not on points still in a return window', async () => {
    const keep = await member(t, 'hotel', '13600000031');
    const dup = await member(t, 'hotel', '13600000032');
    await credit(t.deps, {
      ledger: pointsLedger('hotel'),
      memberId: dup,
      points: 100,
      code: 'earn',
      reference: 'order-in-return-window',
      pendingUntil: new Date(t.clock.now().getTime() + 7 * 86_400_000),
      commandId: 'rw-1',
    });
    t.clock.advance(1000);
    await adjust(t, 'hotel', dup, 50);
    const hold = await t.call({
      method: 'POST',
      url: `${pointsUrl('hotel', dup)}/holds`,
      payload: { points: 50 },
    });
    expect(hold.statusCode, hold.body).toBe(201);
    const merged = await t.call({
      method: 'POST',
      url: `/v1/members/${keep}/merge`,
      payload: { from: dup },
    });
    expect(merged.statusCode, merged.body).toBe(200);
    expect(await points(t, 'hotel', keep)).toMatchObject({
      balance: 150,
      held: 50,
      pending: 100,
      available: 0,
    });
    await expectReconciled(t);
  });

  it('refuses merging a member into itself, an unknown one, or one merged already', async () => {
    const a = await member(t, 'hotel', '13600000011');
    const b = await member(t, 'hotel', '13600000012');
    expect(
      (await t.call({ method: 'POST', url: `/v1/members/${a}/merge`, payload: { from: a } }))
        .statusCode,
    ).toBe(400);
    expect(
      (
        await t.call({
          method: 'POST',
          url: `/v1/members/${a}/merge`,
          payload: { from: 'mem_nope' },
        })
      ).statusCode,
    ).toBe(404);
    expect(
      (await t.call({ method: 'POST', url: `/v1/members/${a}/merge`, payload: { from: b } }))
        .statusCode,
    ).toBe(200);
    const again = await t.call({
      method: 'POST',
      url: `/v1/members/${a}/merge`,
      payload: { from: b },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('member_merged');
    const key = await t.key('hotel', 'admin');
    expect(
      (await t.call({ method: 'POST', url: `/v1/members/${a}/merge`, key, payload: { from: b } }))
        .statusCode,
    ).toBe(403);
  });

  it('strands nothing on the duplicate when commands race the merge: each lands on it before, or is refused after', async () => {
    for (let round = 0; round < 5; round++) {
      const keep = await member(t, 'cafe', `1360000${round}041`);
      const dup = await member(t, 'cafe', `1360000${round}042`);
      await adjust(t, 'cafe', dup, 1000);
      const responses = await Promise.all([
        ...Array.from({ length: 25 }, (_, i) =>
          t.call({
            method: 'POST',
            url: `${pointsUrl('cafe', dup)}/adjustments`,
            payload: { points: 1, reason: `r${i}` },
          }),
        ),
        t.call({ method: 'POST', url: `/v1/members/${keep}/merge`, payload: { from: dup } }),
      ]);
      const merge = responses.pop();
      expect(merge?.statusCode, merge?.body).toBe(200);
      const landed = responses.filter((r) => r.statusCode === 201).length;
      const refused = responses.filter(
        (r) =>
          r.statusCode === 409 && r.json().code === 'member_merged' && r.json().mergedInto === keep,
      ).length;
      expect(landed + refused, responses.map((r) => r.body).join('\n')).toBe(25);
      // What landed before the merge moved with it; the duplicate holds nothing.
      expect(await points(t, 'cafe', keep)).toMatchObject({ balance: 1000 + landed });
      const left = await t.deps.db
        .selectFrom('ledger_accounts')
        .select(['credits_posted', 'debits_posted', 'debits_pending'])
        .where('member_id', '=', dup)
        .execute();
      expect(
        left.every((a) => a.credits_posted === a.debits_posted && a.debits_pending === '0'),
      ).toBe(true);
    }
    await expectReconciled(t);
  });

  it('reconcile reports a member merged away that still holds points', async () => {
    const keep = await member(t, 'cafe', '13600000051');
    const dup = await member(t, 'cafe', '13600000052');
    await adjust(t, 'cafe', dup, 30);
    // As a buggy merge would leave it: the member marked merged, its points left behind.
    await t.deps.db
      .updateTable('members')
      .set({ status: 'merged', merged_into: keep })
      .where('id', '=', dup)
      .execute();
    const report = (await t.call({ method: 'GET', url: '/v1/ledger/reconcile' })).json();
    expect(report.ok).toBe(false);
    expect(
      report.checks.find((c: { name: string }) => c.name === 'merged_members_hold_nothing'),
    ).toMatchObject({ held: false, offending: [{ memberId: dup, mergedInto: keep }] });
    // Put right, so the file's last reconcile is clean.
    await t.deps.db
      .updateTable('members')
      .set({ status: 'active', merged_into: null })
      .where('id', '=', dup)
      .execute();
    await expectReconciled(t);
  });
});
