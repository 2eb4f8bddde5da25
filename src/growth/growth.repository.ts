import { sql } from 'kysely';
import type { Db, Trx } from '../db/database.ts';
import type { Measures } from '../tiers/tiers.core.ts';
import type { GrowthPolicy } from './growth.core.ts';

export async function findPolicy(db: Db, programId: string): Promise<GrowthPolicy | undefined> {
  const row = await db
    .selectFrom('growth_policies')
    .select('policy')
    .where('program_id', '=', programId)
    .executeTakeFirst();
  return row?.policy as GrowthPolicy | undefined;
}

export async function savePolicy(trx: Trx, programId: string, policy: GrowthPolicy, now: Date) {
  await trx
    .insertInto('growth_policies')
    .values({ program_id: programId, policy: JSON.stringify(policy), updated_at: now })
    .onConflict((oc) =>
      oc.column('program_id').doUpdateSet({ policy: JSON.stringify(policy), updated_at: now }),
    )
    .execute();
}

export interface GrowthEventRow {
  id: string;
  programId: string;
  memberId: string;
  commandId: string;
  source: string;
  requested: number;
  value: number;
  reference: string;
  day: string;
  occurredAt: Date;
  /** The tier the movement left the member in, when known as the event is written. */
  tier?: string | undefined;
  tierChanged?: boolean | undefined;
}

/** The growth events of applied commands, one statement. */
export async function insertEvents(trx: Trx, rows: GrowthEventRow[]) {
  if (rows.length === 0) return;
  await sql`
    insert into growth_events (id, program_id, member_id, command_id, source, requested, value, reference, day,
                               occurred_at, tier, tier_changed)
    select * from unnest(
      ${rows.map((r) => r.id)}::text[], ${rows.map((r) => r.programId)}::text[],
      ${rows.map((r) => r.memberId)}::text[], ${rows.map((r) => r.commandId)}::text[],
      ${rows.map((r) => r.source)}::text[], ${rows.map((r) => r.requested)}::bigint[],
      ${rows.map((r) => r.value)}::bigint[], ${rows.map((r) => r.reference)}::text[],
      ${rows.map((r) => r.day)}::date[], ${rows.map((r) => r.occurredAt)}::timestamptz[],
      ${rows.map((r) => r.tier ?? null)}::text[], ${rows.map((r) => r.tierChanged ?? false)}::boolean[])`.execute(
    trx,
  );
}

/** Records the tier each event left its member in (what a repeat of the command answers). */
export async function setEventTiers(
  trx: Trx,
  rows: { commandId: string; tier: string; changed: boolean }[],
) {
  if (rows.length === 0) return;
  await sql`
    update growth_events g set tier = v.tier, tier_changed = v.changed
    from unnest(${rows.map((r) => r.commandId)}::text[], ${rows.map((r) => r.tier)}::text[],
                ${rows.map((r) => r.changed)}::boolean[]) as v(command_id, tier, changed)
    where g.command_id = v.command_id`.execute(trx);
}

export async function eventsByCommand(db: Db, commandIds: string[]) {
  if (commandIds.length === 0) return new Map<string, { tier: string | null; changed: boolean }>();
  const rows = await db
    .selectFrom('growth_events')
    .select(['command_id', 'tier', 'tier_changed'])
    .where('command_id', 'in', commandIds)
    .execute();
  return new Map(rows.map((r) => [r.command_id, { tier: r.tier, changed: r.tier_changed }]));
}

/** A member's growth by source, over everything they kept (a merged duplicate's included). */
export async function bySource(db: Db, programId: string, memberIds: string[]) {
  const rows = await db
    .selectFrom('growth_events')
    .select(['source', (eb) => eb.fn.sum<string>('value').as('value')])
    .where('program_id', '=', programId)
    .where('member_id', 'in', memberIds)
    .groupBy('source')
    .orderBy('source')
    .execute();
  return rows.map((r) => ({ source: r.source, value: Number(r.value) }));
}

export async function todayBySource(db: Db, programId: string, memberIds: string[], day: string) {
  const rows = await db
    .selectFrom('growth_events')
    .select(['source', (eb) => eb.fn.sum<string>('value').as('value')])
    .where('program_id', '=', programId)
    .where('member_id', 'in', memberIds)
    .where('day', '=', day)
    .where('value', '>', '0')
    .groupBy('source')
    .execute();
  return new Map(rows.map((r) => [r.source, Number(r.value)]));
}

export async function historyOf(
  db: Db,
  programId: string,
  memberIds: string[],
  before: string | undefined,
  limit: number,
) {
  let q = db
    .selectFrom('growth_events')
    .select(['id', 'source', 'requested', 'value', 'reference', 'day', 'occurred_at'])
    .where('program_id', '=', programId)
    .where('member_id', 'in', memberIds)
    .orderBy('id', 'desc')
    .limit(limit);
  if (before) q = q.where('id', '<', before);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    source: r.source,
    requested: Number(r.requested),
    value: Number(r.value),
    reference: r.reference,
    day: r.day,
    occurredAt: r.occurred_at,
  }));
}

/**
 * Per member and source, over the days after `afterDay` (a score's window): the sum of the
 * values, the number of events that added, and the days with one.
 */
export async function measures(
  db: Db,
  programId: string,
  memberIds: string[],
  afterDay: string,
): Promise<Map<string, Map<string, Measures>>> {
  const out = new Map<string, Map<string, Measures>>();
  if (memberIds.length === 0) return out;
  const { rows } = await sql<{
    member_id: string;
    source: string;
    sum: string;
    count: string;
    days: string;
  }>`
    select member_id, source, sum(value) as sum, count(*) filter (where value > 0) as count,
           count(distinct day) filter (where value > 0) as days
    from growth_events
    where program_id = ${programId} and member_id = any(${memberIds}::text[]) and day > ${afterDay}::date
    group by member_id, source`.execute(db);
  for (const r of rows) {
    const m = out.get(r.member_id) ?? new Map<string, Measures>();
    m.set(r.source, { sum: Number(r.sum), count: Number(r.count), days: Number(r.days) });
    out.set(r.member_id, m);
  }
  return out;
}

