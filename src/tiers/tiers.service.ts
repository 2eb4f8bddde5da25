import { recordAudit } from '../audit/audit.service.ts';
import { inTransaction, type Trx } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import { appendEvents, type NewEvent } from '../events/events.service.ts';
import type { Principal } from '../keys/keys.core.ts';
import { localDateString } from '../ledger/expiry.core.ts';
import { standingProblem } from '../members/members.core.ts';
import { countMembers, enrollmentTimes, formerMembers } from '../members/members.service.ts';
import { lockStandings } from '../members/members.standing.ts';
import { getProgram } from '../programs/programs.service.ts';
import { DomainError, invalidField, notFound } from '../shared/errors.ts';
import {
  type Benefit,
  benefitsOf,
  DEFAULT_LADDER,
  type Decision,
  eligibleCodes,
  entryTier,
  evaluate,
  invite,
  type Ladder,
  ladderProblems,
  type MemberTier,
  match,
  multiplierOf,
  nextTier,
  override,
  quotaPeriod,
  rankOf,
  type TierChange,
} from './tiers.core.ts';
import * as repo from './tiers.repository.ts';

// Tiers: the ladder a program sets, each member's place on it, and what changes it. Other modules
// call in here: growth value reports a member's new basis (`onBasisChanged`, in the ledger's
// batch), the earning rules read `multiplierFor`, and merges and the scheduler go through
// `mergeTiers` and `evaluateTiers`. Every change writes a history row and an event, in the
// transaction of the change.

/** The program's ladder: its own, or the single entry tier until it sets one. */
export async function getLadder(deps: Pick<Deps, 'db'>, programId: string): Promise<Ladder> {
  return (await repo.findLadder(deps.db, programId))?.ladder ?? DEFAULT_LADDER;
}

/** What evaluating a program's members needs: its ladder and the time zone its days are in. */
export interface LadderContext {
  ladder: Ladder;
  timezone: string;
}

/** The program's ladder and time zone, read once for a batch of evaluations. */
export async function ladderContext(
  deps: Pick<Deps, 'db'>,
  programId: string,
): Promise<LadderContext> {
  const [ladder, program] = await Promise.all([
    getLadder(deps, programId),
    getProgram(deps, programId),
  ]);
  return { ladder, timezone: program.timezone };
}

type TxDeps = Pick<Deps, 'ids' | 'clock'> & { db: Trx };

/** A change as an event: up, down or renewed, with why and until when. */
function changeEvent(programId: string, ladder: Ladder, memberId: string, c: TierChange): NewEvent {
  const type =
    c.why === 'renewal' || c.from === c.to
      ? 'tier.renewed'
      : c.from !== null && rankOf(ladder, c.to) < rankOf(ladder, c.from)
        ? 'tier.downgraded'
        : 'tier.upgraded';
  return {
    type,
    programId,
    memberId,
    occurredAt: c.at,
    data: {
      from: c.from,
      to: c.to,
      why: c.why,
      validUntil: c.validUntil?.toISOString() ?? null,
    },
  };
}

/** Writes decisions: the members' tiers, their history and events, set-based. */
async function writeDecisions(
  deps: TxDeps,
  programId: string,
  ladder: Ladder,
  decided: { memberId: string; decision: Decision; reason?: string | null }[],
) {
  const now = deps.clock.now();
  await repo.writeMemberTiers(
    deps.db,
    programId,
    decided.map((d) => ({ memberId: d.memberId, state: d.decision.state })),
    now,
  );
  const changes = decided.flatMap((d) =>
    d.decision.changes.map((change) => ({
      memberId: d.memberId,
      change,
      reason: d.reason ?? null,
    })),
  );
  await repo.insertHistory(deps.db, programId, deps.ids('tch'), changes);
  await appendEvents(
    deps,
    deps.db,
    changes.map((c) => changeEvent(programId, ladder, c.memberId, c.change)),
  );
}

