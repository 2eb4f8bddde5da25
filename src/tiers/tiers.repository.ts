import { sql } from 'kysely';
import type { Db, Trx } from '../db/database.ts';
import { type Ladder, type MemberTier, oneLevelDown, type TierChange } from './tiers.core.ts';

// The tiers module's SQL: ladders, members' tiers, their history and benefit uses — and the
// set-based evaluation of validity ends, the one place the tier rules are written in SQL.

export interface StoredLadder {
  ladder: Ladder;
  version: number;
  evaluatedAt: Date | null;
}

export async function findLadder(db: Db, programId: string): Promise<StoredLadder | undefined> {
  const row = await db
    .selectFrom('tier_ladders')
    .select(['ladder', 'version', 'evaluated_at'])
    .where('program_id', '=', programId)
    .executeTakeFirst();
  return (
    row && { ladder: row.ladder as Ladder, version: row.version, evaluatedAt: row.evaluated_at }
  );
}

/** Locks the program's ladder row (a ladder change and an evaluation do not overlap). */
export async function lockLadder(trx: Trx, programId: string): Promise<StoredLadder | undefined> {
  const row = await trx
    .selectFrom('tier_ladders')
    .select(['ladder', 'version', 'evaluated_at'])
    .where('program_id', '=', programId)
    .forUpdate()
    .executeTakeFirst();
  return (
    row && { ladder: row.ladder as Ladder, version: row.version, evaluatedAt: row.evaluated_at }
  );
}

export async function saveLadder(trx: Trx, programId: string, ladder: Ladder, now: Date) {
  await trx
    .insertInto('tier_ladders')
    .values({ program_id: programId, ladder: JSON.stringify(ladder), version: 1, updated_at: now })
    .onConflict((oc) =>
      oc.column('program_id').doUpdateSet({
        ladder: JSON.stringify(ladder),
        version: sql`tier_ladders.version + 1`,
        updated_at: now,
      }),
    )
    .execute();
}

export async function markEvaluated(trx: Trx, programId: string, at: Date) {
  await trx
    .updateTable('tier_ladders')
    .set({ evaluated_at: at })
    .where('program_id', '=', programId)
    .execute();
}

/** Programs with a ladder of their own. */
export async function programsWithLadders(db: Db): Promise<string[]> {
  const rows = await db
    .selectFrom('tier_ladders')
    .select('program_id')
    .orderBy('program_id')
    .execute();
  return rows.map((r) => r.program_id);
}

export interface MemberTierRow extends MemberTier {
  memberId: string;
  credit: number | null;
}

const columns = [
  'member_id',
  'tier',
  'since',
  'valid_until',
  'overridden',
  'basis',
  'credit',
  'warned_for',
] as const;

function toMemberTier(r: {
  member_id: string;
  tier: string;
  since: Date;
  valid_until: Date | null;
  overridden: boolean;
  basis: string;
  credit: number | null;
  warned_for: Date | null;
}): MemberTierRow {
  return {
    memberId: r.member_id,
    tier: r.tier,
    since: r.since,
    validUntil: r.valid_until,
    overridden: r.overridden,
    basis: Number(r.basis),
    credit: r.credit,
    warnedFor: r.warned_for,
  };
}

export async function findMemberTier(
  db: Db,
  programId: string,
  memberId: string,
): Promise<MemberTierRow | undefined> {
  const row = await db
    .selectFrom('member_tiers')
    .select(columns)
    .where('program_id', '=', programId)
    .where('member_id', '=', memberId)
    .executeTakeFirst();
  return row && toMemberTier(row);
}

