import { type Kysely, sql } from 'kysely';

// Frozen once landed: later changes are new migrations. Imports nothing from the app.
// The coalition's shared benefits pool (权益池). A brand contributes a benefit with stock; members
// claim single-use codes; the contributing brand's staff redeem them. Stock and per-member limits
// are counters changed only by conditional updates, and the checks below make overselling
// impossible even for a statement that forgets its condition.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table pool_benefits (
      id text primary key,
      -- the contributing brand: its keys manage the benefit and redeem its codes
      program_id text not null references programs (id),
      name text not null,
      kind text not null check (kind in ('lounge', 'fast_track', 'voucher', 'membership', 'other')),
      stock integer not null check (stock >= 0),
      claimed integer not null default 0 check (claimed >= 0),
      used integer not null default 0 check (used >= 0),
      valid_from timestamptz,
      valid_until timestamptz,
      -- what one use costs, in fen: the settlement line's amount (0: no line)
      cost_fen bigint not null check (cost_fen >= 0),
      per_member_limit integer not null check (per_member_limit >= 1),
      -- who may claim: { any } | { coalitionLevelAtLeast } | { programId, tierAtLeast }
      eligibility jsonb not null,
      charge_to text not null check (charge_to in ('contributor', 'home')),
      -- a code expires this many days after its claim (and never after valid_until)
      code_valid_days integer check (code_valid_days >= 1),
      status text not null check (status in ('active', 'paused', 'closed')),
      created_at timestamptz not null,
      updated_at timestamptz not null,
      check (claimed <= stock),
      check (used <= claimed),
      check (valid_until is null or valid_from is null or valid_until > valid_from)
    )`.execute(db);
  await sql`create index pool_benefits_program on pool_benefits (program_id, id)`.execute(db);

  // Claims per member and benefit, counted under the row's lock (insert … on conflict do update
  // … where claimed < limit): concurrent claims of one member never pass the limit.
  await sql`
    create table pool_member_claims (
      benefit_id text not null references pool_benefits (id),
      member_id text not null,
      claimed integer not null check (claimed >= 0),
      primary key (benefit_id, member_id)
    )`.execute(db);

  // One row per claim: its code, used once. A claim is a financial record (its use is settled),
  // so, like purchases, it keeps its member id through a merge or an erasure: no foreign key.
  await sql`
    create table pool_claims (
      id text primary key,
      benefit_id text not null references pool_benefits (id),
      member_id text not null,
      -- the caller's business key: a repeat of (benefit, member, reference) answers the same claim
      reference text,
      code text not null unique,
      status text not null check (status in ('claimed', 'used')),
      expires_at timestamptz,
      -- the program whose cross-brand offer paid for the claim (it paid the contributor then)
      sponsor_program_id text,
      claimed_at timestamptz not null,
      used_at timestamptz,
      used_by_key text,
      -- what the use was charged: the settlement line written with it (none when amount is null)
      charge_debtor text,
      charge_creditor text,
      charge_fen bigint check (charge_fen > 0),
      unique (benefit_id, member_id, reference),
      check ((status = 'used') = (used_at is not null)),
      check ((charge_fen is null) = (charge_debtor is null) and (charge_fen is null) = (charge_creditor is null)),
      check (charge_fen is null or status = 'used')
    )`.execute(db);
  await sql`create index pool_claims_member on pool_claims (member_id, claimed_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table pool_claims`.execute(db);
  await sql`drop table pool_member_claims`.execute(db);
  await sql`drop table pool_benefits`.execute(db);
}