/** The members' tier rows, locked, made as the entry tier (since enrollment) where missing. */
async function lockStates(
  deps: TxDeps,
  programId: string,
  ladder: Ladder,
  memberIds: string[],
): Promise<Map<string, repo.MemberTierRow>> {
  let rows = await repo.lockMemberTiers(deps.db, programId, memberIds);
  const missing = [...new Set(memberIds)].filter((id) => !rows.has(id));
  if (missing.length) {
    const enrolled = await enrollmentTimes(deps, programId, missing);
    const now = deps.clock.now();
    await repo.ensureMemberTiers(
      deps.db,
      programId,
      missing.map((memberId) => ({
        memberId,
        state: entryTier(ladder, enrolled.get(memberId) ?? now),
      })),
      now,
    );
    rows = await repo.lockMemberTiers(deps.db, programId, memberIds);
  }
  return rows;
}

export interface TierOutcome {
  code: string;
  changed: boolean;
}

/**
 * Members' basis changed (growth credited or deducted; the score moved): evaluates each in
 * order, in the caller's transaction — the ledger's batch, under the members' locks — and writes
 * what changed. Answers each item's tier and whether that item changed it.
 */
export async function onBasisChanged(
  deps: TxDeps,
  programId: string,
  items: { memberId: string; basis: number; at: Date; before?: number | undefined }[],
  context?: LadderContext,
): Promise<TierOutcome[]> {
  if (items.length === 0) return [];
  const { ladder, timezone } = context ?? (await ladderContext(deps, programId));
  const states = await lockStates(
    deps,
    programId,
    ladder,
    items.map((i) => i.memberId),
  );
  const decided = new Map<string, { memberId: string; decision: Decision }>();
  const outcomes = items.map((item) => {
    const before = decided.get(item.memberId)?.decision.state ?? states.get(item.memberId);
    if (!before) throw new Error(`tier row of ${item.memberId} was not made`);
    // Validity that ended unnoticed is judged on what the member had just before this change.
    const d = evaluate(ladder, before, item.basis, item.at, timezone, item.before ?? before.basis);
    const previous = decided.get(item.memberId)?.decision.changes ?? [];
    decided.set(item.memberId, {
      memberId: item.memberId,
      decision: { state: d.state, changes: [...previous, ...d.changes] },
    });
    return { code: d.state.tier, changed: d.changes.length > 0 };
  });
  await writeDecisions(deps, programId, ladder, [...decided.values()]);
  return outcomes;
}

/**
 * Where windows move without the member doing anything (lots of rolling growth expire, score
 * events leave the window): the owner of the basis says whose moved and reads their new basis.
 */
export interface MovedWindows {
  /** Members whose basis a window moved between `since` (exclusive; null: ever) and `until`. */
  members(since: Date | null, until: Date, context: LadderContext): Promise<string[]>;
  /** Their basis at `at`, read in the caller's transaction, after their tier rows are locked. */
  bases(
    db: Trx,
    memberIds: string[],
    at: Date,
    context: LadderContext,
  ): Promise<Map<string, number>>;
}

/**
 * Re-evaluates members whose window moved, a thousand per transaction: their tier rows are locked
 * first and their basis read after, so that a growth batch committing meanwhile is never
 * overwritten with a basis read before it.
 */
async function refreshBasis(
  deps: Deps,
  programId: string,
  memberIds: string[],
  moved: MovedWindows,
  context: LadderContext,
): Promise<number> {
  const at = deps.clock.now();
  let changed = 0;
  for (let i = 0; i < memberIds.length; i += 1000) {
    const chunk = memberIds.slice(i, i + 1000);
    const out = await inTransaction(deps.db, async (trx) => {
      await repo.lockMemberTiers(trx, programId, chunk);
      const bases = await moved.bases(trx, chunk, at, context);
      return onBasisChanged(
        { ...deps, db: trx },
        programId,
        // The window moved by `at`: a validity that ended meanwhile is judged on what is left.
        [...bases].map(([memberId, basis]) => ({ memberId, basis, at, before: basis })),
        context,
      );
    });
    changed += out.filter((o) => o.changed).length;
  }
  return changed;
}

