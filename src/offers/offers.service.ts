import { recordAudit } from '../audit/audit.service.ts';
import { inTransaction, type Trx } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import { advanceCursor, cursors, startCursor } from '../events/events.cursors.ts';
import { lastSequence, listEvents } from '../events/events.service.ts';
import { pointValueOf, valueFen } from '../exchange/exchange.service.ts';
import type { Principal } from '../keys/keys.core.ts';
import { attachment, type BatchWriter } from '../ledger/ledger.batch.ts';
import { pointsLedger } from '../ledger/ledger.core.ts';
import { credit } from '../ledger/ledger.service.ts';
import { standingProblem } from '../members/members.core.ts';
import { enroll, getGlobalMember } from '../members/members.service.ts';
import { lockStandings } from '../members/members.standing.ts';
import { claimBenefit, findBenefit } from '../pool/pool.service.ts';
import { getProgram } from '../programs/programs.service.ts';
import { recordSettlement } from '../settlement/settlement.service.ts';
import { DomainError, invalidField, notFound } from '../shared/errors.ts';
import { rankOf } from '../tiers/tiers.core.ts';
import { getLadder, overrideTier, tierCodesOf } from '../tiers/tiers.service.ts';
import {
  chargeOf,
  fires,
  type Grant,
  type Offer,
  type PurchaseFact,
  purchaseOf,
  type Reward,
  rewardKey,
  tierUntil,
} from './offers.core.ts';
import * as repo from './offers.repository.ts';

// Cross-brand offers: spend at least ¥89 at brand A, get a month's membership of brand B. A worker
// reads A's `purchase.recorded` events after a stored cursor and, for each offer the purchase
// matches, gives B's reward exactly once: every (offer, purchase) has one grant row, inserted
// first, so a second run — after a crash, or at the same time — finds it and gives nothing more.
// - points at B: the grant is reserved (stock and the member's count taken) and committed, then
//   credited by the ledger with command id `offer:<offer>:<purchase>`; the grant is finished and
//   its settlement line written in the credit's batch, attached to the command. A run that died in
//   between leaves the grant reserved: the next run credits it (the command id makes that once).
// - a tier at B, or a pool benefit: everything in one transaction — reservation, the tier or the
//   claim, the grant, its settlement line — so a crash leaves nothing to finish.
// A member not enrolled at B is enrolled there (by their identifiers that every brand shares): a
// cross-brand offer is how B acquires members. One with no such identifier is skipped, with the
// reason recorded on the grant, as is every reward refused (out of stock, the member's limit, a
// member blocked at B, a tier they already hold or exceed).

export interface NewOffer {
  id?: string | undefined;
  name: string;
  minSpendFen: number;
  reward: Reward;
  stock: number;
  perMemberLimit?: number | undefined;
  startsAt: string;
  endsAt: string;
  costFen?: number | undefined;
}

export interface OfferPatch {
  name?: string | undefined;
  minSpendFen?: number | undefined;
  stock?: number | undefined;
  perMemberLimit?: number | undefined;
  startsAt?: string | undefined;
  endsAt?: string | undefined;
  costFen?: number | undefined;
  status?: Offer['status'] | undefined;
}

/** Where the reward is given, checked: B exists, its points are valued, its tier or benefit is. */
async function rewardProgram(deps: Deps, reward: Reward, costFen: number | undefined) {
  if (reward.kind === 'pool') {
    const benefit = await findBenefit(deps, reward.benefitId);
    if (!benefit) {
      throw invalidField('reward.benefitId', `there is no pool benefit ${reward.benefitId}`);
    }
    return benefit.programId;
  }
  await getProgram(deps, reward.programId).catch(() => {
    throw invalidField('reward.programId', `there is no program ${reward.programId}`);
  });
  if (reward.kind === 'points' && !(await pointValueOf(deps, reward.programId))) {
    throw invalidField(
      'reward.programId',
      `program ${reward.programId} has not joined the exchange: its points have no value to settle`,
    );
  }
  if (reward.kind === 'tier') {
    const ladder = await getLadder(deps, reward.programId);
    if (!ladder.tiers.some((t) => t.code === reward.tier)) {
      throw invalidField('reward.tier', `program ${reward.programId} has no tier ${reward.tier}`);
    }
    if (costFen === undefined) {
      throw invalidField('costFen', 'a tier reward needs what B charges A for it');
    }
  }
  return reward.programId;
}

