import { z } from 'zod';
import { timestamp } from '../http/schemas.ts';
import { TRANSFER_CODES } from '../ledger/ledger.core.ts';
import { MAX_TTL_MINUTES, type PortalCard } from './portal.core.ts';

export const createPortalLinkBody = z
  .strictObject({
    ttlMinutes: z
      .number()
      .int()
      .min(1)
      .max(MAX_TTL_MINUTES)
      .optional()
      .describe('How many minutes the link opens the page for: 1 to 1440, 15 by default'),
  })
  .nullish()
  .meta({ id: 'CreatePortalLink' });

export const portalLinkSchema = z
  .object({
    url: z
      .string()
      .describe(
        'The member’s page, `/portal/#/t/<token>`: absolute (with the scheme and host the request came to) when the request named its host, else a path on this server',
      ),
    token: z
      .string()
      .describe(
        'The signed token the page sends as `Authorization: Portal <token>`; it opens this member in this program only',
      ),
    expiresAt: timestamp.describe('When the link stops working (RFC 3339, UTC)'),
  })
  .meta({ id: 'PortalLink' });

const expiringSchema = z
  .object({
    points: z.number().int().describe('Points that expire at `expiresAt`'),
    expiresAt: timestamp.describe('The instant they expire'),
  })
  .meta({ id: 'PortalExpiringPoints' });

const cardTierSchema = z
  .object({
    code: z.string().describe('The tier’s code, e.g. `gold`'),
    name: z.string().describe('The tier’s name, as the program wrote it'),
    validUntil: timestamp
      .nullable()
      .describe('When the tier is evaluated again; null: it does not lapse'),
    next: z
      .object({
        code: z.string().describe('The next tier a member can reach by qualifying'),
        name: z.string().describe('Its name'),
        need: z.number().int().describe('How much more growth value (or score) it needs'),
        have: z.number().int().describe('The growth value (or score) the member has'),
      })
      .nullable()
      .describe('null at the top of the ladder (invite-only tiers are not counted)'),
    progress: z
      .number()
      .min(0)
      .max(1)
      .describe(
        'How far from this tier’s threshold to the next one’s, 0 to 1 (three decimals); 1 at the top',
      ),
  })
  .meta({ id: 'PortalTier' });

const cardBenefitSchema = z
  .object({
    code: z.string().describe('The benefit’s code'),
    name: z.string().describe('The benefit’s name, as the program wrote it'),
    kind: z
      .enum(['multiplier', 'quota', 'flag'])
      .describe('multiplier: earns × value; quota: a number of uses per period; flag: on'),
    value: z.number().optional().describe('For a multiplier: the factor, e.g. 1.5'),
    limit: z.number().int().optional().describe('For a quota: uses per period'),
    remaining: z.number().int().optional().describe('For a quota: uses left this period'),
    period: z.enum(['month', 'year']).optional().describe('For a quota: the period it renews'),
    currentPeriod: z
      .string()
      .optional()
      .describe('For a quota: this period, in the program’s time zone (`2026-06`, `2026`)'),
  })
  .meta({ id: 'PortalBenefit' });

const cardMovementSchema = z
  .object({
    id: z.string().describe('The movement’s id'),
    points: z.number().int().describe('Signed: + credited to the member, − taken'),
    code: z.enum(TRANSFER_CODES).describe('What kind of movement: earn, redeem, adjust, expire…'),
    reference: z.string().nullable().describe('The integration’s reference, e.g. an order number'),
    createdAt: timestamp.describe('When it was posted'),
  })
  .meta({ id: 'PortalMovement' });

export const portalCardSchema = z
  .object({
    programId: z.string().describe('The program the link is for'),
    programName: z.string().describe('The program’s name'),
    pointsName: z.string().describe('What the program calls its points, e.g. "Miles" or "积分"'),
    memberId: z.string().describe('The member the link is for'),
    displayName: z.string().nullable().describe('The member’s name, if their profile has one'),
    status: z
      .enum(['active', 'blocked'])
      .describe('The membership: blocked members see their card but earn and spend nothing'),
    since: timestamp.describe('When the member enrolled in the program'),
    points: z
      .object({
        available: z.number().int().describe('Points the member can spend now'),
        pending: z.number().int().describe('Points earned in a return window, not yet spendable'),
        held: z.number().int().describe('Points reserved by holds, not yet spent'),
        expiringSoon: z
          .array(expiringSchema)
          .describe('Points that expire in the next 90 days, soonest first'),
      })
      .describe('The member’s points now'),
    entryTier: z.string().describe('The code of the program’s entry tier, every member’s'),
    tier: cardTierSchema
      .nullable()
      .describe('The member’s tier; null when the program’s ladder is its entry tier alone'),
    benefits: z
      .array(cardBenefitSchema)
      .describe('What the member has now: the entry tier’s benefits and their tier’s'),
    history: z.array(cardMovementSchema).describe('The latest 20 points movements, newest first'),
  })
  .meta({ id: 'PortalCard' });

export function presentCard(c: PortalCard): z.infer<typeof portalCardSchema> {
  return {
    ...c,
    since: c.since.toISOString(),
    points: {
      ...c.points,
      expiringSoon: c.points.expiringSoon.map((e) => ({
        points: e.points,
        expiresAt: e.expiresAt.toISOString(),
      })),
    },
    tier: c.tier && { ...c.tier, validUntil: c.tier.validUntil?.toISOString() ?? null },
    history: c.history.map((h) => ({ ...h, createdAt: h.createdAt.toISOString() })),
  };
}
