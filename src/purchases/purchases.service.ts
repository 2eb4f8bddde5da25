import type { z } from 'zod';
import type { Trx } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import {
  type Earning,
  earn,
  type Item,
  type Returned,
  takenBackTotal,
} from '../earning/earning.core.ts';
import {
  activeRules,
  type EarningPolicy,
  getEarningPolicy,
  lineLimits,
} from '../earning/earning.service.ts';
import { appendEvents } from '../events/events.service.ts';
import { spendGrowth } from '../growth/growth.core.ts';
import {
  type GrowthContext,
  type GrowthMove,
  type GrowthResult,
  getPolicy as getGrowthPolicy,
  growthMove,
} from '../growth/growth.service.ts';
import type { Principal } from '../keys/keys.core.ts';
import { addDaysLocal } from '../ledger/expiry.core.ts';
import {
  type Attachment,
  attachment,
  type BatchWriter,
  fingerprintOf,
} from '../ledger/ledger.batch.ts';
import { type CommandResult, pointsLedger } from '../ledger/ledger.core.ts';
import { type LinkedPartInput, limitsUsed, linked } from '../ledger/ledger.service.ts';
import { CHANNELS, type Channel } from '../members/members.core.ts';
import { enroll, type MemberRef, type Purchaser, purchasers } from '../members/members.service.ts';
import type { Program } from '../programs/programs.core.ts';
import { getProgram } from '../programs/programs.service.ts';
import { DomainError, invalidField, notFound } from '../shared/errors.ts';
import type { IdGenerator } from '../shared/ids.ts';
import { multiplierOf } from '../tiers/tiers.core.ts';
import { getLadder, type LadderContext, tierCodesOf } from '../tiers/tiers.service.ts';
import * as repo from './purchases.repository.ts';
import type {
  purchaseBody,
  purchaseResultSchema,
  returnBody,
  returnResultSchema,
} from './purchases.schemas.ts';

// Purchases: the loop every brand runs all day. A purchase earns points under the program's rules
// and growth value from its spend, in one linked ledger command — both or neither — whose command
// id is the purchase's (`purchase:<program>:<id>`): a repeat answers the first outcome, and the
// purchase row is written in the same batch, so a purchase is recorded exactly when it earned.
// A batch of purchases is read with a few set-based queries, decided by the pure engine, and
// handed to the ledger together, which writes them in its set-based batches.

export type PurchaseInput = z.infer<typeof purchaseBody>;
export type PurchaseResult = z.infer<typeof purchaseResultSchema>;
export type ReturnInput = z.infer<typeof returnBody>;
export type ReturnResult = z.infer<typeof returnResultSchema>;

/** A purchase's answer, and whether it is the answer of an earlier request with its id. */
export interface Recorded {
  result: PurchaseResult;
  replayed: boolean;
}

/** One purchase of a batch: its answer, or why it was refused (the others go on). */
export type PurchaseOutcome = { ok: true; value: Recorded } | { ok: false; error: DomainError };

/** How far ahead of the server's clock a purchase may be dated. */
const MAX_AHEAD_MS = 5 * 60 * 1000;

/** What a batch of purchases reads once for its program. */
interface ProgramContext {
  program: Program;
  policy: EarningPolicy;
  rules: Awaited<ReturnType<typeof activeRules>>;
  growth: GrowthContext;
  tiers: LadderContext;
  /** The rules that pay a first purchase only. */
  firstPurchaseRules: Set<string>;
}

/** The program's settings a purchase or a return needs, the program itself read once. */
async function programContext(deps: Deps, programId: string): Promise<ProgramContext> {
  const [program, policy, rules, growthPolicy, ladder] = await Promise.all([
    getProgram(deps, programId),
    getEarningPolicy(deps, programId),
    activeRules(deps, programId),
    getGrowthPolicy(deps, programId),
    getLadder(deps, programId),
  ]);
  const { timezone } = program;
  const firstPurchaseRules = new Set(
    rules.filter((r) => r.conditions.firstPurchase).map((r) => r.id),
  );
  return {
    program,
    policy,
    rules,
    growth: { policy: growthPolicy, timezone },
    tiers: { ladder, timezone },
    firstPurchaseRules,
  };
}

