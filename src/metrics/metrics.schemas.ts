import { z } from 'zod';
import { timestamp } from '../http/schemas.ts';
import { DEFAULT_DAYS, MAX_DAYS, TOP_RULES } from './metrics.core.ts';
import type { ProgramMetrics } from './metrics.service.ts';

const localDay = z.iso.date('must be a date, YYYY-MM-DD');
const points = z.number().int();
const count = z.number().int().min(0);

export const metricsQuery = z.object({
  from: localDay
    .optional()
    .describe(
      `First local day, included; by default ${DEFAULT_DAYS - 1} days before \`to\`. At most ${MAX_DAYS} days in all.`,
    ),
  to: localDay
    .optional()
    .describe("Last local day, included; by default today in the program's time zone"),
});

// How points transfers are counted. Posted transfers only (single, and a hold's capture): a
// pending hold is still the member's, a void gives back what was never taken. Each is classified
// by the accounts it moves between — one a member's, the other one of the ledger's system
// accounts — never by its free-form code. Transfers between two members (a merge) or between two
// system accounts (a return's write-off) change nothing members hold and are not counted.
const flows = {
  issued: count.describe(
    'Points credited to members from the issuance account: earned on purchases, credits',
  ),
  returned: count.describe(
    'Earned points taken back into the issuance account when a purchase is returned (a reversal)',
  ),
  redeemed: count.describe(
    'Points members spent into the redemption account: redemptions and captured holds (what a capture releases is not counted)',
  ),
  expired: count.describe('Points of expired lots swept to the breakage account'),
  adjusted: points.describe(
    "Operators' manual adjustments, net: credits from the adjustment account less debits to it (may be negative)",
  ),
  exchanged: points.describe(
    'Conversions between coalition programs, net: points converted in less points and fees converted out (may be negative)',
  ),
};

export const metricsDaySchema = z
  .object({
    day: localDay.describe("A local day in the program's time zone"),
    enrolled: count.describe(
      'Members enrolled that day; a member merged into another counts once, on the earlier day; erased members still count',
    ),
    ...flows,
    outstanding: points
      .nullable()
      .describe(
        'What members held at the end of the day (for today: now): the day before’s + issued − returned − redeemed − expired + adjusted + exchanged. Null for a day not yet begun',
      ),
  })
  .meta({ id: 'ProgramMetricsDay' });

export const metricsSchema = z
  .object({
    programId: z.string(),
    timezone: z.string().describe("The program's IANA time zone, in which every day is counted"),
    from: localDay.describe('First day of the series'),
    to: localDay.describe('Last day of the series'),
    days: z
      .array(metricsDaySchema)
      .describe('Every day from `from` to `to`, in order; a day with nothing has zeros'),
    totals: z
      .object({ enrolled: count, ...flows })
      .describe("The period's sums of the days' figures"),
    outstanding: z
      .object({
        total: points.describe(
          'Points members hold now — the liability: posted balances, which include points in a return window, points reserved by holds and lots past expiry not yet swept',
        ),
        held: count.describe('Of them, reserved by pending holds'),
        asOf: timestamp.describe('When `total` was read'),
      })
      .describe('The liability now'),
    tiers: z
      .array(
        z.object({
          tier: z.string().describe('The tier’s code'),
          name: z.string(),
          members: count,
        }),
      )
      .describe(
        'Members (enrolled, neither erased nor merged away) per tier now, in the ladder’s order; members without a tier of their own are on the entry tier',
      ),
    topRules: z
      .array(
        z.object({
          ruleId: z
            .string()
            .describe('An earning rule’s id, or tier:<code> for a tier’s multiplier'),
          name: z
            .string()
            .describe("The rule's name now; a tier's multiplier as its purchases recorded it"),
          points: count.describe(
            'Points the rule credited on purchases recorded in the period (before any return)',
          ),
          purchases: count.describe('Purchases on which it credited points'),
        }),
      )
      .describe(`The ${TOP_RULES} rules that credited the most points in the period, most first`),
  })
  .meta({ id: 'ProgramMetrics' });

export function presentMetrics(m: ProgramMetrics): z.infer<typeof metricsSchema> {
  return { ...m, outstanding: { ...m.outstanding, asOf: m.outstanding.asOf.toISOString() } };
}
