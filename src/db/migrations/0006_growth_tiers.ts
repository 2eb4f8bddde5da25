import { type Kysely, sql } from 'kysely';

// Frozen once landed: later changes are new migrations. Imports nothing from the app.
// Growth value and tiers. Growth value is a second ledger per program (`growth:<programId>`);
// the growth module keeps its policy and the events that explain each movement (source, day),
// and the tiers module keeps each member's tier, its history, benefit uses, alerts and an outbox
// of domain events numbered per program.

export async function up(db: Kysely<unknown>): Promise<void> {
  // Counters a credit may be limited by (a member's growth per source per day): locked in the
  // ledger's batch with the accounts, so concurrent credits never exceed a cap.
  await sql`
    create table ledger_limits (
      ledger text not null references ledgers (id),
      key text not null,
      used bigint not null default 0 check (used >= 0),
      -- after this the counter's period is over and the row may go (a day's cap, the next day)
      forget_after timestamptz,
      primary key (ledger, key)
    )`.execute(db);
  await sql`create index ledger_limits_forget on ledger_limits (forget_after) where forget_after is not null`.execute(
    db,
  );

  // Every program has a growth ledger, as it has a points ledger.
  await sql`
    insert into ledgers (id, program_id, expiry, timezone, status, created_at)
    select 'growth:' || id, id, '{"kind":"never"}'::jsonb, timezone, status, created_at from programs
    on conflict (id) do nothing`.execute(db);

  await sql`
    create table growth_policies (
      program_id text primary key references programs (id),
      policy jsonb not null,
      updated_at timestamptz not null
    )`.execute(db);

  // One row per growth movement: what the ledger's transfer does not say (source, local day,
  // what was asked for) and the tier it left the member in, so that a repeat answers the same.
  await sql`
    create table growth_events (
      id text primary key,
      program_id text not null references programs (id),
      member_id text not null references members (id),
      command_id text not null unique,
      source text not null,
      requested bigint not null,
      value bigint not null,
      reference text not null,
      day date not null,
      occurred_at timestamptz not null,
      tier text,
      tier_changed boolean not null default false
    )`.execute(db);
  await sql`create index growth_events_member on growth_events (program_id, member_id, occurred_at)`.execute(
    db,
  );
  // The evaluation finds members whose score window lost events since its last run.
  await sql`create index growth_events_day on growth_events (program_id, day)`.execute(db);
  // …and members whose rolling growth lost lots, swept since or not.
  await sql`create index ledger_lots_expires_idx on ledger_lots (expires_at) where expires_at is not null`.execute(
    db,
  );

  await sql`
    create table growth_trusted (
      program_id text not null references programs (id),
      member_id text not null references members (id),
      added_at timestamptz not null,
      primary key (program_id, member_id)
    )`.execute(db);

  await sql`
    create table alerts (
      id text primary key,
      program_id text not null references programs (id),
      member_id text references members (id),
      kind text not null,
      day date not null,
      data jsonb not null,
      created_at timestamptz not null,
      acknowledged_at timestamptz,
      acknowledged_by text,
      unique (program_id, member_id, kind, day)
    )`.execute(db);
  await sql`create index alerts_program on alerts (program_id, id)`.execute(db);

  await sql`
    create table tier_ladders (
      program_id text primary key references programs (id),
      ladder jsonb not null,
      version integer not null,
      updated_at timestamptz not null,
      -- the last evaluation: windows that moved since then are what the next one refreshes
      evaluated_at timestamptz
    )`.execute(db);

  // A member's tier in a program; no row means the entry tier since enrollment, basis 0.
  // basis: the growth value or score the tier was last evaluated on (kept with every change of
  // it, so that evaluation and the eligible lists need no other module's tables).
  await sql`
    create table member_tiers (
      program_id text not null references programs (id),
      member_id text not null references members (id),
      tier text not null,
      since timestamptz not null,
      valid_until timestamptz,
      overridden boolean not null default false,
      basis bigint not null default 0,
      credit integer check (credit between 0 and 1000),
      warned_for timestamptz,
      updated_at timestamptz not null,
      primary key (program_id, member_id)
    )`.execute(db);
  await sql`
    create index member_tiers_due on member_tiers (program_id, valid_until)
    where valid_until is not null`.execute(db);
  await sql`create index member_tiers_basis on member_tiers (program_id, basis)`.execute(db);

  // tier_history and events are append-only and written, set-based, from rows that are checked
  // (member_tiers): no foreign keys, which would cost a lookup per row in a million-row evaluation.
  await sql`
    create table tier_history (
      id text not null,
      program_id text not null,
      member_id text not null,
      from_tier text,
      to_tier text not null,
      why text not null check (why in
        ('upgrade', 'downgrade', 'renewal', 'invite', 'override', 'merge', 'match', 'ladder')),
      valid_until timestamptz,
      reason text,
      at timestamptz not null,
      -- read by member, newest first; one index, since an evaluation writes a row per member
      primary key (program_id, member_id, id)
    )`.execute(db);

  await sql`
    create table benefit_uses (
      id text primary key,
      program_id text not null references programs (id),
      member_id text not null references members (id),
      benefit text not null,
      period text not null,
      reference text not null,
      used_at timestamptz not null,
      unique (program_id, member_id, benefit, reference)
    )`.execute(db);
  await sql`create index benefit_uses_period on benefit_uses (program_id, member_id, benefit, period)`.execute(
    db,
  );

  // The outbox: domain events written in the transaction of the change they report, numbered per
  // program in commit order (the counter row is held until commit), so a reader that asks for
  // what came after the last number it saw never misses one.
  await sql`
    create table event_sequences (
      program_id text primary key references programs (id),
      last bigint not null
    )`.execute(db);
  await sql`
    create table events (
      id text not null, -- unique by construction (a fresh base per statement, numbered)
      program_id text not null,
      sequence bigint not null,
      type text not null,
      member_id text,
      occurred_at timestamptz not null,
      data jsonb not null,
      primary key (program_id, sequence)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'events',
    'event_sequences',
    'benefit_uses',
    'tier_history',
    'member_tiers',
    'tier_ladders',
    'alerts',
    'growth_trusted',
    'growth_events',
    'growth_policies',
    'ledger_limits',
  ]) {
    await sql`drop table ${sql.table(t)}`.execute(db);
  }
  await sql`delete from ledgers where id like 'growth:%'`.execute(db);
}