// --- the ladder ---

/**
 * Sets the program's ladder (audited) and re-evaluates every member by it, in one transaction: a
 * periodic ladder moves up who now qualifies higher and keeps every tier still valid; an
 * immediate one puts every member where their basis now stands. A tier that members hold cannot
 * be removed (409 `tier_in_use`).
 */
function checkLadder(ladder: Ladder): void {
  const problems = ladderProblems(ladder);
  const first = problems[0];
  if (first) {
    throw new DomainError('validation_failed', `${first.path}: ${first.message}`, {
      errors: problems,
    });
  }
}

/** One tier of a ladder as a preview counts it. */
export interface TierCount {
  code: string;
  name: string;
  /** Members who would sit in it under the ladder previewed. */
  members: number;
  /** Members who sit in it now. */
  now: number;
}

/**
 * How many members would sit in each tier of `ladder`, before it is saved: each by the basis it
 * was last evaluated with, on the highest open tier it reaches; invite-only tiers and overrides
 * keep their members; members never evaluated sit on the entry tier. Writes nothing.
 */
export async function previewLadder(
  deps: Pick<Deps, 'db'>,
  programId: string,
  ladder: Ladder,
): Promise<{ members: number; tiers: TierCount[] }> {
  checkLadder(ladder);
  await getProgram(deps, programId);
  const open = ladder.tiers.filter((t) => !t.inviteOnly);
  const spread = await repo.spreadOver(
    deps.db,
    programId,
    open.map((t) => t.threshold),
    ladder.tiers.filter((t) => t.inviteOnly).map((t) => t.code),
    ladder.tiers.map((t) => t.code),
    await formerMembers(deps, programId),
  );
  const members = await countMembers(deps, programId);
  const evaluated = [...spread.now.values()].reduce((a, b) => a + b, 0);
  const entry = ladder.tiers[0]?.code;
  return {
    members,
    tiers: ladder.tiers.map((t) => {
      const index = open.indexOf(t);
      const never = t.code === entry ? Math.max(0, members - evaluated) : 0;
      return {
        code: t.code,
        name: t.name,
        members:
          (t.inviteOnly ? 0 : (spread.open.get(index) ?? 0)) +
          (spread.kept.get(t.code) ?? 0) +
          never,
        now: (spread.now.get(t.code) ?? 0) + never,
      };
    }),
  };
}

export async function setLadder(
  deps: Deps,
  programId: string,
  ladder: Ladder,
  actor: Principal,
): Promise<Ladder> {
  checkLadder(ladder);
  const { timezone } = await getProgram(deps, programId);
  await inTransaction(deps.db, async (trx) => {
    const tx = { ...deps, db: trx };
    const before = (await repo.lockLadder(trx, programId))?.ladder ?? DEFAULT_LADDER;
    const held = await repo.countByTier(trx, programId);
    const codes = new Set(ladder.tiers.map((t) => t.code));
    const entry = before.tiers[0]?.code;
    for (const [code, n] of held) {
      // Members on the old entry tier move to the new one; any other tier must stay.
      if (n > 0 && !codes.has(code) && code !== entry) {
        throw new DomainError(
          'tier_in_use',
          `Tier ${code} is held by ${n} member(s): keep it in the ladder, or move them first`,
          { tier: code, members: n },
        );
      }
    }
    await repo.saveLadder(trx, programId, ladder, deps.clock.now());
    // Every member with a row, a page at a time, through the same rules as a growth change.
    const now = deps.clock.now();
    let after = '';
    for (;;) {
      const ids = await repo.memberIdsPage(trx, programId, after, 1000);
      if (ids.length === 0) break;
      after = ids[ids.length - 1] as string;
      const states = await repo.lockMemberTiers(trx, programId, ids);
      const decided = [...states.values()].map((s) => {
        const moved = codes.has(s.tier) ? s : { ...s, tier: ladder.tiers[0]?.code as string };
        const d = evaluate(ladder, moved, s.basis, now, timezone);
        const renamed =
          moved.tier !== s.tier
            ? [{ from: s.tier, to: moved.tier, why: 'ladder' as const, validUntil: null, at: now }]
            : [];
        return { memberId: s.memberId, decision: { ...d, changes: [...renamed, ...d.changes] } };
      });
      await writeDecisions(tx, programId, ladder, decided);
    }
    await recordAudit(tx, {
      actor,
      action: 'tiers.ladder_set',
      programId,
      before,
      after: ladder,
    });
  });
  return ladder;
}