/** The tiers these members hold (those with a row). */
export async function tierCodes(
  db: Db,
  programId: string,
  memberIds: string[],
): Promise<Map<string, string>> {
  if (memberIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('member_tiers')
    .select(['member_id', 'tier'])
    .where('program_id', '=', programId)
    .where('member_id', 'in', memberIds)
    .execute();
  return new Map(rows.map((r) => [r.member_id, r.tier]));
}

/** The members' credit factors (those set). */
export async function creditsOf(
  db: Db,
  programId: string,
  memberIds: string[],
): Promise<Map<string, number>> {
  if (memberIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('member_tiers')
    .select(['member_id', 'credit'])
    .where('program_id', '=', programId)
    .where('member_id', 'in', memberIds)
    .where('credit', 'is not', null)
    .execute();
  return new Map(rows.map((r) => [r.member_id, r.credit as number]));
}

/** Locks the members' tier rows, in member order (after the members' own rows, when those are locked). */
export async function lockMemberTiers(
  trx: Trx,
  programId: string,
  memberIds: string[],
): Promise<Map<string, MemberTierRow>> {
  if (memberIds.length === 0) return new Map();
  const rows = await trx
    .selectFrom('member_tiers')
    .select(columns)
    .where('program_id', '=', programId)
    .where('member_id', 'in', [...new Set(memberIds)])
    .orderBy('member_id')
    .forUpdate()
    .execute();
  return new Map(rows.map((r) => [r.member_id, toMemberTier(r)]));
}

/** Makes the rows that do not exist yet (as the entry tier), so that they can be locked. */
export async function ensureMemberTiers(
  trx: Trx,
  programId: string,
  rows: { memberId: string; state: MemberTier }[],
  now: Date,
) {
  if (rows.length === 0) return;
  const sorted = [...rows].sort((a, b) => (a.memberId < b.memberId ? -1 : 1));
  await sql`
    insert into member_tiers (program_id, member_id, tier, since, valid_until, overridden, basis, updated_at)
    select ${programId}, v.member_id, v.tier, v.since, null, false, 0, ${now}
    from unnest(${sorted.map((r) => r.memberId)}::text[], ${sorted.map((r) => r.state.tier)}::text[],
                ${sorted.map((r) => r.state.since)}::timestamptz[]) as v(member_id, tier, since)
    on conflict (program_id, member_id) do nothing`.execute(trx);
}

/** Writes members' tiers as decided, one statement. */
export async function writeMemberTiers(
  trx: Trx,
  programId: string,
  rows: { memberId: string; state: MemberTier }[],
  now: Date,
) {
  if (rows.length === 0) return;
  const s = rows.map((r) => r.state);
  await sql`
    insert into member_tiers (program_id, member_id, tier, since, valid_until, overridden, basis, warned_for,
                              updated_at)
    select ${programId}, * , ${now} from unnest(
      ${rows.map((r) => r.memberId)}::text[], ${s.map((x) => x.tier)}::text[], ${s.map((x) => x.since)}::timestamptz[],
      ${s.map((x) => x.validUntil)}::timestamptz[], ${s.map((x) => x.overridden)}::boolean[],
      ${s.map((x) => x.basis)}::bigint[], ${s.map((x) => x.warnedFor)}::timestamptz[])
    on conflict (program_id, member_id) do update set
      tier = excluded.tier, since = excluded.since, valid_until = excluded.valid_until,
      overridden = excluded.overridden, basis = excluded.basis, warned_for = excluded.warned_for,
      updated_at = excluded.updated_at`.execute(trx);
}

export async function setCredit(trx: Trx, programId: string, memberId: string, credit: number) {
  await trx
    .updateTable('member_tiers')
    .set({ credit })
    .where('program_id', '=', programId)
    .where('member_id', '=', memberId)
    .execute();
}

export interface HistoryEntry {
  memberId: string;
  change: TierChange;
  reason: string | null;
}

/** History rows, with ids `<base>_<n>` (one fresh base per statement: ids sort as written). */
export async function insertHistory(
  trx: Trx,
  programId: string,
  base: string,
  entries: HistoryEntry[],
) {
  if (entries.length === 0) return;
  const c = entries.map((e) => e.change);
  await sql`
    insert into tier_history (id, program_id, member_id, from_tier, to_tier, why, valid_until, reason, at)
    select ${base} || '_' || lpad(v.n::text, 7, '0'), ${programId}, v.member_id, v.from_tier, v.to_tier, v.why,
           v.valid_until, v.reason, v.at
    from unnest(${entries.map((e) => e.memberId)}::text[], ${c.map((x) => x.from)}::text[],
                ${c.map((x) => x.to)}::text[], ${c.map((x) => x.why)}::text[],
                ${c.map((x) => x.validUntil)}::timestamptz[], ${entries.map((e) => e.reason)}::text[],
                ${c.map((x) => x.at)}::timestamptz[])
         with ordinality as v(member_id, from_tier, to_tier, why, valid_until, reason, at, n)`.execute(
    trx,
  );
}

export interface HistoryRow {
  id: string;
  from: string | null;
  to: string;
  why: TierChange['why'];
  validUntil: Date | null;
  reason: string | null;
  at: Date;
}

/** A member's tier changes, newest first (those of members merged into it too). */
export async function history(
  db: Db,
  programId: string,
  memberIds: string[],
  before: string | undefined,
  limit: number,
): Promise<HistoryRow[]> {
  let q = db
    .selectFrom('tier_history')
    .select(['id', 'from_tier', 'to_tier', 'why', 'valid_until', 'reason', 'at'])
    .where('program_id', '=', programId)
    .where('member_id', 'in', memberIds)
    .orderBy('id', 'desc')
    .limit(limit);
  if (before) q = q.where('id', '<', before);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    from: r.from_tier,
    to: r.to_tier,
    why: r.why,
    validUntil: r.valid_until,
    reason: r.reason,
    at: r.at,
  }));
}

