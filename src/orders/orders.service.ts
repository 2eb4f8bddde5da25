import {
  issueCouponsForOrder,
  lockCouponsOfOrder,
  releaseCouponsForOrder,
  reserveCouponsForOrder,
  withdrawCouponsOfOrder,
} from '../coupons/coupons.service.ts';
import { type Db, inTransaction, type Trx } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import { localDateString, startOfLocalDay } from '../ledger/expiry.core.ts';
import { attachment, type BatchWriter, type Claim } from '../ledger/ledger.batch.ts';
import { type Hold, pointsLedger } from '../ledger/ledger.core.ts';
import { capture, credit, getLedger, hold, release } from '../ledger/ledger.service.ts';
import { assertEnrolled } from '../members/members.service.ts';
import {
  periodKey,
  priceFor,
  type Reward,
  stockLeft,
  unavailability,
  unitCost,
} from '../rewards/rewards.core.ts';
import {
  assertSupplier,
  countForMember,
  findRewards,
  mergeRewardCounts,
  releaseStock,
  reserveStock,
  uncountForMember,
} from '../rewards/rewards.service.ts';
import { DomainError, invalidField, notFound } from '../shared/errors.ts';
import { tierOf } from '../tiers/tiers.service.ts';
import {
  ALLOWED_FROM,
  type Order,
  type OrderItem,
  type OrderStatus,
  orderFingerprint,
  totals,
} from './orders.core.ts';
import * as repo from './orders.repository.ts';

// Members' orders in the rewards mall. Placing an order takes two steps:
// 1. `reserve`: a short transaction of its own takes the order's stock, its per-member counts and
//    its coupons — each one conditional update — and writes the order, so a sold-out flash deal
//    is refused in milliseconds and its row is never locked behind a ledger batch;
// 2. the ledger's hold of the points, whose batch stamps the hold on the order (`holdWriter`).
// A hold the ledger refuses (`insufficient_points`, a blocked member) gives the reservation back
// (`unreserve`); one a crash interrupted is given back by `sweepOrders`. Confirming captures the
// hold; cancelling releases it (or, after capture, credits a refund); an order nobody confirms
// expires with its hold, and `sweepOrders` gives its stock back.

/** The most points one order may cost: what the ledger's API takes in one hold. */
const MAX_ORDER_POINTS = 1_000_000_000;

/** How long a placed order holds its points and stock before it expires unconfirmed. */
export const ORDER_HOLD_SECONDS = 30 * 60;
/**
 * How long after its hold's end an unconfirmed order is swept: a capture the ledger accepted just
 * before the end commits before its order can be swept away under it. It is also how long an
 * order reserved without a hold (its placing crashed between the two steps) keeps its stock.
 */
export const SWEEP_GRACE_MS = 60 * 1000;

export interface PlaceInput {
  id: string;
  items: { rewardId?: string | undefined; sku?: string | undefined; quantity: number }[];
  address?: unknown;
}

export interface OrderResult {
  order: Order;
  /** The order existed already: this is it, unchanged. */
  replayed: boolean;
}

/** A per-member limit an order's item counts against. */
interface LimitCount {
  rewardId: string;
  period: string;
  quantity: number;
  limit: number;
}

/**
 * Step one of placing: takes the order's stock, its per-member counts and the coupons its coupon
 * lines will issue, and writes the order (without its hold yet), in one short transaction — or
 * refuses it whole, with nothing written. The stock goes first: a buyer of a sold-out deal costs
 * one statement, and a buyer after the one who found it sold out none (`soldOut`).
 */
async function reserve(deps: Deps, order: Order, limits: LimitCount[]): Promise<void> {
  if (deps.db.isTransaction) return take(deps.db, order, limits);
  // The connection first, then a last look at what this process found sold out: in a flash deal's
  // burst every buyer has read the reward before anyone reserved, and queues here, for a
  // connection, behind the first few — who by then found it sold out.
  await deps.db.connection().execute(async (db) => {
    const gone = order.items.find((i) => isSoldOut(i.rewardId, order.placedAt));
    if (gone) {
      throw new DomainError('out_of_stock', `Reward ${gone.sku} is sold out`, {
        rewardId: gone.rewardId,
      });
    }
    await take(db, order, limits);
  });
}