/** A purchase decided by the engine, ready for the ledger. */
interface Decided {
  input: PurchaseInput;
  memberId: string;
  tier: string;
  earning: Earning;
  items: Item[];
  growth: number;
  pendingUntil: Date | null;
  fingerprint: Buffer;
  /** When it was decided: the record's time. */
  at: Date;
}

const commandOf = (programId: string, purchaseId: string) => `purchase:${programId}:${purchaseId}`;

/** What a repeat must match: the purchase as sent (with its member as named). */
const purchasePrint = (input: PurchaseInput) => fingerprintOf({ purchase: input });

const itemsOf = (input: PurchaseInput): Item[] =>
  input.items?.map((i) => ({
    sku: i.sku,
    category: i.category ?? null,
    quantity: i.quantity,
    amount: i.amount,
  })) ?? [{ sku: null, category: null, quantity: 1, amount: input.amount }];

const enrollmentChannel = (channel: string | undefined): Channel =>
  CHANNELS.includes(channel as Channel) ? (channel as Channel) : 'pos';

function memberNotFound(ref: MemberRef): DomainError {
  return 'id' in ref
    ? notFound(`Member ${ref.id}`)
    : notFound(`A member with ${ref.identifier.type} ${ref.identifier.value}`);
}

/**
 * Reads what the purchases need — the members they name (enrolling those `enroll` asks for), their
 * tiers, whether each is a first purchase, the purchases already recorded — and decides each with
 * the engine. Answers a repeat from its record; refuses a purchase on its own.
 */
