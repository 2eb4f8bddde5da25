// Read-only analytics over other modules' tables. The rule is that no module reads another's
// tables; a dashboard is the exception that earns it: asking each module's service for a year of
// figures member by member or transfer by transfer would take seconds, where one set-based query
// each takes milliseconds. So this file reads enrollments and members (members), ledger_accounts
// (ledger) and member_tiers (tiers) — and never writes any of them. What it would read most, the
// points that moved and the points each rule earned, comes from the metrics module's own rollups
// (metrics_point_flows, metrics_rule_points, metrics_rule_days: see migration 0009), kept by
// triggers in the transactions that write transfers and purchases. Members are counted from
// indexes (migration 0009 adds the ones these queries need).
//
// Every query works on local days of the program's time zone, made in SQL from the period's
// dates, so that a day's bounds are the same instants in every query.

import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { DayFlows, Period } from './metrics.core.ts';

/** The period's local days, each with the instants it starts and ends. */
function daysCte(p: Period, timezone: string): RawBuilder<unknown> {
  return sql`
    days as (
      select d::date as day,
             d at time zone ${timezone} as starts,
             (d + interval '1 day') at time zone ${timezone} as ends
      from generate_series(${p.from}::timestamp, ${p.to}::timestamp, interval '1 day') d
    )`;
}

export interface FlowDay extends DayFlows {
  day: string;
  /** When the day starts (local midnight). */
  starts: Date;
  /** What members held at the end of the day. */
  outstanding: number;
}

export interface Flows {
  days: FlowDay[];
  /** What members hold now: posted balances, held points included. */
  total: number;
  /** Of it, reserved by pending holds. */
  held: number;
}

/**
 * Points moved to and from members per local day of the period, and what members held at the end
 * of each: what they hold now (the ledger's system accounts mirror it exactly, since every
 * transfer balances) less what moved after the day ended. One statement, so one snapshot.
 */
export async function pointFlows(
  db: Db,
  ledger: string,
  p: Period,
  timezone: string,
): Promise<Flows> {
  const { rows } = await sql<{
    day: string;
    starts: Date;
    issued: string;
    returned: string;
    redeemed: string;
    expired: string;
    adjusted: string;
    exchanged: string;
    outstanding: string;
    total: string;
    held: string;
  }>`
    with ${daysCte(p, timezone)},
    flows as (
      select (f.bucket at time zone ${timezone})::date as day,
             sum(f.issued) as issued, sum(f.returned) as returned, sum(f.redeemed) as redeemed,
             sum(f.expired) as expired, sum(f.adjusted_in - f.adjusted_out) as adjusted,
             sum(f.exchanged_in - f.exchanged_out) as exchanged
      from metrics_point_flows f
      where f.ledger = ${ledger}
        and f.bucket >= (select min(starts) from days) and f.bucket < (select max(ends) from days)
      group by 1
    ),
    later as (
      select coalesce(sum(f.issued - f.returned - f.redeemed - f.expired + f.adjusted_in - f.adjusted_out
                          + f.exchanged_in - f.exchanged_out), 0) as net
      from metrics_point_flows f
      where f.ledger = ${ledger} and f.bucket >= (select max(ends) from days)
    ),
    -- Each transfer debits one account and credits another of its ledger: what members hold is
    -- exactly what the system accounts gave out, four rows instead of a million.
    now_held as (
      select coalesce(sum(a.debits_posted - a.credits_posted), 0) as total,
             coalesce(sum(a.credits_pending - a.debits_pending), 0) as held
      from ledger_accounts a
      where a.ledger = ${ledger} and a.kind <> 'member'
    ),
    series as (
      select d.day, d.starts,
             coalesce(f.issued, 0) as issued, coalesce(f.returned, 0) as returned,
             coalesce(f.redeemed, 0) as redeemed, coalesce(f.expired, 0) as expired,
             coalesce(f.adjusted, 0) as adjusted, coalesce(f.exchanged, 0) as exchanged,
             coalesce(f.issued - f.returned - f.redeemed - f.expired + f.adjusted + f.exchanged, 0) as net
      from days d left join flows f on f.day = d.day
    )
    select s.day::text as day, s.starts, s.issued, s.returned, s.redeemed, s.expired, s.adjusted,
           s.exchanged,
           n.total - l.net
             - coalesce(sum(s.net) over (order by s.day rows between 1 following and unbounded following), 0)
             as outstanding,
           n.total, n.held
    from series s cross join later l cross join now_held n
    order by s.day`.execute(db);
  const first = rows[0];
  return {
    days: rows.map((r) => ({
      day: r.day,
      starts: r.starts,
      issued: Number(r.issued),
      returned: Number(r.returned),
      redeemed: Number(r.redeemed),
      expired: Number(r.expired),
      adjusted: Number(r.adjusted),
      exchanged: Number(r.exchanged),
      outstanding: Number(r.outstanding),
    })),
    total: Number(first?.total ?? 0),
    held: Number(first?.held ?? 0),
  };
}

export interface Enrollments {
  /** Members enrolled per local day of the period. */
  perDay: Map<string, number>;
  /** The program's members now: enrolled, neither erased nor merged away. */
  members: number;
}

