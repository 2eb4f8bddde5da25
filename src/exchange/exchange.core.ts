// The coalition's exchange at a unified standard, with no I/O. Each program says how many of its
// points make one hub unit; points of A convert into points of B through the hub:
//
//   credited  = ⌊converted × perHub(B) / perHub(A)⌋
//
// Rounding never creates points: the member receives the floor, and pays exactly the points that
// buy it — the fewest points of A whose hub value is at least what B credits — so no rounding
// ever moves more value into B than left A. The fee is points of A on top, to the coalition.

import { DomainError } from '../shared/errors.ts';

/** A program's place in the exchange. */
export interface ExchangeRate {
  programId: string;
  /** How many of the program's points make one hub unit. */
  pointsPerHubUnit: number;
  /** What one of its points is worth to settle, in ten-thousandths of a fen. */
  pointValueE4: number;
}

/** What the coalition admin approved for one direction; all amounts are points of "from". */
export interface PairTerms {
  fromProgramId: string;
  toProgramId: string;
  /** The fee as hundredths of a percent of the points converted (250 = 2.5%), rounded up. */
  feeBp: number;
  /** The least fee of a conversion. */
  feeMinimum: number;
  /** Points converted (before the fee) per conversion: at least, and at most. */
  minPoints: number;
  maxPoints: number;
  /** Points a member may convert in this direction per day (the coalition's day). */
  dailyLimit: number;
}

export interface Quote {
  /** Points of "from" that buy what is credited. */
  converted: number;
  /** Points of "from" taken on top, to the coalition. */
  fee: number;
  /** What the member gives: converted + fee. */
  debited: number;
  /** Points of "to" the member receives. */
  credited: number;
  rate: { fromPointsPerHubUnit: number; toPointsPerHubUnit: number };
}

/** What a member asks to convert: points of "from", or at least `receive` points of "to". */
export type Ask = { points: number } | { receive: number };

/** The most points one conversion may credit: what the ledger's API moves in one transfer. */
export const MAX_CREDITED = 1_000_000_000;
/** The most a conversion's settlement lines may value, in ten-thousandths of a fen (¥100 million). */
const MAX_VALUE_E4 = 100_000_000_00n * 10_000n;

const outOfRange = (detail: string, extensions: Record<string, unknown> = {}) =>
  new DomainError('conversion_out_of_range', detail, extensions);

/** ⌈a × b / c⌉ and ⌊a × b / c⌋ in exact integers (products overflow doubles at large rates). */
const ceilDiv = (a: number, b: number, c: number) =>
  Number((BigInt(a) * BigInt(b) + BigInt(c) - 1n) / BigInt(c));
const floorDiv = (a: number, b: number, c: number) => Number((BigInt(a) * BigInt(b)) / BigInt(c));

/** The fee on `converted` points: the percentage rounded up, at least the minimum. */
export function feeOf(terms: Pick<PairTerms, 'feeBp' | 'feeMinimum'>, converted: number): number {
  return Math.max(terms.feeMinimum, ceilDiv(converted, terms.feeBp, 10_000));
}

/**
 * What a conversion moves, or why it cannot: `points` converts as much of them as buys whole
 * points of "to"; `receive` converts the fewest points that buy at least that many.
 */
export function quote(from: ExchangeRate, to: ExchangeRate, terms: PairTerms, ask: Ask): Quote {
  const a = from.pointsPerHubUnit;
  const b = to.pointsPerHubUnit;
  // The points of "from" offered: asked for directly, or the fewest that buy `receive`.
  const offered = 'points' in ask ? ask.points : ceilDiv(ask.receive, a, b);
  const credited = floorDiv(offered, b, a);
  if (credited < 1) {
    throw outOfRange(
      `${offered} points of ${from.programId} buy no whole point of ${to.programId} (${a} make one hub unit, of which ${b} points)`,
      { fewest: ceilDiv(1, a, b) },
    );
  }
  const converted = ceilDiv(credited, a, b);
  if (converted < terms.minPoints) {
    throw outOfRange(
      `A conversion from ${from.programId} to ${to.programId} converts at least ${terms.minPoints} points; this one ${converted}`,
      { minPoints: terms.minPoints },
    );
  }
  if (converted > terms.maxPoints) {
    throw outOfRange(
      `A conversion from ${from.programId} to ${to.programId} converts at most ${terms.maxPoints} points; this one ${converted}`,
      { maxPoints: terms.maxPoints },
    );
  }
  if (converted > terms.dailyLimit) {
    throw outOfRange(
      `A member converts at most ${terms.dailyLimit} points a day from ${from.programId} to ${to.programId}; this one ${converted}`,
      { dailyLimit: terms.dailyLimit },
    );
  }
  const fee = feeOf(terms, converted);
  if (credited > MAX_CREDITED) {
    throw outOfRange(
      `A conversion credits at most ${MAX_CREDITED} points of ${to.programId}; this one ${credited}`,
      { maxCredited: MAX_CREDITED },
    );
  }
  // What settlement will owe for it, in ten-thousandths of a fen, kept well inside exact integers.
  if (
    BigInt(credited) * BigInt(to.pointValueE4) > MAX_VALUE_E4 ||
    BigInt(fee) * BigInt(from.pointValueE4) > MAX_VALUE_E4
  ) {
    throw outOfRange(
      `A conversion settles at most ${MAX_VALUE_E4 / 10_000n} fen between brands; this one more`,
    );
  }
  return {
    converted,
    fee,
    debited: converted + fee,
    credited,
    rate: { fromPointsPerHubUnit: a, toPointsPerHubUnit: b },
  };
}
