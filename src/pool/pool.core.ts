import { COALITION } from '../settlement/settlement.core.ts';

// The benefits pool's rules, with no I/O, no clock and no randomness: who may claim a benefit,
// whether it can be claimed now, when a code expires, what a code looks like, and who pays for a
// use. The service feeds them the time, random bytes and what other modules say of the member.

export const BENEFIT_KINDS = ['lounge', 'fast_track', 'voucher', 'membership', 'other'] as const;
export type BenefitKind = (typeof BENEFIT_KINDS)[number];

export const BENEFIT_STATUSES = ['active', 'paused', 'closed'] as const;
export type BenefitStatus = (typeof BENEFIT_STATUSES)[number];

/** Who may claim: any member, a coalition level or above, or a tier or above in one program. */
export type Eligibility =
  | { any: true }
  | { coalitionLevelAtLeast: string }
  | { programId: string; tierAtLeast: string };

/** Who a use is charged to: the contributing brand (to the coalition), or the member's home brand. */
export type ChargeTo = 'contributor' | 'home';

/** A benefit a brand contributed to the pool. */
export interface PoolBenefit {
  id: string;
  /** The contributing brand. */
  programId: string;
  name: string;
  kind: BenefitKind;
  /** How many codes may ever be claimed; `claimed` never passes it. */
  stock: number;
  claimed: number;
  used: number;
  validFrom: Date | null;
  validUntil: Date | null;
  /** What one use costs, in fen: the settlement line's amount. */
  costFen: number;
  perMemberLimit: number;
  eligibility: Eligibility;
  chargeTo: ChargeTo;
  /** A code expires this many days after its claim (never after `validUntil`); null: with it. */
  codeValidDays: number | null;
  status: BenefitStatus;
  createdAt: Date;
  updatedAt: Date;
}

export type ClaimStatus = 'claimed' | 'used';

/** A member's claim of a benefit: a single-use code. */
export interface PoolClaim {
  id: string;
  benefitId: string;
  memberId: string;
  reference: string | null;
  code: string;
  status: ClaimStatus;
  expiresAt: Date | null;
  /** The program whose cross-brand offer paid for this claim (null: the member claimed it). */
  sponsorProgramId: string | null;
  claimedAt: Date;
  usedAt: Date | null;
  /** What its use was charged: the settlement line written with it. */
  charge: Charge | null;
}

/** Who owes whom for one use. */
export interface Charge {
  debtor: string;
  creditor: string;
  amountFen: number;
}

/** Why a benefit cannot be claimed now, or undefined when it can (stock aside). */
export function unavailability(
  b: Pick<PoolBenefit, 'status' | 'validFrom' | 'validUntil'>,
  now: Date,
): string | undefined {
  if (b.status !== 'active') return `is ${b.status}`;
  if (b.validFrom && now < b.validFrom) return `opens at ${b.validFrom.toISOString()}`;
  if (b.validUntil && now >= b.validUntil) return `ended at ${b.validUntil.toISOString()}`;
  return undefined;
}

/** Stock left to claim. */
export const stockLeft = (b: Pick<PoolBenefit, 'stock' | 'claimed'>) =>
  Math.max(0, b.stock - b.claimed);

/**
 * What other modules say of a member, for eligibility: their coalition level's rank (null: none),
 * the rank of a level code, their tier's rank in a program (undefined: not enrolled there) and a
 * tier code's rank in that program's ladder (undefined: the ladder has no such tier).
 */
export interface MemberFacts {
  levelRank: number | null;
  rankOfLevel(code: string): number | undefined;
  tierRank(programId: string): number | undefined;
  rankOfTier(programId: string, code: string): number | undefined;
}

