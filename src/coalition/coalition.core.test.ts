import { describe, expect, it } from 'vitest';
import {
  type CoalitionLevel,
  derivedLevel,
  effectiveLevel,
  keptOnMerge,
  type LevelRule,
  levelsProblems,
  type MemberLevel,
} from './coalition.core.ts';

const LEVELS: CoalitionLevel[] = [
  { code: 'diamond', name: '钻石', rank: 4 },
  { code: 'gold', name: '黄金', rank: 2 },
  { code: 'silver', name: '白银', rank: 1 },
];
const LADDER = ['member', 'silver', 'gold', 'platinum'];
const RULES: LevelRule[] = [
  { level: 'silver', when: { programId: 'a', tierAtLeast: 'silver' } },
  { level: 'gold', when: { programId: 'b', tierAtLeast: 'gold' } },
];
const now = new Date('2026-06-01T00:00:00Z');
const set = (level: string, validUntil: Date | null = null): MemberLevel => ({
  level,
  source: 'alipay',
  validUntil,
  setAt: now,
});

describe('levelsProblems', () => {
  it('wants codes and ranks unique', () => {
    expect(levelsProblems(LEVELS)).toEqual([]);
    expect(levelsProblems([...LEVELS, { code: 'gold', name: 'x', rank: 9 }])).toEqual([
      { path: '3.code', message: 'must be unique' },
    ]);
    expect(levelsProblems([...LEVELS, { code: 'x', name: 'x', rank: 4 }])).toEqual([
      { path: '3.rank', message: 'must be unique' },
    ]);
  });
});

describe('derivedLevel', () => {
  it('is the highest level a held tier meets, at or above the rule’s tier', () => {
    const held = [
      { programId: 'a', ladder: LADDER, tier: 'platinum' },
      { programId: 'b', ladder: LADDER, tier: 'gold' },
    ];
    expect(derivedLevel(RULES, LEVELS, held)).toEqual({
      level: LEVELS[1],
      programId: 'b',
      tier: 'gold',
    });
    expect(derivedLevel(RULES, LEVELS, held.slice(0, 1))?.level.code).toBe('silver');
    expect(
      derivedLevel(RULES, LEVELS, [{ programId: 'b', ladder: LADDER, tier: 'silver' }]),
    ).toBeNull();
    // A level no longer defined, or a tier no longer on the ladder, derives nothing.
    expect(derivedLevel(RULES, LEVELS.slice(0, 1), held)).toBeNull();
    expect(
      derivedLevel(RULES, LEVELS, [{ programId: 'b', ladder: ['member'], tier: 'member' }]),
    ).toBeNull();
  });
});

describe('effectiveLevel', () => {
  const derived = { level: LEVELS[1] as CoalitionLevel, programId: 'b', tier: 'gold' };
  it('is the set level while valid, or the derived one, whichever ranks higher', () => {
    expect(effectiveLevel(set('diamond'), derived, LEVELS, now)).toMatchObject({
      code: 'diamond',
      source: 'alipay',
    });
    expect(effectiveLevel(set('silver'), derived, LEVELS, now)).toMatchObject({
      code: 'gold',
      source: 'rule',
      validUntil: null,
    });
    // On a tie the set one, which says where it came from.
    expect(effectiveLevel(set('gold'), derived, LEVELS, now)?.source).toBe('alipay');
    // Expired: not counted.
    expect(effectiveLevel(set('diamond', now), derived, LEVELS, now)?.code).toBe('gold');
    expect(effectiveLevel(set('diamond', now), null, LEVELS, now)).toBeNull();
    expect(effectiveLevel(null, null, LEVELS, now)).toBeNull();
  });
});

describe('keptOnMerge', () => {
  it('keeps the level that counts and ranks higher, the survivor’s on a tie', () => {
    expect(keptOnMerge(set('silver'), set('diamond'), LEVELS, now)?.level).toBe('diamond');
    expect(keptOnMerge(set('diamond'), set('silver'), LEVELS, now)?.level).toBe('diamond');
    const mine = set('gold');
    expect(keptOnMerge(mine, set('gold'), LEVELS, now)).toBe(mine);
    expect(keptOnMerge(set('silver'), set('diamond', now), LEVELS, now)?.level).toBe('silver');
    expect(keptOnMerge(null, set('gold'), LEVELS, now)?.level).toBe('gold');
  });
});
