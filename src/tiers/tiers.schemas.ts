import { z } from 'zod';
import { timestamp } from '../http/schemas.ts';

const code = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'lower-case letters, digits, _ and -')
  .describe('Stable code, e.g. gold');

export const benefitSchema = z
  .strictObject({
    code,
    name: z.string().trim().min(1).max(100),
    kind: z
      .enum(['multiplier', 'quota', 'flag'])
      .describe('multiplier: earn × value; quota: count uses per period; flag: on'),
    value: z.number().min(0).max(100).optional().describe('A multiplier, e.g. 1.5'),
    quota: z
      .strictObject({
        count: z.number().int().min(1).max(10_000),
        period: z.enum(['month', 'year']),
      })
      .optional(),
  })
  .meta({ id: 'Benefit' });

export const ladderSchema = z
  .strictObject({
    basis: z.enum(['growth', 'score']).describe('growth value, or the composite score'),
    evaluation: z
      .enum(['immediate', 'periodic'])
      .describe(
        'immediate: follows the basis both ways; periodic: up at once, down at validity end',
      ),
    validityMonths: z.number().int().min(1).max(120).default(12),
    downgrade: z.enum(['to_qualified', 'one_level']).default('to_qualified'),
    warningDays: z.number().int().min(0).max(365).default(30),
    tiers: z
      .array(
        z.strictObject({
          code,
          name: z.string().trim().min(1).max(100),
          threshold: z.number().int().min(0).max(1_000_000_000_000),
          inviteOnly: z.boolean().default(false),
          benefits: z.array(benefitSchema).max(50).default([]),
        }),
      )
      .min(1)
      .max(20)
      .describe('Lowest first; thresholds strictly increase from 0 (the entry tier, everyone’s)'),
    score: z
      .strictObject({
        windowMonths: z.number().int().min(1).max(120).default(12),
        components: z
          .array(
            z.strictObject({
              source: z.string().min(1).max(40).describe('A growth source, or credit'),
              measure: z.enum(['sum', 'count', 'days']),
              weight: z.number().min(0).max(1_000_000),
              cap: z.number().int().min(0).max(1_000_000_000_000).optional(),
            }),
          )
          .min(1)
          .max(20),
      })
      .optional()
      .describe('With basis score: floor(Σ weight × min(measure, cap)) over the window'),
  })
  .meta({ id: 'TierLadder' });

export const tierViewSchema = z
  .object({
    tier: z.object({ code: z.string(), name: z.string() }),
    since: timestamp,
    validUntil: timestamp.nullable().describe('When it is evaluated again; null: no end'),
    overridden: z.boolean(),
    basis: z.number().int().describe('The growth value or score the tier stands on'),
    next: z.object({ code: z.string(), name: z.string(), needed: z.number().int() }).nullable(),
    eligible: z.array(z.string()).describe('Invite-only tiers the member reaches'),
  })
  .meta({ id: 'MemberTier' });

export const tierChangeSchema = z
  .object({
    id: z.string(),
    from: z.string().nullable(),
    to: z.string(),
    why: z.enum([
      'upgrade',
      'downgrade',
      'renewal',
      'invite',
      'override',
      'merge',
      'match',
      'ladder',
    ]),
    validUntil: timestamp.nullable(),
    reason: z.string().nullable(),
    at: timestamp,
  })
  .meta({ id: 'TierChange' });

export const overrideBody = z.strictObject({
  code,
  reason: z.string().trim().min(1).max(500),
  validUntil: timestamp
    .optional()
    .describe('Evaluation leaves the tier alone until then; absent: until changed'),
});

export const benefitViewSchema = benefitSchema
  .extend({
    left: z.number().int().optional().describe('Quota: uses left this period'),
    period: z.string().optional(),
  })
  .meta({ id: 'MemberBenefit' });

export const benefitUseSchema = z
  .object({
    id: z.string(),
    benefit: z.string(),
    period: z.string(),
    left: z.number().int(),
    usedAt: timestamp,
  })
  .meta({ id: 'BenefitUse' });

export const ladderPreviewSchema = z
  .object({
    members: z.number().int().describe('The members of the program now'),
    tiers: z.array(
      z.object({
        code: z.string(),
        name: z.string(),
        members: z
          .number()
          .int()
          .describe(
            'Members who would sit in this tier under the ladder previewed: by the basis each was last evaluated with; invite-only tiers and overrides keep theirs',
          ),
        now: z.number().int().describe('Members who sit in this tier now'),
      }),
    ),
  })
  .meta({ id: 'TierLadderPreview' });
