import { z } from 'zod';
import { tierOutcomeSchema } from '../growth/growth.schemas.ts';
import { timestamp } from '../http/schemas.ts';
import { identifierInput } from '../members/members.schemas.ts';

// Purchases as tills and shops send them, and what they earned. Money is integer fen.

const fen = z.number().int().min(0).max(1_000_000_000_000);
const label = z.string().trim().min(1).max(100);
/** The brand's own number: visible characters, no spaces. */
const number = z
  .string()
  .regex(/^[\x21-\x7e]{1,100}$/, '1 to 100 visible ASCII characters, no spaces');

export const itemSchema = z.strictObject({
  sku: label,
  category: label.optional(),
  quantity: z.number().int().min(1).max(1_000_000),
  amount: fen.describe('The line’s total, fen'),
});

export const purchaseBody = z
  .strictObject({
    id: number.describe('The brand’s order number: the purchase’s idempotency key'),
    member: z
      .union([
        z.strictObject({ id: z.string().min(1).max(100) }),
        z.strictObject({ identifier: identifierInput }),
      ])
      .describe('The member by id, or by one of their identifiers (a phone, a card number)'),
    enroll: z
      .boolean()
      .optional()
      .describe('With an identifier nobody has here: enroll them (the purchase’s channel)'),
    amount: fen.describe('Fen; with items, their sum'),
    currency: z.literal('CNY'),
    occurredAt: timestamp.describe('When it was paid; at most 5 minutes ahead of the server'),
    store: label.optional(),
    channel: label.optional(),
    paymentMethod: label.optional(),
    items: z.array(itemSchema).min(1).max(500).optional(),
  })
  .refine((p) => p.items === undefined || p.items.reduce((s, i) => s + i.amount, 0) === p.amount, {
    message: 'amount must equal the sum of the items’ amounts',
    path: ['amount'],
  })
  .meta({ id: 'Purchase' });

export const breakdownLineSchema = z.object({
  ruleId: z.string().describe('The rule, or tier:<code> for the tier’s multiplier'),
  name: z.string(),
  points: z.number().int(),
});

export const purchaseResultSchema = z
  .object({
    id: z.string(),
    memberId: z.string(),
    points: z.object({
      earned: z.number().int().describe('Points credited: the breakdown adds up to it'),
      pending: z.number().int().describe('Of them, still in the return window'),
      pendingUntil: timestamp.optional(),
      breakdown: z.array(breakdownLineSchema),
    }),
    growth: z.object({
      credited: z.number().int(),
      capped: z.number().int().describe('What the growth caps held back'),
    }),
    tier: tierOutcomeSchema,
  })
  .meta({ id: 'PurchaseResult' });

export const purchaseViewSchema = purchaseResultSchema
  .extend({
    amount: z.number().int(),
    currency: z.string(),
    occurredAt: timestamp,
    store: z.string().nullable(),
    channel: z.string().nullable(),
    paymentMethod: z.string().nullable(),
    items: z
      .array(
        z.object({
          sku: z.string().nullable(),
          category: z.string().nullable(),
          quantity: z.number().int(),
          amount: z.number().int(),
        }),
      )
      .nullable(),
    rules: z
      .array(z.object({ id: z.string(), version: z.number().int() }))
      .describe('The rule versions the purchase used'),
    returned: z.object({
      points: z.number().int(),
      growth: z.number().int(),
      amount: z.number().int().describe('Fen returned, by items and by amount'),
    }),
    createdAt: timestamp,
  })
  .meta({ id: 'PurchaseView' });

export const batchBody = z
  .strictObject({ purchases: z.array(z.unknown()).min(1).max(1000) })
  .describe('Each purchase as for POST …/purchases; each is checked on its own')
  .meta({ id: 'PurchaseBatch' });

export const batchResultSchema = z
  .object({
    results: z.array(
      z.union([
        z.object({ status: z.literal(201), purchase: purchaseResultSchema }),
        z.object({
          status: z.literal(200),
          purchase: purchaseResultSchema,
          replayed: z.literal(true),
        }),
        z.object({
          status: z.number().int(),
          problem: z.object({ code: z.string(), detail: z.string() }).loose(),
        }),
      ]),
    ),
  })
  .meta({ id: 'PurchaseBatchResult' });

export const returnBody = z
  .strictObject({
    id: number.describe('The return’s own number: its idempotency key'),
    items: z
      .array(z.strictObject({ sku: label, quantity: z.number().int().min(1).max(1_000_000) }))
      .min(1)
      .max(500)
      .optional(),
    amount: fen.min(1).optional().describe('Fen, for a purchase without items or a partial refund'),
    reason: z.string().trim().min(1).max(500),
  })
  .describe('Items, or an amount, or neither for everything not yet returned')
  .meta({ id: 'Return' });

export const returnResultSchema = z
  .object({
    id: z.string(),
    purchaseId: z.string(),
    memberId: z.string(),
    amount: z.number().int().describe('Fen returned'),
    points: z.object({
      reversed: z.number().int().describe('Taken back from the member'),
      writtenOff: z
        .number()
        .int()
        .describe('Could not be taken back (spent): written off to the adjustment account'),
    }),
    growth: z.object({ reversed: z.number().int() }),
    tier: tierOutcomeSchema,
  })
  .meta({ id: 'ReturnResult' });

export const purchaseParams = z.object({
  programId: z.string().max(200),
  purchaseId: z.string().max(200),
});
