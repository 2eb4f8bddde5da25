import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { recordAudit } from '../audit/audit.service.ts';
import { type Db, inTransaction, type Trx } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import { advanceCursor, cursors, startCursor } from '../events/events.cursors.ts';
import { onceADay, programDay } from '../events/events.daily.ts';
import {
  appendEvents,
  type DomainEvent,
  lastSequence,
  listEvents,
} from '../events/events.service.ts';
import type { Principal } from '../keys/keys.core.ts';
import { assertEnrolled, enrollmentTimes, membersBornOn } from '../members/members.service.ts';
import { getProgram } from '../programs/programs.service.ts';
import { memberPurchases } from '../purchases/purchases.service.ts';
import { DomainError, invalidField, notFound } from '../shared/errors.ts';
import { getLadder, tierOf } from '../tiers/tiers.service.ts';
import {
  COUPON_CODE_BYTES,
  type Conditions,
  type Coupon,
  type CouponKind,
  type CouponTemplate,
  couponCode,
  couponExpiry,
  type IssueEvent,
  issuingClosed,
  judge,
  normalizeCouponCode,
  type Purchase,
  type Verdict,
} from './coupons.core.ts';
import * as repo from './coupons.repository.ts';

// Coupons (优惠券). A program admin defines a coupon template (what it takes off, when it is
// valid, its stock and conditions); coupons are issued from it to members (by a call, or by the
// worker on an outbox event), each with a unique single-use code; the till validates a code
// against a purchase and redeems it once; a return of the purchase puts it back. Stock and
// per-member limits are conditional updates in the issue's transaction: never oversold.

export interface NewTemplate {
  id?: string | undefined;
  name: string;
  kind: CouponKind;
  amountOffFen?: number | undefined;
  percentOff?: number | undefined;
  capFen?: number | undefined;
  gift?: string | undefined;
  validFrom?: string | undefined;
  validUntil?: string | undefined;
  validDays?: number | undefined;
  stock?: number | undefined;
  perMemberLimit?: number | undefined;
  conditions?: Conditions | undefined;
  issueOn?: IssueEvent | undefined;
  issueOnTier?: string | undefined;
}

export interface TemplatePatch {
  name?: string | undefined;
  stock?: number | null | undefined;
  validFrom?: string | null | undefined;
  validUntil?: string | null | undefined;
  validDays?: number | null | undefined;
  perMemberLimit?: number | null | undefined;
  status?: CouponTemplate['status'] | undefined;
}

/** A template with how many of its coupons are redeemed now. */
export interface TemplateView extends CouponTemplate {
  redeemed: number;
}

const dateOrNull = (v: string | null | undefined) =>
  v === undefined ? undefined : v === null ? null : new Date(v);

function checkValidity(from: Date | null, until: Date | null): void {
  if (from && until && until <= from) throw invalidField('validUntil', 'must be after validFrom');
}

/** Refuses tier codes the program's ladder does not have. */
async function checkTiers(deps: Deps, programId: string, input: NewTemplate): Promise<void> {
  const wanted = [
    ...(input.conditions?.tiers ?? []).map((code) => ['conditions.tiers', code] as const),
    ...(input.issueOnTier ? [['issueOnTier', input.issueOnTier] as const] : []),
  ];
  if (wanted.length === 0) return;
  const codes = new Set((await getLadder(deps, programId)).tiers.map((t) => t.code));
  for (const [path, code] of wanted) {
    if (!codes.has(code)) throw invalidField(path, `program ${programId} has no tier ${code}`);
  }
}

/** Creates a coupon template (program admin); audited. */
export async function createTemplate(
  deps: Deps,
  programId: string,
  input: NewTemplate,
  actor: Principal | null,
): Promise<TemplateView> {
  await getProgram(deps, programId);
  const now = deps.clock.now();
  const template: CouponTemplate = {
    id: input.id ?? deps.ids('cpt'),
    programId,
    name: input.name,
    kind: input.kind,
    amountOffFen: input.amountOffFen ?? null,
    percentOff: input.percentOff ?? null,
    capFen: input.capFen ?? null,
    gift: input.gift ?? null,
    validFrom: input.validFrom ? new Date(input.validFrom) : null,
    validUntil: input.validUntil ? new Date(input.validUntil) : null,
    validDays: input.validDays ?? null,
    stock: input.stock ?? null,
    issued: 0,
    reserved: 0,
    perMemberLimit: input.perMemberLimit ?? null,
    conditions: input.conditions ?? {},
    issueOn: input.issueOn ?? null,
    issueOnTier: input.issueOnTier ?? null,
    status: 'active',
    createdAt: now,
    updatedAt: now,
  };
  checkValidity(template.validFrom, template.validUntil);
  await checkTiers(deps, programId, input);
  return inTransaction(deps.db, async (trx) => {
    if (!(await repo.insertTemplate(trx, template))) {
      throw new DomainError(
        'coupon_template_exists',
        `A coupon template with id ${template.id} already exists`,
        { templateId: template.id },
      );
    }
    // The worker reads the program's outbox from here on: no coupons for what happened before.
    if (template.issueOn) {
      await startCursor(trx, 'coupon_cursors', programId, await lastSequence(trx, programId), now);
    }
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'coupon.template_created', programId, after: template },
    );
    return { ...template, redeemed: 0 };
  });
}