function checkDates(startsAt: Date, endsAt: Date): void {
  if (endsAt <= startsAt) throw invalidField('endsAt', 'must be after startsAt');
}

/** Brand A's admin makes an offer; audited. Its program's purchases fire offers from now on. */
export async function createOffer(
  deps: Deps,
  programId: string,
  input: NewOffer,
  actor: Principal | null,
): Promise<Offer> {
  await getProgram(deps, programId);
  const rewardProgramId = await rewardProgram(deps, input.reward, input.costFen);
  const now = deps.clock.now();
  const offer: Offer = {
    id: input.id ?? deps.ids('ofr'),
    programId,
    name: input.name,
    minSpendFen: input.minSpendFen,
    reward: input.reward,
    rewardProgramId,
    stock: input.stock,
    granted: 0,
    perMemberLimit: input.perMemberLimit ?? 1,
    startsAt: new Date(input.startsAt),
    endsAt: new Date(input.endsAt),
    costFen: input.costFen ?? null,
    status: 'active',
    createdAt: now,
    updatedAt: now,
  };
  checkDates(offer.startsAt, offer.endsAt);
  return inTransaction(deps.db, async (trx) => {
    if (!(await repo.insertOffer(trx, offer))) {
      throw new DomainError('offer_exists', `An offer with id ${offer.id} already exists`, {
        offerId: offer.id,
      });
    }
    // The worker reads the program's purchases from here on: not its history before any offer.
    await startCursor(trx, 'offer_cursors', programId, await lastSequence(trx, programId), now);
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'offer.created', programId, after: offer },
    );
    return offer;
  });
}

export async function getOffer(
  deps: Pick<Deps, 'db'>,
  programId: string,
  offerId: string,
): Promise<Offer> {
  const o = await repo.findOffer(deps.db, offerId);
  if (!o || o.programId !== programId) throw notFound(`Offer ${offerId}`);
  return o;
}

export function listOffers(
  deps: Pick<Deps, 'db'>,
  programId: string,
  after: string | undefined,
  limit: number,
): Promise<Offer[]> {
  return repo.listOffers(deps.db, programId, after, limit);
}

/** Changes an offer (its reward stays what it was); audited. Stock never below what was granted. */
export async function updateOffer(
  deps: Deps,
  programId: string,
  offerId: string,
  patch: OfferPatch,
  actor: Principal | null,
): Promise<Offer> {
  return inTransaction(deps.db, async (trx) => {
    const before = await repo.lockOffer(trx, offerId);
    if (!before || before.programId !== programId) throw notFound(`Offer ${offerId}`);
    const changes: repo.OfferChanges = {
      ...patch,
      startsAt: patch.startsAt === undefined ? undefined : new Date(patch.startsAt),
      endsAt: patch.endsAt === undefined ? undefined : new Date(patch.endsAt),
    };
    checkDates(changes.startsAt ?? before.startsAt, changes.endsAt ?? before.endsAt);
    const after = await repo.updateOffer(trx, offerId, changes, deps.clock.now());
    if (!after) {
      throw new DomainError(
        'stock_below_claimed',
        `Offer ${offerId} has granted ${before.granted}: its stock cannot be less`,
        { granted: before.granted },
      );
    }
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'offer.changed', programId, before, after },
    );
    return after;
  });
}

/** An offer's grants: what each purchase got, or why it was skipped. */
export async function listGrants(
  deps: Pick<Deps, 'db'>,
  programId: string,
  offerId: string,
  after: string | undefined,
  limit: number,
): Promise<Grant[]> {
  await getOffer(deps, programId, offerId);
  return repo.listGrants(deps.db, offerId, after, limit);
}

// --- the worker ---

/** A reward that will not be given, and why (recorded on the grant). */
class Skip extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

const reasonOf = (error: unknown): string | undefined =>
  error instanceof Skip ? error.reason : error instanceof DomainError ? error.code : undefined;

/** Who the audit says changed B's tier: the offer, acting for B. */
const offerActor = (offer: Offer): Principal => ({
  keyId: `offer:${offer.id}`,
  programId: offer.rewardProgramId,
  role: 'admin',
});

/**
 * Takes the (offer, purchase)'s grant in the caller's transaction: inserts its row ('exists' when
 * another run made it), does `first` (the work that locks the member's rows: an enrollment, a
 * tier, a pool claim), then counts the grant against the member's limit and the stock — the
 * offer's rows after the member's, the order a ledger batch takes them in, and the row every
 * grant queues on held the shortest. A limit or a stock that refuses throws a Skip, which rolls
 * the whole attempt back.
 */
