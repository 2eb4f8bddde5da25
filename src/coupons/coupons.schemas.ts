import { z } from 'zod';
import { timestamp } from '../http/schemas.ts';
import { COUPON_KINDS, type Coupon, ISSUE_EVENTS, TEMPLATE_STATUSES } from './coupons.core.ts';
import type { TemplateView } from './coupons.service.ts';

const idSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1 to 64 letters, digits or . _ : -')
  .describe('Your own id for the template; one is made when left out');
const nameSchema = z.string().trim().min(1).max(200);
const wordSchema = z.string().trim().min(1).max(100);
const fen = z.number().int().min(0).max(100_000_000_000);
const positiveFen = z.number().int().min(1).max(100_000_000_000);
const count = z.number().int().min(0).max(100_000_000);
const days = z.number().int().min(1).max(3650);
const limit = z.number().int().min(1).max(1000);
const referenceSchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/, 'must be 1 to 128 visible ASCII characters');

export const conditionsSchema = z
  .strictObject({
    minSpendFen: positiveFen
      .optional()
      .describe('The least the purchase (with categories: its items in them) comes to, in fen'),
    stores: z.array(wordSchema).min(1).max(1000).optional().describe('The stores it is good in'),
    categories: z
      .array(wordSchema)
      .min(1)
      .max(1000)
      .optional()
      .describe("The item categories it applies to: the discount is off those items' amount"),
    tiers: z
      .array(wordSchema)
      .min(1)
      .max(50)
      .optional()
      .describe("The tier codes (this program's) its holder must hold"),
  })
  .meta({ id: 'CouponConditions' });

export const createTemplateBody = z
  .strictObject({
    id: idSchema.optional(),
    name: nameSchema,
    kind: z.enum(COUPON_KINDS),
    amountOffFen: positiveFen.optional().describe('amount_off: the fen taken off (required)'),
    percentOff: z
      .number()
      .int()
      .min(1)
      .max(100)
      .optional()
      .describe('percent_off: the percent taken off (required)'),
    capFen: positiveFen.optional().describe('percent_off: the most it takes off, in fen'),
    gift: nameSchema.optional().describe('gift: what is given'),
    validFrom: timestamp.optional(),
    validUntil: timestamp.optional(),
    validDays: days.optional().describe('A coupon expires this many days after its issue'),
    stock: count.optional().describe('How many coupons may be issued in all; absent: unlimited'),
    perMemberLimit: limit.optional().describe('How many one member may hold; absent: unlimited'),
    conditions: conditionsSchema.optional(),
    issueOn: z
      .enum(ISSUE_EVENTS)
      .optional()
      .describe(
        'Issued to the member named by this outbox event, once per event: enrollment, an upgrade (to `issueOnTier`), or the member’s birthday (once a year)',
      ),
    issueOnTier: wordSchema.optional().describe('tier_upgrade: only an upgrade to this tier'),
  })
  .superRefine((b, ctx) => {
    const need = (ok: boolean, path: string, message: string) => {
      if (!ok) ctx.addIssue({ code: 'custom', path: [path], message });
    };
    need(
      (b.kind === 'amount_off') === (b.amountOffFen !== undefined),
      'amountOffFen',
      'is required for amount_off and only for it',
    );
    need(
      (b.kind === 'percent_off') === (b.percentOff !== undefined),
      'percentOff',
      'is required for percent_off and only for it',
    );
    need(b.capFen === undefined || b.kind === 'percent_off', 'capFen', 'is for percent_off only');
    need(b.gift === undefined || b.kind === 'gift', 'gift', 'is for gift only');
    need(
      b.issueOnTier === undefined || b.issueOn === 'tier_upgrade',
      'issueOnTier',
      'is for issueOn tier_upgrade only',
    );
  })
  .meta({ id: 'CreateCouponTemplate' });