async function findOwnTemplate(
  deps: Pick<Deps, 'db'>,
  programId: string,
  templateId: string,
): Promise<CouponTemplate> {
  const t = await repo.findTemplate(deps.db, templateId);
  // Another program's template reads as not found: a key learns nothing of another brand's.
  if (!t || t.programId !== programId) throw notFound(`Coupon template ${templateId}`);
  return t;
}

/** One template of the program, with its redeemed count. */
export async function getTemplate(
  deps: Pick<Deps, 'db'>,
  programId: string,
  templateId: string,
): Promise<TemplateView> {
  const t = await findOwnTemplate(deps, programId, templateId);
  const counts = await repo.redeemedCounts(deps.db, [t.id]);
  return { ...t, redeemed: counts.get(t.id) ?? 0 };
}

/** The program's templates in id order, with issued and redeemed counts. */
export async function listTemplates(
  deps: Pick<Deps, 'db'>,
  programId: string,
  after: string | undefined,
  limit: number,
): Promise<TemplateView[]> {
  const list = await repo.listTemplates(deps.db, programId, after, limit);
  const counts = await repo.redeemedCounts(
    deps.db,
    list.map((t) => t.id),
  );
  return list.map((t) => ({ ...t, redeemed: counts.get(t.id) ?? 0 }));
}

/**
 * Changes a template's status, stock, validity or limit; audited. Stock cannot go below what
 * was issued and reserved by mall orders (409 `stock_below_claimed`). Coupons already issued keep the validity they got.
 */
export async function updateTemplate(
  deps: Deps,
  programId: string,
  templateId: string,
  patch: TemplatePatch,
  actor: Principal | null,
): Promise<TemplateView> {
  const after = await inTransaction(deps.db, async (trx) => {
    const before = await repo.lockTemplate(trx, templateId);
    if (!before || before.programId !== programId) {
      throw notFound(`Coupon template ${templateId}`);
    }
    const changes: repo.TemplateChanges = {
      name: patch.name,
      stock: patch.stock,
      validFrom: dateOrNull(patch.validFrom),
      validUntil: dateOrNull(patch.validUntil),
      validDays: patch.validDays,
      perMemberLimit: patch.perMemberLimit,
      status: patch.status,
    };
    checkValidity(
      changes.validFrom === undefined ? before.validFrom : changes.validFrom,
      changes.validUntil === undefined ? before.validUntil : changes.validUntil,
    );
    const changed = await repo.updateTemplate(trx, templateId, changes, deps.clock.now());
    if (!changed) {
      const now = (await repo.findTemplate(trx, templateId)) ?? before;
      const { issued, reserved } = now;
      throw new DomainError(
        'stock_below_claimed',
        `Coupon template ${templateId} has issued ${issued}${reserved ? ` and ${reserved} reserved by mall orders` : ''}: its stock cannot be less`,
        { issued, reserved },
      );
    }
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'coupon.template_changed', programId, before, after: changed },
    );
    return changed;
  });
  const counts = await repo.redeemedCounts(deps.db, [after.id]);
  return { ...after, redeemed: counts.get(after.id) ?? 0 };
}

// --- issuing ---

export interface IssueResult {
  coupons: Coupon[];
  /** Every coupon was issued before, with the same reference. */
  replayed: boolean;
}

/** A coupon of the template for a member, with a fresh code; not yet stored. */
function newCoupon(
  deps: Pick<Deps, 'ids'>,
  template: CouponTemplate,
  c: { memberId: string; reference: string; expiresAt: Date | null },
  now: Date,
): Coupon {
  return {
    id: deps.ids('cpn'),
    templateId: template.id,
    programId: template.programId,
    memberId: c.memberId,
    reference: c.reference,
    code: couponCode(randomBytes(COUPON_CODE_BYTES)),
    status: 'issued',
    validFrom: template.validFrom,
    expiresAt: c.expiresAt,
    issuedAt: now,
    redeemedAt: null,
    purchaseId: null,
    discountFen: null,
  };
}

