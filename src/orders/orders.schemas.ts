import { z } from 'zod';
import { timestamp } from '../http/schemas.ts';
import { ORDER_STATUSES, type Order } from './orders.core.ts';
import type { SupplierStatement } from './orders.service.ts';

const orderIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1 to 64 letters, digits or . _ : -')
  .describe('Your id for the order: a repeat with it answers the same order');

const quantity = z.number().int().min(1).max(1000);

/** A line of an order: a reward named by its id or by its SKU, and how many. */
export const orderItemInput = z
  .union([
    z.strictObject({ rewardId: z.string().max(200), quantity }),
    z.strictObject({ sku: z.string().max(64), quantity }),
  ])
  .meta({ id: 'OrderItemInput' });

export const addressSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    phone: z.string().trim().min(1).max(40),
    lines: z.array(z.string().trim().min(1).max(200)).min(1).max(5),
    postcode: z.string().trim().max(20).optional(),
  })
  .meta({ id: 'OrderAddress' });

export const placeOrderBody = z
  .strictObject({
    id: orderIdSchema,
    items: z.array(orderItemInput).min(1).max(50),
    address: addressSchema
      .optional()
      .describe('Where goods go; vouchers and memberships need none'),
  })
  .meta({ id: 'PlaceOrder' });

export const confirmOrderBody = z
  .strictObject({
    cashPaid: z
      .boolean()
      .optional()
      .describe('The caller took the cash part: required (true) when the order has one'),
  })
  .nullish()
  .meta({ id: 'ConfirmOrder' });

export const shipOrderBody = z
  .strictObject({
    carrier: z.string().trim().min(1).max(100),
    tracking: z.string().trim().min(1).max(100),
  })
  .meta({ id: 'ShipOrder' });

export const orderSchema = z
  .object({
    id: z.string(),
    programId: z.string(),
    memberId: z.string(),
    status: z.enum(ORDER_STATUSES),
    points: z.number().int().describe('Points held (placed) or captured (confirmed and after)'),
    cashFen: z.number().int(),
    cashPaid: z.boolean(),
    holdId: z.string().nullable(),
    expiresAt: timestamp.describe('An order still placed then expires, with its hold'),
    address: addressSchema.nullable(),
    carrier: z.string().nullable(),
    tracking: z.string().nullable(),
    refundTransferId: z.string().nullable(),
    items: z.array(
      z.object({
        rewardId: z.string(),
        sku: z.string(),
        name: z.string(),
        supplier: z.string().nullable(),
        quantity: z.number().int(),
        unitPoints: z.number().int(),
        unitCash: z.number().int(),
        couponTemplateId: z
          .string()
          .nullable()
          .describe(
            'A coupon or voucher: its template, whose coupons (one per unit) the member gets at confirmation',
          ),
      }),
    ),
    placedAt: timestamp,
    confirmedAt: timestamp.nullable(),
    shippedAt: timestamp.nullable(),
    completedAt: timestamp.nullable(),
    cancelledAt: timestamp.nullable().describe('When it was cancelled or expired'),
  })
  .meta({ id: 'Order' });

export const orderResultSchema = orderSchema
  .extend({ replayed: z.boolean() })
  .meta({ id: 'OrderResult' });

export const statementSchema = z
  .object({
    supplier: z.string(),
    month: z.string(),
    from: timestamp,
    to: timestamp,
    orders: z.number().int(),
    lines: z.array(
      z.object({
        rewardId: z.string(),
        sku: z.string(),
        name: z.string(),
        quantity: z.number().int(),
        unitCost: z.number().int().describe('Fen'),
        amountFen: z.number().int(),
      }),
    ),
    totalFen: z.number().int().describe('What the program owes the supplier for the month, in fen'),
  })
  .meta({ id: 'SupplierStatement' });

export const memberOrderParams = z.object({
  programId: z.string().max(200),
  memberId: z.string().max(200),
});
export const orderParams = memberOrderParams.extend({ orderId: z.string().max(200) });
export const supplierParams = z.object({
  programId: z.string().max(200),
  supplier: z.string().max(200),
});
export const statementParams = supplierParams.extend({
  month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM'),
});
export const supplierOrdersQuery = z.object({ status: z.enum(ORDER_STATUSES).optional() });

const iso = (d: Date | null) => d?.toISOString() ?? null;

export function presentOrder(o: Order): z.infer<typeof orderSchema> {
  return {
    id: o.id,
    programId: o.programId,
    memberId: o.memberId,
    status: o.status,
    points: o.points,
    cashFen: o.cashFen,
    cashPaid: o.cashPaid,
    holdId: o.holdId,
    expiresAt: o.expiresAt.toISOString(),
    address: (o.address ?? null) as z.infer<typeof addressSchema> | null,
    carrier: o.carrier,
    tracking: o.tracking,
    refundTransferId: o.refundTransferId,
    items: o.items.map((i) => ({
      rewardId: i.rewardId,
      sku: i.sku,
      name: i.name,
      supplier: i.supplier,
      quantity: i.quantity,
      unitPoints: i.unitPoints,
      unitCash: i.unitCash,
      couponTemplateId: i.couponTemplateId,
    })),
    placedAt: o.placedAt.toISOString(),
    confirmedAt: iso(o.confirmedAt),
    shippedAt: iso(o.shippedAt),
    completedAt: iso(o.completedAt),
    cancelledAt: iso(o.cancelledAt),
  };
}

export function presentStatement(s: SupplierStatement): z.infer<typeof statementSchema> {
  return { ...s, from: s.from.toISOString(), to: s.to.toISOString() };
}
