import { type Kysely, sql } from 'kysely';

// Frozen once landed: later changes are new migrations. Imports nothing from the app.
// The rewards mall (积分商城): a program's catalog of rewards bought with points (and cash), and
// members' orders of them. Stock is a counter of what orders took (`reserved`), changed only by
// conditional updates (`reserved + q where stock - reserved >= q`); the checks below make
// overselling impossible even for a statement that forgets its condition.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table rewards (
      id text primary key,
      program_id text not null references programs (id),
      sku text not null,
      name text not null,
      kind text not null check (kind in ('goods', 'voucher', 'coupon', 'membership')),
      price_points integer not null check (price_points >= 0),
      -- the cash part of the price, in fen (paid by the member beside the points)
      price_cash bigint check (price_cash >= 0),
      -- what one unit costs the program, in fen: the supplier statement's amount (else price_cash)
      supplier_cost bigint check (supplier_cost >= 0),
      -- [{ tier, pricePoints }]: a price in points for members of a tier
      tier_prices jsonb not null default '[]',
      -- null: unlimited
      stock integer check (stock >= 0),
      -- units taken by orders not cancelled or expired
      reserved integer not null default 0 check (reserved >= 0),
      per_member_limit integer check (per_member_limit >= 1),
      limit_period text check (limit_period in ('day', 'month', 'year')),
      starts_at timestamptz,
      ends_at timestamptz,
      on_shelf boolean not null,
      supplier text,
      category text,
      image_url text,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      unique (program_id, sku),
      check (stock is null or reserved <= stock),
      check (limit_period is null or per_member_limit is not null),
      check (ends_at is null or starts_at is null or ends_at > starts_at)
    )`.execute(db);
  await sql`create index rewards_program on rewards (program_id, id)`.execute(db);

  // Units of a reward a member ordered in a period ('' for ever, else the local day, month or
  // year), counted under the row's lock (insert … on conflict do update … where count + q <=
  // limit): concurrent orders of one member never pass the limit.
  await sql`
    create table reward_member_counts (
      reward_id text not null references rewards (id),
      member_id text not null,
      period text not null,
      count integer not null check (count >= 0),
      primary key (reward_id, member_id, period)
    )`.execute(db);

  // An order is a financial record: it keeps its member id through a merge or an erasure.
  await sql`
    create table reward_orders (
      program_id text not null references programs (id),
      -- the caller's id: a repeat answers the same order
      id text not null,
      member_id text not null,
      status text not null check (status in ('placed', 'confirmed', 'shipped', 'completed', 'cancelled', 'expired')),
      -- what a repeat must match
      fingerprint text not null,
      points integer not null check (points >= 0),
      cash_fen bigint not null check (cash_fen >= 0),
      cash_paid boolean not null default false,
      hold_id text,
      address jsonb,
      carrier text,
      tracking text,
      refund_transfer_id text,
      placed_at timestamptz not null,
      expires_at timestamptz not null,
      confirmed_at timestamptz,
      shipped_at timestamptz,
      completed_at timestamptz,
      cancelled_at timestamptz,
      primary key (program_id, id)
    )`.execute(db);
  await sql`create index reward_orders_member on reward_orders (program_id, member_id, id)`.execute(
    db,
  );
  await sql`create index reward_orders_open on reward_orders (expires_at) where status = 'placed'`.execute(
    db,
  );

  await sql`
    create table reward_order_items (
      program_id text not null,
      order_id text not null,
      line integer not null,
      reward_id text not null references rewards (id),
      sku text not null,
      name text not null,
      supplier text,
      quantity integer not null check (quantity >= 1),
      unit_points integer not null check (unit_points >= 0),
      unit_cash bigint not null check (unit_cash >= 0),
      unit_cost bigint not null check (unit_cost >= 0),
      -- the limit counter's period the item counted in (null: the reward has no limit)
      period text,
      primary key (program_id, order_id, line),
      foreign key (program_id, order_id) references reward_orders (program_id, id)
    )`.execute(db);
  await sql`create index reward_order_items_supplier on reward_order_items (program_id, supplier)`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table reward_order_items`.execute(db);
  await sql`drop table reward_orders`.execute(db);
  await sql`drop table reward_member_counts`.execute(db);
  await sql`drop table rewards`.execute(db);
}
