import { type Selectable, sql } from 'kysely';
import type { Db, Trx } from '../db/database.ts';
import type { RewardOrderItemsTable, RewardOrdersTable } from '../db/schema.ts';
import type { Order, OrderItem, OrderStatus } from './orders.core.ts';

const orderColumns = [
  'program_id',
  'id',
  'member_id',
  'status',
  'fingerprint',
  'points',
  'cash_fen',
  'cash_paid',
  'hold_id',
  'address',
  'carrier',
  'tracking',
  'refund_transfer_id',
  'placed_at',
  'expires_at',
  'confirmed_at',
  'shipped_at',
  'completed_at',
  'cancelled_at',
] as const;

type OrderRow = Pick<Selectable<RewardOrdersTable>, (typeof orderColumns)[number]>;

const toItem = (r: Selectable<RewardOrderItemsTable>): OrderItem => ({
  line: r.line,
  rewardId: r.reward_id,
  sku: r.sku,
  name: r.name,
  supplier: r.supplier,
  quantity: r.quantity,
  unitPoints: r.unit_points,
  unitCash: Number(r.unit_cash),
  unitCost: Number(r.unit_cost),
  period: r.period,
  couponTemplateId: r.coupon_template_id,
});

const toOrder = (r: OrderRow, items: OrderItem[]): Order => ({
  programId: r.program_id,
  id: r.id,
  memberId: r.member_id,
  status: r.status,
  fingerprint: r.fingerprint,
  points: r.points,
  cashFen: Number(r.cash_fen),
  cashPaid: r.cash_paid,
  holdId: r.hold_id,
  address: r.address,
  carrier: r.carrier,
  tracking: r.tracking,
  refundTransferId: r.refund_transfer_id,
  placedAt: r.placed_at,
  expiresAt: r.expires_at,
  confirmedAt: r.confirmed_at,
  shippedAt: r.shipped_at,
  completedAt: r.completed_at,
  cancelledAt: r.cancelled_at,
  items,
});

/** Orders with their items (read in one more statement), in the order given. */
async function withItems(db: Db, programId: string, rows: OrderRow[]): Promise<Order[]> {
  if (rows.length === 0) return [];
  const items = await db
    .selectFrom('reward_order_items')
    .selectAll()
    .where('program_id', '=', programId)
    .where(
      'order_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('line')
    .execute();
  const by = new Map<string, OrderItem[]>();
  for (const i of items) by.set(i.order_id, [...(by.get(i.order_id) ?? []), toItem(i)]);
  return rows.map((r) => toOrder(r, by.get(r.id) ?? []));
}

/** Inserts an order and its items; false (nothing written) when the id is taken. */
export async function insertOrder(trx: Trx, o: Order): Promise<boolean> {
  const row = await trx
    .insertInto('reward_orders')
    .values({
      program_id: o.programId,
      id: o.id,
      member_id: o.memberId,
      status: o.status,
      fingerprint: o.fingerprint,
      points: o.points,
      cash_fen: o.cashFen,
      hold_id: o.holdId,
      address: o.address === null || o.address === undefined ? null : JSON.stringify(o.address),
      placed_at: o.placedAt,
      expires_at: o.expiresAt,
    })
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!row) return false;
  await trx
    .insertInto('reward_order_items')
    .values(
      o.items.map((i) => ({
        program_id: o.programId,
        order_id: o.id,
        line: i.line,
        reward_id: i.rewardId,
        sku: i.sku,
        name: i.name,
        supplier: i.supplier,
        quantity: i.quantity,
        unit_points: i.unitPoints,
        unit_cash: i.unitCash,
        unit_cost: i.unitCost,
        period: i.period,
        coupon_template_id: i.couponTemplateId,
      })),
    )
    .execute();
  return true;
}

/** Locks the orders still waiting for their hold; returns them as `programId/id`. */
export async function lockUnheld(
  trx: Trx,
  keys: { programId: string; id: string }[],
): Promise<Set<string>> {
  const { rows } = await sql<{ program_id: string; id: string }>`
    select o.program_id, o.id from reward_orders o
    join unnest(${keys.map((k) => k.programId)}::text[], ${keys.map((k) => k.id)}::text[])
      as v(program_id, id) on o.program_id = v.program_id and o.id = v.id
    where o.status = 'placed' and o.hold_id is null
    order by o.program_id, o.id
    for update of o`.execute(trx);
  return new Set(rows.map((r) => `${r.program_id}/${r.id}`));
}

