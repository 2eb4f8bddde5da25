import { type Kysely, sql } from 'kysely';

// Frozen once landed: later changes are new migrations. Imports nothing from the app.
// Coupons (优惠券): a program's coupon templates, the coupons issued from them (each with a
// unique single-use code), and the worker's cursor over the outbox. Stock and per-member limits
// are counters changed only by conditional updates; the checks below refuse an oversold template
// even to a statement that forgets its condition.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table coupon_templates (
      id text primary key,
      program_id text not null references programs (id),
      name text not null,
      kind text not null check (kind in ('amount_off', 'percent_off', 'gift', 'free_shipping')),
      -- amount_off: the fen taken off; percent_off: the percent and its cap in fen
      amount_off_fen bigint check (amount_off_fen > 0),
      percent_off integer check (percent_off between 1 and 100),
      cap_fen bigint check (cap_fen > 0),
      gift text,
      valid_from timestamptz,
      valid_until timestamptz,
      -- a coupon expires this many days after its issue (and never after valid_until)
      valid_days integer check (valid_days >= 1),
      -- null: unlimited
      stock integer check (stock >= 0),
      issued integer not null default 0 check (issued >= 0),
      per_member_limit integer check (per_member_limit >= 1),
      -- { minSpendFen?, stores?, categories?, tiers? }
      conditions jsonb not null,
      -- issued by the worker on an outbox event: 'enrollment' | 'tier_upgrade' (to issue_on_tier)
      issue_on text check (issue_on in ('enrollment', 'tier_upgrade')),
      issue_on_tier text,
      status text not null check (status in ('active', 'paused', 'closed')),
      created_at timestamptz not null,
      updated_at timestamptz not null,
      check (stock is null or issued <= stock),
      check ((kind = 'amount_off') = (amount_off_fen is not null)),
      check ((kind = 'percent_off') = (percent_off is not null)),
      check (valid_until is null or valid_from is null or valid_until > valid_from)
    )`.execute(db);
  await sql`create index coupon_templates_program on coupon_templates (program_id, id)`.execute(db);
  await sql`create index coupon_templates_issue_on on coupon_templates (program_id, issue_on)
    where issue_on is not null`.execute(db);

  // Coupons per member and template, counted under the row's lock: never past the limit.
  await sql`
    create table coupon_member_counts (
      template_id text not null references coupon_templates (id),
      member_id text not null,
      issued integer not null check (issued >= 0),
      primary key (template_id, member_id)
    )`.execute(db);

  // One row per coupon. Like purchases, a coupon keeps its member id as a record: no foreign key.
  await sql`
    create table coupons (
      id text primary key,
      template_id text not null references coupon_templates (id),
      program_id text not null references programs (id),
      member_id text not null,
      -- the issuer's business key: a repeat of (template, member, reference) is the same coupon
      reference text not null,
      -- the single-use code, unique across every program: what the till scans and a QR encodes
      code text not null unique,
      status text not null check (status in ('issued', 'redeemed')),
      valid_from timestamptz,
      expires_at timestamptz,
      issued_at timestamptz not null,
      redeemed_at timestamptz,
      -- the purchase it was redeemed on and the discount it gave (cleared when rolled back)
      purchase_id text,
      discount_fen bigint check (discount_fen >= 0),
      unique (template_id, member_id, reference),
      check ((status = 'redeemed') = (redeemed_at is not null)),
      check ((status = 'redeemed') = (purchase_id is not null))
    )`.execute(db);
  await sql`create index coupons_member on coupons (program_id, member_id, id)`.execute(db);
  await sql`create index coupons_purchase on coupons (program_id, purchase_id)
    where purchase_id is not null`.execute(db);
  await sql`create index coupons_template_status on coupons (template_id, status)`.execute(db);

  // How far the issuing worker has read the outbox, per program: made when a program's first
  // template with `issue_on` is created, at the outbox's end then (no issuing for the past).
  await sql`
    create table coupon_cursors (
      program_id text primary key references programs (id),
      last_sequence bigint not null,
      updated_at timestamptz not null
    )`.execute(db);

  // Referral (老带新): which templates a program gives the new member and the referrer.
  await sql`
    create table coupon_referral_settings (
      program_id text primary key references programs (id),
      referee_template_id text not null references coupon_templates (id),
      referrer_template_id text not null references coupon_templates (id),
      updated_at timestamptz not null
    )`.execute(db);
  // A member's share code in a program: made on first asking, kept.
  await sql`
    create table coupon_share_codes (
      program_id text not null references programs (id),
      member_id text not null,
      code text not null unique,
      created_at timestamptz not null,
      primary key (program_id, member_id)
    )`.execute(db);
  // Who referred whom: one referrer per new member and program; rewarded once, on the new
  // member's first purchase (by the worker, from the outbox).
  await sql`
    create table coupon_referrals (
      program_id text not null references programs (id),
      referee_id text not null,
      referrer_id text not null,
      status text not null check (status in ('pending', 'rewarded', 'refused')),
      created_at timestamptz not null,
      settled_at timestamptz,
      primary key (program_id, referee_id),
      check (referee_id <> referrer_id),
      check ((status = 'pending') = (settled_at is null))
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table coupon_referrals`.execute(db);
  await sql`drop table coupon_share_codes`.execute(db);
  await sql`drop table coupon_referral_settings`.execute(db);
  await sql`drop table coupon_cursors`.execute(db);
  await sql`drop table coupons`.execute(db);
  await sql`drop table coupon_member_counts`.execute(db);
  await sql`drop table coupon_templates`.execute(db);
}
