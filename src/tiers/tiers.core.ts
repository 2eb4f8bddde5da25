// Tier rules, with no I/O: which tier a basis qualifies for, what a change of basis does, what
// happens when validity ends. The service loads a member's tier, asks these functions, and writes
// what they decide; the set-based evaluation in SQL does what `atValidityEnd` does, for many
// members at once, and the property test holds both to one model.

import { addMonthsLocal } from '../ledger/expiry.core.ts';

export interface Benefit {
  code: string;
  name: string;
  /** multiplier: earn × value (the earning rules read it); quota: `count` uses per period; flag: on. */
  kind: 'multiplier' | 'quota' | 'flag';
  value?: number | undefined;
  quota?: { count: number; period: 'month' | 'year' } | undefined;
}

export interface TierDef {
  code: string;
  name: string;
  threshold: number;
  /** Qualifying makes a member eligible; an invitation makes them a member of the tier. */
  inviteOnly: boolean;
  benefits: Benefit[];
}

/** One input of a composite score: a growth source measured over the window. */
export interface ScoreComponent {
  /** A growth source, or `credit` for the member's credit factor (0–1000). */
  source: string;
  /** sum of the values, count of the events, or days with one. */
  measure: 'sum' | 'count' | 'days';
  weight: number;
  cap?: number | undefined;
}

export interface Ladder {
  basis: 'growth' | 'score';
  /** immediate: the tier follows the basis both ways; periodic: up at once, down at validity end. */
  evaluation: 'immediate' | 'periodic';
  validityMonths: number;
  downgrade: 'to_qualified' | 'one_level';
  warningDays: number;
  tiers: TierDef[];
  /** With `basis: "score"`: the components and the window they are measured over. */
  score?: { windowMonths: number; components: ScoreComponent[] } | undefined;
}

/** Every program has a ladder: until it sets one, a single entry tier. */
export const DEFAULT_LADDER: Ladder = {
  basis: 'growth',
  evaluation: 'immediate',
  validityMonths: 12,
  downgrade: 'to_qualified',
  warningDays: 30,
  tiers: [{ code: 'member', name: 'Member', threshold: 0, inviteOnly: false, benefits: [] }],
};

/** A member's tier in a program, as the tiers module keeps it. */
export interface MemberTier {
  tier: string;
  since: Date;
  /** When the tier is evaluated again; null: not until the basis changes (the entry tier, immediate). */
  validUntil: Date | null;
  /** Set by an operator: evaluation leaves it alone until `validUntil` (or for good). */
  overridden: boolean;
  /** The growth value or score the tier was last evaluated on. */
  basis: number;
  /** The validity end a downgrade warning was sent for. */
  warnedFor: Date | null;
}

export type Why =
  | 'upgrade'
  | 'downgrade'
  | 'renewal'
  | 'invite'
  | 'override'
  | 'merge'
  | 'match'
  | 'ladder';

export interface TierChange {
  from: string | null;
  to: string;
  why: Why;
  validUntil: Date | null;
  at: Date;
}

/** A problem with a ladder, by field path. */
export interface LadderProblem {
  path: string;
  message: string;
}

