import { type Kysely, sql } from 'kysely';

// Frozen once landed: later changes are new migrations. Imports nothing from the app.
// Cross-brand offers: a purchase at brand A that matches an offer gives a reward at brand B
// (points, a tier for a while, or a pool benefit). A worker reads A's purchase events after a
// stored cursor; each (offer, purchase) has one grant row, so a reward is given at most once
// however often the worker runs, and a grant left half-way by a crash is finished by the next run.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table offers (
      id text primary key,
      -- brand A: where the purchase happens, and who pays for the reward
      program_id text not null references programs (id),
      name text not null,
      min_spend_fen bigint not null check (min_spend_fen >= 0),
      -- { programId, kind: 'points', points } | { programId, kind: 'tier', tier, days } | { kind: 'pool', benefitId }
      reward jsonb not null,
      -- brand B: where the reward is given (for a pool benefit, its contributor)
      reward_program_id text not null references programs (id),
      stock integer not null check (stock >= 0),
      granted integer not null default 0 check (granted >= 0),
      per_member_limit integer not null check (per_member_limit >= 1),
      starts_at timestamptz not null,
      ends_at timestamptz not null,
      -- for a tier reward: what B charges A per grant, in fen
      cost_fen bigint check (cost_fen >= 0),
      status text not null check (status in ('active', 'paused')),
      created_at timestamptz not null,
      updated_at timestamptz not null,
      check (granted <= stock),
      check (ends_at > starts_at)
    )`.execute(db);
  await sql`create index offers_program on offers (program_id, id)`.execute(db);

  await sql`
    create table offer_member_grants (
      offer_id text not null references offers (id),
      member_id text not null,
      granted integer not null check (granted >= 0),
      primary key (offer_id, member_id)
    )`.execute(db);

  // One row per (offer, purchase) the worker decided to reward: 'reserved' (stock and the
  // member's count taken, the reward not yet given), 'granted', or 'skipped' with the reason.
  // A financial record: keeps its member id through a merge or an erasure, no foreign key.
  await sql`
    create table offer_grants (
      offer_id text not null references offers (id),
      purchase_id text not null,
      id text not null unique,
      member_id text not null,
      status text not null check (status in ('reserved', 'granted', 'skipped')),
      reason text,
      -- what was given: points, the tier and its end, the pool claim
      detail jsonb not null default '{}'::jsonb,
      -- the settlement line written with the grant (none when amount is null)
      debtor text,
      creditor text,
      points bigint,
      amount_fen bigint check (amount_fen > 0),
      created_at timestamptz not null,
      updated_at timestamptz not null,
      primary key (offer_id, purchase_id),
      check ((status = 'skipped') = (reason is not null)),
      check ((amount_fen is null) = (debtor is null) and (amount_fen is null) = (creditor is null)),
      check (amount_fen is null or status = 'granted')
    )`.execute(db);
  await sql`create index offer_grants_reserved on offer_grants (created_at) where status = 'reserved'`.execute(
    db,
  );

  // Per purchasing program: the last event sequence the worker has finished with.
  await sql`
    create table offer_cursors (
      program_id text primary key references programs (id),
      last_sequence bigint not null check (last_sequence >= 0),
      updated_at timestamptz not null
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table offer_cursors`.execute(db);
  await sql`drop table offer_grants`.execute(db);
  await sql`drop table offer_member_grants`.execute(db);
  await sql`drop table offers`.execute(db);
}
