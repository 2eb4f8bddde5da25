import type { Db, Trx } from '../db/database.ts';
import type { EarningPolicy, RuleBody, StoredRule } from './earning.service.ts';

const toRule = (r: {
  id: string;
  version: number;
  active: boolean;
  body: unknown;
  created_at: Date;
  updated_at: Date;
}): StoredRule => ({
  id: r.id,
  version: r.version,
  active: r.active,
  body: r.body as RuleBody,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export async function findPolicy(db: Db, programId: string): Promise<EarningPolicy | undefined> {
  const row = await db
    .selectFrom('earning_policies')
    .select(['pending_days', 'rounding', 'return_policy'])
    .where('program_id', '=', programId)
    .executeTakeFirst();
  return (
    row && {
      pendingDays: row.pending_days,
      rounding: row.rounding,
      returnPolicy: row.return_policy,
    }
  );
}

export async function savePolicy(trx: Trx, programId: string, p: EarningPolicy, now: Date) {
  const values = {
    pending_days: p.pendingDays,
    rounding: p.rounding,
    return_policy: p.returnPolicy,
    updated_at: now,
  };
  await trx
    .insertInto('earning_policies')
    .values({ program_id: programId, ...values })
    .onConflict((oc) => oc.column('program_id').doUpdateSet(values))
    .execute();
}

export async function listRules(db: Db, programId: string, activeOnly: boolean) {
  let q = db
    .selectFrom('earning_rules')
    .select(['id', 'version', 'active', 'body', 'created_at', 'updated_at'])
    .where('program_id', '=', programId);
  if (activeOnly) q = q.where('active', '=', true);
  return (await q.orderBy('id').execute()).map(toRule);
}

export async function findRule(db: Db, programId: string, ruleId: string, lock = false) {
  let q = db
    .selectFrom('earning_rules')
    .select(['id', 'version', 'active', 'body', 'created_at', 'updated_at'])
    .where('program_id', '=', programId)
    .where('id', '=', ruleId);
  if (lock) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row && toRule(row);
}

/**
 * Writes a rule's new current version and keeps it among its versions. A new rule whose id is
 * taken (by a rule made before, or at the same moment) writes nothing: false.
 */
export async function saveRule(
  trx: Trx,
  programId: string,
  rule: StoredRule,
  insert: boolean,
): Promise<boolean> {
  const body = JSON.stringify(rule.body);
  if (insert) {
    const made = await trx
      .insertInto('earning_rules')
      .values({
        program_id: programId,
        id: rule.id,
        version: rule.version,
        active: rule.active,
        body,
        created_at: rule.createdAt,
        updated_at: rule.updatedAt,
      })
      .onConflict((oc) => oc.columns(['program_id', 'id']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!made) return false;
  } else {
    await trx
      .updateTable('earning_rules')
      .set({ version: rule.version, active: rule.active, body, updated_at: rule.updatedAt })
      .where('program_id', '=', programId)
      .where('id', '=', rule.id)
      .execute();
  }
  await trx
    .insertInto('earning_rule_versions')
    .values({
      program_id: programId,
      rule_id: rule.id,
      version: rule.version,
      active: rule.active,
      body,
      created_at: rule.updatedAt,
    })
    .execute();
  return true;
}