/** What a ladder must be: thresholds rising from 0, the entry tier open to all, codes unique. */
export function ladderProblems(l: Ladder): LadderProblem[] {
  const problems: LadderProblem[] = [];
  const first = l.tiers[0];
  if (!first) return [{ path: 'tiers', message: 'at least one tier is needed' }];
  if (first.threshold !== 0)
    problems.push({ path: 'tiers.0.threshold', message: 'the entry tier has threshold 0' });
  if (first.inviteOnly)
    problems.push({ path: 'tiers.0.inviteOnly', message: 'the entry tier is every member’s' });
  const codes = new Set<string>();
  l.tiers.forEach((t, i) => {
    if (codes.has(t.code)) problems.push({ path: `tiers.${i}.code`, message: 'must be unique' });
    codes.add(t.code);
    const before = l.tiers[i - 1];
    if (before && t.threshold <= before.threshold)
      problems.push({ path: `tiers.${i}.threshold`, message: 'must be above the tier before' });
    const benefits = new Set<string>();
    t.benefits.forEach((b, j) => {
      const at = `tiers.${i}.benefits.${j}`;
      if (benefits.has(b.code)) problems.push({ path: `${at}.code`, message: 'must be unique' });
      benefits.add(b.code);
      if (b.kind === 'quota' && !b.quota)
        problems.push({ path: `${at}.quota`, message: 'a quota benefit needs its quota' });
      if (b.kind === 'multiplier' && b.value === undefined)
        problems.push({ path: `${at}.value`, message: 'a multiplier needs its value' });
    });
  });
  if (l.basis === 'score' && !l.score?.components.length)
    problems.push({ path: 'score', message: 'a score basis needs its components' });
  return problems;
}

export function rankOf(l: Ladder, code: string): number {
  const i = l.tiers.findIndex((t) => t.code === code);
  return i < 0 ? 0 : i; // a code the ladder no longer has counts as the entry tier
}

const tierAt = (l: Ladder, rank: number) => l.tiers[rank] as TierDef;

/** The highest tier open to all (not invite-only) that the basis reaches. */
export function qualifiedRank(l: Ladder, basis: number): number {
  let rank = 0;
  l.tiers.forEach((t, i) => {
    if (!t.inviteOnly && t.threshold <= basis) rank = i;
  });
  return rank;
}

/** Invite-only tiers above the member's that the basis reaches. */
export function eligibleCodes(l: Ladder, m: Pick<MemberTier, 'tier' | 'basis'>): string[] {
  const rank = rankOf(l, m.tier);
  return l.tiers
    .filter((t, i) => t.inviteOnly && i > rank && t.threshold <= m.basis)
    .map((t) => t.code);
}

/** The next tier open to all above the member's, and how much more basis it needs. */
export function nextTier(l: Ladder, m: Pick<MemberTier, 'tier' | 'basis'>) {
  const rank = rankOf(l, m.tier);
  const next = l.tiers.find((t, i) => i > rank && !t.inviteOnly);
  return next
    ? { code: next.code, name: next.name, needed: Math.max(0, next.threshold - m.basis) }
    : null;
}

/** How long a tier reached at `at` lasts: periodic ladders' validity; the entry tier for good. */
export function validityFrom(l: Ladder, rank: number, at: Date, timeZone: string): Date | null {
  return l.evaluation === 'periodic' && rank > 0
    ? addMonthsLocal(at, l.validityMonths, timeZone)
    : null;
}

/** The entry tier, for a member the tiers module has no row for yet. */
export function entryTier(l: Ladder, since: Date): MemberTier {
  return {
    tier: tierAt(l, 0).code,
    since,
    validUntil: null,
    overridden: false,
    basis: 0,
    warnedFor: null,
  };
}

export interface Decision {
  state: MemberTier;
  changes: TierChange[];
}

function moveTo(
  l: Ladder,
  m: MemberTier,
  rank: number,
  why: Why,
  at: Date,
  validUntil: Date | null,
): Decision {
  const to = tierAt(l, rank).code;
  const state: MemberTier = {
    ...m,
    tier: to,
    since: to === m.tier ? m.since : at,
    validUntil,
    overridden: false,
    warnedFor: null,
  };
  return { state, changes: [{ from: m.tier, to, why, validUntil, at }] };
}

/** The tier one level down that is open to all (an invite-only tier is never stepped into). */
export function oneLevelDown(l: Ladder, rank: number): number {
  for (let i = rank - 1; i > 0; i--) if (!tierAt(l, i).inviteOnly) return i;
  return 0;
}