/** Programs in which the member has a tier row. */
export async function programsOfMember(db: Db, memberId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('member_tiers')
    .select('program_id')
    .where('member_id', '=', memberId)
    .orderBy('program_id')
    .execute();
  return rows.map((r) => r.program_id);
}

/** Members whose basis reaches `threshold` and whose tier is one of `below`, by member id. */
export async function eligibleMembers(
  db: Db,
  programId: string,
  threshold: number,
  below: string[],
  after: string | undefined,
  limit: number,
) {
  let q = db
    .selectFrom('member_tiers')
    .select(['member_id', 'tier', 'basis'])
    .where('program_id', '=', programId)
    .where('basis', '>=', String(threshold))
    .where('tier', 'in', below)
    .orderBy('member_id')
    .limit(limit);
  if (after) q = q.where('member_id', '>', after);
  const rows = await q.execute();
  return rows.map((r) => ({ memberId: r.member_id, tier: r.tier, basis: Number(r.basis) }));
}

/** How many members hold each tier (members without a row are in the entry tier, not counted). */
export async function countByTier(db: Db, programId: string): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('member_tiers')
    .select(['tier', (eb) => eb.fn.countAll<string>().as('n')])
    .where('program_id', '=', programId)
    .groupBy('tier')
    .execute();
  return new Map(rows.map((r) => [r.tier, Number(r.n)]));
}

/**
 * Member ids of a program's tier rows after `after`, a page at a time: all of them, or those
 * whose validity (or override) ends by `dueBy`.
 */
export async function memberIdsPage(
  db: Db,
  programId: string,
  after: string,
  limit: number,
  dueBy?: Date,
) {
  let q = db
    .selectFrom('member_tiers')
    .select('member_id')
    .where('program_id', '=', programId)
    .where('member_id', '>', after)
    .orderBy('member_id')
    .limit(limit);
  if (dueBy) q = q.where('valid_until', '<=', dueBy);
  return (await q.execute()).map((r) => r.member_id);
}

// --- benefits ---

