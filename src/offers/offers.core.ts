// Cross-brand offers, with no I/O: which purchase an offer fires for, where its reward is given,
// and what brand A owes for it. The service feeds them the offers, the purchase events read
// from the outbox, and what other modules say (a point's value, a benefit's cost).

/** What the offer gives at brand B: points, a tier for a number of days, or a pool benefit. */
export type Reward =
  | { kind: 'points'; programId: string; points: number }
  | { kind: 'tier'; programId: string; tier: string; days: number }
  | { kind: 'pool'; benefitId: string };

export type OfferStatus = 'active' | 'paused';

export interface Offer {
  id: string;
  /** Brand A: where the purchase happens, and who pays for the reward. */
  programId: string;
  name: string;
  minSpendFen: number;
  reward: Reward;
  /** Brand B: where the reward is given (for a pool benefit, its contributor). */
  rewardProgramId: string;
  stock: number;
  granted: number;
  perMemberLimit: number;
  startsAt: Date;
  endsAt: Date;
  /** For a tier reward: what B charges A per grant, in fen. */
  costFen: number | null;
  status: OfferStatus;
  createdAt: Date;
  updatedAt: Date;
}

export type GrantStatus = 'reserved' | 'granted' | 'skipped';

/** One (offer, purchase) the worker decided on. */
export interface Grant {
  id: string;
  offerId: string;
  purchaseId: string;
  memberId: string;
  status: GrantStatus;
  /** Why it was skipped: a reason of the worker's or the refusing module's error code. */
  reason: string | null;
  detail: Record<string, unknown>;
  /** The settlement line written with it. */
  charge: { debtor: string; creditor: string; points: number | null; amountFen: number } | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A purchase as its `purchase.recorded` event tells it. */
export interface PurchaseFact {
  purchaseId: string;
  memberId: string;
  amount: number;
  currency: string;
  occurredAt: Date;
  /** The event's number in brand A's outbox. */
  sequence: number;
}

/** Reads a `purchase.recorded` event's facts; undefined for one that does not say them. */
export function purchaseOf(event: {
  sequence: number;
  memberId: string | null;
  data: Record<string, unknown>;
}): PurchaseFact | undefined {
  const { purchaseId, amount, currency, occurredAt } = event.data;
  if (
    typeof purchaseId !== 'string' ||
    typeof amount !== 'number' ||
    typeof currency !== 'string' ||
    typeof occurredAt !== 'string' ||
    event.memberId === null
  ) {
    return undefined;
  }
  return {
    purchaseId,
    memberId: event.memberId,
    amount,
    currency,
    occurredAt: new Date(occurredAt),
    sequence: event.sequence,
  };
}

/**
 * Whether an offer fires for a purchase: the offer is active, the purchase was made (its own
 * time, not when it was recorded) within the offer's dates, in CNY, for at least the minimum.
 */
export function fires(
  o: Pick<Offer, 'status' | 'startsAt' | 'endsAt' | 'minSpendFen'>,
  p: PurchaseFact,
): boolean {
  return (
    o.status === 'active' &&
    p.currency === 'CNY' &&
    p.amount >= o.minSpendFen &&
    p.occurredAt >= o.startsAt &&
    p.occurredAt < o.endsAt
  );
}

/** The ledger command (and the pool claim's reference) of an offer's reward for a purchase. */
export const rewardKey = (offerId: string, purchaseId: string) => `offer:${offerId}:${purchaseId}`;

/** What A owes B for one grant; none when it costs nothing or A and B are one brand. */
export function chargeOf(
  offer: Pick<Offer, 'programId' | 'rewardProgramId'>,
  points: number | null,
  amountFen: number,
): Grant['charge'] {
  if (amountFen <= 0 || offer.programId === offer.rewardProgramId) return null;
  return { debtor: offer.programId, creditor: offer.rewardProgramId, points, amountFen };
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** When a tier given at `at` for `days` ends. */
export const tierUntil = (at: Date, days: number) => new Date(at.getTime() + days * DAY_MS);
