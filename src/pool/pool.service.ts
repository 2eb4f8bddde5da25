import { randomBytes } from 'node:crypto';
import { recordAudit } from '../audit/audit.service.ts';
import { effectiveLevel, listLevels } from '../coalition/coalition.service.ts';
import { inTransaction, type Trx } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import type { Principal } from '../keys/keys.core.ts';
import { standingProblem } from '../members/members.core.ts';
import { getGlobalMember } from '../members/members.service.ts';
import { lockStandings } from '../members/members.standing.ts';
import { getProgram } from '../programs/programs.service.ts';
import { recordSettlement } from '../settlement/settlement.service.ts';
import { DomainError, invalidField, notFound } from '../shared/errors.ts';
import { rankOf } from '../tiers/tiers.core.ts';
import { getLadder, tierCodesOf } from '../tiers/tiers.service.ts';
import {
  type BenefitKind,
  type ChargeTo,
  CODE_RANDOM_BYTES,
  chargeForUse,
  codeExpiry,
  type Eligibility,
  type MemberFacts,
  makeCode,
  meets,
  normalizeCode,
  type PoolBenefit,
  type PoolClaim,
  unavailability,
} from './pool.core.ts';
import * as repo from './pool.repository.ts';

// The coalition's shared benefits pool (权益池). A brand contributes a benefit with stock and a
// rule for who may claim it; a member claims a single-use code; the brand's staff redeem it, and
// the use is settled (charged to the contributor, or to the member's home brand). Stock and
// per-member limits are conditional updates in the claim's transaction: never oversold.

export interface NewBenefit {
  id?: string | undefined;
  name: string;
  kind: BenefitKind;
  stock: number;
  validFrom?: string | undefined;
  validUntil?: string | undefined;
  costFen: number;
  perMemberLimit?: number | undefined;
  eligibility: Eligibility;
  chargeTo?: ChargeTo | undefined;
  codeValidDays?: number | undefined;
}

export interface BenefitPatch {
  name?: string | undefined;
  stock?: number | undefined;
  validFrom?: string | null | undefined;
  validUntil?: string | null | undefined;
  perMemberLimit?: number | undefined;
  codeValidDays?: number | null | undefined;
  status?: PoolBenefit['status'] | undefined;
}

const dateOrNull = (v: string | null | undefined) =>
  v === undefined ? undefined : v === null ? null : new Date(v);

function checkValidity(from: Date | null, until: Date | null): void {
  if (from && until && until <= from) throw invalidField('validUntil', 'must be after validFrom');
}

/** The coalition levels' ranks by code. */
async function levelRanks(deps: Deps): Promise<Map<string, number>> {
  return new Map((await listLevels(deps)).map((l) => [l.code, l.rank]));
}

/** Refuses an eligibility rule naming a level or a tier that does not exist. */
async function checkEligibility(deps: Deps, rule: Eligibility): Promise<void> {
  if ('coalitionLevelAtLeast' in rule) {
    if (!(await levelRanks(deps)).has(rule.coalitionLevelAtLeast)) {
      throw invalidField(
        'eligibility.coalitionLevelAtLeast',
        `the coalition has no level ${rule.coalitionLevelAtLeast}`,
      );
    }
  } else if ('programId' in rule) {
    await getProgram(deps, rule.programId).catch(() => {
      throw invalidField('eligibility.programId', `there is no program ${rule.programId}`);
    });
    const ladder = await getLadder(deps, rule.programId);
    if (!ladder.tiers.some((t) => t.code === rule.tierAtLeast)) {
      throw invalidField(
        'eligibility.tierAtLeast',
        `program ${rule.programId} has no tier ${rule.tierAtLeast}`,
      );
    }
  }
}

/** A brand contributes a benefit to the pool (its admin, or the coalition's); audited. */
export async function contributeBenefit(
  deps: Deps,
  programId: string,
  input: NewBenefit,
  actor: Principal | null,
): Promise<PoolBenefit> {
  await getProgram(deps, programId);
  const now = deps.clock.now();
  const benefit: PoolBenefit = {
    id: input.id ?? deps.ids('pbn'),
    programId,
    name: input.name,
    kind: input.kind,
    stock: input.stock,
    claimed: 0,
    used: 0,
    validFrom: input.validFrom ? new Date(input.validFrom) : null,
    validUntil: input.validUntil ? new Date(input.validUntil) : null,
    costFen: input.costFen,
    perMemberLimit: input.perMemberLimit ?? 1,
    eligibility: input.eligibility,
    chargeTo: input.chargeTo ?? 'contributor',
    codeValidDays: input.codeValidDays ?? null,
    status: 'active',
    createdAt: now,
    updatedAt: now,
  };
  checkValidity(benefit.validFrom, benefit.validUntil);
  await checkEligibility(deps, benefit.eligibility);
  return inTransaction(deps.db, async (trx) => {
    if (!(await repo.insertBenefit(trx, benefit))) {
      throw new DomainError(
        'pool_benefit_exists',
        `A pool benefit with id ${benefit.id} already exists`,
        { benefitId: benefit.id },
      );
    }
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'pool.benefit_created', programId, after: benefit },
    );
    return benefit;
  });
}