/** Step one's transaction (see `reserve`). */
function take(db: Db, order: Order, limits: LimitCount[]): Promise<void> {
  return inTransaction(db, async (trx) => {
    for (const item of byId(order.items, (i) => i.rewardId)) {
      const taken = await reserveStock(trx, item.rewardId, item.quantity, order.placedAt);
      if (taken === 'short') {
        if (item.quantity === 1) markSoldOut(item.rewardId, order.placedAt);
        throw new DomainError(
          'out_of_stock',
          `Reward ${item.sku} has fewer than ${item.quantity} left`,
          { rewardId: item.rewardId },
        );
      }
      if (taken === 'unavailable') {
        throw new DomainError('reward_unavailable', `Reward ${item.sku} is no longer on sale`, {
          rewardId: item.rewardId,
        });
      }
    }
    for (const l of byId(limits, (l) => l.rewardId)) {
      if (!(await countForMember(trx, l.rewardId, order.memberId, l.period, l.quantity, l.limit))) {
        throw new DomainError(
          'limit_reached',
          `Member ${order.memberId} may order ${l.limit} of reward ${l.rewardId}${l.period ? ` in ${l.period}` : ''}`,
          { rewardId: l.rewardId },
        );
      }
    }
    for (const { item } of couponLines([order])) {
      await reserveCouponsForOrder(
        trx,
        item.couponTemplateId,
        order.memberId,
        item.quantity,
        order.placedAt,
      );
    }
    if (!(await repo.insertOrder(trx, order))) {
      throw new DomainError('order_conflict', `Order ${order.id} exists already`);
    }
  });
}

/**
 * Rewards this process found sold out, until when (ms of the injected clock). A flash deal's
 * burst reads the reward before anyone reserves, so every buyer passes the stock check; once one
 * of them finds it sold out, the rest are refused here, without a transaction. Kept a second;
 * forgotten at once when this process gives units back (another process's, within the second).
 */
const soldOut = new Map<string, number>();
const SOLD_OUT_MS = 1000;
const isSoldOut = (rewardId: string, now: Date) => (soldOut.get(rewardId) ?? 0) > now.getTime();
function markSoldOut(rewardId: string, now: Date): void {
  if (soldOut.size >= 1000) {
    for (const [id, until] of soldOut) if (until <= now.getTime()) soldOut.delete(id);
  }
  soldOut.set(rewardId, now.getTime() + SOLD_OUT_MS);
}

/**
 * Rows in the order every transaction locks them, so that two never wait on each other: rewards'
 * stock, then members' limit counts, then coupon templates, each by id.
 */
const byId = <T>(rows: readonly T[], id: (row: T) => string): T[] =>
  [...rows].sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));

/** Orders' coupon and voucher lines, by template and member (the lock order). */
const couponLines = (orders: Order[]) =>
  byId(
    orders.flatMap((order) =>
      order.items.flatMap((i) =>
        i.couponTemplateId === null
          ? []
          : [{ order, item: { ...i, couponTemplateId: i.couponTemplateId } }],
      ),
    ),
    (l) => `${l.item.couponTemplateId}/${l.order.memberId}`,
  );

/**
 * Gives back orders' stock, their per-member counts and their coupons, all the orders' rows in
 * the lock order of `reserve` (stock, counts, templates, each by id): the coupons reserved, for
 * an order that ends before confirmation (cancelled, expired, or never held); those issued are
 * withdrawn when a confirmed order is refunded.
 */
async function restock(trx: Trx, orders: Order[]): Promise<void> {
  const lines = orders.flatMap((order) => order.items.map((item) => ({ order, item })));
  const byReward = byId(lines, (l) => `${l.item.rewardId}/${l.order.memberId}`);
  for (const { item } of byReward) {
    await releaseStock(trx, item.rewardId, item.quantity);
    soldOut.delete(item.rewardId);
  }
  for (const { order, item } of byReward) {
    if (item.period !== null) {
      await uncountForMember(trx, item.rewardId, order.memberId, item.period, item.quantity);
    }
  }
  const reserved = orders.filter((o) => o.confirmedAt === null);
  for (const { order, item } of couponLines(reserved)) {
    await releaseCouponsForOrder(trx, item.couponTemplateId, order.memberId, item.quantity);
  }
  for (const order of orders) {
    if (order.confirmedAt !== null && couponLines([order]).length > 0) {
      await withdrawCouponsOfOrder(trx, order.programId, order.memberId, couponReference(order));
    }
  }
}