export const updateTemplateBody = z
  .strictObject({
    name: nameSchema.optional(),
    stock: count.nullable().optional().describe('null: unlimited; never below what was issued'),
    validFrom: timestamp.nullable().optional(),
    validUntil: timestamp.nullable().optional(),
    validDays: days.nullable().optional(),
    perMemberLimit: limit.nullable().optional(),
    status: z.enum(TEMPLATE_STATUSES).optional().describe('paused and closed issue nothing'),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'send at least one field to change')
  .meta({ id: 'UpdateCouponTemplate' });

export const templateSchema = z
  .object({
    id: z.string(),
    programId: z.string(),
    name: z.string(),
    kind: z.enum(COUPON_KINDS),
    amountOffFen: z.number().int().nullable(),
    percentOff: z.number().int().nullable(),
    capFen: z.number().int().nullable(),
    gift: z.string().nullable(),
    validFrom: timestamp.nullable(),
    validUntil: timestamp.nullable(),
    validDays: z.number().int().nullable(),
    stock: z.number().int().nullable(),
    issued: z.number().int(),
    reserved: z
      .number()
      .int()
      .describe('Reserved by mall orders placed and not yet confirmed (issued at confirmation)'),
    redeemed: z.number().int().describe('Redeemed now (a rolled-back redemption is not counted)'),
    perMemberLimit: z.number().int().nullable(),
    conditions: conditionsSchema,
    issueOn: z.enum(ISSUE_EVENTS).nullable(),
    issueOnTier: z.string().nullable(),
    status: z.enum(TEMPLATE_STATUSES),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'CouponTemplate' });

export const issueBody = z
  .strictObject({
    memberIds: z.array(z.string().min(1).max(200)).min(1).max(1000),
    reference: referenceSchema.describe('Your business key: a repeat with it issues nothing more'),
  })
  .meta({ id: 'IssueCoupons' });

export const couponSchema = z
  .object({
    id: z.string(),
    templateId: z.string(),
    memberId: z.string(),
    reference: z.string(),
    code: z
      .string()
      .describe('The single-use code (four groups of four, the last a check): what a QR encodes'),
    status: z.enum(['issued', 'redeemed']),
    validFrom: timestamp.nullable(),
    expiresAt: timestamp.nullable(),
    issuedAt: timestamp,
    redeemedAt: timestamp.nullable(),
    purchaseId: z.string().nullable(),
    discountFen: z.number().int().nullable(),
  })
  .meta({ id: 'Coupon' });

export const issueResultSchema = z
  .object({ data: z.array(couponSchema), replayed: z.boolean() })
  .meta({ id: 'IssueCouponsResult' });

const purchaseSchema = z
  .strictObject({
    amount: fen.describe('What the purchase comes to, in fen'),
    items: z
      .array(
        z.strictObject({
          sku: wordSchema.optional(),
          category: wordSchema.optional(),
          amount: fen,
        }),
      )
      .max(1000)
      .optional(),
    store: wordSchema.optional(),
  })
  .meta({ id: 'CouponPurchase' });

const codeSchema = z.string().trim().min(1).max(200);
const memberIdSchema = z
  .string()
  .min(1)
  .max(200)
  .describe('Who is paying: a coupon of another member does not apply');

export const validateBody = z
  .strictObject({ code: codeSchema, memberId: memberIdSchema.optional(), purchase: purchaseSchema })
  .meta({ id: 'ValidateCoupon' });

export const validationSchema = z
  .object({
    valid: z.boolean(),
    discount: z.number().int().describe('What it takes off, in fen (0 for gift, free shipping)'),
    reason: z
      .string()
      .optional()
      .describe(
        'Why not: redeemed, expired, not_yet_valid, wrong_member, store, category, min_spend, tier',
      ),
    kind: z.enum(COUPON_KINDS),
    gift: z.string().nullable(),
    templateId: z.string(),
  })
  .meta({ id: 'CouponValidation' });

export const redeemBody = z
  .strictObject({
    code: codeSchema,
    purchaseId: z.string().min(1).max(200).describe('The purchase it is redeemed on'),
    memberId: memberIdSchema.optional(),
    purchase: purchaseSchema,
  })
  .meta({ id: 'RedeemCoupon' });

export const redemptionSchema = couponSchema
  .extend({
    discount: z.number().int().describe('What it took off, in fen'),
    kind: z.enum(COUPON_KINDS),
    gift: z.string().nullable(),
    replayed: z.boolean(),
  })
  .meta({ id: 'CouponRedemption' });

export const templateParams = z.object({
  programId: z.string().max(200),
  templateId: z.string().max(200),
});
export const memberCouponParams = z.object({
  programId: z.string().max(200),
  memberId: z.string().max(200),
});

const iso = (d: Date | null) => d?.toISOString() ?? null;

export function presentTemplate(t: TemplateView): z.infer<typeof templateSchema> {
  return {
    id: t.id,
    programId: t.programId,
    name: t.name,
    kind: t.kind,
    amountOffFen: t.amountOffFen,
    percentOff: t.percentOff,
    capFen: t.capFen,
    gift: t.gift,
    validFrom: iso(t.validFrom),
    validUntil: iso(t.validUntil),
    validDays: t.validDays,
    stock: t.stock,
    issued: t.issued,
    reserved: t.reserved,
    redeemed: t.redeemed,
    perMemberLimit: t.perMemberLimit,
    conditions: t.conditions,
    issueOn: t.issueOn,
    issueOnTier: t.issueOnTier,
    status: t.status,
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
  };
}

export function presentCoupon(c: Coupon): z.infer<typeof couponSchema> {
  return {
    id: c.id,
    templateId: c.templateId,
    memberId: c.memberId,
    reference: c.reference,
    code: c.code,
    status: c.status,
    validFrom: iso(c.validFrom),
    expiresAt: iso(c.expiresAt),
    issuedAt: c.issuedAt.toISOString(),
    redeemedAt: iso(c.redeemedAt),
    purchaseId: c.purchaseId,
    discountFen: c.discountFen,
  };
}

// --- referral ---

export const referralSettingsBody = z
  .strictObject({
    refereeTemplateId: z.string().min(1).max(200).describe('What a new member referred earns'),
    referrerTemplateId: z
      .string()
      .min(1)
      .max(200)
      .describe('What the referrer earns on the new member’s first purchase'),
  })
  .meta({ id: 'ReferralSettings' });

export const referralSettingsSchema = z
  .object({
    programId: z.string(),
    refereeTemplateId: z.string(),
    referrerTemplateId: z.string(),
    updatedAt: timestamp,
  })
  .meta({ id: 'ReferralSettingsView' });

export const shareCodeSchema = z
  .object({
    memberId: z.string(),
    code: z
      .string()
      .describe('The member’s share code (the coupon code format): a QR can carry it'),
  })
  .meta({ id: 'ShareCode' });

export const referBody = z
  .strictObject({ code: codeSchema.describe('The referrer’s share code') })
  .meta({ id: 'Refer' });

export const referralResultSchema = z
  .object({ referrerId: z.string(), data: z.array(couponSchema), replayed: z.boolean() })
  .meta({ id: 'ReferralResult' });