// --- a member's tier ---

export interface TierView {
  tier: { code: string; name: string };
  since: Date;
  validUntil: Date | null;
  overridden: boolean;
  basis: number;
  next: { code: string; name: string; needed: number } | null;
  eligible: string[];
}

async function stateOf(
  deps: Pick<Deps, 'db' | 'clock'>,
  programId: string,
  memberId: string,
  ladder: Ladder,
) {
  const row = await repo.findMemberTier(deps.db, programId, memberId);
  if (row) return row;
  const enrolled = await enrollmentTimes(deps, programId, [memberId]);
  return {
    ...entryTier(ladder, enrolled.get(memberId) ?? deps.clock.now()),
    memberId,
    credit: null,
  };
}

/** Where a member stands: tier, since, until when, the basis, what the next tier needs. */
export async function tierOf(deps: Deps, programId: string, memberId: string): Promise<TierView> {
  const ladder = await getLadder(deps, programId);
  const s = await stateOf(deps, programId, memberId, ladder);
  const t = ladder.tiers[rankOf(ladder, s.tier)] ?? ladder.tiers[0];
  return {
    tier: { code: t?.code ?? s.tier, name: t?.name ?? s.tier },
    since: s.since,
    validUntil: s.validUntil,
    overridden: s.overridden,
    basis: s.basis,
    next: nextTier(ladder, s),
    eligible: eligibleCodes(ladder, s),
  };
}

/** The earn multiplier of the member's tier (1 without one): what the earning rules apply. */
export async function multiplierFor(deps: Deps, programId: string, memberId: string) {
  const ladder = await getLadder(deps, programId);
  const s = await stateOf(deps, programId, memberId, ladder);
  return multiplierOf(ladder, s.tier);
}

/**
 * The tier code each member holds (the ladder's entry tier for one never evaluated), read at once
 * for a batch of purchases.
 */
export async function tierCodesOf(
  deps: Pick<Deps, 'db'>,
  programId: string,
  memberIds: string[],
  ladder: Ladder,
): Promise<Map<string, string>> {
  const held = await repo.tierCodes(deps.db, programId, memberIds);
  const entry = ladder.tiers[0]?.code ?? '';
  return new Map(memberIds.map((id) => [id, held.get(id) ?? entry]));
}

export function tierHistory(
  deps: Pick<Deps, 'db'>,
  programId: string,
  memberIds: string[],
  before: string | undefined,
  limit: number,
) {
  return repo.history(deps.db, programId, memberIds, before, limit);
}

/** Members eligible for an invite-only tier: they reach it and sit below it. */
export async function eligibleFor(
  deps: Deps,
  programId: string,
  code: string,
  after: string | undefined,
  limit: number,
) {
  const ladder = await getLadder(deps, programId);
  const rank = ladder.tiers.findIndex((t) => t.code === code);
  const tier = ladder.tiers[rank];
  if (!tier) throw notFound(`Tier ${code}`);
  if (!tier.inviteOnly)
    throw invalidField('code', `tier ${code} is open to all: members reach it by qualifying`);
  const below = ladder.tiers.slice(0, rank).map((t) => t.code);
  return repo.eligibleMembers(deps.db, programId, tier.threshold, below, after, limit);
}