/** What an order's coupons are issued under: `order:<id>`, then `:<line>:<unit>`. */
const couponReference = (o: Pick<Order, 'id'>) => `order:${o.id}`;

/**
 * Undoes step one for an order the ledger did not hold: the order deleted (its id may be placed
 * again) and its stock and counts given back — unless its hold applied after all.
 */
async function unreserve(deps: Deps, order: Order): Promise<void> {
  await inTransaction(deps.db, async (trx) => {
    if (await repo.deleteUnheld(trx, order.programId, order.id)) {
      await restock(trx, [order]);
    }
  });
}

/**
 * Step two's rows in the hold's batch. The claim locks each order still waiting for its hold (a
 * sweep skips what is locked, and an order it swept first cannot be held); the write stamps the
 * hold on the orders whose hold applied.
 */
const holdWriter: BatchWriter<Order> = {
  name: 'orders.hold',
  stage: 'rows',
  async claim(trx, rows) {
    const waiting = await repo.lockUnheld(trx, rows);
    return rows.map((o) =>
      waiting.has(`${o.programId}/${o.id}`)
        ? { status: 'claimed' }
        : {
            status: 'refused',
            code: 'order_state_invalid',
            detail: `Order ${o.id} was given up before its points were held; place it again`,
          },
    );
  },
  async write(trx, rows) {
    const held = rows.flatMap(({ row, outcome }) => {
      const h =
        outcome.status === 'applied' ? (outcome.result.hold as Hold | undefined) : undefined;
      return h
        ? [{ programId: row.programId, id: row.id, holdId: h.id, expiresAt: h.expiresAt }]
        : [];
    });
    await repo.stampHolds(trx, held);
  },
};

/** A settled promise's value, or its error thrown. */
function settled<T>(r: PromiseSettledResult<T>): T {
  if (r.status === 'rejected') throw r.reason;
  return r.value;
}

/** 409 `order_in_progress` for an order reserved whose points are not held yet. */
function assertHeld(order: Order): void {
  if (order.status === 'placed' && order.holdId === null) {
    throw new DomainError(
      'order_in_progress',
      `Order ${order.id} is being placed; repeat the request in a moment`,
      { orderId: order.id },
    );
  }
}

/**
 * An order's answer to a repeat of its id: the same order; 409 `order_conflict` for another
 * request, `order_in_progress` while the first is still placing it.
 */
function replayOf(order: Order, fingerprint: string): OrderResult {
  if (order.fingerprint !== fingerprint) {
    throw new DomainError(
      'order_conflict',
      `Order ${order.id} exists for another request; use a new id for a new order`,
      { orderId: order.id },
    );
  }
  assertHeld(order);
  return { order, replayed: true };
}

/**
 * Places an order: stock reserved, per-member limits counted and the points held, atomically —
 * or refused whole with nothing changed: 409 `out_of_stock`, `limit_reached`,
 * `insufficient_points`, `reward_unavailable`. A repeat of the id answers the same order.
 */
