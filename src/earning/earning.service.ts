import type { z } from 'zod';
import { recordAudit } from '../audit/audit.service.ts';
import { inTransaction } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import type { Principal } from '../keys/keys.core.ts';
import { addDaysLocal, localDateString, startOfLocalDay } from '../ledger/expiry.core.ts';
import { type Limit, pointsLedger } from '../ledger/ledger.core.ts';
import { limitsUsed } from '../ledger/ledger.service.ts';
import { getProgram } from '../programs/programs.service.ts';
import { DomainError, invalidField, notFound } from '../shared/errors.ts';
import type { Line, Rule } from './earning.core.ts';
import * as repo from './earning.repository.ts';
import type { createRuleBody, earningPolicySchema, updateRuleBody } from './earning.schemas.ts';

// Earning rules and the program's earning policy. Rules are versioned: a change writes a new
// version and keeps the old ones, so a purchase names the versions it used. Their limits per
// member per day and month and their budgets are the points ledger's limit counters, so that
// concurrent purchases never take a rule past them.

export type EarningPolicy = z.infer<typeof earningPolicySchema>;
export type RuleBody = Omit<Rule, 'id' | 'version'>;

export interface StoredRule {
  id: string;
  version: number;
  active: boolean;
  body: RuleBody;
  createdAt: Date;
  updatedAt: Date;
}

export const DEFAULT_EARNING_POLICY: EarningPolicy = {
  pendingDays: 0,
  rounding: 'floor',
  returnPolicy: 'within_balance',
};

export async function getEarningPolicy(
  deps: Pick<Deps, 'db'>,
  programId: string,
): Promise<EarningPolicy> {
  return (await repo.findPolicy(deps.db, programId)) ?? DEFAULT_EARNING_POLICY;
}

/** Sets the return window, rounding and return policy (audited). */
export async function setEarningPolicy(
  deps: Deps,
  programId: string,
  policy: EarningPolicy,
  actor: Principal,
): Promise<EarningPolicy> {
  await getProgram(deps, programId);
  await inTransaction(deps.db, async (trx) => {
    const before = await repo.findPolicy(trx, programId);
    await repo.savePolicy(trx, programId, policy, deps.clock.now());
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'earning.policy_set', programId, before: before ?? null, after: policy },
    );
  });
  return policy;
}

/** The counter of a rule's budget: points the rule has issued, ever. */
const budgetKey = (ruleId: string) => `earn:${ruleId}:budget`;

/** What the schema cannot say of a rule: its date range runs forwards. */
function checkRule(body: Partial<RuleBody>): void {
  const c = body.conditions;
  if (c?.from && c.to && Date.parse(c.from) >= Date.parse(c.to)) {
    throw invalidField('conditions.to', 'must be after conditions.from');
  }
}

/** A rule as the engine reads it. */
export const toEngineRule = (r: StoredRule): Rule => ({ id: r.id, version: r.version, ...r.body });

export interface RuleView extends StoredRule {
  /** Points issued under the budget so far (rules with a budget). */
  issued?: number;
}

async function withIssued(deps: Pick<Deps, 'db'>, programId: string, rules: StoredRule[]) {
  const budgeted = rules.filter((r) => r.body.limits.budget !== undefined);
  const used = budgeted.length
    ? await limitsUsed(
        deps,
        pointsLedger(programId),
        budgeted.map((r) => budgetKey(r.id)),
      )
    : new Map<string, number>();
  return rules.map((r) =>
    r.body.limits.budget === undefined ? r : { ...r, issued: used.get(budgetKey(r.id)) ?? 0 },
  );
}

export async function listRules(
  deps: Pick<Deps, 'db'>,
  programId: string,
  activeOnly = false,
): Promise<RuleView[]> {
  return withIssued(deps, programId, await repo.listRules(deps.db, programId, activeOnly));
}