/** One benefit of a contributor; another program's reads as not found. */
export async function getBenefit(
  deps: Pick<Deps, 'db'>,
  programId: string,
  benefitId: string,
): Promise<PoolBenefit> {
  const b = await repo.findBenefit(deps.db, benefitId);
  if (!b || b.programId !== programId) throw notFound(`Pool benefit ${benefitId}`);
  return b;
}

/** A benefit of any contributor (for an offer that gives it), or undefined. */
export function findBenefit(
  deps: Pick<Deps, 'db'>,
  benefitId: string,
): Promise<PoolBenefit | undefined> {
  return repo.findBenefit(deps.db, benefitId);
}

/** A contributor's benefits (null: every benefit in the pool, for the coalition), in id order. */
export function listBenefits(
  deps: Pick<Deps, 'db'>,
  programId: string | null,
  after: string | undefined,
  limit: number,
): Promise<PoolBenefit[]> {
  return repo.listBenefits(deps.db, programId, after, limit);
}

/**
 * Changes a benefit's stock, validity, limit or status; audited. Stock cannot go below what was
 * claimed (409 `stock_below_claimed`): codes given out stay good.
 */
export async function updateBenefit(
  deps: Deps,
  programId: string,
  benefitId: string,
  patch: BenefitPatch,
  actor: Principal | null,
): Promise<PoolBenefit> {
  return inTransaction(deps.db, async (trx) => {
    const before = await repo.lockBenefit(trx, benefitId);
    if (!before || before.programId !== programId) throw notFound(`Pool benefit ${benefitId}`);
    const changes: repo.BenefitChanges = {
      name: patch.name,
      stock: patch.stock,
      validFrom: dateOrNull(patch.validFrom),
      validUntil: dateOrNull(patch.validUntil),
      perMemberLimit: patch.perMemberLimit,
      codeValidDays: patch.codeValidDays,
      status: patch.status,
    };
    checkValidity(
      changes.validFrom === undefined ? before.validFrom : changes.validFrom,
      changes.validUntil === undefined ? before.validUntil : changes.validUntil,
    );
    const after = await repo.updateBenefit(trx, benefitId, changes, deps.clock.now());
    if (!after) {
      const now = await repo.findBenefit(trx, benefitId);
      throw new DomainError(
        'stock_below_claimed',
        `Pool benefit ${benefitId} has ${now?.claimed ?? before.claimed} claimed: its stock cannot be less`,
        { claimed: now?.claimed ?? before.claimed },
      );
    }
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'pool.benefit_changed', programId, before, after },
    );
    return after;
  });
}

// --- members ---

/** What eligibility rules ask of one member, read once for every benefit considered. */
async function factsOf(deps: Deps, memberId: string, rules: Eligibility[]): Promise<MemberFacts> {
  const needsLevel = rules.some((r) => 'coalitionLevelAtLeast' in r);
  const tierPrograms = [...new Set(rules.flatMap((r) => ('programId' in r ? [r.programId] : [])))];
  const [level, ranks, enrollments, ladders] = await Promise.all([
    needsLevel ? effectiveLevel(deps, memberId) : null,
    needsLevel ? levelRanks(deps) : new Map<string, number>(),
    tierPrograms.length ? getGlobalMember(deps, memberId).then((g) => g.enrollments) : [],
    Promise.all(tierPrograms.map((p) => getLadder(deps, p))),
  ]);
  const enrolled = new Set(enrollments.map((e) => e.programId));
  const tierRanks = new Map<string, number>();
  const ladderOf = new Map(tierPrograms.map((p, i) => [p, ladders[i]]));
  for (const programId of tierPrograms) {
    const ladder = ladderOf.get(programId);
    if (!ladder || !enrolled.has(programId)) continue;
    const codes = await tierCodesOf(deps, programId, [memberId], ladder);
    tierRanks.set(programId, rankOf(ladder, codes.get(memberId) ?? ''));
  }
  return {
    levelRank: level?.rank ?? null,
    rankOfLevel: (code) => ranks.get(code),
    tierRank: (programId) => tierRanks.get(programId),
    rankOfTier: (programId, code) => {
      const i = ladderOf.get(programId)?.tiers.findIndex((t) => t.code === code) ?? -1;
      return i < 0 ? undefined : i;
    },
  };
}

export interface Claimable {
  benefit: PoolBenefit;
  /** How many more the member may claim (the stock and their limit both allow). */
  left: number;
}

