import { recordAudit } from '../audit/audit.service.ts';
import { inTransaction, type Trx } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import type { Principal } from '../keys/keys.core.ts';
import { standingProblem } from '../members/members.core.ts';
import { enrollmentTimes, getGlobalMember } from '../members/members.service.ts';
import { lockStandings } from '../members/members.standing.ts';
import { getProgram } from '../programs/programs.service.ts';
import { DomainError, invalidField, notFound } from '../shared/errors.ts';
import { getLadder, tierCodesOf } from '../tiers/tiers.service.ts';
import {
  type CoalitionLevel,
  counts,
  type DerivedLevel,
  derivedLevel,
  type EffectiveLevel,
  effectiveLevel as effectiveOf,
  type HeldTier,
  keptOnMerge,
  type LevelRule,
  levelsProblems,
  type MemberLevel,
} from './coalition.core.ts';
import * as repo from './coalition.repository.ts';
import { levelsInMatchTables } from './match.repository.ts';

// The coalition's member levels: defined once for the coalition, set for a member by the
// coalition's integration or derived from their tiers in the coalition's programs (read through
// the tiers service), and the level that counts, which other modules ask for (`effectiveLevel`,
// `levelsOf`: the benefits pool gates benefits by it, status match matches tiers by it).

type ReadDeps = Pick<Deps, 'db' | 'clock'>;

/** The coalition's levels, highest rank first. */
export function listLevels(deps: Pick<Deps, 'db'>): Promise<CoalitionLevel[]> {
  return repo.listLevels(deps.db);
}

/** Refuses a request with problems (400, each by field path), as schema validation does. */
export function check(problems: { path: string; message: string }[]): void {
  const first = problems[0];
  if (first) {
    throw new DomainError('validation_failed', `${first.path}: ${first.message}`, {
      errors: problems,
    });
  }
}

/**
 * Replaces the coalition's levels (audited). A level that members hold, a rule derives, or a
 * program's status match names cannot be removed (409 `level_in_use`); ranks may change.
 */
export async function setLevels(
  deps: Deps,
  levels: CoalitionLevel[],
  actor: Principal,
): Promise<CoalitionLevel[]> {
  check(levelsProblems(levels));
  await inTransaction(deps.db, async (trx) => {
    const before = await repo.lockLevels(trx);
    const kept = new Set(levels.map((l) => l.code));
    const removed = before.filter((l) => !kept.has(l.code)).map((l) => l.code);
    const uses = await repo.levelUses(trx, removed);
    const matches = await levelsInMatchTables(trx, removed);
    for (const code of removed) {
      const use = uses.get(code);
      const programs = matches.get(code) ?? [];
      if (use || programs.length) {
        throw new DomainError(
          'level_in_use',
          `Level ${code} is in use (${use?.members ?? 0} member(s), ${use?.rules ?? 0} rule(s), ${programs.length} status match table(s)): keep it in the list`,
          { level: code, members: use?.members ?? 0, rules: use?.rules ?? 0, programs },
        );
      }
    }
    await repo.replaceLevels(trx, levels, deps.clock.now());
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'coalition.levels_set', before, after: levels },
    );
  });
  return listLevels(deps);
}

// --- rules ---

/** Whether the program exists (a rule naming one that does not is a 400, not a 404). */
export async function isProgram(deps: Pick<Deps, 'db'>, programId: string): Promise<boolean> {
  try {
    await getProgram(deps, programId);
    return true;
  } catch (error) {
    if (error instanceof DomainError && error.code === 'not_found') return false;
    throw error;
  }
}

export function listLevelRules(deps: Pick<Deps, 'db'>): Promise<LevelRule[]> {
  return repo.listRules(deps.db);
}

/**
 * Replaces the rules that derive levels from tiers (audited): each names a level of the
 * coalition, a program, and a tier of that program's ladder (400 otherwise).
 */