/**
 * Members enrolled per local day — an index-only count of each day's enrollments, less those of
 * members merged away (a merge enrolls the survivor, dated the earlier of the two, so a person
 * counts once; erased members did enroll, and still count on their day) — and the program's
 * members now: the same index counted before and after the period, less everyone gone. One pass
 * over the index in all.
 */
export async function enrollments(
  db: Db,
  programId: string,
  p: Period,
  timezone: string,
): Promise<Enrollments> {
  const { rows } = await sql<{
    day: string;
    enrolled: string;
    merged: string;
    before: string;
    after: string;
    gone: string;
  }>`
    with ${daysCte(p, timezone)},
    gone as (
      select m.status, e.enrolled_at
      from members m
      join enrollments e on e.program_id = ${programId} and e.member_id = m.id
      where m.status <> 'active'
    ),
    merged as (
      select (g.enrolled_at at time zone ${timezone})::date as day, count(*) as n
      from gone g
      where g.status = 'merged'
      group by 1
    ),
    outside as (
      select (select count(*) from enrollments e
              where e.program_id = ${programId} and e.enrolled_at < (select min(starts) from days)) as before,
             (select count(*) from enrollments e
              where e.program_id = ${programId} and e.enrolled_at >= (select max(ends) from days)) as after,
             (select count(*) from gone) as gone
    )
    select d.day::text as day,
           (select count(*) from enrollments e
            where e.program_id = ${programId} and e.enrolled_at >= d.starts and e.enrolled_at < d.ends)
             as enrolled,
           coalesce(m.n, 0) as merged,
           o.before, o.after, o.gone
    from days d cross join outside o left join merged m on m.day = d.day
    order by d.day`.execute(db);
  const first = rows[0];
  const inPeriod = rows.reduce((n, r) => n + Number(r.enrolled), 0);
  return {
    perDay: new Map(rows.map((r) => [r.day, Number(r.enrolled) - Number(r.merged)])),
    members: first ? Number(first.before) + inPeriod + Number(first.after) - Number(first.gone) : 0,
  };
}

/**
 * Members of the program with a tier row, per tier other than `entry` (erased and merged-away
 * members left out): read from the index, the entry tier's range skipped — it holds everyone
 * else, and usually most members.
 */
export async function tierRows(
  db: Db,
  programId: string,
  entry: string,
): Promise<Map<string, number>> {
  const { rows } = await sql<{ tier: string; n: string }>`
    with held as (
      select t.tier, count(*) as n from member_tiers t
      where t.program_id = ${programId} and t.tier < ${entry} group by t.tier
      union all
      select t.tier, count(*) as n from member_tiers t
      where t.program_id = ${programId} and t.tier > ${entry} group by t.tier
    ),
    gone as (
      select t.tier, count(*) as n
      from members m
      join member_tiers t on t.program_id = ${programId} and t.member_id = m.id
      where m.status <> 'active' and t.tier <> ${entry}
      group by t.tier
    )
    select h.tier, h.n - coalesce(g.n, 0) as n
    from held h left join gone g on g.tier = h.tier`.execute(db);
  return new Map(rows.map((r) => [r.tier, Number(r.n)]));
}

export interface RulePoints {
  ruleId: string;
  /** As purchases recorded it (the greatest, if it changed in the period). */
  name: string;
  points: number;
  purchases: number;
}

/**
 * The rules that credited the most points on purchases recorded in the period: the period's whole
 * UTC days from the daily rollup, its two ends from quarter hours.
 */
export async function topRules(
  db: Db,
  programId: string,
  p: Period,
  timezone: string,
  limit: number,
): Promise<RulePoints[]> {
  const { rows } = await sql<{ rule_id: string; name: string; points: string; purchases: string }>`
    with ${daysCte(p, timezone)},
    span as (select min(starts) as lo, max(ends) as hi from days),
    -- The first UTC midnight at or after lo, and the last at or before hi.
    utc as (
      select s.lo, s.hi,
             date_trunc('day', s.lo + interval '1 day' - interval '1 microsecond', 'UTC') as first_midnight,
             date_trunc('day', s.hi, 'UTC') as last_midnight
      from span s
    ),
    lines as (
      select r.rule_id, r.name, r.points, r.purchases
      from metrics_rule_days r, utc u
      where r.program_id = ${programId}
        and r.day >= (u.first_midnight at time zone 'UTC')::date
        and r.day < (u.last_midnight at time zone 'UTC')::date
      union all
      select r.rule_id, r.name, r.points, r.purchases
      from metrics_rule_points r, utc u
      where r.program_id = ${programId}
        and r.bucket >= u.lo and r.bucket < least(u.hi, u.first_midnight)
      union all
      select r.rule_id, r.name, r.points, r.purchases
      from metrics_rule_points r, utc u
      where r.program_id = ${programId}
        and r.bucket >= greatest(u.last_midnight, u.first_midnight, u.lo) and r.bucket < u.hi
    )
    select rule_id, max(name) as name, sum(points) as points, sum(purchases) as purchases
    from lines
    group by rule_id
    order by sum(points) desc, rule_id
    limit ${limit}`.execute(db);
  return rows.map((r) => ({
    ruleId: r.rule_id,
    name: r.name,
    points: Number(r.points),
    purchases: Number(r.purchases),
  }));
}
