import { CODE_RANDOM_BYTES, makeCode, normalizeCode } from '../pool/pool.core.ts';

// Coupons' rules, with no I/O, no clock and no randomness: what a coupon takes off a purchase,
// whether it applies, when it expires, what its code looks like. The service feeds them the time,
// random bytes and the member's tier (from the tiers service).

export const COUPON_KINDS = ['amount_off', 'percent_off', 'gift', 'free_shipping'] as const;
export type CouponKind = (typeof COUPON_KINDS)[number];

export const TEMPLATE_STATUSES = ['active', 'paused', 'closed'] as const;
export type TemplateStatus = (typeof TEMPLATE_STATUSES)[number];

export const ISSUE_EVENTS = ['enrollment', 'tier_upgrade', 'birthday'] as const;
export type IssueEvent = (typeof ISSUE_EVENTS)[number];

/** What a purchase must meet for a coupon to apply; every field absent: no condition. */
export interface Conditions {
  /** The least the purchase (or, with `categories`, its items in them) must come to, in fen. */
  minSpendFen?: number | undefined;
  /** The stores it may be used in. */
  stores?: string[] | undefined;
  /** The item categories it applies to: its discount is taken off those items only. */
  categories?: string[] | undefined;
  /** The tier codes (in the template's program) its holder must hold. */
  tiers?: string[] | undefined;
}

/** A program's coupon template: what each coupon issued from it gives, and its stock. */
export interface CouponTemplate {
  id: string;
  programId: string;
  name: string;
  kind: CouponKind;
  /** amount_off: the fen taken off. */
  amountOffFen: number | null;
  /** percent_off: the percent taken off, at most `capFen`. */
  percentOff: number | null;
  capFen: number | null;
  /** gift: what is given, for the till to read. */
  gift: string | null;
  validFrom: Date | null;
  validUntil: Date | null;
  /** A coupon expires this many days after its issue (never after `validUntil`). */
  validDays: number | null;
  /** How many coupons may ever be issued (null: unlimited); `issued` never passes it. */
  stock: number | null;
  issued: number;
  /** Coupons reserved by mall orders placed and not yet confirmed: issued + reserved ≤ stock. */
  reserved: number;
  /** How many coupons one member may hold from it in all (null: unlimited). */
  perMemberLimit: number | null;
  conditions: Conditions;
  /** Issued by the worker on this outbox event, to every member it names. */
  issueOn: IssueEvent | null;
  /** tier_upgrade: only an upgrade to this tier (null: any upgrade). */
  issueOnTier: string | null;
  status: TemplateStatus;
  createdAt: Date;
  updatedAt: Date;
}

export type CouponStatus = 'issued' | 'redeemed';

/** One member's coupon: a single-use code. */
export interface Coupon {
  id: string;
  templateId: string;
  programId: string;
  memberId: string;
  reference: string;
  code: string;
  status: CouponStatus;
  validFrom: Date | null;
  expiresAt: Date | null;
  issuedAt: Date;
  redeemedAt: Date | null;
  /** The purchase it was redeemed on (null when unused, or rolled back by a return). */
  purchaseId: string | null;
  discountFen: number | null;
}

/** A purchase at the till, as the coupon sees it. */
export interface Purchase {
  /** What the purchase comes to, in fen. */
  amount: number;
  items?: { sku?: string | undefined; category?: string | undefined; amount: number }[] | undefined;
  store?: string | undefined;
}

/** Why a coupon does not apply: a stable word for the till, shown as the problem's `reason`. */
export type NotApplicable =
  | 'not_yet_valid'
  | 'wrong_member'
  | 'store'
  | 'category'
  | 'min_spend'
  | 'tier';

export type Verdict =
  | { valid: true; discount: number }
  | { valid: false; reason: 'redeemed' | 'expired' | NotApplicable };

/**
 * The part of the purchase a coupon applies to, in fen: with categories, the items in them (none
 * without items), otherwise the whole purchase.
 */
