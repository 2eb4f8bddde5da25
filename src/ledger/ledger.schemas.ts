import { z } from 'zod';
import { timestamp } from '../http/schemas.ts';
import { memberParams } from '../members/members.schemas.ts';
import { type Hold, TRANSFER_CODES } from './ledger.core.ts';

const points = z.number().int().min(1).max(1_000_000_000);

export const pointsSchema = z
  .object({
    balance: z.number().int().describe('Posted points, including held and pending ones'),
    available: z.number().int().describe('What the member can spend now'),
    pending: z.number().int().describe('In a return window: not spendable yet'),
    held: z.number().int().describe('Reserved by holds'),
    expiring: z
      .array(
        z.object({
          date: z.string().describe('Last day the points can be used, program time zone'),
          points: z.number().int(),
        }),
      )
      .describe('Points that will expire, by date, soonest first'),
  })
  .meta({ id: 'Points' });

export const historyItemSchema = z
  .object({
    id: z.string(),
    code: z.enum(TRANSFER_CODES),
    points: z.number().int().describe('Signed: + credited to the member, − taken'),
    balanceAfter: z.number().int().nullable(),
    reference: z.string().nullable(),
    createdAt: timestamp,
  })
  .meta({ id: 'PointsMovement' });

export const lotSchema = z
  .object({
    id: z.string(),
    amount: z.number().int(),
    remaining: z.number().int(),
    expiresAt: timestamp.nullable(),
    pendingUntil: timestamp.nullable(),
    usable: z.boolean().describe('Spendable now: not pending, not expired, not used up'),
    createdAt: timestamp,
  })
  .meta({ id: 'Lot' });

export const holdSchema = z
  .object({
    id: z.string(),
    memberId: z.string(),
    points: z.number().int(),
    status: z.enum(['pending', 'captured', 'released', 'expired']),
    captured: z.number().int().nullable(),
    reference: z.string().nullable(),
    expiresAt: timestamp,
    createdAt: timestamp,
    resolvedAt: timestamp.nullable(),
  })
  .meta({ id: 'Hold' });

export const transferResultSchema = z
  .object({
    transferId: z.string(),
    points: z.number().int(),
    balance: z.number().int().describe("The member's posted balance after this transfer"),
  })
  .meta({ id: 'TransferResult' });

const reference = z.string().trim().min(1).max(200);

export const adjustmentBody = z
  .strictObject({
    points: z
      .number()
      .int()
      .min(-1_000_000_000)
      .max(1_000_000_000)
      .refine((n) => n !== 0, 'must not be zero')
      .describe('Positive credits the member, negative takes points away'),
    reason: z.string().trim().min(1).max(500),
  })
  .meta({ id: 'Adjustment' });

export const redemptionBody = z
  .strictObject({
    points,
    reference: reference.describe('What the points paid for, e.g. an order id'),
  })
  .meta({ id: 'Redemption' });

export const holdBody = z
  .strictObject({
    points,
    reference: reference.optional(),
    expiresInSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 86_400)
      .default(900)
      .describe('Default 900 (15 minutes), at most 7 days'),
  })
  .meta({ id: 'HoldRequest' });

export const captureBody = z
  .strictObject({
    points: points.optional().describe('Default: everything held; the rest is released'),
  })
  .nullish()
  .meta({ id: 'Capture' });

export const holdParams = memberParams.extend({ holdId: z.string().max(200) });

export function presentHold(h: Hold): z.infer<typeof holdSchema> {
  return {
    id: h.id,
    memberId: h.memberId,
    points: h.amount,
    status: h.status,
    captured: h.captured,
    reference: h.reference,
    expiresAt: h.expiresAt.toISOString(),
    createdAt: h.createdAt.toISOString(),
    resolvedAt: h.resolvedAt?.toISOString() ?? null,
  };
}

export const reconcileSchema = z
  .object({
    ok: z.boolean(),
    checkedAt: timestamp,
    checks: z.array(
      z.object({
        name: z.string(),
        description: z.string(),
        held: z.boolean(),
        offending: z.array(z.record(z.string(), z.unknown())),
      }),
    ),
  })
  .meta({ id: 'ReconcileReport' });
