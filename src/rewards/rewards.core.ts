// The rewards catalog's pure rules: a member's price, when a reward can be bought, which limit
// period an order counts in. No I/O, no clock: the service feeds time in.

export const REWARD_KINDS = ['goods', 'voucher', 'coupon', 'membership'] as const;
export type RewardKind = (typeof REWARD_KINDS)[number];

export const LIMIT_PERIODS = ['day', 'month', 'year'] as const;
export type LimitPeriod = (typeof LIMIT_PERIODS)[number];

export interface TierPrice {
  tier: string;
  pricePoints: number;
}

export interface PerMemberLimit {
  count: number;
  /** Absent: the limit is for ever. */
  period: LimitPeriod | null;
}

export interface Reward {
  id: string;
  programId: string;
  sku: string;
  name: string;
  kind: RewardKind;
  pricePoints: number;
  /** The cash part of the price, in fen. */
  priceCash: number | null;
  /** What one unit costs the program, in fen (the supplier is owed it); else the cash price. */
  supplierCost: number | null;
  tierPrices: TierPrice[];
  /** Null: unlimited. */
  stock: number | null;
  /** Units taken by orders that are not cancelled or expired. */
  reserved: number;
  perMemberLimit: PerMemberLimit | null;
  startsAt: Date | null;
  endsAt: Date | null;
  onShelf: boolean;
  supplier: string | null;
  category: string | null;
  imageUrl: string | null;
  /** A coupon (required) or a voucher (optional): the coupon template one unit issues. */
  couponTemplateId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Why a reward's coupon template does not fit its kind, or undefined when it does. */
export function templateMisfit(r: Pick<Reward, 'kind' | 'couponTemplateId'>): string | undefined {
  if (r.kind === 'coupon' && r.couponTemplateId === null) {
    return 'a coupon reward names the coupon template it issues';
  }
  if (r.couponTemplateId !== null && r.kind !== 'coupon' && r.kind !== 'voucher') {
    return `a ${r.kind} reward issues no coupon`;
  }
  return undefined;
}

/** Units left to order; null for unlimited stock. */
export const stockLeft = (r: Pick<Reward, 'stock' | 'reserved'>): number | null =>
  r.stock === null ? null : r.stock - r.reserved;

/** The points price for a member of `tier`: the tier's own price, else the list price. */
export function priceFor(r: Pick<Reward, 'pricePoints' | 'tierPrices'>, tier: string | null) {
  const own = tier === null ? undefined : r.tierPrices.find((p) => p.tier === tier);
  return own?.pricePoints ?? r.pricePoints;
}

/** Why the reward cannot be ordered at `now`, or undefined when it can. */
export function unavailability(
  r: Pick<Reward, 'onShelf' | 'startsAt' | 'endsAt'>,
  now: Date,
): string | undefined {
  if (!r.onShelf) return 'is off the shelf';
  if (r.startsAt && r.startsAt > now) return `goes on sale at ${r.startsAt.toISOString()}`;
  if (r.endsAt && r.endsAt <= now) return `stopped selling at ${r.endsAt.toISOString()}`;
  return undefined;
}

/**
 * The limit counter's period an order placed on `localDate` (YYYY-MM-DD, the program's time zone)
 * counts in: '' for a limit for ever, else the day, the month or the year.
 */
export function periodKey(limit: PerMemberLimit, localDate: string): string {
  switch (limit.period) {
    case null:
      return '';
    case 'day':
      return localDate;
    case 'month':
      return localDate.slice(0, 7);
    case 'year':
      return localDate.slice(0, 4);
  }
}

/** What a unit costs the program at the supplier, in fen. */
export const unitCost = (r: Pick<Reward, 'supplierCost' | 'priceCash'>) =>
  r.supplierCost ?? r.priceCash ?? 0;

/** How many rewards a nudge suggests. */
export const SUGGESTIONS = 3;

export interface Suggestion {
  rewardId: string;
  sku: string;
  name: string;
  pricePoints: number;
}

/** A catalog ranked for each tier (and '' for no tier): its price there, dearest first. */
export type Ranked = Map<string, { price: number; reward: Reward }[]>;

export function rankByTier(catalog: Reward[], tiers: string[]): Ranked {
  return new Map(
    [...tiers, ''].map((tier) => [
      tier,
      catalog
        .map((reward) => ({ price: priceFor(reward, tier || null), reward }))
        .sort((a, b) => b.price - a.price || (a.reward.id < b.reward.id ? -1 : 1)),
    ]),
  );
}

/**
 * The dearest rewards a member of `tier` with `available` points can buy, at most
 * `SUGGESTIONS`: the same ranking as the shelf's `affordable=true`.
 */
export function suggestionsFor(ranked: Ranked, tier: string, available: number): Suggestion[] {
  const list = ranked.get(tier) ?? ranked.get('') ?? [];
  // Dearest first: find the first price within reach.
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((list[mid]?.price ?? 0) > available) lo = mid + 1;
    else hi = mid;
  }
  return list.slice(lo, lo + SUGGESTIONS).map(({ price, reward }) => ({
    rewardId: reward.id,
    sku: reward.sku,
    name: reward.name,
    pricePoints: price,
  }));
}
