import { recordAudit } from '../audit/audit.service.ts';
import { inTransaction, type Trx } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import { appendEvents } from '../events/events.service.ts';
import type { Principal } from '../keys/keys.core.ts';
import { addDaysLocal, addMonthsLocal, localDateString } from '../ledger/expiry.core.ts';
import { type Attachment, attachment, type BatchWriter } from '../ledger/ledger.batch.ts';
import type { CommandResult } from '../ledger/ledger.core.ts';
import {
  type Attach,
  balanceOf,
  balancesAt,
  configureLedger,
  credit,
  debit,
  type LinkedPartInput,
  membersWithLotsExpiring,
  type TransferResult,
  wrapAttach,
} from '../ledger/ledger.service.ts';
import { getProgram } from '../programs/programs.service.ts';
import { DomainError, invalidField, notFound } from '../shared/errors.ts';
import { scoreOf } from '../tiers/tiers.core.ts';
import {
  creditsOf,
  type EvaluationReport,
  evaluateProgram,
  type LadderContext,
  ladderContext,
  type MovedWindows,
  mergeTiers,
  onBasisChanged,
  programsWithLadders,
  setCredit,
  type TierOutcome,
  type TierView,
} from '../tiers/tiers.service.ts';
import {
  capsFor,
  DEFAULT_POLICY,
  type GrowthPolicy,
  growthExpiry,
  growthLedger,
  isSpike,
} from './growth.core.ts';
import * as repo from './growth.repository.ts';

// Growth value: a currency of its own on the ledger (`growth:<programId>`), so every change is a
// transfer with a code and a reference, and a rolling window is lot expiry. This module adds what
// the ledger does not know — sources, daily caps, the spike rule — and, in the ledger's batch,
// writes its events and asks the tiers module to evaluate the member on their new basis.

/** The program's growth policy: its own, or the default (one-way, standard sources, no caps). */
export async function getPolicy(deps: Pick<Deps, 'db'>, programId: string): Promise<GrowthPolicy> {
  return (await repo.findPolicy(deps.db, programId)) ?? DEFAULT_POLICY;
}

/**
 * Sets the growth policy (audited). The mode sets how the growth ledger's lots expire from now
 * on: a rolling window applies to growth earned after it is set.
 */
export async function setPolicy(
  deps: Deps,
  programId: string,
  policy: GrowthPolicy,
  actor: Principal,
): Promise<GrowthPolicy> {
  const seen = new Set<string>();
  policy.sources.forEach((s, i) => {
    if (seen.has(s.source)) throw invalidField(`sources.${i}.source`, 'must be unique');
    seen.add(s.source);
  });
  await getProgram(deps, programId);
  await inTransaction(deps.db, async (trx) => {
    const before = await repo.findPolicy(trx, programId);
    await repo.savePolicy(trx, programId, policy, deps.clock.now());
    await configureLedger({ db: trx }, growthLedger(programId), { expiry: growthExpiry(policy) });
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'growth.policy_set', programId, before: before ?? null, after: policy },
    );
  });
  return policy;
}

export interface GrowthInput {
  programId: string;
  memberId: string;
  source: string;
  /** Positive credits; negative deducts (two_way and rolling only). */
  value: number;
  reference: string;
  /** From the caller's business key (`purchase:<id>`): a repeat returns the first outcome. */
  commandId: string;
}

export interface GrowthResult {
  /** What moved: what the caps allowed, or (negative) what was deducted. */
  credited: number;
  /** What the caps held back, or what a deduction could not take (the member had less). */
  capped: number;
  /** The member's growth value after. */
  growth: number;
  tier: TierOutcome;
  replayed: boolean;
}

interface GrowthRow {
  input: GrowthInput;
  day: string;
  at: Date;
  spike: GrowthPolicy['spike'];
  /** The movement's place among a linked command's parts (a purchase's); absent: it is the command. */
  part?: number | undefined;
  /** Filled in by the writer: the tier the movement left the member in. */
  tier?: TierOutcome;
}

/** The movement's own result within its command's outcome. */
const movementOf = (row: GrowthRow, result: CommandResult): CommandResult =>
  row.part === undefined ? result : (result.parts?.[row.part] ?? {});

