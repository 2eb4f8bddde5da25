import { sql } from 'kysely';
import type { Db, Trx } from '../db/database.ts';
import type { Item, Returned } from '../earning/earning.core.ts';

export interface StoredPurchase {
  id: string;
  memberId: string;
  fingerprint: Buffer;
  amount: number;
  currency: string;
  occurredAt: Date;
  store: string | null;
  channel: string | null;
  paymentMethod: string | null;
  items: Item[] | null;
  weights: number[];
  rules: { id: string; version: number }[];
  points: number;
  growth: number;
  lotId: string | null;
  pendingUntil: Date | null;
  result: unknown;
  returned: Returned;
  pointsReturned: number;
  growthReturned: number;
  returnSeq: number;
  createdAt: Date;
}

const columns = [
  'id',
  'member_id',
  'fingerprint',
  'amount',
  'currency',
  'occurred_at',
  'store',
  'channel',
  'payment_method',
  'items',
  'weights',
  'rules',
  'points',
  'growth',
  'lot_id',
  'pending_until',
  'result',
  'returned',
  'points_returned',
  'growth_returned',
  'return_seq',
  'created_at',
] as const;

type Row = {
  id: string;
  member_id: string;
  fingerprint: Buffer;
  amount: string;
  currency: string;
  occurred_at: Date;
  store: string | null;
  channel: string | null;
  payment_method: string | null;
  items: unknown;
  weights: number[];
  rules: { id: string; version: number }[];
  points: string;
  growth: string;
  lot_id: string | null;
  pending_until: Date | null;
  result: unknown;
  returned: Returned;
  points_returned: string;
  growth_returned: string;
  return_seq: number;
  created_at: Date;
};

const toPurchase = (r: Row): StoredPurchase => ({
  id: r.id,
  memberId: r.member_id,
  fingerprint: r.fingerprint,
  amount: Number(r.amount),
  currency: r.currency,
  occurredAt: r.occurred_at,
  store: r.store,
  channel: r.channel,
  paymentMethod: r.payment_method,
  items: r.items as Item[] | null,
  weights: r.weights,
  rules: r.rules,
  points: Number(r.points),
  growth: Number(r.growth),
  lotId: r.lot_id,
  pendingUntil: r.pending_until,
  result: r.result,
  returned: r.returned,
  pointsReturned: Number(r.points_returned),
  growthReturned: Number(r.growth_returned),
  returnSeq: r.return_seq,
  createdAt: r.created_at,
});

/** The purchases with these ids that exist (for repeats), by id. */
export async function findPurchases(
  db: Db,
  programId: string,
  ids: string[],
): Promise<Map<string, StoredPurchase>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('purchases')
    .select(columns)
    .where('program_id', '=', programId)
    .where('id', 'in', ids)
    .execute();
  return new Map(rows.map((r) => [r.id, toPurchase(r as Row)]));
}

export async function findPurchase(db: Db, programId: string, id: string) {
  return (await findPurchases(db, programId, [id])).get(id);
}

/** Which of these members have made a purchase in the program. */
export async function membersWithPurchases(
  db: Db,
  programId: string,
  memberIds: string[],
): Promise<Set<string>> {
  if (memberIds.length === 0) return new Set();
  const rows = await sql<{ member_id: string }>`
    select m.id as member_id from unnest(${memberIds}::text[]) as m(id)
    where exists (select 1 from purchases p where p.program_id = ${programId} and p.member_id = m.id)`.execute(
    db,
  );
  return new Set(rows.rows.map((r) => r.member_id));
}

export type NewPurchase = Omit<
  StoredPurchase,
  'returned' | 'pointsReturned' | 'growthReturned' | 'returnSeq'
>;

