import { type Kysely, sql } from 'kysely';

// Frozen once landed: later changes are new migrations. Imports nothing from the app.
// The coalition's exchange and its settlement between brands.
//
// A conversion moves a member's points of program A into points of program B at the coalition's
// unified standard (a hub unit): one linked ledger command debits the member at A into A's
// `exchange` account (and the fee into A's `fee` account, the coalition's income) and credits
// them at B out of B's `exchange` account. Every ledger still balances on its own; what A's
// exchange account took in and B's gave out is what the brands settle, in fen, through
// settlement lines written in the same transaction.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table ledger_accounts drop constraint ledger_accounts_kind_check`.execute(db);
  await sql`
    alter table ledger_accounts add constraint ledger_accounts_kind_check
      check (kind in ('member', 'issuance', 'redemption', 'breakage', 'adjustment', 'exchange', 'fee'))`.execute(
    db,
  );

  // A program in the exchange: its rate to the hub unit and what one of its points is worth.
  await sql`
    create table exchange_programs (
      program_id text primary key references programs (id),
      -- how many of the program's points make one hub unit
      points_per_hub_unit bigint not null check (points_per_hub_unit between 1 and 1000000000),
      -- one point's worth in ten-thousandths of a fen (a point can be worth less than a fen)
      point_value_e4 bigint not null check (point_value_e4 between 1 and 100000000000),
      updated_at timestamptz not null
    )`.execute(db);

  // A direction the coalition admin approved, with its fee and limits (all in points of "from").
  await sql`
    create table exchange_pairs (
      from_program_id text not null references exchange_programs (program_id),
      to_program_id text not null references exchange_programs (program_id),
      -- the fee's percentage in hundredths of a percent (250 = 2.5%)
      fee_bp integer not null check (fee_bp between 0 and 10000),
      fee_minimum bigint not null check (fee_minimum >= 0),
      min_points bigint not null check (min_points >= 1),
      max_points bigint not null check (max_points >= min_points),
      daily_limit bigint not null check (daily_limit >= 1),
      updated_at timestamptz not null,
      primary key (from_program_id, to_program_id),
      check (from_program_id <> to_program_id)
    )`.execute(db);

  // One row per applied conversion, written with its ledger command: the rates it used are
  // copied, so that its settlement can be checked against it whatever the rates are now.
  await sql`
    create table conversions (
      id text primary key,
      command_id text not null unique,
      member_id text not null,
      from_program_id text not null,
      to_program_id text not null,
      reference text not null,
      converted bigint not null check (converted > 0),
      fee bigint not null check (fee >= 0),
      credited bigint not null check (credited > 0),
      from_points_per_hub_unit bigint not null,
      to_points_per_hub_unit bigint not null,
      from_point_value_e4 bigint not null,
      to_point_value_e4 bigint not null,
      created_at timestamptz not null
    )`.execute(db);
  await sql`create index conversions_member_idx on conversions (member_id, created_at desc, id desc)`.execute(
    db,
  );

  // What one party owes another, in fen: a program id or 'coalition' on each side. One line per
  // business row (a conversion, its fee, a pool benefit used, an offer's reward), written in the
  // transaction of that row.
  await sql`
    create table settlement_lines (
      id text primary key,
      kind text not null check (kind in ('conversion', 'fee', 'pool', 'offer')),
      source_id text not null,
      -- the month, in the coalition's time zone, of when the line's business happened
      period text not null check (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
      debtor text not null,
      creditor text not null,
      points bigint check (points > 0),
      amount_fen bigint not null check (amount_fen > 0),
      member_id text,
      detail jsonb not null default '{}',
      created_at timestamptz not null,
      unique (kind, source_id),
      check (debtor <> creditor)
    )`.execute(db);
  await sql`create index settlement_lines_period_idx on settlement_lines (period, debtor, creditor)`.execute(
    db,
  );

  // A closed period's statement, frozen: no line is written into it after, and its totals are kept
  // as they were at closing.
  await sql`
    create table settlement_periods (
      period text primary key,
      status text not null check (status in ('closed', 'settled')),
      statement jsonb not null,
      closed_at timestamptz not null,
      settled_at timestamptz,
      check ((status = 'settled') = (settled_at is not null))
    )`.execute(db);
  // Whoever writes lines, none lands in a closed period: checked once per statement. (A closing
  // locks the table against writers first, so a line cannot slip in while it sums.)
  await sql`
    create function settlement_lines_open_period() returns trigger language plpgsql as $$
    begin
      if exists (select 1 from new_rows n join settlement_periods p on p.period = n.period) then
        raise exception 'settlement lines written into a closed period' using errcode = 'P0001';
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger settlement_lines_open_period after insert on settlement_lines
    referencing new table as new_rows for each statement execute function settlement_lines_open_period()`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function if exists settlement_lines_open_period cascade`.execute(db);
  await sql`drop table if exists settlement_periods, settlement_lines, conversions, exchange_pairs, exchange_programs`.execute(
    db,
  );
  await sql`delete from ledger_accounts where kind in ('exchange', 'fee')`.execute(db);
  await sql`alter table ledger_accounts drop constraint ledger_accounts_kind_check`.execute(db);
  await sql`
    alter table ledger_accounts add constraint ledger_accounts_kind_check
      check (kind in ('member', 'issuance', 'redemption', 'breakage', 'adjustment'))`.execute(db);
}