/** The code's unique index refused a coupon: another coupon drew the same 75 random bits. */
function isCodeCollision(error: unknown): boolean {
  const e = error as { code?: string; constraint?: string };
  return e?.code === '23505' && e.constraint === 'coupons_code_key';
}

/**
 * Issues one coupon of the template to each member, all or none: refused whole when the template
 * issues nothing now (409 `coupon_template_unavailable`), its stock cannot cover every member
 * (409 `out_of_stock`), or a member would pass the per-member limit (409 `limit_reached`). A
 * repeat with the same reference answers the coupons issued first (and issues only to members it
 * did not name before). Stock and limits are conditional updates: never oversold under
 * concurrency. Audited when an actor issues (the worker's issues are traced by their reference).
 */
export async function issueCoupons(
  deps: Deps,
  programId: string,
  templateId: string,
  input: { memberIds: string[]; reference: string },
  actor: Principal | null,
): Promise<IssueResult> {
  const template = await findOwnTemplate(deps, programId, templateId);
  const memberIds = [...new Set(input.memberIds)];
  const enrolled = await enrollmentTimes(deps, programId, memberIds);
  const stranger = memberIds.find((m) => !enrolled.has(m));
  if (stranger !== undefined) throw notFound(`Member ${stranger}`);
  const { reference } = input;
  const before = await repo.couponsByReference(deps.db, templateId, reference, memberIds);
  if (before.length === memberIds.length) return { coupons: before, replayed: true };
  const now = deps.clock.now();
  const closed = issuingClosed(template, now);
  if (closed) throw unavailable(template, closed);
  for (let attempt = 0; ; attempt++) {
    try {
      return await inTransaction(deps.db, async (trx) => {
        const expiresAt = couponExpiry(template, now);
        const fresh = memberIds.map((memberId) =>
          newCoupon(deps, template, { memberId, reference, expiresAt }, now),
        );
        // Coupons first: a concurrent repeat of this reference waits here and then skips, so it
        // counts nothing. The template's row, which every issue queues on, is taken last.
        const inserted = await repo.insertCoupons(trx, fresh);
        const issuedTo = inserted.map((c) => c.memberId);
        const over = await repo.countMembers(trx, templateId, issuedTo, template.perMemberLimit);
        if (over.length > 0) {
          throw new DomainError(
            'limit_reached',
            `Member ${over[0]} holds ${template.perMemberLimit} coupon(s) of template ${templateId}, its limit`,
            { templateId, perMemberLimit: template.perMemberLimit, memberIds: over },
          );
        }
        if (inserted.length > 0 && !(await repo.takeStock(trx, templateId, inserted.length))) {
          const current = (await repo.findTemplate(trx, templateId)) ?? template;
          const why = issuingClosed(current, now);
          if (why) throw unavailable(current, why);
          throw new DomainError(
            'out_of_stock',
            `Coupon template ${templateId} has ${(current.stock ?? 0) - current.issued} left, fewer than ${inserted.length}`,
            { templateId, left: (current.stock ?? 0) - current.issued },
          );
        }
        if (inserted.length > 0) {
          await recordAudit(
            { ...deps, db: trx },
            {
              actor,
              action: 'coupon.issued',
              programId,
              memberId: issuedTo.length === 1 ? issuedTo[0] : null,
              after: { templateId, reference, count: inserted.length, memberIds: issuedTo },
            },
          );
        }
        const all = await repo.couponsByReference(trx, templateId, reference, memberIds);
        return { coupons: all, replayed: inserted.length === 0 };
      });
    } catch (error) {
      if (attempt < 3 && isCodeCollision(error)) continue;
      throw error;
    }
  }
}

const unavailable = (t: CouponTemplate, why: string) =>
  new DomainError('coupon_template_unavailable', `Coupon template ${t.id} ${why}`, {
    templateId: t.id,
  });

/** The program's coupon templates among `ids` (all of them when `ids` is absent). */
export const templateIdsOf = (deps: Pick<Deps, 'db'>, programId: string, ids?: string[]) =>
  repo.templateIds(deps.db, programId, ids);

/** A member's coupons in the program, newest first (404 for a member not enrolled there). */
export async function couponsOf(
  deps: Deps,
  programId: string,
  memberId: string,
  before: string | undefined,
  limit: number,
): Promise<Coupon[]> {
  await assertEnrolled(deps, programId, memberId);
  return repo.couponsOf(deps.db, programId, memberId, before, limit);
}

// --- at the till ---

