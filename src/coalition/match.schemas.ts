import { z } from 'zod';
import { timestamp } from '../http/schemas.ts';
import { programIdSchema } from '../programs/programs.schemas.ts';
import { tierViewSchema } from '../tiers/tiers.schemas.ts';
import { codeSchema } from './coalition.schemas.ts';
import type { MatchTable, StoredMatch } from './match.core.ts';

export const matchRuleSchema = z
  .union([
    z
      .strictObject({
        coalitionLevel: codeSchema.describe('A level of the coalition; it or any level above it'),
        tier: codeSchema.describe('The tier of this program it matches'),
      })
      .describe('A coalition level matches a tier'),
    z
      .strictObject({
        programId: programIdSchema.describe('Another program of the coalition'),
        tier: codeSchema.describe('A tier there; it or any tier above it'),
        matchTier: codeSchema.describe('The tier of this program it matches'),
      })
      .describe('A tier at another program matches a tier'),
  ])
  .meta({ id: 'TierMatchRule' });

export const matchTableBody = z
  .strictObject({
    maxMatchTier: codeSchema.describe('No match lands above this tier'),
    windowDays: z
      .number()
      .int()
      .min(1)
      .max(3650)
      .describe('A member may ask for a match this many days after enrolling'),
    rules: z.array(matchRuleSchema).max(100),
  })
  .meta({ id: 'SetTierMatch' });

export const matchTableSchema = z
  .object({
    programId: z.string(),
    maxMatchTier: z.string(),
    windowDays: z.number().int(),
    rules: z.array(matchRuleSchema),
    createdAt: timestamp.describe(
      'When the program first offered status match: members enrolled before are never matched',
    ),
    updatedAt: timestamp,
  })
  .meta({ id: 'TierMatch' });

const storedMatchSchema = z.object({
  tier: z.string(),
  rule: matchRuleSchema,
  matchedAt: timestamp,
});

export const matchOutcomeSchema = z
  .object({
    applied: z.boolean().describe("This request moved the member's tier"),
    match: storedMatchSchema
      .nullable()
      .describe('The match the member has had in the program; null: none'),
    tier: tierViewSchema,
  })
  .meta({ id: 'TierMatchOutcome' });

export function presentMatchTable(t: MatchTable): z.infer<typeof matchTableSchema> {
  return { ...t, createdAt: t.createdAt.toISOString(), updatedAt: t.updatedAt.toISOString() };
}

export const presentMatch = (m: StoredMatch) => ({ ...m, matchedAt: m.matchedAt.toISOString() });
