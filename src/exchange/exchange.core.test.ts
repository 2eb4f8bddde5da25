import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../shared/errors.ts';
import { type ExchangeRate, feeOf, type PairTerms, quote } from './exchange.core.ts';

const rate = (programId: string, pointsPerHubUnit: number): ExchangeRate => ({
  programId,
  pointsPerHubUnit,
  pointValueE4: 10_000,
});

const open: PairTerms = {
  fromProgramId: 'a',
  toProgramId: 'b',
  feeBp: 0,
  feeMinimum: 0,
  minPoints: 1,
  maxPoints: 1_000_000_000,
  dailyLimit: 1_000_000_000,
};

describe('quote', () => {
  it('converts at the unified standard: 10,000 A points at 100 a hub unit buy 5,000 B points at 50', () => {
    const q = quote(
      rate('a', 100),
      rate('b', 50),
      { ...open, feeBp: 200, feeMinimum: 10 },
      {
        points: 10_000,
      },
    );
    expect(q).toEqual({
      converted: 10_000,
      fee: 200,
      debited: 10_200,
      credited: 5_000,
      rate: { fromPointsPerHubUnit: 100, toPointsPerHubUnit: 50 },
    });
  });

  it('pays only what buys the floor: 10 points at 3 → 7 buy 23 and cost 10; 11 buy 25 and cost 11', () => {
    expect(quote(rate('a', 3), rate('b', 7), open, { points: 10 })).toMatchObject({
      credited: 23,
      converted: 10,
    });
    // 11 × 7 / 3 = 25.67: 25 points, which 10.71 → 11 points buy
    expect(quote(rate('a', 3), rate('b', 7), open, { points: 11 })).toMatchObject({
      credited: 25,
      converted: 11,
    });
    // 7 → 3: 12 and 13 points both buy 5 (5.14, 5.57), which cost 11.67 → 12 points
    expect(quote(rate('a', 7), rate('b', 3), open, { points: 12 })).toMatchObject({
      credited: 5,
      converted: 12,
    });
    expect(quote(rate('a', 7), rate('b', 3), open, { points: 13 })).toMatchObject({
      credited: 5,
      converted: 12,
    });
  });

  it('refuses what buys nothing, and what the pair’s range refuses', () => {
    const codeOf = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof DomainError ? [e.code, e.extensions] : e;
      }
      return 'no error';
    };
    expect(codeOf(() => quote(rate('a', 10), rate('b', 1), open, { points: 9 }))).toEqual([
      'conversion_out_of_range',
      { fewest: 10 },
    ]);
    const ranged = { ...open, minPoints: 100, maxPoints: 1000, dailyLimit: 500 };
    expect(codeOf(() => quote(rate('a', 1), rate('b', 1), ranged, { points: 99 }))).toEqual([
      'conversion_out_of_range',
      { minPoints: 100 },
    ]);
    expect(codeOf(() => quote(rate('a', 1), rate('b', 1), ranged, { points: 1001 }))).toEqual([
      'conversion_out_of_range',
      { maxPoints: 1000 },
    ]);
    expect(codeOf(() => quote(rate('a', 1), rate('b', 1), ranged, { points: 501 }))).toEqual([
      'conversion_out_of_range',
      { dailyLimit: 500 },
    ]);
    // Huge rates: no more than one transfer credits, nor more than settlement values exactly.
    expect(
      codeOf(() => quote(rate('a', 1), rate('b', 1_000_000_000), open, { points: 2 })),
    ).toEqual(['conversion_out_of_range', { maxCredited: 1_000_000_000 }]);
    const precious = { ...rate('b', 1), pointValueE4: 100_000_000_000 };
    expect(codeOf(() => quote(rate('a', 1), precious, open, { points: 1_000_000 }))).toEqual([
      'conversion_out_of_range',
      {},
    ]);
  });

  it('charges the fee rounded up, at least the minimum', () => {
    expect(feeOf({ feeBp: 250, feeMinimum: 0 }, 1000)).toBe(25);
    expect(feeOf({ feeBp: 250, feeMinimum: 0 }, 1001)).toBe(26);
    expect(feeOf({ feeBp: 250, feeMinimum: 30 }, 1000)).toBe(30);
    expect(feeOf({ feeBp: 0, feeMinimum: 0 }, 1000)).toBe(0);
  });

  it('never creates value: what B credits is worth at most what A gives, and A gives no point more than buys it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.oneof(
          fc.record({ points: fc.integer({ min: 1, max: 1_000_000_000 }) }),
          fc.record({ receive: fc.integer({ min: 1, max: 1_000_000_000 }) }),
        ),
        fc.integer({ min: 0, max: 10_000 }),
        (a, b, ask, feeBp) => {
          let q: ReturnType<typeof quote>;
          try {
            q = quote(rate('a', a), rate('b', b), { ...open, feeBp }, ask);
          } catch (e) {
            expect((e as DomainError).code).toBe('conversion_out_of_range');
            return;
          }
          const big = BigInt;
          // value in hub units × a × b: credited / b ≤ converted / a
          expect(big(q.credited) * big(a)).toBeLessThanOrEqual(big(q.converted) * big(b));
          // one point fewer would not buy it
          expect(big(q.converted - 1) * big(b)).toBeLessThan(big(q.credited) * big(a));
          if ('points' in ask) {
            expect(q.converted).toBeLessThanOrEqual(ask.points);
            // and nothing more could be bought with what was offered
            expect(big(q.credited + 1) * big(a)).toBeGreaterThan(big(ask.points) * big(b));
          } else {
            expect(q.credited).toBeGreaterThanOrEqual(ask.receive);
          }
          expect(q.debited).toBe(q.converted + q.fee);
          expect(q.fee).toBe(feeOf({ feeBp, feeMinimum: 0 }, q.converted));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
