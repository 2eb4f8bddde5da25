import { recordAudit } from '../audit/audit.service.ts';
import { type Db, inTransaction, type Trx } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import { type Principal, requireProgramRole } from '../keys/keys.core.ts';
import { addDaysLocal, localDateString } from '../ledger/expiry.core.ts';
import { attachment, type BatchWriter } from '../ledger/ledger.batch.ts';
import { pointsLedger } from '../ledger/ledger.core.ts';
import { type Attach, type LinkedResult, limitsUsed, linked } from '../ledger/ledger.service.ts';
import { assertEnrolled, assertMemberVisible } from '../members/members.service.ts';
import { getProgram } from '../programs/programs.service.ts';
import {
  COALITION,
  COALITION_TIMEZONE,
  type SettlementLineInput,
  valueFen,
} from '../settlement/settlement.core.ts';
import { recordSettlement } from '../settlement/settlement.service.ts';
import { DomainError, notFound } from '../shared/errors.ts';
import { type Ask, type ExchangeRate, type PairTerms, type Quote, quote } from './exchange.core.ts';
import * as repo from './exchange.repository.ts';

// The coalition's exchange: rates and approved pairs (the coalition admin's), and conversions (a
// member's, through their integration). A conversion is one linked ledger command over the two
// programs' ledgers — both sides or neither — with its row and its settlement lines attached, so
// they commit in the same transaction as the points.

export type { Conversion } from './exchange.repository.ts';

// --- rates and pairs ---

/** Puts a program in the exchange, or changes its rate and point value. */
export async function setRate(deps: Deps, rate: ExchangeRate, actor: Principal) {
  await getProgram(deps, rate.programId);
  await inTransaction(deps.db, async (trx) => {
    const before = (await repo.listRates(trx, [rate.programId]))[0] ?? null;
    await repo.upsertRate(trx, rate, deps.clock.now());
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'exchange.rate_set', programId: rate.programId, before, after: rate },
    );
  });
  forgetTerms(deps);
  return rate;
}

/**
 * The programs in the exchange: every one for the coalition; for a program key its own and those
 * it has an approved pair with (another brand's terms are not its business).
 */
export async function listRates(deps: Pick<Deps, 'db'>, viewer: Principal) {
  if (viewer.programId === null) return repo.listRates(deps.db);
  const own = viewer.programId;
  const pairs = await repo.listPairs(deps.db, own);
  const partners = pairs.flatMap((p) => [p.fromProgramId, p.toProgramId]);
  return repo.listRates(deps.db, [...new Set([own, ...partners])]);
}

/**
 * What one point of a program is worth to settle, in ten-thousandths of a fen; undefined when the
 * program is not in the exchange.
 */
export async function pointValueOf(
  deps: Pick<Deps, 'db'>,
  programId: string,
): Promise<{ pointValueE4: number } | undefined> {
  const rate = (await repo.listRates(deps.db, [programId]))[0];
  return rate && { pointValueE4: rate.pointValueE4 };
}

export { valueFen } from '../settlement/settlement.core.ts';

/** Approves a direction of exchange between two programs in the exchange, or changes its terms. */
export async function setPair(deps: Deps, terms: PairTerms, actor: Principal) {
  if (terms.fromProgramId === terms.toProgramId) {
    throw new DomainError('validation_failed', 'A program does not exchange with itself');
  }
  const rates = await repo.listRates(deps.db, [terms.fromProgramId, terms.toProgramId]);
  for (const id of [terms.fromProgramId, terms.toProgramId]) {
    if (!rates.some((r) => r.programId === id)) {
      await getProgram(deps, id); // not_found for a program that does not exist at all
      throw new DomainError(
        'conflict',
        `Program ${id} has no exchange rate yet: set it with PUT /v1/coalition/exchange/programs/${id}`,
        { programId: id },
      );
    }
  }
  await inTransaction(deps.db, async (trx) => {
    const before = (await repo.findPair(trx, terms.fromProgramId, terms.toProgramId)) ?? null;
    await repo.upsertPair(trx, terms, deps.clock.now());
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'exchange.pair_set', before, after: terms },
    );
  });
  forgetTerms(deps);
  return terms;
}

