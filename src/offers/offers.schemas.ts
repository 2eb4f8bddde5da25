import { z } from 'zod';
import { timestamp } from '../http/schemas.ts';
import { programIdSchema } from '../programs/programs.schemas.ts';
import type { Grant, Offer } from './offers.core.ts';

const idSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1 to 64 letters, digits or . _ : -')
  .describe('Your own id for the offer; one is made when left out');
const nameSchema = z.string().trim().min(1).max(200);
const fen = z.number().int().min(0).max(100_000_000_000);
const count = z.number().int().min(0).max(10_000_000);

export const rewardSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('points'),
      programId: programIdSchema,
      points: z.number().int().min(1).max(100_000_000),
    }),
    z.strictObject({
      kind: z.literal('tier'),
      programId: programIdSchema,
      tier: z.string().trim().min(1).max(200),
      days: z.number().int().min(1).max(3650),
    }),
    z.strictObject({ kind: z.literal('pool'), benefitId: z.string().min(1).max(200) }),
  ])
  .describe("Brand B's reward: its points, its tier for some days, or a benefit of the pool")
  .meta({ id: 'OfferReward' });

export const createOfferBody = z
  .strictObject({
    id: idSchema.optional(),
    name: nameSchema,
    minSpendFen: fen.describe('A purchase of at least this much (fen, CNY) fires the offer'),
    reward: rewardSchema,
    stock: count.describe('How many rewards the offer gives in all'),
    perMemberLimit: z.number().int().min(1).max(1000).optional().describe('Default 1'),
    startsAt: timestamp,
    endsAt: timestamp,
    costFen: fen.optional().describe('For a tier reward: what B charges A per grant'),
  })
  .meta({ id: 'CreateOffer' });

export const updateOfferBody = z
  .strictObject({
    name: nameSchema.optional(),
    minSpendFen: fen.optional(),
    stock: count.optional().describe('Never below what was granted'),
    perMemberLimit: z.number().int().min(1).max(1000).optional(),
    startsAt: timestamp.optional(),
    endsAt: timestamp.optional(),
    costFen: fen.optional(),
    status: z.enum(['active', 'paused']).optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'send at least one field to change')
  .meta({ id: 'UpdateOffer' });

export const offerSchema = z
  .object({
    id: z.string(),
    programId: z.string().describe('Brand A, where the purchase happens'),
    name: z.string(),
    minSpendFen: z.number().int(),
    reward: rewardSchema,
    rewardProgramId: z.string().describe('Brand B, where the reward is given'),
    stock: z.number().int(),
    granted: z.number().int(),
    stockLeft: z.number().int(),
    perMemberLimit: z.number().int(),
    startsAt: timestamp,
    endsAt: timestamp,
    costFen: z.number().int().nullable(),
    status: z.enum(['active', 'paused']),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Offer' });

export const grantSchema = z
  .object({
    id: z.string(),
    offerId: z.string(),
    purchaseId: z.string(),
    memberId: z.string(),
    status: z.enum(['reserved', 'granted', 'skipped']),
    reason: z.string().nullable().describe('Why it was skipped'),
    detail: z.record(z.string(), z.unknown()),
    charge: z
      .object({
        debtor: z.string(),
        creditor: z.string(),
        points: z.number().int().nullable(),
        amountFen: z.number().int(),
      })
      .nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'OfferGrant' });

export const offerParams = z.object({
  programId: z.string().max(200),
  offerId: z.string().max(200),
});

export function presentOffer(o: Offer): z.infer<typeof offerSchema> {
  return {
    ...o,
    stockLeft: Math.max(0, o.stock - o.granted),
    startsAt: o.startsAt.toISOString(),
    endsAt: o.endsAt.toISOString(),
    createdAt: o.createdAt.toISOString(),
    updatedAt: o.updatedAt.toISOString(),
  };
}

export function presentGrant(g: Grant): z.infer<typeof grantSchema> {
  return { ...g, createdAt: g.createdAt.toISOString(), updatedAt: g.updatedAt.toISOString() };
}