async function decide(
  deps: Deps,
  ctx: ProgramContext,
  inputs: PurchaseInput[],
  actor: Principal | null,
  preview = false,
): Promise<(Decided | PurchaseOutcome)[]> {
  const programId = ctx.program.id;
  const now = deps.clock.now();
  // A preview asks what the purchase would earn now, whatever is recorded under its id.
  const existing = preview
    ? new Map<string, repo.StoredPurchase>()
    : await repo.findPurchases(
        deps.db,
        programId,
        inputs.map((p) => p.id),
      );
  const found: (Purchaser | DomainError | undefined)[] = await purchasers(
    deps,
    programId,
    inputs.map((p) => p.member),
  );
  for (const [i, input] of inputs.entries()) {
    if (found[i] || existing.has(input.id) || !input.enroll || !('identifier' in input.member))
      continue;
    try {
      const view = await enroll(
        deps,
        programId,
        { identifiers: [input.member.identifier], channel: enrollmentChannel(input.channel) },
        actor,
      );
      found[i] = {
        memberId: view.member.id,
        birthday: view.member.profile.birthday,
        blocked: false,
      };
    } catch (error) {
      // One purchase's enrollment refused (a suspended program) refuses that purchase alone.
      if (!(error instanceof DomainError)) throw error;
      found[i] = error;
    }
    // A later purchase of the batch naming the same identifier finds the same member.
    for (const [k, other] of inputs.entries()) {
      if (k > i && !found[k] && 'identifier' in other.member) {
        const a = other.member.identifier;
        const b = input.member.identifier;
        if (a.type === b.type && a.value === b.value) found[k] = found[i];
      }
    }
  }
  const memberIds = [
    ...new Set(found.flatMap((f) => (f && !(f instanceof DomainError) ? [f.memberId] : []))),
  ];
  const [tiers, bought] = await Promise.all([
    tierCodesOf(deps, programId, memberIds, ctx.tiers.ladder),
    repo.membersWithPurchases(deps.db, programId, memberIds),
  ]);
  const firstSeen = new Set<string>();
  return inputs.map((input, i): Decided | PurchaseOutcome => {
    const fingerprint = purchasePrint(input);
    const before = existing.get(input.id);
    if (before) return replayOf(before, fingerprint);
    const member = found[i];
    if (!member) return { ok: false, error: memberNotFound(input.member) };
    if (member instanceof DomainError) return { ok: false, error: member };
    const occurredAt = new Date(input.occurredAt);
    if (occurredAt.getTime() > now.getTime() + MAX_AHEAD_MS) {
      return {
        ok: false,
        error: invalidField('occurredAt', 'is more than 5 minutes ahead of the server clock'),
      };
    }
    const first = !bought.has(member.memberId) && !firstSeen.has(member.memberId);
    firstSeen.add(member.memberId);
    const tier = tiers.get(member.memberId) ?? '';
    const factor = multiplierOf(ctx.tiers.ladder, tier);
    const items = itemsOf(input);
    // A blocked member's purchase is recorded and earns nothing: no rule, no growth.
    const earning = earn(
      member.blocked ? [] : ctx.rules,
      {
        amount: input.amount,
        items,
        store: input.store ?? null,
        channel: input.channel ?? null,
        paymentMethod: input.paymentMethod ?? null,
        occurredAt,
      },
      {
        tier,
        tierMultiplier: factor !== 1 && !member.blocked ? { tier, factor } : null,
        birthday: member.birthday,
        firstPurchase: first,
      },
      { timezone: ctx.program.timezone, rounding: ctx.policy.rounding },
    );
    // The return window runs through the last of its days, to local midnight.
    const pendingUntil =
      ctx.policy.pendingDays > 0
        ? addDaysLocal(occurredAt, ctx.policy.pendingDays + 1, ctx.program.timezone)
        : null;
    return {
      input,
      memberId: member.memberId,
      tier,
      earning,
      items,
      growth: member.blocked ? 0 : spendGrowth(ctx.growth.policy, input.amount),
      pendingUntil: pendingUntil && pendingUntil > now ? pendingUntil : null,
      fingerprint,
      at: now,
    };
  });
}

const conflict = (id: string) =>
  new DomainError('purchase_conflict', `Purchase ${id} was recorded with a different body`);

function replayOf(before: repo.StoredPurchase, fingerprint: Buffer): PurchaseOutcome {
  if (!before.fingerprint.equals(fingerprint)) return { ok: false, error: conflict(before.id) };
  return { ok: true, value: { result: before.result as PurchaseResult, replayed: true } };
}

// --- the ledger command and the purchase's row ---

interface PurchaseRow {
  programId: string;
  decided: Decided;
  /** The parts' places in the linked command. */
  points: number | undefined;
  growth: GrowthPart;
  /** For the `purchase.recorded` event's id. */
  ids: IdGenerator;
  /** Filled in by the writer: the answer it recorded. */
  result?: PurchaseResult;
}

/** A growth movement's place among a linked command's parts, and the movement. */
type GrowthPart = { index: number; move: GrowthMove } | undefined;

/** The growth movement's typed result, from its part of a linked command's outcome. */
function growthOf(g: GrowthPart, parts: CommandResult[]): GrowthResult | undefined {
  const part = g && parts[g.index];
  return (
    g &&
    part &&
    g.move.result({ transferId: null, points: part.points ?? 0, balance: part.balance ?? 0 }, false)
  );
}

/** The points of an answer: what each line was credited (`shares`), lines that got none left out. */
function pointsAnswer(d: Decided, shares: number[]): PurchaseResult['points'] {
  const earned = shares.reduce((a, b) => a + b, 0);
  return {
    earned,
    pending: d.pendingUntil && earned > 0 ? earned : 0,
    ...(d.pendingUntil && earned > 0 && { pendingUntil: d.pendingUntil.toISOString() }),
    breakdown: d.earning.lines.flatMap((l, k) => {
      const credited = shares[k] ?? 0;
      return credited > 0 ? [{ ruleId: l.ruleId, name: l.name, points: credited }] : [];
    }),
  };
}

