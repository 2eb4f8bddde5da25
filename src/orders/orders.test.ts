import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { adjust, expectReconciled, member, points } from '../../test/ledger-helpers.ts';
import { sweepExpired } from '../ledger/ledger.service.ts';
import { placeOrder, sweepOrders } from './orders.service.ts';

let t: TestContext;
let admin: string;
let till: string;
let read: string;
let otherKey: string;

beforeAll(async () => {
  t = await createTestApp();
  await t.program('mall');
  await t.program('other');
  admin = await t.key('mall', 'admin');
  till = await t.key('mall', 'integration');
  read = await t.key('mall', 'read');
  otherKey = await t.key('other', 'admin');
});
afterAll(() => t.close());

let seq = 0;
async function reward(over: Record<string, unknown> = {}) {
  const res = await t.call({
    method: 'POST',
    url: '/v1/programs/mall/rewards',
    key: admin,
    payload: {
      sku: `R-${++seq}`,
      name: 'Tea set',
      kind: 'goods',
      pricePoints: 100,
      stock: 10,
      onShelf: true,
      supplier: 'yanxuan',
      supplierCost: 3000,
      ...over,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; sku: string };
}

let phone = 13700000000;
async function richMember(pts = 1000) {
  const m = await member(t, 'mall', String(++phone));
  if (pts) await adjust(t, 'mall', m, pts);
  return m;
}

const url = (m: string, rest = '') => `/v1/programs/mall/members/${m}/orders${rest}`;
let orderSeq = 0;
function place(m: string, items: unknown[], id = `o-${++orderSeq}`, extra: object = {}) {
  return t.call({ method: 'POST', url: url(m), key: till, payload: { id, items, ...extra } });
}
const act = (m: string, id: string, action: string, payload: object = {}) =>
  t.call({ method: 'POST', url: url(m, `/${id}/${action}`), key: till, payload });

async function stockOf(id: string) {
  const res = await t.call({ method: 'GET', url: `/v1/programs/mall/rewards/${id}`, key: read });
  return res.json() as { reserved: number; stockLeft: number | null };
}
const orderRows = async () =>
  Number(
    (
      await t.deps.db
        .selectFrom('reward_orders')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('orders: the life of an order', () => {
  it('places (points held, stock reserved), repeats, confirms, ships, completes', async () => {
    const r = await reward({ pricePoints: 300 });
    const m = await richMember(1000);
    const address = { name: 'Li Lei', phone: '13800000000', lines: ['1 Nanjing Rd', 'Shanghai'] };
    const placed = await place(m, [{ rewardId: r.id, quantity: 2 }], 'order-1', { address });
    expect(placed.statusCode, placed.body).toBe(201);
    expect(placed.json()).toMatchObject({
      id: 'order-1',
      status: 'placed',
      points: 600,
      replayed: false,
      address,
      items: [{ rewardId: r.id, quantity: 2, unitPoints: 300, supplier: 'yanxuan' }],
    });
    expect(placed.json().holdId).toMatch(/^hld_/);
    expect(await points(t, 'mall', m)).toMatchObject({ balance: 1000, held: 600, available: 400 });
    expect(await stockOf(r.id)).toMatchObject({ reserved: 2, stockLeft: 8 });

    const again = await place(m, [{ rewardId: r.id, quantity: 2 }], 'order-1', { address });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toMatchObject({ id: 'order-1', replayed: true });
    expect(await stockOf(r.id)).toMatchObject({ reserved: 2 });
    const other = await place(m, [{ rewardId: r.id, quantity: 1 }], 'order-1');
    expect(other.statusCode).toBe(409);
    expect(other.json().code).toBe('order_conflict');

    const confirmed = await act(m, 'order-1', 'confirm');
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    expect(confirmed.json()).toMatchObject({ status: 'confirmed' });
    expect(await points(t, 'mall', m)).toMatchObject({ balance: 400, held: 0, available: 400 });
    expect((await act(m, 'order-1', 'confirm')).json()).toMatchObject({
      status: 'confirmed',
      replayed: true,
    });

    const toShip = await t.call({
      method: 'GET',
      url: '/v1/programs/mall/suppliers/yanxuan/orders?status=confirmed',
      key: read,
    });
    expect(toShip.statusCode, toShip.body).toBe(200);
    expect(toShip.json().data.map((o: { id: string }) => o.id)).toContain('order-1');

    const ship = () =>
      t.call({
        method: 'POST',
        url: url(m, '/order-1/ship'),
        key: till,
        headers: { 'idempotency-key': 'ship-order-1' },
        payload: { carrier: 'SF', tracking: 'SF123' },
      });
    const shipped = await ship();
    expect(shipped.statusCode, shipped.body).toBe(200);
    expect(shipped.json()).toMatchObject({ status: 'shipped', carrier: 'SF', tracking: 'SF123' });
    const shippedAgain = await ship();
    expect(shippedAgain.headers['idempotent-replayed']).toBe('true');
    expect(shippedAgain.body).toBe(shipped.body);
    const done = await act(m, 'order-1', 'complete');
    expect(done.json()).toMatchObject({ status: 'completed' });
    const late = await act(m, 'order-1', 'cancel');
    expect(late.statusCode).toBe(409);
    expect(late.json().code).toBe('order_state_invalid');

    const statement = await t.call({
      method: 'GET',
      url: '/v1/programs/mall/suppliers/yanxuan/statements/2026-06',
      key: read,
    });
    expect(statement.statusCode, statement.body).toBe(200);
    expect(statement.json()).toMatchObject({
      supplier: 'yanxuan',
      month: '2026-06',
      orders: 1,
      lines: [{ sku: r.sku, quantity: 2, unitCost: 3000, amountFen: 6000 }],
      totalFen: 6000,
    });
    const july = await t.call({
      method: 'GET',
      url: '/v1/programs/mall/suppliers/yanxuan/statements/2026-07',
      key: read,
    });
    expect(july.json()).toMatchObject({ orders: 0, totalFen: 0 });
    const list = await t.call({ method: 'GET', url: url(m), key: read });
    expect(list.json().data.map((o: { id: string }) => o.id)).toEqual(['order-1']);
    await expectReconciled(t);
  });

  it('orders by SKU, with a cash part paid at confirmation', async () => {
    const r = await reward({ pricePoints: 50, priceCash: 990 });
    const m = await richMember(100);
    const placed = await place(m, [{ sku: r.sku, quantity: 1 }]);
    expect(placed.statusCode, placed.body).toBe(201);
    expect(placed.json()).toMatchObject({ points: 50, cashFen: 990, cashPaid: false });
    const unpaid = await act(m, placed.json().id, 'confirm');
    expect(unpaid.statusCode).toBe(400);
    expect(unpaid.json().errors[0].path).toBe('cashPaid');
    const paid = await act(m, placed.json().id, 'confirm', { cashPaid: true });
    expect(paid.json()).toMatchObject({ status: 'confirmed', cashPaid: true });
  });

  it('cancels: a placed order gives points and stock back; a confirmed one is refunded', async () => {
    const r = await reward({ pricePoints: 200, stock: 3, perMemberLimit: { count: 1 } });
    const m = await richMember(500);
    const a = await place(m, [{ rewardId: r.id, quantity: 1 }]);
    const cancelled = await act(m, a.json().id, 'cancel');
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json()).toMatchObject({ status: 'cancelled' });
    expect(await points(t, 'mall', m)).toMatchObject({ balance: 500, held: 0, available: 500 });
    expect(await stockOf(r.id)).toMatchObject({ reserved: 0 });
    expect((await act(m, a.json().id, 'cancel')).json()).toMatchObject({ replayed: true });
    // The limit of one came back with the cancel.
    const b = await place(m, [{ rewardId: r.id, quantity: 1 }]);
    expect(b.statusCode, b.body).toBe(201);
    await act(m, b.json().id, 'confirm');
    expect(await points(t, 'mall', m)).toMatchObject({ balance: 300 });
    const refunded = await act(m, b.json().id, 'cancel');
    expect(refunded.json()).toMatchObject({ status: 'cancelled' });
    expect(refunded.json().refundTransferId).toMatch(/^trf_/);
    expect(await points(t, 'mall', m)).toMatchObject({ balance: 500, available: 500 });
    expect(await stockOf(r.id)).toMatchObject({ reserved: 0 });
    const ship = await act(m, b.json().id, 'ship', { carrier: 'SF', tracking: 'x' });
    expect(ship.statusCode).toBe(409);
    await expectReconciled(t);
  });

  it('times out with its hold: the sweep gives the stock back', async () => {
    const r = await reward({ pricePoints: 100, stock: 1 });
    const m = await richMember(100);
    const placed = await place(m, [{ rewardId: r.id, quantity: 1 }]);
    expect(placed.statusCode).toBe(201);
    expect(await stockOf(r.id)).toMatchObject({ stockLeft: 0 });
    t.clock.advance(31 * 60 * 1000);
    const late = await act(m, placed.json().id, 'confirm');
    expect(late.statusCode).toBe(409);
    expect(late.json().code).toBe('hold_expired');
    await sweepExpired(t.deps);
    expect(await sweepOrders(t.deps)).toBeGreaterThanOrEqual(1);
    expect(await stockOf(r.id)).toMatchObject({ reserved: 0, stockLeft: 1 });
    expect(await points(t, 'mall', m)).toMatchObject({ balance: 100, held: 0, available: 100 });
    const gone = await t.call({ method: 'GET', url: url(m, `/${placed.json().id}`), key: read });
    expect(gone.json()).toMatchObject({ status: 'expired' });
    expect((await act(m, placed.json().id, 'confirm')).json().code).toBe('order_state_invalid');
    expect(await sweepOrders(t.deps)).toBe(0);
    await expectReconciled(t);
  });
});

describe('orders: placed in two steps, stock first', () => {
  it('an order whose hold never comes (a crash) is in progress, then swept', async () => {
    const r = await reward({ pricePoints: 100, stock: 1 });
    const m = await richMember(100);
    // The ledger takes the hold and never answers: the process died between the two steps.
    const stalled = {
      ...t.deps,
      ledger: { ...t.deps.ledger, submit: () => new Promise(() => {}) },
    };
    void placeOrder(stalled as unknown as typeof t.deps, 'mall', m, {
      id: 'crashed-1',
      items: [{ rewardId: r.id, quantity: 1 }],
    });
    await expect.poll(async () => (await stockOf(r.id)).reserved).toBe(1);
    for (const res of [
      await place(m, [{ rewardId: r.id, quantity: 1 }], 'crashed-1'),
      await act(m, 'crashed-1', 'confirm'),
      await act(m, 'crashed-1', 'cancel'),
    ]) {
      expect(res.statusCode, res.body).toBe(409);
      expect(res.json().code).toBe('order_in_progress');
    }
    await expectReconciled(t);
    expect(await sweepOrders(t.deps)).toBe(0);
    t.clock.advance(61 * 1000);
    expect(await sweepOrders(t.deps)).toBe(1);
    expect(await stockOf(r.id)).toMatchObject({ reserved: 0, stockLeft: 1 });
    const gone = await t.call({ method: 'GET', url: url(m, '/crashed-1'), key: read });
    expect(gone.json()).toMatchObject({ status: 'expired', holdId: null });
    expect(await points(t, 'mall', m)).toMatchObject({ available: 100, held: 0 });
    await expectReconciled(t);
  });

  it('an order whose hold fails gives its stock back at once and may be placed again', async () => {
    const r = await reward({ pricePoints: 100, stock: 1 });
    const m = await richMember(100);
    const failing = {
      ...t.deps,
      ledger: { ...t.deps.ledger, submit: () => Promise.reject(new Error('connection lost')) },
    };
    await expect(
      placeOrder(failing as unknown as typeof t.deps, 'mall', m, {
        id: 'failed-1',
        items: [{ rewardId: r.id, quantity: 1 }],
      }),
    ).rejects.toThrow('connection lost');
    expect(await stockOf(r.id)).toMatchObject({ reserved: 0, stockLeft: 1 });
    const again = await place(m, [{ rewardId: r.id, quantity: 1 }], 'failed-1');
    expect(again.statusCode, again.body).toBe(201);
    expect(await stockOf(r.id)).toMatchObject({ reserved: 1, stockLeft: 0 });
    await expectReconciled(t);
  });
});

describe('orders: a sold-out reward', () => {
  // Twenty buyers of one unit at once: all read it in stock, one takes it, and the others find it
  // sold out in the reservation — which this process then remembers for a second.
  async function soldOutBurst() {
    const r = await reward({ pricePoints: 10, stock: 1 });
    const buyers = await Promise.all(Array.from({ length: 20 }, () => richMember(100)));
    const results = await Promise.all(
      buyers.map((m, i) => place(m, [{ rewardId: r.id, quantity: 1 }], `${r.id}-${i}`)),
    );
    const won = results.findIndex((res) => res.statusCode === 201);
    expect(results.filter((res) => res.statusCode === 201)).toHaveLength(1);
    const winner = buyers[won] as string;
    const loser = buyers[(won + 1) % buyers.length] as string;
    return { r, winner, winnerOrder: `${r.id}-${won}`, loser };
  }

  it('is refused for a second after a burst, even when stock is added elsewhere', async () => {
    const { r, loser } = await soldOutBurst();
    const restocked = await t.call({
      method: 'PATCH',
      url: `/v1/programs/mall/rewards/${r.id}`,
      key: admin,
      payload: { stock: 2 },
    });
    expect(restocked.statusCode, restocked.body).toBe(200);
    const soon = await place(loser, [{ rewardId: r.id, quantity: 1 }], `${r.id}-soon`);
    expect(soon.json().code).toBe('out_of_stock');
    t.clock.advance(1000);
    const later = await place(loser, [{ rewardId: r.id, quantity: 1 }], `${r.id}-later`);
    expect(later.statusCode, later.body).toBe(201);
    await expectReconciled(t);
  });

  it('is sold again at once when this process gives a unit back', async () => {
    const { r, winner, winnerOrder, loser } = await soldOutBurst();
    expect((await act(winner, winnerOrder, 'cancel')).json().status).toBe('cancelled');
    const again = await place(loser, [{ rewardId: r.id, quantity: 1 }], `${r.id}-again`);
    expect(again.statusCode, again.body).toBe(201);
    await expectReconciled(t);
  });
});

describe('orders: refusals change nothing', () => {
  it('out of stock, insufficient points, limit reached, unavailable: 409', async () => {
    const scarce = await reward({ pricePoints: 10, stock: 1 });
    const dear = await reward({ pricePoints: 5000, stock: 5 });
    const limited = await reward({
      pricePoints: 10,
      perMemberLimit: { count: 1, period: 'month' },
    });
    const off = await reward({ pricePoints: 10, onShelf: false });
    const later = await reward({ pricePoints: 10, startsAt: '2027-01-01T00:00:00Z' });
    const m = await richMember(1000);
    const before = await orderRows();

    const many = await place(m, [{ rewardId: scarce.id, quantity: 2 }]);
    expect(many.statusCode).toBe(409);
    expect(many.json().code).toBe('out_of_stock');
    // Two lines: the second refuses the whole order, and the first keeps its stock.
    const mixed = await place(m, [
      { rewardId: scarce.id, quantity: 1 },
      { rewardId: dear.id, quantity: 1 },
    ]);
    expect(mixed.statusCode).toBe(409);
    expect(mixed.json().code).toBe('insufficient_points');
    expect(await stockOf(scarce.id)).toMatchObject({ reserved: 0 });
    expect(await stockOf(dear.id)).toMatchObject({ reserved: 0 });
    expect(await points(t, 'mall', m)).toMatchObject({ held: 0, available: 1000 });

    const first = await place(m, [{ rewardId: limited.id, quantity: 1 }]);
    expect(first.statusCode).toBe(201);
    const second = await place(m, [{ rewardId: limited.id, quantity: 1 }]);
    expect(second.statusCode).toBe(409);
    expect(second.json().code).toBe('limit_reached');
    for (const r of [off, later]) {
      const res = await place(m, [{ rewardId: r.id, quantity: 1 }]);
      expect(res.statusCode).toBe(409);
      expect(res.json().code).toBe('reward_unavailable');
    }
    expect(await orderRows()).toBe(before + 1);
    expect(await points(t, 'mall', m)).toMatchObject({ held: 10, available: 990 });
    // A new month: the monthly limit allows another.
    t.clock.advance(31 * 24 * 3600 * 1000);
    await sweepExpired(t.deps);
    await sweepOrders(t.deps);
    const nextMonth = await place(m, [{ rewardId: limited.id, quantity: 1 }]);
    expect(nextMonth.statusCode, nextMonth.body).toBe(201);
    await expectReconciled(t);
  });

  it.each([
    [{ id: 'x', items: [] }, 'items'],
    [{ id: 'x', items: [{ quantity: 1 }] }, 'items.0'],
    [{ id: 'x', items: [{ rewardId: 'a', sku: 'b', quantity: 1 }] }, 'items.0'],
    [{ id: 'x', items: [{ sku: 'R-1', quantity: 0 }] }, 'items.0.quantity'],
    [{ id: 'has space', items: [{ sku: 'R-1', quantity: 1 }] }, 'id'],
    [{ id: 'x', items: [{ sku: 'NO-SUCH', quantity: 1 }] }, 'items.0.sku'],
    [{ id: 'x', items: [{ sku: 'R-1', quantity: 1 }], address: { name: 'x' } }, 'address.phone'],
  ])('refuses %j with 400 naming %s', async (payload, path) => {
    const m = await richMember(0);
    const before = await orderRows();
    const res = await t.call({ method: 'POST', url: url(m), key: till, payload });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().errors[0].path).toBe(path);
    expect(await orderRows()).toBe(before);
  });

  it('refuses an order of more points than one hold takes, with 400 and nothing changed', async () => {
    const dear = await reward({ pricePoints: 100_000_000, stock: 100 });
    const m = await richMember(10);
    const before = await orderRows();
    const res = await place(m, [{ rewardId: dear.id, quantity: 11 }]);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().errors[0].path).toBe('items');
    expect(await orderRows()).toBe(before);
  });

  it("answers another program 404, a read key 403, and another member's order 404", async () => {
    const r = await reward();
    const m = await richMember(1000);
    const placed = await place(m, [{ rewardId: r.id, quantity: 1 }]);
    const id = placed.json().id;
    const foreign = await t.call({
      method: 'GET',
      url: `/v1/programs/mall/members/${m}/orders/${id}`,
      key: otherKey,
    });
    expect(foreign.statusCode).toBe(404);
    const asOther = await t.call({
      method: 'POST',
      url: `/v1/programs/other/members/${m}/orders`,
      key: otherKey,
      payload: { id: 'z', items: [{ rewardId: r.id, quantity: 1 }] },
    });
    expect(asOther.statusCode).toBe(404);
    const readOnly = await t.call({
      method: 'POST',
      url: url(m),
      key: read,
      payload: { id: 'y', items: [{ rewardId: r.id, quantity: 1 }] },
    });
    expect(readOnly.statusCode).toBe(403);
    const someoneElse = await richMember(0);
    const notTheirs = await act(someoneElse, id, 'confirm');
    expect(notTheirs.statusCode).toBe(404);
    const statement = await t.call({
      method: 'GET',
      url: '/v1/programs/mall/suppliers/yanxuan/statements/2026-13',
      key: read,
    });
    expect(statement.statusCode).toBe(400);
    for (const path of ['orders', 'statements/2026-06']) {
      const unknown = await t.call({
        method: 'GET',
        url: `/v1/programs/mall/suppliers/nobody/${path}`,
        key: read,
      });
      expect(unknown.statusCode).toBe(404);
    }
  });

  it('holds a per-member limit under concurrent orders', async () => {
    const r = await reward({
      pricePoints: 1,
      stock: 100,
      perMemberLimit: { count: 3, period: 'day' },
    });
    const m = await richMember(100);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => place(m, [{ rewardId: r.id, quantity: 1 }])),
    );
    const codes = results.map((x) => x.statusCode);
    expect(codes.filter((c) => c === 201)).toHaveLength(3);
    expect(results.filter((x) => x.statusCode === 409).map((x) => x.json().code)).toEqual(
      Array(17).fill('limit_reached'),
    );
    expect(await stockOf(r.id)).toMatchObject({ reserved: 3 });
    expect(await points(t, 'mall', m)).toMatchObject({ held: 3 });
    await expectReconciled(t);
  });
});
