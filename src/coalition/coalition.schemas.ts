import { z } from 'zod';
import { timestamp } from '../http/schemas.ts';
import { programIdSchema } from '../programs/programs.schemas.ts';
import type { EffectiveLevel } from './coalition.core.ts';
import type { MemberLevelView } from './coalition.service.ts';

/** A level's or a tier's code, as the tiers module spells tier codes. */
export const codeSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'lower-case letters, digits, _ and -')
  .describe('Stable code, e.g. diamond');

export const levelSchema = z
  .strictObject({
    code: codeSchema,
    name: z.string().trim().min(1).max(100),
    rank: z.number().int().min(0).max(1_000_000).describe('Higher is higher; unique'),
  })
  .meta({ id: 'CoalitionLevel' });

export const levelsBody = z
  .array(levelSchema)
  .max(50)
  .describe('The whole list, in any order: rank orders it')
  .meta({ id: 'CoalitionLevels' });

export const levelsSchema = z.object({
  data: z.array(levelSchema).describe('Highest rank first'),
});

export const levelRuleSchema = z
  .strictObject({
    level: codeSchema,
    when: z.strictObject({
      programId: programIdSchema,
      tierAtLeast: codeSchema.describe('A tier of that program; it or any tier above it'),
    }),
  })
  .meta({ id: 'CoalitionLevelRule' });

export const levelRulesBody = z
  .array(levelRuleSchema)
  .max(100)
  .describe('The whole list: a member has the highest level whose rule one of their tiers meets')
  .meta({ id: 'CoalitionLevelRules' });

export const levelRulesSchema = z.object({ data: z.array(levelRuleSchema) });

export const memberLevelBody = z
  .strictObject({
    level: codeSchema.describe('A level of the coalition'),
    source: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .describe('Who says so, e.g. the payment platform: alipay'),
    validUntil: timestamp
      .optional()
      .describe('After this it no longer counts; absent: until set again'),
  })
  .meta({ id: 'SetMemberCoalitionLevel' });

const effectiveSchema = z.object({
  code: z.string(),
  name: z.string(),
  rank: z.number().int(),
  source: z.string().describe('The source it was set with, or `rule` when derived from a tier'),
  validUntil: timestamp.nullable(),
});

export const memberLevelSchema = z
  .object({
    memberId: z.string(),
    level: effectiveSchema
      .nullable()
      .describe('The level that counts: the one set (while valid) or the derived one, the higher'),
    set: z
      .object({
        level: z.string(),
        source: z.string(),
        validUntil: timestamp.nullable(),
        setAt: timestamp,
        counted: z.boolean().describe('Still valid, and the level still defined'),
      })
      .nullable()
      .optional()
      .describe('The level set by the coalition’s integration (coalition keys only)'),
    derived: z
      .object({
        code: z.string(),
        name: z.string(),
        rank: z.number().int(),
        programId: z.string(),
        tier: z.string(),
      })
      .nullable()
      .optional()
      .describe('The highest level the member’s tiers derive, and by which (coalition keys only)'),
  })
  .meta({ id: 'MemberCoalitionLevel' });

export const memberLevelParams = z.object({ memberId: z.string().max(200) });

const presentEffective = (l: EffectiveLevel) => ({
  ...l,
  validUntil: l.validUntil?.toISOString() ?? null,
});

/** What a key sees of a member's level: the coalition all of it, a program the level alone. */
export function presentMemberLevel(
  v: MemberLevelView,
  coalition: boolean,
): z.infer<typeof memberLevelSchema> {
  const level = v.level && presentEffective(v.level);
  if (!coalition) return { memberId: v.memberId, level };
  return {
    memberId: v.memberId,
    level,
    set: v.set && {
      level: v.set.level,
      source: v.set.source,
      validUntil: v.set.validUntil?.toISOString() ?? null,
      setAt: v.set.setAt.toISOString(),
      counted: v.set.counted,
    },
    derived: v.derived && {
      code: v.derived.level.code,
      name: v.derived.level.name,
      rank: v.derived.level.rank,
      programId: v.derived.programId,
      tier: v.derived.tier,
    },
  };
}
