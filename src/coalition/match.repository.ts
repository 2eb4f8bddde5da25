import { sql } from 'kysely';
import type { Db, Trx } from '../db/database.ts';
import type { MatchRule, MatchTable, StoredMatch } from './match.core.ts';

// Status match's SQL: each program's match table, and the match each member had.

const tableColumns = [
  'program_id',
  'max_match_tier',
  'window_days',
  'rules',
  'created_at',
  'updated_at',
] as const;

function toTable(r: {
  program_id: string;
  max_match_tier: string;
  window_days: number;
  rules: unknown;
  created_at: Date;
  updated_at: Date;
}): MatchTable {
  return {
    programId: r.program_id,
    maxMatchTier: r.max_match_tier,
    windowDays: r.window_days,
    rules: r.rules as MatchRule[],
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export async function findTable(db: Db, programId: string): Promise<MatchTable | undefined> {
  const row = await db
    .selectFrom('tier_match_tables')
    .select(tableColumns)
    .where('program_id', '=', programId)
    .executeTakeFirst();
  return row && toTable(row);
}

export async function lockTable(trx: Trx, programId: string): Promise<MatchTable | undefined> {
  const row = await trx
    .selectFrom('tier_match_tables')
    .select(tableColumns)
    .where('program_id', '=', programId)
    .forUpdate()
    .executeTakeFirst();
  return row && toTable(row);
}

/** Writes the table; the first time it is written stays its `created_at`. */
export async function saveTable(trx: Trx, t: MatchTable): Promise<MatchTable> {
  const values = {
    max_match_tier: t.maxMatchTier,
    window_days: t.windowDays,
    rules: JSON.stringify(t.rules),
    updated_at: t.updatedAt,
  };
  const row = await trx
    .insertInto('tier_match_tables')
    .values({ program_id: t.programId, ...values, created_at: t.createdAt })
    .onConflict((oc) => oc.column('program_id').doUpdateSet(values))
    .returning(tableColumns)
    .executeTakeFirstOrThrow();
  return toTable(row);
}

/** The programs whose match tables name each of these coalition levels (those named). */
export async function levelsInMatchTables(
  trx: Trx,
  codes: string[],
): Promise<Map<string, string[]>> {
  const named = new Map<string, string[]>();
  if (codes.length === 0) return named;
  const { rows } = await sql<{ level: string; program_id: string }>`
    select distinct r ->> 'coalitionLevel' as level, t.program_id
    from tier_match_tables t, jsonb_array_elements(t.rules) r
    where r ->> 'coalitionLevel' = any(${codes}::text[])
    order by 1, 2`.execute(trx);
  for (const r of rows) named.set(r.level, [...(named.get(r.level) ?? []), r.program_id]);
  return named;
}

export async function findMatch(
  db: Db,
  programId: string,
  memberId: string,
): Promise<StoredMatch | undefined> {
  const row = await db
    .selectFrom('tier_matches')
    .select(['tier', 'rule', 'matched_at'])
    .where('program_id', '=', programId)
    .where('member_id', '=', memberId)
    .executeTakeFirst();
  return row && { tier: row.tier, rule: row.rule as MatchRule, matchedAt: row.matched_at };
}

export async function insertMatch(
  trx: Trx,
  programId: string,
  memberId: string,
  m: StoredMatch,
): Promise<void> {
  await trx
    .insertInto('tier_matches')
    .values({
      program_id: programId,
      member_id: memberId,
      tier: m.tier,
      rule: JSON.stringify(m.rule),
      matched_at: m.matchedAt,
    })
    .execute();
}

/** A merge's part: the duplicate's status match, in programs where the survivor had none. */
export async function moveToMember(trx: Trx, fromId: string, intoId: string): Promise<void> {
  await sql`
    update tier_matches m set member_id = ${intoId}
    where m.member_id = ${fromId}
      and not exists (select 1 from tier_matches s
                      where s.program_id = m.program_id and s.member_id = ${intoId})`.execute(trx);
}