/** Stamps each order with the hold that now holds its points, in one statement. */
export async function stampHolds(
  trx: Trx,
  held: { programId: string; id: string; holdId: string; expiresAt: Date }[],
): Promise<void> {
  if (held.length === 0) return;
  await sql`
    update reward_orders o set hold_id = v.hold_id, expires_at = v.expires_at
    from unnest(${held.map((h) => h.programId)}::text[], ${held.map((h) => h.id)}::text[],
                ${held.map((h) => h.holdId)}::text[], ${held.map((h) => h.expiresAt.toISOString())}::timestamptz[])
      as v(program_id, id, hold_id, expires_at)
    where o.program_id = v.program_id and o.id = v.id`.execute(trx);
}

/**
 * Deletes an order whose points were never held (the ledger refused its hold), with its items;
 * false, deleting nothing, when it has a hold or is gone. The caller gives its stock back.
 */
export async function deleteUnheld(trx: Trx, programId: string, id: string): Promise<boolean> {
  const locked = await trx
    .selectFrom('reward_orders')
    .select('id')
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .where('status', '=', 'placed')
    .where('hold_id', 'is', null)
    .forUpdate()
    .executeTakeFirst();
  if (!locked) return false;
  await trx
    .deleteFrom('reward_order_items')
    .where('program_id', '=', programId)
    .where('order_id', '=', id)
    .execute();
  await trx
    .deleteFrom('reward_orders')
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .execute();
  return true;
}

export async function findOrder(db: Db, programId: string, id: string): Promise<Order | undefined> {
  const row = await db
    .selectFrom('reward_orders')
    .select(orderColumns)
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && (await withItems(db, programId, [row]))[0];
}

export interface Transition {
  from: readonly OrderStatus[];
  to: OrderStatus;
  at: Date;
  set?: {
    cashPaid?: boolean;
    carrier?: string;
    tracking?: string;
    refundTransferId?: string | null;
  };
}

/**
 * Moves an order from one of `from` to `to`, stamping the time: one conditional update, so two
 * actions racing on one order cannot both apply. Undefined when the order was in another status.
 */
export async function transition(
  trx: Trx,
  programId: string,
  id: string,
  t: Transition,
): Promise<Order | undefined> {
  const stamp = {
    placed: 'placed_at',
    confirmed: 'confirmed_at',
    shipped: 'shipped_at',
    completed: 'completed_at',
    cancelled: 'cancelled_at',
    expired: 'cancelled_at',
  } as const;
  const row = await trx
    .updateTable('reward_orders')
    .set({
      status: t.to,
      [stamp[t.to]]: t.at,
      ...(t.set?.cashPaid !== undefined && { cash_paid: t.set.cashPaid }),
      ...(t.set?.carrier !== undefined && { carrier: t.set.carrier }),
      ...(t.set?.tracking !== undefined && { tracking: t.set.tracking }),
      ...(t.set?.refundTransferId !== undefined && {
        refund_transfer_id: t.set.refundTransferId,
      }),
    })
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .where('status', 'in', [...t.from])
    .returning(orderColumns)
    .executeTakeFirst();
  return row && (await withItems(trx, programId, [row]))[0];
}

/**
 * Marks placed orders expired, up to `limit` in one statement, skipping any another transaction
 * holds (a hold being written, an action in flight), and returns them with their items: the
 * caller gives their stock and limits back in the same transaction.
 * - `due`: their hold ran out before `before`;
 * - `unheld`: reserved before `before` and never held (their placing crashed between its steps).
 */
export async function expire(
  trx: Trx,
  which: 'due' | 'unheld',
  now: Date,
  before: Date,
  limit: number,
): Promise<Order[]> {
  const pick =
    which === 'due'
      ? sql`expires_at <= ${before} order by expires_at`
      : sql`hold_id is null and placed_at <= ${before} order by placed_at`;
  const rows = await trx
    .updateTable('reward_orders')
    .set({ status: 'expired', cancelled_at: now })
    .where(
      sql<boolean>`(program_id, id) in (
        select program_id, id from reward_orders where status = 'placed' and ${pick}
        limit ${limit} for update skip locked)`,
    )
    .returning(orderColumns)
    .execute();
  const byProgram = new Map<string, OrderRow[]>();
  for (const r of rows) byProgram.set(r.program_id, [...(byProgram.get(r.program_id) ?? []), r]);
  const out: Order[] = [];
  for (const [programId, list] of byProgram) out.push(...(await withItems(trx, programId, list)));
  return out;
}