// One writer per set of dependencies (it makes ids and events): batches group rows by writer.
const writers = new WeakMap<Deps, BatchWriter<GrowthRow>>();

function growthWriter(deps: Deps): BatchWriter<GrowthRow> {
  let writer = writers.get(deps);
  if (writer) return writer;
  writer = {
    name: 'growth',
    stage: 'rows',
    async write(trx, rows) {
      const tx = { ...deps, db: trx };
      // A repeat of a command: the tier it answered the first time.
      const repeats = rows.filter(
        ({ outcome }) => outcome.status === 'applied' && outcome.replayed === true,
      );
      const stored = await repo.eventsByCommand(
        trx,
        repeats.map(({ row }) => row.input.commandId),
      );
      for (const { row } of repeats) {
        const s = stored.get(row.input.commandId);
        row.tier = { code: s?.tier ?? '', changed: s?.changed ?? false };
      }
      const fresh = rows.flatMap(({ row, outcome }) =>
        outcome.status === 'applied' && !outcome.replayed
          ? [{ row, result: movementOf(row, outcome.result) }]
          : [],
      );
      if (fresh.length === 0) return;
      const moved = (r: (typeof fresh)[number]) =>
        Math.sign(r.row.input.value) * (r.result.points ?? 0);
      const eventOf = (r: (typeof fresh)[number]) => ({
        id: deps.ids('grw'),
        programId: r.row.input.programId,
        memberId: r.row.input.memberId,
        commandId: r.row.input.commandId,
        source: r.row.input.source,
        requested: r.row.input.value,
        value: moved(r),
        reference: r.row.input.reference,
        day: r.row.day,
        occurredAt: r.row.at,
        tier: r.row.tier?.code,
        tierChanged: r.row.tier?.changed,
      });
      const byProgram = new Map<string, typeof fresh>();
      for (const r of fresh) {
        const list = byProgram.get(r.row.input.programId);
        if (list) list.push(r);
        else byProgram.set(r.row.input.programId, [r]);
      }
      for (const [programId, list] of byProgram) {
        // The ladder and time zone once per program per batch, for the score and the tiers.
        const context = await ladderContext(tx, programId);
        const members = [...new Set(list.map((r) => r.row.input.memberId))];
        // A score counts the events, this batch's among them: they are written first, and their
        // tiers after. Growth value is the ledger's balance: the events are written once, with
        // the tiers they left the members in.
        const byScore = context.ladder.basis === 'score';
        if (byScore) await repo.insertEvents(trx, list.map(eventOf));
        const scores = byScore
          ? await scoresOf(tx, programId, context, members, list[0]?.row.at as Date)
          : undefined;
        const outcomes = await onBasisChanged(
          tx,
          programId,
          list.map((r) => ({
            memberId: r.row.input.memberId,
            basis: scores?.get(r.row.input.memberId) ?? (r.result.balance as number),
            at: r.row.at,
            // Growth just before this movement (the batch swept what had expired).
            before: scores ? undefined : (r.result.balance as number) - moved(r),
          })),
          context,
        );
        list.forEach((r, i) => {
          r.row.tier = outcomes[i] as TierOutcome;
        });
        if (byScore) {
          await repo.setEventTiers(
            trx,
            list.map((r) => ({
              commandId: r.row.input.commandId,
              tier: r.row.tier?.code ?? '',
              changed: r.row.tier?.changed ?? false,
            })),
          );
        } else {
          await repo.insertEvents(trx, list.map(eventOf));
        }
        await raiseSpikes(
          tx,
          programId,
          list.filter((r) => moved(r) > 0).map((r) => r.row),
        );
      }
    },
  };
  writers.set(deps, writer);
  return writer;
}

