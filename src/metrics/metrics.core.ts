// A program's dashboard figures, without I/O: which local days a request asks for, and how the
// figures the repository reads become the answer.

import { localDateString } from '../ledger/expiry.core.ts';
import { invalidField } from '../shared/errors.ts';

/** Days a request may span, both ends included (a leap year). */
export const MAX_DAYS = 366;
/** Days when the request names no start: the last 30 local days, today included. */
export const DEFAULT_DAYS = 30;
/** Rules listed, most points first. */
export const TOP_RULES = 10;

/** Local calendar days, YYYY-MM-DD, both ends included. */
export interface Period {
  from: string;
  to: string;
}

const DAY = 86_400_000;

/** Days since 1970-01-01 of a YYYY-MM-DD date (a calendar day, no time zone). */
function dayNumber(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) / DAY;
}

function dateOf(dayNo: number): string {
  return new Date(dayNo * DAY).toISOString().slice(0, 10);
}

/** Days from `from` to `to`, both included (0 or less when `from` comes after `to`). */
export function daysIn(p: Period): number {
  return dayNumber(p.to) - dayNumber(p.from) + 1;
}

/** Each day of the period, in order. */
export function daysOf(p: Period): string[] {
  const first = dayNumber(p.from);
  return Array.from({ length: Math.max(0, daysIn(p)) }, (_, i) => dateOf(first + i));
}

/**
 * The period a request asks for, in the program's time zone: `to` defaults to today there, and
 * `from` to 29 days before `to`. Refused (400, naming the field) when `from` comes after `to` or
 * the period spans more than 366 days.
 */
export function periodOf(
  asked: { from?: string | undefined; to?: string | undefined },
  now: Date,
  timezone: string,
): Period {
  const to = asked.to ?? localDateString(now, timezone);
  const from = asked.from ?? dateOf(dayNumber(to) - (DEFAULT_DAYS - 1));
  const period = { from, to };
  if (daysIn(period) < 1) throw invalidField('from', 'must not be after to');
  if (daysIn(period) > MAX_DAYS) {
    throw invalidField('to', `the period spans ${daysIn(period)} days; at most ${MAX_DAYS}`);
  }
  return period;
}

/** The points that moved to and from members on one local day, by kind. */
export interface DayFlows {
  issued: number;
  returned: number;
  redeemed: number;
  expired: number;
  /** Net: operators' credits less their debits. */
  adjusted: number;
  /** Net: points converted in from other programs less points (and fees) converted out. */
  exchanged: number;
}

/** What members' balances changed by over a day: what they got less what left them. */
export const netOf = (f: DayFlows) =>
  f.issued - f.returned - f.redeemed - f.expired + f.adjusted + f.exchanged;

export const NO_FLOWS: DayFlows = {
  issued: 0,
  returned: 0,
  redeemed: 0,
  expired: 0,
  adjusted: 0,
  exchanged: 0,
};

/** The period's sums of each day's figures. */
export function totalsOf(days: (DayFlows & { enrolled: number })[]): DayFlows & {
  enrolled: number;
} {
  const sum = (f: (d: DayFlows & { enrolled: number }) => number) =>
    days.reduce((s, d) => s + f(d), 0);
  return {
    enrolled: sum((d) => d.enrolled),
    issued: sum((d) => d.issued),
    returned: sum((d) => d.returned),
    redeemed: sum((d) => d.redeemed),
    expired: sum((d) => d.expired),
    adjusted: sum((d) => d.adjusted),
    exchanged: sum((d) => d.exchanged),
  };
}

export interface TierCount {
  tier: string;
  name: string;
  members: number;
}

/**
 * Members per tier in the ladder's order. Members with no tier row of their own are on the entry
 * tier, so it holds whoever the other tiers do not; a tier no longer in the ladder (not expected:
 * changing the ladder moves its members) is listed after the ladder's, by code.
 */
export function tierDistribution(
  ladder: { code: string; name: string }[],
  members: number,
  held: Map<string, number>,
): TierCount[] {
  const entry = ladder[0]?.code;
  const known = new Set(ladder.map((t) => t.code));
  let others = 0;
  for (const [code, n] of held) if (code !== entry) others += n;
  const listed = ladder.map((t) => ({
    tier: t.code,
    name: t.name,
    members: t.code === entry ? Math.max(0, members - others) : (held.get(t.code) ?? 0),
  }));
  const unknown = [...held]
    .filter(([code]) => !known.has(code))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([code, n]) => ({ tier: code, name: code, members: n }));
  return [...listed, ...unknown];
}