/** Writes a batch's purchases in one statement (arrays, not a thousand rows of parameters). */
export async function insertPurchases(trx: Trx, programId: string, rows: NewPurchase[]) {
  if (rows.length === 0) return;
  const col = <T>(f: (p: NewPurchase) => T) => rows.map(f);
  const json = (f: (p: NewPurchase) => unknown) => rows.map((p) => JSON.stringify(f(p)));
  await sql`
    insert into purchases (program_id, id, member_id, fingerprint, amount, currency, occurred_at, store,
                           channel, payment_method, items, weights, rules, points, growth, lot_id,
                           pending_until, result, returned, created_at)
    select ${programId}, * from unnest(
      ${col((p) => p.id)}::text[], ${col((p) => p.memberId)}::text[],
      ${col((p) => p.fingerprint)}::bytea[], ${col((p) => p.amount)}::bigint[],
      ${col((p) => p.currency)}::text[], ${col((p) => p.occurredAt)}::timestamptz[],
      ${col((p) => p.store)}::text[], ${col((p) => p.channel)}::text[],
      ${col((p) => p.paymentMethod)}::text[],
      ${rows.map((p) => (p.items ? JSON.stringify(p.items) : null))}::jsonb[],
      ${json((p) => p.weights)}::jsonb[], ${json((p) => p.rules)}::jsonb[],
      ${col((p) => p.points)}::bigint[], ${col((p) => p.growth)}::bigint[],
      ${col((p) => p.lotId)}::text[], ${col((p) => p.pendingUntil)}::timestamptz[],
      ${json((p) => p.result)}::jsonb[],
      ${json((p) => ({ quantities: (p.items ?? [{}]).map(() => 0), amount: 0 }))}::jsonb[],
      ${col((p) => p.createdAt)}::timestamptz[])`.execute(trx);
}

export function memberPurchases(
  db: Db,
  programId: string,
  memberIds: string[],
  after: { occurredAt: string; id: string } | undefined,
  limit: number,
) {
  let q = db
    .selectFrom('purchases')
    .select(columns)
    .where('program_id', '=', programId)
    .where('member_id', 'in', memberIds);
  if (after) {
    q = q.where((eb) =>
      eb.or([
        eb('occurred_at', '<', new Date(after.occurredAt)),
        eb.and([eb('occurred_at', '=', new Date(after.occurredAt)), eb('id', '>', after.id)]),
      ]),
    );
  }
  return q
    .orderBy('occurred_at', 'desc')
    .orderBy('id')
    .limit(limit)
    .execute()
    .then((rows) => rows.map((r) => toPurchase(r as Row)));
}

/**
 * Takes the purchase for a return: moves its return sequence on from the one the return was
 * computed from. False when another return got there first (compute again).
 */
export async function claimForReturn(
  trx: Trx,
  programId: string,
  purchaseId: string,
  seq: number,
): Promise<boolean> {
  const row = await trx
    .updateTable('purchases')
    .set({ return_seq: seq + 1 })
    .where('program_id', '=', programId)
    .where('id', '=', purchaseId)
    .where('return_seq', '=', seq)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export interface NewReturn {
  programId: string;
  id: string;
  purchaseId: string;
  memberId: string;
  fingerprint: Buffer;
  items: { sku: string; quantity: number }[] | null;
  amount: number;
  reason: string;
  points: number;
  writtenOff: number;
  growth: number;
  result: unknown;
  returned: Returned;
  createdAt: Date;
}

/** Records a return and what it leaves returned of its purchase. */
export async function insertReturn(trx: Trx, r: NewReturn) {
  await trx
    .insertInto('purchase_returns')
    .values({
      program_id: r.programId,
      id: r.id,
      purchase_id: r.purchaseId,
      member_id: r.memberId,
      fingerprint: r.fingerprint,
      items: r.items && JSON.stringify(r.items),
      amount: r.amount,
      reason: r.reason,
      points: r.points,
      written_off: r.writtenOff,
      growth: r.growth,
      result: JSON.stringify(r.result),
      created_at: r.createdAt,
    })
    .execute();
  await trx
    .updateTable('purchases')
    .set((eb) => ({
      returned: JSON.stringify(r.returned),
      points_returned: eb('points_returned', '+', String(r.points + r.writtenOff)),
      growth_returned: eb('growth_returned', '+', String(r.growth)),
    }))
    .where('program_id', '=', r.programId)
    .where('id', '=', r.purchaseId)
    .execute();
}

export async function findReturn(db: Db, programId: string, id: string) {
  return db
    .selectFrom('purchase_returns')
    .select(['id', 'purchase_id', 'fingerprint', 'result'])
    .where('program_id', '=', programId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function returnsOf(db: Db, programId: string, purchaseId: string) {
  return db
    .selectFrom('purchase_returns')
    .select(['id', 'result', 'reason', 'created_at'])
    .where('program_id', '=', programId)
    .where('purchase_id', '=', purchaseId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** A merge: the duplicate's purchases and returns become the survivor's. */
export async function moveToMember(trx: Trx, fromId: string, intoId: string) {
  await trx
    .updateTable('purchases')
    .set({ member_id: intoId })
    .where('member_id', '=', fromId)
    .execute();
  await trx
    .updateTable('purchase_returns')
    .set({ member_id: intoId })
    .where('member_id', '=', fromId)
    .execute();
}