/** Spike alerts (and `growth.spike` events) for members whose growth today is out of line. */
async function raiseSpikes(deps: Deps & { db: Trx }, programId: string, rows: GrowthRow[]) {
  const rule = rows[0]?.spike;
  if (!rule || rows.length === 0) return;
  const day = rows[0]?.day as string;
  const at = rows[0]?.at as Date;
  const members = [...new Set(rows.map((r) => r.input.memberId))];
  const trusted = await repo.trustedAmong(deps.db, programId, members);
  const recent = await repo.recentGrowth(
    deps.db,
    programId,
    members.filter((m) => !trusted.has(m)),
    day,
  );
  const spikes = [...recent].filter(([, g]) => isSpike(rule, g.today, g.last30));
  const made = await repo.insertAlerts(
    deps.db,
    spikes.map(([memberId, g]) => ({
      id: deps.ids('alr'),
      programId,
      memberId,
      kind: 'growth.spike',
      day,
      data: { today: g.today, dailyAverage: Math.round(g.last30 / 30), ...rule },
      createdAt: at,
    })),
  );
  await appendEvents(
    deps,
    deps.db,
    made.map((a) => ({
      type: 'growth.spike' as const,
      programId,
      memberId: a.memberId,
      occurredAt: at,
      data: { alertId: a.id, ...a.data },
    })),
  );
}

/** Members' composite scores now, from their growth events in the window and their credit. */
async function scoresOf(
  deps: Pick<Deps, 'db'>,
  programId: string,
  { ladder, timezone }: LadderContext,
  memberIds: string[],
  at: Date,
): Promise<Map<string, number>> {
  const score = ladder.score;
  const out = new Map<string, number>();
  if (!score) return out;
  const measures = await repo.measures(
    deps.db,
    programId,
    memberIds,
    scoreWindowAfter(at, score.windowMonths, timezone),
  );
  const credits = await creditsOf(deps, programId, memberIds);
  for (const id of memberIds) {
    out.set(id, scoreOf(score.components, measures.get(id) ?? new Map(), credits.get(id) ?? null));
  }
  return out;
}

/** The last day before a score's window on the local day of `at`: events count after it. */
function scoreWindowAfter(at: Date, windowMonths: number, timezone: string): string {
  return localDateString(addMonthsLocal(at, -windowMonths, timezone), timezone);
}

/** What growth movements of a program read once: for a batch of purchases, once per batch. */
export interface GrowthContext {
  policy: GrowthPolicy;
  timezone: string;
}

export async function growthContext(
  deps: Pick<Deps, 'db'>,
  programId: string,
): Promise<GrowthContext> {
  const [policy, { timezone }] = await Promise.all([
    getPolicy(deps, programId),
    getProgram(deps, programId),
  ]);
  return { policy, timezone };
}

/**
 * A growth movement ready to go into a ledger command: as a command of its own (`postGrowth`), or
 * as a part of a caller's linked command (a purchase's points and growth: both or neither). The
 * attachment writes its event and evaluates the tier in the command's batch.
 */
export interface GrowthMove {
  part: LinkedPartInput;
  /** The growth writer's row; `part`: the movement's place in a linked command. */
  attachment(part?: number): Attachment;
  /** The typed result, from the movement's ledger result (after the batch). */
  result(t: Omit<TransferResult, 'replayed'>, replayed: boolean): GrowthResult;
}

/**
 * Prepares a growth movement: a credit under the source's and the member's daily caps (what they
 * allow), or a deduction (two_way and rolling; never below zero). An unknown source is a 400, a
 * deduction under one_way a 409.
 */
