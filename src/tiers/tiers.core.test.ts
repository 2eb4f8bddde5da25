import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addMonthsLocal } from '../ledger/expiry.core.ts';
import {
  atValidityEnd,
  evaluate,
  type Ladder,
  ladderProblems,
  type MemberTier,
  match,
  qualifiedRank,
  scoreOf,
} from './tiers.core.ts';

const TZ = 'Asia/Shanghai';

const ladder: Ladder = {
  basis: 'growth',
  evaluation: 'periodic',
  validityMonths: 12,
  downgrade: 'one_level',
  warningDays: 30,
  tiers: [
    { code: 'a', name: 'A', threshold: 0, inviteOnly: false, benefits: [] },
    { code: 'b', name: 'B', threshold: 100, inviteOnly: false, benefits: [] },
    { code: 'c', name: 'C', threshold: 200, inviteOnly: true, benefits: [] },
    { code: 'd', name: 'D', threshold: 300, inviteOnly: false, benefits: [] },
  ],
};

const member = (over: Partial<MemberTier> = {}): MemberTier => ({
  tier: 'a',
  since: new Date('2026-01-01T00:00:00Z'),
  validUntil: null,
  overridden: false,
  basis: 0,
  warnedFor: null,
  ...over,
});

describe('addMonthsLocal', () => {
  it('is local midnight of the same day N months later; a missing day is the first after', () => {
    const at = (s: string) => addMonthsLocal(new Date(s), 12, TZ).toISOString();
    // Noon on 2026-03-15 in Shanghai → midnight 2027-03-15 in Shanghai.
    expect(at('2026-03-15T04:00:00Z')).toBe('2027-03-14T16:00:00.000Z');
    // 2028-02-29 (leap day) + 12 months → 2029-03-01.
    expect(at('2028-02-29T04:00:00Z')).toBe('2029-02-28T16:00:00.000Z');
    // 23:30 on 31 December in Shanghai is still that day there.
    expect(at('2026-12-31T15:30:00Z')).toBe('2027-12-30T16:00:00.000Z');
    expect(addMonthsLocal(new Date('2027-01-31T04:00:00Z'), 1, TZ).toISOString()).toBe(
      '2027-02-28T16:00:00.000Z',
    );
    expect(addMonthsLocal(new Date('2027-03-15T04:00:00Z'), -12, TZ).toISOString()).toBe(
      '2026-03-14T16:00:00.000Z',
    );
  });

  it('always lands on a local midnight after the instant, months later', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }),
        fc.integer({ min: 1, max: 36 }),
        (d, n) => {
          const end = addMonthsLocal(d, n, TZ);
          expect(end.getTime()).toBeGreaterThan(d.getTime());
          // Shanghai is UTC+8 all year: local midnight is 16:00 UTC.
          expect(end.getUTCHours()).toBe(16);
          expect(end.getTime() - d.getTime()).toBeGreaterThan((n * 28 - 1) * 86_400_000);
        },
      ),
    );
  });
});

describe('the rules', () => {
  it('never qualifies a member into an invite-only tier', () => {
    expect(qualifiedRank(ladder, 250)).toBe(1);
    expect(qualifiedRank(ladder, 300)).toBe(3);
  });

  it('moves down one level, skipping an invite-only tier', () => {
    const d = atValidityEnd(
      ladder,
      member({ tier: 'd', basis: 0, validUntil: new Date('2027-01-01T16:00:00Z') }),
      TZ,
    );
    expect(d.state.tier).toBe('b');
    expect(d.changes[0]).toMatchObject({ from: 'd', to: 'b', why: 'downgrade' });
  });

  it('settles each period that ended before a late evaluation', () => {
    const d = evaluate(
      ladder,
      member({ tier: 'd', validUntil: new Date('2027-01-01T16:00:00Z') }),
      0,
      new Date('2029-06-01T00:00:00Z'),
      TZ,
    );
    expect(d.changes.map((c) => c.to)).toEqual(['b', 'a']);
    expect(d.state).toMatchObject({ tier: 'a', validUntil: null });
  });

  it('finds what is wrong with a ladder', () => {
    expect(ladderProblems(ladder)).toEqual([]);
    expect(
      ladderProblems({ ...ladder, tiers: [...ladder.tiers].reverse() }).map((p) => p.path),
    ).toContain('tiers.0.threshold');
  });
});

describe('scoreOf', () => {
  it('is floor(Σ weight × min(measure, cap)) in exact decimals', () => {
    const measures = new Map([
      ['spend', { sum: 100, count: 3, days: 2 }],
      ['review', { sum: 4, count: 4, days: 1 }],
    ]);
    expect(scoreOf([{ source: 'spend', measure: 'sum', weight: 0.29 }], measures, null)).toBe(29); // 0.29 × 100 in floating point is 28.999…
    expect(
      scoreOf(
        [
          { source: 'spend', measure: 'days', weight: 10, cap: 1 },
          { source: 'review', measure: 'count', weight: 2.5 },
          { source: 'credit', measure: 'sum', weight: 0.1 },
          { source: 'missing', measure: 'sum', weight: 100 },
        ],
        measures,
        555,
      ),
    ).toBe(10 + 10 + 55);
  });
});

describe('status match', () => {
  const at = new Date('2026-06-01T04:00:00Z');

  it('moves a member up to the matched tier with the ladder’s validity, why "match"', () => {
    const d = match(ladder, member(), 'd', at, TZ);
    expect(d?.state).toMatchObject({ tier: 'd', since: at, overridden: false });
    expect(d?.state.validUntil).toEqual(addMonthsLocal(at, 12, TZ));
    expect(d?.changes).toEqual([
      { from: 'a', to: 'd', why: 'match', validUntil: addMonthsLocal(at, 12, TZ), at },
    ]);
    // Validity's end judges it like any tier: not qualified, one level down (past invite-only c).
    const end = atValidityEnd(ladder, d?.state as MemberTier, TZ);
    expect(end.state.tier).toBe('b');
  });

  it('never lowers a tier, never re-applies one held, and ignores a code the ladder lacks', () => {
    expect(match(ladder, member({ tier: 'd' }), 'b', at, TZ)).toBeNull();
    expect(match(ladder, member({ tier: 'b' }), 'b', at, TZ)).toBeNull();
    expect(match(ladder, member(), 'a', at, TZ)).toBeNull();
    expect(match(ladder, member(), 'gone', at, TZ)).toBeNull();
  });

  it('holds the tier on an immediate ladder until validity ends, then follows the basis', () => {
    const immediate: Ladder = { ...ladder, evaluation: 'immediate' };
    const d = match(immediate, member(), 'b', at, TZ);
    expect(d?.state).toMatchObject({ tier: 'b', overridden: true });
    // A change of basis in the meantime leaves it alone…
    const later = new Date('2026-09-01T00:00:00Z');
    expect(evaluate(immediate, d?.state as MemberTier, 10, later, TZ).state.tier).toBe('b');
    // …and after its validity the basis decides again.
    const after = new Date('2027-07-01T00:00:00Z');
    expect(evaluate(immediate, d?.state as MemberTier, 10, after, TZ).state.tier).toBe('a');
  });
});
