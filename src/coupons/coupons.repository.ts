import { type Selectable, sql } from 'kysely';
import { type Db, prepared, type Trx } from '../db/database.ts';
import type { CouponReferralsTable, CouponsTable, CouponTemplatesTable } from '../db/schema.ts';
import type { Conditions, Coupon, CouponTemplate } from './coupons.core.ts';

const templateColumns = [
  'id',
  'program_id',
  'name',
  'kind',
  'amount_off_fen',
  'percent_off',
  'cap_fen',
  'gift',
  'valid_from',
  'valid_until',
  'valid_days',
  'stock',
  'issued',
  'reserved',
  'per_member_limit',
  'conditions',
  'issue_on',
  'issue_on_tier',
  'status',
  'created_at',
  'updated_at',
] as const;

const num = (v: string | null) => (v === null ? null : Number(v));

function toTemplate(r: Selectable<CouponTemplatesTable>): CouponTemplate {
  return {
    id: r.id,
    programId: r.program_id,
    name: r.name,
    kind: r.kind,
    amountOffFen: num(r.amount_off_fen),
    percentOff: r.percent_off,
    capFen: num(r.cap_fen),
    gift: r.gift,
    validFrom: r.valid_from,
    validUntil: r.valid_until,
    validDays: r.valid_days,
    stock: r.stock,
    issued: r.issued,
    reserved: r.reserved,
    perMemberLimit: r.per_member_limit,
    conditions: r.conditions as Conditions,
    issueOn: r.issue_on,
    issueOnTier: r.issue_on_tier,
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const couponColumns = [
  'id',
  'template_id',
  'program_id',
  'member_id',
  'reference',
  'code',
  'status',
  'valid_from',
  'expires_at',
  'issued_at',
  'redeemed_at',
  'purchase_id',
  'discount_fen',
] as const;

function toCoupon(r: Selectable<CouponsTable>): Coupon {
  return {
    id: r.id,
    templateId: r.template_id,
    programId: r.program_id,
    memberId: r.member_id,
    reference: r.reference,
    code: r.code,
    status: r.status,
    validFrom: r.valid_from,
    expiresAt: r.expires_at,
    issuedAt: r.issued_at,
    redeemedAt: r.redeemed_at,
    purchaseId: r.purchase_id,
    discountFen: num(r.discount_fen),
  };
}

/** Inserts a template; false when its id is taken. */
export async function insertTemplate(db: Db, t: CouponTemplate): Promise<boolean> {
  const row = await db
    .insertInto('coupon_templates')
    .values({
      id: t.id,
      program_id: t.programId,
      name: t.name,
      kind: t.kind,
      amount_off_fen: t.amountOffFen,
      percent_off: t.percentOff,
      cap_fen: t.capFen,
      gift: t.gift,
      valid_from: t.validFrom,
      valid_until: t.validUntil,
      valid_days: t.validDays,
      stock: t.stock,
      per_member_limit: t.perMemberLimit,
      conditions: JSON.stringify(t.conditions),
      issue_on: t.issueOn,
      issue_on_tier: t.issueOnTier,
      status: t.status,
      created_at: t.createdAt,
      updated_at: t.updatedAt,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function findTemplate(db: Db, id: string): Promise<CouponTemplate | undefined> {
  const row = await db
    .selectFrom('coupon_templates')
    .select(templateColumns)
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toTemplate(row);
}

/** Reads a template and locks it against an admin's other changes until the transaction ends. */
export async function lockTemplate(trx: Trx, id: string): Promise<CouponTemplate | undefined> {
  const row = await trx
    .selectFrom('coupon_templates')
    .select(templateColumns)
    .where('id', '=', id)
    .forNoKeyUpdate()
    .executeTakeFirst();
  return row && toTemplate(row);
}

/** A program's templates in id order after `after`. */
export async function listTemplates(
  db: Db,
  programId: string,
  after: string | undefined,
  limit: number,
): Promise<CouponTemplate[]> {
  let q = db
    .selectFrom('coupon_templates')
    .select(templateColumns)
    .where('program_id', '=', programId);
  if (after) q = q.where('id', '>', after);
  const rows = await q.orderBy('id').limit(limit).execute();
  return rows.map(toTemplate);
}

/** A program's active templates issued on an outbox event. */
export async function templatesIssuedOn(db: Db, programId: string): Promise<CouponTemplate[]> {
  const rows = await db
    .selectFrom('coupon_templates')
    .select(templateColumns)
    .where('program_id', '=', programId)
    .where('issue_on', 'is not', null)
    .where('status', '=', 'active')
    .orderBy('id')
    .execute();
  return rows.map(toTemplate);
}

/**
 * How many coupons of each template are redeemed now: counted rather than kept as a counter, so
 * a redemption at the till writes one row (its coupon), not a row every till shares.
 */
export async function redeemedCounts(db: Db, templateIds: string[]): Promise<Map<string, number>> {
  if (templateIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('coupons')
    .select((eb) => ['template_id', eb.fn.countAll<string>().as('n')])
    .where('template_id', 'in', templateIds)
    .where('status', '=', 'redeemed')
    .groupBy('template_id')
    .execute();
  return new Map(rows.map((r) => [r.template_id, Number(r.n)]));
}

export interface TemplateChanges {
  name?: string | undefined;
  stock?: number | null | undefined;
  validFrom?: Date | null | undefined;
  validUntil?: Date | null | undefined;
  validDays?: number | null | undefined;
  perMemberLimit?: number | null | undefined;
  status?: CouponTemplate['status'] | undefined;
}

/**
 * Changes a template. A new stock applies only if it is not below what was issued (checked in
 * the statement, against issues committed meanwhile): undefined when it is.
 */
export async function updateTemplate(
  trx: Trx,
  id: string,
  c: TemplateChanges,
  at: Date,
): Promise<CouponTemplate | undefined> {
  let q = trx
    .updateTable('coupon_templates')
    .set({
      ...(c.name !== undefined && { name: c.name }),
      ...(c.stock !== undefined && { stock: c.stock }),
      ...(c.validFrom !== undefined && { valid_from: c.validFrom }),
      ...(c.validUntil !== undefined && { valid_until: c.validUntil }),
      ...(c.validDays !== undefined && { valid_days: c.validDays }),
      ...(c.perMemberLimit !== undefined && { per_member_limit: c.perMemberLimit }),
      ...(c.status !== undefined && { status: c.status }),
      updated_at: at,
    })
    .where('id', '=', id);
  if (typeof c.stock === 'number') {
    const stock = c.stock;
    q = q.where((eb) => eb(eb('issued', '+', eb.ref('reserved')), '<=', stock));
  }
  const row = await q.returning(templateColumns).executeTakeFirst();
  return row && toTemplate(row);
}

/** The programs with an active template issued on this event. */
export async function programsIssuingOn(db: Db, on: 'birthday'): Promise<string[]> {
  const rows = await db
    .selectFrom('coupon_templates')
    .select('program_id')
    .distinct()
    .where('issue_on', '=', on)
    .where('status', '=', 'active')
    .execute();
  return rows.map((r) => r.program_id);
}

/** The program's template ids among `ids` (all when absent). */
export async function templateIds(db: Db, programId: string, ids?: string[]): Promise<string[]> {
  if (ids?.length === 0) return [];
  let q = db.selectFrom('coupon_templates').select('id').where('program_id', '=', programId);
  if (ids) q = q.where('id', 'in', ids);
  return (await q.execute()).map((r) => r.id);
}

/**
 * Takes `n` units of stock if the template is active and has them left: one conditional update,
 * so concurrent issues never oversell.
 */
export async function takeStock(trx: Trx, templateId: string, n: number): Promise<boolean> {
  return (await takeUnits(trx, templateId, n, 'issued')) !== undefined;
}

/**
 * Adds `n` to the template's `issued` or `reserved` if it is active and the two together stay
 * within its stock; returns its per-member limit, or undefined when it took nothing.
 */
async function takeUnits(trx: Trx, templateId: string, n: number, into: 'issued' | 'reserved') {
  return trx
    .updateTable('coupon_templates')
    .set((eb) => ({ [into]: eb(into, '+', n) }))
    .where('id', '=', templateId)
    .where('status', '=', 'active')
    .where((eb) =>
      eb.or([
        eb('stock', 'is', null),
        eb(eb('issued', '+', eb.ref('reserved')), '<=', eb('stock', '-', n)),
      ]),
    )
    .returning('per_member_limit')
    .executeTakeFirst();
}

/**
 * Counts one more coupon for each member (every issue counts, so a limit set later starts from the
 * truth), for those still under `limit` (null: no limit): one set-based statement
 * under the counter rows' locks. Returns the members that were over it (empty: all counted).
 */
export async function countMembers(
  trx: Trx,
  templateId: string,
  memberIds: string[],
  limit: number | null,
): Promise<string[]> {
  if (memberIds.length === 0) return [];
  const rows = await trx
    .insertInto('coupon_member_counts')
    .values(memberIds.map((m) => ({ template_id: templateId, member_id: m, issued: 1 })))
    .onConflict((oc) => {
      const add = oc
        .columns(['template_id', 'member_id'])
        .doUpdateSet((eb) => ({ issued: eb('coupon_member_counts.issued', '+', 1) }));
      return limit === null
        ? add
        : add.where(
            (eb) => eb('coupon_member_counts.issued', '+', eb.ref('coupon_member_counts.reserved')),
            '<',
            limit,
          );
    })
    .returning('member_id')
    .execute();
  const counted = new Set(rows.map((r) => r.member_id));
  return memberIds.filter((m) => !counted.has(m));
}

/**
 * Inserts coupons, skipping any whose (template, member, reference) exists: a concurrent repeat
 * waits on the unique index and skips. Returns the ones inserted.
 */
export async function insertCoupons(trx: Trx, coupons: Coupon[]): Promise<Coupon[]> {
  if (coupons.length === 0) return [];
  const rows = await trx
    .insertInto('coupons')
    .values(
      coupons.map((c) => ({
        id: c.id,
        template_id: c.templateId,
        program_id: c.programId,
        member_id: c.memberId,
        reference: c.reference,
        code: c.code,
        status: c.status,
        valid_from: c.validFrom,
        expires_at: c.expiresAt,
        issued_at: c.issuedAt,
      })),
    )
    .onConflict((oc) => oc.columns(['template_id', 'member_id', 'reference']).doNothing())
    .returning(couponColumns)
    .execute();
  return rows.map(toCoupon);
}

/** The coupons of a template issued with `reference`, to any of these members. */
export async function couponsByReference(
  db: Db,
  templateId: string,
  reference: string,
  memberIds: string[],
): Promise<Coupon[]> {
  if (memberIds.length === 0) return [];
  const rows = await db
    .selectFrom('coupons')
    .select(couponColumns)
    .where('template_id', '=', templateId)
    .where('reference', '=', reference)
    .where('member_id', 'in', memberIds)
    .execute();
  return rows.map(toCoupon);
}

export async function findByCode(db: Db, code: string): Promise<Coupon | undefined> {
  const row = await db
    .selectFrom('coupons')
    .select(couponColumns)
    .where('code', '=', code)
    .executeTakeFirst();
  return row && toCoupon(row);
}

/** Template columns that coupons have too: read under a `t_` name when the two are joined. */
type SharedColumn = 'id' | 'program_id' | 'valid_from' | 'status';
const sharedColumns: readonly string[] = [
  'id',
  'program_id',
  'valid_from',
  'status',
] satisfies SharedColumn[];
const templateOnlyColumns = templateColumns.filter(
  (c): c is Exclude<(typeof templateColumns)[number], SharedColumn> => !sharedColumns.includes(c),
);
/** The coupon's columns, then its template's: the text is the same on every call (prepared). */
const tillColumns = sql.raw(
  [
    ...couponColumns.map((c) => `c.${c}`),
    ...templateOnlyColumns.map((c) => `t.${c}`),
    ...sharedColumns.map((c) => `t.${c} as t_${c}`),
  ].join(', '),
);
type TillRow = Selectable<CouponsTable> &
  Omit<Selectable<CouponTemplatesTable>, SharedColumn> & {
    [C in SharedColumn as `t_${C}`]: Selectable<CouponTemplatesTable>[C];
  };

/** A coupon and its template, as the till reads them. */
export interface TillCoupon {
  coupon: Coupon;
  template: CouponTemplate;
}

/**
 * The coupons with these codes and their templates, by code, in one prepared statement: the
 * till's path (validate and redeem), where each round trip, and PostgreSQL planning the join on
 * each call, was most of the request's cost.
 */
export async function findByCodesWithTemplate(
  db: Db,
  codes: readonly string[],
): Promise<Map<string, TillCoupon>> {
  const { rows } = await sql<TillRow>`${prepared}
    select ${tillColumns}
    from coupons c join coupon_templates t on t.id = c.template_id
    where c.code = any(${codes}::text[])`.execute(db);
  return new Map(
    rows.map((row) => [
      row.code,
      {
        coupon: toCoupon(row),
        template: toTemplate({
          ...row,
          id: row.t_id,
          program_id: row.t_program_id,
          valid_from: row.t_valid_from,
          status: row.t_status,
        }),
      },
    ]),
  );
}

/** A member's coupons in a program, newest first, before the coupon id `before`. */
export async function couponsOf(
  db: Db,
  programId: string,
  memberId: string,
  before: string | undefined,
  limit: number,
): Promise<Coupon[]> {
  let q = db
    .selectFrom('coupons')
    .select(couponColumns)
    .where('program_id', '=', programId)
    .where('member_id', '=', memberId);
  if (before) q = q.where('id', '<', before);
  const rows = await q.orderBy('id', 'desc').limit(limit).execute();
  return rows.map(toCoupon);
}

/**
 * Redeems a coupon on a purchase if it is still unused and unexpired at `now`: the one statement
 * that makes a code single-use (a concurrent redeem finds it redeemed).
 */
export async function redeem(
  db: Db,
  couponId: string,
  purchaseId: string,
  discountFen: number,
  now: Date,
): Promise<Coupon | undefined> {
  const row = await db
    .updateTable('coupons')
    .set({
      status: 'redeemed',
      redeemed_at: now,
      purchase_id: purchaseId,
      discount_fen: discountFen,
    })
    .where('id', '=', couponId)
    .where('status', '=', 'issued')
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .returning(couponColumns)
    .executeTakeFirst();
  return row && toCoupon(row);
}

/**
 * Puts back the coupons redeemed on a purchase: one conditional update, so running it twice (a
 * return replayed) changes nothing more.
 */
export async function unredeem(db: Db, programId: string, purchaseId: string): Promise<Coupon[]> {
  const rows = await db
    .updateTable('coupons')
    .set({ status: 'issued', redeemed_at: null, purchase_id: null, discount_fen: null })
    .where('program_id', '=', programId)
    .where('purchase_id', '=', purchaseId)
    .where('status', '=', 'redeemed')
    .returning(couponColumns)
    .execute();
  return rows.map(toCoupon);
}

/** Whether the program has an active template issued on enrollment: whether to tell the worker. */
export async function issuesOnEnrollment(db: Db, programId: string): Promise<boolean> {
  const row = await db
    .selectFrom('coupon_templates')
    .select('id')
    .where('program_id', '=', programId)
    .where('issue_on', '=', 'enrollment')
    .where('status', '=', 'active')
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

// --- referral ---

export interface ReferralSettings {
  programId: string;
  refereeTemplateId: string;
  referrerTemplateId: string;
  updatedAt: Date;
}

export async function findReferralSettings(
  db: Db,
  programId: string,
): Promise<ReferralSettings | undefined> {
  const r = await db
    .selectFrom('coupon_referral_settings')
    .select(['program_id', 'referee_template_id', 'referrer_template_id', 'updated_at'])
    .where('program_id', '=', programId)
    .executeTakeFirst();
  return (
    r && {
      programId: r.program_id,
      refereeTemplateId: r.referee_template_id,
      referrerTemplateId: r.referrer_template_id,
      updatedAt: r.updated_at,
    }
  );
}

export async function upsertReferralSettings(db: Db, s: ReferralSettings): Promise<void> {
  await db
    .insertInto('coupon_referral_settings')
    .values({
      program_id: s.programId,
      referee_template_id: s.refereeTemplateId,
      referrer_template_id: s.referrerTemplateId,
      updated_at: s.updatedAt,
    })
    .onConflict((oc) =>
      oc.column('program_id').doUpdateSet({
        referee_template_id: s.refereeTemplateId,
        referrer_template_id: s.referrerTemplateId,
        updated_at: s.updatedAt,
      }),
    )
    .execute();
}

/** The member's share code in the program, made with `code` if they have none yet. */
export async function shareCodeOf(
  db: Db,
  programId: string,
  memberId: string,
  code: string,
  at: Date,
): Promise<string> {
  await db
    .insertInto('coupon_share_codes')
    .values({ program_id: programId, member_id: memberId, code, created_at: at })
    .onConflict((oc) => oc.columns(['program_id', 'member_id']).doNothing())
    .execute();
  const row = await db
    .selectFrom('coupon_share_codes')
    .select('code')
    .where('program_id', '=', programId)
    .where('member_id', '=', memberId)
    .executeTakeFirstOrThrow();
  return row.code;
}

/** Whose share code this is: the program and member, or undefined. */
export async function findShareCode(
  db: Db,
  code: string,
): Promise<{ programId: string; memberId: string } | undefined> {
  const r = await db
    .selectFrom('coupon_share_codes')
    .select(['program_id', 'member_id'])
    .where('code', '=', code)
    .executeTakeFirst();
  return r && { programId: r.program_id, memberId: r.member_id };
}

export interface Referral {
  programId: string;
  refereeId: string;
  referrerId: string;
  status: 'pending' | 'rewarded' | 'refused';
  createdAt: Date;
  settledAt: Date | null;
}

const referralColumns = [
  'program_id',
  'referee_id',
  'referrer_id',
  'status',
  'created_at',
  'settled_at',
] as const;

function toReferral(r: Selectable<CouponReferralsTable>): Referral {
  return {
    programId: r.program_id,
    refereeId: r.referee_id,
    referrerId: r.referrer_id,
    status: r.status,
    createdAt: r.created_at,
    settledAt: r.settled_at,
  };
}

/** Records who referred the new member; false when someone already did (the first one stands). */
export async function insertReferral(
  trx: Trx,
  r: Pick<Referral, 'programId' | 'refereeId' | 'referrerId' | 'createdAt'>,
): Promise<boolean> {
  const row = await trx
    .insertInto('coupon_referrals')
    .values({
      program_id: r.programId,
      referee_id: r.refereeId,
      referrer_id: r.referrerId,
      status: 'pending',
      created_at: r.createdAt,
    })
    .onConflict((oc) => oc.columns(['program_id', 'referee_id']).doNothing())
    .returning('referee_id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function findReferral(
  db: Db,
  programId: string,
  refereeId: string,
): Promise<Referral | undefined> {
  const row = await db
    .selectFrom('coupon_referrals')
    .select(referralColumns)
    .where('program_id', '=', programId)
    .where('referee_id', '=', refereeId)
    .executeTakeFirst();
  return row && toReferral(row);
}

/** The pending referrals of these new members. */
export async function pendingReferrals(
  db: Db,
  programId: string,
  refereeIds: string[],
): Promise<Referral[]> {
  if (refereeIds.length === 0) return [];
  const rows = await db
    .selectFrom('coupon_referrals')
    .select(referralColumns)
    .where('program_id', '=', programId)
    .where('referee_id', 'in', refereeIds)
    .where('status', '=', 'pending')
    .execute();
  return rows.map(toReferral);
}

/** Settles a pending referral, once: a second settle finds it settled and changes nothing. */
export async function settleReferral(
  db: Db,
  programId: string,
  refereeId: string,
  status: 'rewarded' | 'refused',
  at: Date,
): Promise<void> {
  await db
    .updateTable('coupon_referrals')
    .set({ status, settled_at: at })
    .where('program_id', '=', programId)
    .where('referee_id', '=', refereeId)
    .where('status', '=', 'pending')
    .execute();
}

// --- coupons bought in the rewards mall: reserved with the order, issued at its confirmation ---

/**
 * Reserves `n` coupons of an active template for a member's order: the template's stock (issued
 * and reserved together never pass it) and the member's limit, each one conditional update.
 * Says which ran short, or `reserved`.
 */
export async function reserveForOrder(
  trx: Trx,
  templateId: string,
  memberId: string,
  n: number,
  limit: number | null,
): Promise<'reserved' | 'unavailable' | 'short' | 'limit'> {
  // The member's count first, then the template: the order `issueCoupons` locks them in.
  if (limit !== null && n > limit) return 'limit';
  const counted = await trx
    .insertInto('coupon_member_counts')
    .values({ template_id: templateId, member_id: memberId, issued: 0, reserved: n })
    .onConflict((oc) => {
      const add = oc
        .columns(['template_id', 'member_id'])
        .doUpdateSet((eb) => ({ reserved: eb('coupon_member_counts.reserved', '+', n) }));
      return limit === null
        ? add
        : add.where(
            (eb) => eb('coupon_member_counts.issued', '+', eb.ref('coupon_member_counts.reserved')),
            '<=',
            limit - n,
          );
    })
    .returning('issued')
    .executeTakeFirst();
  if (!counted) return 'limit';
  if (await takeUnits(trx, templateId, n, 'reserved')) return 'reserved';
  const current = await findTemplate(trx, templateId);
  return current?.status === 'active' ? 'short' : 'unavailable';
}

/**
 * Ends a reservation of `n` coupons: given back (`issue: false`, an order cancelled or expired)
 * or turned into issued ones (`issue: true`, its coupons inserted by the caller beside it). The
 * member's count first, then the template (the lock order of `issueCoupons`).
 */
export async function endReservation(
  trx: Trx,
  templateId: string,
  memberId: string,
  n: number,
  issue: boolean,
): Promise<void> {
  await trx
    .updateTable('coupon_member_counts')
    .set((eb) => ({
      reserved: eb('reserved', '-', n),
      ...(issue && { issued: eb('issued', '+', n) }),
    }))
    .where('template_id', '=', templateId)
    .where('member_id', '=', memberId)
    .execute();
  await trx
    .updateTable('coupon_templates')
    .set((eb) => ({
      reserved: eb('reserved', '-', n),
      ...(issue && { issued: eb('issued', '+', n) }),
    }))
    .where('id', '=', templateId)
    .execute();
}

/** The coupons issued with references starting `prefix` (an order's), for a member; `lock`: for update. */
export async function couponsByReferencePrefix(
  db: Db,
  programId: string,
  memberId: string,
  prefix: string,
  lock = false,
): Promise<Coupon[]> {
  let q = db
    .selectFrom('coupons')
    .select(couponColumns)
    .where('program_id', '=', programId)
    .where('member_id', '=', memberId)
    .where(sql<boolean>`starts_with(reference, ${prefix})`)
    // `<prefix><line>:<unit>` only: an order id may hold ':' (order X must not find X:0's).
    .where(sql<boolean>`substr(reference, ${prefix.length + 1}) ~ '^[0-9]+:[0-9]+$'`)
    .orderBy('reference');
  if (lock) q = q.forUpdate();
  return (await q.execute()).map(toCoupon);
}

/** Withdraws coupons not redeemed: they expire as of their issue (they stay counted as issued). */
export async function withdraw(trx: Trx, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await trx
    .updateTable('coupons')
    .set((eb) => ({ expires_at: eb.ref('issued_at') }))
    .where('id', 'in', ids)
    .where('status', '=', 'issued')
    .execute();
}

/**
 * A merge's part: the duplicate's coupons become the survivor's (but one issued under a reference
 * the survivor holds already, e.g. the same year's birthday, which stays a record of the
 * duplicate's); their counts are added; their referrals and share code follow, where the survivor
 * has none of its own.
 */
export async function moveToMember(trx: Trx, fromId: string, intoId: string): Promise<void> {
  await sql`
    update coupons c set member_id = ${intoId}
    where c.member_id = ${fromId}
      and not exists (select 1 from coupons s where s.template_id = c.template_id
                      and s.member_id = ${intoId} and s.reference = c.reference)`.execute(trx);
  await sql`
    insert into coupon_member_counts (template_id, member_id, issued, reserved)
    select template_id, ${intoId}, issued, reserved from coupon_member_counts
    where member_id = ${fromId}
    on conflict (template_id, member_id) do update
      set issued = coupon_member_counts.issued + excluded.issued,
          reserved = coupon_member_counts.reserved + excluded.reserved`.execute(trx);
  await trx.deleteFrom('coupon_member_counts').where('member_id', '=', fromId).execute();
  // What stayed the duplicate's (a reference the survivor holds) is not the survivor's to count.
  await sql`
    update coupon_member_counts m set issued = issued - d.n
    from (select template_id, count(*)::int as n from coupons where member_id = ${fromId}
          group by template_id) d
    where m.template_id = d.template_id and m.member_id = ${intoId}`.execute(trx);
  await sql`
    update coupon_referrals r set referee_id = ${intoId}
    where r.referee_id = ${fromId}
      and not exists (select 1 from coupon_referrals s
                      where s.program_id = r.program_id and s.referee_id = ${intoId})`.execute(trx);
  await trx
    .updateTable('coupon_referrals')
    .set({ referrer_id: intoId })
    .where('referrer_id', '=', fromId)
    .execute();
  await sql`
    update coupon_share_codes c set member_id = ${intoId}
    where c.member_id = ${fromId}
      and not exists (select 1 from coupon_share_codes s
                      where s.program_id = c.program_id and s.member_id = ${intoId})`.execute(trx);
}
