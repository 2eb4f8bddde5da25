import { z } from 'zod';
import { timestamp } from '../http/schemas.ts';

// Earning rules as the API writes them. The engine (`earning.core.ts`) reads the same shapes.

const name = z.string().trim().min(1).max(100);
const list = z.array(z.string().trim().min(1).max(100)).min(1).max(1000);
const points = z.number().int().min(1).max(1_000_000_000);

export const conditionsSchema = z
  .strictObject({
    tiers: list.optional().describe('Tier codes the member must hold'),
    stores: list.optional(),
    channels: list.optional(),
    paymentMethods: list.optional(),
    categories: list.optional().describe('Items in these categories (or skus) earn'),
    excludeCategories: list.optional().describe('Items in these categories earn nothing'),
    skus: list.optional(),
    excludeSkus: list.optional(),
    minSpend: z.number().int().min(0).max(1e12).optional().describe('Fen; the purchase amount'),
    from: timestamp.optional().describe('Purchases at or after this instant'),
    to: timestamp.optional().describe('Purchases before this instant'),
    weekdays: z
      .array(z.number().int().min(1).max(7))
      .min(1)
      .max(7)
      .optional()
      .describe('1–7, Monday first, in the program time zone'),
    daysOfMonth: z
      .array(z.number().int().min(1).max(31))
      .min(1)
      .max(31)
      .optional()
      .describe('Member day: e.g. [8]'),
    birthday: z
      .enum(['day', 'week', 'month'])
      .optional()
      .describe("The member's birthday falls on the purchase's day, week (Monday first) or month"),
    firstPurchase: z.boolean().optional().describe("Only the member's first purchase here"),
  })
  .meta({ id: 'EarningConditions' });

export const effectSchema = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('rate'),
      points,
      per: z.number().int().min(1).max(100_000_000).describe('Fen: 1 point per ¥10 is per 1000'),
    }),
    z.strictObject({
      type: z.literal('multiplier'),
      factor: z
        .number()
        .min(1)
        .max(100)
        .refine((f) => Math.abs(f * 10_000 - Math.round(f * 10_000)) < 1e-6, 'at most 4 decimals')
        .describe('× the base points, e.g. 2'),
    }),
    z.strictObject({ type: z.literal('bonus'), points }),
  ])
  .meta({ id: 'EarningEffect' });

export const limitsSchema = z
  .strictObject({
    perPurchase: points.optional(),
    perMemberPerDay: points.optional(),
    perMemberPerMonth: points.optional(),
    budget: points.optional().describe('Points the rule may ever issue, never exceeded'),
  })
  .meta({ id: 'EarningLimits' });

const ruleFields = {
  name,
  priority: z
    .number()
    .int()
    .min(-1_000_000)
    .max(1_000_000)
    .default(0)
    .describe('Higher first: per item the highest-priority rate rule gives the base'),
  exclusive: z.boolean().default(false).describe('When it matches, it replaces the other rules'),
  conditions: conditionsSchema.default({}),
  effect: effectSchema,
  limits: limitsSchema.default({}),
};

export const createRuleBody = z
  .strictObject({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, _ and -')
      .optional()
      .describe('Your own id for the rule; one is made when absent'),
    ...ruleFields,
  })
  .meta({ id: 'CreateEarningRule' });

export const updateRuleBody = z
  .strictObject({
    name: name.optional(),
    priority: ruleFields.priority.unwrap().optional(),
    exclusive: z.boolean().optional(),
    conditions: conditionsSchema.optional(),
    effect: effectSchema.optional(),
    limits: limitsSchema.optional(),
    active: z.boolean().optional().describe('false deactivates, true reactivates'),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'send at least one field to change')
  .meta({ id: 'UpdateEarningRule' });

export const ruleSchema = z
  .object({
    id: z.string(),
    version: z.number().int().describe('Each change makes a new version'),
    active: z.boolean(),
    name: z.string(),
    priority: z.number().int(),
    exclusive: z.boolean(),
    conditions: conditionsSchema,
    effect: effectSchema,
    limits: limitsSchema,
    issued: z.number().int().optional().describe('Points issued under the budget so far'),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'EarningRule' });

export const ruleParams = z.object({ programId: z.string().max(200), ruleId: z.string().max(200) });

export const earningPolicySchema = z
  .strictObject({
    pendingDays: z
      .number()
      .int()
      .min(0)
      .max(365)
      .default(0)
      .describe('The return window: earned points are pending this many days after the purchase'),
    rounding: z
      .enum(['floor', 'round', 'ceil'])
      .default('floor')
      .describe("Applied once per purchase, to the rules' exact total"),
    returnPolicy: z
      .enum(['within_balance', 'only_pending'])
      .default('within_balance')
      .describe(
        'When a return finds the points spent: within_balance takes what is available and writes off the rest; only_pending takes back only what is still pending',
      ),
  })
  .meta({ id: 'EarningPolicy' });