interface Found {
  coupon: Coupon;
  template: CouponTemplate;
}

/** The program's coupon with this code; a malformed, unknown or other program's code is 404. */
async function findCoupon(deps: Pick<Deps, 'db'>, programId: string, input: string) {
  const code = normalizeCouponCode(input);
  const found = code ? await tillLookup(deps.db, code) : undefined;
  if (!found || found.coupon.programId !== programId) throw notFound('Coupon');
  return found;
}

/** Most codes one statement of the till's looks up. */
const TILL_BATCH_MAX = 256;
const tillBatches = new WeakMap<
  Db,
  { codes: Set<string>; read: Promise<Map<string, repo.TillCoupon>> }
>();

/**
 * A code and its template, read with the other codes asked for in the same turn of the event
 * loop in one statement. At 64 callers a round trip to PostgreSQL was most of a validation's
 * cost, and many validations reach this point in the same turn: one statement answers them all,
 * read after every one of them arrived. Inside a transaction (a redemption with an
 * Idempotency-Key) a code is read on its own, in that transaction.
 */
function tillLookup(db: Db, code: string): Promise<repo.TillCoupon | undefined> {
  if (db.isTransaction) return repo.findByCodesWithTemplate(db, [code]).then((m) => m.get(code));
  let batch = tillBatches.get(db);
  if (!batch || batch.codes.size >= TILL_BATCH_MAX) {
    const codes = new Set<string>();
    const read = new Promise((resolve) => setImmediate(resolve)).then(() => {
      if (tillBatches.get(db)?.codes === codes) tillBatches.delete(db);
      return repo.findByCodesWithTemplate(db, [...codes]);
    });
    batch = { codes, read };
    tillBatches.set(db, batch);
  }
  batch.codes.add(code);
  return batch.read.then((found) => found.get(code));
}

async function verdictOf(
  deps: Deps,
  { coupon, template }: Found,
  purchase: Purchase,
  memberId: string | undefined,
): Promise<Verdict> {
  // The tier is read only when a condition needs it: most coupons validate with no extra query.
  const tier = template.conditions.tiers?.length
    ? (await tierOf(deps, coupon.programId, coupon.memberId)).tier.code
    : undefined;
  return judge(template, coupon, purchase, deps.clock.now(), memberId, tier);
}

export interface Validation {
  valid: boolean;
  discount: number;
  reason?: string | undefined;
  coupon: Coupon;
  template: CouponTemplate;
}

/** Whether a code applies to a purchase now and what it takes off; writes nothing. */
export async function validateCoupon(
  deps: Deps,
  programId: string,
  input: { code: string; memberId?: string | undefined; purchase: Purchase },
): Promise<Validation> {
  const found = await findCoupon(deps, programId, input.code);
  const v = await verdictOf(deps, found, input.purchase, input.memberId);
  return v.valid
    ? { valid: true, discount: v.discount, ...found }
    : { valid: false, discount: 0, reason: v.reason, ...found };
}

export interface Redemption {
  coupon: Coupon;
  template: CouponTemplate;
  /** The coupon was redeemed before, on the same purchase. */
  replayed: boolean;
}

function refusal(coupon: Coupon, v: Exclude<Verdict, { valid: true }>): DomainError {
  if (v.reason === 'redeemed') {
    return new DomainError(
      'coupon_already_redeemed',
      `Coupon was redeemed at ${coupon.redeemedAt?.toISOString()}`,
      { redeemedAt: coupon.redeemedAt?.toISOString() },
    );
  }
  if (v.reason === 'expired') {
    return new DomainError(
      'coupon_expired',
      `Coupon expired at ${coupon.expiresAt?.toISOString()}`,
      {
        expiresAt: coupon.expiresAt?.toISOString(),
      },
    );
  }
  return new DomainError('coupon_not_applicable', `Coupon does not apply: ${v.reason}`, {
    reason: v.reason,
  });
}

/**
 * Redeems (核销) a code on a purchase, once: one conditional update, so of any number of
 * concurrent attempts exactly one succeeds. A repeat for the same purchase answers the first
 * redemption; otherwise 409 `coupon_already_redeemed`, `coupon_expired` or
 * `coupon_not_applicable` (with the reason).
 */