/**
 * What the member may claim now: benefits active and in their validity, with stock left, under
 * the member's limit, whose rule the member meets. Nothing for a member blocked anywhere in the
 * coalition (see `claimBenefit`).
 */
export async function claimableFor(deps: Deps, memberId: string): Promise<Claimable[]> {
  const member = await getGlobalMember(deps, memberId);
  if (member.member.status !== 'active' || member.enrollments.some((e) => e.status === 'blocked'))
    return [];
  const open = await repo.openBenefits(deps.db, deps.clock.now());
  const [counts, facts] = await Promise.all([
    repo.memberClaimCounts(
      deps.db,
      memberId,
      open.map((b) => b.id),
    ),
    factsOf(
      deps,
      memberId,
      open.map((b) => b.eligibility),
    ),
  ]);
  return open.flatMap((benefit) => {
    const mine = benefit.perMemberLimit - (counts.get(benefit.id) ?? 0);
    const left = Math.min(mine, benefit.stock - benefit.claimed);
    return left > 0 && meets(benefit.eligibility, facts) ? [{ benefit, left }] : [];
  });
}

export interface ClaimOptions {
  /** The caller's business key: a repeat with it answers the first claim. */
  reference?: string | undefined;
  /** A cross-brand offer's program paying for the claim: its rule of eligibility is waived. */
  sponsorProgramId?: string | undefined;
}

export interface ClaimResult {
  claim: PoolClaim;
  benefit: PoolBenefit;
  /** The claim was made before, with the same reference. */
  replayed: boolean;
}

const outOfStock = (b: PoolBenefit) =>
  new DomainError('out_of_stock', `Pool benefit ${b.id} has no stock left`, { benefitId: b.id });

function unavailable(b: PoolBenefit, now: Date): DomainError | undefined {
  const why = unavailability(b, now);
  return why
    ? new DomainError('benefit_unavailable', `Pool benefit ${b.id} ${why}`, { benefitId: b.id })
    : undefined;
}

/**
 * Claims a benefit for a member: a single-use code. Refused when the benefit is not claimable now
 * (409 `benefit_unavailable`), sold out (409 `out_of_stock`), the member does not meet its rule
 * (409 `not_eligible`) or has claimed their limit (409 `limit_reached`), or the member is erased,
 * merged or blocked in any program of the coalition (a brand that blocked a member for abuse
 * keeps them out of the pool every brand shares). With a `reference`, a repeat answers the first
 * claim. Joins the caller's transaction when there is one (an offer's grant).
 */
export async function claimBenefit(
  deps: Deps,
  memberId: string,
  benefitId: string,
  options: ClaimOptions = {},
): Promise<ClaimResult> {
  const benefit = await repo.findBenefit(deps.db, benefitId);
  if (!benefit) throw notFound(`Pool benefit ${benefitId}`);
  const { reference } = options;
  const before = reference
    ? await repo.findClaimByReference(deps.db, benefitId, memberId, reference)
    : undefined;
  if (before) return { claim: before, benefit, replayed: true };
  // Cheap refusals first, without a lock: a sold-out benefit answers at once, not after a queue.
  const now = deps.clock.now();
  const closed = unavailable(benefit, now);
  if (closed) throw closed;
  if (benefit.claimed >= benefit.stock) throw outOfStock(benefit);
  if (!options.sponsorProgramId) {
    const facts = await factsOf(deps, memberId, [benefit.eligibility]);
    if (!meets(benefit.eligibility, facts)) {
      throw new DomainError(
        'not_eligible',
        `Member ${memberId} may not claim pool benefit ${benefitId}`,
        { benefitId, eligibility: benefit.eligibility },
      );
    }
  }
  return inTransaction(deps.db, async (trx) => {
    // The member's row first (the order every member operation takes), then the member's counter,
    // then the benefit's row last: the one every claim queues on is held the shortest.
    await checkStanding(trx, memberId);
    if (reference) {
      // A concurrent repeat waited for the member's lock: it finds the first claim now.
      const first = await repo.findClaimByReference(trx, benefitId, memberId, reference);
      if (first) return { claim: first, benefit, replayed: true };
    }
    if (!(await repo.countMemberClaim(trx, benefitId, memberId, benefit.perMemberLimit))) {
      throw new DomainError(
        'limit_reached',
        `Member ${memberId} has claimed pool benefit ${benefitId} ${benefit.perMemberLimit} time(s), its limit`,
        { benefitId, perMemberLimit: benefit.perMemberLimit },
      );
    }
    if (!(await repo.takeStock(trx, benefitId, now))) {
      const current = (await repo.findBenefit(trx, benefitId)) ?? benefit;
      throw unavailable(current, now) ?? outOfStock(current);
    }
    const claim: PoolClaim = {
      id: deps.ids('pcl'),
      benefitId,
      memberId,
      reference: reference ?? null,
      code: makeCode(randomBytes(CODE_RANDOM_BYTES)),
      status: 'claimed',
      expiresAt: codeExpiry(benefit, now),
      sponsorProgramId: options.sponsorProgramId ?? null,
      claimedAt: now,
      usedAt: null,
      charge: null,
    };
    await repo.insertClaim(trx, claim);
    return { claim, benefit: { ...benefit, claimed: benefit.claimed + 1 }, replayed: false };
  });
}

