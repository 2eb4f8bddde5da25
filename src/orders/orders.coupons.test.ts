import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { adjust, expectReconciled, member, points } from '../../test/ledger-helpers.ts';
import { sweepExpired } from '../ledger/ledger.service.ts';
import { sweepOrders } from './orders.service.ts';

// Coupons and vouchers bought in the mall: the order reserves the template's coupons when it is
// placed (stock and the member's limit), issues them when it is confirmed, gives the reservation
// back when it is cancelled or expires, and withdraws them when a confirmed order is refunded.

let t: TestContext;
let admin: string;
let till: string;

beforeAll(async () => {
  t = await createTestApp();
  await t.program('mall');
  await t.program('other');
  admin = await t.key('mall', 'admin');
  till = await t.key('mall', 'integration');
});
afterAll(() => t.close());

let seq = 0;
async function template(programId: string, over: object = {}) {
  const res = await t.call({
    method: 'POST',
    url: `/v1/programs/${programId}/coupon-templates`,
    payload: {
      id: `tpl-${++seq}`,
      name: '¥10 off',
      kind: 'amount_off',
      amountOffFen: 1000,
      ...over,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string };
}
const templateOf = async (id: string) =>
  (await t.call({ method: 'GET', url: `/v1/programs/mall/coupon-templates/${id}` })).json() as {
    issued: number;
    reserved: number;
  };

function createReward(payload: object) {
  return t.call({
    method: 'POST',
    url: '/v1/programs/mall/rewards',
    key: admin,
    payload: { sku: `C-${++seq}`, name: 'Coupon', pricePoints: 50, onShelf: true, ...payload },
  });
}

let phone = 13500000000;
async function richMember(pts = 1000) {
  const m = await member(t, 'mall', String(++phone));
  await adjust(t, 'mall', m, pts);
  return m;
}
const url = (m: string, rest = '') => `/v1/programs/mall/members/${m}/orders${rest}`;
const place = (m: string, id: string, rewardId: string, quantity = 1) =>
  t.call({
    method: 'POST',
    url: url(m),
    key: till,
    payload: { id, items: [{ rewardId, quantity }] },
  });
const act = (m: string, id: string, action: string) =>
  t.call({ method: 'POST', url: url(m, `/${id}/${action}`), key: till, payload: {} });
const couponsOf = async (m: string) =>
  (await t.call({ method: 'GET', url: `/v1/programs/mall/members/${m}/coupons`, key: till })).json()
    .data as { code: string; reference: string; templateId: string; expiresAt: string }[];

describe('orders: coupon and voucher rewards', () => {
  it('refuses a coupon reward without its template, a template on goods, and another program’s', async () => {
    const mine = await template('mall');
    const theirs = await template('other');
    for (const [payload, detail] of [
      [{ kind: 'coupon' }, 'names the coupon template'],
      [{ kind: 'goods', couponTemplateId: mine.id }, 'issues no coupon'],
      [{ kind: 'coupon', couponTemplateId: theirs.id }, 'no coupon template'],
    ] as const) {
      const res = await createReward(payload);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().errors[0].path).toBe('couponTemplateId');
      expect(res.json().errors[0].message).toContain(detail);
    }
    const voucher = await createReward({ kind: 'voucher' });
    expect(voucher.statusCode, voucher.body).toBe(201);
    const patched = await t.call({
      method: 'PATCH',
      url: `/v1/programs/mall/rewards/${voucher.json().id}`,
      key: admin,
      payload: { couponTemplateId: mine.id },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json().couponTemplateId).toBe(mine.id);
  });

  it('reserves at placing, issues at confirmation, gives back on cancel, never past stock or limit', async () => {
    const tpl = await template('mall', { stock: 3, perMemberLimit: 2, validDays: 30 });
    const r = (await createReward({ kind: 'coupon', couponTemplateId: tpl.id })).json() as {
      id: string;
    };
    const a = await richMember();
    const b = await richMember();

    const placed = await place(a, 'cp-1', r.id, 2);
    expect(placed.statusCode, placed.body).toBe(201);
    expect(placed.json().items[0].couponTemplateId).toBe(tpl.id);
    expect(await templateOf(tpl.id)).toMatchObject({ issued: 0, reserved: 2 });
    expect(await couponsOf(a)).toEqual([]);

    // Two reserved of three: one is left for b; a is at the template's limit.
    expect((await place(b, 'cp-2', r.id, 2)).json().code).toBe('out_of_stock');
    expect((await place(a, 'cp-3', r.id, 1)).json().code).toBe('limit_reached');
    expect(await templateOf(tpl.id)).toMatchObject({ issued: 0, reserved: 2 });

    const confirmed = await act(a, 'cp-1', 'confirm');
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    expect(await templateOf(tpl.id)).toMatchObject({ issued: 2, reserved: 0 });
    const coupons = await couponsOf(a);
    expect(coupons.map((c) => c.reference).sort()).toEqual(['order:cp-1:0:1', 'order:cp-1:0:2']);
    expect(new Set(coupons.map((c) => c.code)).size).toBe(2);
    // A repeat of the confirmation issues nothing more.
    expect((await act(a, 'cp-1', 'confirm')).json().replayed).toBe(true);
    expect(await couponsOf(a)).toHaveLength(2);

    // b reserves the last one, cancels, and it is back.
    expect((await place(b, 'cp-4', r.id, 1)).statusCode).toBe(201);
    expect(await templateOf(tpl.id)).toMatchObject({ issued: 2, reserved: 1 });
    expect((await act(b, 'cp-4', 'cancel')).json().status).toBe('cancelled');
    expect(await templateOf(tpl.id)).toMatchObject({ issued: 2, reserved: 0 });

    // An order nobody confirms expires, and so does its reservation.
    expect((await place(b, 'cp-5', r.id, 1)).statusCode).toBe(201);
    t.clock.advance(31 * 60 * 1000 + 61 * 1000);
    await sweepExpired(t.deps);
    await sweepOrders(t.deps);
    expect(await templateOf(tpl.id)).toMatchObject({ issued: 2, reserved: 0 });
    expect(await couponsOf(b)).toEqual([]);
    await expectReconciled(t);
  });

  it('a refund withdraws the coupons, unless one was redeemed', async () => {
    const tpl = await template('mall', { validDays: 30 });
    const r = (await createReward({ kind: 'voucher', couponTemplateId: tpl.id })).json() as {
      id: string;
    };
    const a = await richMember(200);
    for (const id of ['rf-1', 'rf-2']) {
      expect((await place(a, id, r.id)).statusCode).toBe(201);
      expect((await act(a, id, 'confirm')).statusCode).toBe(200);
    }
    expect(await points(t, 'mall', a)).toMatchObject({ available: 100 });
    const [one, two] = (await couponsOf(a)).sort((x, y) => x.reference.localeCompare(y.reference));
    if (!one || !two) throw new Error('two coupons expected');

    // The second order's coupon is used at the till: that order cannot be refunded.
    const redeemed = await t.call({
      method: 'POST',
      url: '/v1/programs/mall/coupons/redeem',
      key: till,
      payload: { code: two.code, purchaseId: 'p-1', purchase: { amount: 5000 } },
    });
    expect(redeemed.statusCode, redeemed.body).toBe(201);
    const refused = await act(a, 'rf-2', 'cancel');
    expect(refused.statusCode, refused.body).toBe(409);
    expect(refused.json().code).toBe('order_state_invalid');

    // The first one's coupon is withdrawn with the refund: it no longer validates.
    const refunded = await act(a, 'rf-1', 'cancel');
    expect(refunded.statusCode, refunded.body).toBe(200);
    expect(refunded.json().status).toBe('cancelled');
    expect(await points(t, 'mall', a)).toMatchObject({ available: 150 });
    const check = await t.call({
      method: 'POST',
      url: '/v1/programs/mall/coupons/validate',
      key: till,
      payload: { code: one.code, purchase: { amount: 5000 } },
    });
    expect(check.json()).toMatchObject({ valid: false, reason: 'expired' });
    await expectReconciled(t);
  });

  it('a refund withdraws its own coupons only, even beside an order whose id extends its id', async () => {
    const tpl = await template('mall', { validDays: 30 });
    const r = (await createReward({ kind: 'coupon', couponTemplateId: tpl.id })).json() as {
      id: string;
    };
    const a = await richMember(200);
    for (const id of ['ext', 'ext:0']) {
      expect((await place(a, id, r.id)).statusCode).toBe(201);
      expect((await act(a, id, 'confirm')).statusCode).toBe(200);
    }
    expect((await act(a, 'ext', 'cancel')).json().status).toBe('cancelled');
    const other = (await couponsOf(a)).find((c) => c.reference === 'order:ext:0:0:1');
    if (!other) throw new Error('no coupon');
    const check = await t.call({
      method: 'POST',
      url: '/v1/programs/mall/coupons/validate',
      key: till,
      payload: { code: other.code, purchase: { amount: 5000 } },
    });
    expect(check.json()).toMatchObject({ valid: true });
    await expectReconciled(t);
  });

  it('a merge gives the duplicate’s orders, coupons and counts to the survivor', async () => {
    const tpl = await template('mall', { validDays: 30, perMemberLimit: 3 });
    const r = (
      await createReward({
        kind: 'coupon',
        couponTemplateId: tpl.id,
        perMemberLimit: { count: 2 },
      })
    ).json() as { id: string };
    const keep = await richMember(500);
    const dup = await richMember(500);
    expect((await place(keep, 'mg-keep', r.id)).statusCode).toBe(201);
    expect((await act(keep, 'mg-keep', 'confirm')).statusCode).toBe(200);
    expect((await place(dup, 'mg-dup-1', r.id)).statusCode).toBe(201);
    expect((await act(dup, 'mg-dup-1', 'confirm')).statusCode).toBe(200);

    const merged = await t.call({
      method: 'POST',
      url: `/v1/members/${keep}/merge`,
      payload: { from: dup },
    });
    expect(merged.statusCode, merged.body).toBe(200);
    const orders = await t.call({ method: 'GET', url: url(keep), key: till });
    expect(
      orders
        .json()
        .data.map((o: { id: string }) => o.id)
        .sort(),
    ).toEqual(['mg-dup-1', 'mg-keep']);
    expect((await couponsOf(keep)).map((c) => c.reference).sort()).toEqual([
      'order:mg-dup-1:0:1',
      'order:mg-keep:0:1',
    ]);
    // The reward's limit of two counts both members' orders now.
    expect((await place(keep, 'mg-keep-2', r.id)).json().code).toBe('limit_reached');
    await expectReconciled(t);
  });

  it('a refund racing a redemption of its coupon: exactly one of them goes through', async () => {
    const tpl = await template('mall', { validDays: 30 });
    const r = (await createReward({ kind: 'coupon', couponTemplateId: tpl.id })).json() as {
      id: string;
    };
    const a = await richMember(1000);
    for (let i = 0; i < 8; i++) {
      const id = `race-${i}`;
      expect((await place(a, id, r.id)).statusCode).toBe(201);
      expect((await act(a, id, 'confirm')).statusCode).toBe(200);
      const coupon = (await couponsOf(a)).find((c) => c.reference === `order:${id}:0:1`);
      if (!coupon) throw new Error('no coupon');
      const [redeem, refund] = await Promise.all([
        t.call({
          method: 'POST',
          url: '/v1/programs/mall/coupons/redeem',
          key: till,
          payload: { code: coupon.code, purchaseId: `p-${id}`, purchase: { amount: 5000 } },
        }),
        act(a, id, 'cancel'),
      ]);
      const redeemed = redeem.statusCode === 201;
      const refunded = refund.statusCode === 200;
      expect(redeemed !== refunded, `${redeem.body} / ${refund.body}`).toBe(true);
      if (!redeemed) expect(redeem.json().code).toBe('coupon_expired');
      if (!refunded) expect(refund.json().code).toBe('order_state_invalid');
    }
    await expectReconciled(t);
  });
});