export async function setLevelRules(
  deps: Deps,
  rules: LevelRule[],
  actor: Principal,
): Promise<LevelRule[]> {
  const problems: { path: string; message: string }[] = [];
  for (const [i, rule] of rules.entries()) {
    if (!(await isProgram(deps, rule.when.programId))) {
      problems.push({ path: `${i}.when.programId`, message: 'is not a program' });
      continue;
    }
    const ladder = await getLadder(deps, rule.when.programId);
    if (!ladder.tiers.some((t) => t.code === rule.when.tierAtLeast)) {
      problems.push({
        path: `${i}.when.tierAtLeast`,
        message: `is not a tier of ${rule.when.programId}: ${ladder.tiers.map((t) => t.code).join(', ')}`,
      });
    }
  }
  check(problems);
  await inTransaction(deps.db, async (trx) => {
    const before = await repo.lockRules(trx);
    const known = await repo.shareLevels(
      trx,
      rules.map((r) => r.level),
    );
    check(
      rules.flatMap((r, i) =>
        known.has(r.level)
          ? []
          : [{ path: `${i}.level`, message: 'is not a level of the coalition' }],
      ),
    );
    await repo.replaceRules(trx, rules, deps.clock.now());
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'coalition.level_rules_set', before, after: rules },
    );
  });
  return listLevelRules(deps);
}

// --- a member's level ---

/** What the levels of a batch of members are made of. */
interface Standing {
  set: MemberLevel | null;
  derived: DerivedLevel | null;
  effective: EffectiveLevel | null;
}

/** The members' tiers in the programs the rules name, through the tiers service. */
async function heldTiers(
  deps: Pick<Deps, 'db'>,
  rules: LevelRule[],
  memberIds: string[],
): Promise<Map<string, HeldTier[]>> {
  const held = new Map<string, HeldTier[]>();
  for (const programId of new Set(rules.map((r) => r.when.programId))) {
    // Only a program the member is enrolled in gives them a tier (the tiers module answers the
    // entry tier for anyone).
    const enrolled = await enrollmentTimes(deps, programId, memberIds);
    if (enrolled.size === 0) continue;
    const ladder = await getLadder(deps, programId);
    const codes = ladder.tiers.map((t) => t.code);
    for (const [memberId, tier] of await tierCodesOf(
      deps,
      programId,
      [...enrolled.keys()],
      ladder,
    )) {
      held.set(memberId, [...(held.get(memberId) ?? []), { programId, ladder: codes, tier }]);
    }
  }
  return held;
}

async function standings(deps: ReadDeps, memberIds: string[]): Promise<Map<string, Standing>> {
  const ids = [...new Set(memberIds)];
  const [levels, rules, set] = await Promise.all([
    repo.listLevels(deps.db),
    repo.listRules(deps.db),
    repo.memberLevels(deps.db, ids),
  ]);
  const held = rules.length ? await heldTiers(deps, rules, ids) : new Map<string, HeldTier[]>();
  const now = deps.clock.now();
  return new Map(
    ids.map((id) => {
      const s = set.get(id) ?? null;
      const derived = derivedLevel(rules, levels, held.get(id) ?? []);
      return [id, { set: s, derived, effective: effectiveOf(s, derived, levels, now) }];
    }),
  );
}

/**
 * The level that counts for each member now: the one the coalition's integration set (while
 * valid) or the one their tiers derive, whichever ranks higher. Members without one are absent.
 * A few queries for the whole batch.
 */
export async function levelsOf(
  deps: ReadDeps,
  memberIds: string[],
): Promise<Map<string, EffectiveLevel>> {
  const all = await standings(deps, memberIds);
  const out = new Map<string, EffectiveLevel>();
  for (const [id, s] of all) if (s.effective) out.set(id, s.effective);
  return out;
}

/** The level that counts for the member now, or null: see `levelsOf`. */
export async function effectiveLevel(
  deps: ReadDeps,
  memberId: string,
): Promise<EffectiveLevel | null> {
  return (await levelsOf(deps, [memberId])).get(memberId) ?? null;
}