/** Locks the member's row and refuses one erased, merged away or blocked in any program. */
async function checkStanding(trx: Trx, memberId: string): Promise<void> {
  const standing = (await lockStandings(trx, [memberId])).get(memberId);
  const problem = standingProblem(memberId, standing, null, 'member');
  if (problem) throw new DomainError(problem.code, problem.detail, problem.extensions);
  const blockedIn = Object.entries(standing?.enrollments ?? {}).find(([, s]) => s === 'blocked');
  if (blockedIn) {
    throw new DomainError(
      'member_blocked',
      `Member ${memberId} is blocked in program ${blockedIn[0]} and claims nothing from the pool`,
      { programId: blockedIn[0] },
    );
  }
}

/** A member's claims, newest first. */
export function claimsOf(
  deps: Pick<Deps, 'db'>,
  memberId: string,
  before: string | undefined,
  limit: number,
): Promise<PoolClaim[]> {
  return repo.claimsOf(deps.db, memberId, before, limit);
}

/** The program a member enrolled in first: who pays for a use under the rule `home`. */
async function homeProgramOf(deps: Deps, memberId: string): Promise<string | null> {
  const { enrollments } = await getGlobalMember(deps, memberId);
  const first = [...enrollments].sort(
    (a, b) =>
      a.enrolledAt.getTime() - b.enrolledAt.getTime() || (a.programId < b.programId ? -1 : 1),
  )[0];
  return first?.programId ?? null;
}

export interface Redemption {
  claim: PoolClaim;
  benefit: PoolBenefit;
}

/**
 * Uses a code, once, at the contributing brand (`programId`; null: the coalition admin, anywhere).
 * A code that is malformed, unknown or another brand's is 404; used before, 409
 * `code_already_used`; past its expiry, 409 `code_expired`. The use's settlement line is written
 * in the same transaction as the use.
 */
export async function redeemCode(
  deps: Deps,
  programId: string | null,
  input: string,
  actor: Principal | null,
): Promise<Redemption> {
  const code = normalizeCode(input);
  const found = code ? await repo.findClaimByCode(deps.db, code) : undefined;
  const benefit = found && (await repo.findBenefit(deps.db, found.benefitId));
  if (!found || !benefit || (programId !== null && benefit.programId !== programId)) {
    throw notFound('Code');
  }
  const now = deps.clock.now();
  const used = () =>
    new DomainError('code_already_used', `Code was used at ${found.usedAt?.toISOString()}`, {
      usedAt: found.usedAt?.toISOString(),
    });
  if (found.status === 'used') throw used();
  if (found.expiresAt && found.expiresAt <= now) {
    throw new DomainError('code_expired', `Code expired at ${found.expiresAt.toISOString()}`, {
      expiresAt: found.expiresAt.toISOString(),
    });
  }
  const home = benefit.chargeTo === 'home' ? await homeProgramOf(deps, found.memberId) : null;
  const charge = chargeForUse(benefit, found.sponsorProgramId, home);
  return inTransaction(deps.db, async (trx) => {
    const claim = await repo.useClaim(trx, found.id, now, actor?.keyId ?? null, charge);
    if (!claim) {
      // Another redeem of the same code committed first.
      const again = await repo.findClaimByCode(trx, found.code);
      throw new DomainError(
        'code_already_used',
        `Code was used at ${again?.usedAt?.toISOString()}`,
        { usedAt: again?.usedAt?.toISOString() },
      );
    }
    if (charge) {
      await recordSettlement(trx, [
        {
          kind: 'pool',
          sourceId: claim.id,
          debtor: charge.debtor,
          creditor: charge.creditor,
          points: null,
          amountFen: charge.amountFen,
          memberId: claim.memberId,
          at: now,
          detail: {
            benefitId: benefit.id,
            benefit: benefit.name,
            kind: benefit.kind,
            chargeTo: benefit.chargeTo,
            ...(claim.sponsorProgramId && { sponsor: claim.sponsorProgramId }),
          },
        },
      ]);
    }
    return { claim, benefit: { ...benefit, used: benefit.used + 1 } };
  });
}

/** A merge's hook: the duplicate's pool codes and counts become the survivor's. */
export async function mergePoolClaims(deps: Deps & { db: Trx }, fromId: string, intoId: string) {
  await repo.moveToMember(deps.db, fromId, intoId);
}
