import { sql } from 'kysely';
import { inTransaction, type Trx } from '../db/database.ts';
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

// Members' orders in the rewards mall. Placing an order is one ledger hold whose batch also
// writes the order and takes its stock and its per-member counts (`placeWriter`): all of it
// commits together, or nothing does. Confirming captures the hold; cancelling releases it (or,
// after capture, credits a refund); an order nobody confirms expires with its hold, and
// `sweepOrders` gives its stock back.

/** How long a placed order holds its points and stock before it expires unconfirmed. */
export const ORDER_HOLD_SECONDS = 30 * 60;
/**
 * How long after its hold's end an unconfirmed order is swept: a capture the ledger accepted just
 * before the end commits before its order can be swept away under it.
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

interface PlaceRow {
  order: Order;
  /** Per-member limits the order's items count against. */
  limits: { rewardId: string; period: string; quantity: number; limit: number }[];
}

const refusal = (
  code: 'out_of_stock' | 'reward_unavailable' | 'limit_reached' | 'order_conflict',
  detail: string,
): Claim => ({
  status: 'refused',
  code,
  detail,
});

/** Takes an order's stock and limits and writes it, or says why not (the caller undoes it). */
async function take(trx: Trx, row: PlaceRow): Promise<Claim | undefined> {
  const { order } = row;
  if (!(await repo.insertOrder(trx, order))) {
    return refusal('order_conflict', `Order ${order.id} exists already`);
  }
  for (const item of order.items) {
    const taken = await reserveStock(trx, item.rewardId, item.quantity, order.placedAt);
    if (taken === 'short') {
      return refusal('out_of_stock', `Reward ${item.sku} has fewer than ${item.quantity} left`);
    }
    if (taken === 'unavailable') {
      return refusal('reward_unavailable', `Reward ${item.sku} is no longer on sale`);
    }
  }
  for (const l of row.limits) {
    if (!(await countForMember(trx, l.rewardId, order.memberId, l.period, l.quantity, l.limit))) {
      return refusal(
        'limit_reached',
        `Member ${order.memberId} may order ${l.limit} of reward ${l.rewardId}${l.period ? ` in ${l.period}` : ''}`,
      );
    }
  }
  return undefined;
}

/** Gives back an order's stock and per-member counts (cancelled, expired, or never placed). */
async function restock(trx: Trx, order: Order): Promise<void> {
  for (const item of order.items) {
    await releaseStock(trx, item.rewardId, item.quantity);
    if (item.period !== null) {
      await uncountForMember(trx, item.rewardId, order.memberId, item.period, item.quantity);
    }
  }
}

/**
 * The order's rows in the hold's batch. The claim — before the ledger applies anything — writes
 * the order and takes its stock and limits with conditional updates, each order under a savepoint
 * so a refusal leaves no trace; after the hold, an order whose hold the ledger refused
 * (`insufficient_points`, a blocked member) is taken back in the same transaction.
 */
const placeWriter: BatchWriter<PlaceRow> = {
  name: 'orders.place',
  stage: 'rows',
  async claim(trx, rows) {
    const claims: Claim[] = [];
    for (const row of rows) {
      await sql`savepoint order_place`.execute(trx);
      const refused = await take(trx, row);
      if (refused) await sql`rollback to savepoint order_place`.execute(trx);
      else await sql`release savepoint order_place`.execute(trx);
      claims.push(refused ?? { status: 'claimed' });
    }
    return claims;
  },
  async write(trx, rows) {
    const held: { programId: string; id: string; holdId: string; expiresAt: Date }[] = [];
    for (const { row, outcome } of rows) {
      const h =
        outcome.status === 'applied' ? (outcome.result.hold as Hold | undefined) : undefined;
      if (h) {
        held.push({
          programId: row.order.programId,
          id: row.order.id,
          holdId: h.id,
          expiresAt: h.expiresAt,
        });
        continue;
      }
      await restock(trx, row.order);
      await repo.deleteOrders(trx, [row.order]);
    }
    if (held.length === 0) return;
    await sql`
      update reward_orders o set hold_id = v.hold_id, expires_at = v.expires_at
      from unnest(${held.map((h) => h.programId)}::text[], ${held.map((h) => h.id)}::text[],
                  ${held.map((h) => h.holdId)}::text[], ${held.map((h) => h.expiresAt.toISOString())}::timestamptz[])
        as v(program_id, id, hold_id, expires_at)
      where o.program_id = v.program_id and o.id = v.id`.execute(trx);
  },
};

