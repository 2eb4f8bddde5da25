import { type Kysely, sql } from 'kysely';

// Frozen once landed: later changes are new migrations. Imports nothing from the app.
// Metrics count conversions between programs: points converted into a program (from its exchange
// account) and out of it (to its exchange and fee accounts) change what its members hold, so the
// end-of-day liability must count them like any other flow. The two rollup functions of 0009 are
// replaced by the same ones with two more columns, and the rollups rebuilt.

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
    alter table metrics_point_flows
      -- exchange → member: points converted in from another program
      add column exchanged_in bigint not null default 0,
      -- member → exchange and fee: points converted out to another program, and the fee
      add column exchanged_out bigint not null default 0`.execute(db);

  await sql`
    create or replace function metrics_point_flows() returns trigger language plpgsql as $$
    begin
      -- The system accounts of the points ledgers the statement wrote to: a handful of rows.
      with sys_accounts as (
        select a.id, a.kind from ledger_accounts a
        where a.kind <> 'member'
          and a.ledger in (select distinct r.ledger from new_rows r where r.ledger like 'points:%')
      )
      insert into metrics_point_flows as f
        (ledger, bucket, issued, returned, redeemed, expired, adjusted_in, adjusted_out,
         exchanged_in, exchanged_out)
      select t.ledger, t.bucket,
             coalesce(sum(t.amount) filter (where t.debit_kind = 'issuance'), 0),
             coalesce(sum(t.amount) filter (where t.credit_kind = 'issuance'), 0),
             coalesce(sum(t.amount) filter (where t.credit_kind = 'redemption'), 0),
             coalesce(sum(t.amount) filter (where t.credit_kind = 'breakage'), 0),
             coalesce(sum(t.amount) filter (where t.debit_kind = 'adjustment'), 0),
             coalesce(sum(t.amount) filter (where t.credit_kind = 'adjustment'), 0),
             coalesce(sum(t.amount) filter (where t.debit_kind = 'exchange'), 0),
             coalesce(sum(t.amount) filter (where t.credit_kind in ('exchange', 'fee')), 0)
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
        adjusted_out = f.adjusted_out + excluded.adjusted_out,
        exchanged_in = f.exchanged_in + excluded.exchanged_in,
        exchanged_out = f.exchanged_out + excluded.exchanged_out;
      return null;
    end $$`.execute(db);
  await sql`
    create or replace function metrics_rebuild() returns void language plpgsql as $$
    begin
      lock table metrics_point_flows, metrics_rule_points, metrics_rule_days in share row exclusive mode;
      delete from metrics_point_flows;
      insert into metrics_point_flows
        (ledger, bucket, issued, returned, redeemed, expired, adjusted_in, adjusted_out,
         exchanged_in, exchanged_out)
      select t.ledger, ${bucketOf('t.created_at')},
             coalesce(sum(t.amount) filter (where d.kind = 'issuance'), 0),
             coalesce(sum(t.amount) filter (where c.kind = 'issuance'), 0),
             coalesce(sum(t.amount) filter (where c.kind = 'redemption'), 0),
             coalesce(sum(t.amount) filter (where c.kind = 'breakage'), 0),
             coalesce(sum(t.amount) filter (where d.kind = 'adjustment'), 0),
             coalesce(sum(t.amount) filter (where c.kind = 'adjustment'), 0),
             coalesce(sum(t.amount) filter (where d.kind = 'exchange'), 0),
             coalesce(sum(t.amount) filter (where c.kind in ('exchange', 'fee')), 0)
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
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // 0009's functions would then count nothing of these columns; put them back by hand if needed.
  await sql`alter table metrics_point_flows drop column exchanged_in, drop column exchanged_out`.execute(
    db,
  );
}