/** The answer to a purchase, from its command's outcome. */
function resultOf(row: PurchaseRow, outcome: CommandResult): PurchaseResult {
  const { decided } = row;
  const parts = outcome.parts ?? [];
  const points = row.points === undefined ? undefined : parts[row.points];
  const growth = growthOf(row.growth, parts);
  return {
    id: decided.input.id,
    memberId: decided.memberId,
    points: pointsAnswer(decided, points?.shares ?? []),
    growth: { credited: growth?.credited ?? 0, capped: growth?.capped ?? 0 },
    tier: growth?.tier.code ? growth.tier : { code: decided.tier, changed: false },
  };
}

/**
 * Writes the batch's new purchases, each with the answer its outcome gives, in one statement.
 * In the `answers` stage: after the growth writer has evaluated the tiers the answers report.
 */
const purchaseWriter: BatchWriter<PurchaseRow> = {
  name: 'purchases',
  stage: 'answers',
  async write(trx: Trx, rows) {
    const byProgram = new Map<string, repo.NewPurchase[]>();
    for (const { row, outcome } of rows) {
      if (outcome.status !== 'applied' || outcome.replayed) continue;
      row.result = resultOf(row, outcome.result);
      const d = row.decided;
      const pointsPart = row.points === undefined ? undefined : outcome.result.parts?.[row.points];
      const list = byProgram.get(row.programId) ?? [];
      list.push({
        id: d.input.id,
        memberId: d.memberId,
        fingerprint: d.fingerprint,
        amount: d.input.amount,
        currency: d.input.currency,
        occurredAt: new Date(d.input.occurredAt),
        store: d.input.store ?? null,
        channel: d.input.channel ?? null,
        paymentMethod: d.input.paymentMethod ?? null,
        items: d.input.items ? d.items : null,
        weights: d.earning.weights,
        rules: d.earning.matched,
        points: row.result.points.earned,
        growth: row.result.growth.credited,
        lotId: pointsPart?.transferId ?? null,
        pendingUntil: d.pendingUntil,
        result: row.result,
        createdAt: d.at,
      });
      byProgram.set(row.programId, list);
    }
    for (const [programId, list] of byProgram) await repo.insertPurchases(trx, programId, list);
    // Each purchase recorded is an event in the outbox, committed with it: cross-brand offers
    // (src/offers) fire from these, exactly once per purchase, whenever they get to them.
    const ids = rows[0]?.row.ids;
    if (ids) {
      await appendEvents(
        { ids },
        trx,
        [...byProgram].flatMap(([programId, list]) =>
          list.map((p) => ({
            type: 'purchase.recorded' as const,
            programId,
            memberId: p.memberId,
            occurredAt: p.createdAt,
            data: {
              purchaseId: p.id,
              amount: p.amount,
              currency: p.currency,
              occurredAt: p.occurredAt.toISOString(),
            },
          })),
        ),
      );
    }
  },
};

