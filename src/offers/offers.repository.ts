import { type Selectable, sql } from 'kysely';
import type { Db, Trx } from '../db/database.ts';
import type { OfferGrantsTable, OffersTable } from '../db/schema.ts';
import type { Grant, Offer, Reward } from './offers.core.ts';

const offerColumns = [
  'id',
  'program_id',
  'name',
  'min_spend_fen',
  'reward',
  'reward_program_id',
  'stock',
  'granted',
  'per_member_limit',
  'starts_at',
  'ends_at',
  'cost_fen',
  'status',
  'created_at',
  'updated_at',
] as const;

function toOffer(r: Selectable<OffersTable>): Offer {
  return {
    id: r.id,
    programId: r.program_id,
    name: r.name,
    minSpendFen: Number(r.min_spend_fen),
    reward: r.reward as Reward,
    rewardProgramId: r.reward_program_id,
    stock: r.stock,
    granted: r.granted,
    perMemberLimit: r.per_member_limit,
    startsAt: r.starts_at,
    endsAt: r.ends_at,
    costFen: r.cost_fen === null ? null : Number(r.cost_fen),
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const grantColumns = [
  'id',
  'offer_id',
  'purchase_id',
  'member_id',
  'status',
  'reason',
  'detail',
  'debtor',
  'creditor',
  'points',
  'amount_fen',
  'created_at',
  'updated_at',
] as const;

function toGrant(r: Selectable<OfferGrantsTable>): Grant {
  return {
    id: r.id,
    offerId: r.offer_id,
    purchaseId: r.purchase_id,
    memberId: r.member_id,
    status: r.status,
    reason: r.reason,
    detail: r.detail as Record<string, unknown>,
    charge:
      r.amount_fen === null || r.debtor === null || r.creditor === null
        ? null
        : {
            debtor: r.debtor,
            creditor: r.creditor,
            points: r.points === null ? null : Number(r.points),
            amountFen: Number(r.amount_fen),
          },
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Inserts an offer; false when its id is taken. */
export async function insertOffer(db: Db, o: Offer): Promise<boolean> {
  const row = await db
    .insertInto('offers')
    .values({
      id: o.id,
      program_id: o.programId,
      name: o.name,
      min_spend_fen: o.minSpendFen,
      reward: JSON.stringify(o.reward),
      reward_program_id: o.rewardProgramId,
      stock: o.stock,
      per_member_limit: o.perMemberLimit,
      starts_at: o.startsAt,
      ends_at: o.endsAt,
      cost_fen: o.costFen,
      status: o.status,
      created_at: o.createdAt,
      updated_at: o.updatedAt,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function findOffer(db: Db, id: string): Promise<Offer | undefined> {
  const row = await db
    .selectFrom('offers')
    .select(offerColumns)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toOffer(row);
}

export async function lockOffer(trx: Trx, id: string): Promise<Offer | undefined> {
  const row = await trx
    .selectFrom('offers')
    .select(offerColumns)
    .where('id', '=', id)
    .forNoKeyUpdate()
    .executeTakeFirst();
  return row && toOffer(row);
}

export async function listOffers(
  db: Db,
  programId: string,
  after: string | undefined,
  limit: number,
): Promise<Offer[]> {
  let q = db.selectFrom('offers').select(offerColumns).where('program_id', '=', programId);
  if (after) q = q.where('id', '>', after);
  const rows = await q.orderBy('id').limit(limit).execute();
  return rows.map(toOffer);
}

/** Every offer of a purchasing program, whatever its status (the worker filters). */
export async function offersOf(db: Db, programId: string): Promise<Offer[]> {
  const rows = await db
    .selectFrom('offers')
    .select(offerColumns)
    .where('program_id', '=', programId)
    .orderBy('id')
    .execute();
  return rows.map(toOffer);
}

export interface OfferChanges {
  name?: string | undefined;
  minSpendFen?: number | undefined;
  stock?: number | undefined;
  perMemberLimit?: number | undefined;
  startsAt?: Date | undefined;
  endsAt?: Date | undefined;
  costFen?: number | undefined;
  status?: Offer['status'] | undefined;
}

/** Changes an offer; a new stock applies only if it is not below what was granted. */
export async function updateOffer(
  trx: Trx,
  id: string,
  c: OfferChanges,
  at: Date,
): Promise<Offer | undefined> {
  let q = trx
    .updateTable('offers')
    .set({
      ...(c.name !== undefined && { name: c.name }),
      ...(c.minSpendFen !== undefined && { min_spend_fen: c.minSpendFen }),
      ...(c.stock !== undefined && { stock: c.stock }),
      ...(c.perMemberLimit !== undefined && { per_member_limit: c.perMemberLimit }),
      ...(c.startsAt !== undefined && { starts_at: c.startsAt }),
      ...(c.endsAt !== undefined && { ends_at: c.endsAt }),
      ...(c.costFen !== undefined && { cost_fen: c.costFen }),
      ...(c.status !== undefined && { status: c.status }),
      updated_at: at,
    })
    .where('id', '=', id);
  if (c.stock !== undefined) q = q.where('granted', '<=', c.stock);
  const row = await q.returning(offerColumns).executeTakeFirst();
  return row && toOffer(row);
}

// --- grants ---

export async function findGrant(
  db: Db,
  offerId: string,
  purchaseId: string,
): Promise<Grant | undefined> {
  const row = await db
    .selectFrom('offer_grants')
    .select(grantColumns)
    .where('offer_id', '=', offerId)
    .where('purchase_id', '=', purchaseId)
    .executeTakeFirst();
  return row && toGrant(row);
}

export async function listGrants(
  db: Db,
  offerId: string,
  after: string | undefined,
  limit: number,
): Promise<Grant[]> {
  let q = db.selectFrom('offer_grants').select(grantColumns).where('offer_id', '=', offerId);
  if (after) q = q.where('id', '>', after);
  const rows = await q.orderBy('id').limit(limit).execute();
  return rows.map(toGrant);
}

/** Grants left reserved (a run stopped between the reservation and the reward), oldest first. */
export async function reservedGrants(db: Db, limit: number): Promise<Grant[]> {
  const rows = await db
    .selectFrom('offer_grants')
    .select(grantColumns)
    .where('status', '=', 'reserved')
    .orderBy('created_at')
    .limit(limit)
    .execute();
  return rows.map(toGrant);
}

export interface NewGrant {
  id: string;
  offerId: string;
  purchaseId: string;
  memberId: string;
  status: 'reserved' | 'skipped';
  reason: string | null;
  at: Date;
}

/** Inserts the (offer, purchase)'s grant; false when it has one (this run is not the first). */
export async function insertGrant(db: Db, g: NewGrant): Promise<boolean> {
  const row = await db
    .insertInto('offer_grants')
    .values({
      id: g.id,
      offer_id: g.offerId,
      purchase_id: g.purchaseId,
      member_id: g.memberId,
      status: g.status,
      reason: g.reason,
      created_at: g.at,
      updated_at: g.at,
    })
    .onConflict((oc) => oc.columns(['offer_id', 'purchase_id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Counts one more grant of the offer to the member, if that keeps them within `limit`. */
export async function countMemberGrant(
  trx: Trx,
  offerId: string,
  memberId: string,
  limit: number,
): Promise<boolean> {
  const row = await trx
    .insertInto('offer_member_grants')
    .values({ offer_id: offerId, member_id: memberId, granted: 1 })
    .onConflict((oc) =>
      oc
        .columns(['offer_id', 'member_id'])
        .doUpdateSet((eb) => ({ granted: eb('offer_member_grants.granted', '+', 1) }))
        .where('offer_member_grants.granted', '<', limit),
    )
    .returning('granted')
    .executeTakeFirst();
  return row !== undefined;
}

/** Takes one unit of the offer's stock, if any is left: one conditional update. */
export async function takeStock(trx: Trx, offerId: string): Promise<boolean> {
  const row = await trx
    .updateTable('offers')
    .set((eb) => ({ granted: eb('granted', '+', 1) }))
    .where('id', '=', offerId)
    .whereRef('granted', '<', 'stock')
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Gives back what grants took (their stock and their members' counts), by SQL arithmetic. */
export async function release(
  trx: Trx,
  grants: { offerId: string; memberId: string }[],
  stock: boolean,
): Promise<void> {
  if (grants.length === 0) return;
  const offers = grants.map((g) => g.offerId);
  const members = grants.map((g) => g.memberId);
  await sql`
    update offer_member_grants m set granted = m.granted - r.n
    from (select o, mem, count(*)::int as n from unnest(${offers}::text[], ${members}::text[]) as u(o, mem)
          group by o, mem) r
    where m.offer_id = r.o and m.member_id = r.mem`.execute(trx);
  if (!stock) return;
  await sql`
    update offers set granted = offers.granted - r.n
    from (select o, count(*)::int as n from unnest(${offers}::text[]) as u(o) group by o) r
    where offers.id = r.o`.execute(trx);
}

export interface Finished {
  id: string;
  status: 'granted' | 'skipped';
  reason: string | null;
  detail: Record<string, unknown>;
  charge: Grant['charge'];
  at: Date;
}

/**
 * Finishes reserved grants, set-based: granted with what was given and its charge, or skipped
 * with why. Only a grant still reserved changes: the ids returned are those this call finished
 * (a repeat, or a concurrent run that got there first, finishes nothing).
 */
export async function finishGrants(trx: Trx, rows: Finished[]): Promise<Grant[]> {
  if (rows.length === 0) return [];
  const col = <T>(f: (r: Finished) => T) => rows.map(f);
  const { rows: done } = await sql<Selectable<OfferGrantsTable>>`
    update offer_grants g set status = f.status, reason = f.reason, detail = f.detail,
           debtor = f.debtor, creditor = f.creditor, points = f.points, amount_fen = f.amount_fen,
           updated_at = f.at
    from (select distinct on (id) * from unnest(
            ${col((r) => r.id)}::text[], ${col((r) => r.status)}::text[],
            ${col((r) => r.reason)}::text[], ${col((r) => JSON.stringify(r.detail))}::jsonb[],
            ${col((r) => r.charge?.debtor ?? null)}::text[],
            ${col((r) => r.charge?.creditor ?? null)}::text[],
            ${col((r) => r.charge?.points ?? null)}::bigint[],
            ${col((r) => r.charge?.amountFen ?? null)}::bigint[],
            ${col((r) => r.at)}::timestamptz[])
          as u(id, status, reason, detail, debtor, creditor, points, amount_fen, at)) f
    where g.id = f.id and g.status = 'reserved'
    returning g.id, g.offer_id, g.purchase_id, g.member_id, g.status, g.reason, g.detail,
              g.debtor, g.creditor, g.points, g.amount_fen, g.created_at, g.updated_at`.execute(
    trx,
  );
  return done.map(toGrant);
}

/** A merge's part: the duplicate's grants become the survivor's, their counts added to its. */
export async function moveToMember(trx: Trx, fromId: string, intoId: string): Promise<void> {
  await trx
    .updateTable('offer_grants')
    .set({ member_id: intoId })
    .where('member_id', '=', fromId)
    .execute();
  await sql`
    insert into offer_member_grants (offer_id, member_id, granted)
    select offer_id, ${intoId}, granted from offer_member_grants where member_id = ${fromId}
    on conflict (offer_id, member_id)
      do update set granted = offer_member_grants.granted + excluded.granted`.execute(trx);
  await trx.deleteFrom('offer_member_grants').where('member_id', '=', fromId).execute();
}