export async function getRule(deps: Pick<Deps, 'db'>, programId: string, ruleId: string) {
  const rule = await repo.findRule(deps.db, programId, ruleId);
  if (!rule) throw notFound(`Earning rule ${ruleId}`);
  return (await withIssued(deps, programId, [rule]))[0] as RuleView;
}

/** The program's active rules, for the engine. */
export async function activeRules(deps: Pick<Deps, 'db'>, programId: string): Promise<Rule[]> {
  return (await repo.listRules(deps.db, programId, true)).map(toEngineRule);
}

/** Creates a rule (version 1; audited). Its id is the caller's or a new one; a taken id is a 409. */
export async function createRule(
  deps: Deps,
  programId: string,
  input: z.infer<typeof createRuleBody>,
  actor: Principal,
): Promise<RuleView> {
  await getProgram(deps, programId);
  const { id, ...body } = input;
  checkRule(body);
  const now = deps.clock.now();
  const rule: StoredRule = {
    id: id ?? deps.ids('rul'),
    version: 1,
    active: true,
    body,
    createdAt: now,
    updatedAt: now,
  };
  await inTransaction(deps.db, async (trx) => {
    if (!(await repo.saveRule(trx, programId, rule, true))) {
      throw new DomainError('rule_exists', `Earning rule ${rule.id} exists already`);
    }
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'earning.rule_created', programId, before: null, after: rule },
    );
  });
  return getRule(deps, programId, rule.id);
}

/** Changes a rule: a new version (audited). `active: false` deactivates it. */
export async function updateRule(
  deps: Deps,
  programId: string,
  ruleId: string,
  changes: z.infer<typeof updateRuleBody>,
  actor: Principal,
): Promise<RuleView> {
  await inTransaction(deps.db, async (trx) => {
    const before = await repo.findRule(trx, programId, ruleId, true);
    if (!before) throw notFound(`Earning rule ${ruleId}`);
    const { active, ...fields } = changes;
    const after: StoredRule = {
      ...before,
      version: before.version + 1,
      active: active ?? before.active,
      body: {
        ...before.body,
        ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
      },
      updatedAt: deps.clock.now(),
    };
    checkRule(after.body);
    await repo.saveRule(trx, programId, after, false);
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'earning.rule_changed', programId, before, after },
    );
  });
  return getRule(deps, programId, ruleId);
}

/**
 * The ledger counters an earning line counts against: the rule's budget, and the member's day and
 * month under it (the local day and month of the purchase). A day's counter is forgotten a day
 * after the day ends; a month's, a day after the month ends. A first-purchase rule's line also
 * counts against the member's once-only counter, so that two first purchases at once (two chunks
 * of an import) pay it once.
 */
export function lineLimits(
  line: Line,
  memberId: string,
  at: Date,
  timezone: string,
  rule: { firstPurchase: boolean },
): Limit[] {
  const { budget, perMemberPerDay, perMemberPerMonth } = line.limits;
  const day = localDateString(at, timezone);
  const limits: Limit[] = [];
  if (budget !== undefined) limits.push({ key: budgetKey(line.ruleId), max: budget });
  if (rule.firstPurchase) {
    limits.push({ key: `earn:${line.ruleId}:first:${memberId}`, max: line.points });
  }
  if (perMemberPerDay !== undefined) {
    limits.push({
      key: `earn:${line.ruleId}:day:${day}:${memberId}`,
      max: perMemberPerDay,
      forgetAfter: addDaysLocal(at, 2, timezone),
    });
  }
  if (perMemberPerMonth !== undefined) {
    const [y, m] = day.split('-').map(Number) as [number, number];
    const next = m === 12 ? { year: y + 1, month: 1 } : { year: y, month: m + 1 };
    limits.push({
      key: `earn:${line.ruleId}:month:${day.slice(0, 7)}:${memberId}`,
      max: perMemberPerMonth,
      forgetAfter: addDaysLocal(startOfLocalDay({ ...next, day: 1 }, timezone), 1, timezone),
    });
  }
  return limits;
}