/** An order's answer to a repeat of its id: the same order, or 409 for another request. */
function replayOf(order: Order, fingerprint: string): OrderResult {
  if (order.fingerprint !== fingerprint) {
    throw new DomainError(
      'order_conflict',
      `Order ${order.id} exists for another request; use a new id for a new order`,
      { orderId: order.id },
    );
  }
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
  const existing = await repo.findOrder(deps.db, programId, input.id);
  if (existing) return replayOf(existing, fingerprint);
  await assertEnrolled(deps, programId, memberId);
  const rewards = await findRewards(
    deps,
    programId,
    input.items.flatMap((i) => (i.rewardId ? [i.rewardId] : [])),
    input.items.flatMap((i) => (i.sku ? [i.sku] : [])),
  );
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
  // Cheap refusals first, outside the batch: a sold-out flash deal answers at once.
  for (const { reward, quantity } of picked) {
    const why = unavailability(reward, now);
    if (why) {
      throw new DomainError('reward_unavailable', `Reward ${reward.sku} ${why}`, {
        rewardId: reward.id,
      });
    }
    const left = stockLeft(reward);
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
  const [tier, ledger] = await Promise.all([
    tierOf(deps, programId, memberId),
    getLedger(deps, pointsLedger(programId)),
  ]);
  const today = localDateString(now, ledger.timezone);
  const items: OrderItem[] = picked.map(({ reward, quantity }, line) => ({
    line,
    rewardId: reward.id,
    sku: reward.sku,
    name: reward.name,
    supplier: reward.supplier,
    quantity,
    unitPoints: priceFor(reward, tier.tier.code),
    unitCash: reward.priceCash ?? 0,
    unitCost: unitCost(reward),
    period: reward.perMemberLimit ? periodKey(reward.perMemberLimit, today) : null,
  }));
  const { points, cashFen } = totals(items);
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
  const limits = picked.flatMap(({ reward, quantity }, i) =>
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
    // The order row is what makes a repeat idempotent; each attempt is its own ledger command, so
    // that an order refused for want of points can be placed under its id once the member has them.
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
      () => [attachment(placeWriter, { order, limits })],
    );
    return { order: { ...order, holdId: h.hold.id, expiresAt: h.hold.expiresAt }, replayed: false };
  } catch (error) {
    if (error instanceof DomainError && error.code === 'order_conflict') {
      // A concurrent request with this id placed it first.
      const first = await repo.findOrder(deps.db, programId, input.id);
      if (first) return replayOf(first, fingerprint);
    }
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

/** An action's writer: moves the order in the ledger batch's transaction, when the move applied. */
function transitionWriter(
  name: string,
  from: readonly OrderStatus[],
  to: OrderStatus,
  after?: (trx: Trx, order: Order, result: { transferId?: string | undefined }) => Promise<void>,
): BatchWriter<{ order: Order; cashPaid?: boolean; at: Date }> {
  return {
    name,
    stage: 'rows',
    async write(trx, rows) {
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
        if (after) await after(trx, moved, { transferId });
      }
    },
  };
}

const confirmWriter = transitionWriter('orders.confirm', ['placed'], 'confirmed');
const cancelPlacedWriter = transitionWriter('orders.cancel', ['placed'], 'cancelled', (trx, o) =>
  restock(trx, o),
);
const refundWriter = transitionWriter('orders.refund', ['confirmed'], 'cancelled', (trx, o) =>
  restock(trx, o),
);

/**
 * Hook: issues what a coupon or voucher reward gives the member, once the order's points are
 * captured. A no-op until the coupons module lands (src/coupons/, issue 13): it will issue the
 * template named by the reward, keyed by `order:<programId>:<orderId>:<line>` so that a repeat
 * issues nothing twice. Called after the capture commits; never throws for the order's sake.
 */
export async function issueDigitalRewards(_deps: Deps, _order: Order): Promise<void> {}

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
      attachment(confirmWriter, {
        order,
        at,
        ...(order.cashFen > 0 && { cashPaid: true }),
      }),
    ],
  );
  const confirmed = await getOrder(deps, programId, memberId, orderId);
  await issueDigitalRewards(deps, confirmed);
  return { order: confirmed, replayed: false };
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
      // The hold ran out and the ledger's sweep voided it first: the order expires now.
      if (!(error instanceof DomainError && error.code === 'hold_not_pending')) throw error;
      await expireOrders(deps, [order]);
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
  await inTransaction(deps.db, async (trx) => {
    for (const o of orders) {
      const moved = await repo.transition(trx, o.programId, o.id, {
        from: ['placed'],
        to: 'expired',
        at: deps.clock.now(),
      });
      if (moved) await restock(trx, moved);
    }
  });
}

/**
 * Expires the orders nobody confirmed in time (their hold's end, plus a grace) and gives their
 * stock and per-member counts back; the ledger's own sweep (`sweepExpired`) returns the held
 * points. The scheduler runs it every minute; tests call it. Returns how many expired.
 */
export async function sweepOrders(deps: Deps): Promise<number> {
  let total = 0;
  for (;;) {
    const now = deps.clock.now();
    const n = await inTransaction(deps.db, async (trx) => {
      const due = await repo.expireDue(trx, now, new Date(now.getTime() - SWEEP_GRACE_MS), 500);
      for (const o of due) await restock(trx, o);
      return due.length;
    });
    total += n;
    if (n < 500) return total;
  }
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