async function reserve<T>(
  deps: Deps & { db: Trx },
  offer: Offer,
  p: PurchaseFact,
  grantId: string,
  first: () => Promise<T>,
): Promise<{ done: T } | 'exists'> {
  const inserted = await repo.insertGrant(deps.db, {
    id: grantId,
    offerId: offer.id,
    purchaseId: p.purchaseId,
    memberId: p.memberId,
    status: 'reserved',
    reason: null,
    at: deps.clock.now(),
  });
  if (!inserted) return 'exists';
  const done = await first();
  if (!(await repo.countMemberGrant(deps.db, offer.id, p.memberId, offer.perMemberLimit))) {
    throw new Skip('member_limit');
  }
  if (!(await repo.takeStock(deps.db, offer.id))) throw new Skip('out_of_stock');
  return { done };
}

/** Records a grant skipped, in a transaction of its own (the attempt's rolled back). */
async function recordSkip(deps: Deps, offer: Offer, p: PurchaseFact, reason: string) {
  await repo.insertGrant(deps.db, {
    id: deps.ids('ogr'),
    offerId: offer.id,
    purchaseId: p.purchaseId,
    memberId: p.memberId,
    status: 'skipped',
    reason,
    at: deps.clock.now(),
  });
}

/** Enrolls the member at B if they are not, by their identifiers every brand shares. */
async function ensureEnrolled(deps: Deps, programId: string, memberId: string): Promise<void> {
  const { member, enrollments, identifiers } = await getGlobalMember(deps, memberId);
  if (enrollments.some((e) => e.programId === programId)) return;
  if (member.status !== 'active') throw new Skip(`member_${member.status}`);
  const shared = identifiers
    .filter((i) => i.scope === '')
    .map((i) => ({ type: i.type, value: i.value }));
  if (shared.length === 0) throw new Skip('not_enrolled');
  const view = await enroll(deps, programId, { identifiers: shared, channel: 'app' }, null);
  // The identifiers are the member's own, so this is the same member; if not, give nothing.
  if (view.member.id !== memberId) throw new Skip('not_enrolled');
}

/** The grant row's writer in the credit's batch: finished with its line, or skipped and released. */
interface PointsRow {
  grantId: string;
  offer: Offer;
  memberId: string;
  purchaseId: string;
  points: number;
  charge: Grant['charge'];
  at: Date;
}

const pointsWriter: BatchWriter<PointsRow> = {
  name: 'offer-grants',
  stage: 'rows',
  async write(trx, rows) {
    const finished = await repo.finishGrants(
      trx,
      rows.map(({ row, outcome }) =>
        outcome.status === 'applied'
          ? {
              id: row.grantId,
              status: 'granted' as const,
              reason: null,
              detail: { points: row.points, transferId: outcome.result.transferId ?? null },
              charge: row.charge,
              at: row.at,
            }
          : {
              id: row.grantId,
              status: 'skipped' as const,
              reason: outcome.code,
              detail: { detail: outcome.detail },
              charge: null,
              at: row.at,
            },
      ),
    );
    await repo.release(
      trx,
      finished.filter((g) => g.status === 'skipped'),
      true,
    );
    const byId = new Map(rows.map(({ row }) => [row.grantId, row]));
    await recordSettlement(
      trx,
      finished.flatMap((g) => {
        const row = byId.get(g.id);
        return g.status === 'granted' && g.charge && row
          ? [
              {
                kind: 'offer' as const,
                sourceId: g.id,
                debtor: g.charge.debtor,
                creditor: g.charge.creditor,
                points: g.charge.points,
                amountFen: g.charge.amountFen,
                memberId: g.memberId,
                at: row.at,
                detail: {
                  offerId: row.offer.id,
                  offer: row.offer.name,
                  purchaseId: row.purchaseId,
                  reward: 'points',
                },
              },
            ]
          : [];
      }),
    );
  },
};