/** One member's tier change by an operator, in its own transaction, after the member's tier row. */
async function changeOne(
  deps: Deps,
  programId: string,
  memberId: string,
  decide: (ladder: Ladder, state: MemberTier, timezone: string) => Decision | DomainError | null,
  audit: { actor: Principal; action: 'tier.overridden' | 'tier.invited'; reason: string | null },
): Promise<TierView> {
  const { timezone } = await getProgram(deps, programId);
  await inTransaction(deps.db, async (trx) => {
    const tx = { ...deps, db: trx };
    const ladder = (await repo.findLadder(trx, programId))?.ladder ?? DEFAULT_LADDER;
    const states = await lockStates(tx, programId, ladder, [memberId]);
    const state = states.get(memberId) as repo.MemberTierRow;
    // Validity that ended before the scheduler got to it is settled first.
    const settled = evaluate(ladder, state, state.basis, deps.clock.now(), timezone);
    const d = decide(ladder, settled.state, timezone);
    if (d instanceof DomainError) throw d;
    const decision = {
      state: d?.state ?? settled.state,
      changes: [...settled.changes, ...(d?.changes ?? [])],
    };
    // Written even when the operator's request changes nothing: the settling may have.
    await writeDecisions(tx, programId, ladder, [{ memberId, decision, reason: audit.reason }]);
    if (!d) return;
    await recordAudit(tx, {
      actor: audit.actor,
      action: audit.action,
      programId,
      memberId,
      before: { tier: state.tier, validUntil: state.validUntil },
      after: {
        tier: decision.state.tier,
        validUntil: decision.state.validUntil,
        reason: audit.reason,
      },
    });
  });
  return tierOf(deps, programId, memberId);
}

/** Grants an invite-only tier to a member eligible for it (409 `not_eligible` otherwise). */
export function inviteToTier(
  deps: Deps,
  programId: string,
  memberId: string,
  code: string,
  actor: Principal,
) {
  return changeOne(
    deps,
    programId,
    memberId,
    (ladder, state, timezone) => {
      const tier = ladder.tiers.find((t) => t.code === code);
      if (!tier) return notFound(`Tier ${code}`);
      if (!tier.inviteOnly)
        return invalidField('code', `tier ${code} is open to all: members reach it by qualifying`);
      const d = invite(ladder, state, code, deps.clock.now(), timezone);
      if (d === 'unchanged') return null;
      if (d === 'not_eligible') {
        return new DomainError(
          'not_eligible',
          `Member ${memberId} does not reach tier ${code} (needs ${tier.threshold}, has ${state.basis})`,
          { needed: tier.threshold, basis: state.basis },
        );
      }
      return d;
    },
    { actor, action: 'tier.invited', reason: null },
  );
}

/** Puts a member in a tier by hand until `validUntil` (or until another override); audited. */
export function overrideTier(
  deps: Deps,
  programId: string,
  memberId: string,
  input: { code: string; reason: string; validUntil: Date | null },
  actor: Principal,
) {
  if (input.validUntil && input.validUntil <= deps.clock.now())
    throw invalidField('validUntil', 'must be in the future');
  return changeOne(
    deps,
    programId,
    memberId,
    (ladder, state) => {
      if (!ladder.tiers.some((t) => t.code === input.code)) return notFound(`Tier ${input.code}`);
      return override(ladder, state, input.code, deps.clock.now(), input.validUntil);
    },
    { actor, action: 'tier.overridden', reason: input.reason },
  );
}

/**
 * Status match (等级匹配): puts the member in tier `code` of the program, with the validity an
 * upgrade to it would have and `why: "match"` in the history — unless they hold it or a higher
 * tier already (a match never lowers a tier). In the caller's transaction (the enrollment's, or
 * the match request's), after the member's own row is locked; whoever calls decides whether the
 * member may be matched at all. Answers whether it moved the member.
 */
