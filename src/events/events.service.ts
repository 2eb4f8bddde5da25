import { sql } from 'kysely';
import type { Db, Trx } from '../db/database.ts';
import type { Deps } from '../deps.ts';

// The outbox: domain events written in the transaction of the change they report, so that an event
// exists exactly when its change does. Each program numbers its events 1, 2, 3… in commit order
// (the program's counter row is held until commit), so a reader that asks for what came after the
// last number it saw never misses one — the base webhooks will be delivered from.

export const EVENT_TYPES = [
  'tier.upgraded',
  'tier.downgraded',
  'tier.renewed',
  'tier.downgrade_warning',
  'growth.spike',
  'benefit.used',
  // A purchase recorded (src/purchases), in its ledger batch: what cross-brand offers fire from.
  'purchase.recorded',
  // A first enrollment in a program (src/coupons' enroll hook, in the enrollment's transaction),
  // written only while the program has a template issued on enrollment: what coupons issue from.
  'member.enrolled',
  // A member's birthday, on the day (src/coupons' daily job, in the program's time zone), written
  // only while the program has a template issued on birthdays.
  'member.birthday',
  // Points of a member expiring within 30 days, once per expiry day, with the rewards they could
  // spend them on (src/rewards' daily year-end nudge).
  'points.expiring',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface NewEvent {
  type: EventType;
  programId: string;
  memberId: string | null;
  occurredAt: Date;
  data: Record<string, unknown>;
}

export interface DomainEvent extends NewEvent {
  id: string;
  sequence: number;
}

/**
 * Appends events in the caller's transaction. Takes each program's counter row (the last lock
 * anything takes, so it is held briefly and never waited on while holding another).
 */
export async function appendEvents(
  deps: Pick<Deps, 'ids'>,
  trx: Trx,
  events: NewEvent[],
): Promise<void> {
  if (events.length === 0) return;
  const byProgram = new Map<string, NewEvent[]>();
  for (const e of events) {
    const list = byProgram.get(e.programId);
    if (list) list.push(e);
    else byProgram.set(e.programId, [e]);
  }
  for (const programId of [...byProgram.keys()].sort()) {
    const list = byProgram.get(programId) as NewEvent[];
    const { rows } = await sql<{ last: string }>`
      insert into event_sequences (program_id, last) values (${programId}, ${list.length})
      on conflict (program_id) do update set last = event_sequences.last + excluded.last
      returning last`.execute(trx);
    const first = Number(rows[0]?.last) - list.length + 1;
    // One id per statement, numbered: ids sort as the events were numbered.
    const base = deps.ids('evt');
    await sql`
      insert into events (id, program_id, sequence, type, member_id, occurred_at, data)
      select ${base} || '_' || lpad(v.n::text, 7, '0'), ${programId}, ${first} + v.n - 1, v.type,
             v.member_id, v.occurred_at, v.data::jsonb
      from unnest(${list.map((e) => e.type)}::text[], ${list.map((e) => e.memberId)}::text[],
                  ${list.map((e) => e.occurredAt)}::timestamptz[],
                  ${list.map((e) => JSON.stringify(e.data))}::text[])
           with ordinality as v(type, member_id, occurred_at, data, n)`.execute(trx);
  }
}

export interface EventFilter {
  type?: EventType | undefined;
  memberId?: string | undefined;
  /** Only events numbered after this. */
  after?: number | undefined;
}

/** A program's events in order, after a sequence number. */
export async function listEvents(
  db: Db,
  programId: string,
  filter: EventFilter,
  limit: number,
): Promise<DomainEvent[]> {
  let q = db
    .selectFrom('events')
    .select(['id', 'program_id', 'sequence', 'type', 'member_id', 'occurred_at', 'data'])
    .where('program_id', '=', programId)
    .where('sequence', '>', String(filter.after ?? 0))
    .orderBy('sequence')
    .limit(limit);
  if (filter.type) q = q.where('type', '=', filter.type);
  if (filter.memberId) q = q.where('member_id', '=', filter.memberId);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    programId: r.program_id,
    sequence: Number(r.sequence),
    type: r.type as EventType,
    memberId: r.member_id,
    occurredAt: r.occurred_at,
    data: r.data as Record<string, unknown>,
  }));
}

/** The last sequence number the program's events have reached (0 before any): where a new reader starts. */
export async function lastSequence(db: Db, programId: string): Promise<number> {
  const row = await db
    .selectFrom('event_sequences')
    .select('last')
    .where('program_id', '=', programId)
    .executeTakeFirst();
  return Number(row?.last ?? 0);
}