/** Credits a reserved grant's points at B; the grant finishes in the credit's batch. */
async function givePoints(
  deps: Deps,
  offer: Offer,
  grant: Pick<Grant, 'id' | 'purchaseId' | 'memberId'>,
) {
  const reward = offer.reward as Extract<Reward, { kind: 'points' }>;
  const value = await pointValueOf(deps, reward.programId);
  const at = deps.clock.now();
  if (!value) {
    await inTransaction(deps.db, async (trx) => {
      const done = await repo.finishGrants(trx, [
        { id: grant.id, status: 'skipped', reason: 'no_point_value', detail: {}, charge: null, at },
      ]);
      await repo.release(trx, done, true);
    });
    return;
  }
  const row: PointsRow = {
    grantId: grant.id,
    offer,
    memberId: grant.memberId,
    purchaseId: grant.purchaseId,
    points: reward.points,
    charge: chargeOf(offer, reward.points, valueFen(reward.points, value.pointValueE4)),
    at,
  };
  const key = rewardKey(offer.id, grant.purchaseId);
  try {
    await credit(
      deps,
      {
        ledger: pointsLedger(reward.programId),
        memberId: grant.memberId,
        points: reward.points,
        code: 'earn',
        reference: key,
        commandId: key,
      },
      () => [attachment(pointsWriter, row)],
    );
  } catch (error) {
    // A refusal (the member blocked at B) finished the grant as skipped in its batch.
    if (!(error instanceof DomainError)) throw error;
  }
}

/** What a reward gave, for its grant, and what A owes for it. */
interface Given {
  detail: Record<string, unknown>;
  charge: Grant['charge'];
}

/** Gives a tier at B for the offer's days, in one transaction with the grant and its line. */
async function giveTier(deps: Deps & { db: Trx }, offer: Offer, p: PurchaseFact): Promise<Given> {
  const reward = offer.reward as Extract<Reward, { kind: 'tier' }>;
  const b = reward.programId;
  await ensureEnrolled(deps, b, p.memberId);
  const standing = (await lockStandings(deps.db, [p.memberId])).get(p.memberId);
  const problem = standingProblem(p.memberId, standing, b, 'benefit');
  if (problem) throw new Skip(problem.code);
  const ladder = await getLadder(deps, b);
  const held = (await tierCodesOf(deps, b, [p.memberId], ladder)).get(p.memberId) ?? '';
  if (rankOf(ladder, held) >= rankOf(ladder, reward.tier)) throw new Skip('already_at_tier');
  const at = deps.clock.now();
  const until = tierUntil(at, reward.days);
  await overrideTier(
    deps,
    b,
    p.memberId,
    {
      code: reward.tier,
      reason: `offer ${offer.id} for purchase ${p.purchaseId}`,
      validUntil: until,
    },
    offerActor(offer),
  );
  return {
    detail: { tier: reward.tier, from: held, until: until.toISOString() },
    charge: chargeOf(offer, null, offer.costFen ?? 0),
  };
}

/** Claims the pool benefit for the member, paid for by A, in one transaction with the grant. */
async function givePoolBenefit(
  deps: Deps & { db: Trx },
  offer: Offer,
  p: PurchaseFact,
): Promise<Given> {
  const reward = offer.reward as Extract<Reward, { kind: 'pool' }>;
  const { claim, benefit } = await claimBenefit(deps, p.memberId, reward.benefitId, {
    reference: rewardKey(offer.id, p.purchaseId),
    sponsorProgramId: offer.programId,
  });
  return {
    detail: { benefitId: benefit.id, claimId: claim.id },
    charge: chargeOf(offer, null, benefit.costFen),
  };
}

export type FireOutcome = 'granted' | 'skipped' | 'exists' | 'reserved';

/**
 * Gives the offer's reward for one purchase, at most once: whatever ran before for the
 * (offer, purchase) — a grant finished, skipped, or reserved and not yet credited — is found and
 * finished, never repeated.
 */
