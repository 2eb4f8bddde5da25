import { z } from 'zod';
import { timestamp } from '../http/schemas.ts';
import { isTimeZone, type Program } from './programs.core.ts';

export const programIdSchema = z
  .string()
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
    'must be a slug: lower-case letters, digits and inner hyphens, at most 63 characters',
  )
  .describe('A slug the operator picks, e.g. `hotel-a`');

const timezoneSchema = z
  .string()
  .refine(isTimeZone, 'must be an IANA time zone such as Asia/Shanghai')
  .describe('IANA time zone; default Asia/Shanghai');

const nameSchema = z.string().trim().min(1).max(200);
const pointsNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(50)
  .describe('What members see the points called');

export const expiryPolicySchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('never') }),
    z.strictObject({ kind: z.literal('rolling'), days: z.number().int().min(1).max(36_500) }),
    z.strictObject({
      kind: z.literal('period_end'),
      period: z.enum(['month', 'quarter', 'year']),
      afterDays: z.number().int().min(0).max(36_500),
    }),
    z.strictObject({ kind: z.literal('months'), months: z.number().int().min(1).max(1200) }),
  ])
  .describe(
    'never; rolling N days after earning; the end of the month / quarter / year that falls afterDays after earning (year-end clearing); or N calendar months after the day of earning, at local midnight — in the program time zone',
  )
  .meta({ id: 'ExpiryPolicy' });

export const programSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    pointsName: z.string(),
    timezone: z.string(),
    status: z.enum(['active', 'suspended']),
    pointsExpiry: expiryPolicySchema,
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Program' });

export const createProgramBody = z
  .strictObject({
    id: programIdSchema,
    name: nameSchema,
    pointsName: pointsNameSchema.optional(),
    timezone: timezoneSchema.optional(),
    pointsExpiry: expiryPolicySchema.optional(),
  })
  .meta({ id: 'CreateProgram' });

export const updateProgramBody = z
  .strictObject({
    name: nameSchema.optional(),
    pointsName: pointsNameSchema.optional(),
    timezone: timezoneSchema.optional(),
    status: z.enum(['active', 'suspended']).optional(),
    pointsExpiry: expiryPolicySchema.optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'send at least one field to change')
  .meta({ id: 'UpdateProgram' });

export const programParams = z.object({ programId: z.string().max(200) });

export function presentProgram(p: Program): z.infer<typeof programSchema> {
  return { ...p, createdAt: p.createdAt.toISOString(), updatedAt: p.updatedAt.toISOString() };
}