/** A member's orders in the program, newest first (ids before `before`). */
export async function memberOrders(
  db: Db,
  programId: string,
  memberId: string,
  before: string | undefined,
  limit: number,
): Promise<Order[]> {
  let q = db
    .selectFrom('reward_orders')
    .select(orderColumns)
    .where('program_id', '=', programId)
    .where('member_id', '=', memberId);
  if (before) q = q.where('id', '<', before);
  return withItems(db, programId, await q.orderBy('id', 'desc').limit(limit).execute());
}

/** Orders with an item of the supplier, in id order, by status. */
export async function supplierOrders(
  db: Db,
  programId: string,
  supplier: string,
  status: OrderStatus | undefined,
  after: string | undefined,
  limit: number,
): Promise<Order[]> {
  let q = db
    .selectFrom('reward_orders as o')
    .select(orderColumns.map((c) => `o.${c}` as const))
    .where('o.program_id', '=', programId)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('reward_order_items as i')
          .select('i.line')
          .whereRef('i.program_id', '=', 'o.program_id')
          .whereRef('i.order_id', '=', 'o.id')
          .where('i.supplier', '=', supplier),
      ),
    );
  if (status) q = q.where('o.status', '=', status);
  if (after) q = q.where('o.id', '>', after);
  return withItems(db, programId, await q.orderBy('o.id').limit(limit).execute());
}

export interface StatementLine {
  rewardId: string;
  sku: string;
  name: string;
  quantity: number;
  unitCost: number;
  amountFen: number;
}

/**
 * What the program owes a supplier for the orders it fulfilled in [from, to): shipped or
 * completed, by when they were shipped (completed, for what had nothing to ship), per SKU and cost.
 */
export async function statement(
  db: Db,
  programId: string,
  supplier: string,
  from: Date,
  to: Date,
): Promise<{ orders: number; lines: StatementLine[] }> {
  const fulfilled = sql<Date>`coalesce(o.shipped_at, o.completed_at)`;
  const base = db
    .selectFrom('reward_order_items as i')
    .innerJoin('reward_orders as o', (j) =>
      j.onRef('o.program_id', '=', 'i.program_id').onRef('o.id', '=', 'i.order_id'),
    )
    .where('i.program_id', '=', programId)
    .where('i.supplier', '=', supplier)
    .where('o.status', 'in', ['shipped', 'completed'])
    .where(fulfilled, '>=', from)
    .where(fulfilled, '<', to);
  const rows = await base
    .select([
      'i.reward_id',
      'i.sku',
      'i.name',
      'i.unit_cost',
      sql<string>`sum(i.quantity)`.as('quantity'),
    ])
    .groupBy(['i.reward_id', 'i.sku', 'i.name', 'i.unit_cost'])
    .orderBy('i.sku')
    .execute();
  const count = await base
    .select(sql<string>`count(distinct o.id)`.as('n'))
    .executeTakeFirstOrThrow();
  return {
    orders: Number(count.n),
    lines: rows.map((r) => ({
      rewardId: r.reward_id,
      sku: r.sku,
      name: r.name,
      quantity: Number(r.quantity),
      unitCost: Number(r.unit_cost),
      amountFen: Number(r.quantity) * Number(r.unit_cost),
    })),
  };
}

/** The program's orders, in id order, by status: the console's list of what to fulfil. */
export async function programOrders(
  db: Db,
  programId: string,
  status: OrderStatus | undefined,
  after: string | undefined,
  limit: number,
): Promise<Order[]> {
  let q = db.selectFrom('reward_orders').select(orderColumns).where('program_id', '=', programId);
  if (status) q = q.where('status', '=', status);
  if (after) q = q.where('id', '>', after);
  return withItems(db, programId, await q.orderBy('id').limit(limit).execute());
}

/** A merge's part: the duplicate's orders become the survivor's. */
export async function moveToMember(trx: Trx, fromId: string, intoId: string): Promise<void> {
  await trx
    .updateTable('reward_orders')
    .set({ member_id: intoId })
    .where('member_id', '=', fromId)
    .execute();
}