export async function redeemCoupon(
  deps: Deps,
  programId: string,
  input: { code: string; purchaseId: string; memberId?: string | undefined; purchase: Purchase },
): Promise<Redemption> {
  const found = await findCoupon(deps, programId, input.code);
  const { coupon, template } = found;
  if (coupon.status === 'redeemed' && coupon.purchaseId === input.purchaseId) {
    return { coupon, template, replayed: true };
  }
  const v = await verdictOf(deps, found, input.purchase, input.memberId);
  if (!v.valid) throw refusal(coupon, v);
  const now = deps.clock.now();
  const done = await repo.redeem(deps.db, coupon.id, input.purchaseId, v.discount, now);
  if (done) return { coupon: done, template, replayed: false };
  // Another redemption committed first (or the coupon expired meanwhile).
  const again = (await repo.findByCode(deps.db, coupon.code)) ?? coupon;
  if (again.status === 'redeemed' && again.purchaseId === input.purchaseId) {
    return { coupon: again, template, replayed: true };
  }
  throw refusal(again, {
    valid: false,
    reason: again.status === 'redeemed' ? 'redeemed' : 'expired',
  });
}

/**
 * A return hook: puts back the coupons redeemed on a purchase returned whole — usable again while
 * still valid. A partial return keeps them used (the purchase they discounted still stands). Safe
 * to call any number of times (a return replayed calls it again).
 */
export async function rollbackForPurchase(
  deps: Pick<Deps, 'db'>,
  programId: string,
  purchaseId: string,
  returned: { whole: boolean },
): Promise<Coupon[]> {
  return returned.whole ? repo.unredeem(deps.db, programId, purchaseId) : [];
}

// --- issuing on events ---

/**
 * An enroll hook (wired in deps.ts), in the enrollment's transaction: tells the outbox of a first
 * enrollment, so the worker issues coupons for it exactly once. Only while the program has a
 * template issued on enrollment: other programs' enrollments pay for no event.
 */
export async function couponsOnEnroll(
  deps: Pick<Deps, 'ids' | 'clock'> & { db: Trx },
  programId: string,
  memberId: string,
): Promise<void> {
  if (!(await repo.issuesOnEnrollment(deps.db, programId))) return;
  await appendEvents(deps, deps.db, [
    {
      type: 'member.enrolled',
      programId,
      memberId,
      occurredAt: deps.clock.now(),
      data: {},
    },
  ]);
}

/** Whether the event issues a coupon of the template (to the member the event names). */
function issuesOn(t: CouponTemplate, e: DomainEvent): boolean {
  if (e.memberId === null || e.occurredAt < t.createdAt) return false;
  if (t.issueOn === 'enrollment') return e.type === 'member.enrolled';
  if (t.issueOn === 'tier_upgrade') {
    return e.type === 'tier.upgraded' && (t.issueOnTier === null || e.data.to === t.issueOnTier);
  }
  if (t.issueOn === 'birthday') return e.type === 'member.birthday';
  return false;
}

/**
 * What a coupon issued on an event is issued under: the event (`event:<id>`), or for a birthday
 * the year (`birthday:<year>`), so that a member gets a birthday template once a year whatever
 * announced it.
 */
function issueReference(e: DomainEvent): string {
  return e.type === 'member.birthday'
    ? `birthday:${String(e.data.day).slice(0, 4)}`
    : `event:${e.id}`;
}

/**
 * The daily birthday job: once per program and local day, a `member.birthday` event for each of
 * the program's members born on that day — only in programs with an active template issued on
 * birthdays. The issuing worker then gives each such template once a year per member. Returns
 * how many events it wrote.
 */
export async function announceBirthdays(deps: Deps): Promise<number> {
  let total = 0;
  for (const programId of await repo.programsIssuingOn(deps.db, 'birthday')) {
    const { day } = await programDay(deps, programId);
    const wrote = await onceADay(deps, 'birthdays', programId, day, async (trx) => {
      const members = await membersBornOn({ db: trx }, programId, day);
      const occurredAt = deps.clock.now();
      await appendEvents(
        deps,
        trx,
        members.map((memberId) => ({
          type: 'member.birthday' as const,
          programId,
          memberId,
          occurredAt,
          data: { day },
        })),
      );
      return members.length;
    });
    total += wrote ?? 0;
  }
  return total;
}

/** Refusals that end an event's issue for good: the event is done, with nothing issued. */
const REFUSALS = new Set([
  'out_of_stock',
  'limit_reached',
  'coupon_template_unavailable',
  'not_found',
]);

export interface IssuingReport {
  events: number;
  issued: number;
  skipped: number;
}

const PAGE = 500;

/**
 * The issuing worker: reads each program's outbox after its cursor and issues the coupons its
 * templates give on enrollment and tier upgrade, moving the cursor past what is done. Exactly
 * once per (template, event): the coupon's reference is `event:<event id>`, unique per template
 * and member, so a run that stopped before moving its cursor (or one running at the same time)
 * finds the coupon issued and issues nothing more. A refusal (stock gone, the member's limit)
 * skips the event; any other failure stops the program's cursor before it, to be tried again.
 */
