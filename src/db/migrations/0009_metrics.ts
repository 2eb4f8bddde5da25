import { type Kysely, sql } from 'kysely';

// Frozen once landed: later changes are new migrations. Imports nothing from the app.
// Program metrics for the console's dashboard. A year of a large program is ten million points
// transfers and millions of purchases: summed from those tables on every request, a year's series
// takes seconds. So the metrics module keeps rollups of its own, per quarter hour in UTC (every
// time zone's offset is a whole number of quarter hours, so any program's local days are made of
// whole buckets, whatever its zone is now or was then):
//
// - metrics_point_flows: per points ledger, the points that posted transfers moved between
//   members and the system accounts, by kind of flow;
// - metrics_rule_points: per program, the points each earning rule credited on purchases, and
//   metrics_rule_days the same per UTC day (a period's whole days are read there, its two ends
//   from quarter hours).
//
// They are written by statement-level triggers in the transaction that writes the transfers or
// the purchases (one upsert of a few rows per ledger batch, aggregated from its transition
// table), so they are exactly as current as what they sum and can never disagree with it. Rows
// are locked in key order, after the batch's system accounts, which every batch already
// serialises on: the rollups add no lock queue of their own. Members (enrollments, tiers) are
// counted from indexes instead: those rows are written outside the ledger's batches, where a
// counter row would be a queue.

/** The quarter hour (UTC) an instant falls in. */
const bucketOf = (column: string) =>
  sql.raw(`date_bin('15 minutes', ${column}, timestamptz '2000-01-01 00:00:00+00')`);
