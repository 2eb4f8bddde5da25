import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  chargeForUse,
  codeExpiry,
  type MemberFacts,
  makeCode,
  meets,
  normalizeCode,
  unavailability,
} from './pool.core.ts';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

describe('pool codes', () => {
  it('are four groups of four Crockford characters that check', () => {
    for (let i = 0; i < 200; i++) {
      const code = makeCode(randomBytes(10));
      expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
      expect(normalizeCode(code)).toBe(code);
      expect(normalizeCode(code.toLowerCase().replaceAll('-', ' '))).toBe(code);
    }
  });

  it('differ for different randomness and repeat for the same', () => {
    const bytes = randomBytes(10);
    expect(makeCode(bytes)).toBe(makeCode(Buffer.from(bytes)));
    const codes = new Set(Array.from({ length: 1000 }, () => makeCode(randomBytes(10))));
    expect(codes.size).toBe(1000);
  });

  it('refuse any one wrong character and any swap of two neighbours that differ', () => {
    for (let n = 0; n < 50; n++) {
      const plain = makeCode(randomBytes(10)).replaceAll('-', '');
      for (let i = 0; i < plain.length; i++) {
        for (const c of ALPHABET) {
          if (c === plain[i]) continue;
          const typo = plain.slice(0, i) + c + plain.slice(i + 1);
          expect(normalizeCode(typo), typo).toBeUndefined();
        }
        const a = plain[i];
        const b = plain[i + 1];
        if (b !== undefined && a !== b) {
          const swapped = plain.slice(0, i) + b + a + plain.slice(i + 2);
          // Luhn mod 32 misses one swap only: of the characters worth 0 and 31 ('0' and 'Z').
          if (normalizeCode(swapped) !== undefined) {
            const va = ALPHABET.indexOf(a as string);
            const vb = ALPHABET.indexOf(b);
            expect(Math.abs(va - vb)).toBe(31);
          }
        }
      }
    }
  });

  it('read O as 0 and I or L as 1, and refuse wrong lengths and other characters', () => {
    const code = makeCode(randomBytes(10));
    const sloppy = code.replaceAll('0', 'o').replaceAll('1', 'l');
    expect(normalizeCode(sloppy)).toBe(code);
    expect(normalizeCode(code.slice(0, -1))).toBeUndefined();
    expect(normalizeCode(`${code}0`)).toBeUndefined();
    expect(normalizeCode(code.replace(/[0-9A-Z]/, 'U'))).toBeUndefined();
    expect(normalizeCode('')).toBeUndefined();
  });
});

describe('eligibility', () => {
  const facts = (over: Partial<MemberFacts> = {}): MemberFacts => ({
    levelRank: 2,
    rankOfLevel: (c) => ({ silver: 1, gold: 2, diamond: 3 })[c],
    tierRank: (p) => (p === 'hotel-a' ? 1 : undefined),
    rankOfTier: (p, c) => (p === 'hotel-a' ? { member: 0, silver: 1, gold: 2 }[c] : undefined),
    ...over,
  });

  it('compares ranks, and refuses what is unknown or not held', () => {
    expect(meets({ any: true }, facts())).toBe(true);
    expect(meets({ coalitionLevelAtLeast: 'gold' }, facts())).toBe(true);
    expect(meets({ coalitionLevelAtLeast: 'silver' }, facts())).toBe(true);
    expect(meets({ coalitionLevelAtLeast: 'diamond' }, facts())).toBe(false);
    expect(meets({ coalitionLevelAtLeast: 'nope' }, facts())).toBe(false);
    expect(meets({ coalitionLevelAtLeast: 'silver' }, facts({ levelRank: null }))).toBe(false);
    expect(meets({ programId: 'hotel-a', tierAtLeast: 'silver' }, facts())).toBe(true);
    expect(meets({ programId: 'hotel-a', tierAtLeast: 'gold' }, facts())).toBe(false);
    expect(meets({ programId: 'hotel-b', tierAtLeast: 'member' }, facts())).toBe(false);
  });
});

describe('validity and expiry', () => {
  const at = new Date('2026-06-10T00:00:00Z');
  it('says why a benefit cannot be claimed', () => {
    const b = { status: 'active' as const, validFrom: null, validUntil: null };
    expect(unavailability(b, at)).toBeUndefined();
    expect(unavailability({ ...b, status: 'paused' }, at)).toBe('is paused');
    expect(unavailability({ ...b, validFrom: new Date('2026-06-11T00:00:00Z') }, at)).toMatch(
      /opens/,
    );
    expect(unavailability({ ...b, validUntil: at }, at)).toMatch(/ended/);
  });

  it('expires a code after its days, never after the benefit ends', () => {
    expect(codeExpiry({ codeValidDays: null, validUntil: null }, at)).toBeNull();
    expect(codeExpiry({ codeValidDays: 7, validUntil: null }, at)?.toISOString()).toBe(
      '2026-06-17T00:00:00.000Z',
    );
    const end = new Date('2026-06-12T00:00:00Z');
    expect(codeExpiry({ codeValidDays: 7, validUntil: end }, at)).toEqual(end);
    expect(codeExpiry({ codeValidDays: null, validUntil: end }, at)).toEqual(end);
  });
});

describe('who pays for a use', () => {
  const b = { programId: 'hotel-b', chargeTo: 'contributor' as const, costFen: 3000 };
  it('charges the contributor to the coalition by default', () => {
    expect(chargeForUse(b, null, 'hotel-a')).toEqual({
      debtor: 'hotel-b',
      creditor: 'coalition',
      amountFen: 3000,
    });
    expect(chargeForUse(b, 'cafe', 'hotel-a')).toEqual({
      debtor: 'hotel-b',
      creditor: 'coalition',
      amountFen: 3000,
    });
  });

  it('charges the home program to the contributor under `home`, never a party itself', () => {
    const home = { ...b, chargeTo: 'home' as const };
    expect(chargeForUse(home, null, 'hotel-a')).toEqual({
      debtor: 'hotel-a',
      creditor: 'hotel-b',
      amountFen: 3000,
    });
    expect(chargeForUse(home, null, 'hotel-b')).toBeNull();
    expect(chargeForUse(home, 'cafe', 'hotel-a')).toBeNull();
    expect(chargeForUse(home, null, null)?.debtor).toBe('hotel-b');
    expect(chargeForUse({ ...b, costFen: 0 }, null, 'hotel-a')).toBeNull();
  });
});