export async function placeOrder(
  deps: Deps,
  programId: string,
  memberId: string,
  input: PlaceInput,
): Promise<OrderResult> {
  const fingerprint = orderFingerprint(memberId, input.items, input.address);
  // Read at once (a flash deal's burst queues on the pool, not on round trips one after another);
  // a repeat is answered first, then an unknown member is 404.
  const [existing, enrolled, found] = await Promise.allSettled([
    repo.findOrder(deps.db, programId, input.id),
    assertEnrolled(deps, programId, memberId),
    findRewards(
      deps,
      programId,
      input.items.flatMap((i) => (i.rewardId ? [i.rewardId] : [])),
      input.items.flatMap((i) => (i.sku ? [i.sku] : [])),
    ),
  ]);
  const first = settled(existing);
  if (first) return replayOf(first, fingerprint);
  settled(enrolled);
  const rewards = settled(found);
  const now = deps.clock.now();
  const picked: { reward: Reward; quantity: number }[] = input.items.map((item, i) => {
    const reward = rewards.find((r) =>
      item.rewardId ? r.id === item.rewardId : r.sku === item.sku,
    );
    if (!reward) {
      throw invalidField(
        `items.${i}.${item.rewardId ? 'rewardId' : 'sku'}`,
        'no such reward in the program',
      );
    }
    return { reward, quantity: item.quantity };
  });
  picked.forEach(({ reward }, i) => {
    if (picked.findIndex((p) => p.reward.id === reward.id) !== i) {
      throw invalidField(`items.${i}`, `reward ${reward.sku} is on another line already`);
    }
  });
  // Cheap refusals first, before any transaction: a sold-out flash deal answers at once.
  for (const { reward, quantity } of picked) {
    const why = unavailability(reward, now);
    if (why) {
      throw new DomainError('reward_unavailable', `Reward ${reward.sku} ${why}`, {
        rewardId: reward.id,
      });
    }
    const left = isSoldOut(reward.id, now) ? 0 : stockLeft(reward);
    if (left !== null && left < quantity) {
      throw new DomainError('out_of_stock', `Reward ${reward.sku} has ${left} left`, {
        rewardId: reward.id,
      });
    }
    if (reward.perMemberLimit && quantity > reward.perMemberLimit.count) {
      throw new DomainError(
        'limit_reached',
        `Reward ${reward.sku} allows ${reward.perMemberLimit.count} per member`,
        {
          rewardId: reward.id,
        },
      );
    }
  }
  // The member's tier only for a tier price, the program's day only for a limit per period: a
  // flash deal (one price, one per member for ever) reads neither.
  const [tier, today] = await Promise.all([
    picked.some(({ reward }) => reward.tierPrices.length > 0)
      ? tierOf(deps, programId, memberId).then((t) => t.tier.code)
      : null,
    picked.some(({ reward }) => reward.perMemberLimit?.period)
      ? getLedger(deps, pointsLedger(programId)).then((l) => localDateString(now, l.timezone))
      : '',
  ]);
  const items: OrderItem[] = picked.map(({ reward, quantity }, line) => ({
    line,
    rewardId: reward.id,
    sku: reward.sku,
    name: reward.name,
    supplier: reward.supplier,
    quantity,
    unitPoints: priceFor(reward, tier),
    unitCash: reward.priceCash ?? 0,
    unitCost: unitCost(reward),
    period: reward.perMemberLimit ? periodKey(reward.perMemberLimit, today) : null,
    couponTemplateId: reward.couponTemplateId,
  }));
  const { points, cashFen } = totals(items);
  if (points > MAX_ORDER_POINTS) {
    throw invalidField(
      'items',
      `the order comes to ${points} points, more than ${MAX_ORDER_POINTS}`,
    );
  }
  const order: Order = {
    programId,
    id: input.id,
    memberId,
    status: 'placed',
    fingerprint,
    points,
    cashFen,
    cashPaid: false,
    holdId: null,
    address: input.address ?? null,
    carrier: null,
    tracking: null,
    refundTransferId: null,
    placedAt: now,
    expiresAt: new Date(now.getTime() + ORDER_HOLD_SECONDS * 1000),
    confirmedAt: null,
    shippedAt: null,
    completedAt: null,
    cancelledAt: null,
    items,
  };
  const limits: LimitCount[] = picked.flatMap(({ reward, quantity }, i) =>
    reward.perMemberLimit
      ? [
          {
            rewardId: reward.id,
            period: items[i]?.period ?? '',
            quantity,
            limit: reward.perMemberLimit.count,
          },
        ]
      : [],
  );
  try {
    await reserve(deps, order, limits);
  } catch (error) {
    if (error instanceof DomainError && error.code === 'order_conflict') {
      // A concurrent request with this id placed it first.
      const first = await repo.findOrder(deps.db, programId, input.id);
      if (first) return replayOf(first, fingerprint);
    }
    throw error;
  }
  try {
    // Each attempt is its own ledger command: an order refused for want of points is deleted, and
    // may be placed under its id again once the member has them.
    const h = await hold(
      deps,
      {
        ledger: pointsLedger(programId),
        memberId,
        points,
        reference: `order:${input.id}`,
        commandId: `order:${programId}:${input.id}:${deps.ids('cmd')}`,
        expiresInSeconds: ORDER_HOLD_SECONDS,
      },
      () => [attachment(holdWriter, order)],
    );
    return { order: { ...order, holdId: h.hold.id, expiresAt: h.hold.expiresAt }, replayed: false };
  } catch (error) {
    await unreserve(deps, order);
    throw error;
  }
}

