import { sql } from 'kysely';
import type { Db, Trx } from '../db/database.ts';
import type { CoalitionLevel, LevelRule, MemberLevel } from './coalition.core.ts';

// The coalition module's SQL: its levels, the rules that derive them, and the levels set for
// members. Status match's tables are in match.repository.ts.

export async function listLevels(db: Db): Promise<CoalitionLevel[]> {
  return db
    .selectFrom('coalition_levels')
    .select(['code', 'name', 'rank'])
    .orderBy('rank', 'desc')
    .execute();
}

/**
 * Serialises changes of the list of levels, and locks the levels there are (`for update`), so
 * that nothing that refers to one of them (a member's level, a rule, a match table: each takes a
 * key share on the level first) commits between the check that a level is unused and its removal.
 */
export async function lockLevels(trx: Trx): Promise<CoalitionLevel[]> {
  await sql`select pg_advisory_xact_lock(hashtext('tessera:coalition_levels'))`.execute(trx);
  return trx
    .selectFrom('coalition_levels')
    .select(['code', 'name', 'rank'])
    .orderBy('rank', 'desc')
    .forUpdate()
    .execute();
}

/**
 * Those of the codes that are levels, each kept from removal until the transaction ends: what a
 * writer that refers to levels takes before it writes.
 */
export async function shareLevels(trx: Trx, codes: string[]): Promise<Set<string>> {
  if (codes.length === 0) return new Set();
  const rows = await trx
    .selectFrom('coalition_levels')
    .select('code')
    .where('code', 'in', [...new Set(codes)].sort())
    .orderBy('code')
    .forKeyShare()
    .execute();
  return new Set(rows.map((r) => r.code));
}

/** Replaces the list: levels not in it go (the caller checked none is in use), the others are written. */
export async function replaceLevels(trx: Trx, levels: CoalitionLevel[], now: Date): Promise<void> {
  const codes = levels.map((l) => l.code);
  let gone = trx.deleteFrom('coalition_levels');
  if (codes.length) gone = gone.where('code', 'not in', codes);
  await gone.execute();
  if (levels.length === 0) return;
  await trx
    .insertInto('coalition_levels')
    .values(levels.map((l) => ({ code: l.code, name: l.name, rank: l.rank, updated_at: now })))
    .onConflict((oc) =>
      oc.column('code').doUpdateSet((eb) => ({
        name: eb.ref('excluded.name'),
        rank: eb.ref('excluded.rank'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    )
    .execute();
}

/** How many members and rules refer to each of these levels (those referred to). */
export async function levelUses(
  trx: Trx,
  codes: string[],
): Promise<Map<string, { members: number; rules: number }>> {
  const uses = new Map<string, { members: number; rules: number }>();
  if (codes.length === 0) return uses;
  const members = await trx
    .selectFrom('member_coalition_levels')
    .select(['level', (eb) => eb.fn.countAll<string>().as('n')])
    .where('level', 'in', codes)
    .groupBy('level')
    .execute();
  const rules = await trx
    .selectFrom('coalition_level_rules')
    .select(['level', (eb) => eb.fn.countAll<string>().as('n')])
    .where('level', 'in', codes)
    .groupBy('level')
    .execute();
  for (const r of members) uses.set(r.level, { members: Number(r.n), rules: 0 });
  for (const r of rules) {
    uses.set(r.level, { members: uses.get(r.level)?.members ?? 0, rules: Number(r.n) });
  }
  return uses;
}

export async function listRules(db: Db): Promise<LevelRule[]> {
  const rows = await db
    .selectFrom('coalition_level_rules')
    .select(['level', 'program_id', 'tier_at_least'])
    .orderBy('position')
    .execute();
  return rows.map((r) => ({
    level: r.level,
    when: { programId: r.program_id, tierAtLeast: r.tier_at_least },
  }));
}

/** Locks the rules (a change of them waits for another), and reads them. */
export async function lockRules(trx: Trx): Promise<LevelRule[]> {
  await sql`select pg_advisory_xact_lock(hashtext('tessera:coalition_level_rules'))`.execute(trx);
  return listRules(trx);
}

export async function replaceRules(trx: Trx, rules: LevelRule[], now: Date): Promise<void> {
  await trx.deleteFrom('coalition_level_rules').execute();
  if (rules.length === 0) return;
  await trx
    .insertInto('coalition_level_rules')
    .values(
      rules.map((r, position) => ({
        position,
        level: r.level,
        program_id: r.when.programId,
        tier_at_least: r.when.tierAtLeast,
        updated_at: now,
      })),
    )
    .execute();
}

function toMemberLevel(r: {
  level: string;
  source: string;
  valid_until: Date | null;
  set_at: Date;
}): MemberLevel {
  return { level: r.level, source: r.source, validUntil: r.valid_until, setAt: r.set_at };
}

/** The levels set for these members (those with one). */
export async function memberLevels(db: Db, memberIds: string[]): Promise<Map<string, MemberLevel>> {
  if (memberIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('member_coalition_levels')
    .select(['member_id', 'level', 'source', 'valid_until', 'set_at'])
    .where('member_id', 'in', [...new Set(memberIds)])
    .execute();
  return new Map(rows.map((r) => [r.member_id, toMemberLevel(r)]));
}

export async function saveMemberLevel(
  trx: Trx,
  memberId: string,
  m: MemberLevel,
  now: Date,
): Promise<void> {
  const values = {
    level: m.level,
    source: m.source,
    valid_until: m.validUntil,
    set_at: m.setAt,
    updated_at: now,
  };
  await trx
    .insertInto('member_coalition_levels')
    .values({ member_id: memberId, ...values })
    .onConflict((oc) => oc.column('member_id').doUpdateSet(values))
    .execute();
}
