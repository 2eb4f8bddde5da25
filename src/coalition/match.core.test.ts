import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type MatchFacts, type MatchTable, matchedTier, matchWindow } from './match.core.ts';

const LADDER = ['member', 'silver', 'gold', 'platinum'];
const RANKS = new Map([
  ['silver', 1],
  ['gold', 2],
  ['platinum', 3],
  ['diamond', 4],
]);

const table: Pick<MatchTable, 'maxMatchTier' | 'rules'> = {
  maxMatchTier: 'gold',
  rules: [
    { coalitionLevel: 'diamond', tier: 'platinum' },
    { coalitionLevel: 'gold', tier: 'silver' },
    { programId: 'hotel-b', tier: 'platinum', matchTier: 'gold' },
  ],
};

const facts = (over: Partial<MatchFacts> = {}): MatchFacts => ({
  levelRank: null,
  levelRanks: RANKS,
  elsewhere: new Map(),
  ...over,
});

describe('matchedTier', () => {
  it('gives the highest tier a rule the member meets gives, capped at maxMatchTier', () => {
    expect(matchedTier(table, LADDER, facts({ levelRank: 4 }))).toEqual({
      tier: 'gold',
      rule: { coalitionLevel: 'diamond', tier: 'platinum' },
    });
    // A level between two rules meets the lower one ("at least").
    expect(matchedTier(table, LADDER, facts({ levelRank: 3 }))?.tier).toBe('silver');
    expect(matchedTier(table, LADDER, facts({ levelRank: 1 }))).toBeNull();
    expect(matchedTier(table, LADDER, facts())).toBeNull();
  });

  it('matches a tier at another program, at it or above', () => {
    const held = (tier: string) =>
      facts({ elsewhere: new Map([['hotel-b', { ladder: [...LADDER, 'black'], tier }]]) });
    expect(matchedTier(table, LADDER, held('platinum'))?.tier).toBe('gold');
    expect(matchedTier(table, LADDER, held('black'))?.tier).toBe('gold');
    expect(matchedTier(table, LADDER, held('gold'))).toBeNull();
  });

  it('matches nobody through a level, tier or cap that no longer exists', () => {
    expect(
      matchedTier({ ...table, maxMatchTier: 'gone' }, LADDER, facts({ levelRank: 4 })),
    ).toBeNull();
    expect(matchedTier(table, ['member', 'silver'], facts({ levelRank: 4 }))).toBeNull();
    expect(
      matchedTier(table, LADDER, facts({ levelRank: 4, levelRanks: new Map([['gold', 2]]) }))?.tier,
    ).toBe('silver');
  });

  it('never lands above the cap, and a higher level never matches lower', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...LADDER),
        fc.array(
          fc.record({
            coalitionLevel: fc.constantFrom(...RANKS.keys()),
            tier: fc.constantFrom(...LADDER),
          }),
          { maxLength: 6 },
        ),
        fc.integer({ min: 0, max: 5 }),
        (cap, rules, rank) => {
          const t = { maxMatchTier: cap, rules };
          const at = (r: number) =>
            LADDER.indexOf(matchedTier(t, LADDER, facts({ levelRank: r }))?.tier ?? 'member');
          expect(at(rank)).toBeLessThanOrEqual(LADDER.indexOf(cap));
          expect(at(rank + 1)).toBeGreaterThanOrEqual(at(rank));
        },
      ),
    );
  });
});

describe('matchWindow', () => {
  const t = { createdAt: new Date('2026-06-01T00:00:00Z'), windowDays: 30 };
  it('is open from enrolling for windowDays, to members who enrolled once matching was offered', () => {
    const enrolled = new Date('2026-06-10T00:00:00Z');
    expect(matchWindow(t, enrolled, enrolled)).toBe('open');
    expect(matchWindow(t, enrolled, new Date('2026-07-09T23:59:59Z'))).toBe('open');
    expect(matchWindow(t, enrolled, new Date('2026-07-10T00:00:00Z'))).toBe('closed');
    expect(matchWindow(t, new Date('2026-05-31T23:59:59Z'), enrolled)).toBe('not_new');
    expect(matchWindow(t, t.createdAt, t.createdAt)).toBe('open');
  });
});