/** The program's order, for the member named; anyone else's reads as not found. */
export async function getOrder(
  deps: Pick<Deps, 'db'>,
  programId: string,
  memberId: string,
  orderId: string,
): Promise<Order> {
  const o = await repo.findOrder(deps.db, programId, orderId);
  if (!o || o.memberId !== memberId) throw notFound(`Order ${orderId}`);
  return o;
}

const wrongState = (o: Order, action: string) =>
  new DomainError('order_state_invalid', `Order ${o.id} is ${o.status}: it cannot ${action}`, {
    orderStatus: o.status,
  });

interface TransitionRow {
  order: Order;
  cashPaid?: boolean;
  at: Date;
}

/** An action's writer: moves the order in the ledger batch's transaction, when the move applied. */
function transitionWriter(
  name: string,
  from: readonly OrderStatus[],
  to: OrderStatus,
  after?: (trx: Trx, moved: { order: Order; at: Date }[]) => Promise<void>,
): BatchWriter<TransitionRow> {
  return {
    name,
    stage: 'rows',
    async write(trx, rows) {
      const all: { order: Order; at: Date }[] = [];
      for (const { row, outcome } of rows) {
        if (outcome.status !== 'applied' || outcome.replayed) continue;
        const transferId = outcome.result.transferId ?? undefined;
        const moved = await repo.transition(trx, row.order.programId, row.order.id, {
          from,
          to,
          at: row.at,
          set: {
            ...(row.cashPaid !== undefined && { cashPaid: row.cashPaid }),
            ...(to === 'cancelled' && transferId && row.order.status === 'confirmed'
              ? { refundTransferId: transferId }
              : {}),
          },
        });
        // The points moved for an order that moved on meanwhile: fail the batch, move nothing.
        if (!moved) throw new Error(`order ${row.order.id} left ${from.join('/')} during ${name}`);
        all.push({ order: moved, at: row.at });
      }
      if (after && all.length > 0) await after(trx, all);
    },
  };
}

/**
 * Confirmation's writer: with the capture, in its transaction, the coupons its coupon and voucher
 * lines reserved are issued to the member, one per unit.
 */
const confirmWriter = (deps: Pick<Deps, 'ids'>) =>
  transitionWriter('orders.confirm', ['placed'], 'confirmed', async (trx, moved) => {
    const at = new Map(moved.map((m) => [m.order, m.at]));
    for (const { order, item } of couponLines(moved.map((m) => m.order))) {
      await issueCouponsForOrder(
        deps,
        trx,
        {
          programId: order.programId,
          templateId: item.couponTemplateId,
          memberId: order.memberId,
          n: item.quantity,
          reference: `${couponReference(order)}:${item.line}`,
        },
        at.get(order) as Date,
      );
    }
  });
const cancelPlacedWriter = transitionWriter(
  'orders.cancel',
  ['placed'],
  'cancelled',
  (trx, moved) =>
    restock(
      trx,
      moved.map((m) => m.order),
    ),
);
/**
 * A refund's writer. Its claim first locks the order's coupons and refuses the refund if one was
 * redeemed (409 `order_state_invalid`): a redemption racing the refund either committed before —
 * refused here — or waits, and then finds the coupon withdrawn.
 */
const refundWriter: BatchWriter<TransitionRow> = {
  ...transitionWriter('orders.refund', ['confirmed'], 'cancelled', (trx, moved) =>
    restock(
      trx,
      moved.map((m) => m.order),
    ),
  ),
  async claim(trx, rows) {
    const claims: Claim[] = [];
    for (const { order } of rows) {
      const used = couponLines([order]).length
        ? (
            await lockCouponsOfOrder(trx, order.programId, order.memberId, couponReference(order))
          ).find((c) => c.status === 'redeemed')
        : undefined;
      claims.push(
        used
          ? {
              status: 'refused',
              code: 'order_state_invalid',
              detail: `Order ${order.id} issued coupon ${used.code}, redeemed on purchase ${used.purchaseId}: it cannot be refunded`,
            }
          : { status: 'claimed' },
      );
    }
    return claims;
  },
};

/**
 * Confirms a placed order: its hold captured, the cash part (if any) marked paid by the caller
 * (`cashPaid: true`, else 400). A repeat answers the order; past the hold's time, 409
 * `hold_expired`; cancelled or expired, 409 `order_state_invalid`.
 */