export async function runCouponIssuing(deps: Deps): Promise<IssuingReport> {
  const report: IssuingReport = { events: 0, issued: 0, skipped: 0 };
  for (const cursor of await cursors(deps.db, 'coupon_cursors')) {
    let after = cursor.last;
    for (;;) {
      const events = await listEvents(deps.db, cursor.programId, { after }, PAGE);
      if (events.length === 0) break;
      const templates = await repo.templatesIssuedOn(deps.db, cursor.programId);
      const buyers = [
        ...new Set(
          events.flatMap((e) =>
            e.type === 'purchase.recorded' && e.memberId !== null ? [e.memberId] : [],
          ),
        ),
      ];
      const referrals = new Map(
        (await repo.pendingReferrals(deps.db, cursor.programId, buyers)).map((r) => [
          r.refereeId,
          r,
        ]),
      );
      let done = after;
      let failed: unknown;
      for (const event of events) {
        report.events++;
        try {
          for (const t of templates) {
            if (!issuesOn(t, event)) continue;
            try {
              const r = await issueCoupons(
                deps,
                cursor.programId,
                t.id,
                { memberIds: [event.memberId as string], reference: issueReference(event) },
                null,
              );
              if (!r.replayed) report.issued++;
            } catch (error) {
              if (!(error instanceof DomainError && REFUSALS.has(error.code))) throw error;
              report.skipped++;
            }
          }
          const referral = event.memberId !== null && referrals.get(event.memberId);
          if (event.type === 'purchase.recorded' && referral) {
            const outcome = await rewardReferrer(deps, referral);
            if (outcome === 'rewarded') report.issued++;
            else report.skipped++;
            referrals.delete(referral.refereeId);
          }
        } catch (error) {
          failed = error;
          break;
        }
        done = event.sequence;
      }
      if (done > after)
        await advanceCursor(deps.db, 'coupon_cursors', cursor.programId, done, deps.clock.now());
      if (failed !== undefined) throw failed;
      after = done;
      if (events.length < PAGE) break;
    }
  }
  return report;
}

// --- referral (老带新) ---

export interface ReferralProgram {
  refereeTemplateId: string;
  referrerTemplateId: string;
}

/**
 * Sets the program's referral: the template a new member referred by a share code earns at once,
 * and the one their referrer earns on the new member's first purchase (program admin; audited).
 */
export async function setReferralProgram(
  deps: Deps,
  programId: string,
  input: ReferralProgram,
  actor: Principal | null,
): Promise<repo.ReferralSettings> {
  for (const [path, id] of [
    ['refereeTemplateId', input.refereeTemplateId],
    ['referrerTemplateId', input.referrerTemplateId],
  ] as const) {
    const t = await repo.findTemplate(deps.db, id);
    if (!t || t.programId !== programId) throw invalidField(path, `no coupon template ${id} here`);
  }
  const now = deps.clock.now();
  const settings: repo.ReferralSettings = { programId, ...input, updatedAt: now };
  return inTransaction(deps.db, async (trx) => {
    const before = await repo.findReferralSettings(trx, programId);
    await repo.upsertReferralSettings(trx, settings);
    // The worker reads purchases from here on, to reward referrers.
    await startCursor(trx, 'coupon_cursors', programId, await lastSequence(trx, programId), now);
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'coupon.referral_set', programId, before: before ?? null, after: settings },
    );
    return settings;
  });
}

/** The program's referral settings (404 when it has none). */
export async function getReferralProgram(
  deps: Pick<Deps, 'db'>,
  programId: string,
): Promise<repo.ReferralSettings> {
  const s = await repo.findReferralSettings(deps.db, programId);
  if (!s) throw notFound(`Referral of program ${programId}`);
  return s;
}

/** The member's share code in the program (made on first asking; the same code after). */
export async function shareCode(deps: Deps, programId: string, memberId: string): Promise<string> {
  await assertEnrolled(deps, programId, memberId);
  for (let attempt = 0; ; attempt++) {
    try {
      const code = couponCode(randomBytes(COUPON_CODE_BYTES));
      return await repo.shareCodeOf(deps.db, programId, memberId, code, deps.clock.now());
    } catch (error) {
      const e = error as { code?: string };
      if (attempt < 3 && e?.code === '23505') continue;
      throw error;
    }
  }
}

export interface ReferralResult {
  referrerId: string;
  coupons: Coupon[];
  replayed: boolean;
}

const notReferable = (detail: string) => new DomainError('not_eligible', detail);

