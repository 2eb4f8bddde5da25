import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CouponTemplate,
  couponCode,
  couponExpiry,
  discountOf,
  eligibleAmount,
  judge,
  normalizeCouponCode,
} from './coupons.core.ts';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const bytes = fc.uint8Array({ minLength: 10, maxLength: 10 });

describe('coupon codes', () => {
  it('round-trip their check character, however they are typed', () => {
    fc.assert(
      fc.property(bytes, (b) => {
        const code = couponCode(b);
        expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
        expect(normalizeCouponCode(code)).toBe(code);
        expect(normalizeCouponCode(code.toLowerCase().replaceAll('-', ''))).toBe(code);
      }),
    );
  });

  it('catch any one mistyped character', () => {
    fc.assert(
      fc.property(bytes, fc.nat({ max: 15 }), fc.nat({ max: 30 }), (b, position, shift) => {
        const plain = couponCode(b).replaceAll('-', '');
        const was = ALPHABET.indexOf(plain[position] as string);
        const typo = ALPHABET[(was + 1 + shift) % 32] as string;
        const typed = plain.slice(0, position) + typo + plain.slice(position + 1);
        expect(normalizeCouponCode(typed)).toBeUndefined();
      }),
    );
  });

  it('carry at least 70 random bits: distinct for distinct randomness', () => {
    fc.assert(
      fc.property(bytes, bytes, (a, b) => {
        fc.pre(Buffer.compare(Buffer.from(a), Buffer.from(b)) !== 0);
        expect(couponCode(a)).not.toBe(couponCode(b));
      }),
    );
  });
});

const amountOff = {
  kind: 'amount_off',
  amountOffFen: 1000,
  percentOff: null,
  capFen: null,
} as const;
const percentOff = (percentOff: number, capFen: number | null) =>
  ({ kind: 'percent_off', amountOffFen: null, percentOff, capFen }) as const;

describe('discounts', () => {
  it('never exceed the base, nor a cap, and are whole fen', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 10_000_000 }),
        fc.integer({ min: 1, max: 100 }),
        fc.option(fc.integer({ min: 1, max: 1_000_000 })),
        (base, pct, cap) => {
          const d = discountOf(percentOff(pct, cap), base);
          expect(Number.isInteger(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(base);
          if (cap !== null) expect(d).toBeLessThanOrEqual(cap);
          expect(discountOf(amountOff, base)).toBe(Math.min(1000, base));
        },
      ),
    );
  });

  it('are taken off the items in the categories only', () => {
    const items = [
      { category: 'food', amount: 3000 },
      { category: 'toys', amount: 5000 },
      { amount: 2000 },
    ];
    expect(eligibleAmount({ categories: ['food'] }, { amount: 10_000, items })).toBe(3000);
    expect(eligibleAmount({}, { amount: 10_000, items })).toBe(10_000);
    expect(eligibleAmount({ categories: ['food'] }, { amount: 1000, items })).toBe(1000);
  });

  it('judge the coupon before the purchase: redeemed, expired, not yet valid', () => {
    const t: Pick<
      CouponTemplate,
      'kind' | 'amountOffFen' | 'percentOff' | 'capFen' | 'conditions'
    > = { ...amountOff, conditions: {} };
    const now = new Date('2026-06-10T00:00:00Z');
    const c = {
      status: 'issued' as const,
      validFrom: new Date('2026-06-01T00:00:00Z'),
      expiresAt: new Date('2026-06-20T00:00:00Z'),
      memberId: 'm',
    };
    const p = { amount: 5000 };
    expect(judge(t, c, p, now, 'm', undefined)).toEqual({ valid: true, discount: 1000 });
    expect(judge(t, { ...c, status: 'redeemed' }, p, now, 'm', undefined)).toMatchObject({
      reason: 'redeemed',
    });
    expect(judge(t, c, p, new Date('2026-06-20T00:00:00Z'), 'm', undefined)).toMatchObject({
      reason: 'expired',
    });
    expect(judge(t, c, p, new Date('2026-05-31T00:00:00Z'), 'm', undefined)).toMatchObject({
      reason: 'not_yet_valid',
    });
  });

  it('expire N days after issue, never after the template ends', () => {
    const at = new Date('2026-06-01T00:00:00Z');
    expect(couponExpiry({ validDays: 7, validUntil: null }, at)?.toISOString()).toBe(
      '2026-06-08T00:00:00.000Z',
    );
    const end = new Date('2026-06-05T00:00:00Z');
    expect(couponExpiry({ validDays: 7, validUntil: end }, at)).toEqual(end);
    expect(couponExpiry({ validDays: null, validUntil: null }, at)).toBeNull();
  });
});