/** Members with events on days in (`fromDay`, `toDay`]: whose score window loses something. */
export async function membersWithEventsBetween(
  db: Db,
  programId: string,
  fromDay: string,
  toDay: string,
): Promise<string[]> {
  const { rows } = await sql<{ member_id: string }>`
    select distinct member_id from growth_events
    where program_id = ${programId} and day > ${fromDay}::date and day <= ${toDay}::date`.execute(
    db,
  );
  return rows.map((r) => r.member_id);
}

/** Growth credited today and over the 30 days before, per member: the spike rule's inputs. */
export async function recentGrowth(
  trx: Db,
  programId: string,
  memberIds: string[],
  day: string,
): Promise<Map<string, { today: number; last30: number }>> {
  const { rows } = await sql<{ member_id: string; today: string; last30: string }>`
    select member_id,
           coalesce(sum(value) filter (where day = ${day}::date), 0) as today,
           coalesce(sum(value) filter (where day < ${day}::date), 0) as last30
    from growth_events
    where program_id = ${programId} and member_id = any(${memberIds}::text[]) and value > 0
      and day >= ${day}::date - 30 and day <= ${day}::date
    group by member_id`.execute(trx);
  return new Map(
    rows.map((r) => [r.member_id, { today: Number(r.today), last30: Number(r.last30) }]),
  );
}

export async function trustedAmong(trx: Db, programId: string, memberIds: string[]) {
  if (memberIds.length === 0) return new Set<string>();
  const rows = await trx
    .selectFrom('growth_trusted')
    .select('member_id')
    .where('program_id', '=', programId)
    .where('member_id', 'in', memberIds)
    .execute();
  return new Set(rows.map((r) => r.member_id));
}

export async function setTrusted(trx: Trx, programId: string, memberId: string, now: Date) {
  const row = await trx
    .insertInto('growth_trusted')
    .values({ program_id: programId, member_id: memberId, added_at: now })
    .onConflict((oc) => oc.columns(['program_id', 'member_id']).doNothing())
    .returning('member_id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function unsetTrusted(trx: Trx, programId: string, memberId: string) {
  const r = await trx
    .deleteFrom('growth_trusted')
    .where('program_id', '=', programId)
    .where('member_id', '=', memberId)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export interface AlertRow {
  id: string;
  programId: string;
  memberId: string | null;
  kind: string;
  day: string;
  data: Record<string, unknown>;
  createdAt: Date;
  acknowledgedAt: Date | null;
  acknowledgedBy: string | null;
}

/** Spike alerts, at most one per member per day; returns those that are new. */
export async function insertAlerts(
  trx: Trx,
  alerts: Omit<AlertRow, 'acknowledgedAt' | 'acknowledgedBy'>[],
) {
  if (alerts.length === 0) return [];
  const rows = await trx
    .insertInto('alerts')
    .values(
      alerts.map((a) => ({
        id: a.id,
        program_id: a.programId,
        member_id: a.memberId,
        kind: a.kind,
        day: a.day,
        data: JSON.stringify(a.data),
        created_at: a.createdAt,
      })),
    )
    .onConflict((oc) => oc.columns(['program_id', 'member_id', 'kind', 'day']).doNothing())
    .returning('id')
    .execute();
  const made = new Set(rows.map((r) => r.id));
  return alerts.filter((a) => made.has(a.id));
}

const alertColumns = [
  'id',
  'program_id',
  'member_id',
  'kind',
  'day',
  'data',
  'created_at',
  'acknowledged_at',
  'acknowledged_by',
] as const;

function toAlert(r: {
  id: string;
  program_id: string;
  member_id: string | null;
  kind: string;
  day: string;
  data: unknown;
  created_at: Date;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
}): AlertRow {
  return {
    id: r.id,
    programId: r.program_id,
    memberId: r.member_id,
    kind: r.kind,
    day: r.day,
    data: r.data as Record<string, unknown>,
    createdAt: r.created_at,
    acknowledgedAt: r.acknowledged_at,
    acknowledgedBy: r.acknowledged_by,
  };
}

export async function listAlerts(
  db: Db,
  programId: string,
  open: boolean | undefined,
  before: string | undefined,
  limit: number,
) {
  let q = db
    .selectFrom('alerts')
    .select(alertColumns)
    .where('program_id', '=', programId)
    .orderBy('id', 'desc')
    .limit(limit);
  if (before) q = q.where('id', '<', before);
  if (open === true) q = q.where('acknowledged_at', 'is', null);
  if (open === false) q = q.where('acknowledged_at', 'is not', null);
  return (await q.execute()).map(toAlert);
}

export async function acknowledge(trx: Trx, programId: string, id: string, by: string, now: Date) {
  const row = await trx
    .updateTable('alerts')
    .set({
      acknowledged_at: sql`coalesce(acknowledged_at, ${now})`,
      acknowledged_by: sql`coalesce(acknowledged_by, ${by})`,
    })
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .returning(alertColumns)
    .executeTakeFirst();
  return row && toAlert(row);
}

/** Moves a merged duplicate's growth events to the survivor (a score counts them from now on). */
export async function moveEvents(trx: Trx, fromId: string, intoId: string) {
  await trx
    .updateTable('growth_events')
    .set({ member_id: intoId })
    .where('member_id', '=', fromId)
    .execute();
}
