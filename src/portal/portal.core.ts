import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TransferCode } from '../ledger/ledger.core.ts';

// The member portal's links. A link is a signed token, not a stored row: the token names one
// member in one program and when it stops working, and an HMAC over those words, keyed with a
// secret only the servers know, proves a server wrote them. Nothing in the token can be changed
// (another member, a later expiry) without the signature failing; and nothing the page asks for
// names a member, so a valid token opens exactly the one card it was issued for.

/** What a portal link grants: this member's card in this program, until `expiresAt`. */
export interface PortalClaims {
  programId: string;
  memberId: string;
  /** Whole seconds: the token carries Unix seconds. */
  expiresAt: Date;
}

export type OpenedLink = { ok: true; claims: PortalClaims } | { ok: false; reason: LinkProblem };
export type LinkProblem = 'invalid' | 'expired';

/** How long a link works unless the caller says otherwise, and at most. */
export const DEFAULT_TTL_MINUTES = 15;
export const MAX_TTL_MINUTES = 24 * 60;

/** Longer tokens are refused unread: ids are at most 200 characters each. */
const MAX_TOKEN_LENGTH = 2048;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const VERSION = 1;

/** The link's expiry: `ttlMinutes` after `now`, down to the second the token can say. */
export function linkExpiry(now: Date, ttlMinutes: number): Date {
  return new Date((Math.floor(now.getTime() / 1000) + ttlMinutes * 60) * 1000);
}

function mac(secret: Buffer, payload: string): Buffer {
  return createHmac('sha256', secret).update(payload).digest();
}

/**
 * `base64url(JSON {v, p, m, exp})` + "." + `base64url(HMAC-SHA256(secret, the first part))`.
 * The signature covers the encoded text itself, so verifying never depends on how JSON is parsed.
 */
export function signLink(secret: Buffer, claims: PortalClaims): string {
  const payload = Buffer.from(
    JSON.stringify({
      v: VERSION,
      p: claims.programId,
      m: claims.memberId,
      exp: Math.floor(claims.expiresAt.getTime() / 1000),
    }),
  ).toString('base64url');
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

/**
 * Checks a token's signature (in constant time), then its words, then its expiry — in that order,
 * so that an expired token is reported as such only when it is genuine.
 */
export function openLink(secret: Buffer, token: string, now: Date): OpenedLink {
  const invalid: OpenedLink = { ok: false, reason: 'invalid' };
  if (token.length > MAX_TOKEN_LENGTH) return invalid;
  const parts = token.split('.');
  const [payload, signature] = parts;
  if (parts.length !== 2 || !payload || !signature) return invalid;
  if (!BASE64URL.test(payload) || !BASE64URL.test(signature)) return invalid;
  const given = Buffer.from(signature, 'base64url');
  const expected = mac(secret, payload);
  // One spelling per signature: base64url ignores a last character's spare bits otherwise.
  if (given.length !== expected.length || given.toString('base64url') !== signature) return invalid;
  if (!timingSafeEqual(given, expected)) return invalid;

  let words: unknown;
  try {
    words = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return invalid;
  }
  const claims = claimsOf(words);
  if (!claims) return invalid;
  if (now.getTime() >= claims.expiresAt.getTime()) return { ok: false, reason: 'expired' };
  return { ok: true, claims };
}

function claimsOf(words: unknown): PortalClaims | undefined {
  if (!words || typeof words !== 'object' || Array.isArray(words)) return undefined;
  const { v, p, m, exp } = words as Record<string, unknown>;
  if (v !== VERSION) return undefined;
  if (typeof p !== 'string' || typeof m !== 'string' || p === '' || m === '') return undefined;
  if (typeof exp !== 'number' || !Number.isSafeInteger(exp) || exp <= 0) return undefined;
  return { programId: p, memberId: m, expiresAt: new Date(exp * 1000) };
}

// --- the card ---

/** What the portal shows a member: their card in one program. */
export interface PortalCard {
  programId: string;
  programName: string;
  pointsName: string;
  memberId: string;
  displayName: string | null;
  status: 'active' | 'blocked';
  since: Date;
  points: {
    available: number;
    pending: number;
    held: number;
    expiringSoon: ExpiringPoints[];
  };
  entryTier: string;
  tier: CardTier | null;
  benefits: CardBenefit[];
  history: CardMovement[];
}

export interface ExpiringPoints {
  points: number;
  expiresAt: Date;
}

export interface CardTier {
  code: string;
  name: string;
  validUntil: Date | null;
  next: { code: string; name: string; need: number; have: number } | null;
  /** 0..1 of the way from the tier's threshold to the next one's; 1 at the top. */
  progress: number;
}

export interface CardBenefit {
  code: string;
  name: string;
  kind: 'multiplier' | 'quota' | 'flag';
  value?: number;
  limit?: number;
  remaining?: number;
  period?: 'month' | 'year';
  currentPeriod?: string;
}

export interface CardMovement {
  id: string;
  points: number;
  code: TransferCode;
  reference: string | null;
  createdAt: Date;
}

/** How far ahead the card warns of expiring points. */
export const EXPIRING_SOON_DAYS = 90;
/** How many of the latest movements the card lists. */
export const CARD_HISTORY = 20;
/** How many of the member's latest pool codes and conversions the portal lists. */
export const POOL_CLAIMS = 20;
export const PORTAL_CONVERSIONS = 20;
/** The most pool benefits read to name a member's codes (a pool is a curated, short list). */
export const POOL_BENEFITS = 1000;
/** How many rewards the portal's mall shows (one page of the member's shelf). */
export const PORTAL_MALL = 100;
/** How many of the member's latest orders and coupons the portal lists. */
export const PORTAL_ORDERS = 20;
export const PORTAL_COUPONS = 50;

/**
 * Points that expire after `now` and within `days`, summed per expiry instant, soonest first.
 * Pending points count too: they expire whether or not the return window has closed.
 */
export function expiringSoon(
  lots: { remaining: number; expiresAt: Date | null }[],
  now: Date,
  days: number = EXPIRING_SOON_DAYS,
): ExpiringPoints[] {
  const horizon = now.getTime() + days * 24 * 60 * 60 * 1000;
  const byInstant = new Map<number, number>();
  for (const lot of lots) {
    const at = lot.expiresAt?.getTime();
    if (at === undefined || lot.remaining <= 0 || at <= now.getTime() || at > horizon) continue;
    byInstant.set(at, (byInstant.get(at) ?? 0) + lot.remaining);
  }
  return [...byInstant.entries()]
    .sort(([a], [b]) => a - b)
    .map(([at, points]) => ({ points, expiresAt: new Date(at) }));
}

/**
 * How far a member is from their tier's threshold to the next tier's, 0..1 (three decimals,
 * rounded down so that 1 means reached). At the top of the ladder it is 1; a member put above
 * their basis by an operator is at 0.
 */
export function tierProgress(
  tiers: { code: string; threshold: number }[],
  current: string,
  next: string | null,
  basis: number,
): number {
  if (next === null) return 1;
  const from = tiers.find((t) => t.code === current)?.threshold ?? 0;
  const to = tiers.find((t) => t.code === next)?.threshold;
  if (to === undefined || to <= from) return basis >= (to ?? 0) ? 1 : 0;
  const share = (basis - from) / (to - from);
  return Math.floor(Math.min(1, Math.max(0, share)) * 1000) / 1000;
}
