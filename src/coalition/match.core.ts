// Status match (等级匹配), with no I/O: which tier of a program a member new to it starts at, by
// their coalition level or their tier at another program, and whether the member may still be
// matched. The tiers module decides what the match does to the member's tier (never a downgrade).

/** A coalition level matches a tier here: a member at that level or higher. */
export interface LevelMatchRule {
  coalitionLevel: string;
  tier: string;
}

/** A tier at another program matches a tier here: a member holding `tier` there or higher. */
export interface ProgramMatchRule {
  programId: string;
  tier: string;
  matchTier: string;
}

export type MatchRule = LevelMatchRule | ProgramMatchRule;

/** A program's status match table. */
export interface MatchTable {
  programId: string;
  /** No match lands above this tier. */
  maxMatchTier: string;
  /** A member may ask for a match this many days after enrolling. */
  windowDays: number;
  rules: MatchRule[];
  /** When the program first offered status match: who enrolled before was a member already. */
  createdAt: Date;
  updatedAt: Date;
}

/** The match a member had in a program. */
export interface StoredMatch {
  tier: string;
  rule: MatchRule;
  matchedAt: Date;
}

/** What a member brings to a match. */
export interface MatchFacts {
  /** The rank of the member's coalition level now; null without one. */
  levelRank: number | null;
  /** The coalition's levels' ranks, by code. */
  levelRanks: ReadonlyMap<string, number>;
  /** Per other program the member is enrolled in: its ladder's codes (lowest first) and their tier. */
  elsewhere: ReadonlyMap<string, { ladder: string[]; tier: string }>;
}

export const isLevelRule = (r: MatchRule): r is LevelMatchRule => 'coalitionLevel' in r;

/** The tier of this program a rule gives. */
export const tierGiven = (r: MatchRule) => (isLevelRule(r) ? r.tier : r.matchTier);

function qualifies(rule: MatchRule, facts: MatchFacts): boolean {
  if (isLevelRule(rule)) {
    const need = facts.levelRanks.get(rule.coalitionLevel);
    return need !== undefined && facts.levelRank !== null && facts.levelRank >= need;
  }
  const held = facts.elsewhere.get(rule.programId);
  if (!held) return false;
  const need = held.ladder.indexOf(rule.tier);
  return need >= 0 && Math.max(0, held.ladder.indexOf(held.tier)) >= need;
}

/**
 * The highest tier of this program (`ladder`: its codes, lowest first) that a rule the member
 * meets gives, capped at the table's `maxMatchTier`; null when none does. A rule naming a level
 * or tier that no longer exists matches nobody; without its maxMatchTier in the ladder the table
 * matches nobody.
 */
export function matchedTier(
  table: Pick<MatchTable, 'maxMatchTier' | 'rules'>,
  ladder: string[],
  facts: MatchFacts,
): { tier: string; rule: MatchRule } | null {
  const cap = ladder.indexOf(table.maxMatchTier);
  if (cap <= 0) return null;
  let best: { rank: number; rule: MatchRule } | null = null;
  for (const rule of table.rules) {
    const to = ladder.indexOf(tierGiven(rule));
    if (to <= 0 || !qualifies(rule, facts)) continue;
    const rank = Math.min(to, cap);
    if (!best || rank > best.rank) best = { rank, rule };
  }
  return best && { tier: ladder[best.rank] as string, rule: best.rule };
}

const DAY_MS = 86_400_000;

/**
 * Whether a member enrolled at `enrolledAt` may be matched at `now`: only one who enrolled once
 * the program offered status match (`not_new` otherwise: they were a member already), and within
 * `windowDays` (exact days, 24 hours each) of enrolling (`closed` after).
 */
export function matchWindow(
  table: Pick<MatchTable, 'createdAt' | 'windowDays'>,
  enrolledAt: Date,
  now: Date,
): 'open' | 'closed' | 'not_new' {
  if (enrolledAt.getTime() < table.createdAt.getTime()) return 'not_new';
  return now.getTime() < enrolledAt.getTime() + table.windowDays * DAY_MS ? 'open' : 'closed';
}
