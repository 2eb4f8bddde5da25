import { recordAudit } from '../audit/audit.service.ts';
import { templateIdsOf } from '../coupons/coupons.service.ts';
import { inTransaction, type Trx } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import type { Principal } from '../keys/keys.core.ts';
import { pointsLedger } from '../ledger/ledger.core.ts';
import { balanceOf } from '../ledger/ledger.service.ts';
import { assertEnrolled } from '../members/members.service.ts';
import { getProgram } from '../programs/programs.service.ts';
import { DomainError, invalidField, notFound } from '../shared/errors.ts';
import { getLadder, tierOf } from '../tiers/tiers.service.ts';
import { type PerMemberLimit, type Reward, templateMisfit } from './rewards.core.ts';
import * as repo from './rewards.repository.ts';
import type { CreateReward, UpdateReward } from './rewards.schemas.ts';

// The catalog of a program's rewards mall. Admin changes are audited in their transaction; the
// stock and per-member counters are changed only by the conditional updates the orders module
// calls here (`reserveStock`, `countForMember`), inside the ledger batch that holds the points.

const date = (v: string | null | undefined) =>
  v === undefined ? undefined : v === null ? null : new Date(v);

const limitOf = (l: { count: number; period?: PerMemberLimit['period'] | undefined } | null) =>
  l === null ? null : { count: l.count, period: l.period ?? null };

function checkWindow(startsAt: Date | null, endsAt: Date | null): void {
  if (startsAt && endsAt && endsAt <= startsAt) {
    throw invalidField('endsAt', 'must be after startsAt');
  }
}

/** Refuses tier prices for tiers the program's ladder does not have, or a tier named twice. */
async function checkTiers(deps: Pick<Deps, 'db'>, programId: string, tiers: string[]) {
  if (tiers.length === 0) return;
  const ladder = await getLadder(deps, programId);
  const codes = new Set(ladder.tiers.map((t) => t.code));
  tiers.forEach((tier, i) => {
    if (!codes.has(tier))
      throw invalidField(`tierPrices.${i}.tier`, `no tier ${tier} in the ladder`);
    if (tiers.indexOf(tier) !== i) throw invalidField(`tierPrices.${i}.tier`, `${tier} twice`);
  });
}

/** Refuses (400) a coupon template that does not fit the reward's kind or is not the program's. */
async function checkCouponTemplate(
  deps: Pick<Deps, 'db'>,
  programId: string,
  reward: Pick<Reward, 'kind' | 'couponTemplateId'>,
): Promise<void> {
  const misfit = templateMisfit(reward);
  if (misfit) throw invalidField('couponTemplateId', misfit);
  const id = reward.couponTemplateId;
  if (id !== null && !(await templateIdsOf(deps, programId, [id])).includes(id)) {
    throw invalidField('couponTemplateId', `no coupon template ${id} in the program`);
  }
}

/** A new reward from a request (or an imported line); not yet stored. */
export function newReward(
  deps: Pick<Deps, 'ids' | 'clock'>,
  programId: string,
  input: CreateReward,
): Reward {
  const now = deps.clock.now();
  return {
    id: deps.ids('rwd'),
    programId,
    sku: input.sku,
    name: input.name,
    kind: input.kind,
    pricePoints: input.pricePoints,
    priceCash: input.priceCash ?? null,
    supplierCost: input.supplierCost ?? null,
    tierPrices: input.tierPrices ?? [],
    stock: input.stock ?? null,
    reserved: 0,
    perMemberLimit: limitOf(input.perMemberLimit ?? null),
    startsAt: date(input.startsAt) ?? null,
    endsAt: date(input.endsAt) ?? null,
    onShelf: input.onShelf,
    supplier: input.supplier ?? null,
    category: input.category ?? null,
    imageUrl: input.imageUrl ?? null,
    couponTemplateId: input.couponTemplateId ?? null,
    createdAt: now,
    updatedAt: now,
  };
}

/** Adds a reward to the catalog; a SKU taken in the program is 409 `reward_exists`. Audited. */
export async function createReward(
  deps: Deps,
  programId: string,
  input: CreateReward,
  actor: Principal | null,
): Promise<Reward> {
  await getProgram(deps, programId);
  const reward = newReward(deps, programId, input);
  checkWindow(reward.startsAt, reward.endsAt);
  await checkCouponTemplate(deps, programId, reward);
  await checkTiers(
    deps,
    programId,
    reward.tierPrices.map((p) => p.tier),
  );
  return inTransaction(deps.db, async (trx) => {
    if (!(await repo.insertReward(trx, reward))) {
      throw new DomainError('reward_exists', `SKU ${input.sku} is in the catalog already`, {
        sku: input.sku,
      });
    }
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'rewards.created', programId, after: reward },
    );
    return reward;
  });
}

/** One reward of the program; another program's reads as not found. */
export async function getReward(
  deps: Pick<Deps, 'db'>,
  programId: string,
  rewardId: string,
): Promise<Reward> {
  const r = await repo.findReward(deps.db, rewardId);
  if (!r || r.programId !== programId) throw notFound(`Reward ${rewardId}`);
  return r;
}

