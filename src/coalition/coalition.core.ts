// The coalition's member levels, with no I/O: which level a member's tiers derive, which level
// counts (the one set or the one derived, whichever ranks higher), and what a list of levels must
// be. The service reads levels, rules, the member's set level and their tiers, and asks these.

/** A level of the coalition, e.g. the payment platform's own member levels; higher rank is higher. */
export interface CoalitionLevel {
  code: string;
  name: string;
  rank: number;
}

/** A member holding at least `tierAtLeast` in `programId` has `level`. */
export interface LevelRule {
  level: string;
  when: { programId: string; tierAtLeast: string };
}

/** A level the coalition's integration set for a member. */
export interface MemberLevel {
  level: string;
  /** Who says so, e.g. `alipay`. */
  source: string;
  /** After this the level no longer counts; null: until set again. */
  validUntil: Date | null;
  setAt: Date;
}

/** The level that counts for a member now. */
export interface EffectiveLevel {
  code: string;
  name: string;
  rank: number;
  /** The `source` the integration set it with, or `rule` when derived from a tier. */
  source: string;
  /** Until when a level set with an end counts; null otherwise (a derived level lasts as the tier does). */
  validUntil: Date | null;
}

/** A member's tier in one program, with that program's ladder (its tier codes, lowest first). */
export interface HeldTier {
  programId: string;
  ladder: string[];
  tier: string;
}

export interface DerivedLevel {
  level: CoalitionLevel;
  programId: string;
  tier: string;
}

/** A problem with a list, by field path. */
export interface Problem {
  path: string;
  message: string;
}

/** What a list of levels must be: codes and ranks unique. */
export function levelsProblems(levels: CoalitionLevel[]): Problem[] {
  const problems: Problem[] = [];
  const codes = new Set<string>();
  const ranks = new Set<number>();
  levels.forEach((l, i) => {
    if (codes.has(l.code)) problems.push({ path: `${i}.code`, message: 'must be unique' });
    if (ranks.has(l.rank)) problems.push({ path: `${i}.rank`, message: 'must be unique' });
    codes.add(l.code);
    ranks.add(l.rank);
  });
  return problems;
}

/** Highest rank first: how levels are listed. */
export const byRankDescending = (a: CoalitionLevel, b: CoalitionLevel) => b.rank - a.rank;

/**
 * The highest level whose rule one of the member's tiers meets. A rule whose level or tier is no
 * longer defined matches nobody; a tier the ladder no longer has counts as its entry tier, as the
 * tiers module counts it.
 */
export function derivedLevel(
  rules: LevelRule[],
  levels: CoalitionLevel[],
  held: HeldTier[],
): DerivedLevel | null {
  const byCode = new Map(levels.map((l) => [l.code, l]));
  let best: DerivedLevel | null = null;
  for (const rule of rules) {
    const level = byCode.get(rule.level);
    const h = held.find((x) => x.programId === rule.when.programId);
    if (!level || !h) continue;
    const need = h.ladder.indexOf(rule.when.tierAtLeast);
    if (need < 0 || Math.max(0, h.ladder.indexOf(h.tier)) < need) continue;
    if (!best || level.rank > best.level.rank)
      best = { level, programId: h.programId, tier: h.tier };
  }
  return best;
}

/** Whether a set level counts at `now`: it is still defined and its validity has not ended. */
export function counts(set: MemberLevel, levels: CoalitionLevel[], now: Date): boolean {
  return (
    levels.some((l) => l.code === set.level) &&
    (set.validUntil === null || set.validUntil.getTime() > now.getTime())
  );
}

/**
 * The level that counts: the one set (while valid) or the one derived, whichever ranks higher;
 * on a tie, the one set, which says where it came from.
 */
export function effectiveLevel(
  set: MemberLevel | null,
  derived: DerivedLevel | null,
  levels: CoalitionLevel[],
  now: Date,
): EffectiveLevel | null {
  const level = set && counts(set, levels, now) ? levels.find((l) => l.code === set.level) : null;
  if (set && level && (!derived || level.rank >= derived.level.rank)) {
    return { ...level, source: set.source, validUntil: set.validUntil };
  }
  return derived && { ...derived.level, source: 'rule', validUntil: null };
}

/** Which of two set levels a merge keeps: the one that counts and ranks higher (the survivor's on a tie). */
export function keptOnMerge(
  survivor: MemberLevel | null,
  duplicate: MemberLevel | null,
  levels: CoalitionLevel[],
  now: Date,
): MemberLevel | null {
  const rank = (m: MemberLevel | null) =>
    m && counts(m, levels, now) ? (levels.find((l) => l.code === m.level)?.rank ?? null) : null;
  const a = rank(survivor);
  const b = rank(duplicate);
  if (b !== null && (a === null || b > a)) return duplicate;
  return survivor ?? duplicate;
}
