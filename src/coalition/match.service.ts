import { recordAudit } from '../audit/audit.service.ts';
import { inTransaction, type Trx } from '../db/database.ts';
import type { Deps, EnrollHook } from '../deps.ts';
import type { Principal } from '../keys/keys.core.ts';
import { standingProblem } from '../members/members.core.ts';
import { enrollmentTimes } from '../members/members.service.ts';
import { lockStandings } from '../members/members.standing.ts';
import { getProgram } from '../programs/programs.service.ts';
import { DomainError, notFound } from '../shared/errors.ts';
import {
  getLadder,
  matchTier,
  type TierView,
  tierCodesOf,
  tierOf,
} from '../tiers/tiers.service.ts';
import { shareLevels } from './coalition.repository.ts';
import { check, effectiveLevel, isProgram, listLevels } from './coalition.service.ts';
import {
  isLevelRule,
  type MatchFacts,
  type MatchRule,
  type MatchTable,
  matchedTier,
  matchWindow,
  type StoredMatch,
} from './match.core.ts';
import * as repo from './match.repository.ts';

// Status match (等级匹配): a program's match table, and the tier a member new to the program
// starts at — when they enroll (`matchOnEnroll`, in the enrollment's transaction) or when they ask
// within the window (`requestMatch`). What a match does to the member's tier is the tiers
// service's (`matchTier`): the ladder's validity, `why: "match"`, never a downgrade.

type TxDeps = Deps & { db: Trx };

/** The program's match table; 404 when it offers no status match. */
export async function getMatchTable(
  deps: Pick<Deps, 'db'>,
  programId: string,
): Promise<MatchTable> {
  await getProgram(deps, programId);
  const table = await repo.findTable(deps.db, programId);
  if (!table) throw notFound(`Status match of program ${programId}`);
  return table;
}

export interface MatchTableInput {
  maxMatchTier: string;
  windowDays: number;
  rules: MatchRule[];
}

const tierList = (codes: string[]) => `is not a tier of the ladder (${codes.join(', ')})`;

/**
 * Sets the program's match table (audited). Every tier it names must be on the ladder it names it
 * for, every level defined by the coalition, and a rule's program another program (400
 * otherwise). The first table a program sets dates its offer: members enrolled before it are
 * never matched.
 */
export async function setMatchTable(
  deps: Deps,
  programId: string,
  input: MatchTableInput,
  actor: Principal,
): Promise<MatchTable> {
  await getProgram(deps, programId);
  const own = (await getLadder(deps, programId)).tiers.map((t) => t.code);
  const problems: { path: string; message: string }[] = [];
  if (!own.includes(input.maxMatchTier))
    problems.push({ path: 'maxMatchTier', message: tierList(own) });
  for (const [i, rule] of input.rules.entries()) {
    const at = `rules.${i}`;
    if (isLevelRule(rule)) {
      if (!own.includes(rule.tier)) problems.push({ path: `${at}.tier`, message: tierList(own) });
      continue;
    }
    if (!own.includes(rule.matchTier))
      problems.push({ path: `${at}.matchTier`, message: tierList(own) });
    if (rule.programId === programId) {
      problems.push({ path: `${at}.programId`, message: 'must be another program' });
    } else if (!(await isProgram(deps, rule.programId))) {
      problems.push({ path: `${at}.programId`, message: 'is not a program' });
    } else {
      const theirs = (await getLadder(deps, rule.programId)).tiers.map((t) => t.code);
      if (!theirs.includes(rule.tier))
        problems.push({ path: `${at}.tier`, message: `${tierList(theirs)} of ${rule.programId}` });
    }
  }
  check(problems);
  return inTransaction(deps.db, async (trx) => {
    // The levels it names stay defined until this commits (a change of the levels waits).
    const named = input.rules.flatMap((r, i) =>
      isLevelRule(r) ? [{ path: `rules.${i}.coalitionLevel`, code: r.coalitionLevel }] : [],
    );
    const known = await shareLevels(
      trx,
      named.map((n) => n.code),
    );
    check(
      named
        .filter((n) => !known.has(n.code))
        .map((n) => ({ path: n.path, message: 'is not a level of the coalition' })),
    );
    const before = await repo.lockTable(trx, programId);
    const now = deps.clock.now();
    const after = await repo.saveTable(trx, {
      programId,
      ...input,
      createdAt: before?.createdAt ?? now,
      updatedAt: now,
    });
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'tiers.match_table_set', programId, before: before ?? null, after },
    );
    return after;
  });
}