/** The program's rewards named by id or SKU (what an order names), those that exist. */
export function findRewards(
  deps: Pick<Deps, 'db'>,
  programId: string,
  ids: string[],
  skus: string[],
): Promise<Reward[]> {
  return repo.findRewards(deps.db, programId, ids, skus);
}

export function listRewards(
  deps: Pick<Deps, 'db'>,
  programId: string,
  filter: repo.RewardFilter,
  after: string | undefined,
  limit: number,
): Promise<Reward[]> {
  return repo.listRewards(deps.db, programId, filter, after, limit);
}

/**
 * Changes a reward; audited. Its stock cannot go below what orders reserved (409
 * `stock_below_reserved`): an order placed keeps its units.
 */
export async function updateReward(
  deps: Deps,
  programId: string,
  rewardId: string,
  patch: UpdateReward,
  actor: Principal | null,
): Promise<Reward> {
  return inTransaction(deps.db, async (trx) => {
    const before = await repo.lockReward(trx, rewardId);
    if (!before || before.programId !== programId) throw notFound(`Reward ${rewardId}`);
    // After the ownership check: another program's key learns nothing of this one's ladder.
    if (patch.tierPrices) {
      await checkTiers(
        deps,
        programId,
        patch.tierPrices.map((p) => p.tier),
      );
    }
    const changes: repo.RewardChanges = {
      ...patch,
      perMemberLimit:
        patch.perMemberLimit === undefined ? undefined : limitOf(patch.perMemberLimit),
      startsAt: date(patch.startsAt),
      endsAt: date(patch.endsAt),
    };
    checkWindow(
      changes.startsAt === undefined ? before.startsAt : changes.startsAt,
      changes.endsAt === undefined ? before.endsAt : changes.endsAt,
    );
    if (patch.couponTemplateId !== undefined) {
      await checkCouponTemplate(deps, programId, {
        kind: before.kind,
        couponTemplateId: patch.couponTemplateId,
      });
    }
    const after = await repo.updateReward(trx, rewardId, changes, deps.clock.now());
    if (!after) {
      throw new DomainError(
        'stock_below_reserved',
        `Reward ${rewardId} has ${before.reserved} reserved: its stock cannot be less`,
        { reserved: before.reserved },
      );
    }
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'rewards.changed', programId, before, after },
    );
    return after;
  });
}

export interface MemberShelf {
  tier: string;
  available: number;
  items: { reward: Reward; price: number }[];
}

/**
 * What a member of the program may order now, at their tier's prices. `affordable`: only what
 * their available points pay for, the dearest first — the year-end nudge to spend points that
 * would expire. A member not in the program is not found.
 */
export async function shelfFor(
  deps: Deps,
  programId: string,
  memberId: string,
  options: { category?: string | undefined; affordable: boolean; after?: string; limit: number },
): Promise<MemberShelf> {
  await assertEnrolled(deps, programId, memberId);
  const [tier, balance] = await Promise.all([
    tierOf(deps, programId, memberId),
    balanceOf(deps, pointsLedger(programId), memberId),
  ]);
  const available = Math.max(0, balance.available);
  const items = await repo.shelfFor(deps.db, programId, tier.tier.code, deps.clock.now(), {
    category: options.category,
    limit: options.limit,
    ...(options.affordable ? { atMost: available } : options.after ? { after: options.after } : {}),
  });
  return { tier: tier.tier.code, available, items };
}

/** Refuses a supplier none of the program's rewards names (404): another program's is unknown here. */
export async function assertSupplier(
  deps: Pick<Deps, 'db'>,
  programId: string,
  supplier: string,
): Promise<void> {
  if (!(await repo.hasSupplier(deps.db, programId, supplier))) {
    throw notFound(`Supplier ${supplier}`);
  }
}

// --- for orders: stock and limits, in the caller's transaction (the ledger batch's) ---

/**
 * Takes units of a reward on sale at `now`: one conditional update. `short` when not enough are
 * left, `unavailable` when it is no longer on sale.
 */
export const reserveStock = (trx: Trx, rewardId: string, quantity: number, now: Date) =>
  repo.reserve(trx, rewardId, quantity, now);

/** Gives units of a reward back. */
export const releaseStock = (trx: Trx, rewardId: string, quantity: number) =>
  repo.unreserve(trx, rewardId, quantity);

/** Counts units against a member's limit in a period; false when that would pass the limit. */
export const countForMember = repo.countForMember;

/** Uncounts units from a member's limit in a period. */
export const uncountForMember = repo.uncountForMember;

/** Upserts rewards by SKU in one statement (the supplier import). */
export const upsertRewards = repo.upsertRewards;

/** A merge's part (called by orders' hook): the duplicate's counts added to the survivor's. */
export const mergeRewardCounts = (deps: { db: Trx }, fromId: string, intoId: string) =>
  repo.mergeMemberCounts(deps.db, fromId, intoId);
