import { z } from 'zod';
import { timestamp } from '../http/schemas.ts';
import type { ExchangeRate, PairTerms } from './exchange.core.ts';
import type { ConversionView } from './exchange.service.ts';

const points = z.number().int().min(1).max(1_000_000_000);

/** A decimal with at most `places` places, as the integer it is in units of 10^-places. */
const scaled = (places: number, min: number, max: number) =>
  z
    .number()
    .min(min)
    .max(max)
    .refine((v) => Math.abs(v * 10 ** places - Math.round(v * 10 ** places)) < 1e-6, {
      message: `at most ${places} decimal places`,
    });

export const rateBody = z
  .strictObject({
    pointsPerHubUnit: points.describe('How many of the program’s points make one hub unit'),
    pointValueFen: scaled(4, 0.0001, 10_000_000).describe(
      'What one of its points is worth in fen to settle (up to 4 decimal places: 0.5 is half a fen)',
    ),
  })
  .meta({ id: 'ExchangeRateBody' });

export const rateSchema = z
  .object({
    programId: z.string(),
    pointsPerHubUnit: z.number().int(),
    pointValueFen: z.number(),
  })
  .meta({ id: 'ExchangeRate' });

export const presentRate = (r: ExchangeRate): z.infer<typeof rateSchema> => ({
  programId: r.programId,
  pointsPerHubUnit: r.pointsPerHubUnit,
  pointValueFen: r.pointValueE4 / 10_000,
});

export const toRate = (programId: string, b: z.infer<typeof rateBody>): ExchangeRate => ({
  programId,
  pointsPerHubUnit: b.pointsPerHubUnit,
  pointValueE4: Math.round(b.pointValueFen * 10_000),
});

export const pairBody = z
  .strictObject({
    feePercent: scaled(2, 0, 100).describe(
      'Fee as a percentage of the points converted, rounded up',
    ),
    feeMinimum: z.number().int().min(0).max(1_000_000_000).default(0).describe('Least fee, points'),
    minPoints: points.default(1).describe('Fewest points converted at once'),
    maxPoints: points.describe('Most points converted at once'),
    dailyLimit: points.describe('Most points a member converts in this direction per day'),
  })
  .refine((b) => b.maxPoints >= b.minPoints, {
    message: 'maxPoints must be at least minPoints',
    path: ['maxPoints'],
  })
  .meta({ id: 'ExchangePairBody' });

export const pairSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    feePercent: z.number(),
    feeMinimum: z.number().int(),
    minPoints: z.number().int(),
    maxPoints: z.number().int(),
    dailyLimit: z.number().int(),
  })
  .meta({ id: 'ExchangePair' });

export const presentPair = (p: PairTerms): z.infer<typeof pairSchema> => ({
  from: p.fromProgramId,
  to: p.toProgramId,
  feePercent: p.feeBp / 100,
  feeMinimum: p.feeMinimum,
  minPoints: p.minPoints,
  maxPoints: p.maxPoints,
  dailyLimit: p.dailyLimit,
});

export const toTerms = (from: string, to: string, b: z.infer<typeof pairBody>): PairTerms => ({
  fromProgramId: from,
  toProgramId: to,
  feeBp: Math.round(b.feePercent * 100),
  feeMinimum: b.feeMinimum,
  minPoints: b.minPoints,
  maxPoints: b.maxPoints,
  dailyLimit: b.dailyLimit,
});

export const rateParams = z.object({ programId: z.string().max(200) });
export const pairParams = z.object({ from: z.string().max(200), to: z.string().max(200) });

const conversionFields = {
  from: z.string().min(1).max(200).describe('The program whose points the member gives'),
  to: z.string().min(1).max(200).describe('The program whose points the member receives'),
  points: points.optional().describe('Points of `from` to convert (the fee is on top)'),
  receive: points
    .optional()
    .describe('Or: points of `to` wanted; the fewest points of `from` that buy at least that many'),
};

const oneAsk = (b: { points?: number | undefined; receive?: number | undefined }) =>
  (b.points === undefined) !== (b.receive === undefined);
const oneAskMessage = { message: 'give exactly one of points and receive', path: ['points'] };

export const quoteBody = z
  .strictObject(conversionFields)
  .refine(oneAsk, oneAskMessage)
  .meta({ id: 'ConversionQuoteBody' });

export const conversionBody = z
  .strictObject({
    ...conversionFields,
    reference: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .describe('Your id for this conversion: a repeat with it applies once'),
  })
  .refine(oneAsk, oneAskMessage)
  .meta({ id: 'ConversionBody' });

export const askOf = (b: { points?: number | undefined; receive?: number | undefined }) =>
  b.points !== undefined ? { points: b.points } : { receive: b.receive as number };

const quoteFields = {
  converted: z.number().int().describe('Points of `from` that buy what is credited'),
  fee: z.number().int().describe('Points of `from` on top, to the coalition'),
  debited: z.number().int().describe('What leaves the member: converted + fee'),
  credited: z.number().int().describe('Points of `to` the member receives'),
  rate: z.object({
    fromPointsPerHubUnit: z.number().int(),
    toPointsPerHubUnit: z.number().int(),
  }),
};

export const quoteSchema = z
  .object({
    ...quoteFields,
    dailyRemaining: z
      .number()
      .int()
      .describe('Points of `from` the member may still convert in this direction today'),
  })
  .meta({ id: 'ConversionQuote' });

export const conversionSchema = z
  .object({
    conversionId: z.string(),
    memberId: z.string(),
    from: z.string(),
    to: z.string(),
    reference: z.string(),
    ...quoteFields,
    createdAt: timestamp,
  })
  .meta({ id: 'Conversion' });

export const presentConversion = (c: ConversionView): z.infer<typeof conversionSchema> => ({
  conversionId: c.conversionId,
  memberId: c.memberId,
  from: c.from,
  to: c.to,
  reference: c.reference,
  converted: c.converted,
  fee: c.fee,
  debited: c.debited,
  credited: c.credited,
  rate: c.rate,
  createdAt: c.createdAt.toISOString(),
});