/** A member's level and what it is made of (what the coalition sees; a program sees `level`). */
export interface MemberLevelView {
  memberId: string;
  level: EffectiveLevel | null;
  set: (MemberLevel & { counted: boolean }) | null;
  derived: DerivedLevel | null;
}

/**
 * A member's level; 404 for a member that does not exist — and, for a program key, for a member
 * not enrolled in its program, as anything else of members (without echoing the id, which names
 * another brand's member).
 */
export async function getMemberLevel(
  deps: Deps,
  memberId: string,
  viewer: Principal | null = null,
): Promise<MemberLevelView> {
  const programId = viewer?.programId ?? null;
  if (programId !== null && !(await enrollmentTimes(deps, programId, [memberId])).has(memberId))
    throw notFound('The member');
  await getGlobalMember(deps, memberId);
  const s = (await standings(deps, [memberId])).get(memberId) as Standing;
  const levels = s.set ? await repo.listLevels(deps.db) : [];
  return {
    memberId,
    level: s.effective,
    set: s.set && { ...s.set, counted: counts(s.set, levels, deps.clock.now()) },
    derived: s.derived,
  };
}

export interface MemberLevelInput {
  level: string;
  source: string;
  validUntil: Date | null;
}

const same = (a: MemberLevel, b: MemberLevelInput) =>
  a.level === b.level &&
  a.source === b.source &&
  (a.validUntil?.getTime() ?? null) === (b.validUntil?.getTime() ?? null);

/**
 * Sets the member's level, as the coalition's integration says (audited). Setting what is set
 * already changes nothing and records nothing. 404 for an unknown member, 409 for one erased or
 * merged away, 400 for a level the coalition has not defined or a validity already over.
 */
export async function setMemberLevel(
  deps: Deps,
  memberId: string,
  input: MemberLevelInput,
  actor: Principal,
): Promise<MemberLevelView> {
  const now = deps.clock.now();
  if (input.validUntil && input.validUntil <= now)
    throw invalidField('validUntil', 'must be in the future');
  await inTransaction(deps.db, async (trx) => {
    // The member's row first, as in every member operation's lock order: no merge or erasure of
    // them commits meanwhile.
    const standing = (await lockStandings(trx, [memberId])).get(memberId);
    const problem = standingProblem(memberId, standing, null, 'member');
    if (problem) throw new DomainError(problem.code, problem.detail, problem.extensions);
    if (!(await repo.shareLevels(trx, [input.level])).has(input.level)) {
      const known = (await repo.listLevels(trx)).map((l) => l.code);
      throw invalidField(
        'level',
        `is not a level of the coalition (${known.length ? known.join(', ') : 'none defined'})`,
      );
    }
    const before = (await repo.memberLevels(trx, [memberId])).get(memberId) ?? null;
    if (before && same(before, input)) return;
    const after: MemberLevel = { ...input, setAt: now };
    await repo.saveMemberLevel(trx, memberId, after, now);
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'coalition.member_level_set', memberId, before, after },
    );
  });
  return getMemberLevel(deps, memberId);
}

/**
 * The coalition's side of a merge, in the merge's transaction: the survivor keeps the set level
 * that counts and ranks higher, its own or the duplicate's.
 */
export async function mergeCoalitionLevels(
  deps: Pick<Deps, 'clock'> & { db: Trx },
  fromId: string,
  intoId: string,
): Promise<void> {
  const set = await repo.memberLevels(deps.db, [fromId, intoId]);
  const from = set.get(fromId) ?? null;
  if (!from) return;
  const into = set.get(intoId) ?? null;
  const levels = await repo.listLevels(deps.db);
  const kept = keptOnMerge(into, from, levels, deps.clock.now());
  if (kept && kept === from) {
    await repo.shareLevels(deps.db, [from.level]);
    await repo.saveMemberLevel(deps.db, intoId, from, deps.clock.now());
  }
}
