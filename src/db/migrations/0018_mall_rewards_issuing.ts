import { type Kysely, sql } from 'kysely';

// Frozen once landed: later changes are new migrations. Imports nothing from the app.
// The mall's second round:
// - an order is placed in two steps (its stock reserved, then its points held): an index finds
//   the orders a crash left reserved without a hold;
// - a coupon or voucher reward names the coupon template it issues. Its coupons are reserved when
//   the order is placed (`reserved`, beside `issued`, on the template and on the member's count)
//   and issued when it is confirmed, so a confirmed order never meets an empty template;
// - templates may issue on members' birthdays, once a year: `daily_runs` remembers which local
//   days a program's birthdays were announced (and its expiring points told);
// - `expiry_notices` remembers which members were told of points expiring on which day, so the
//   `points.expiring` event is written once per member and expiry date.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index reward_orders_unheld on reward_orders (placed_at)
    where status = 'placed' and hold_id is null`.execute(db);

  await sql`alter table rewards add column coupon_template_id text references coupon_templates (id)`.execute(
    db,
  );
  await sql`alter table rewards add constraint rewards_coupon_template
    check (coupon_template_id is null or kind in ('coupon', 'voucher'))`.execute(db);
  await sql`alter table rewards add constraint rewards_coupon_needs_template
    check (kind <> 'coupon' or coupon_template_id is not null) not valid`.execute(db);

  await sql`alter table reward_order_items add column coupon_template_id text
    references coupon_templates (id)`.execute(db);
  await sql`alter table coupon_templates add column reserved integer not null default 0
    check (reserved >= 0)`.execute(db);
  await sql`alter table coupon_templates add constraint coupon_templates_reserved_stock
    check (stock is null or issued + reserved <= stock)`.execute(db);
  await sql`alter table coupon_member_counts add column reserved integer not null default 0
    check (reserved >= 0)`.execute(db);

  await sql`alter table coupon_templates drop constraint coupon_templates_issue_on_check`.execute(
    db,
  );
  await sql`alter table coupon_templates add constraint coupon_templates_issue_on_check
    check (issue_on in ('enrollment', 'tier_upgrade', 'birthday'))`.execute(db);
  // A day's run of a daily job per program (birthdays announced, expiring points told), claimed in
  // the transaction that writes the job's events: a job runs once per program and local day.
  await sql`
    create table daily_runs (
      job text not null,
      program_id text not null references programs (id),
      -- the program's local day the job ran for
      day date not null,
      count integer not null,
      ran_at timestamptz not null,
      primary key (job, program_id, day)
    )`.execute(db);

  await sql`
    create table expiry_notices (
      program_id text not null references programs (id),
      member_id text not null,
      -- the local day the points expire at the end of
      expires_on date not null,
      points bigint not null check (points > 0),
      noticed_at timestamptz not null,
      primary key (program_id, member_id, expires_on)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table expiry_notices`.execute(db);
  await sql`drop table daily_runs`.execute(db);
  await sql`alter table coupon_templates drop constraint coupon_templates_issue_on_check`.execute(
    db,
  );
  await sql`alter table coupon_templates add constraint coupon_templates_issue_on_check
    check (issue_on in ('enrollment', 'tier_upgrade'))`.execute(db);
  await sql`alter table coupon_member_counts drop column reserved`.execute(db);
  await sql`alter table coupon_templates drop constraint coupon_templates_reserved_stock`.execute(
    db,
  );
  await sql`alter table coupon_templates drop column reserved`.execute(db);
  await sql`alter table reward_order_items drop column coupon_template_id`.execute(db);
  await sql`alter table rewards drop constraint rewards_coupon_needs_template`.execute(db);
  await sql`alter table rewards drop constraint rewards_coupon_template`.execute(db);
  await sql`alter table rewards drop column coupon_template_id`.execute(db);
  await sql`drop index reward_orders_unheld`.execute(db);
}