/** Withdraws a pair's approval: conversions in that direction stop; past ones stand. */
export async function removePair(deps: Deps, from: string, to: string, actor: Principal) {
  await inTransaction(deps.db, async (trx) => {
    const before = await repo.deletePair(trx, from, to);
    if (!before) throw notFound(`Exchange pair ${from} → ${to}`);
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'exchange.pair_removed', before, after: null },
    );
  });
  forgetTerms(deps);
}

/** Approved pairs: a program key sees those of its own program, the coalition all. */
export function listPairs(deps: Pick<Deps, 'db'>, viewer: Principal) {
  return repo.listPairs(deps.db, viewer.programId);
}

// --- conversions ---

export interface ConversionInput {
  from: string;
  to: string;
  ask: Ask;
  /** The caller's reference: a conversion is applied once per source program and reference. */
  reference: string;
}

export interface ConversionView extends Quote {
  conversionId: string;
  memberId: string;
  from: string;
  to: string;
  reference: string;
  createdAt: Date;
  replayed: boolean;
}

/** The member's integration: a key of the program the points leave (or the coalition). */
function requireConverter(viewer: Principal, input: Pick<ConversionInput, 'from' | 'to'>) {
  requireProgramRole(viewer, input.from, 'integration');
}

interface Terms {
  pair: PairTerms;
  fromRate: ExchangeRate;
  toRate: ExchangeRate;
}

/**
 * How long a process trusts the rates and pair it read. Every conversion needs them and they change
 * rarely: read afresh each time, they cost two queries per conversion — at 64 callers, more than
 * the batch's own work, and callers that come back later fill batches half as full. A change
 * takes effect at once on the server that made it and within this long on the others; a
 * conversion records the rates it used, so settlement follows exactly what was applied.
 */
const TERMS_TTL_MS = 1_000;
const termsCache = new WeakMap<object, Map<string, { until: number; terms: Promise<Terms> }>>();

/** Forgets what this process read of rates and pairs (after it changed them). */
function forgetTerms(deps: Pick<Deps, 'db'>) {
  termsCache.delete(deps.db);
}

/** The approved pair and both rates, or `pair_not_approved`; kept for `TERMS_TTL_MS`. */
function termsOf(deps: Pick<Deps, 'db' | 'clock'>, from: string, to: string): Promise<Terms> {
  let cache = termsCache.get(deps.db);
  if (!cache) {
    cache = new Map();
    termsCache.set(deps.db, cache);
  }
  const key = `${from}|${to}`;
  const now = deps.clock.now().getTime();
  const hit = cache.get(key);
  if (hit && hit.until > now) return hit.terms;
  const terms = readTerms(deps, from, to);
  cache.set(key, { until: now + TERMS_TTL_MS, terms });
  // A failed read (the database, not a refusal) is not kept.
  terms.catch((e) => {
    if (!(e instanceof DomainError) && cache.get(key)?.terms === terms) cache.delete(key);
  });
  return terms;
}

async function readTerms(deps: Pick<Deps, 'db'>, from: string, to: string): Promise<Terms> {
  const [pair, rates] = await Promise.all([
    repo.findPair(deps.db, from, to),
    repo.listRates(deps.db, [from, to]),
  ]);
  const fromRate = rates.find((r) => r.programId === from);
  const toRate = rates.find((r) => r.programId === to);
  if (!pair || !fromRate || !toRate) {
    throw new DomainError(
      'pair_not_approved',
      `The coalition has not approved exchanging ${from} points into ${to} points`,
      { from, to },
    );
  }
  return { pair, fromRate, toRate };
}

/** The coalition's day a conversion counts in, and when its counter can be forgotten. */
function dayOf(now: Date) {
  return {
    key: localDateString(now, COALITION_TIMEZONE),
    forgetAfter: addDaysLocal(now, 2, COALITION_TIMEZONE),
  };
}

