import { type Selectable, sql } from 'kysely';
import type { Db, Trx } from '../db/database.ts';
import type { PoolBenefitsTable, PoolClaimsTable } from '../db/schema.ts';
import type { Eligibility, PoolBenefit, PoolClaim } from './pool.core.ts';

const benefitColumns = [
  'id',
  'program_id',
  'name',
  'kind',
  'stock',
  'claimed',
  'used',
  'valid_from',
  'valid_until',
  'cost_fen',
  'per_member_limit',
  'eligibility',
  'charge_to',
  'code_valid_days',
  'status',
  'created_at',
  'updated_at',
] as const;

function toBenefit(r: Selectable<PoolBenefitsTable>): PoolBenefit {
  return {
    id: r.id,
    programId: r.program_id,
    name: r.name,
    kind: r.kind,
    stock: r.stock,
    claimed: r.claimed,
    used: r.used,
    validFrom: r.valid_from,
    validUntil: r.valid_until,
    costFen: Number(r.cost_fen),
    perMemberLimit: r.per_member_limit,
    eligibility: r.eligibility as Eligibility,
    chargeTo: r.charge_to,
    codeValidDays: r.code_valid_days,
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const claimColumns = [
  'id',
  'benefit_id',
  'member_id',
  'reference',
  'code',
  'status',
  'expires_at',
  'sponsor_program_id',
  'claimed_at',
  'used_at',
  'charge_debtor',
  'charge_creditor',
  'charge_fen',
] as const;

type ClaimRow = Pick<Selectable<PoolClaimsTable>, (typeof claimColumns)[number]>;

function toClaim(r: ClaimRow): PoolClaim {
  return {
    id: r.id,
    benefitId: r.benefit_id,
    memberId: r.member_id,
    reference: r.reference,
    code: r.code,
    status: r.status,
    expiresAt: r.expires_at,
    sponsorProgramId: r.sponsor_program_id,
    claimedAt: r.claimed_at,
    usedAt: r.used_at,
    charge:
      r.charge_fen === null || r.charge_debtor === null || r.charge_creditor === null
        ? null
        : {
            debtor: r.charge_debtor,
            creditor: r.charge_creditor,
            amountFen: Number(r.charge_fen),
          },
  };
}

/** Inserts a benefit; false when its id is taken. */
export async function insertBenefit(db: Db, b: PoolBenefit): Promise<boolean> {
  const row = await db
    .insertInto('pool_benefits')
    .values({
      id: b.id,
      program_id: b.programId,
      name: b.name,
      kind: b.kind,
      stock: b.stock,
      valid_from: b.validFrom,
      valid_until: b.validUntil,
      cost_fen: b.costFen,
      per_member_limit: b.perMemberLimit,
      eligibility: JSON.stringify(b.eligibility),
      charge_to: b.chargeTo,
      code_valid_days: b.codeValidDays,
      status: b.status,
      created_at: b.createdAt,
      updated_at: b.updatedAt,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function findBenefit(db: Db, id: string): Promise<PoolBenefit | undefined> {
  const row = await db
    .selectFrom('pool_benefits')
    .select(benefitColumns)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toBenefit(row);
}

/** Reads a benefit and locks it against other changes by an admin until the transaction ends. */
export async function lockBenefit(trx: Trx, id: string): Promise<PoolBenefit | undefined> {
  const row = await trx
    .selectFrom('pool_benefits')
    .select(benefitColumns)
    .where('id', '=', id)
    .forNoKeyUpdate()
    .executeTakeFirst();
  return row && toBenefit(row);
}

/** Benefits in id order after `after`: one contributor's, or (null) every one. */
export async function listBenefits(
  db: Db,
  programId: string | null,
  after: string | undefined,
  limit: number,
): Promise<PoolBenefit[]> {
  let q = db.selectFrom('pool_benefits').select(benefitColumns);
  if (programId !== null) q = q.where('program_id', '=', programId);
  if (after) q = q.where('id', '>', after);
  const rows = await q.orderBy('id').limit(limit).execute();
  return rows.map(toBenefit);
}

/** Active benefits in their validity at `now` with stock left: what anyone might claim. */
export async function openBenefits(db: Db, now: Date): Promise<PoolBenefit[]> {
  const rows = await db
    .selectFrom('pool_benefits')
    .select(benefitColumns)
    .where('status', '=', 'active')
    .where((eb) => eb.or([eb('valid_from', 'is', null), eb('valid_from', '<=', now)]))
    .where((eb) => eb.or([eb('valid_until', 'is', null), eb('valid_until', '>', now)]))
    .whereRef('claimed', '<', 'stock')
    .orderBy('id')
    .execute();
  return rows.map(toBenefit);
}

export interface BenefitChanges {
  name?: string | undefined;
  stock?: number | undefined;
  validFrom?: Date | null | undefined;
  validUntil?: Date | null | undefined;
  perMemberLimit?: number | undefined;
  codeValidDays?: number | null | undefined;
  status?: PoolBenefit['status'] | undefined;
}

/**
 * Changes a benefit. A new stock applies only if it is not below what was claimed (checked in the
 * statement, against claims committed meanwhile): undefined when it is.
 */
export async function updateBenefit(
  trx: Trx,
  id: string,
  c: BenefitChanges,
  at: Date,
): Promise<PoolBenefit | undefined> {
  let q = trx
    .updateTable('pool_benefits')
    .set({
      ...(c.name !== undefined && { name: c.name }),
      ...(c.stock !== undefined && { stock: c.stock }),
      ...(c.validFrom !== undefined && { valid_from: c.validFrom }),
      ...(c.validUntil !== undefined && { valid_until: c.validUntil }),
      ...(c.perMemberLimit !== undefined && { per_member_limit: c.perMemberLimit }),
      ...(c.codeValidDays !== undefined && { code_valid_days: c.codeValidDays }),
      ...(c.status !== undefined && { status: c.status }),
      updated_at: at,
    })
    .where('id', '=', id);
  if (c.stock !== undefined) q = q.where('claimed', '<=', c.stock);
  const row = await q.returning(benefitColumns).executeTakeFirst();
  return row && toBenefit(row);
}

/** How many of each of these benefits the member has claimed. */
export async function memberClaimCounts(
  db: Db,
  memberId: string,
  benefitIds: string[],
): Promise<Map<string, number>> {
  if (benefitIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('pool_member_claims')
    .select(['benefit_id', 'claimed'])
    .where('member_id', '=', memberId)
    .where('benefit_id', 'in', benefitIds)
    .execute();
  return new Map(rows.map((r) => [r.benefit_id, r.claimed]));
}

/**
 * Counts one more claim of the benefit by the member, if that keeps them within `limit`: one
 * statement, under the counter row's lock, so concurrent claims never pass the limit.
 */
export async function countMemberClaim(
  trx: Trx,
  benefitId: string,
  memberId: string,
  limit: number,
): Promise<boolean> {
  const row = await trx
    .insertInto('pool_member_claims')
    .values({ benefit_id: benefitId, member_id: memberId, claimed: 1 })
    .onConflict((oc) =>
      oc
        .columns(['benefit_id', 'member_id'])
        .doUpdateSet((eb) => ({ claimed: eb('pool_member_claims.claimed', '+', 1) }))
        .where('pool_member_claims.claimed', '<', limit),
    )
    .returning('claimed')
    .executeTakeFirst();
  return row !== undefined && row.claimed <= limit;
}

/**
 * Takes one unit of stock, if the benefit is claimable at `now` and has stock left: one
 * conditional update, so the stock is never oversold whatever runs at the same time.
 */
export async function takeStock(trx: Trx, benefitId: string, now: Date): Promise<boolean> {
  const row = await trx
    .updateTable('pool_benefits')
    .set((eb) => ({ claimed: eb('claimed', '+', 1) }))
    .where('id', '=', benefitId)
    .where('status', '=', 'active')
    .where((eb) => eb.or([eb('valid_from', 'is', null), eb('valid_from', '<=', now)]))
    .where((eb) => eb.or([eb('valid_until', 'is', null), eb('valid_until', '>', now)]))
    .whereRef('claimed', '<', 'stock')
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function insertClaim(trx: Trx, c: PoolClaim): Promise<void> {
  await trx
    .insertInto('pool_claims')
    .values({
      id: c.id,
      benefit_id: c.benefitId,
      member_id: c.memberId,
      reference: c.reference,
      code: c.code,
      status: c.status,
      expires_at: c.expiresAt,
      sponsor_program_id: c.sponsorProgramId,
      claimed_at: c.claimedAt,
    })
    .execute();
}

export async function findClaimByReference(
  db: Db,
  benefitId: string,
  memberId: string,
  reference: string,
): Promise<PoolClaim | undefined> {
  const row = await db
    .selectFrom('pool_claims')
    .select(claimColumns)
    .where('benefit_id', '=', benefitId)
    .where('member_id', '=', memberId)
    .where('reference', '=', reference)
    .executeTakeFirst();
  return row && toClaim(row);
}

export async function findClaimByCode(db: Db, code: string): Promise<PoolClaim | undefined> {
  const row = await db
    .selectFrom('pool_claims')
    .select(claimColumns)
    .where('code', '=', code)
    .executeTakeFirst();
  return row && toClaim(row);
}

/** A member's claims, newest first, before the claim id `before`. */
export async function claimsOf(
  db: Db,
  memberId: string,
  before: string | undefined,
  limit: number,
): Promise<PoolClaim[]> {
  let q = db.selectFrom('pool_claims').select(claimColumns).where('member_id', '=', memberId);
  if (before) q = q.where('id', '<', before);
  const rows = await q.orderBy('id', 'desc').limit(limit).execute();
  return rows.map(toClaim);
}

/**
 * Marks a claim used, with what its use was charged, if it is still unused and unexpired at
 * `now`: the one statement that makes a code single-use (a concurrent redeem finds it used).
 */
export async function useClaim(
  trx: Trx,
  claimId: string,
  now: Date,
  keyId: string | null,
  charge: PoolClaim['charge'],
): Promise<PoolClaim | undefined> {
  const row = await trx
    .updateTable('pool_claims')
    .set({
      status: 'used',
      used_at: now,
      used_by_key: keyId,
      charge_debtor: charge?.debtor ?? null,
      charge_creditor: charge?.creditor ?? null,
      charge_fen: charge?.amountFen ?? null,
    })
    .where('id', '=', claimId)
    .where('status', '=', 'claimed')
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .returning(claimColumns)
    .executeTakeFirst();
  if (!row) return undefined;
  await trx
    .updateTable('pool_benefits')
    .set((eb) => ({ used: eb('used', '+', 1) }))
    .where('id', '=', row.benefit_id)
    .execute();
  return toClaim(row);
}

/**
 * A merge's part: the duplicate's codes become the survivor's (but one claimed under a reference
 * the survivor holds for the same benefit, which stays a record of the duplicate's), and their
 * per-member counts are added to the survivor's.
 */
export async function moveToMember(trx: Trx, fromId: string, intoId: string): Promise<void> {
  await sql`
    update pool_claims c set member_id = ${intoId}
    where c.member_id = ${fromId}
      and not exists (select 1 from pool_claims s where s.benefit_id = c.benefit_id
                      and s.member_id = ${intoId} and s.reference = c.reference)`.execute(trx);
  await sql`
    insert into pool_member_claims (benefit_id, member_id, claimed)
    select benefit_id, ${intoId}, claimed from pool_member_claims where member_id = ${fromId}
    on conflict (benefit_id, member_id)
      do update set claimed = pool_member_claims.claimed + excluded.claimed`.execute(trx);
  await trx.deleteFrom('pool_member_claims').where('member_id', '=', fromId).execute();
  await sql`
    update pool_member_claims m set claimed = claimed - d.n
    from (select benefit_id, count(*)::int as n from pool_claims where member_id = ${fromId}
          group by benefit_id) d
    where m.benefit_id = d.benefit_id and m.member_id = ${intoId}`.execute(trx);
}