export function growthMove(deps: Deps, input: GrowthInput, context: GrowthContext): GrowthMove {
  const { policy, timezone } = context;
  if (!policy.sources.some((s) => s.source === input.source)) {
    throw invalidField(
      'source',
      `unknown source ${input.source}: the program's are ${policy.sources.map((s) => s.source).join(', ')}`,
    );
  }
  if (!Number.isSafeInteger(input.value) || input.value === 0)
    throw invalidField('value', 'must be a whole number other than 0');
  if (input.value < 0 && policy.mode === 'one_way') {
    throw new DomainError(
      'growth_one_way',
      `Growth value in program ${input.programId} only rises: it cannot be deducted`,
    );
  }
  const at = deps.clock.now();
  const day = localDateString(at, timezone);
  const row: GrowthRow = { input, day, at, spike: policy.spike };
  const requested = Math.abs(input.value);
  const movement = {
    ledger: growthLedger(input.programId),
    memberId: input.memberId,
    points: requested,
    reference: input.reference,
  };
  return {
    part:
      input.value > 0
        ? {
            type: 'credit',
            ...movement,
            code: 'earn',
            limits: capsFor(
              policy,
              input.memberId,
              input.source,
              day,
              addDaysLocal(at, 1, timezone),
            ),
            partial: true,
          }
        : { type: 'debit', ...movement, code: 'adjust', to: 'adjustment', atMost: true },
    attachment: (part) => {
      // The writer fills in this very row's tier, which `result` reads.
      row.part = part;
      return attachment(growthWriter(deps), row);
    },
    result: (t, replayed) => ({
      credited: Math.sign(input.value) * t.points,
      capped: requested - t.points,
      growth: t.balance,
      tier: row.tier ?? { code: '', changed: false },
      replayed,
    }),
  };
}

const withoutType = <T extends { type: string }>({ type: _type, ...rest }: T) => rest;

/**
 * Credits growth value from a source (what the daily caps allow), or deducts it (two_way and
 * rolling; never below zero), and evaluates the member's tier — all in one ledger batch. A
 * blocked member earns nothing (403); an unknown source is a 400.
 */
export async function postGrowth(
  deps: Deps,
  input: GrowthInput,
  attach?: Attach<GrowthResult>,
): Promise<GrowthResult> {
  const move = growthMove(deps, input, await growthContext(deps, input.programId));
  const wrapped = wrapAttach<TransferResult, GrowthResult>(attach, (t) =>
    move.result(t, t.replayed),
  );
  const rows = (settle: Parameters<Attach<TransferResult>>[0]) => [
    move.attachment(),
    ...(wrapped.attach?.(settle) ?? []),
  ];
  // The part without its type: the fingerprint of a growth command is what it always was.
  const p = move.part;
  const result =
    p.type === 'credit'
      ? await credit(deps, { ...withoutType(p), commandId: input.commandId }, rows)
      : await debit(deps, { ...withoutType(p), commandId: input.commandId }, rows);
  return wrapped.result(result);
}

export interface GrowthView {
  growth: number;
  bySource: { source: string; value: number }[];
  today: { source: string; credited: number; cap: number | null }[];
}

/** A member's growth value, what each source gave, and today's credits against the caps. */
export async function growthOf(
  deps: Deps,
  programId: string,
  memberIds: string[],
): Promise<GrowthView> {
  const [memberId] = memberIds as [string];
  const policy = await getPolicy(deps, programId);
  const { timezone } = await getProgram(deps, programId);
  const day = localDateString(deps.clock.now(), timezone);
  const { balance } = await balanceOf(deps, growthLedger(programId), memberId);
  // What the growth events say was credited today (the cap counters count the same credits).
  const today = await repo.todayBySource(deps.db, programId, memberIds, day);
  return {
    growth: balance,
    bySource: await repo.bySource(deps.db, programId, memberIds),
    today: policy.sources.map((s) => ({
      source: s.source,
      credited: today.get(s.source) ?? 0,
      cap: s.dailyCap,
    })),
  };
}

export function growthHistory(
  deps: Pick<Deps, 'db'>,
  programId: string,
  memberIds: string[],
  before: string | undefined,
  limit: number,
) {
  return repo.historyOf(deps.db, programId, memberIds, before, limit);
}

// --- tiers' basis ---

/** A member's basis for the program's ladder now: growth value, or the composite score. */
export async function basisOf(deps: Deps, programId: string, memberId: string): Promise<number> {
  const context = await ladderContext(deps, programId);
  if (context.ladder.basis === 'score') {
    return (
      (await scoresOf(deps, programId, context, [memberId], deps.clock.now())).get(memberId) ?? 0
    );
  }
  return (await balanceOf(deps, growthLedger(programId), memberId)).balance;
}

/**
 * Sets a member's credit factor (0–1000), which a score may weigh; the tier follows at once.
 */