/** Posts one decided purchase: its points and growth in one linked command, with its row. */
async function post(deps: Deps, ctx: ProgramContext, d: Decided): Promise<PurchaseOutcome> {
  const programId = ctx.program.id;
  const commandId = commandOf(programId, d.input.id);
  const reference = `purchase:${d.input.id}`;
  const occurredAt = new Date(d.input.occurredAt);
  const parts: LinkedPartInput[] = [];
  const row: PurchaseRow = {
    programId,
    decided: d,
    points: undefined,
    growth: undefined,
    ids: deps.ids,
  };
  if (d.earning.points > 0) {
    row.points = parts.length;
    parts.push({
      type: 'credit',
      ledger: pointsLedger(programId),
      memberId: d.memberId,
      points: d.earning.points,
      code: 'earn',
      reference,
      pendingUntil: d.pendingUntil,
      // Each rule's line under its own budget and member caps: what they leave is credited.
      shares: d.earning.lines.map((l) => ({
        amount: l.points,
        limits: lineLimits(l, d.memberId, occurredAt, ctx.program.timezone, {
          firstPurchase: ctx.firstPurchaseRules.has(l.ruleId),
        }),
      })),
      partial: true,
    });
  }
  if (d.growth > 0) {
    const move = growthMove(
      deps,
      {
        programId,
        memberId: d.memberId,
        source: 'spend',
        value: d.growth,
        reference,
        commandId,
      },
      ctx.growth,
    );
    row.growth = { index: parts.length, move };
    parts.push(move.part);
  }
  const attachments: Attachment[] = [
    ...(row.growth ? [row.growth.move.attachment(row.growth.index)] : []),
    attachment(purchaseWriter, row),
  ];
  try {
    const r = await linked(
      deps,
      { commandId, parts, request: { purchase: d.input } },
      () => attachments,
    );
    if (!r.replayed && row.result)
      return { ok: true, value: { result: row.result, replayed: false } };
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    return { ok: false, error: error.code === 'command_id_reused' ? conflict(d.input.id) : error };
  }
  // A repeat that met the first one in the ledger: its answer is the recorded one.
  const before = await repo.findPurchase(deps.db, programId, d.input.id);
  if (!before) throw new Error(`purchase ${d.input.id} applied but was not recorded`);
  return replayOf(before, d.fingerprint);
}

/**
 * Records purchases: each earns points under the program's active rules and growth value from its
 * spend, or is refused on its own. A repeat of a purchase id with the same body answers its first
 * result (replayed); with another body, 409 `purchase_conflict`.
 */
export async function recordPurchases(
  deps: Deps,
  programId: string,
  inputs: PurchaseInput[],
  actor: Principal | null,
): Promise<PurchaseOutcome[]> {
  const ctx = await programContext(deps, programId);
  const decided = await decide(deps, ctx, inputs, actor);
  // Submitted together: the ledger writes them in its batches, set-based.
  return Promise.all(decided.map((d) => ('ok' in d ? d : post(deps, ctx, d))));
}