/**
 * A new member enrolled with a share code: records who referred them and issues them the
 * referee's coupon, in one transaction. Refused (409 `not_eligible`) when the program has no
 * referral, the code is the member's own, the member was referred by someone else, or the member
 * has already bought (not new); an unknown code or another program's is 404. A repeat with the
 * same code answers the first. The referrer's coupon comes on the member's first purchase.
 */
export async function referMember(
  deps: Deps,
  programId: string,
  refereeId: string,
  input: { code: string },
): Promise<ReferralResult> {
  // The member first: another program's member is not found, whatever this program's settings.
  await assertEnrolled(deps, programId, refereeId);
  const settings = await repo.findReferralSettings(deps.db, programId);
  if (!settings) throw notReferable(`Program ${programId} has no referral`);
  const code = normalizeCouponCode(input.code);
  const owner = code ? await repo.findShareCode(deps.db, code) : undefined;
  if (!owner || owner.programId !== programId) throw notFound('Share code');
  const referrerId = owner.memberId;
  if (referrerId === refereeId) throw notReferable('A member cannot refer themself');
  const reference = `referral:${refereeId}`;
  const replay = async (): Promise<ReferralResult | undefined> => {
    const first = await repo.findReferral(deps.db, programId, refereeId);
    if (!first) return undefined;
    if (first.referrerId !== referrerId) {
      throw notReferable(`Member ${refereeId} was referred by another member`);
    }
    const coupons = await repo.couponsByReference(deps.db, settings.refereeTemplateId, reference, [
      refereeId,
    ]);
    return { referrerId, coupons, replayed: true };
  };
  const before = await replay();
  if (before) return before;
  // Through the purchases service (an index on the member), not a scan of the outbox.
  const bought = await memberPurchases(deps, programId, [refereeId], undefined, 1);
  if (bought.length > 0) throw notReferable(`Member ${refereeId} has bought before: not new`);
  const result = await inTransaction(deps.db, async (trx) => {
    const inserted = await repo.insertReferral(trx, {
      programId,
      refereeId,
      referrerId,
      createdAt: deps.clock.now(),
    });
    if (!inserted) return undefined;
    const r = await issueCoupons(
      { ...deps, db: trx },
      programId,
      settings.refereeTemplateId,
      { memberIds: [refereeId], reference },
      null,
    );
    return { referrerId, coupons: r.coupons, replayed: false };
  });
  // A concurrent referral of the same member committed first.
  return result ?? ((await replay()) as ReferralResult);
}

/**
 * Enroll hook: a first enrollment with a share code (`referralCode`) is referred by its owner, in
 * the enrollment's transaction — the referral recorded and the referee's coupon issued. A code
 * that is not a share code of the program (or a program without referral) is 400 and enrolls no
 * one; a coupon the template cannot give (stock gone) leaves the referral standing without it.
 */
export async function referralOnEnroll(
  deps: Deps & { db: Trx },
  programId: string,
  memberId: string,
  enrollment: { referralCode?: string | undefined },
): Promise<void> {
  if (enrollment.referralCode === undefined) return;
  const settings = await repo.findReferralSettings(deps.db, programId);
  if (!settings) throw invalidField('referralCode', `program ${programId} has no referral`);
  const code = normalizeCouponCode(enrollment.referralCode);
  const owner = code ? await repo.findShareCode(deps.db, code) : undefined;
  if (!owner || owner.programId !== programId) {
    throw invalidField('referralCode', 'not a share code of this program');
  }
  await repo.insertReferral(deps.db, {
    programId,
    refereeId: memberId,
    referrerId: owner.memberId,
    createdAt: deps.clock.now(),
  });
  await sql`savepoint referral_coupon`.execute(deps.db);
  try {
    await issueCoupons(
      deps,
      programId,
      settings.refereeTemplateId,
      { memberIds: [memberId], reference: `referral:${memberId}` },
      null,
    );
    await sql`release savepoint referral_coupon`.execute(deps.db);
  } catch (error) {
    if (!(error instanceof DomainError && REFUSALS.has(error.code))) throw error;
    await sql`rollback to savepoint referral_coupon`.execute(deps.db);
  }
}

/** Issues the referrer's coupon for a referral whose new member has bought, once. */
async function rewardReferrer(deps: Deps, r: repo.Referral): Promise<'rewarded' | 'refused'> {
  const settings = await repo.findReferralSettings(deps.db, r.programId);
  let outcome: 'rewarded' | 'refused' = 'refused';
  if (settings) {
    try {
      await issueCoupons(
        deps,
        r.programId,
        settings.referrerTemplateId,
        { memberIds: [r.referrerId], reference: `referral:${r.refereeId}` },
        null,
      );
      outcome = 'rewarded';
    } catch (error) {
      if (!(error instanceof DomainError && REFUSALS.has(error.code))) throw error;
    }
  }
  await repo.settleReferral(deps.db, r.programId, r.refereeId, outcome, deps.clock.now());
  return outcome;
}

