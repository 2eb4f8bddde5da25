import { z } from 'zod';
import { timestamp } from '../http/schemas.ts';

const sourceName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,39}$/, 'lower-case letters, digits and _, starting with a letter')
  .describe(
    'spend, checkin, review, share, topup, campaign, manual, or a name of the program’s own',
  );
const cap = z.number().int().min(1).max(1_000_000_000);

export const growthPolicySchema = z
  .strictObject({
    mode: z
      .enum(['one_way', 'two_way', 'rolling'])
      .describe(
        'one_way: only rises; two_way: rises and falls, never below zero; rolling: each unit counts for windowMonths after the day it was earned',
      ),
    windowMonths: z.number().int().min(1).max(120).default(12),
    sources: z
      .array(
        z.strictObject({
          source: sourceName,
          dailyCap: cap.nullable().default(null),
          rate: z
            .strictObject({
              value: z.number().int().min(1).max(1_000_000),
              per: z.number().int().min(1).max(100_000_000),
            })
            .optional()
            .describe(
              'For spend: growth value per `per` fen of a purchase; 1 per ¥1 (100 fen) when absent',
            ),
        }),
      )
      .min(1)
      .max(100),
    memberDailyCap: cap.nullable().default(null).describe('Across every source, per local day'),
    spike: z
      .strictObject({
        factor: z.number().min(1).max(1000),
        minimum: z.number().int().min(0).max(1_000_000_000),
      })
      .nullable()
      .default(null)
      .describe(
        "Alert when today's growth passes factor × the daily average of the 30 days before, and minimum; null: no alerts",
      ),
  })
  .meta({ id: 'GrowthPolicy' });

export const growthBody = z.strictObject({
  source: sourceName,
  value: z
    .number()
    .int()
    .min(-1_000_000_000)
    .max(1_000_000_000)
    .refine((v) => v !== 0, 'must not be 0')
    .describe('Positive credits (up to the caps); negative deducts (two_way, rolling)'),
  reference: z.string().trim().min(1).max(200).describe('What caused it: an order, a review'),
});

export const tierOutcomeSchema = z.object({
  code: z.string(),
  changed: z.boolean().describe('This movement changed the tier'),
});

export const growthResultSchema = z
  .object({
    credited: z.number().int().describe('What moved (negative for a deduction)'),
    capped: z
      .number()
      .int()
      .describe('What the caps held back, or what a deduction could not take'),
    growth: z.number().int().describe("The member's growth value after"),
    tier: tierOutcomeSchema,
  })
  .meta({ id: 'GrowthResult' });

export const growthViewSchema = z
  .object({
    growth: z.number().int(),
    bySource: z.array(z.object({ source: z.string(), value: z.number().int() })),
    today: z.array(
      z.object({
        source: z.string(),
        credited: z.number().int(),
        cap: z.number().int().nullable(),
      }),
    ),
  })
  .meta({ id: 'Growth' });

export const growthEventSchema = z
  .object({
    id: z.string(),
    source: z.string(),
    requested: z.number().int(),
    value: z.number().int().describe('What moved: less than requested when a cap held some back'),
    reference: z.string(),
    day: z.string().describe('Local day in the program time zone'),
    occurredAt: timestamp,
  })
  .meta({ id: 'GrowthMovement' });

export const alertSchema = z
  .object({
    id: z.string(),
    kind: z.string(),
    memberId: z.string().nullable(),
    day: z.string(),
    data: z.record(z.string(), z.unknown()),
    createdAt: timestamp,
    acknowledgedAt: timestamp.nullable(),
    acknowledgedBy: z.string().nullable(),
  })
  .meta({ id: 'Alert' });