export async function setMemberCredit(
  deps: Deps,
  programId: string,
  memberId: string,
  value: number,
  actor: Principal,
): Promise<TierView> {
  const context = await ladderContext(deps, programId);
  return setCredit(
    deps,
    programId,
    memberId,
    value,
    async (trx) =>
      context.ladder.basis === 'score'
        ? ((await scoresOf({ db: trx }, programId, context, [memberId], deps.clock.now())).get(
            memberId,
          ) ?? 0)
        : null,
    actor,
  );
}

/**
 * Evaluates tiers as of `asOf` (the scheduler at every minute, `tessera tiers evaluate`): for each
 * program with a ladder, or the one named, the bases a window moved since the last run, then
 * validity ends and downgrade warnings. Running it twice changes nothing the second time.
 */
export async function evaluateTiers(
  deps: Deps,
  options: { programId?: string | undefined; asOf?: Date | undefined } = {},
): Promise<EvaluationReport[]> {
  const asOf = options.asOf ?? deps.clock.now();
  const programs = options.programId ? [options.programId] : await programsWithLadders(deps);
  const reports: EvaluationReport[] = [];
  for (const programId of programs) {
    reports.push(await evaluateProgram(deps, programId, asOf, movedWindows(deps, programId)));
  }
  return reports;
}

/**
 * Growth's windows: a score's (events that left it) or a rolling policy's (lots that expired).
 */
function movedWindows(deps: Deps, programId: string): MovedWindows {
  const ledger = growthLedger(programId);
  return {
    async members(since, until, { ladder, timezone }) {
      if (ladder.basis === 'score' && ladder.score) {
        const months = ladder.score.windowMonths;
        return repo.membersWithEventsBetween(
          deps.db,
          programId,
          since ? scoreWindowAfter(since, months, timezone) : '0001-01-01',
          scoreWindowAfter(until, months, timezone),
        );
      }
      if ((await getPolicy(deps, programId)).mode !== 'rolling') return [];
      return membersWithLotsExpiring(deps, ledger, since, until);
    },
    bases(db, memberIds, at, context) {
      return context.ladder.basis === 'score'
        ? scoresOf({ db }, programId, context, memberIds, at)
        : balancesAt({ db }, ledger, memberIds, at);
    },
  };
}

// --- anti-abuse ---

export function listAlerts(
  deps: Pick<Deps, 'db'>,
  programId: string,
  open: boolean | undefined,
  before: string | undefined,
  limit: number,
) {
  return repo.listAlerts(deps.db, programId, open, before, limit);
}

export async function acknowledgeAlert(
  deps: Deps,
  programId: string,
  alertId: string,
  actor: Principal,
) {
  return inTransaction(deps.db, async (trx) => {
    const alert = await repo.acknowledge(trx, programId, alertId, actor.keyId, deps.clock.now());
    if (!alert) throw notFound(`Alert ${alertId}`);
    await recordAudit(
      { ...deps, db: trx },
      {
        actor,
        action: 'alert.acknowledged',
        programId,
        memberId: alert.memberId,
        after: { alertId },
      },
    );
    return alert;
  });
}

/** Trusts a member (whitelist): no spike alerts for them. Audited; repeating changes nothing. */
export async function setTrusted(
  deps: Deps,
  programId: string,
  memberId: string,
  trusted: boolean,
  actor: Principal,
) {
  await inTransaction(deps.db, async (trx) => {
    const changed = trusted
      ? await repo.setTrusted(trx, programId, memberId, deps.clock.now())
      : await repo.unsetTrusted(trx, programId, memberId);
    if (changed) {
      await recordAudit(
        { ...deps, db: trx },
        { actor, action: trusted ? 'growth.trusted' : 'growth.untrusted', programId, memberId },
      );
    }
  });
}

// --- merge ---

/**
 * Growth's side of a merge, in the merge's transaction (the ledger has moved the growth value as
 * transfers): the duplicate's events become the survivor's, and its tiers keep the higher one.
 */
export async function mergeGrowth(deps: Deps & { db: Trx }, fromId: string, intoId: string) {
  await repo.moveEvents(deps.db, fromId, intoId);
  await mergeTiers(deps, fromId, intoId, (programId) => basisOf(deps, programId, intoId));
}
