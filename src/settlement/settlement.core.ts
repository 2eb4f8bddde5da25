// Settlement between the coalition's brands, with no I/O: which month a line belongs to, and how a
// period's lines net into one statement per pair of parties.
//
// A line says one party owes another an amount in fen for one business row (a conversion, its
// fee, a pool benefit used, an offer's reward). Lines are written in the transaction of that row
// and never change; a period's statement is their sum, frozen when the period closes.

import { localDateString } from '../ledger/expiry.core.ts';

/** The coalition operator as a party: it earns exchange fees and runs the benefits pool. */
export const COALITION = 'coalition';

/**
 * The coalition's time zone: a line's period is the month of its business here, for every brand
 * (one statement per month, whatever zone each program keeps its own days in).
 */
export const COALITION_TIMEZONE = 'Asia/Shanghai';

export const SETTLEMENT_KINDS = ['conversion', 'fee', 'pool', 'offer'] as const;
export type SettlementKind = (typeof SETTLEMENT_KINDS)[number];

export interface SettlementLineInput {
  kind: SettlementKind;
  /**
   * The business row the line is for (a conversion id, a pool use id, an offer grant id): one line
   * per kind and source; writing it again writes nothing.
   */
  sourceId: string;
  /** Who owes and who is owed: program ids or COALITION, never the same party. */
  debtor: string;
  creditor: string;
  /** The points the line values, when it values points (null for a benefit's fixed cost). */
  points: number | null;
  /** Whole fen, more than zero. */
  amountFen: number;
  memberId: string | null;
  /** When the business happened: its period is that month in the coalition's time zone. */
  at: Date;
  /** Facts shown on the line (a benefit's name, the rates used). */
  detail?: Record<string, unknown>;
}

export interface SettlementLine extends Omit<SettlementLineInput, 'at' | 'detail'> {
  id: string;
  period: string;
  detail: Record<string, unknown>;
  createdAt: Date;
}

/** A month, `YYYY-MM`. */
export const PERIOD = /^[0-9]{4}-(0[1-9]|1[0-2])$/;

/** The period an instant falls in. */
export function periodOf(at: Date): string {
  return localDateString(at, COALITION_TIMEZONE).slice(0, 7);
}

/** Whether every instant of `period` is before `now` (only an ended period can be closed). */
export function hasEnded(period: string, now: Date): boolean {
  return periodOf(now) > period;
}

/**
 * What `points` are worth at `pointValueE4` ten-thousandths of a fen each, in whole fen, half up.
 * Each line rounds once, so a statement is the sum of what its lines say.
 */
export function valueFen(points: number, pointValueE4: number): number {
  const e4 = BigInt(points) * BigInt(pointValueE4);
  return Number((e4 + 5000n) / 10000n);
}

/** One pair of parties in a period: what each owes the other, and the net. */
export interface PairTotal {
  /** The pair in name order, so each pair appears once. */
  a: string;
  b: string;
  /** What a owes b, and b owes a. */
  aOwesB: number;
  bOwesA: number;
  lines: number;
  /** Positive: a pays b; negative: b pays a. */
  net: number;
}

/** Nets lines (or sums of lines per debtor and creditor) into one total per pair. */
export function netPairs(
  sums: { debtor: string; creditor: string; amountFen: number; lines: number }[],
): PairTotal[] {
  const pairs = new Map<string, PairTotal>();
  for (const s of sums) {
    const [a, b] = s.debtor < s.creditor ? [s.debtor, s.creditor] : [s.creditor, s.debtor];
    const key = `${a}|${b}`;
    const pair = pairs.get(key) ?? { a, b, aOwesB: 0, bOwesA: 0, lines: 0, net: 0 };
    if (s.debtor === a) pair.aOwesB += s.amountFen;
    else pair.bOwesA += s.amountFen;
    pair.lines += s.lines;
    pair.net = pair.aOwesB - pair.bOwesA;
    pairs.set(key, pair);
  }
  return [...pairs.values()].sort((x, y) =>
    x.a === y.a ? (x.b < y.b ? -1 : 1) : x.a < y.a ? -1 : 1,
  );
}

/** The pair of two parties in name order, as statements key them. */
export const pairOf = (x: string, y: string): [string, string] => (x < y ? [x, y] : [y, x]);