export async function confirmOrder(
  deps: Deps,
  programId: string,
  memberId: string,
  orderId: string,
  input: { cashPaid?: boolean | undefined },
): Promise<OrderResult> {
  const order = await getOrder(deps, programId, memberId, orderId);
  if (['confirmed', 'shipped', 'completed'].includes(order.status))
    return { order, replayed: true };
  if (order.status !== 'placed') throw wrongState(order, 'be confirmed');
  assertHeld(order);
  if (order.cashFen > 0 && input.cashPaid !== true) {
    throw invalidField(
      'cashPaid',
      `the order's cash part (${order.cashFen} fen) must be paid first`,
    );
  }
  const at = deps.clock.now();
  await capture(
    deps,
    {
      ledger: pointsLedger(programId),
      memberId,
      holdId: order.holdId as string,
      points: null,
      commandId: `order-confirm:${programId}:${orderId}`,
    },
    () => [
      attachment(confirmWriter(deps), {
        order,
        at,
        ...(order.cashFen > 0 && { cashPaid: true }),
      }),
    ],
  );
  return { order: await getOrder(deps, programId, memberId, orderId), replayed: false };
}

/**
 * Cancels an order: placed, its hold released; confirmed, its points credited back (a refund).
 * Either way its stock and per-member counts come back. Shipped or completed: 409
 * `order_state_invalid`. A repeat (or an order that expired) answers the order as it is.
 */
export async function cancelOrder(
  deps: Deps,
  programId: string,
  memberId: string,
  orderId: string,
): Promise<OrderResult> {
  const order = await getOrder(deps, programId, memberId, orderId);
  if (order.status === 'cancelled' || order.status === 'expired') return { order, replayed: true };
  if (!ALLOWED_FROM.cancel.includes(order.status)) throw wrongState(order, 'be cancelled');
  assertHeld(order);
  const at = deps.clock.now();
  const ledger = pointsLedger(programId);
  if (order.status === 'placed') {
    try {
      await release(
        deps,
        {
          ledger,
          memberId,
          holdId: order.holdId as string,
          commandId: `order-cancel:${programId}:${orderId}`,
        },
        () => [attachment(cancelPlacedWriter, { order, at })],
      );
    } catch (error) {
      if (!(error instanceof DomainError && error.code === 'hold_not_pending')) throw error;
      // The hold is no longer pending: its time ran out and the ledger's sweep voided it (the
      // order expires now), or a confirmation captured it meanwhile (then it cannot be cancelled).
      await expireOrders(deps, [order]);
      const now = await getOrder(deps, programId, memberId, orderId);
      if (now.status !== 'expired' && now.status !== 'cancelled')
        throw wrongState(now, 'be cancelled');
      return { order: now, replayed: false };
    }
  } else {
    await credit(
      deps,
      {
        ledger,
        memberId,
        points: order.points,
        code: 'refund',
        reference: `order:${orderId}`,
        commandId: `order-refund:${programId}:${orderId}`,
      },
      () => [attachment(refundWriter, { order, at })],
    );
  }
  return { order: await getOrder(deps, programId, memberId, orderId), replayed: false };
}

/** Ships a confirmed order with its carrier and tracking number; a repeat answers the order. */
export async function shipOrder(
  deps: Deps,
  programId: string,
  memberId: string,
  orderId: string,
  input: { carrier: string; tracking: string },
): Promise<OrderResult> {
  const order = await getOrder(deps, programId, memberId, orderId);
  if (order.status === 'shipped' && order.tracking === input.tracking)
    return { order, replayed: true };
  const moved = await inTransaction(deps.db, (trx) =>
    repo.transition(trx, programId, orderId, {
      from: ALLOWED_FROM.ship,
      to: 'shipped',
      at: deps.clock.now(),
      set: { carrier: input.carrier, tracking: input.tracking },
    }),
  );
  if (!moved)
    throw wrongState((await repo.findOrder(deps.db, programId, orderId)) ?? order, 'be shipped');
  return { order: moved, replayed: false };
}

/** Completes a confirmed (nothing to ship) or shipped order; a repeat answers the order. */
export async function completeOrder(
  deps: Deps,
  programId: string,
  memberId: string,
  orderId: string,
): Promise<OrderResult> {
  const order = await getOrder(deps, programId, memberId, orderId);
  if (order.status === 'completed') return { order, replayed: true };
  const moved = await inTransaction(deps.db, (trx) =>
    repo.transition(trx, programId, orderId, {
      from: ALLOWED_FROM.complete,
      to: 'completed',
      at: deps.clock.now(),
    }),
  );
  if (!moved)
    throw wrongState((await repo.findOrder(deps.db, programId, orderId)) ?? order, 'be completed');
  return { order: moved, replayed: false };
}

