import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { z } from 'zod';
import { buildApp } from '../src/app.ts';
import type { Trx } from '../src/db/database.ts';
import type { Database } from '../src/db/schema.ts';
import type { Principal } from '../src/keys/keys.core.ts';
import { createKey } from '../src/keys/keys.service.ts';
import { localDateString } from '../src/ledger/expiry.core.ts';
import { pointsLedger } from '../src/ledger/ledger.core.ts';
import { TOP_RULES } from '../src/metrics/metrics.core.ts';
import * as repo from '../src/metrics/metrics.repository.ts';
import type { metricsSchema } from '../src/metrics/metrics.schemas.ts';
import type { Ladder } from '../src/tiers/tiers.core.ts';
import { setLadder } from '../src/tiers/tiers.service.ts';
import { benchRuntime } from './harness.ts';

// The dashboard at scale: a program with a year of history — BENCH_METRICS_MEMBERS members
// enrolled over the year (1,000,000 by default, one in a thousand erased and one merged away),
// BENCH_METRICS_TRANSFERS points transfers (10,000,000: earnings, redemptions, a hold and its
// capture, expiry, returns and adjustments, in groups of ten per member that keep every balance
// above zero, with the accounts' totals to match), BENCH_METRICS_PURCHASES purchases (a tenth of
// the transfers) each crediting two of 15 earning rules, and a tier row for every member — all
// written set-based, straight into the tables, as a bulk load would (triggers off, which takes a
// superuser: the embedded server's user is one), then the rollups summed by metrics_rebuild().
// Then GET …/metrics for the last 30 and the last 365 local days, the p50 of several calls
// in-process, beside the floor: the same question answered by plain scans of the tables it is
// about (transfers, enrollments, tier rows, purchases; indexes turned off) — what the answer
// costs without the rollups and indexes of migration 0009. The target is ≤ 500 ms. Checked: the
// endpoint's days, liability, tiers and top rules equal the floor's.

const MEMBERS = Number(process.env.BENCH_METRICS_MEMBERS ?? 1_000_000);
const TRANSFERS = Number(process.env.BENCH_METRICS_TRANSFERS ?? 10_000_000);
const PURCHASES = Number(process.env.BENCH_METRICS_PURCHASES ?? Math.floor(TRANSFERS / 10));
const CALLS = Number(process.env.BENCH_METRICS_CALLS ?? 9);
const FLOOR_CALLS = Number(process.env.BENCH_METRICS_FLOOR_CALLS ?? 3);
/** BENCH_METRICS_EXPLAIN=1 prints the plan of each of the endpoint's queries (a year's). */
const EXPLAIN = process.env.BENCH_METRICS_EXPLAIN === '1';
const TARGET_MS = 500;
/** Transfers are written in statements of this many groups of ten. */
const CHUNK = 100_000;
const RULES = 15;

const YEAR = 365 * 86_400_000;
const ADMIN: Principal = { keyId: 'key_bench', programId: null, role: 'admin' };
const LADDER: Ladder = {
  basis: 'growth',
  evaluation: 'immediate',
  validityMonths: 12,
  downgrade: 'to_qualified',
  warningDays: 30,
  tiers: [
    { code: 'member', name: 'Member', threshold: 0, inviteOnly: false, benefits: [] },
    { code: 'silver', name: 'Silver', threshold: 1_000, inviteOnly: false, benefits: [] },
    { code: 'gold', name: 'Gold', threshold: 5_000, inviteOnly: false, benefits: [] },
    { code: 'platinum', name: 'Platinum', threshold: 20_000, inviteOnly: false, benefits: [] },
  ],
};

type Metrics = z.infer<typeof metricsSchema>;

const count = (n: number) => n.toLocaleString('en');
const secs = (ms: number) => (ms / 1000).toFixed(1);
const ms = (n: number) => `${n.toFixed(1).padStart(8)} ms`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

