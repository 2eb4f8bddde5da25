import { describe, expect, it } from 'vitest';
import { DomainError } from '../shared/errors.ts';
import { daysIn, daysOf, periodOf, tierDistribution } from './metrics.core.ts';

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return (error as DomainError).extensions.errors;
  }
  throw new Error('expected a refusal');
};

describe('periodOf', () => {
  // 2026-06-30T17:00Z is already 07-01 in Shanghai, still 06-30 in New York.
  const now = new Date('2026-06-30T17:00:00Z');

  it('defaults to the last 30 local days, today included, in the program’s zone', () => {
    expect(periodOf({}, now, 'Asia/Shanghai')).toEqual({ from: '2026-06-02', to: '2026-07-01' });
    expect(periodOf({}, now, 'America/New_York')).toEqual({
      from: '2026-06-01',
      to: '2026-06-30',
    });
    expect(periodOf({ to: '2026-03-01' }, now, 'UTC')).toEqual({
      from: '2026-01-31',
      to: '2026-03-01',
    });
    expect(periodOf({ from: '2026-06-29' }, now, 'UTC')).toEqual({
      from: '2026-06-29',
      to: '2026-06-30',
    });
  });

  it('takes one day to 366, and refuses from after to or a longer period', () => {
    expect(daysIn(periodOf({ from: '2026-05-05', to: '2026-05-05' }, now, 'UTC'))).toBe(1);
    expect(daysIn(periodOf({ from: '2024-01-01', to: '2024-12-31' }, now, 'UTC'))).toBe(366);
    expect(refusal(() => periodOf({ from: '2026-05-06', to: '2026-05-05' }, now, 'UTC'))).toEqual([
      { path: 'from', message: 'must not be after to' },
    ]);
    expect(
      refusal(() => periodOf({ from: '2025-01-01', to: '2026-01-02' }, now, 'UTC')),
    ).toMatchObject([{ path: 'to' }]);
    // Only from, later than today: to defaults to today, so from is after it.
    expect(refusal(() => periodOf({ from: '2026-07-02' }, now, 'UTC'))).toMatchObject([
      { path: 'from' },
    ]);
  });

  it('lists every day, across a month end and a leap day', () => {
    expect(daysOf({ from: '2028-02-27', to: '2028-03-01' })).toEqual([
      '2028-02-27',
      '2028-02-28',
      '2028-02-29',
      '2028-03-01',
    ]);
  });
});

describe('tierDistribution', () => {
  const ladder = [
    { code: 'member', name: 'Member' },
    { code: 'silver', name: 'Silver' },
    { code: 'gold', name: 'Gold' },
  ];

  it('puts everyone without another tier on the entry tier, in the ladder’s order', () => {
    const held = new Map([
      ['gold', 2],
      ['member', 4],
      ['silver', 3],
    ]);
    expect(tierDistribution(ladder, 10, held)).toEqual([
      { tier: 'member', name: 'Member', members: 5 },
      { tier: 'silver', name: 'Silver', members: 3 },
      { tier: 'gold', name: 'Gold', members: 2 },
    ]);
  });

  it('lists a tier no longer in the ladder after the others', () => {
    expect(tierDistribution(ladder, 3, new Map([['bronze', 1]]))).toEqual([
      { tier: 'member', name: 'Member', members: 2 },
      { tier: 'silver', name: 'Silver', members: 0 },
      { tier: 'gold', name: 'Gold', members: 0 },
      { tier: 'bronze', name: 'bronze', members: 1 },
    ]);
  });
});
