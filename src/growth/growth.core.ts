// Growth value's rules, with no I/O. Growth value is a currency of its own on the ledger, one
// ledger per program; what is growth-specific — its mode, its sources and their daily caps, the
// spike rule — is decided here.

import type { ExpiryPolicy } from '../ledger/expiry.core.ts';
import type { Limit } from '../ledger/ledger.core.ts';

/** The growth ledger of a program. */
export const growthLedger = (programId: string) => `growth:${programId}`;

/** Sources every program knows; a program may name its own besides. */
export const STANDARD_SOURCES = [
  'spend',
  'checkin',
  'review',
  'share',
  'topup',
  'campaign',
  'manual',
] as const;

export interface GrowthSource {
  source: string;
  /** Most growth value a member may earn from this source in one local day. */
  dailyCap: number | null;
  /** For `spend`: growth value per `per` fen of a purchase; 1 per ¥1 when absent. */
  rate?: { value: number; per: number } | undefined;
}

/** Growth a purchase of `amount` fen earns under the policy's `spend` source (floored); 0 without one. */
export function spendGrowth(policy: GrowthPolicy, amount: number): number {
  const spend = policy.sources.find((s) => s.source === 'spend');
  if (!spend) return 0;
  const { value, per } = spend.rate ?? { value: 1, per: 100 };
  return Number((BigInt(amount) * BigInt(value)) / BigInt(per));
}

export interface GrowthPolicy {
  /**
   * one_way: only rises (a deduction is refused); two_way: rises and falls, never below zero;
   * rolling: each unit counts for `windowMonths` after the day it was earned.
   */
  mode: 'one_way' | 'two_way' | 'rolling';
  windowMonths: number;
  sources: GrowthSource[];
  /** Most growth value a member may earn in one local day, over every source. */
  memberDailyCap: number | null;
  /**
   * An alert when a member's growth today passes `factor` × their daily average over the 30 days
   * before, and `minimum`. Null: no spike alerts.
   */
  spike: { factor: number; minimum: number } | null;
}

export const DEFAULT_POLICY: GrowthPolicy = {
  mode: 'one_way',
  windowMonths: 12,
  sources: STANDARD_SOURCES.map((source) => ({ source, dailyCap: null })),
  memberDailyCap: null,
  spike: { factor: 5, minimum: 500 },
};

/** How the growth ledger's lots expire under a policy: a rolling window is lot expiry. */
export function growthExpiry(policy: GrowthPolicy): ExpiryPolicy {
  return policy.mode === 'rolling'
    ? { kind: 'months', months: policy.windowMonths }
    : { kind: 'never' };
}

/**
 * The daily caps a credit counts against, as the ledger's limit counters: the source's and the
 * member's across sources, for the local day. Counters only grow: a deduction does not give a
 * day's cap back.
 */
export function capsFor(
  policy: GrowthPolicy,
  memberId: string,
  source: string,
  day: string,
  /** When the local day ends: the counters may be forgotten after. */
  dayEnds: Date,
): Limit[] {
  const caps: Limit[] = [];
  const cap = policy.sources.find((s) => s.source === source)?.dailyCap ?? null;
  if (cap !== null)
    caps.push({ key: sourceCapKey(day, memberId, source), max: cap, forgetAfter: dayEnds });
  if (policy.memberDailyCap !== null) {
    caps.push({
      key: memberCapKey(day, memberId),
      max: policy.memberDailyCap,
      forgetAfter: dayEnds,
    });
  }
  return caps;
}

const sourceCapKey = (day: string, memberId: string, source: string) =>
  `day:${day}|${memberId}|${source}`;
const memberCapKey = (day: string, memberId: string) => `day:${day}|${memberId}`;

/** Whether today's growth is a spike: above the factor times the 30-day daily average, and the minimum. */
export function isSpike(rule: GrowthPolicy['spike'], today: number, last30Days: number): boolean {
  if (!rule) return false;
  return today > rule.minimum && today * 30 > rule.factor * last30Days;
}