/** The UTC day an instant falls in. */
const dayOf = (column: string) => sql.raw(`(${column} at time zone 'UTC')::date`);
/** A purchase's lines: what each rule was credited (an empty list for an answer without them). */
const breakdownOf = (row: string) =>
  sql.raw(`case when jsonb_typeof(${row}.result -> 'points' -> 'breakdown') = 'array'
             then ${row}.result -> 'points' -> 'breakdown' else '[]'::jsonb end`);

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table metrics_point_flows (
      ledger text not null,
      bucket timestamptz not null,
      -- issuance → member: points earned (purchases, credits)
      issued bigint not null default 0,
      -- member → issuance: earned points taken back (a purchase returned)
      returned bigint not null default 0,
      -- member → redemption: points spent (redemptions, captured holds)
      redeemed bigint not null default 0,
      -- member → breakage: expired lots swept
      expired bigint not null default 0,
      -- adjustment → member and member → adjustment: operators' corrections
      adjusted_in bigint not null default 0,
      adjusted_out bigint not null default 0,
      primary key (ledger, bucket)
    )`.execute(db);

  await sql`
    create table metrics_rule_points (
      program_id text not null,
      bucket timestamptz not null,
      -- an earning rule's id, or tier:<code> for a tier's multiplier (as the purchase's breakdown says)
      rule_id text not null,
      -- the line's name as purchases recorded it
      name text not null,
      points bigint not null,
      purchases bigint not null,
      primary key (program_id, bucket, rule_id)
    )`.execute(db);
  // The same per UTC day. A year of a program with a few dozen rules is a million quarter-hour
  // rows; the days inside a period are read here, only its two ragged ends from quarter hours.
  await sql`
    create table metrics_rule_days (
      program_id text not null,
      day date not null,
      rule_id text not null,
      name text not null,
      points bigint not null,
      purchases bigint not null,
      primary key (program_id, day, rule_id)
    )`.execute(db);

  // Posted transfers only (single, post): a hold reserves nothing the member has lost yet, and
  // a void gives back what was never taken. A side is a member when it is not one of the
  // ledger's four system accounts; transfers between two members (a merge) or two system
  // accounts (a write-off) do not change what members hold and are not counted.
  await sql`
    create function metrics_point_flows() returns trigger language plpgsql as $$
    begin
      -- The system accounts of the points ledgers the statement wrote to: a handful of rows.
      with sys_accounts as (
        select a.id, a.kind from ledger_accounts a
        where a.kind <> 'member'
          and a.ledger in (select distinct r.ledger from new_rows r where r.ledger like 'points:%')
      )
      insert into metrics_point_flows as f
        (ledger, bucket, issued, returned, redeemed, expired, adjusted_in, adjusted_out)
      select t.ledger, t.bucket,
             coalesce(sum(t.amount) filter (where t.debit_kind = 'issuance'), 0),
             coalesce(sum(t.amount) filter (where t.credit_kind = 'issuance'), 0),
             coalesce(sum(t.amount) filter (where t.credit_kind = 'redemption'), 0),
             coalesce(sum(t.amount) filter (where t.credit_kind = 'breakage'), 0),
             coalesce(sum(t.amount) filter (where t.debit_kind = 'adjustment'), 0),
             coalesce(sum(t.amount) filter (where t.credit_kind = 'adjustment'), 0)
      from (
        select n.ledger, ${bucketOf('n.created_at')} as bucket, n.amount,
               d.kind as debit_kind, c.kind as credit_kind
        from new_rows n
        left join sys_accounts d on d.id = n.debit_account_id
        left join sys_accounts c on c.id = n.credit_account_id
        where n.kind in ('single', 'post') and n.ledger like 'points:%'
      ) t
      where (t.debit_kind is null) <> (t.credit_kind is null)
      group by t.ledger, t.bucket
      order by t.ledger, t.bucket
      on conflict (ledger, bucket) do update set
        issued = f.issued + excluded.issued,
        returned = f.returned + excluded.returned,
        redeemed = f.redeemed + excluded.redeemed,
        expired = f.expired + excluded.expired,
        adjusted_in = f.adjusted_in + excluded.adjusted_in,
        adjusted_out = f.adjusted_out + excluded.adjusted_out;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger metrics_point_flows after insert on ledger_transfers
    referencing new table as new_rows for each statement execute function metrics_point_flows()`.execute(
    db,
  );

  // A purchase's answer keeps what each line of its earning was credited (lines that got nothing
  // are left out): points by rule as issued, at the time the purchase was recorded. Returns
  // later take points back from the purchase as a whole, not by rule; they are not subtracted.
  await sql`
    create function metrics_rule_points() returns trigger language plpgsql as $$
    begin
      with lines as (
        select p.program_id, p.created_at, l."ruleId" as rule_id, l.name, l.points
        from new_rows p
        cross join lateral jsonb_to_recordset(${breakdownOf('p')}) as l("ruleId" text, name text, points bigint)
        where l.points > 0 and l."ruleId" is not null
      ),
      quarters as (
        insert into metrics_rule_points as r (program_id, bucket, rule_id, name, points, purchases)
        select program_id, ${bucketOf('created_at')}, rule_id, max(name), sum(points), count(*)
        from lines group by 1, 2, 3 order by 1, 2, 3
        on conflict (program_id, bucket, rule_id) do update set
          name = excluded.name, points = r.points + excluded.points,
          purchases = r.purchases + excluded.purchases
      )
      insert into metrics_rule_days as r (program_id, day, rule_id, name, points, purchases)
      select program_id, ${dayOf('created_at')}, rule_id, max(name), sum(points), count(*)
      from lines group by 1, 2, 3 order by 1, 2, 3
      on conflict (program_id, day, rule_id) do update set
        name = excluded.name, points = r.points + excluded.points,
        purchases = r.purchases + excluded.purchases;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger metrics_rule_points after insert on purchases
    referencing new table as new_rows for each statement execute function metrics_rule_points()`.execute(
    db,
  );

  // Both rollups summed afresh from what they sum, by the same rules, set-based: for what was
  // there before the triggers, and for data loaded with triggers off (a bulk load, a data-only
  // restore with --disable-triggers). Writers wait while it runs, so none is counted twice or lost.
  await sql`
    create function metrics_rebuild() returns void language plpgsql as $$
    begin
      lock table metrics_point_flows, metrics_rule_points, metrics_rule_days in share row exclusive mode;
      delete from metrics_point_flows;
      insert into metrics_point_flows
        (ledger, bucket, issued, returned, redeemed, expired, adjusted_in, adjusted_out)
      select t.ledger, ${bucketOf('t.created_at')},
             coalesce(sum(t.amount) filter (where d.kind = 'issuance'), 0),
             coalesce(sum(t.amount) filter (where c.kind = 'issuance'), 0),
             coalesce(sum(t.amount) filter (where c.kind = 'redemption'), 0),
             coalesce(sum(t.amount) filter (where c.kind = 'breakage'), 0),
             coalesce(sum(t.amount) filter (where d.kind = 'adjustment'), 0),
             coalesce(sum(t.amount) filter (where c.kind = 'adjustment'), 0)
      from ledger_transfers t
      left join ledger_accounts d
        on d.id = t.debit_account_id and d.ledger = t.ledger and d.kind <> 'member'
      left join ledger_accounts c
        on c.id = t.credit_account_id and c.ledger = t.ledger and c.kind <> 'member'
      where t.kind in ('single', 'post') and t.ledger like 'points:%'
        and (d.kind is null) <> (c.kind is null)
      group by 1, 2;
      delete from metrics_rule_points;
      delete from metrics_rule_days;
      with lines as (
        select p.program_id, p.created_at, l."ruleId" as rule_id, l.name, l.points
        from purchases p
        cross join lateral jsonb_to_recordset(${breakdownOf('p')}) as l("ruleId" text, name text, points bigint)
        where l.points > 0 and l."ruleId" is not null
      ),
      quarters as (
        insert into metrics_rule_points (program_id, bucket, rule_id, name, points, purchases)
        select program_id, ${bucketOf('created_at')}, rule_id, max(name), sum(points), count(*)
        from lines group by 1, 2, 3
      )
      insert into metrics_rule_days (program_id, day, rule_id, name, points, purchases)
      select program_id, ${dayOf('created_at')}, rule_id, max(name), sum(points), count(*)
      from lines group by 1, 2, 3;
    end $$`.execute(db);
  await sql`select metrics_rebuild()`.execute(db);

  // Members enrolled per local day: an index-only count per day over the period.
  await sql`create index enrollments_program_enrolled_idx on enrollments (program_id, enrolled_at)`.execute(
    db,
  );
  // Members per tier: counted from the index alone, the tiers above the entry tier only (the
  // entry tier holds everyone else).
  await sql`create index member_tiers_tier_idx on member_tiers (program_id, tier)`.execute(db);
  // Members merged away or erased are few: found without reading every member.
  await sql`create index members_gone_idx on members (status, id) where status <> 'active'`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index members_gone_idx`.execute(db);
  await sql`drop index member_tiers_tier_idx`.execute(db);
  await sql`drop index enrollments_program_enrolled_idx`.execute(db);
  await sql`drop trigger metrics_rule_points on purchases`.execute(db);
  await sql`drop trigger metrics_point_flows on ledger_transfers`.execute(db);
  await sql`drop function metrics_rebuild`.execute(db);
  await sql`drop function metrics_rule_points`.execute(db);
  await sql`drop function metrics_point_flows`.execute(db);
  await sql`drop table metrics_rule_days`.execute(db);
  await sql`drop table metrics_rule_points`.execute(db);
  await sql`drop table metrics_point_flows`.execute(db);
}