// --- coupons bought in the rewards mall (src/orders), in the order's transactions ---

/**
 * Reserves `n` coupons of a template for a mall order being placed: the template's stock and the
 * member's limit count them (issued + reserved never pass either), so that confirming the order
 * can always issue them. Refused with the order's codes: `out_of_stock`, `limit_reached`,
 * `reward_unavailable` (the template is paused or closed).
 */
export async function reserveCouponsForOrder(
  trx: Trx,
  templateId: string,
  memberId: string,
  n: number,
  now: Date,
): Promise<void> {
  // Read unlocked: its limit and window. Stock and counts are taken by conditional updates.
  const template = await repo.findTemplate(trx, templateId);
  const closed = template ? issuingClosed(template, now) : 'does not exist';
  if (!template || closed) {
    throw new DomainError('reward_unavailable', `Coupon template ${templateId} ${closed}`, {
      templateId,
    });
  }
  const r = await repo.reserveForOrder(trx, templateId, memberId, n, template.perMemberLimit);
  if (r === 'short') {
    throw new DomainError(
      'out_of_stock',
      `Coupon template ${templateId} has fewer than ${n} coupons left`,
      { templateId },
    );
  }
  if (r === 'limit') {
    throw new DomainError(
      'limit_reached',
      `Member ${memberId} would hold more coupons of template ${templateId} than its limit`,
      { templateId },
    );
  }
  if (r === 'unavailable') {
    throw new DomainError(
      'reward_unavailable',
      `Coupon template ${templateId} issues nothing now`,
      { templateId },
    );
  }
}

/** Gives back coupons reserved for an order that was cancelled or expired before confirmation. */
export const releaseCouponsForOrder = (trx: Trx, templateId: string, memberId: string, n: number) =>
  repo.endReservation(trx, templateId, memberId, n, false);

/**
 * Issues the `n` coupons reserved for a confirmed order, with references `<reference>:1…n`, in
 * the confirmation's transaction. Their codes are drawn like any coupon's (75 random bits).
 */
export async function issueCouponsForOrder(
  deps: Pick<Deps, 'ids'>,
  trx: Trx,
  o: { programId: string; templateId: string; memberId: string; n: number; reference: string },
  now: Date,
): Promise<Coupon[]> {
  const template = await repo.findTemplate(trx, o.templateId);
  if (!template) throw new Error(`coupon template ${o.templateId} is gone`);
  const expiresAt = couponExpiry(template, now);
  const inserted = await repo.insertCoupons(
    trx,
    Array.from({ length: o.n }, (_, k) =>
      newCoupon(
        deps,
        template,
        { memberId: o.memberId, reference: `${o.reference}:${k + 1}`, expiresAt },
        now,
      ),
    ),
  );
  await repo.endReservation(trx, o.templateId, o.memberId, inserted.length, true);
  if (inserted.length !== o.n) {
    // The order moved to confirmed once (a conditional update): its coupons cannot exist yet.
    throw new Error(`order ${o.reference} had coupons issued already`);
  }
  return inserted;
}

/** The coupons a mall order issued, locked in the caller's transaction (a refund's). */
export const lockCouponsOfOrder = (
  trx: Trx,
  programId: string,
  memberId: string,
  reference: string,
) => repo.couponsByReferencePrefix(trx, programId, memberId, `${reference}:`, true);

/**
 * Withdraws a refunded order's coupons: those not redeemed expire as of their issue, so that no
 * redemption passes them whatever time it read (they stay counted as issued). A redeemed one
 * stays redeemed: the refund locked them first (`lockCouponsOfOrder`) and was refused if it saw one.
 */
export async function withdrawCouponsOfOrder(
  trx: Trx,
  programId: string,
  memberId: string,
  reference: string,
): Promise<void> {
  const coupons = await repo.couponsByReferencePrefix(trx, programId, memberId, `${reference}:`);
  await repo.withdraw(
    trx,
    coupons.map((c) => c.id),
  );
}

/** A merge's hook: the duplicate's coupons, counts, referrals and share codes become the survivor's. */
export async function mergeCoupons(deps: Deps & { db: Trx }, fromId: string, intoId: string) {
  await repo.moveToMember(deps.db, fromId, intoId);
}