/** Marks these placed orders expired and gives their stock back (those still placed). */
async function expireOrders(deps: Deps, orders: Order[]): Promise<void> {
  const now = deps.clock.now();
  await inTransaction(deps.db, async (trx) => {
    const moved: Order[] = [];
    for (const o of orders) {
      const order = await repo.transition(trx, o.programId, o.id, {
        from: ['placed'],
        to: 'expired',
        at: now,
      });
      if (order) moved.push(order);
    }
    await restock(trx, moved);
  });
}

/**
 * Expires the orders nobody confirmed in time (their hold's end, plus a grace), and those a crash
 * left reserved without a hold (a grace after placing), and gives their stock and per-member
 * counts back; the ledger's own sweep (`sweepExpired`) returns the held
 * points. The scheduler runs it every minute; tests call it. Returns how many expired.
 */
export async function sweepOrders(deps: Deps): Promise<number> {
  let total = 0;
  for (const which of ['due', 'unheld'] as const) {
    for (;;) {
      const now = deps.clock.now();
      const n = await inTransaction(deps.db, async (trx) => {
        const before = new Date(now.getTime() - SWEEP_GRACE_MS);
        const orders = await repo.expire(trx, which, now, before, 500);
        await restock(trx, orders);
        return orders.length;
      });
      total += n;
      if (n < 500) break;
    }
  }
  return total;
}

/** A member's orders in the program, newest first. */
export async function memberOrders(
  deps: Deps,
  programId: string,
  memberId: string,
  before: string | undefined,
  limit: number,
): Promise<Order[]> {
  await assertEnrolled(deps, programId, memberId);
  return repo.memberOrders(deps.db, programId, memberId, before, limit);
}

/** The orders with a supplier's items, by status: what the supplier has to fulfil. */
export async function supplierOrders(
  deps: Pick<Deps, 'db'>,
  programId: string,
  supplier: string,
  status: OrderStatus | undefined,
  after: string | undefined,
  limit: number,
): Promise<Order[]> {
  await assertSupplier(deps, programId, supplier);
  return repo.supplierOrders(deps.db, programId, supplier, status, after, limit);
}

export interface SupplierStatement {
  supplier: string;
  month: string;
  from: Date;
  to: Date;
  orders: number;
  lines: repo.StatementLine[];
  totalFen: number;
}

/**
 * What the program owes a supplier for the month (YYYY-MM, in the program's time zone): the
 * orders it fulfilled then — shipped, or completed with nothing to ship — at each unit's cost.
 */
export async function supplierStatement(
  deps: Deps,
  programId: string,
  supplier: string,
  month: string,
): Promise<SupplierStatement> {
  await assertSupplier(deps, programId, supplier);
  const { timezone } = await getLedger(deps, pointsLedger(programId));
  const [year, m] = month.split('-').map(Number) as [number, number];
  const from = startOfLocalDay({ year, month: m, day: 1 }, timezone);
  const to = startOfLocalDay(
    m === 12 ? { year: year + 1, month: 1, day: 1 } : { year, month: m + 1, day: 1 },
    timezone,
  );
  const s = await repo.statement(deps.db, programId, supplier, from, to);
  return {
    supplier,
    month,
    from,
    to,
    orders: s.orders,
    lines: s.lines,
    totalFen: s.lines.reduce((t, l) => t + l.amountFen, 0),
  };
}

/** The program's orders, by status: every member's, for the console to fulfil. */
export function programOrders(
  deps: Pick<Deps, 'db'>,
  programId: string,
  status: OrderStatus | undefined,
  after: string | undefined,
  limit: number,
): Promise<Order[]> {
  return repo.programOrders(deps.db, programId, status, after, limit);
}

/** A merge's hook: the duplicate's orders and per-member counts become the survivor's. */
export async function mergeOrders(deps: Deps & { db: Trx }, fromId: string, intoId: string) {
  await repo.moveToMember(deps.db, fromId, intoId);
  await mergeRewardCounts(deps, fromId, intoId);
}