export async function run(): Promise<void> {
  const { url, deps, close } = await benchRuntime(12);
  const { db } = deps;
  const ledger = pointsLedger('bench');
  const app = await buildApp(deps);
  const failures: string[] = [];
  try {
    await setLadder(deps, 'bench', LADDER, ADMIN);
    const now = Date.now();
    const start = new Date(now - YEAR);
    const groups = Math.floor(TRANSFERS / 10);

    // --- a year of history, set-based ---

    // Loaded as a bulk load (or a data-only restore) would: with triggers off — the foreign keys'
    // and the ledger's reference checks, since the rows are right by construction, and the
    // rollups', which metrics_rebuild() then sums from the tables in one pass.
    const bulk = async (f: (trx: Trx) => Promise<void>) =>
      db.transaction().execute(async (trx) => {
        await sql`set local session_replication_role = replica`.execute(trx);
        await f(trx);
      });
    let began = performance.now();
    await bulk(async (trx) => {
      // One member in a thousand erased, one merged into the member before it.
      await sql`
        insert into members (id, status, created_at, updated_at, merged_into)
        select 'mem_' || lpad(i::text, 9, '0'),
               case i % 1000 when 0 then 'erased' when 500 then 'merged' else 'active' end,
               ${start}::timestamptz, ${start}::timestamptz,
               case when i % 1000 = 500 then 'mem_' || lpad((i - 1)::text, 9, '0') end
        from generate_series(1, ${MEMBERS}::int) i`.execute(trx);
      await sql`
        insert into enrollments (program_id, member_id, enrolled_at, channel, status)
        select 'bench', 'mem_' || lpad(i::text, 9, '0'),
               ${start}::timestamptz + (i - 1) * ${YEAR / MEMBERS}::float8 * interval '1 millisecond',
               'import', 'active'
        from generate_series(1, ${MEMBERS}::int) i`.execute(trx);
      // 60% on the entry tier, then 25% silver, 10% gold, 5% platinum: a row for everyone.
      await sql`
        insert into member_tiers (program_id, member_id, tier, since, overridden, basis, updated_at)
        select 'bench', 'mem_' || lpad(i::text, 9, '0'),
               case when i % 20 < 12 then 'member' when i % 20 < 17 then 'silver'
                    when i % 20 < 19 then 'gold' else 'platinum' end,
               ${start}::timestamptz, false, 0, ${start}::timestamptz
        from generate_series(1, ${MEMBERS}::int) i`.execute(trx);
    });
    const membersMs = performance.now() - began;

    // Each group of ten is one member's, ten seconds apart at most, the groups spread evenly
    // over the year: earn 100, earn 60, redeem 40, hold 30, capture 25 of it, expire 20,
    // an operator's +10, a return taking back 15, an operator's −5 — a balance that never falls
    // below zero and ends 95 up. Member g % MEMBERS gets group g.
    const accounts = await sql<{ kind: string; id: string }>`
      select kind, id from ledger_accounts where ledger = ${ledger} and kind <> 'member'`.execute(
      db,
    );
    const system = new Map(accounts.rows.map((r) => [r.kind, r.id]));
    began = performance.now();
    await bulk(async (trx) => {
      await sql`
      insert into ledger_accounts (id, ledger, program_id, kind, member_id, credits_posted, debits_posted, created_at)
      select 'acc_' || lpad(i::text, 9, '0'), ${ledger}, 'bench', 'member', 'mem_' || lpad(i::text, 9, '0'),
             200 * n, 105 * n, ${start}::timestamptz
      from generate_series(1, ${MEMBERS}::int) i,
           lateral (select case when i <= ${groups}::bigint
                                then (${groups}::bigint - i) / ${MEMBERS} + 1 else 0 end as n) g`.execute(
        trx,
      );
    });
    // The transfers' secondary indexes are built once, after the load, as a bulk load does.
    const { rows: secondary } = await sql<{ name: string; definition: string }>`
      select i.indexname as name, i.indexdef as definition
      from pg_indexes i join pg_class c on c.relname = i.indexname join pg_index x on x.indexrelid = c.oid
      where i.tablename = 'ledger_transfers' and not x.indisprimary and not x.indisunique`.execute(
      db,
    );
    for (const i of secondary) await sql`drop index ${sql.ref(i.name)}`.execute(db);
    for (let first = 0; first < groups; first += CHUNK) {
      const last = Math.min(groups, first + CHUNK) - 1;
      await bulk(async (trx) => {
        await sql`
        insert into ledger_transfers (id, command_id, ledger, debit_account_id, credit_account_id, amount, kind,
                                      pending_id, pending_amount, code, reference, debit_balance_after,
                                      credit_balance_after, created_at)
        select 'trf_' || lpad((g * 10 + s.k)::text, 11, '0'), 'bench', ${ledger},
               case when s.into_member then s.other else a end,
               case when s.into_member then a else s.other end,
               s.amount, s.kind,
               case when s.kind = 'post' then 'trf_' || lpad((g * 10 + 4)::text, 11, '0') end,
               case when s.kind = 'post' then 30 end,
               s.code, null,
               case when s.into_member then null else r * 95 + s.after end,
               case when s.into_member then r * 95 + s.after end,
               ${start}::timestamptz + g * ${YEAR / groups}::float8 * interval '1 millisecond' + s.k * interval '1 second'
        from generate_series(${first}::bigint, ${last}::bigint) g,
             lateral (select 'acc_' || lpad((g % ${MEMBERS} + 1)::text, 9, '0') as a, g / ${MEMBERS} as r) m,
             (values
               (0, true, ${system.get('issuance')}, 100, 'single', 'earn', 100),
               (1, true, ${system.get('issuance')}, 60, 'single', 'earn', 160),
               (2, false, ${system.get('redemption')}, 40, 'single', 'redeem', 120),
               (3, true, ${system.get('issuance')}, 30, 'single', 'earn', 150),
               (4, false, ${system.get('redemption')}, 30, 'pending', 'hold', 150),
               (5, false, ${system.get('redemption')}, 25, 'post', 'capture', 125),
               (6, false, ${system.get('breakage')}, 20, 'single', 'expire', 105),
               (7, true, ${system.get('adjustment')}, 10, 'single', 'adjust', 115),
               (8, false, ${system.get('issuance')}, 15, 'single', 'reverse', 100),
               (9, false, ${system.get('adjustment')}, 5, 'single', 'adjust', 95)
             ) as s(k, into_member, other, amount, kind, code, after)`.execute(trx);
      });
    }
    for (const i of secondary) await sql.raw(i.definition).execute(db);
    // The system accounts' totals, as those transfers left them.
    await sql`
      update ledger_accounts a set debits_posted = v.debits, credits_posted = v.credits
      from (values ('issuance', 190, 15), ('redemption', 0, 65), ('breakage', 0, 20), ('adjustment', 10, 5))
           as v0(kind, d, c),
           lateral (select v0.kind, v0.d * ${groups}::bigint as debits, v0.c * ${groups}::bigint as credits) v
      where a.ledger = ${ledger} and a.kind = v.kind`.execute(db);
    const transfersMs = performance.now() - began;

    // Purchases, each crediting two of the rules (rule-0 … rule-14, some earning more than
    // others), dated like the earnings they stand for.
    began = performance.now();
    await bulk(async (trx) => {
      await sql`
      insert into purchases (program_id, id, member_id, fingerprint, amount, currency, occurred_at, weights, rules,
                             points, growth, result, returned, created_at)
      select 'bench', 'P' || lpad(p::text, 9, '0'), 'mem_' || lpad((g % ${MEMBERS} + 1)::text, 9, '0'),
             '\\x00'::bytea, 10000, 'CNY', at, '[1]'::jsonb, '[]'::jsonb, 100, 0,
             jsonb_build_object('points', jsonb_build_object('earned', 100, 'breakdown', jsonb_build_array(
               jsonb_build_object('ruleId', 'rule-' || p % ${RULES}, 'name', 'Rule ' || p % ${RULES},
                                  'points', 40 + p % ${RULES} * 2),
               jsonb_build_object('ruleId', 'rule-' || (p * 7 + 3) % ${RULES}, 'name', 'Rule ' || (p * 7 + 3) % ${RULES},
                                  'points', 60 - p % ${RULES} * 2)))),
             '{"quantities": [0], "amount": 0}'::jsonb, at
      from generate_series(0, ${PURCHASES - 1}::bigint) p,
           lateral (select p * ${groups}::bigint / ${Math.max(1, PURCHASES)}::bigint as g) gg,
           lateral (select ${start}::timestamptz + g * ${YEAR / groups}::float8 * interval '1 millisecond' as at) t`.execute(
        trx,
      );
    });
    const purchasesMs = performance.now() - began;

    began = performance.now();
    await sql`select metrics_rebuild()`.execute(db);
    const rebuildMs = performance.now() - began;
    began = performance.now();
    await sql`vacuum analyze`.execute(db);
    console.log(
      `metrics: ${count(MEMBERS)} members enrolled over a year, ${count(groups * 10)} points transfers, ` +
        `${count(PURCHASES)} purchases under ${RULES} rules, a tier row per member; setup ` +
        `${secs(membersMs)} s members + ${secs(transfersMs)} s transfers + ${secs(purchasesMs)} s purchases ` +
        `+ ${secs(rebuildMs)} s metrics_rebuild() + ${secs(performance.now() - began)} s vacuum analyze`,
    );

    // --- the endpoint, beside the floor ---

    const read = (
      await createKey(deps, { programId: 'bench', role: 'read', name: 'dashboard' }, null)
    ).secret;
    const today = localDateString(new Date(), 'Asia/Shanghai');
    const minus = (d: string, n: number) =>
      new Date(Date.parse(`${d}T00:00:00Z`) - n * 86_400_000).toISOString().slice(0, 10);
    const answers: Record<number, number> = {};
    for (const days of [30, 365]) {
      const from = minus(today, days - 1);
      const call = async () => {
        const t0 = performance.now();
        const res = await app.inject({
          method: 'GET',
          url: `/v1/programs/bench/metrics?from=${from}&to=${today}`,
          headers: { authorization: `Bearer ${read}` },
        });
        const took = performance.now() - t0;
        if (res.statusCode !== 200)
          throw new Error(`metrics answered ${res.statusCode}: ${res.body}`);
        return { took, body: res.json() as Metrics };
      };

      const floorTimes: number[] = [];
      let floorAnswer: FloorAnswer | undefined;
      for (let i = 0; i < FLOOR_CALLS; i++) {
        const t0 = performance.now();
        floorAnswer = await floor(from, today);
        floorTimes.push(performance.now() - t0);
      }
      const first = await call();
      const times: number[] = [];
      let last = first.body;
      for (let i = 0; i < CALLS; i++) {
        const r = await call();
        times.push(r.took);
        last = r.body;
      }
      const p50 = median(times);
      answers[days] = p50;
      const floorP50 = median(floorTimes);
      console.log(
        `floor: plain scans of the source tables, ${String(days).padStart(3)} days ${ms(floorP50)}  (p50 of ${FLOOR_CALLS})`,
      );
      console.log(
        `GET …/metrics, ${String(days).padStart(3)} days                       ${ms(p50)}  ` +
          `(p50 of ${CALLS}; first call ${first.took.toFixed(1)} ms; ${(floorP50 / p50).toFixed(0)}× faster than the floor)`,
      );
      if (floorAnswer) failures.push(...compare(days, last, floorAnswer));
    }

    // Where a year's answer spends its time: each query alone (the service runs them side by side).
    const from = minus(today, 364);
    const period = { from, to: today };
    const parts: [string, () => Promise<unknown>][] = [
      ['flows + liability', () => repo.pointFlows(db, ledger, period, 'Asia/Shanghai')],
      ['enrolled + members', () => repo.enrollments(db, 'bench', period, 'Asia/Shanghai')],
      ['tiers', () => repo.tierRows(db, 'bench', 'member')],
      ['top rules', () => repo.topRules(db, 'bench', period, 'Asia/Shanghai', TOP_RULES)],
    ];
    const spent: string[] = [];
    for (const [name, f] of parts) {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        await f();
        times.push(performance.now() - t0);
      }
      spent.push(`${name} ${median(times).toFixed(1)} ms`);
    }
    console.log(`  365 days, each query alone (p50 of 5): ${spent.join(', ')}`);
    if (EXPLAIN) await explain(parts.map(([name, f]) => [name, f]));
    const met = (answers[30] ?? Infinity) <= TARGET_MS && (answers[365] ?? Infinity) <= TARGET_MS;
    console.log(
      `  target ≤ ${TARGET_MS} ms over ${count(MEMBERS)} members and ${count(groups * 10)} transfers: ` +
        `${met ? 'met' : 'NOT met'} (30 days ${answers[30]?.toFixed(1)} ms, 365 days ${answers[365]?.toFixed(1)} ms)`,
    );
    console.log(
      `  check: ${failures.length === 0 ? 'ok' : 'FAILED'} — the endpoint's days, liability, tiers and top rules equal the floor's`,
    );
  } finally {
    await app.close();
    await close();
  }
  if (failures.length > 0) throw new Error(`metrics bench failed:\n  ${failures.join('\n  ')}`);

  /** Runs each query on a connection that records it, then prints EXPLAIN ANALYZE of it. */
  async function explain(parts: [string, () => Promise<unknown>][]): Promise<void> {
    const queries: { sql: string; parameters: readonly unknown[] }[] = [];
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    pool.on('error', () => {});
    const recording = new Kysely<Database>({
      dialect: new PostgresDialect({ pool }),
      log: (event) => {
        if (event.level === 'query') queries.push(event.query);
      },
    });
    const from = new Date(Date.now() - 364 * 86_400_000).toISOString().slice(0, 10);
    const period = { from, to: new Date().toISOString().slice(0, 10) };
    await repo.pointFlows(recording, ledger, period, 'Asia/Shanghai');
    await repo.enrollments(recording, 'bench', period, 'Asia/Shanghai');
    await repo.tierRows(recording, 'bench', 'member');
    await repo.topRules(recording, 'bench', period, 'Asia/Shanghai', TOP_RULES);
    for (const [i, q] of queries.entries()) {
      const { rows } = await pool.query<{ 'QUERY PLAN': string }>(
        `explain (analyze, buffers) ${q.sql}`,
        [...q.parameters],
      );
      console.log(`\n-- ${parts[i]?.[0] ?? i}\n${rows.map((r) => r['QUERY PLAN']).join('\n')}`);
    }
    await recording.destroy();
  }

  interface FloorAnswer {
    days: Record<string, string>[];
    members: number;
    tiers: Map<string, number>;
    rules: { rule_id: string; points: string; purchases: string }[];
  }

  /**
   * The same question by plain scans, indexes off: every posted transfer of the ledger classified
   * by its accounts and grouped by local day, the liability as the sum over members' accounts,
   * enrollments and tier rows joined to members, purchases' breakdowns unnested.
   */
  async function floor(from: string, to: string): Promise<FloorAnswer> {
    const tz = 'Asia/Shanghai';
    return db.transaction().execute(async (trx) => {
      await sql`set local enable_indexscan = off`.execute(trx);
      await sql`set local enable_indexonlyscan = off`.execute(trx);
      await sql`set local enable_bitmapscan = off`.execute(trx);
      const { rows: days } = await sql<Record<string, string>>`
        with days as (
          select d::date as day, d at time zone ${tz} as starts, (d + interval '1 day') at time zone ${tz} as ends
          from generate_series(${from}::timestamp, ${to}::timestamp, interval '1 day') d),
        sys as (select id, kind from ledger_accounts where ledger = ${ledger} and kind <> 'member'),
        moved as (
          select t.created_at, t.amount, d.kind as dk, c.kind as ck
          from ledger_transfers t
          left join sys d on d.id = t.debit_account_id
          left join sys c on c.id = t.credit_account_id
          where t.ledger = ${ledger} and t.kind in ('single', 'post') and (d.kind is null) <> (c.kind is null)),
        flows as (
          select (created_at at time zone ${tz})::date as day,
                 sum(amount) filter (where dk = 'issuance') as issued,
                 sum(amount) filter (where ck = 'issuance') as returned,
                 sum(amount) filter (where ck = 'redemption') as redeemed,
                 sum(amount) filter (where ck = 'breakage') as expired,
                 coalesce(sum(amount) filter (where dk = 'adjustment'), 0)
                   - coalesce(sum(amount) filter (where ck = 'adjustment'), 0) as adjusted,
                 sum(case when ck is null then amount else -amount end) as net
          from moved
          where created_at >= (select min(starts) from days) and created_at < (select max(ends) from days)
          group by 1),
        later as (
          select coalesce(sum(case when ck is null then amount else -amount end), 0) as net
          from moved where created_at >= (select max(ends) from days)),
        held as (
          select sum(credits_posted - debits_posted) as total
          from ledger_accounts where ledger = ${ledger} and kind = 'member'),
        enrolled as (
          select (e.enrolled_at at time zone ${tz})::date as day, count(*) as n
          from enrollments e join members m on m.id = e.member_id
          where e.program_id = 'bench' and m.status <> 'merged'
            and e.enrolled_at >= (select min(starts) from days) and e.enrolled_at < (select max(ends) from days)
          group by 1)
        select d.day::text as day, coalesce(e.n, 0)::text as enrolled,
               coalesce(f.issued, 0)::text as issued, coalesce(f.returned, 0)::text as returned,
               coalesce(f.redeemed, 0)::text as redeemed, coalesce(f.expired, 0)::text as expired,
               coalesce(f.adjusted, 0)::text as adjusted,
               (h.total - l.net - coalesce(sum(f.net) over (order by d.day rows between 1 following and unbounded following), 0))::text
                 as outstanding
        from days d left join flows f on f.day = d.day left join enrolled e on e.day = d.day
        cross join later l cross join held h
        order by d.day`.execute(trx);
      const { rows: tiers } = await sql<{ tier: string; n: string }>`
        select t.tier, count(*) as n
        from member_tiers t join members m on m.id = t.member_id
        where t.program_id = 'bench' and m.status = 'active'
        group by t.tier`.execute(trx);
      const { rows: members } = await sql<{ n: string }>`
        select count(*) as n from enrollments e join members m on m.id = e.member_id
        where e.program_id = 'bench' and m.status = 'active'`.execute(trx);
      const { rows: rules } = await sql<{ rule_id: string; points: string; purchases: string }>`
        select b ->> 'ruleId' as rule_id, sum((b ->> 'points')::bigint)::text as points, count(*)::text as purchases
        from purchases p, jsonb_array_elements(p.result -> 'points' -> 'breakdown') b
        where p.program_id = 'bench'
          and p.created_at >= (${from}::timestamp at time zone ${tz})
          and p.created_at < ((${to}::date + 1)::timestamp at time zone ${tz})
        group by 1
        order by sum((b ->> 'points')::bigint) desc, 1
        limit ${TOP_RULES}`.execute(trx);
      return {
        days,
        members: Number(members[0]?.n),
        tiers: new Map(tiers.map((r) => [r.tier, Number(r.n)])),
        rules,
      };
    });
  }

  function compare(days: number, m: Metrics, f: FloorAnswer): string[] {
    const problems: string[] = [];
    const fields = ['enrolled', 'issued', 'returned', 'redeemed', 'expired', 'adjusted'] as const;
    if (m.days.length !== f.days.length) problems.push(`${days} days: ${m.days.length} days`);
    f.days.forEach((d, i) => {
      const want = {
        day: d.day,
        ...Object.fromEntries(fields.map((k) => [k, Number(d[k])])),
        outstanding: Number(d.outstanding),
      };
      const got = JSON.stringify(m.days[i]);
      if (got !== JSON.stringify(want))
        problems.push(`${days} days: ${got} ≠ floor ${JSON.stringify(want)}`);
    });
    // The floor counts tier rows; the entry tier holds every member without another tier.
    const entry = LADDER.tiers[0]?.code;
    let others = 0;
    for (const [tier, n] of f.tiers) if (tier !== entry) others += n;
    const tiers = m.tiers.map((t) => `${t.tier}:${t.members}`).join(' ');
    const floorTiers = LADDER.tiers
      .map((t) => `${t.code}:${t.code === entry ? f.members - others : (f.tiers.get(t.code) ?? 0)}`)
      .join(' ');
    if (tiers !== floorTiers) problems.push(`tiers ${tiers} ≠ floor ${floorTiers}`);
    const rules = m.topRules.map((r) => `${r.ruleId}:${r.points}:${r.purchases}`).join(' ');
    const floorRules = f.rules.map((r) => `${r.rule_id}:${r.points}:${r.purchases}`).join(' ');
    if (rules !== floorRules)
      problems.push(`${days} days: top rules ${rules} ≠ floor ${floorRules}`);
    return problems.slice(0, 5);
  }
}
