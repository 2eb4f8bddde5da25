import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  expiringSoon,
  linkExpiry,
  openLink,
  type PortalClaims,
  signLink,
  tierProgress,
} from './portal.core.ts';

const secret = randomBytes(32);
const now = new Date('2026-06-01T04:00:00.123Z');
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';

const claims = fc.record({
  programId: fc.string({ minLength: 1, maxLength: 63 }),
  memberId: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }),
  expiresAt: fc.integer({ min: 1, max: 1440 }).map((minutes): Date => linkExpiry(now, minutes)),
}) satisfies fc.Arbitrary<PortalClaims>;

describe('portal links', () => {
  it('open to exactly the claims they were signed with, until they expire', () => {
    fc.assert(
      fc.property(claims, (c) => {
        const token = signLink(secret, c);
        expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
        expect(openLink(secret, token, now)).toEqual({ ok: true, claims: c });
        const last = new Date(c.expiresAt.getTime() - 1);
        expect(openLink(secret, token, last).ok).toBe(true);
        expect(openLink(secret, token, c.expiresAt)).toEqual({ ok: false, reason: 'expired' });
      }),
    );
  });

  it('are invalid after any one character changes, or under another secret', () => {
    fc.assert(
      fc.property(claims, fc.nat(), fc.constantFrom(...ALPHABET), (c, at, replacement) => {
        const token = signLink(secret, c);
        const i = at % token.length;
        fc.pre(token[i] !== replacement);
        const changed = `${token.slice(0, i)}${replacement}${token.slice(i + 1)}`;
        expect(openLink(secret, changed, now)).toEqual({ ok: false, reason: 'invalid' });
      }),
      { numRuns: 500 },
    );
    const token = signLink(secret, { programId: 'p', memberId: 'm', expiresAt: now });
    expect(openLink(randomBytes(32), token, new Date(0))).toEqual({
      ok: false,
      reason: 'invalid',
    });
  });

  it('report an expired link as expired only when its signature holds', () => {
    const past = new Date('2026-05-01T00:00:00Z');
    const token = signLink(secret, { programId: 'p', memberId: 'm', expiresAt: past });
    expect(openLink(secret, token, now)).toEqual({ ok: false, reason: 'expired' });
    expect(openLink(randomBytes(32), token, now)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('expire on a whole second', () => {
    expect(linkExpiry(now, 15).toISOString()).toBe('2026-06-01T04:15:00.000Z');
  });
});

describe('the card', () => {
  it('sums what expires in the next 90 days per instant, soonest first', () => {
    const at = (iso: string) => new Date(iso);
    expect(
      expiringSoon(
        [
          { remaining: 5, expiresAt: at('2026-07-01T00:00:00Z') },
          { remaining: 7, expiresAt: at('2026-06-15T00:00:00Z') },
          { remaining: 3, expiresAt: at('2026-07-01T00:00:00Z') },
          { remaining: 0, expiresAt: at('2026-06-10T00:00:00Z') },
          { remaining: 9, expiresAt: null },
          { remaining: 4, expiresAt: at('2026-06-01T04:00:00.123Z') },
          { remaining: 8, expiresAt: at('2026-08-30T04:00:00.124Z') },
          { remaining: 2, expiresAt: at('2026-08-30T04:00:00.123Z') },
        ],
        now,
      ),
    ).toEqual([
      { points: 7, expiresAt: at('2026-06-15T00:00:00Z') },
      { points: 8, expiresAt: at('2026-07-01T00:00:00Z') },
      { points: 2, expiresAt: at('2026-08-30T04:00:00.123Z') },
    ]);
  });

  it('measures tier progress from the tier’s threshold to the next one’s', () => {
    const tiers = [
      { code: 'member', threshold: 0 },
      { code: 'silver', threshold: 100 },
      { code: 'gold', threshold: 500 },
    ];
    expect(tierProgress(tiers, 'member', 'silver', 0)).toBe(0);
    expect(tierProgress(tiers, 'member', 'silver', 33)).toBe(0.33);
    expect(tierProgress(tiers, 'silver', 'gold', 150)).toBe(0.125);
    expect(tierProgress(tiers, 'silver', 'gold', 499)).toBe(0.997);
    expect(tierProgress(tiers, 'gold', null, 10)).toBe(1);
    // Put in gold's way by an operator, below silver's threshold.
    expect(tierProgress(tiers, 'silver', 'gold', 20)).toBe(0);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), (basis) => {
        const p = tierProgress(tiers, 'silver', 'gold', basis);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThanOrEqual(1);
        expect(p === 1).toBe(basis >= 500);
      }),
    );
  });
});