/** What a conversion would move now: the same answer as `convert`, writing nothing. */
export async function quoteConversion(
  deps: Deps,
  viewer: Principal,
  memberId: string,
  input: Omit<ConversionInput, 'reference'>,
): Promise<Quote & { dailyRemaining: number }> {
  requireConverter(viewer, input);
  // A member of "from" only, like `convert`: another brand's member reads as not found.
  await assertEnrolled(deps, input.from, memberId);
  const { pair, fromRate, toRate } = await termsOf(deps, input.from, input.to);
  const q = quote(fromRate, toRate, pair, input.ask);
  const used = await limitUsed(deps, memberId, input.from, input.to);
  return { ...q, dailyRemaining: Math.max(0, pair.dailyLimit - used) };
}

const limitKey = (memberId: string, from: string, to: string, day: string) =>
  `exchange|${from}|${to}|${day}|${memberId}`;

async function limitUsed(deps: Deps, memberId: string, from: string, to: string) {
  const key = limitKey(memberId, from, to, dayOf(deps.clock.now()).key);
  const used = await limitsUsed(deps, pointsLedger(to), [key]);
  return used.get(key) ?? 0;
}

interface ConversionRow {
  conversion: repo.Conversion;
  lines: SettlementLineInput[];
}

/** The conversion's row and its settlement lines, in the ledger batch's transaction. */
const conversionWriter: BatchWriter<ConversionRow> = {
  name: 'exchange.conversions',
  stage: 'rows',
  async write(trx, rows) {
    const applied = rows.flatMap(({ row, outcome }) =>
      outcome.status === 'applied' && !outcome.replayed ? [row] : [],
    );
    if (applied.length === 0) return;
    await repo.insertConversions(
      trx,
      applied.map((r) => r.conversion),
    );
    await recordSettlement(
      trx,
      applied.flatMap((r) => r.lines),
    );
  },
};

/**
 * Converts a member's points of one program into points of another at the unified standard: the
 * points and the fee leave the member at `from` and the credit arrives at `to` in one linked
 * command, under the pair's daily limit, with what the brands owe each other written alongside.
 * Refused whole when the member is blocked or not enrolled in either program, lacks the points,
 * or would pass the limit.
 */
export async function convert(
  deps: Deps,
  viewer: Principal,
  memberId: string,
  input: ConversionInput,
  attach?: Attach<ConversionView>,
): Promise<ConversionView> {
  requireConverter(viewer, input);
  const commandId = `conversion:${input.from}:${input.reference}`;
  const request = { memberId, from: input.from, to: input.to, ask: input.ask };
  const { pair, fromRate, toRate } = await termsOf(deps, input.from, input.to);
  const q = quote(fromRate, toRate, pair, input.ask);
  const now = deps.clock.now();
  const day = dayOf(now);
  const conversion: repo.Conversion = {
    id: deps.ids('cnv'),
    commandId,
    memberId,
    fromProgramId: input.from,
    toProgramId: input.to,
    reference: input.reference,
    converted: q.converted,
    fee: q.fee,
    credited: q.credited,
    from: { pointsPerHubUnit: fromRate.pointsPerHubUnit, pointValueE4: fromRate.pointValueE4 },
    to: { pointsPerHubUnit: toRate.pointsPerHubUnit, pointValueE4: toRate.pointValueE4 },
    createdAt: now,
  };
  const made = new WeakMap<LinkedResult, ConversionView>();
  const result = (r: LinkedResult) => {
    let v = made.get(r);
    if (!v) {
      v = present(conversion, r.replayed);
      made.set(r, v);
    }
    return v;
  };
  const fromLedger = pointsLedger(input.from);
  const r = await linked(
    deps,
    {
      commandId,
      request,
      parts: [
        {
          type: 'debit',
          ledger: fromLedger,
          memberId,
          points: q.converted,
          to: 'exchange',
          code: 'convert',
          reference: input.reference,
        },
        ...(q.fee > 0
          ? [
              {
                type: 'debit' as const,
                ledger: fromLedger,
                memberId,
                points: q.fee,
                to: 'fee' as const,
                code: 'fee' as const,
                reference: input.reference,
              },
            ]
          : []),
        {
          type: 'credit',
          ledger: pointsLedger(input.to),
          memberId,
          points: q.credited,
          from: 'exchange',
          code: 'convert',
          reference: input.reference,
          limits: [
            {
              key: limitKey(memberId, input.from, input.to, day.key),
              max: pair.dailyLimit,
              count: q.converted,
              forgetAfter: day.forgetAfter,
            },
          ],
        },
      ],
    },
    (settle) => [
      attachment(conversionWriter, { conversion, lines: settlementOf(conversion) }),
      ...(attach?.((o) => {
        const s = settle(o);
        return s.ok ? { ok: true, value: result(s.value) } : s;
      }) ?? []),
    ],
  );
  return firstApplied(deps.db, result(r));
}

