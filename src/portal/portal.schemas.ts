import { z } from 'zod';
import type { Coupon } from '../coupons/coupons.core.ts';
import { couponSchema, presentCoupon, templateSchema } from '../coupons/coupons.schemas.ts';
import type { TemplateView } from '../coupons/coupons.service.ts';
import { conversionSchema } from '../exchange/exchange.schemas.ts';
import { timestamp } from '../http/schemas.ts';
import { TRANSFER_CODES } from '../ledger/ledger.core.ts';
import { addressSchema, orderResultSchema, orderSchema } from '../orders/orders.schemas.ts';
import { claimableSchema, claimSchema } from '../pool/pool.schemas.ts';
import { memberRewardSchema } from '../rewards/rewards.schemas.ts';
import { MAX_TTL_MINUTES, type PortalCard } from './portal.core.ts';
import type { PortalExchange } from './portal.service.ts';

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

// --- the coalition: converting points, and the benefits pool ---

const askFields = {
  to: z.string().min(1).max(200).describe('The program whose points the member receives'),
  points: z
    .number()
    .int()
    .min(1)
    .max(1_000_000_000)
    .optional()
    .describe('Points of the link’s program to convert (the fee is on top)'),
  receive: z
    .number()
    .int()
    .min(1)
    .max(1_000_000_000)
    .optional()
    .describe('Or: points of `to` wanted'),
};
const oneAsk = (b: { points?: number | undefined; receive?: number | undefined }) =>
  (b.points === undefined) !== (b.receive === undefined);
const oneAskMessage = { message: 'give exactly one of points and receive', path: ['points'] };

export const portalQuoteBody = z
  .strictObject(askFields)
  .refine(oneAsk, oneAskMessage)
  .meta({ id: 'PortalConversionQuoteBody' });

const requestId = z
  .uuid()
  .describe(
    'Made by the page once per confirmation: sending it again (a double tap, a retry) applies once',
  );

export const portalConvertBody = z
  .strictObject({ ...askFields, requestId })
  .refine(oneAsk, oneAskMessage)
  .meta({ id: 'PortalConversionBody' });

export const portalClaimBody = z.strictObject({ requestId }).meta({ id: 'PortalPoolClaimBody' });

/** The member a portal answer is for: every answer names them, as the card does. */
const portalMember = z.string().describe('The member the link is for');

export const portalExchangeSchema = z
  .object({
    memberId: portalMember,
    programId: z.string().describe('The link’s program: the points converted leave it'),
    pointsName: z.string(),
    available: z.number().int().describe('Points the member can spend now'),
    targets: z
      .array(
        z.object({
          programId: z.string(),
          programName: z.string(),
          pointsName: z.string(),
          enrolled: z
            .boolean()
            .describe('The member is a member there: points can arrive only in a membership'),
          feePercent: z.number(),
          feeMinimum: z.number().int(),
          minPoints: z.number().int(),
          maxPoints: z.number().int(),
          dailyLimit: z.number().int(),
          rate: z.object({
            fromPointsPerHubUnit: z.number().int(),
            toPointsPerHubUnit: z.number().int(),
          }),
        }),
      )
      .describe('The programs the coalition lets these points convert into'),
  })
  .meta({ id: 'PortalExchange' });

export function presentExchange(
  memberId: string,
  e: PortalExchange,
): z.infer<typeof portalExchangeSchema> {
  return {
    memberId,
    programId: e.programId,
    pointsName: e.pointsName,
    available: e.available,
    targets: e.targets.map((t) => ({
      programId: t.programId,
      programName: t.programName,
      pointsName: t.pointsName,
      enrolled: t.enrolled,
      feePercent: t.terms.feeBp / 100,
      feeMinimum: t.terms.feeMinimum,
      minPoints: t.terms.minPoints,
      maxPoints: t.terms.maxPoints,
      dailyLimit: t.terms.dailyLimit,
      rate: t.rate,
    })),
  };
}

export const portalPoolSchema = z
  .object({
    memberId: portalMember,
    claimable: z.array(claimableSchema).describe('What the member may claim now'),
    claims: z
      .array(claimSchema.extend({ benefitName: z.string().nullable() }))
      .describe('The member’s latest codes, newest first'),
  })
  .meta({ id: 'PortalPool' });

export const portalConversionsSchema = z
  .object({ memberId: portalMember, data: z.array(conversionSchema) })
  .meta({ id: 'PortalConversions' });

export const portalMallSchema = z
  .object({
    memberId: portalMember,
    tier: z.string().describe("The member's tier, whose prices apply"),
    available: z.number().int().describe('Points the member can spend now'),
    data: z
      .array(
        memberRewardSchema.extend({
          affordable: z
            .boolean()
            .describe('Points only, and the member has them: the portal can order it'),
        }),
      )
      .describe('What the member may order now, at their prices'),
  })
  .meta({ id: 'PortalMall' });

export const portalOrderBody = z
  .strictObject({
    requestId,
    items: z
      .array(
        z.strictObject({
          rewardId: z.string().max(200),
          quantity: z.number().int().min(1).max(1000),
        }),
      )
      .min(1)
      .max(50),
    address: addressSchema.optional().describe('Where goods go; vouchers and coupons need none'),
  })
  .meta({ id: 'PortalOrderBody' });

export const portalOrderSchema = orderResultSchema;

export const portalOrdersSchema = z
  .object({ memberId: portalMember, data: z.array(orderSchema) })
  .meta({ id: 'PortalOrders' });

const couponTemplateSummary = templateSchema
  .pick({ name: true, kind: true, amountOffFen: true, percentOff: true, capFen: true, gift: true })
  .nullable();

export const portalCouponsSchema = z
  .object({
    memberId: portalMember,
    data: z
      .array(couponSchema.extend({ template: couponTemplateSummary }))
      .describe('The member’s latest coupons, newest first; the code is what a QR shows'),
  })
  .meta({ id: 'PortalCoupons' });

export function presentPortalCoupons(
  memberId: string,
  coupons: Coupon[],
  templates: Map<string, TemplateView>,
): z.infer<typeof portalCouponsSchema> {
  return {
    memberId,
    data: coupons.map((c) => {
      const t = templates.get(c.templateId);
      return {
        ...presentCoupon(c),
        template: t
          ? {
              name: t.name,
              kind: t.kind,
              amountOffFen: t.amountOffFen,
              percentOff: t.percentOff,
              capFen: t.capFen,
              gift: t.gift,
            }
          : null,
      };
    }),
  };
}