/** Whether the member still qualifies for the tier they hold (an invited tier: its threshold). */
function keepsTier(l: Ladder, m: MemberTier): boolean {
  const rank = rankOf(l, m.tier);
  const t = tierAt(l, rank);
  return t.inviteOnly ? m.basis >= t.threshold : qualifiedRank(l, m.basis) >= rank;
}

/**
 * Validity has ended (`validUntil` ≤ now): evaluate at that moment. Periodic: still qualified →
 * renewed for another period from the end of this one (or up, if an override kept the member
 * below what they reached); not → down, to what they qualify for or one level. Immediate (an
 * override that ran out): the tier follows the basis again.
 */
export function atValidityEnd(l: Ladder, m: MemberTier, timeZone: string): Decision {
  const end = m.validUntil;
  if (end === null) return { state: m, changes: [] };
  const released = { ...m, overridden: false };
  if (l.evaluation === 'immediate') {
    const followed = follow(l, { ...released, validUntil: null }, end);
    return followed.changes.length
      ? followed
      : { state: { ...released, validUntil: null }, changes: [] };
  }
  const rank = rankOf(l, m.tier);
  const q = qualifiedRank(l, m.basis);
  if (keepsTier(l, m)) {
    // The entry tier needs no renewal: it simply has no end.
    if (rank === 0 && q === 0) return { state: { ...released, validUntil: null }, changes: [] };
    if (q > rank) return moveTo(l, released, q, 'upgrade', end, validityFrom(l, q, end, timeZone));
    return moveTo(l, released, rank, 'renewal', end, validityFrom(l, rank, end, timeZone));
  }
  const to = l.downgrade === 'to_qualified' ? q : Math.max(q, oneLevelDown(l, rank));
  return moveTo(l, released, to, 'downgrade', end, validityFrom(l, to, end, timeZone));
}

/**
 * Immediate evaluation: the tier the basis qualifies for — or an invited tier, while its threshold
 * is reached and nothing higher is.
 */
function follow(l: Ladder, m: MemberTier, at: Date): Decision {
  const rank = rankOf(l, m.tier);
  const q = qualifiedRank(l, m.basis);
  const target = tierAt(l, rank).inviteOnly && keepsTier(l, m) ? Math.max(rank, q) : q;
  if (target === rank) return { state: m, changes: [] };
  return moveTo(l, m, target, target > rank ? 'upgrade' : 'downgrade', at, null);
}

/** The override still holds at `at`. */
const overrideHolds = (m: MemberTier, at: Date) =>
  m.overridden && (m.validUntil === null || m.validUntil > at);

/**
 * The member's basis is now `basis` (growth credited or deducted, a window moved, a ladder
 * changed): first any validity that ended by `at`, judged on what the member had before the
 * change (`before`; the stored basis when the caller does not know better), then immediate
 * ladders follow the basis and periodic ones move up at once (down only at validity end). An
 * override is left alone.
 */
export function evaluate(
  l: Ladder,
  m: MemberTier,
  basis: number,
  at: Date,
  timeZone: string,
  before: number = m.basis,
): Decision {
  let state: MemberTier = { ...m, basis: before };
  const changes: TierChange[] = [];
  // Validity that ended before now is settled first, period by period, at the moments it ended.
  while (state.validUntil !== null && state.validUntil <= at) {
    const d = atValidityEnd(l, state, timeZone);
    state = d.state;
    changes.push(...d.changes);
    if (d.changes.length === 0) break;
  }
  state = { ...state, basis };
  if (overrideHolds(state, at)) return { state, changes };
  if (l.evaluation === 'immediate') {
    const d = follow(l, state, at);
    return { state: d.state, changes: [...changes, ...d.changes] };
  }
  const rank = rankOf(l, state.tier);
  const q = qualifiedRank(l, basis);
  if (q > rank) {
    const d = moveTo(l, state, q, 'upgrade', at, validityFrom(l, q, at, timeZone));
    return { state: d.state, changes: [...changes, ...d.changes] };
  }
  return { state, changes };
}

