import { createHash } from 'node:crypto';

// A mall order's pure rules: its life cycle and what a repeat of its id must match.
//
//   placed ──confirm──▶ confirmed ──ship──▶ shipped ──complete──▶ completed
//     │                    │   └──────────complete (nothing to ship)──────▲
//     ├──cancel──▶ cancelled ◀──cancel (points refunded)
//     └──hold's time ran out──▶ expired

export const ORDER_STATUSES = [
  'placed',
  'confirmed',
  'shipped',
  'completed',
  'cancelled',
  'expired',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export type OrderAction = 'confirm' | 'ship' | 'complete' | 'cancel';

/** The statuses an action may start from. */
export const ALLOWED_FROM: Record<OrderAction, readonly OrderStatus[]> = {
  confirm: ['placed'],
  ship: ['confirmed'],
  // A voucher or a membership has nothing to ship: complete straight from confirmed.
  complete: ['confirmed', 'shipped'],
  // Once shipped the goods are on their way: a return is the supplier's process, not a cancel.
  cancel: ['placed', 'confirmed'],
};

export interface OrderItem {
  line: number;
  rewardId: string;
  sku: string;
  name: string;
  supplier: string | null;
  quantity: number;
  /** The member's price per unit when the order was placed (their tier's). */
  unitPoints: number;
  unitCash: number;
  /** What a unit costs the program at the supplier, in fen: the statement's amount. */
  unitCost: number;
  /** The limit counter's period the item counted in; null without a limit. */
  period: string | null;
  /** A coupon or voucher: the template whose coupons the line reserved, issued at confirmation. */
  couponTemplateId: string | null;
}

export interface Order {
  programId: string;
  id: string;
  memberId: string;
  status: OrderStatus;
  fingerprint: string;
  points: number;
  cashFen: number;
  cashPaid: boolean;
  holdId: string | null;
  address: unknown;
  carrier: string | null;
  tracking: string | null;
  refundTransferId: string | null;
  placedAt: Date;
  expiresAt: Date;
  confirmedAt: Date | null;
  shippedAt: Date | null;
  completedAt: Date | null;
  cancelledAt: Date | null;
  items: OrderItem[];
}

/**
 * What a repeat of an order id must ask for: the member, the items as named and the address. A
 * retry with the same id is the same order; anything else under that id is a conflict.
 */
export function orderFingerprint(
  memberId: string,
  items: { rewardId?: string | undefined; sku?: string | undefined; quantity: number }[],
  address: unknown,
): string {
  const named = items.map((i) => [i.rewardId ?? null, i.sku ?? null, i.quantity]);
  return createHash('sha256')
    .update(JSON.stringify([memberId, named, address ?? null]))
    .digest('base64url');
}

/** Totals of an order's items. */
export function totals(items: Pick<OrderItem, 'quantity' | 'unitPoints' | 'unitCash'>[]) {
  return {
    points: items.reduce((s, i) => s + i.quantity * i.unitPoints, 0),
    cashFen: items.reduce((s, i) => s + i.quantity * i.unitCash, 0),
  };
}
