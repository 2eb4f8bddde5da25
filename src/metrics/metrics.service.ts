import type { Deps } from '../deps.ts';
import { listRules } from '../earning/earning.service.ts';
import { pointsLedger } from '../ledger/ledger.core.ts';
import { getProgram } from '../programs/programs.service.ts';
import { getLadder } from '../tiers/tiers.service.ts';
import {
  type DayFlows,
  type Period,
  periodOf,
  type TierCount,
  TOP_RULES,
  tierDistribution,
  totalsOf,
} from './metrics.core.ts';
import * as repo from './metrics.repository.ts';

export interface MetricsDay extends DayFlows {
  day: string;
  enrolled: number;
  /** What members held at the end of the day (today: now); null for a day not yet begun. */
  outstanding: number | null;
}

export interface ProgramMetrics extends Period {
  programId: string;
  timezone: string;
  days: MetricsDay[];
  totals: DayFlows & { enrolled: number };
  outstanding: { total: number; held: number; asOf: Date };
  tiers: TierCount[];
  topRules: repo.RulePoints[];
}

/**
 * A program's dashboard: daily enrollments and points flows over a period of local days, what
 * members hold, the tier distribution now and the rules that earned the most. Each figure is one
 * set-based query; they run side by side.
 */
export async function programMetrics(
  deps: Pick<Deps, 'db' | 'clock'>,
  programId: string,
  asked: { from?: string | undefined; to?: string | undefined },
): Promise<ProgramMetrics> {
  const { timezone } = await getProgram(deps, programId);
  const now = deps.clock.now();
  const period = periodOf(asked, now, timezone);
  const [flows, enrolled, tiers, rules, names] = await Promise.all([
    repo.pointFlows(deps.db, pointsLedger(programId), period, timezone),
    repo.enrollments(deps.db, programId, period, timezone),
    tiersOf(deps, programId),
    repo.topRules(deps.db, programId, period, timezone, TOP_RULES),
    ruleNames(deps, programId),
  ]);
  const days = flows.days.map(({ starts, outstanding, ...d }) => ({
    ...d,
    enrolled: enrolled.perDay.get(d.day) ?? 0,
    outstanding: starts > now ? null : outstanding,
  }));
  return {
    programId,
    timezone,
    ...period,
    days,
    totals: totalsOf(days),
    outstanding: { total: flows.total, held: flows.held, asOf: now },
    tiers: tierDistribution(tiers.ladder.tiers, enrolled.members, tiers.held),
    // A rule is shown by its name now; a tier's multiplier by the name its lines recorded.
    topRules: rules.map((r) => ({ ...r, name: names.get(r.ruleId) ?? r.name })),
  };
}

/** The ladder, and how many members hold each of its tiers above the entry tier. */
async function tiersOf(deps: Pick<Deps, 'db'>, programId: string) {
  const ladder = await getLadder(deps, programId);
  const entry = ladder.tiers[0]?.code ?? '';
  return { ladder, held: await repo.tierRows(deps.db, programId, entry) };
}

async function ruleNames(deps: Pick<Deps, 'db'>, programId: string): Promise<Map<string, string>> {
  return new Map((await listRules(deps, programId)).map((r) => [r.id, r.body.name]));
}
