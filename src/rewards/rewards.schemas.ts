import { z } from 'zod';
import { timestamp } from '../http/schemas.ts';
import { LIMIT_PERIODS, REWARD_KINDS, type Reward, stockLeft } from './rewards.core.ts';

const skuSchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,64}$/, 'must be 1 to 64 visible ASCII characters')
  .describe("The supplier's or the program's stock-keeping unit: unique in the program");
const textSchema = z.string().trim().min(1).max(200);
// At least a point: an order is a hold of points, and a hold of nothing is no reservation.
const points = z.number().int().min(1).max(100_000_000);
const fen = z.number().int().min(0).max(100_000_000_000);

export const tierPriceSchema = z
  .strictObject({ tier: textSchema.describe('A tier code of the program'), pricePoints: points })
  .meta({ id: 'RewardTierPrice' });

export const perMemberLimitSchema = z
  .strictObject({
    count: z.number().int().min(1).max(10_000),
    period: z
      .enum(LIMIT_PERIODS)
      .optional()
      .describe("Absent: for ever; else per the program's local day, month or year"),
  })
  .meta({ id: 'RewardPerMemberLimit' });

const fields = {
  name: textSchema,
  kind: z.enum(REWARD_KINDS),
  pricePoints: points.describe('The list price in points'),
  priceCash: fen.describe('A cash part of the price, in fen, paid beside the points'),
  supplierCost: fen.describe(
    'What one unit costs the program at the supplier, in fen (default: the cash price)',
  ),
  tierPrices: z.array(tierPriceSchema).max(50).describe("Prices in points for a tier's members"),
  stock: z.number().int().min(0).max(100_000_000).describe('Absent: unlimited'),
  perMemberLimit: perMemberLimitSchema,
  startsAt: timestamp,
  endsAt: timestamp,
  onShelf: z.boolean(),
  supplier: textSchema,
  category: textSchema,
  imageUrl: z.url().max(2000),
  couponTemplateId: z
    .string()
    .min(1)
    .max(100)
    .describe(
      'A coupon (required) or a voucher (optional): the coupon template of the program that one unit issues to the member when the order is confirmed',
    ),
};

export const createRewardBody = z
  .strictObject({
    sku: skuSchema,
    name: fields.name,
    kind: fields.kind,
    pricePoints: fields.pricePoints,
    priceCash: fields.priceCash.optional(),
    supplierCost: fields.supplierCost.optional(),
    tierPrices: fields.tierPrices.optional(),
    stock: fields.stock.optional(),
    perMemberLimit: fields.perMemberLimit.optional(),
    startsAt: fields.startsAt.optional(),
    endsAt: fields.endsAt.optional(),
    onShelf: fields.onShelf,
    supplier: fields.supplier.optional(),
    category: fields.category.optional(),
    imageUrl: fields.imageUrl.optional(),
    couponTemplateId: fields.couponTemplateId.optional(),
  })
  .meta({ id: 'CreateReward' });

