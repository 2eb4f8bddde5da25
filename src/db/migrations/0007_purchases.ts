import { type Kysely, sql } from 'kysely';

// Frozen once landed: later changes are new migrations. Imports nothing from the app.
// Purchases and earning rules. A purchase is a financial record: it keeps its member id through
// a merge (moved to the survivor) and an erasure (the pseudonymous id), so its rows carry no
// foreign key to members; the member id always comes from the ledger batch that locked them.

export async function up(db: Kysely<unknown>): Promise<void> {
  // A program's earning settings: the return window, rounding, what a return does to spent points.
  await sql`
    create table earning_policies (
      program_id text primary key references programs (id),
      pending_days integer not null check (pending_days between 0 and 365),
      rounding text not null check (rounding in ('floor', 'round', 'ceil')),
      return_policy text not null check (return_policy in ('within_balance', 'only_pending')),
      updated_at timestamptz not null
    )`.execute(db);

  // The current version of each rule; every version is kept below, so a purchase can name the
  // versions it used.
  await sql`
    create table earning_rules (
      program_id text not null references programs (id),
      id text not null,
      version integer not null check (version >= 1),
      active boolean not null,
      body jsonb not null,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      primary key (program_id, id)
    )`.execute(db);
  await sql`
    create table earning_rule_versions (
      program_id text not null,
      rule_id text not null,
      version integer not null,
      active boolean not null,
      body jsonb not null,
      created_at timestamptz not null,
      primary key (program_id, rule_id, version),
      foreign key (program_id, rule_id) references earning_rules (program_id, id)
    )`.execute(db);

  await sql`
    create table purchases (
      program_id text not null,
      id text not null,
      member_id text not null,
      -- what a repeat of the purchase id must match
      fingerprint bytea not null,
      amount bigint not null check (amount >= 0),
      currency text not null,
      occurred_at timestamptz not null,
      store text,
      channel text,
      payment_method text,
      items jsonb,
      -- per item, its share of what the purchase earned (for pro-rata returns)
      weights jsonb not null,
      rules jsonb not null,
      points bigint not null check (points >= 0),
      growth bigint not null check (growth >= 0),
      -- the lot the points went to: a return takes back from it first
      lot_id text,
      pending_until timestamptz,
      -- the answer the purchase was given, for a repeat of it
      result jsonb not null,
      -- what has been returned: quantities per item and fen returned by amount
      returned jsonb not null,
      points_returned bigint not null default 0 check (points_returned between 0 and points),
      growth_returned bigint not null default 0 check (growth_returned between 0 and growth),
      -- bumped by each return, so concurrent returns of one purchase are taken one at a time
      return_seq integer not null default 0,
      created_at timestamptz not null,
      primary key (program_id, id)
    )`.execute(db);
  // Member first: a member's purchases in a program, and all of them for a merge.
  await sql`create index purchases_member on purchases (member_id, program_id, occurred_at desc, id)`.execute(
    db,
  );

  await sql`
    create table purchase_returns (
      program_id text not null,
      id text not null,
      purchase_id text not null,
      member_id text not null,
      fingerprint bytea not null,
      items jsonb,
      amount bigint not null check (amount >= 0),
      reason text not null,
      points bigint not null check (points >= 0),
      written_off bigint not null check (written_off >= 0),
      growth bigint not null check (growth >= 0),
      result jsonb not null,
      created_at timestamptz not null,
      primary key (program_id, id),
      foreign key (program_id, purchase_id) references purchases (program_id, id)
    )`.execute(db);
  await sql`create index purchase_returns_purchase on purchase_returns (program_id, purchase_id)`.execute(
    db,
  );
  await sql`create index purchase_returns_member on purchase_returns (member_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'purchase_returns',
    'purchases',
    'earning_rule_versions',
    'earning_rules',
    'earning_policies',
  ]) {
    await sql`drop table if exists ${sql.table(table)}`.execute(db);
  }
}