export function eligibleAmount(c: Conditions, p: Purchase): number {
  if (!c.categories?.length) return p.amount;
  const wanted = new Set(c.categories);
  const sum = (p.items ?? [])
    .filter((i) => i.category !== undefined && wanted.has(i.category))
    .reduce((s, i) => s + i.amount, 0);
  // Items' amounts are the caller's: never take off more than the purchase comes to.
  return Math.min(sum, p.amount);
}

/**
 * What a coupon of this template takes off `base` fen: amount off, at most the base; percent off
 * rounded down to a fen (the program never gives a fraction of a fen more), at most its cap;
 * gift and free shipping take nothing off the purchase.
 */
export function discountOf(
  t: Pick<CouponTemplate, 'kind' | 'amountOffFen' | 'percentOff' | 'capFen'>,
  base: number,
): number {
  if (t.kind === 'amount_off') return Math.min(t.amountOffFen ?? 0, base);
  if (t.kind === 'percent_off') {
    const off = Math.floor((base * (t.percentOff ?? 0)) / 100);
    return Math.min(off, t.capFen ?? off, base);
  }
  return 0;
}

/**
 * Whether a coupon applies to a purchase at `now`, and what it takes off. `memberId` is who the
 * till says is paying (undefined: not said); `tier` is the holder's tier code in the program
 * (undefined: not asked, because the template has no tier condition).
 */
export function judge(
  t: Pick<CouponTemplate, 'kind' | 'amountOffFen' | 'percentOff' | 'capFen' | 'conditions'>,
  c: Pick<Coupon, 'status' | 'validFrom' | 'expiresAt' | 'memberId'>,
  p: Purchase,
  now: Date,
  memberId: string | undefined,
  tier: string | undefined,
): Verdict {
  if (c.status === 'redeemed') return { valid: false, reason: 'redeemed' };
  if (c.expiresAt && now >= c.expiresAt) return { valid: false, reason: 'expired' };
  if (c.validFrom && now < c.validFrom) return { valid: false, reason: 'not_yet_valid' };
  if (memberId !== undefined && memberId !== c.memberId) {
    return { valid: false, reason: 'wrong_member' };
  }
  const k = t.conditions;
  if (k.stores?.length && (p.store === undefined || !k.stores.includes(p.store))) {
    return { valid: false, reason: 'store' };
  }
  const base = eligibleAmount(k, p);
  if (k.categories?.length && base <= 0) return { valid: false, reason: 'category' };
  if (k.minSpendFen !== undefined && base < k.minSpendFen) {
    return { valid: false, reason: 'min_spend' };
  }
  if (k.tiers?.length && (tier === undefined || !k.tiers.includes(tier))) {
    return { valid: false, reason: 'tier' };
  }
  return { valid: true, discount: discountOf(t, base) };
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** When a coupon issued at `at` expires: its days after issue, never after the template ends. */
export function couponExpiry(
  t: Pick<CouponTemplate, 'validDays' | 'validUntil'>,
  at: Date,
): Date | null {
  const byDays = t.validDays ? new Date(at.getTime() + t.validDays * DAY_MS) : null;
  if (byDays && t.validUntil) return byDays < t.validUntil ? byDays : t.validUntil;
  return byDays ?? t.validUntil;
}

/** Why a template issues nothing at `now`, or undefined when it may (stock aside). */
export function issuingClosed(
  t: Pick<CouponTemplate, 'status' | 'validUntil'>,
  now: Date,
): string | undefined {
  if (t.status !== 'active') return `is ${t.status}`;
  if (t.validUntil && now >= t.validUntil) return `ended at ${t.validUntil.toISOString()}`;
  return undefined;
}

// --- codes ---
// The pool's code format, shared rather than copied: 15 random Crockford base32 characters (75
// bits, unguessable) and a Luhn mod 32 check character, in four groups of four. The code string
// is what a coupon's QR code encodes, so scanning and typing reach the same lookup.

/** Bytes of randomness a coupon code needs. */
export const COUPON_CODE_BYTES = CODE_RANDOM_BYTES;

/** A coupon code from random bytes. */
export const couponCode: (random: Uint8Array) => string = makeCode;

/** A code as scanned or typed, normalized; undefined for one that cannot be a code (a typo). */
export const normalizeCouponCode: (input: string) => string | undefined = normalizeCode;