/** What the member brings: their coalition level, and their tiers at the programs the rules name. */
async function factsOf(
  deps: TxDeps,
  table: MatchTable,
  programId: string,
  memberId: string,
): Promise<MatchFacts> {
  const facts = {
    levelRank: null as number | null,
    levelRanks: new Map<string, number>(),
    elsewhere: new Map<string, { ladder: string[]; tier: string }>(),
  };
  if (table.rules.some(isLevelRule)) {
    facts.levelRank = (await effectiveLevel(deps, memberId))?.rank ?? null;
    for (const l of await listLevels(deps)) facts.levelRanks.set(l.code, l.rank);
  }
  const others = new Set(table.rules.flatMap((r) => (isLevelRule(r) ? [] : [r.programId])));
  for (const other of others) {
    if (other === programId || !(await enrollmentTimes(deps, other, [memberId])).has(memberId))
      continue;
    const ladder = await getLadder(deps, other);
    const tier = (await tierCodesOf(deps, other, [memberId], ladder)).get(memberId) as string;
    facts.elsewhere.set(other, { ladder: ladder.tiers.map((t) => t.code), tier });
  }
  return facts;
}

/**
 * Matches the member (whose row the caller holds locked) by the table: the tiers service moves
 * them up, and the match is recorded so that it applies once. Null when nothing matched or the
 * member holds the matched tier or a higher one already.
 */
async function apply(
  deps: TxDeps,
  table: MatchTable,
  programId: string,
  memberId: string,
): Promise<StoredMatch | null> {
  const ladder = (await getLadder(deps, programId)).tiers.map((t) => t.code);
  const found = matchedTier(table, ladder, await factsOf(deps, table, programId, memberId));
  if (!found || !(await matchTier(deps, programId, memberId, found.tier))) return null;
  const match = { ...found, matchedAt: deps.clock.now() };
  await repo.insertMatch(deps.db, programId, memberId, match);
  return match;
}

/** A member enrolling in a program for the first time starts at their matched tier, if any. */
export const matchOnEnroll: EnrollHook = async (deps, programId, memberId) => {
  const table = await repo.findTable(deps.db, programId);
  if (!table || (await repo.findMatch(deps.db, programId, memberId))) return;
  await apply(deps, table, programId, memberId);
};

export interface MatchOutcome {
  /** This request moved the member's tier. */
  applied: boolean;
  /** The match the member has had in the program (this one, or an earlier one); null: none. */
  match: StoredMatch | null;
  tier: TierView;
}

/**
 * A member asks for a status match: only one new to the program (enrolled once it offered status
 * match: 409 `match_not_new`) and within the window after enrolling (409 `match_window_closed`).
 * A member matched already gets that match again, changing nothing; a member who matches nothing,
 * or holds the matched tier or higher, gets `applied: false`.
 */
export async function requestMatch(
  deps: Deps,
  programId: string,
  memberId: string,
): Promise<MatchOutcome> {
  const table = await getMatchTable(deps, programId);
  const result = await inTransaction(deps.db, async (trx) => {
    const tx = { ...deps, db: trx };
    // The member's row first (lock order), which also makes two requests for one member take
    // turns: the second finds the first's match.
    const standing = (await lockStandings(trx, [memberId])).get(memberId);
    const problem = standingProblem(memberId, standing, programId, 'benefit');
    if (problem) throw new DomainError(problem.code, problem.detail, problem.extensions);
    const prior = await repo.findMatch(trx, programId, memberId);
    if (prior) return { applied: false, match: prior };
    const enrolledAt = (await enrollmentTimes(tx, programId, [memberId])).get(memberId);
    if (!enrolledAt) throw notFound(`Member ${memberId}`);
    const window = matchWindow(table, enrolledAt, deps.clock.now());
    if (window === 'not_new') {
      throw new DomainError(
        'match_not_new',
        `Member ${memberId} enrolled in ${programId} at ${enrolledAt.toISOString()}, before it offered status match (${table.createdAt.toISOString()}): status match is for members new to the program`,
        { enrolledAt: enrolledAt.toISOString(), matchSince: table.createdAt.toISOString() },
      );
    }
    if (window === 'closed') {
      const closedAt = new Date(enrolledAt.getTime() + table.windowDays * 86_400_000);
      throw new DomainError(
        'match_window_closed',
        `Status match was open for ${table.windowDays} day(s) after member ${memberId} enrolled, until ${closedAt.toISOString()}`,
        {
          enrolledAt: enrolledAt.toISOString(),
          windowDays: table.windowDays,
          closedAt: closedAt.toISOString(),
        },
      );
    }
    const match = await apply(tx, table, programId, memberId);
    return { applied: match !== null, match };
  });
  return { ...result, tier: await tierOf(deps, programId, memberId) };
}

/** A merge's hook: the duplicate's status matches, where the survivor has none. */
export async function mergeMatches(deps: Deps & { db: Trx }, fromId: string, intoId: string) {
  await repo.moveToMember(deps.db, fromId, intoId);
}