export const updateRewardBody = z
  .strictObject({
    name: fields.name.optional(),
    pricePoints: fields.pricePoints.optional(),
    priceCash: fields.priceCash.nullable().optional(),
    supplierCost: fields.supplierCost.nullable().optional(),
    tierPrices: fields.tierPrices.optional(),
    stock: fields.stock
      .nullable()
      .optional()
      .describe('Never below what is reserved; null: unlimited'),
    perMemberLimit: fields.perMemberLimit.nullable().optional(),
    startsAt: fields.startsAt.nullable().optional(),
    endsAt: fields.endsAt.nullable().optional(),
    onShelf: fields.onShelf.optional(),
    supplier: fields.supplier.nullable().optional(),
    category: fields.category.nullable().optional(),
    imageUrl: fields.imageUrl.nullable().optional(),
    couponTemplateId: fields.couponTemplateId.nullable().optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'send at least one field to change')
  .meta({ id: 'UpdateReward' });

export type CreateReward = z.infer<typeof createRewardBody>;
export type UpdateReward = z.infer<typeof updateRewardBody>;

export const rewardSchema = z
  .object({
    id: z.string(),
    programId: z.string(),
    sku: z.string(),
    name: z.string(),
    kind: z.enum(REWARD_KINDS),
    pricePoints: z.number().int(),
    priceCash: z.number().int().nullable(),
    supplierCost: z.number().int().nullable(),
    tierPrices: z.array(tierPriceSchema),
    stock: z.number().int().nullable(),
    reserved: z.number().int().describe('Units taken by orders not cancelled or expired'),
    stockLeft: z.number().int().nullable(),
    perMemberLimit: z
      .object({ count: z.number().int(), period: z.enum(LIMIT_PERIODS).nullable() })
      .nullable(),
    startsAt: timestamp.nullable(),
    endsAt: timestamp.nullable(),
    onShelf: z.boolean(),
    supplier: z.string().nullable(),
    category: z.string().nullable(),
    imageUrl: z.string().nullable(),
    couponTemplateId: z.string().nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Reward' });

export const memberRewardSchema = z
  .object({
    rewardId: z.string(),
    sku: z.string(),
    name: z.string(),
    kind: z.enum(REWARD_KINDS),
    pricePoints: z.number().int().describe("The member's price: their tier's, else the list price"),
    listPricePoints: z.number().int(),
    priceCash: z.number().int().nullable(),
    stockLeft: z.number().int().nullable(),
    perMemberLimit: rewardSchema.shape.perMemberLimit,
    endsAt: timestamp.nullable(),
    category: z.string().nullable(),
    imageUrl: z.string().nullable(),
  })
  .meta({ id: 'MemberReward' });

export const memberRewardsSchema = z
  .object({
    tier: z.string().describe("The member's tier, whose prices apply"),
    available: z.number().int().describe('Points the member can spend now'),
    data: z.array(memberRewardSchema),
    nextCursor: z.string().nullable(),
  })
  .meta({ id: 'MemberRewards' });

export const rewardListQuery = z.object({
  category: z.string().max(200).optional(),
  onShelf: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => (v === undefined ? undefined : v === 'true')),
});

export const memberRewardsQuery = z.object({
  category: z.string().max(200).optional(),
  affordable: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true')
    .describe(
      'Only what the member can afford now, the dearest first: where their points go furthest',
    ),
});

export const rewardParams = z.object({
  programId: z.string().max(200),
  rewardId: z.string().max(200),
});
export const memberParams = z.object({
  programId: z.string().max(200),
  memberId: z.string().max(200),
});

const iso = (d: Date | null) => d?.toISOString() ?? null;

export function presentReward(r: Reward): z.infer<typeof rewardSchema> {
  return {
    id: r.id,
    programId: r.programId,
    sku: r.sku,
    name: r.name,
    kind: r.kind,
    pricePoints: r.pricePoints,
    priceCash: r.priceCash,
    supplierCost: r.supplierCost,
    tierPrices: r.tierPrices,
    stock: r.stock,
    reserved: r.reserved,
    stockLeft: stockLeft(r),
    perMemberLimit: r.perMemberLimit,
    startsAt: iso(r.startsAt),
    endsAt: iso(r.endsAt),
    onShelf: r.onShelf,
    supplier: r.supplier,
    category: r.category,
    imageUrl: r.imageUrl,
    couponTemplateId: r.couponTemplateId,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

export function presentMemberReward(r: Reward, price: number): z.infer<typeof memberRewardSchema> {
  return {
    rewardId: r.id,
    sku: r.sku,
    name: r.name,
    kind: r.kind,
    pricePoints: price,
    listPricePoints: r.pricePoints,
    priceCash: r.priceCash,
    stockLeft: stockLeft(r),
    perMemberLimit: r.perMemberLimit,
    endsAt: iso(r.endsAt),
    category: r.category,
    imageUrl: r.imageUrl,
  };
}

export const rewardImportBody = z
  .strictObject({
    csv: z
      .string()
      .min(1)
      .max(8_000_000)
      .describe('The CSV: a header row naming its columns, then a reward a line'),
  })
  .meta({ id: 'ImportRewards' });

export const rewardImportSchema = z
  .object({
    read: z.number().int().describe('Lines read, the header apart'),
    created: z.number().int(),
    updated: z.number().int(),
    refused: z.array(
      z.object({
        line: z.number().int().describe("The line's number in the CSV, the header's being 1"),
        sku: z.string().optional(),
        code: z.string(),
        detail: z.string(),
      }),
    ),
  })
  .meta({ id: 'RewardImport' });
