import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { adjust, expectReconciled, member, points, pointsUrl } from '../../test/ledger-helpers.ts';
import { sweepExpired } from './ledger.service.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
  await t.program('mall');
});
afterAll(async () => {
  await expectReconciled(t);
  await t.close();
});

const DAY = 86_400_000;

describe('adjustments and redemptions', () => {
  it('credits, spends and shows the balance and history', async () => {
    const m = await member(t, 'mall', '13800000001');
    expect(await points(t, 'mall', m)).toEqual({
      balance: 0,
      available: 0,
      pending: 0,
      held: 0,
      expiring: [],
    });
    const credited = await adjust(t, 'mall', m, 1000, 'welcome gift');
    expect(credited).toMatchObject({ points: 1000, balance: 1000 });
    expect(credited.transferId).toMatch(/^trf_/);
    const redeemed = await t.call({
      method: 'POST',
      url: `${pointsUrl('mall', m)}/redemptions`,
      payload: { points: 300, reference: 'order-1' },
    });
    expect(redeemed.statusCode, redeemed.body).toBe(201);
    expect(redeemed.json()).toMatchObject({ points: 300, balance: 700 });
    expect(await points(t, 'mall', m)).toMatchObject({ balance: 700, available: 700 });
    const history = (
      await t.call({ method: 'GET', url: `${pointsUrl('mall', m)}/history` })
    ).json();
    expect(
      history.data.map((h: { code: string; points: number; balanceAfter: number }) => [
        h.code,
        h.points,
        h.balanceAfter,
      ]),
    ).toEqual([
      ['redeem', -300, 700],
      ['adjust', 1000, 1000],
    ]);
    await expectReconciled(t);
  });

  it('refuses to spend more than is available with 409 insufficient_points, changing nothing', async () => {
    const m = await member(t, 'mall', '13800000002');
    await adjust(t, 'mall', m, 50);
    const res = await t.call({
      method: 'POST',
      url: `${pointsUrl('mall', m)}/redemptions`,
      payload: { points: 51, reference: 'too-much' },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('insufficient_points');
    expect(await points(t, 'mall', m)).toMatchObject({ balance: 50, available: 50 });
    const negative = await t.call({
      method: 'POST',
      url: `${pointsUrl('mall', m)}/adjustments`,
      payload: { points: -60, reason: 'x' },
    });
    expect(negative.json().code).toBe('insufficient_points');
  });

  it('audits adjustments in the same transaction', async () => {
    const m = await member(t, 'mall', '13800000003');
    await adjust(t, 'mall', m, 20, 'complaint 42');
    const audit = (
      await t.call({ method: 'GET', url: `/v1/audit?memberId=${m}&action=points.adjusted` })
    ).json().data;
    expect(audit).toHaveLength(1);
    expect(audit[0].after).toMatchObject({ points: 20, reason: 'complaint 42' });
  });

  it('refuses a blocked member with 403 member_blocked', async () => {
    const m = await member(t, 'mall', '13800000004');
    await adjust(t, 'mall', m, 100);
    await t.call({
      method: 'POST',
      url: `/v1/programs/mall/members/${m}/block`,
      payload: { reason: 'fraud' },
    });
    const res = await t.call({
      method: 'POST',
      url: `${pointsUrl('mall', m)}/redemptions`,
      payload: { points: 10, reference: 'x' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('member_blocked');
  });
});

describe('holds', () => {
  it('holds, then captures part: the rest is available again', async () => {
    const m = await member(t, 'mall', '13800000010');
    await adjust(t, 'mall', m, 500);
    const hold = await t.call({
      method: 'POST',
      url: `${pointsUrl('mall', m)}/holds`,
      payload: { points: 200, reference: 'cart-9' },
    });
    expect(hold.statusCode, hold.body).toBe(201);
    expect(hold.json()).toMatchObject({
      points: 200,
      status: 'pending',
      expiresAt: new Date(t.clock.now().getTime() + 900_000).toISOString(),
    });
    expect(await points(t, 'mall', m)).toMatchObject({ balance: 500, held: 200, available: 300 });
    const captured = await t.call({
      method: 'POST',
      url: `${pointsUrl('mall', m)}/holds/${hold.json().id}/capture`,
      payload: { points: 150 },
    });
    expect(captured.statusCode, captured.body).toBe(200);
    expect(captured.json()).toMatchObject({ status: 'captured', captured: 150 });
    expect(await points(t, 'mall', m)).toMatchObject({ balance: 350, held: 0, available: 350 });
    const again = await t.call({
      method: 'POST',
      url: `${pointsUrl('mall', m)}/holds/${hold.json().id}/release`,
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('hold_not_pending');
  });

  it('releases a hold, and refuses to capture one whose time ran out', async () => {
    const m = await member(t, 'mall', '13800000011');
    await adjust(t, 'mall', m, 100);
    const h1 = (
      await t.call({
        method: 'POST',
        url: `${pointsUrl('mall', m)}/holds`,
        payload: { points: 40 },
      })
    ).json();
    const released = await t.call({
      method: 'POST',
      url: `${pointsUrl('mall', m)}/holds/${h1.id}/release`,
    });
    expect(released.json().status).toBe('released');
    const h2 = (
      await t.call({
        method: 'POST',
        url: `${pointsUrl('mall', m)}/holds`,
        payload: { points: 60, expiresInSeconds: 60 },
      })
    ).json();
    t.clock.advance(61_000);
    const late = await t.call({
      method: 'POST',
      url: `${pointsUrl('mall', m)}/holds/${h2.id}/capture`,
    });
    expect(late.statusCode).toBe(409);
    expect(late.json().code).toBe('hold_expired');
    const tooMuch = await t.call({
      method: 'POST',
      url: `${pointsUrl('mall', m)}/holds`,
      payload: { points: 41 },
    });
    expect(tooMuch.json().code).toBe('insufficient_points');
    await sweepExpired(t.deps);
    expect(
      (await t.call({ method: 'GET', url: `${pointsUrl('mall', m)}/holds/${h2.id}` })).json()
        .status,
    ).toBe('expired');
    expect(await points(t, 'mall', m)).toMatchObject({ balance: 100, held: 0, available: 100 });
  });
});

describe('lots and expiry', () => {
  it('expires each lot by the program policy, soonest first, and sweeps to breakage once', async () => {
    await t.program('airline');
    await t.call({
      method: 'PATCH',
      url: '/v1/programs/airline',
      payload: { pointsExpiry: { kind: 'rolling', days: 30 }, timezone: 'UTC' },
    });
    const m = await member(t, 'airline', '13800000020');
    await adjust(t, 'airline', m, 100);
    t.clock.advance(10 * DAY);
    await adjust(t, 'airline', m, 50);
    const p = await points(t, 'airline', m);
    expect(p.expiring).toEqual([
      {
        date: new Date(t.clock.now().getTime() + 20 * DAY - 1).toISOString().slice(0, 10),
        points: 100,
      },
      {
        date: new Date(t.clock.now().getTime() + 30 * DAY - 1).toISOString().slice(0, 10),
        points: 50,
      },
    ]);
    // Spending draws from the lot that expires first.
    await t.call({
      method: 'POST',
      url: `${pointsUrl('airline', m)}/redemptions`,
      payload: { points: 30, reference: 'r' },
    });
    const lots = (await t.call({ method: 'GET', url: `${pointsUrl('airline', m)}/lots` })).json()
      .data;
    expect(lots.map((l: { amount: number; remaining: number }) => [l.amount, l.remaining])).toEqual(
      [
        [100, 70],
        [50, 50],
      ],
    );
    t.clock.advance(20 * DAY);
    expect(await points(t, 'airline', m)).toMatchObject({ balance: 50, available: 50 });
    expect(await sweepExpired(t.deps)).toBeGreaterThan(0);
    expect(await sweepExpired(t.deps)).toBe(0);
    const history = (
      await t.call({ method: 'GET', url: `${pointsUrl('airline', m)}/history` })
    ).json().data;
    expect(history[0]).toMatchObject({ code: 'expire', points: -70, balanceAfter: 50 });
    await expectReconciled(t);
  });
});