export async function matchTier(
  deps: TxDeps,
  programId: string,
  memberId: string,
  code: string,
): Promise<boolean> {
  const { ladder, timezone } = await ladderContext(deps, programId);
  const states = await lockStates(deps, programId, ladder, [memberId]);
  const state = states.get(memberId) as repo.MemberTierRow;
  const now = deps.clock.now();
  // Validity that ended before the scheduler got to it is settled first, as for an override.
  const settled = evaluate(ladder, state, state.basis, now, timezone);
  const d = match(ladder, settled.state, code, now, timezone);
  const decision = {
    state: d?.state ?? settled.state,
    changes: [...settled.changes, ...(d?.changes ?? [])],
  };
  await writeDecisions(deps, programId, ladder, [{ memberId, decision }]);
  return d !== null;
}

/**
 * Sets a member's credit factor (0–1000), a component a score may weigh; the caller passes the
 * score it makes (`rescore`), and the tier follows in the same transaction.
 */
export async function setCredit(
  deps: Deps,
  programId: string,
  memberId: string,
  credit: number,
  rescore: (trx: Trx, credit: number) => Promise<number | null>,
  actor: Principal,
): Promise<TierView> {
  await inTransaction(deps.db, async (trx) => {
    const tx = { ...deps, db: trx };
    const ladder = (await repo.findLadder(trx, programId))?.ladder ?? DEFAULT_LADDER;
    const states = await lockStates(tx, programId, ladder, [memberId]);
    const before = (states.get(memberId) as repo.MemberTierRow).credit;
    await repo.setCredit(trx, programId, memberId, credit);
    const score = await rescore(trx, credit);
    if (score !== null)
      await onBasisChanged(tx, programId, [{ memberId, basis: score, at: deps.clock.now() }]);
    await recordAudit(tx, {
      actor,
      action: 'tier.credit_set',
      programId,
      memberId,
      before: { credit: before },
      after: { credit },
    });
  });
  return tierOf(deps, programId, memberId);
}

/** The members' credit factors, those set (one query). */
export function creditsOf(deps: Pick<Deps, 'db'>, programId: string, memberIds: string[]) {
  return repo.creditsOf(deps.db, programId, memberIds);
}

// --- benefits ---

export interface BenefitView extends Benefit {
  /** For a quota: uses left in this period, and the period (`2026-11`, `2026`). */
  left?: number;
  period?: string;
}

/** What the member has now: the entry tier's benefits and their tier's, with quota left. */
export async function benefitsFor(
  deps: Deps,
  programId: string,
  memberId: string,
): Promise<BenefitView[]> {
  const ladder = await getLadder(deps, programId);
  const s = await stateOf(deps, programId, memberId, ladder);
  const { timezone } = await getProgram(deps, programId);
  const today = localDateString(deps.clock.now(), timezone);
  return Promise.all(
    benefitsOf(ladder, s.tier).map(async (b) => {
      if (b.kind !== 'quota' || !b.quota) return b;
      const period = quotaPeriod(b.quota.period, today);
      const used = await repo.usesInPeriod(deps.db, programId, memberId, b.code, period);
      return { ...b, left: Math.max(0, b.quota.count - used), period };
    }),
  );
}

export interface BenefitUse {
  id: string;
  benefit: string;
  period: string;
  left: number;
  usedAt: Date;
  replayed: boolean;
}

/**
 * Uses one of a quota benefit (a monthly free delivery): refused with 409 `quota_exhausted` when
 * none is left this period. Concurrent uses wait on the member's tier row, so they never exceed
 * the quota; a repeat with the same reference answers the first use.
 */
