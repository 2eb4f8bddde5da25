import { type Selectable, sql } from 'kysely';
import type { Db, Trx } from '../db/database.ts';
import type { RewardsTable } from '../db/schema.ts';
import type { PerMemberLimit, Reward, TierPrice } from './rewards.core.ts';

const columns = [
  'id',
  'program_id',
  'sku',
  'name',
  'kind',
  'price_points',
  'price_cash',
  'supplier_cost',
  'tier_prices',
  'stock',
  'reserved',
  'per_member_limit',
  'limit_period',
  'starts_at',
  'ends_at',
  'on_shelf',
  'supplier',
  'category',
  'image_url',
  'coupon_template_id',
  'created_at',
  'updated_at',
] as const;

type Row = Pick<Selectable<RewardsTable>, (typeof columns)[number]>;

function toReward(r: Row): Reward {
  return {
    id: r.id,
    programId: r.program_id,
    sku: r.sku,
    name: r.name,
    kind: r.kind,
    pricePoints: r.price_points,
    priceCash: r.price_cash === null ? null : Number(r.price_cash),
    supplierCost: r.supplier_cost === null ? null : Number(r.supplier_cost),
    tierPrices: r.tier_prices as TierPrice[],
    stock: r.stock,
    reserved: r.reserved,
    perMemberLimit:
      r.per_member_limit === null ? null : { count: r.per_member_limit, period: r.limit_period },
    startsAt: r.starts_at,
    endsAt: r.ends_at,
    onShelf: r.on_shelf,
    supplier: r.supplier,
    category: r.category,
    imageUrl: r.image_url,
    couponTemplateId: r.coupon_template_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const values = (r: Reward) => ({
  id: r.id,
  program_id: r.programId,
  sku: r.sku,
  name: r.name,
  kind: r.kind,
  price_points: r.pricePoints,
  price_cash: r.priceCash,
  supplier_cost: r.supplierCost,
  tier_prices: JSON.stringify(r.tierPrices),
  stock: r.stock,
  per_member_limit: r.perMemberLimit?.count ?? null,
  limit_period: r.perMemberLimit?.period ?? null,
  starts_at: r.startsAt,
  ends_at: r.endsAt,
  on_shelf: r.onShelf,
  supplier: r.supplier,
  category: r.category,
  image_url: r.imageUrl,
  coupon_template_id: r.couponTemplateId,
  created_at: r.createdAt,
  updated_at: r.updatedAt,
});

/** Inserts a reward; false when its SKU is taken in the program (or its id anywhere). */
export async function insertReward(db: Db, r: Reward): Promise<boolean> {
  const row = await db
    .insertInto('rewards')
    .values(values(r))
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function findReward(db: Db, id: string): Promise<Reward | undefined> {
  const row = await db
    .selectFrom('rewards')
    .select(columns)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toReward(row);
}

/** A program's rewards named by id or by SKU. */
export async function findRewards(
  db: Db,
  programId: string,
  ids: string[],
  skus: string[],
): Promise<Reward[]> {
  if (ids.length + skus.length === 0) return [];
  const rows = await db
    .selectFrom('rewards')
    .select(columns)
    .where('program_id', '=', programId)
    .where((eb) =>
      eb.or([
        ...(ids.length ? [eb('id', 'in', ids)] : []),
        ...(skus.length ? [eb('sku', 'in', skus)] : []),
      ]),
    )
    .execute();
  return rows.map(toReward);
}

/** Whether any reward of the program names the supplier. */
export async function hasSupplier(db: Db, programId: string, supplier: string): Promise<boolean> {
  const row = await db
    .selectFrom('rewards')
    .select('id')
    .where('program_id', '=', programId)
    .where('supplier', '=', supplier)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export async function lockReward(trx: Trx, id: string): Promise<Reward | undefined> {
  const row = await trx
    .selectFrom('rewards')
    .select(columns)
    .where('id', '=', id)
    .forNoKeyUpdate()
    .executeTakeFirst();
  return row && toReward(row);
}

export interface RewardFilter {
  category?: string | undefined;
  onShelf?: boolean | undefined;
}

/** A program's rewards in id order after `after`. */
export async function listRewards(
  db: Db,
  programId: string,
  filter: RewardFilter,
  after: string | undefined,
  limit: number,
): Promise<Reward[]> {
  let q = db.selectFrom('rewards').select(columns).where('program_id', '=', programId);
  if (filter.category !== undefined) q = q.where('category', '=', filter.category);
  if (filter.onShelf !== undefined) q = q.where('on_shelf', '=', filter.onShelf);
  if (after) q = q.where('id', '>', after);
  return (await q.orderBy('id').limit(limit).execute()).map(toReward);
}

/**
 * What a member may order at `now`: on the shelf, in its selling window, with stock left, each
 * with the member's price (their tier's, else the list price). With `atMost`, only those priced
 * within it, the dearest first (what spends the member's points best); else in id order.
 */
export async function shelfFor(
  db: Db,
  programId: string,
  tier: string | null,
  now: Date,
  options: { category?: string | undefined; atMost?: number; after?: string; limit: number },
): Promise<{ reward: Reward; price: number }[]> {
  const price = sql<number>`coalesce((select (e->>'pricePoints')::int from jsonb_array_elements(tier_prices) e where e->>'tier' = ${tier ?? ''} limit 1), price_points)`;
  let q = db
    .selectFrom('rewards')
    .select([...columns, price.as('member_price')])
    .where('program_id', '=', programId)
    .where('on_shelf', '=', true)
    .where((eb) => eb.or([eb('starts_at', 'is', null), eb('starts_at', '<=', now)]))
    .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', now)]))
    .where((eb) => eb.or([eb('stock', 'is', null), eb('reserved', '<', eb.ref('stock'))]));
  if (options.category !== undefined) q = q.where('category', '=', options.category);
  if (options.atMost !== undefined) {
    q = q.where(price, '<=', options.atMost).orderBy(price, 'desc').orderBy('id');
  } else {
    if (options.after) q = q.where('id', '>', options.after);
    q = q.orderBy('id');
  }
  const rows = await q.limit(options.limit).execute();
  return rows.map((r) => ({ reward: toReward(r), price: Number(r.member_price) }));
}

export interface RewardChanges {
  name?: string | undefined;
  pricePoints?: number | undefined;
  priceCash?: number | null | undefined;
  supplierCost?: number | null | undefined;
  tierPrices?: TierPrice[] | undefined;
  stock?: number | null | undefined;
  perMemberLimit?: PerMemberLimit | null | undefined;
  startsAt?: Date | null | undefined;
  endsAt?: Date | null | undefined;
  onShelf?: boolean | undefined;
  supplier?: string | null | undefined;
  category?: string | null | undefined;
  imageUrl?: string | null | undefined;
  couponTemplateId?: string | null | undefined;
}

/**
 * Changes a reward. A new stock applies only if it is not below what is reserved (checked in the
 * statement, against orders committed meanwhile): undefined when it is.
 */
export async function updateReward(
  trx: Trx,
  id: string,
  c: RewardChanges,
  at: Date,
): Promise<Reward | undefined> {
  let q = trx
    .updateTable('rewards')
    .set({
      ...(c.name !== undefined && { name: c.name }),
      ...(c.pricePoints !== undefined && { price_points: c.pricePoints }),
      ...(c.priceCash !== undefined && { price_cash: c.priceCash }),
      ...(c.supplierCost !== undefined && { supplier_cost: c.supplierCost }),
      ...(c.tierPrices !== undefined && { tier_prices: JSON.stringify(c.tierPrices) }),
      ...(c.stock !== undefined && { stock: c.stock }),
      ...(c.perMemberLimit !== undefined && {
        per_member_limit: c.perMemberLimit?.count ?? null,
        limit_period: c.perMemberLimit?.period ?? null,
      }),
      ...(c.startsAt !== undefined && { starts_at: c.startsAt }),
      ...(c.endsAt !== undefined && { ends_at: c.endsAt }),
      ...(c.onShelf !== undefined && { on_shelf: c.onShelf }),
      ...(c.supplier !== undefined && { supplier: c.supplier }),
      ...(c.category !== undefined && { category: c.category }),
      ...(c.imageUrl !== undefined && { image_url: c.imageUrl }),
      ...(c.couponTemplateId !== undefined && { coupon_template_id: c.couponTemplateId }),
      updated_at: at,
    })
    .where('id', '=', id);
  if (typeof c.stock === 'number') q = q.where('reserved', '<=', c.stock);
  const row = await q.returning(columns).executeTakeFirst();
  return row && toReward(row);
}

export interface Upserted {
  sku: string;
  inserted: boolean;
}

/**
 * Inserts or updates rewards by SKU in one statement (a supplier's catalog, imported again): a
 * row keeps its id, what is reserved and when it was made. A row whose new stock is below what
 * is reserved is left as it was and is missing from the answer.
 */
export async function upsertRewards(trx: Trx, rewards: Reward[]): Promise<Upserted[]> {
  if (rewards.length === 0) return [];
  const rows = await trx
    .insertInto('rewards')
    .values(rewards.map(values))
    .onConflict((oc) =>
      oc
        .columns(['program_id', 'sku'])
        .doUpdateSet((eb) => ({
          name: eb.ref('excluded.name'),
          kind: eb.ref('excluded.kind'),
          price_points: eb.ref('excluded.price_points'),
          price_cash: eb.ref('excluded.price_cash'),
          supplier_cost: eb.ref('excluded.supplier_cost'),
          tier_prices: eb.ref('excluded.tier_prices'),
          stock: eb.ref('excluded.stock'),
          per_member_limit: eb.ref('excluded.per_member_limit'),
          limit_period: eb.ref('excluded.limit_period'),
          starts_at: eb.ref('excluded.starts_at'),
          ends_at: eb.ref('excluded.ends_at'),
          on_shelf: eb.ref('excluded.on_shelf'),
          supplier: eb.ref('excluded.supplier'),
          category: eb.ref('excluded.category'),
          image_url: eb.ref('excluded.image_url'),
          coupon_template_id: eb.ref('excluded.coupon_template_id'),
          updated_at: eb.ref('excluded.updated_at'),
        }))
        .where((eb) =>
          eb.or([
            eb('excluded.stock', 'is', null),
            eb('rewards.reserved', '<=', eb.ref('excluded.stock')),
          ]),
        ),
    )
    .returning(['sku', sql<boolean>`xmax = 0`.as('inserted')])
    .execute();
  return rows.map((r) => ({ sku: r.sku, inserted: r.inserted }));
}

// --- stock and limits, for orders ---

/**
 * Takes `quantity` units if the reward is on sale at `now` and has them: one conditional update,
 * so stock is never oversold whatever runs at the same time, and a sold-out reward answers without
 * waiting long. When it takes nothing, says why: `unavailable` (off the shelf or outside its
 * window since the caller looked) or `short`.
 */
export async function reserve(
  trx: Trx,
  id: string,
  quantity: number,
  now: Date,
): Promise<'reserved' | 'unavailable' | 'short'> {
  // One round trip: the conditional update, and whether the reward was on sale in the statement's
  // snapshot (read without waiting). An update that took nothing from a reward on sale found too
  // few units: left in the snapshot, or taken by an order that committed while it waited.
  const { rows } = await sql<{ taken: boolean; on_sale: boolean }>`
    with taken as (
      update rewards set reserved = reserved + ${quantity}
      where id = ${id} and on_shelf
        and (starts_at is null or starts_at <= ${now}) and (ends_at is null or ends_at > ${now})
        and (stock is null or stock - reserved >= ${quantity})
      returning id)
    select exists (select 1 from taken) as taken,
           r.on_shelf and (r.starts_at is null or r.starts_at <= ${now})
             and (r.ends_at is null or r.ends_at > ${now}) as on_sale
    from rewards r where r.id = ${id}`.execute(trx);
  const r = rows[0];
  if (r?.taken) return 'reserved';
  return r?.on_sale ? 'short' : 'unavailable';
}

/** Gives units back (an order cancelled, expired, or refused after it reserved). */
export async function unreserve(trx: Trx, id: string, quantity: number): Promise<void> {
  await trx
    .updateTable('rewards')
    .set((eb) => ({ reserved: eb('reserved', '-', quantity) }))
    .where('id', '=', id)
    .execute();
}

/**
 * Counts `quantity` more units of the reward for the member in `period`, if that keeps them within
 * `limit`: one statement under the counter row's lock, so concurrent orders never pass it.
 */
export async function countForMember(
  trx: Trx,
  rewardId: string,
  memberId: string,
  period: string,
  quantity: number,
  limit: number,
): Promise<boolean> {
  if (quantity > limit) return false;
  const row = await trx
    .insertInto('reward_member_counts')
    .values({ reward_id: rewardId, member_id: memberId, period, count: quantity })
    .onConflict((oc) =>
      oc
        .columns(['reward_id', 'member_id', 'period'])
        .doUpdateSet((eb) => ({ count: eb('reward_member_counts.count', '+', quantity) }))
        .where('reward_member_counts.count', '<=', limit - quantity),
    )
    .returning('count')
    .executeTakeFirst();
  return row !== undefined;
}

/** Uncounts units of an order that did not go through. */
export async function uncountForMember(
  trx: Trx,
  rewardId: string,
  memberId: string,
  period: string,
  quantity: number,
): Promise<void> {
  await trx
    .updateTable('reward_member_counts')
    .set((eb) => ({ count: eb('count', '-', quantity) }))
    .where('reward_id', '=', rewardId)
    .where('member_id', '=', memberId)
    .where('period', '=', period)
    .execute();
}

/**
 * Records that members were told of points expiring on a day, skipping those told before; returns
 * the ones recorded now (the notices to send).
 */
export async function recordNotices(
  trx: Trx,
  programId: string,
  notices: { memberId: string; expiresOn: string; points: number }[],
  at: Date,
): Promise<{ memberId: string; expiresOn: string; points: number }[]> {
  if (notices.length === 0) return [];
  const rows = await trx
    .insertInto('expiry_notices')
    .values(
      notices.map((n) => ({
        program_id: programId,
        member_id: n.memberId,
        expires_on: n.expiresOn,
        points: n.points,
        noticed_at: at,
      })),
    )
    .onConflict((oc) => oc.columns(['program_id', 'member_id', 'expires_on']).doNothing())
    .returning(['member_id', 'expires_on', 'points'])
    .execute();
  return rows.map((r) => ({
    memberId: r.member_id,
    expiresOn: r.expires_on,
    points: Number(r.points),
  }));
}

/** A merge's part: the duplicate's counts per reward and period are added to the survivor's. */
export async function mergeMemberCounts(trx: Trx, fromId: string, intoId: string): Promise<void> {
  await sql`
    insert into reward_member_counts (reward_id, member_id, period, count)
    select reward_id, ${intoId}, period, count from reward_member_counts where member_id = ${fromId}
    on conflict (reward_id, member_id, period)
      do update set count = reward_member_counts.count + excluded.count`.execute(trx);
  await trx.deleteFrom('reward_member_counts').where('member_id', '=', fromId).execute();
}
