import { type Kysely, sql } from 'kysely';

// Frozen once landed: later changes are new migrations. Imports nothing from the app.
// The coalition's member levels and status match (等级匹配).
//
// Levels are defined once for the coalition (one coalition per deployment, so no coalition id);
// a member's level is set by the coalition's integration (a payment platform's own level) or
// derived from their tiers in the coalition's programs by the coalition's rules. A program's
// status match table says which tier a member new to it starts at, by their coalition level or
// their tier at another program; `tier_matches` records the match a member had, so that matching
// twice applies once.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table coalition_levels (
      code text primary key,
      name text not null,
      rank integer not null,
      updated_at timestamptz not null,
      -- deferred: a new list may swap two levels' ranks in one statement after another
      constraint coalition_levels_rank_key unique (rank) deferrable initially deferred
    )`.execute(db);

  // Derivation: a member holding at least `tier_at_least` in `program_id` has `level`.
  await sql`
    create table coalition_level_rules (
      position integer primary key,
      level text not null references coalition_levels (code),
      program_id text not null references programs (id),
      tier_at_least text not null,
      updated_at timestamptz not null
    )`.execute(db);

  // The level the coalition's integration set for a member; past valid_until it no longer counts.
  await sql`
    create table member_coalition_levels (
      member_id text primary key references members (id),
      level text not null references coalition_levels (code),
      source text not null,
      valid_until timestamptz,
      set_at timestamptz not null,
      updated_at timestamptz not null
    )`.execute(db);
  await sql`create index member_coalition_levels_level on member_coalition_levels (level)`.execute(
    db,
  );

  // A program's status match table. created_at is when the program first offered status match:
  // members enrolled before it were members already, and are never matched.
  await sql`
    create table tier_match_tables (
      program_id text primary key references programs (id),
      max_match_tier text not null,
      window_days integer not null check (window_days between 1 and 3650),
      rules jsonb not null,
      created_at timestamptz not null,
      updated_at timestamptz not null
    )`.execute(db);

  // The match a member had in a program: at most one.
  await sql`
    create table tier_matches (
      program_id text not null references programs (id),
      member_id text not null references members (id),
      tier text not null,
      rule jsonb not null,
      matched_at timestamptz not null,
      primary key (program_id, member_id)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'tier_matches',
    'tier_match_tables',
    'member_coalition_levels',
    'coalition_level_rules',
    'coalition_levels',
  ]) {
    await sql`drop table ${sql.table(t)}`.execute(db);
  }
}