/** Records one purchase; a refusal is thrown. */
export async function recordPurchase(
  deps: Deps,
  programId: string,
  input: PurchaseInput,
  actor: Principal | null,
): Promise<Recorded> {
  const [outcome] = await recordPurchases(deps, programId, [input], actor);
  if (!outcome) throw new Error('no outcome for a purchase');
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/**
 * What a purchase would earn now, writing nothing: the rules' lines cut to what their budgets and
 * the member's caps leave today, growth before its daily caps, the tier the member holds. A member
 * unknown here is a 404 (a preview enrolls no one).
 */
export async function previewPurchase(
  deps: Deps,
  programId: string,
  input: PurchaseInput,
): Promise<PurchaseResult> {
  const ctx = await programContext(deps, programId);
  const [d] = await decide(deps, ctx, [{ ...input, enroll: false }], null, true);
  if (!d) throw new Error('no decision for a preview');
  if ('ok' in d) {
    if (!d.ok) throw d.error;
    return d.value.result;
  }
  const occurredAt = new Date(d.input.occurredAt);
  const limits = d.earning.lines.map((l) =>
    lineLimits(l, d.memberId, occurredAt, ctx.program.timezone, {
      firstPurchase: ctx.firstPurchaseRules.has(l.ruleId),
    }),
  );
  const used = await limitsUsed(
    deps,
    pointsLedger(programId),
    limits.flat().map((l) => l.key),
  );
  const shares = d.earning.lines.map((l, k) =>
    (limits[k] ?? []).reduce(
      (left, lim) => Math.min(left, Math.max(0, lim.max - (used.get(lim.key) ?? 0))),
      l.points,
    ),
  );
  return {
    id: d.input.id,
    memberId: d.memberId,
    points: pointsAnswer(d, shares),
    growth: { credited: d.growth, capped: 0 },
    tier: { code: d.tier, changed: false },
  };
}

// --- reading ---

export interface PurchaseView extends PurchaseResult {
  amount: number;
  currency: string;
  occurredAt: Date;
  store: string | null;
  channel: string | null;
  paymentMethod: string | null;
  items: Item[] | null;
  rules: { id: string; version: number }[];
  returned: { points: number; growth: number; amount: number };
  createdAt: Date;
}

function viewOf(p: repo.StoredPurchase): PurchaseView {
  return {
    ...(p.result as PurchaseResult),
    memberId: p.memberId,
    amount: p.amount,
    currency: p.currency,
    occurredAt: p.occurredAt,
    store: p.store,
    channel: p.channel,
    paymentMethod: p.paymentMethod,
    items: p.items,
    rules: p.rules,
    returned: {
      points: p.pointsReturned,
      growth: p.growthReturned,
      amount: Math.round(returnedValue(p.items ?? [], p.returned)),
    },
    createdAt: p.createdAt,
  };
}

export async function getPurchase(deps: Pick<Deps, 'db'>, programId: string, id: string) {
  const p = await repo.findPurchase(deps.db, programId, id);
  if (!p) throw notFound(`Purchase ${id}`);
  return viewOf(p);
}

/** A member's purchases, newest first (with those of members merged into them). */
export async function memberPurchases(
  deps: Pick<Deps, 'db'>,
  programId: string,
  memberIds: string[],
  after: string | undefined,
  limit: number,
) {
  const cursor = after ? (JSON.parse(after) as { occurredAt: string; id: string }) : undefined;
  return (await repo.memberPurchases(deps.db, programId, memberIds, cursor, limit)).map(viewOf);
}

export const purchaseCursor = (p: PurchaseView) =>
  JSON.stringify({ occurredAt: p.occurredAt.toISOString(), id: p.id });

// --- returns ---

/** Fen returned so far: items by their unit price, plus returns by amount. */
function returnedValue(items: Item[], returned: Returned): number {
  return (
    items.reduce(
      (s, item, i) => s + ((returned.quantities[i] ?? 0) * item.amount) / item.quantity,
      0,
    ) + returned.amount
  );
}

const exceeds = (detail: string) => new DomainError('return_exceeds_purchase', detail);

/** What returned stands at once this return is added; refused when it is more than was bought. */
function afterReturn(
  p: repo.StoredPurchase,
  input: ReturnInput,
): { after: Returned; amount: number } {
  const items = p.items ?? [{ sku: null, category: null, quantity: 1, amount: p.amount }];
  const before = p.returned;
  const quantities = [...before.quantities];
  let amount = before.amount;
  if (input.items && input.amount !== undefined) {
    throw invalidField('amount', 'send items or amount, not both');
  }
  if (input.items) {
    if (!p.items) throw invalidField('items', `purchase ${p.id} has no items: return an amount`);
    for (const r of input.items) {
      let left = r.quantity;
      items.forEach((item, i) => {
        if (item.sku !== r.sku || left === 0) return;
        const take = Math.min(left, item.quantity - (quantities[i] ?? 0));
        quantities[i] = (quantities[i] ?? 0) + take;
        left -= take;
      });
      if (left > 0) {
        throw exceeds(
          `Purchase ${p.id} has ${r.quantity - left} of ${r.sku} left to return; ${r.quantity} were asked for`,
        );
      }
    }
  } else if (input.amount !== undefined) {
    amount += input.amount;
  } else if (before.amount === 0 && p.items) {
    // Everything left: the items not yet returned.
    items.forEach((item, i) => {
      quantities[i] = item.quantity;
    });
  } else {
    amount += p.amount - returnedValue(items, before);
  }
  const after = { quantities, amount };
  const was = returnedValue(items, before);
  const now = returnedValue(items, after);
  if (now > p.amount + 1e-6 || now - was <= 1e-9) {
    throw exceeds(
      `Purchase ${p.id} has ${Math.max(0, Math.round(p.amount - was))} fen left to return`,
    );
  }
  return { after, amount: Math.round(now - was) };
}

interface ReturnRow {
  programId: string;
  purchase: repo.StoredPurchase;
  input: ReturnInput;
  fingerprint: Buffer;
  after: Returned;
  amount: number;
  points: number | undefined;
  growth: GrowthPart;
  tier: string;
  at: Date;
  result?: ReturnResult;
}

/**
 * A return's row: it claims its purchase (one return of a purchase at a time, each computed from
 * what the one before left), and records itself with what it took back.
 */
const returnWriter: BatchWriter<ReturnRow> = {
  name: 'returns',
  stage: 'answers',
  async claim(trx, rows) {
    const claims = [];
    for (const row of rows) {
      const ok = await repo.claimForReturn(
        trx,
        row.programId,
        row.purchase.id,
        row.purchase.returnSeq,
      );
      claims.push(
        ok
          ? ({ status: 'claimed' } as const)
          : ({
              status: 'refused',
              code: 'conflict',
              detail: 'another return of this purchase came first',
            } as const),
      );
    }
    return claims;
  },
  async write(trx, rows) {
    for (const { row, outcome } of rows) {
      if (outcome.status !== 'applied' || outcome.replayed) continue;
      const parts = outcome.result.parts ?? [];
      const points = row.points === undefined ? undefined : parts[row.points];
      const growth = growthOf(row.growth, parts);
      row.result = {
        id: row.input.id,
        purchaseId: row.purchase.id,
        memberId: row.purchase.memberId,
        amount: row.amount,
        points: { reversed: points?.points ?? 0, writtenOff: points?.writtenOff ?? 0 },
        growth: { reversed: -(growth?.credited ?? 0) },
        tier: growth?.tier.code ? growth.tier : { code: row.tier, changed: false },
      };
      await repo.insertReturn(trx, {
        programId: row.programId,
        id: row.input.id,
        purchaseId: row.purchase.id,
        memberId: row.purchase.memberId,
        fingerprint: row.fingerprint,
        items: row.input.items ?? null,
        amount: row.amount,
        reason: row.input.reason,
        points: row.result.points.reversed,
        writtenOff: row.result.points.writtenOff,
        growth: row.result.growth.reversed,
        result: row.result,
        returned: row.after,
        createdAt: row.at,
      });
    }
  },
};

const returnConflict = (id: string) =>
  new DomainError('purchase_conflict', `Return ${id} was made with a different body`);

/**
 * A return: takes back, pro rata, what the returned part earned — points from the purchase's own
 * lot first (pending points simply go), then as the program's return policy says; growth value
 * as its mode allows (nothing under one_way) — and re-evaluates the tier. All returns of a
 * purchase together never take back more than it earned. Idempotent by return id.
 */
export async function returnPurchase(
  deps: Deps,
  programId: string,
  purchaseId: string,
  input: ReturnInput,
): Promise<{ result: ReturnResult; replayed: boolean }> {
  const r = await recordReturn(deps, programId, purchaseId, input);
  // After the return commits, not in its ledger batch: what later modules undo (the coupons
  // redeemed on the purchase) changes nothing when run again, so a replay of the return (the
  // caller's retry after a crash here) finishes it, and the batch stays the ledger's.
  const p = await getPurchase(deps, programId, purchaseId);
  const whole = p.returned.amount >= p.amount;
  for (const hook of deps.onReturn) await hook(deps, programId, purchaseId, { whole });
  return r;
}

async function recordReturn(
  deps: Deps,
  programId: string,
  purchaseId: string,
  input: ReturnInput,
): Promise<{ result: ReturnResult; replayed: boolean }> {
  const fingerprint = fingerprintOf({ purchaseId, ...input });
  const { policy, growth, tiers } = await programContext(deps, programId);
  // Another return of the purchase may come first: then this one is computed again.
  for (let attempt = 0; attempt < 10; attempt++) {
    const earlier = await repo.findReturn(deps.db, programId, input.id);
    if (earlier) {
      if (!earlier.fingerprint.equals(fingerprint)) throw returnConflict(input.id);
      return { result: earlier.result as ReturnResult, replayed: true };
    }
    const purchase = await repo.findPurchase(deps.db, programId, purchaseId);
    if (!purchase) throw notFound(`Purchase ${purchaseId}`);
    const { after, amount } = afterReturn(purchase, input);
    const items = purchase.items ?? [
      { sku: null, category: null, quantity: 1, amount: purchase.amount },
    ];
    const taken = (earned: number, weights: number[], r: Returned) =>
      takenBackTotal(earned, weights, items, purchase.amount, r);
    const points =
      taken(purchase.points, purchase.weights, after) -
      taken(purchase.points, purchase.weights, purchase.returned);
    const amounts = items.map((i) => i.amount);
    const growthBack =
      growth.policy.mode === 'one_way'
        ? 0
        : taken(purchase.growth, amounts, after) -
          taken(purchase.growth, amounts, purchase.returned);
    const reference = `return:${input.id}`;
    const commandId = `return:${programId}:${input.id}`;
    const parts: LinkedPartInput[] = [];
    const held = await tierCodesOf(deps, programId, [purchase.memberId], tiers.ladder);
    const row: ReturnRow = {
      programId,
      purchase,
      input,
      fingerprint,
      after,
      amount,
      points: undefined,
      growth: undefined,
      tier: held.get(purchase.memberId) ?? '',
      at: deps.clock.now(),
    };
    if (points > 0) {
      row.points = parts.length;
      parts.push({
        type: 'debit',
        ledger: pointsLedger(programId),
        memberId: purchase.memberId,
        points,
        code: 'reverse',
        to: 'issuance',
        reference,
        atMost: true,
        lots: {
          ids: purchase.lotId ? [purchase.lotId] : [],
          ...(policy.returnPolicy === 'only_pending' && { pendingOnly: true }),
        },
        writeOff: true,
      });
    }
    if (growthBack > 0) {
      const move = growthMove(
        deps,
        {
          programId,
          memberId: purchase.memberId,
          source: 'spend',
          value: -growthBack,
          reference,
          commandId,
        },
        growth,
      );
      row.growth = { index: parts.length, move };
      parts.push(move.part);
    }
    try {
      const r = await linked(deps, { commandId, parts, request: { purchaseId, ...input } }, () => [
        ...(row.growth ? [row.growth.move.attachment(row.growth.index)] : []),
        attachment(returnWriter, row),
      ]);
      if (!r.replayed && row.result) return { result: row.result, replayed: false };
    } catch (error) {
      // The claim found another return of the purchase first: compute this one again.
      if (error instanceof DomainError && error.code === 'conflict') continue;
      // The same return id, at the same moment, for another purchase or with another body.
      if (error instanceof DomainError && error.code === 'command_id_reused') {
        throw returnConflict(input.id);
      }
      throw error;
    }
  }
  throw new DomainError('conflict', `Purchase ${purchaseId} is being returned; retry`);
}

export async function returnsOf(deps: Pick<Deps, 'db'>, programId: string, purchaseId: string) {
  return (await repo.returnsOf(deps.db, programId, purchaseId)).map((r) => ({
    ...(r.result as ReturnResult),
    reason: r.reason,
    createdAt: r.created_at,
  }));
}

/** A merge's hook: the duplicate's purchases and returns become the survivor's. */
export async function mergePurchases(deps: Deps & { db: Trx }, fromId: string, intoId: string) {
  await repo.moveToMember(deps.db, fromId, intoId);
}