/** Whether the member meets the benefit's eligibility rule. */
export function meets(rule: Eligibility, facts: MemberFacts): boolean {
  if ('any' in rule) return true;
  if ('coalitionLevelAtLeast' in rule) {
    const needed = facts.rankOfLevel(rule.coalitionLevelAtLeast);
    return needed !== undefined && facts.levelRank !== null && facts.levelRank >= needed;
  }
  const needed = facts.rankOfTier(rule.programId, rule.tierAtLeast);
  const held = facts.tierRank(rule.programId);
  return needed !== undefined && held !== undefined && held >= needed;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** When a code claimed at `at` expires: its days after the claim, never after the benefit ends. */
export function codeExpiry(
  b: Pick<PoolBenefit, 'codeValidDays' | 'validUntil'>,
  at: Date,
): Date | null {
  const byDays = b.codeValidDays ? new Date(at.getTime() + b.codeValidDays * DAY_MS) : null;
  if (byDays && b.validUntil) return byDays < b.validUntil ? byDays : b.validUntil;
  return byDays ?? b.validUntil;
}

/**
 * Who pays for one use, under the settlement rules: the contributor pays the coalition, or (rule
 * `home`) the member's home program pays the contributor. No charge when the benefit costs
 * nothing or the two parties are one. A claim an offer sponsored under rule `home` is charged
 * nothing more: the sponsor paid the contributor when its offer granted the claim. A member with
 * no home known (no enrollment left) is charged as the default rule says, to the contributor.
 */
export function chargeForUse(
  b: Pick<PoolBenefit, 'programId' | 'chargeTo' | 'costFen'>,
  sponsorProgramId: string | null,
  home: string | null,
): Charge | null {
  if (b.costFen <= 0) return null;
  if (b.chargeTo === 'home' && sponsorProgramId !== null) return null;
  const [debtor, creditor] =
    b.chargeTo === 'home' && home !== null ? [home, b.programId] : [b.programId, COALITION];
  return debtor === creditor ? null : { debtor, creditor, amountFen: b.costFen };
}

// --- codes ---

/** Crockford's base32, upper case: no I, L, O or U, so a code read aloud is not misread. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const N = ALPHABET.length;
/** Random characters in a code: 15 × 5 = 75 bits, then one check character. */
const RANDOM_CHARS = 15;
/** Bytes of randomness a code needs. */
export const CODE_RANDOM_BYTES = 10;

/** Luhn mod 32 over the characters' values: catches any one wrong character and most swaps. */
function luhnSum(values: number[], startFactor: 1 | 2): number {
  let factor = startFactor;
  let sum = 0;
  for (let i = values.length - 1; i >= 0; i--) {
    const addend = factor * (values[i] as number);
    sum += Math.floor(addend / N) + (addend % N);
    factor = factor === 2 ? 1 : 2;
  }
  return sum % N;
}

/** A code from 10 random bytes: 15 random characters and a check character, in groups of four. */
export function makeCode(random: Uint8Array): string {
  if (random.length < CODE_RANDOM_BYTES) throw new Error('a code needs 10 random bytes');
  let bits = 0n;
  for (const byte of random.subarray(0, CODE_RANDOM_BYTES)) bits = (bits << 8n) | BigInt(byte);
  const values: number[] = [];
  for (let i = 0; i < RANDOM_CHARS; i++) {
    values.push(Number(bits & 31n));
    bits >>= 5n;
  }
  values.push((N - luhnSum(values, 2)) % N);
  const chars = values.map((v) => ALPHABET[v]).join('');
  return chars.match(/.{4}/g)?.join('-') ?? chars;
}

/**
 * A code as typed: upper-cased, separators dropped, the letters Crockford reads as digits
 * (O → 0, I and L → 1) mapped; undefined when it cannot be a code (wrong length, a character not
 * in the alphabet, a check character that does not match), so a typo is refused without a lookup.
 */
export function normalizeCode(input: string): string | undefined {
  const plain = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (plain.length !== RANDOM_CHARS + 1) return undefined;
  const values = [...plain].map((c) => ALPHABET.indexOf(c));
  if (values.some((v) => v < 0)) return undefined;
  if (luhnSum(values, 1) !== 0) return undefined;
  return plain.match(/.{4}/g)?.join('-');
}
