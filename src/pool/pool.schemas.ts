import { z } from 'zod';
import { timestamp } from '../http/schemas.ts';
import { programIdSchema } from '../programs/programs.schemas.ts';
import {
  BENEFIT_KINDS,
  BENEFIT_STATUSES,
  type PoolBenefit,
  type PoolClaim,
  stockLeft,
} from './pool.core.ts';
import type { Claimable } from './pool.service.ts';

const idSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1 to 64 letters, digits or . _ : -')
  .describe('Your own id for the benefit; one is made when left out');
const codeSchema = z.string().trim().min(1).max(200);
const nameSchema = z.string().trim().min(1).max(200);
const count = z.number().int().min(0).max(10_000_000);
const fen = z.number().int().min(0).max(100_000_000_000);

export const eligibilitySchema = z
  .union([
    z.strictObject({ any: z.literal(true) }),
    z.strictObject({ coalitionLevelAtLeast: codeSchema }),
    z.strictObject({ programId: programIdSchema, tierAtLeast: codeSchema }),
  ])
  .describe(
    'Who may claim: `{ "any": true }`, a coalition level or above, or a tier or above in one program',
  )
  .meta({ id: 'PoolEligibility' });

export const createBenefitBody = z
  .strictObject({
    id: idSchema.optional(),
    name: nameSchema,
    kind: z.enum(BENEFIT_KINDS),
    stock: count.describe('How many codes may be claimed in all'),
    validFrom: timestamp.optional(),
    validUntil: timestamp.optional(),
    costFen: fen.describe('What one use costs, in fen: what settlement charges'),
    perMemberLimit: z.number().int().min(1).max(1000).optional().describe('Default 1'),
    eligibility: eligibilitySchema,
    chargeTo: z
      .enum(['contributor', 'home'])
      .optional()
      .describe(
        "Who pays for a use: the contributor (to the coalition; default) or the member's home program (to the contributor)",
      ),
    codeValidDays: z
      .number()
      .int()
      .min(1)
      .max(3650)
      .optional()
      .describe('A code expires this many days after its claim (never after validUntil)'),
  })
  .meta({ id: 'CreatePoolBenefit' });

export const updateBenefitBody = z
  .strictObject({
    name: nameSchema.optional(),
    stock: count.optional().describe('Never below what was claimed'),
    validFrom: timestamp.nullable().optional(),
    validUntil: timestamp.nullable().optional(),
    perMemberLimit: z.number().int().min(1).max(1000).optional(),
    codeValidDays: z.number().int().min(1).max(3650).nullable().optional(),
    status: z.enum(BENEFIT_STATUSES).optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'send at least one field to change')
  .meta({ id: 'UpdatePoolBenefit' });

export const benefitSchema = z
  .object({
    id: z.string(),
    programId: z.string().describe('The contributing program'),
    name: z.string(),
    kind: z.enum(BENEFIT_KINDS),
    stock: z.number().int(),
    stockLeft: z.number().int(),
    claimed: z.number().int(),
    used: z.number().int(),
    validFrom: timestamp.nullable(),
    validUntil: timestamp.nullable(),
    costFen: z.number().int(),
    perMemberLimit: z.number().int(),
    eligibility: eligibilitySchema,
    chargeTo: z.enum(['contributor', 'home']),
    codeValidDays: z.number().int().nullable(),
    status: z.enum(BENEFIT_STATUSES),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'PoolBenefit' });

export const claimableSchema = z
  .object({
    benefitId: z.string(),
    programId: z.string(),
    name: z.string(),
    kind: z.enum(BENEFIT_KINDS),
    validUntil: timestamp.nullable(),
    codeValidDays: z.number().int().nullable(),
    left: z.number().int().describe('How many more this member may claim now'),
  })
  .meta({ id: 'ClaimablePoolBenefit' });

export const claimBody = z
  .strictObject({
    reference: z
      .string()
      .regex(/^[\x21-\x7e]{1,128}$/, 'must be 1 to 128 visible ASCII characters')
      .optional()
      .describe('Your business key: a repeat with it answers the first claim'),
  })
  .nullish()
  .meta({ id: 'PoolClaimRequest' });

export const claimSchema = z
  .object({
    id: z.string(),
    benefitId: z.string(),
    memberId: z.string(),
    reference: z.string().nullable(),
    code: z
      .string()
      .describe('The single-use code: four groups of four, the last character a check'),
    status: z.enum(['claimed', 'used']),
    expiresAt: timestamp.nullable(),
    claimedAt: timestamp,
    usedAt: timestamp.nullable(),
    sponsorProgramId: z.string().nullable(),
  })
  .meta({ id: 'PoolClaim' });

export const claimResultSchema = claimSchema
  .extend({
    benefit: z.object({ name: z.string(), kind: z.enum(BENEFIT_KINDS), programId: z.string() }),
    replayed: z.boolean(),
  })
  .meta({ id: 'PoolClaimResult' });

export const redeemBody = z.strictObject({ code: codeSchema }).meta({ id: 'PoolRedeem' });

export const redemptionSchema = z
  .object({
    claimId: z.string(),
    benefitId: z.string(),
    benefit: z.string(),
    memberId: z.string(),
    usedAt: timestamp,
    charge: z
      .object({ debtor: z.string(), creditor: z.string(), amountFen: z.number().int() })
      .nullable()
      .describe('The settlement line the use wrote, if any'),
  })
  .meta({ id: 'PoolRedemption' });

export const programBenefitParams = z.object({
  programId: z.string().max(200),
  benefitId: z.string().max(200),
});
export const memberPoolParams = z.object({ memberId: z.string().max(200) });
export const memberClaimParams = z.object({
  memberId: z.string().max(200),
  benefitId: z.string().max(200),
});

const iso = (d: Date | null) => d?.toISOString() ?? null;

export function presentBenefit(b: PoolBenefit): z.infer<typeof benefitSchema> {
  return {
    id: b.id,
    programId: b.programId,
    name: b.name,
    kind: b.kind,
    stock: b.stock,
    stockLeft: stockLeft(b),
    claimed: b.claimed,
    used: b.used,
    validFrom: iso(b.validFrom),
    validUntil: iso(b.validUntil),
    costFen: b.costFen,
    perMemberLimit: b.perMemberLimit,
    eligibility: b.eligibility,
    chargeTo: b.chargeTo,
    codeValidDays: b.codeValidDays,
    status: b.status,
    createdAt: b.createdAt.toISOString(),
    updatedAt: b.updatedAt.toISOString(),
  };
}

export function presentClaimable({ benefit: b, left }: Claimable): z.infer<typeof claimableSchema> {
  return {
    benefitId: b.id,
    programId: b.programId,
    name: b.name,
    kind: b.kind,
    validUntil: iso(b.validUntil),
    codeValidDays: b.codeValidDays,
    left,
  };
}

export function presentClaim(c: PoolClaim): z.infer<typeof claimSchema> {
  return {
    id: c.id,
    benefitId: c.benefitId,
    memberId: c.memberId,
    reference: c.reference,
    code: c.code,
    status: c.status,
    expiresAt: iso(c.expiresAt),
    claimedAt: c.claimedAt.toISOString(),
    usedAt: iso(c.usedAt),
    sponsorProgramId: c.sponsorProgramId,
  };
}