/**
 * A repeat's answer: the conversion as it was first applied, whatever the rates are now (a
 * repeat's own result is computed at today's rates, under a new id). `db`: a batch's
 * transaction, when an Idempotency-Key's answer is rendered there.
 */
export async function firstApplied(db: Db, v: ConversionView): Promise<ConversionView> {
  if (!v.replayed) return v;
  const commandId = `conversion:${v.from}:${v.reference}`;
  const first = await repo.findConversion(db, commandId);
  if (!first) throw new Error(`conversion ${commandId} applied without its row`);
  return present(first, true);
}

/** What the brands owe each other for a conversion: B's points sold to A, and A's fee. */
export function settlementOf(c: repo.Conversion): SettlementLineInput[] {
  const lines: SettlementLineInput[] = [
    {
      kind: 'conversion',
      sourceId: c.id,
      debtor: c.fromProgramId,
      creditor: c.toProgramId,
      points: c.credited,
      amountFen: valueFen(c.credited, c.to.pointValueE4),
      memberId: c.memberId,
      at: c.createdAt,
      detail: { converted: c.converted, credited: c.credited, pointValueE4: c.to.pointValueE4 },
    },
  ];
  if (c.fee > 0) {
    lines.push({
      kind: 'fee',
      sourceId: c.id,
      debtor: c.fromProgramId,
      creditor: COALITION,
      points: c.fee,
      amountFen: valueFen(c.fee, c.from.pointValueE4),
      memberId: c.memberId,
      at: c.createdAt,
      detail: { fee: c.fee, pointValueE4: c.from.pointValueE4 },
    });
  }
  return lines;
}

function present(c: repo.Conversion, replayed: boolean): ConversionView {
  return {
    conversionId: c.id,
    memberId: c.memberId,
    from: c.fromProgramId,
    to: c.toProgramId,
    reference: c.reference,
    converted: c.converted,
    fee: c.fee,
    debited: c.converted + c.fee,
    credited: c.credited,
    rate: {
      fromPointsPerHubUnit: c.from.pointsPerHubUnit,
      toPointsPerHubUnit: c.to.pointsPerHubUnit,
    },
    createdAt: c.createdAt,
    replayed,
  };
}

/** A member's conversions, newest first: a program key sees those its program is on. */
export async function listConversions(
  deps: Deps,
  viewer: Principal,
  memberId: string,
  after: string | undefined,
  limit: number,
): Promise<ConversionView[]> {
  await assertMemberVisible(deps, viewer, memberId);
  const rows = await repo.listConversions(deps.db, memberId, viewer.programId, after, limit);
  return rows.map((c) => present(c, false));
}

/** A merge's part: the duplicate's conversions become the survivor's (in the merge's transaction). */
export async function mergeConversions(deps: Deps & { db: Trx }, fromId: string, intoId: string) {
  await repo.moveToMember(deps.db, fromId, intoId);
}