/**
 * An invitation to an invite-only tier the member is eligible for; a member who also reaches a
 * tier above it (kept below by an override) moves on up, as any evaluation would.
 */
export function invite(
  l: Ladder,
  m: MemberTier,
  code: string,
  at: Date,
  timeZone: string,
): Decision | 'not_eligible' | 'unchanged' {
  const rank = l.tiers.findIndex((t) => t.code === code);
  if (m.tier === code) return 'unchanged';
  if (!eligibleCodes(l, m).includes(code)) return 'not_eligible';
  const invited = moveTo(l, m, rank, 'invite', at, validityFrom(l, rank, at, timeZone));
  const then = evaluate(l, invited.state, m.basis, at, timeZone);
  return { state: then.state, changes: [...invited.changes, ...then.changes] };
}

/** An operator's override: this tier until `validUntil` (or until another override). */
export function override(
  l: Ladder,
  m: MemberTier,
  code: string,
  at: Date,
  validUntil: Date | null,
) {
  const d = moveTo(l, m, rankOf(l, code), 'override', at, validUntil);
  return { ...d, state: { ...d.state, overridden: true } };
}

/**
 * A status match (等级匹配): the member starts at `code` for the ladder's validity, as if they had
 * just qualified for it — or nothing, when they hold it or a higher tier already (a match never
 * lowers a tier) or the ladder has no such tier. On an immediate ladder, which follows the basis
 * at every change, the matched tier is held as an override is, until its validity ends; a
 * periodic ladder keeps it as any upgrade, and re-evaluates it when the validity ends.
 */
export function match(
  l: Ladder,
  m: MemberTier,
  code: string,
  at: Date,
  timeZone: string,
): Decision | null {
  const rank = l.tiers.findIndex((t) => t.code === code);
  if (rank <= 0 || rank <= rankOf(l, m.tier)) return null;
  const d = moveTo(l, m, rank, 'match', at, addMonthsLocal(at, l.validityMonths, timeZone));
  return l.evaluation === 'immediate' ? { ...d, state: { ...d.state, overridden: true } } : d;
}

/** The benefits a member has: the entry tier's (everyone's) and their own tier's. */
export function benefitsOf(l: Ladder, code: string): Benefit[] {
  const own = tierAt(l, rankOf(l, code));
  const entry = tierAt(l, 0);
  const all = own === entry ? entry.benefits : [...entry.benefits, ...own.benefits];
  // A tier's own benefit replaces the entry tier's of the same code.
  return [...new Map(all.map((b) => [b.code, b])).values()];
}

/** The earn multiplier of a tier: its highest `multiplier` benefit, 1 without one. */
export function multiplierOf(l: Ladder, code: string): number {
  return benefitsOf(l, code)
    .filter((b) => b.kind === 'multiplier')
    .reduce((m, b) => Math.max(m, b.value ?? 1), 1);
}

/** Measures of one source over the score's window, for one member. */
export interface Measures {
  sum: number;
  count: number;
  days: number;
}

/**
 * A composite score: floor(Σ weight × min(measure, cap)). Weights are read to four decimals and
 * summed as integers, so that 0.29 × 100 is 29, not 28.999….
 */
export function scoreOf(
  components: ScoreComponent[],
  measures: ReadonlyMap<string, Measures>,
  credit: number | null,
): number {
  let total = 0; // in ten-thousandths
  for (const c of components) {
    const m = c.source === 'credit' ? (credit ?? 0) : (measures.get(c.source)?.[c.measure] ?? 0);
    const capped = Math.max(0, c.cap === undefined ? m : Math.min(m, c.cap));
    total += Math.round(c.weight * 10_000) * capped;
  }
  return Math.floor(total / 10_000);
}

/** Which period a quota use counts in: `2026-11` for a monthly quota, `2026` for a yearly one. */
export function quotaPeriod(period: 'month' | 'year', localDate: string): string {
  return period === 'month' ? localDate.slice(0, 7) : localDate.slice(0, 4);
}