export async function useBenefit(
  deps: Deps,
  programId: string,
  memberId: string,
  code: string,
  reference: string,
): Promise<BenefitUse> {
  const { timezone } = await getProgram(deps, programId);
  return inTransaction(deps.db, async (trx) => {
    const tx = { ...deps, db: trx };
    // A benefit is the member's to use only in good standing (not blocked, erased or merged
    // away): their row first, as in every member operation's lock order.
    const standing = await lockStandings(trx, [memberId]);
    const problem = standingProblem(memberId, standing.get(memberId), programId, 'benefit');
    if (problem) throw new DomainError(problem.code, problem.detail, problem.extensions);
    const ladder = (await repo.findLadder(trx, programId))?.ladder ?? DEFAULT_LADDER;
    const states = await lockStates(tx, programId, ladder, [memberId]);
    const state = states.get(memberId) as repo.MemberTierRow;
    const benefit = benefitsOf(ladder, state.tier).find((b) => b.code === code);
    if (!benefit) throw notFound(`Benefit ${code} of member ${memberId}`);
    if (benefit.kind !== 'quota' || !benefit.quota)
      throw invalidField('code', `benefit ${code} is not a quota: there is nothing to use`);
    const now = deps.clock.now();
    const prior = await repo.findUse(trx, programId, memberId, code, reference);
    if (prior) {
      const used = await repo.usesInPeriod(trx, programId, memberId, code, prior.period);
      return {
        id: prior.id,
        benefit: code,
        period: prior.period,
        left: Math.max(0, benefit.quota.count - used),
        usedAt: prior.used_at,
        replayed: true,
      };
    }
    const period = quotaPeriod(benefit.quota.period, localDateString(now, timezone));
    const used = await repo.usesInPeriod(trx, programId, memberId, code, period);
    if (used >= benefit.quota.count) {
      throw new DomainError(
        'quota_exhausted',
        `Benefit ${code} has no use left in ${period} (${benefit.quota.count} per ${benefit.quota.period})`,
        { benefit: code, period, quota: benefit.quota.count },
      );
    }
    const id = deps.ids('use');
    await repo.insertUse(trx, {
      id,
      programId,
      memberId,
      benefit: code,
      period,
      reference,
      usedAt: now,
    });
    await appendEvents(deps, trx, [
      {
        type: 'benefit.used',
        programId,
        memberId,
        occurredAt: now,
        data: { benefit: code, reference, period, left: benefit.quota.count - used - 1 },
      },
    ]);
    return {
      id,
      benefit: code,
      period,
      left: benefit.quota.count - used - 1,
      usedAt: now,
      replayed: false,
    };
  });
}

// --- evaluation ---

export interface EvaluationReport {
  programId: string;
  evaluated: number;
  changed: number;
  warned: number;
}

const CHUNK = 20_000;
const PARALLEL = 2;

/**
 * Evaluates a program's members as of `asOf`: validity that ended (set-based, a chunk of members
 * per statement), downgrade warnings, and the bases that moved since the last run (the caller's
 * `moved`: members whose window lost something). Running it twice changes nothing the second time.
 */
