import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expiresAt, localDateString, startOfLocalDay } from './expiry.core.ts';

const at = (iso: string) => new Date(iso);

describe('expiresAt', () => {
  it('never expires under "never"', () =>
    expect(expiresAt({ kind: 'never' }, at('2026-03-05T10:00:00Z'), 'Asia/Shanghai')).toBeNull());

  it('adds N days under "rolling"', () =>
    expect(
      expiresAt({ kind: 'rolling', days: 30 }, at('2026-03-05T10:00:00Z'), 'UTC')?.toISOString(),
    ).toBe('2026-04-04T10:00:00.000Z'));

  it('clears at the end of the year after N days, at local midnight (年底清零)', () => {
    const e = expiresAt(
      { kind: 'period_end', period: 'year', afterDays: 365 },
      at('2026-03-05T10:00:00Z'),
      'Asia/Shanghai',
    );
    // 2027-03-05 falls in 2027: expires when 2028 starts in Shanghai, 16:00 UTC the day before.
    expect(e?.toISOString()).toBe('2027-12-31T16:00:00.000Z');
  });

  it('uses the local date: 23:30 UTC on 31 Dec is already January in Shanghai', () => {
    const e = expiresAt(
      { kind: 'period_end', period: 'year', afterDays: 0 },
      at('2026-12-31T23:30:00Z'),
      'Asia/Shanghai',
    );
    expect(e?.toISOString()).toBe('2027-12-31T16:00:00.000Z');
    const utc = expiresAt(
      { kind: 'period_end', period: 'year', afterDays: 0 },
      at('2026-12-31T23:30:00Z'),
      'UTC',
    );
    expect(utc?.toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });

  it('ends months and quarters', () => {
    expect(
      expiresAt(
        { kind: 'period_end', period: 'month', afterDays: 0 },
        at('2026-01-31T12:00:00Z'),
        'UTC',
      )?.toISOString(),
    ).toBe('2026-02-01T00:00:00.000Z');
    expect(
      expiresAt(
        { kind: 'period_end', period: 'month', afterDays: 0 },
        at('2026-12-15T12:00:00Z'),
        'UTC',
      )?.toISOString(),
    ).toBe('2027-01-01T00:00:00.000Z');
    expect(
      expiresAt(
        { kind: 'period_end', period: 'quarter', afterDays: 0 },
        at('2026-05-20T12:00:00Z'),
        'UTC',
      )?.toISOString(),
    ).toBe('2026-07-01T00:00:00.000Z');
    expect(
      expiresAt(
        { kind: 'period_end', period: 'quarter', afterDays: 0 },
        at('2026-11-20T12:00:00Z'),
        'UTC',
      )?.toISOString(),
    ).toBe('2027-01-01T00:00:00.000Z');
  });

  it('handles daylight saving time zones', () => {
    expect(
      startOfLocalDay({ year: 2026, month: 4, day: 1 }, 'America/New_York').toISOString(),
    ).toBe('2026-04-01T04:00:00.000Z');
    expect(
      startOfLocalDay({ year: 2026, month: 1, day: 1 }, 'America/New_York').toISOString(),
    ).toBe('2026-01-01T05:00:00.000Z');
  });

  it('formats local dates', () =>
    expect(localDateString(at('2026-12-31T16:30:00Z'), 'Asia/Shanghai')).toBe('2027-01-01'));
});

describe('local dates from remembered offsets', () => {
  it('agree with the time zone database at any instant, in zones with odd offsets and changes', () => {
    const zones = [
      'Asia/Shanghai',
      'America/New_York',
      'Australia/Lord_Howe',
      'Asia/Kathmandu',
      'Africa/Monrovia',
      'Europe/London',
      'America/St_Johns',
    ];
    const reference = (t: number, timeZone: string) =>
      new Intl.DateTimeFormat('en-CA', {
        timeZone,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
      }).format(new Date(t));
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2100, 0, 1) }),
        fc.constantFrom(...zones),
        (t, zone) => {
          // Near midnight too, where a wrong offset shows as a wrong date.
          for (const at of [t, t - (t % 86_400_000), t - (t % 3_600_000) - 1]) {
            expect(localDateString(new Date(at), zone)).toBe(reference(at, zone));
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