async function fire(deps: Deps, offer: Offer, p: PurchaseFact): Promise<FireOutcome> {
  const before = await repo.findGrant(deps.db, offer.id, p.purchaseId);
  if (before) {
    if (before.status !== 'reserved' || offer.reward.kind !== 'points') return 'exists';
    await givePoints(deps, offer, before);
    return 'granted';
  }
  const grantId = deps.ids('ogr');
  if (offer.reward.kind === 'points') {
    const reserved = await inTransaction(deps.db, async (trx) => {
      const tx = { ...deps, db: trx };
      // A refusal rolls the reservation back; it is recorded as skipped after.
      return reserve(tx, offer, p, grantId, () =>
        ensureEnrolled(tx, offer.rewardProgramId, p.memberId),
      );
    }).catch((error: unknown) => {
      const reason = reasonOf(error);
      if (reason === undefined) throw error;
      return new Skip(reason);
    });
    if (reserved === 'exists') return fire(deps, offer, p);
    if (reserved instanceof Skip) {
      await recordSkip(deps, offer, p, reserved.reason);
      return 'skipped';
    }
    await givePoints(deps, offer, { id: grantId, purchaseId: p.purchaseId, memberId: p.memberId });
    return 'granted';
  }
  try {
    return await inTransaction(deps.db, async (trx): Promise<FireOutcome> => {
      const tx = { ...deps, db: trx };
      const r = await reserve(tx, offer, p, grantId, () =>
        offer.reward.kind === 'tier' ? giveTier(tx, offer, p) : givePoolBenefit(tx, offer, p),
      );
      if (r === 'exists') return 'exists';
      const given = r.done;
      const at = deps.clock.now();
      await repo.finishGrants(trx, [
        { id: grantId, status: 'granted', reason: null, ...given, at },
      ]);
      if (given.charge) {
        await recordSettlement(trx, [
          {
            kind: 'offer',
            sourceId: grantId,
            debtor: given.charge.debtor,
            creditor: given.charge.creditor,
            points: null,
            amountFen: given.charge.amountFen,
            memberId: p.memberId,
            at,
            detail: {
              offerId: offer.id,
              offer: offer.name,
              purchaseId: p.purchaseId,
              reward: offer.reward.kind,
              ...given.detail,
            },
          },
        ]);
      }
      return 'granted';
    });
  } catch (error) {
    const reason = reasonOf(error);
    if (reason === undefined) throw error;
    await recordSkip(deps, offer, p, reason);
    return 'skipped';
  }
}

export interface OfferRunReport {
  /** Purchase events read. */
  events: number;
  granted: number;
  skipped: number;
  /** Grants a run before this one left reserved, finished now. */
  resumed: number;
}

/** Events read per program per step, and purchases worked on at once. */
const PAGE = 200;
const AT_ONCE = 16;

/**
 * Runs the offers worker once: finishes grants an earlier run left reserved, then reads each
 * purchasing program's purchase events after its cursor and fires its offers, moving the cursor
 * past what is done. Safe to run again, or at the same time as another run: each (offer,
 * purchase) is given at most once. A purchase whose reward failed for a reason that is not a
 * refusal (the database went away) stops the program's cursor before it, to be tried again.
 */
export async function runOffers(deps: Deps): Promise<OfferRunReport> {
  const report: OfferRunReport = { events: 0, granted: 0, skipped: 0, resumed: 0 };
  for (const grant of await repo.reservedGrants(deps.db, PAGE)) {
    const offer = await repo.findOffer(deps.db, grant.offerId);
    if (offer?.reward.kind !== 'points') continue;
    await givePoints(deps, offer, grant);
    report.resumed++;
  }
  for (const cursor of await cursors(deps.db, 'offer_cursors')) {
    let after = cursor.last;
    for (;;) {
      const events = await listEvents(
        deps.db,
        cursor.programId,
        { type: 'purchase.recorded', after },
        PAGE,
      );
      if (events.length === 0) break;
      const offers = await repo.offersOf(deps.db, cursor.programId);
      report.events += events.length;
      let failed: unknown;
      let done = after;
      for (let i = 0; i < events.length && failed === undefined; i += AT_ONCE) {
        const chunk = events.slice(i, i + AT_ONCE);
        const results = await Promise.allSettled(
          chunk.map(async (event) => {
            const p = purchaseOf(event);
            if (!p) return [];
            const out: FireOutcome[] = [];
            for (const offer of offers) if (fires(offer, p)) out.push(await fire(deps, offer, p));
            return out;
          }),
        );
        for (const [k, r] of results.entries()) {
          if (r.status === 'rejected') {
            failed = r.reason;
            break;
          }
          for (const o of r.value) {
            if (o === 'granted') report.granted++;
            if (o === 'skipped') report.skipped++;
          }
          done = (chunk[k] as { sequence: number }).sequence;
        }
      }
      if (done > after)
        await advanceCursor(deps.db, 'offer_cursors', cursor.programId, done, deps.clock.now());
      if (failed !== undefined) throw failed;
      after = done;
      if (events.length < PAGE) break;
    }
  }
  return report;
}

/** A merge's hook: the duplicate's offer grants and counts become the survivor's. */
export async function mergeOfferGrants(deps: Deps & { db: Trx }, fromId: string, intoId: string) {
  await repo.moveToMember(deps.db, fromId, intoId);
}