export async function usesInPeriod(
  trx: Db,
  programId: string,
  memberId: string,
  benefit: string,
  period: string,
): Promise<number> {
  const row = await trx
    .selectFrom('benefit_uses')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('program_id', '=', programId)
    .where('member_id', '=', memberId)
    .where('benefit', '=', benefit)
    .where('period', '=', period)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

export async function findUse(
  db: Db,
  programId: string,
  memberId: string,
  benefit: string,
  reference: string,
) {
  return db
    .selectFrom('benefit_uses')
    .select(['id', 'period', 'used_at'])
    .where('program_id', '=', programId)
    .where('member_id', '=', memberId)
    .where('benefit', '=', benefit)
    .where('reference', '=', reference)
    .executeTakeFirst();
}

export async function insertUse(
  trx: Trx,
  use: {
    id: string;
    programId: string;
    memberId: string;
    benefit: string;
    period: string;
    reference: string;
    usedAt: Date;
  },
) {
  await trx
    .insertInto('benefit_uses')
    .values({
      id: use.id,
      program_id: use.programId,
      member_id: use.memberId,
      benefit: use.benefit,
      period: use.period,
      reference: use.reference,
      used_at: use.usedAt,
    })
    .execute();
}

// --- set-based evaluation ---

/** The ladder as a CTE `ladder(rank, code, threshold, invite, down)` SQL can join. */
function ladderCte(l: Ladder) {
  return sql`ladder as (
      select (v.n - 1)::int as rank, v.code, v.threshold, v.invite, v.down
      from unnest(${l.tiers.map((t) => t.code)}::text[], ${l.tiers.map((t) => t.threshold)}::bigint[],
                  ${l.tiers.map((t) => t.inviteOnly)}::boolean[],
                  ${l.tiers.map((_, i) => oneLevelDown(l, i))}::int[])
           with ordinality as v(code, threshold, invite, down, n)
    )`;
}

/**
 * `addMonthsLocal` in SQL: local midnight of the same day `months` later in `tz`, a day the month
 * lacks becoming the first of the month after.
 */
const addMonths = (v: ReturnType<typeof sql>, months: number, tz: string) => sql`
  (case when extract(day from ((${v} at time zone ${tz})::date + make_interval(months => ${months})))
             <> extract(day from (${v} at time zone ${tz})::date)
        then (date_trunc('month', (${v} at time zone ${tz})::date + make_interval(months => ${months}))
              + interval '1 month')::timestamp
        else ((${v} at time zone ${tz})::date + make_interval(months => ${months}))::timestamp
   end at time zone ${tz})`;

export interface Evaluated {
  /** Members whose validity ended and were settled (renewed, moved, or left without an end). */
  evaluated: number;
  /** Of them, those with a change written to history and events. */
  changed: number;
}

/**
 * Validity ends, set-based, for a periodic ladder, in one statement: up to `limit` members whose
 * `valid_until` ≤ `asOf` are renewed, moved down (to what they qualify for, or one level) or —
 * when an override kept them below what they reached — up, each at the moment their validity
 * ended, with the next period from then; their history rows and events (numbered from the
 * program's counter) are written by the same statement, so no row travels to Node and back.
 * `atValidityEnd` in tiers.core is the same rule for one member. Ids are `<base>_<n>`.
 */
export async function evaluateDue(
  trx: Trx,
  programId: string,
  ladder: Ladder,
  timezone: string,
  asOf: Date,
  limit: number,
  ids: { history: string; events: string },
  /** Only members in this share of a split (`hashtext(member_id) % of = part`): run in parallel. */
  share: { part: number; of: number } = { part: 0, of: 1 },
): Promise<Evaluated> {
  const toQualified = ladder.downgrade === 'to_qualified';
  const { rows } = await sql<{ evaluated: string; changed: string }>`
    with ${ladderCte(ladder)},
    due as (
      select mt.ctid as row_id, mt.member_id, mt.tier, mt.valid_until, mt.basis
      from member_tiers mt
      where mt.program_id = ${programId} and mt.valid_until <= ${asOf}
        and (${share.of}::int = 1 or abs(hashtext(mt.member_id)) % ${share.of}::int = ${share.part}::int)
      order by mt.member_id
      limit ${limit}
      for update
    ),
    judged as materialized (
      select d.row_id, d.member_id, d.tier, d.valid_until, c.rank as cur, c.down, q.rank as q,
             case when c.invite then d.basis >= c.threshold else q.rank >= c.rank end as keeps
      from due d
      join ladder c on c.code = d.tier
      cross join lateral (
        select coalesce(max(x.rank), 0) as rank from ladder x where not x.invite and x.threshold <= d.basis
      ) q
    ),
    decided as materialized (
      select j.row_id, j.member_id, j.tier as from_tier, j.valid_until as ended, j.cur,
             case when j.keeps then greatest(j.cur, j.q)
                  when ${toQualified} then j.q
                  else greatest(j.q, j.down) end as rank,
             case when j.keeps and j.q > j.cur then 'upgrade'
                  when j.keeps then 'renewal'
                  else 'downgrade' end as why
      from judged j
    ),
    -- the next period's end, once per distinct end (members' validity mostly ends on few days)
    periods as materialized (
      select p.ended, p.next,
             to_char(p.next at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as next_text
      from (select e.ended, ${addMonths(sql`e.ended`, ladder.validityMonths, timezone)} as next
            from (select distinct ended from decided) e) p
    ),
    updated as (
      update member_tiers mt set
        tier = x.code,
        since = case when x.code = d.from_tier then mt.since else d.ended end,
        valid_until = case when d.rank = 0 then null else p.next end,
        overridden = false,
        warned_for = null,
        updated_at = ${asOf}
      from decided d join ladder x on x.rank = d.rank join periods p on p.ended = d.ended
      where mt.ctid = d.row_id
      returning mt.member_id, d.from_tier, mt.tier as to_tier, d.why, mt.valid_until, d.ended as at,
                d.cur, d.rank, case when d.rank = 0 then null else p.next_text end as until_text
    ),
    -- the entry tier simply ends its validity: not a change
    changed as materialized (
      select row_number() over (order by member_id) as n, u.*
      from updated u where not (u.cur = 0 and u.rank = 0)
    ),
    history as (
      insert into tier_history (id, program_id, member_id, from_tier, to_tier, why, valid_until, reason, at)
      select ${ids.history} || '_' || lpad(c.n::text, 7, '0'), ${programId}, c.member_id, c.from_tier,
             c.to_tier, c.why, c.valid_until, null, c.at
      from changed c
    ),
    numbered as (
      insert into event_sequences (program_id, last)
      select ${programId}, count(*) from changed having count(*) > 0
      on conflict (program_id) do update set last = event_sequences.last + excluded.last
      returning last
    ),
    events as (
      insert into events (id, program_id, sequence, type, member_id, occurred_at, data)
      select ${ids.events} || '_' || lpad(c.n::text, 7, '0'), ${programId},
             s.last - (select count(*) from changed) + c.n,
             case when c.why = 'renewal' then 'tier.renewed'
                  when c.rank < c.cur then 'tier.downgraded'
                  else 'tier.upgraded' end,
             c.member_id, c.at,
             jsonb_build_object('from', c.from_tier, 'to', c.to_tier, 'why', c.why, 'validUntil', c.until_text)
      from changed c cross join numbered s
    )
    select (select count(*) from updated) as evaluated, (select count(*) from changed) as changed`.execute(
    trx,
  );
  return { evaluated: Number(rows[0]?.evaluated ?? 0), changed: Number(rows[0]?.changed ?? 0) };
}

/**
 * Downgrade warnings, set-based: members whose validity ends within `warningDays` of `asOf` and
 * who would move down if it ended now, not yet warned for this validity end. Marks them warned
 * and returns them.
 */
export async function markWarnings(
  trx: Trx,
  programId: string,
  ladder: Ladder,
  asOf: Date,
): Promise<{ memberId: string; tier: string; validUntil: Date; basis: number }[]> {
  const horizon = new Date(asOf.getTime() + ladder.warningDays * 86_400_000);
  const { rows } = await sql<{ member_id: string; tier: string; valid_until: Date; basis: string }>`
    with ${ladderCte(ladder)}
    update member_tiers mt set warned_for = mt.valid_until
    from ladder c
    where mt.program_id = ${programId} and c.code = mt.tier and c.rank > 0
      and mt.valid_until > ${asOf} and mt.valid_until <= ${horizon}
      and mt.warned_for is distinct from mt.valid_until
      and not (case when c.invite then mt.basis >= c.threshold
                    else coalesce((select max(x.rank) from ladder x where not x.invite and x.threshold <= mt.basis), 0) >= c.rank end)
    returning mt.member_id, mt.tier, mt.valid_until, mt.basis`.execute(trx);
  return rows.map((r) => ({
    memberId: r.member_id,
    tier: r.tier,
    validUntil: r.valid_until,
    basis: Number(r.basis),
  }));
}

/**
 * How the program's members with a tier row spread over a ladder, set-based: for each member, the
 * highest open tier whose threshold its basis reaches (`thresholds`: the open tiers', ascending,
 * the first 0), unless it holds one of `kept` (invite-only tiers keep their members) or an
 * override of a tier in `codes`; `former` members (erased, merged away) are not counted. Returns open-tier index → members, kept code → members, and
 * the members each tier has now.
 */
export async function spreadOver(
  db: Db,
  programId: string,
  thresholds: number[],
  kept: string[],
  codes: string[],
  former: string[],
): Promise<{ open: Map<number, number>; kept: Map<string, number>; now: Map<string, number> }> {
  const { rows } = await sql<{ tier: string; bucket: number | null; keeps: boolean; n: string }>`
    with m as (
      select tier, width_bucket(basis, ${thresholds}::bigint[]) - 1 as bucket,
             tier = any(${kept}::text[]) or (overridden and tier = any(${codes}::text[])) as keeps
      from member_tiers
      where program_id = ${programId} and member_id <> all(${former}::text[]))
    select tier, case when keeps then null else bucket end as bucket, keeps, count(*) as n
    from m group by 1, 2, 3`.execute(db);
  const now = new Map<string, number>();
  for (const r of rows) now.set(r.tier, (now.get(r.tier) ?? 0) + Number(r.n));
  const open = new Map<number, number>();
  const keptCounts = new Map<string, number>();
  for (const r of rows) {
    if (r.keeps) keptCounts.set(r.tier, (keptCounts.get(r.tier) ?? 0) + Number(r.n));
    else {
      const i = Math.max(0, r.bucket ?? 0);
      open.set(i, (open.get(i) ?? 0) + Number(r.n));
    }
  }
  return { open, kept: keptCounts, now };
}