export async function evaluateProgram(
  deps: Deps,
  programId: string,
  asOf: Date,
  moved?: MovedWindows,
): Promise<EvaluationReport> {
  const stored = await repo.findLadder(deps.db, programId);
  const report = { programId, evaluated: 0, changed: 0, warned: 0 };
  if (!stored) return report;
  const ladder = stored.ladder;
  const { timezone } = await getProgram(deps, programId);
  const context = { ladder, timezone };
  const clock = { now: () => asOf };
  const tx = (trx: Trx) => ({ ...deps, clock, db: trx });

  // Bases that moved (a rolling window, a score's window) first: a member's tier at validity end
  // is judged on what they have at that moment.
  if (moved) {
    const members = await moved.members(stored.evaluatedAt, asOf, context);
    report.changed += await refreshBasis({ ...deps, clock }, programId, members, moved, context);
  }

  if (ladder.evaluation === 'periodic') {
    // Disjoint shares of the members, one transaction each at a time, so both of a small
    // machine's cores work; they meet only on the program's event counter, taken last.
    await Promise.all(
      Array.from({ length: PARALLEL }, async (_, part) => {
        for (;;) {
          const done = await inTransaction(deps.db, (trx) =>
            repo.evaluateDue(
              trx,
              programId,
              ladder,
              timezone,
              asOf,
              CHUNK,
              { history: deps.ids('tch'), events: deps.ids('evt') },
              { part, of: PARALLEL },
            ),
          );
          report.evaluated += done.evaluated;
          report.changed += done.changed;
          // Nobody of this share left whose validity ended by asOf (validity that ended several
          // periods ago comes round again, a period later, until it is in the future).
          if (done.evaluated === 0) break;
        }
      }),
    );
    // Warnings are by the day (validity ends at local midnight): once per local day, at the first
    // run after midnight, rather than a scan of every member near their end each minute.
    const day = (at: Date) => localDateString(at, timezone);
    const newDay = !stored.evaluatedAt || day(stored.evaluatedAt) !== day(asOf);
    report.warned = !newDay
      ? 0
      : await inTransaction(deps.db, async (trx) => {
          const warned = await repo.markWarnings(trx, programId, ladder, asOf);
          await appendEvents(
            deps,
            trx,
            warned.map((w) => ({
              type: 'tier.downgrade_warning' as const,
              programId,
              memberId: w.memberId,
              occurredAt: asOf,
              data: { tier: w.tier, validUntil: w.validUntil.toISOString(), basis: w.basis },
            })),
          );
          return warned.length;
        });
  } else {
    // Immediate ladders: only overrides end; their members follow the basis again.
    for (;;) {
      // Each round settles those it read (their validity moves past asOf or goes).
      const ids = await repo.memberIdsPage(deps.db, programId, '', 1000, asOf);
      if (ids.length === 0) break;
      await inTransaction(deps.db, async (trx) => {
        const states = await repo.lockMemberTiers(trx, programId, ids);
        const decided = [...states.values()].map((s) => ({
          memberId: s.memberId,
          decision: evaluate(ladder, s, s.basis, asOf, timezone),
        }));
        await writeDecisions(tx(trx), programId, ladder, decided);
        report.evaluated += decided.length;
        report.changed += decided.filter((d) => d.decision.changes.length).length;
      });
    }
  }
  await inTransaction(deps.db, (trx) => repo.markEvaluated(trx, programId, asOf));
  return report;
}

/** Programs with a ladder of their own: what the scheduler evaluates. */
export function programsWithLadders(deps: Pick<Deps, 'db'>) {
  return repo.programsWithLadders(deps.db);
}

// --- merge ---

/**
 * The tiers' side of a merge, in the merge's transaction: in each program where the duplicate
 * had a tier, the survivor keeps the higher of the two (with its validity), and both bases are
 * evaluated again on the survivor's new basis (`basisOf`, the growth that moved).
 */
export async function mergeTiers(
  deps: TxDeps,
  fromId: string,
  intoId: string,
  basisOf: (programId: string) => Promise<number>,
): Promise<void> {
  const at = deps.clock.now();
  for (const programId of await repo.programsOfMember(deps.db, fromId)) {
    const ladder = (await repo.findLadder(deps.db, programId))?.ladder ?? DEFAULT_LADDER;
    const { timezone } = await getProgram(deps, programId);
    const states = await lockStates(deps, programId, ladder, [fromId, intoId]);
    const from = states.get(fromId) as repo.MemberTierRow;
    const into = states.get(intoId) as repo.MemberTierRow;
    const fromValid = !from.validUntil || from.validUntil > at;
    const keep = fromValid && rankOf(ladder, from.tier) > rankOf(ladder, into.tier) ? from : into;
    const merged: MemberTier = {
      tier: keep.tier,
      since: keep.since,
      validUntil: keep.validUntil,
      overridden: keep.overridden,
      basis: into.basis,
      warnedFor: keep.warnedFor,
    };
    const changes: TierChange[] =
      keep === from
        ? [{ from: into.tier, to: from.tier, why: 'merge', validUntil: from.validUntil, at }]
        : [];
    const d = evaluate(ladder, merged, await basisOf(programId), at, timezone);
    await writeDecisions(deps, programId, ladder, [
      { memberId: intoId, decision: { state: d.state, changes: [...changes, ...d.changes] } },
      {
        memberId: fromId,
        decision: { state: { ...entryTier(ladder, from.since), basis: 0 }, changes: [] },
      },
    ]);
  }
}
