import { createHash } from 'node:crypto';
import type { AuditEntry } from '../audit/audit.core.ts';
import { auditEntry, writeAudit } from '../audit/audit.service.ts';
import type { Deps } from '../deps.ts';
import type { Principal } from '../keys/keys.core.ts';
import { DomainError, invalidField, notFound } from '../shared/errors.ts';
import { localDateString } from './expiry.core.ts';
import {
  type Attachment,
  attachment,
  type BatchWriter,
  fingerprintOf,
  type Submitted,
} from './ledger.batch.ts';
import {
  type Account,
  type Command,
  type CommandResult,
  type Hold,
  isUsable,
  type LedgerConfig,
  type Limit,
  type LinkedPart,
  type Lot,
  type Outcome,
  type Share,
  type TransferCode,
} from './ledger.core.ts';
import * as repo from './ledger.repository.ts';

// The ledger's public interface. Every module that moves value — points, growth value, a
// coalition's hub currency, stored value — calls these typed operations, each on the ledger it
// names, with a command id made from its own business key (`purchase:<id>`): a repeat of an id
// returns the first outcome, whatever has happened since. The member's standing (enrolled, not
// erased or merged away, not blocked for a benefit) is checked in the batch, under the member's
// lock, so no caller can forget it and no merge can slip between the check and the move.
//
// A module's own rows commit with its ledger move by being attached to the command (`Attach`):
// they are written in the batch's transaction, or not at all. The ledger is never called from
// inside a transaction: its batch is the transaction.

/** An operation's outcome as the caller sees it: its typed result, or the refusal. */
export type Settled<R> = { ok: true; value: R } | { ok: false; error: DomainError };

/**
 * What a caller adds to an operation: rows written in the operation's batch, in its transaction,
 * made with its typed outcome (`settle`). How HTTP stores the response to an Idempotency-Key, and
 * how a module writes its own rows with the move.
 */
export type Attach<R> = (settle: (outcome: Outcome) => Settled<R>) => Attachment[];

/**
 * A claim found this request answered before (an Idempotency-Key seen already): the command did
 * not apply, and whoever attached the claim has the stored answer.
 */
export class AnsweredBefore extends Error {}

/**
 * Turns outcomes into typed results — the same `Settled` object each time for one outcome, so
 * that a writer that rendered something for the outcome a batch committed can tell it apart from
 * one it rendered in an attempt that rolled back: the caller receives that very object.
 */
function settler<R>(toResult: (r: CommandResult, replayed: boolean) => R) {
  const settled = new WeakMap<Outcome, Settled<R>>();
  return (o: Outcome): Settled<R> => {
    let s = settled.get(o);
    if (!s) {
      s =
        o.status === 'applied'
          ? { ok: true, value: toResult(o.result, o.replayed === true) }
          : { ok: false, error: new DomainError(o.code, o.detail, o.extensions) };
      settled.set(o, s);
    }
    return s;
  };
}

async function run<R>(
  deps: Deps,
  item: Submitted,
  toResult: (r: CommandResult, replayed: boolean) => R,
  attach?: Attach<R>,
): Promise<R> {
  if (deps.db.isTransaction) {
    // A caller's open transaction would commit apart from the batch (and could wait on it while
    // it waits on the caller): attach rows to the command instead.
    throw new Error('the ledger is called outside any transaction: its batch is the transaction');
  }
  const settle = settler(toResult);
  const outcome = await deps.ledger.submit({
    ...item,
    attachments: [...(item.attachments ?? []), ...(attach?.(settle) ?? [])],
  });
  if (outcome.status === 'answered') throw new AnsweredBefore();
  const settled = settle(outcome);
  if (!settled.ok) throw settled.error;
  return settled.value;
}

/**
 * An `Attach` for an operation whose result a module wraps in its own (growth value wraps a
 * credit): the caller's attach sees the module's result, and `result` turns the operation's
 * value into that same object — one per value, so that `answer()` recognises its rendering.
 */
export function wrapAttach<A extends object, B>(
  attach: Attach<B> | undefined,
  wrap: (a: A) => B,
): { attach: Attach<A> | undefined; result: (a: A) => B } {
  const wrapped = new WeakMap<A, B>();
  const result = (a: A): B => {
    let b = wrapped.get(a);
    if (b === undefined) {
      b = wrap(a);
      wrapped.set(a, b);
    }
    return b;
  };
  const settled = new WeakMap<Settled<A>, Settled<B>>();
  return {
    result,
    attach:
      attach &&
      ((settle) =>
        attach((outcome) => {
          const s = settle(outcome);
          let t = settled.get(s);
          if (!t) {
            t = s.ok ? { ok: true, value: result(s.value) } : s;
            settled.set(s, t);
          }
          return t;
        })),
  };
}

/** The request a command answers, for its fingerprint: a repeat must ask for the same thing. */
const requestPrint = (input: object, extra: object = {}) => {
  const { commandId: _commandId, ...request } = input as { commandId?: string };
  return fingerprintOf({ ...request, ...extra });
};

// --- moving value ---

interface Movement {
  /** The ledger (currency) moved on, e.g. `pointsLedger(programId)`. */
  ledger: string;
  memberId: string;
  points: number;
  /** Why the points move, recorded on the transfer. */
  code: TransferCode;
  /** What caused it: an order number, a receipt. */
  reference: string | null;
  /** From the caller's business key (`purchase:<id>`): a repeat returns the first outcome. */
  commandId: string;
}

export interface CreditInput extends Movement {
  /**
   * `issuance` (default): the member earns, a benefit; `adjustment`: an operator's correction;
   * `exchange`: converted in from another program.
   */
  from?: 'issuance' | 'adjustment' | 'exchange';
  /** Points in a return window are pending until then. */
  pendingUntil?: Date | null;
  /** Counters the credit counts against (a daily cap), locked in the batch. */
  limits?: Limit[];
  /** With limits: credit what they leave, possibly nothing, rather than refuse (`limit_reached`). */
  partial?: boolean;
  /** The points as shares under limits of their own (one lot of their sum); not with `limits`. */
  shares?: Share[];
}

export interface DebitInput extends Movement {
  /**
   * `redemption` (default): the member spends, a benefit; `adjustment`: an operator's correction;
   * `issuance`: earned points taken back (a return); `exchange` / `fee`: converted out to another
   * program, and the conversion's fee.
   */
  to?: 'redemption' | 'adjustment' | 'issuance' | 'exchange' | 'fee';
  /** Take what is available up to `points`, never below zero, rather than refuse. */
  atMost?: boolean;
  /** Lots to draw first (a purchase's own), or only (`only`), or only while pending. */
  lots?: { ids: string[]; only?: boolean; pendingOnly?: boolean };
  /** With `atMost`: write off what could not be taken (adjustment → `to`), reported back. */
  writeOff?: boolean;
}

export interface TransferResult {
  /** Null when a partial credit or an at-most debit moved nothing. */
  transferId: string | null;
  points: number;
  /** The member's posted balance after the transfer. */
  balance: number;
  /** A credit in shares: what each share was credited. */
  shares?: number[];
  /** A debit with `writeOff`: what could not be taken from the member. */
  writtenOff?: number;
  /** The ledger had this command id already: this is its first outcome. */
  replayed: boolean;
}

const transferResult = (r: CommandResult, replayed: boolean): TransferResult => ({
  transferId: r.transferId ?? null,
  points: r.points as number,
  balance: r.balance as number,
  ...(r.shares && { shares: r.shares }),
  ...(r.writtenOff !== undefined && { writtenOff: r.writtenOff }),
  replayed,
});

function creditPart(input: CreditInput): LinkedPart {
  return {
    type: 'credit',
    to: { ledger: input.ledger, memberId: input.memberId },
    from: input.from ?? 'issuance',
    amount: input.points,
    code: input.code,
    reference: input.reference,
    // expiresAt left out: the batch applies the ledger's policy as of the credit
    pendingUntil: input.pendingUntil ?? null,
    ...(input.limits?.length && { limits: input.limits, partial: input.partial === true }),
    ...(input.shares && { shares: input.shares, partial: input.partial === true }),
  };
}

function debitPart(input: DebitInput): LinkedPart {
  return {
    type: 'debit',
    from: { ledger: input.ledger, memberId: input.memberId },
    to: input.to ?? 'redemption',
    amount: input.points,
    code: input.code,
    reference: input.reference,
    ...(input.atMost && { atMost: true }),
    ...(input.lots && { lots: input.lots }),
    ...(input.writeOff && { writeOff: true }),
  };
}

/** Credits points to a member: a lot that expires by the ledger's policy. For earning, refunds. */
export function credit(deps: Deps, input: CreditInput, attach?: Attach<TransferResult>) {
  return run(
    deps,
    { command: { ...creditPart(input), id: input.commandId }, fingerprint: requestPrint(input) },
    transferResult,
    attach,
  );
}

/** Spends points in one step, soonest-expiring lots first. */
export function debit(deps: Deps, input: DebitInput, attach?: Attach<TransferResult>) {
  return run(
    deps,
    { command: { ...debitPart(input), id: input.commandId }, fingerprint: requestPrint(input) },
    transferResult,
    attach,
  );
}

export interface AdjustInput {
  ledger: string;
  memberId: string;
  /** Positive credits the member, negative takes points away. */
  points: number;
  reason: string;
  commandId: string;
  actor: Principal;
}

/** Audit rows of adjustments, written in the batch with the transfer they record. */
const adjustmentAudit: BatchWriter<{ entry: AuditEntry; ledger: string }> = {
  name: 'points.adjusted',
  stage: 'rows',
  async write(trx, rows) {
    const applied = rows.flatMap(({ row, outcome }) =>
      outcome.status === 'applied' && !outcome.replayed ? [{ row, outcome }] : [],
    );
    if (applied.length === 0) return;
    const programs = await repo.programsOf(
      trx,
      applied.map(({ row }) => row.ledger),
    );
    await writeAudit(
      trx,
      applied.map(({ row, outcome }) => ({
        ...row.entry,
        programId: programs.get(row.ledger) ?? null,
        after: { ...(row.entry.after as object), transferId: outcome.result.transferId },
      })),
    );
  },
};

/**
 * A manual adjustment by an operator, with its reason: a credit from or a debit to the ledger's
 * adjustment account (allowed for a blocked member, unlike earning and spending), audited in the
 * batch's transaction.
 */
export function adjust(deps: Deps, input: AdjustInput, attach?: Attach<TransferResult>) {
  const audit = attachment(adjustmentAudit, {
    ledger: input.ledger,
    entry: auditEntry(deps, {
      actor: input.actor,
      action: 'points.adjusted',
      memberId: input.memberId,
      after: { points: input.points, reason: input.reason },
    }),
  });
  const movement = {
    ledger: input.ledger,
    memberId: input.memberId,
    points: Math.abs(input.points),
    code: 'adjust' as const,
    reference: input.reason,
    commandId: input.commandId,
  };
  const command: Command =
    input.points > 0
      ? { ...creditPart({ ...movement, from: 'adjustment' }), id: input.commandId }
      : { ...debitPart({ ...movement, to: 'adjustment' }), id: input.commandId };
  const { actor: _actor, ...request } = input;
  return run(
    deps,
    { command, fingerprint: requestPrint(request, { type: 'adjust' }), attachments: [audit] },
    transferResult,
    attach,
  );
}

export type LinkedPartInput =
  | (Omit<CreditInput, 'commandId'> & { type: 'credit' })
  | (Omit<DebitInput, 'commandId'> & { type: 'debit' });

export interface LinkedResult {
  /** Each part's transfer, in order. */
  parts: Omit<TransferResult, 'replayed'>[];
  replayed: boolean;
}

/**
 * Credits and debits, on one ledger or several, that all apply or none — what a conversion between
 * brands, or a purchase's points and growth value, is made of. Refused as a whole, with the first
 * failing part's reason, when any part cannot apply. With no parts it moves nothing but still
 * writes its attachments once per command id (a purchase that earned nothing is recorded too).
 * `request`: what a repeat must match, when the parts are computed from it (rules that changed
 * since must not make a retry a conflict); the parts themselves by default.
 */
export async function linked(
  deps: Deps,
  input: { commandId: string; parts: LinkedPartInput[]; request?: unknown },
  attach?: Attach<LinkedResult>,
) {
  for (const [i, p] of input.parts.entries()) {
    if (!Number.isSafeInteger(p.points) || p.points <= 0)
      throw invalidField(`parts.${i}.points`, 'must be a positive whole number');
  }
  return run(
    deps,
    {
      command: {
        type: 'linked',
        id: input.commandId,
        parts: input.parts.map((p) =>
          p.type === 'credit'
            ? creditPart({ ...p, commandId: input.commandId })
            : debitPart({ ...p, commandId: input.commandId }),
        ),
      },
      fingerprint:
        input.request === undefined
          ? requestPrint(input, { type: 'linked' })
          : fingerprintOf({ type: 'linked', request: input.request }),
    },
    linkedResult,
    attach,
  );
}

/** A linked command's typed result, from its outcome (also for a writer reading an outcome). */
export const linkedResult = (r: CommandResult, replayed: boolean): LinkedResult => ({
  parts: (r.parts ?? []).map((p) => {
    const { replayed: _, ...part } = transferResult(p, replayed);
    return part;
  }),
  replayed,
});

// --- holds ---

export interface HoldInput extends Omit<Movement, 'code'> {
  /** How long the hold lasts; at its end its points come back. */
  expiresInSeconds: number;
}

export interface HoldResult {
  hold: Hold;
  replayed: boolean;
}

const holdResult = (r: CommandResult, replayed: boolean): HoldResult => ({
  hold: r.hold as Hold,
  replayed,
});

/** Reserves points: capture all or part of them later, or release them. */
export function hold(deps: Deps, input: HoldInput, attach?: Attach<HoldResult>) {
  return run(
    deps,
    {
      command: {
        type: 'hold',
        id: input.commandId,
        from: { ledger: input.ledger, memberId: input.memberId },
        // Derived from the command, so that a retried request names the same hold.
        holdId: `hld_${createHash('sha256').update(input.commandId).digest('hex').slice(0, 26)}`,
        amount: input.points,
        reference: input.reference,
        expiresAt: new Date(deps.clock.now().getTime() + input.expiresInSeconds * 1000),
      },
      fingerprint: requestPrint(input, { type: 'hold' }),
    },
    holdResult,
    attach,
  );
}

export interface HoldActionInput {
  ledger: string;
  /** The member the caller believes holds it: a hold of anyone else is not found. */
  memberId: string;
  holdId: string;
  commandId: string;
}

/** Captures all of a hold or part of it (`points`); the rest goes back to the member. */
export function capture(
  deps: Deps,
  input: HoldActionInput & { points: number | null },
  attach?: Attach<HoldResult>,
) {
  return run(
    deps,
    {
      command: {
        type: 'capture',
        id: input.commandId,
        holdId: input.holdId,
        owner: { ledger: input.ledger, memberId: input.memberId },
        amount: input.points,
      },
      fingerprint: requestPrint(input, { type: 'capture' }),
    },
    holdResult,
    attach,
  );
}

/** Releases a hold: its points go back to the lots they came from. */
export function release(deps: Deps, input: HoldActionInput, attach?: Attach<HoldResult>) {
  return run(
    deps,
    {
      command: {
        type: 'release',
        id: input.commandId,
        holdId: input.holdId,
        owner: { ledger: input.ledger, memberId: input.memberId },
      },
      fingerprint: requestPrint(input, { type: 'release' }),
    },
    holdResult,
    attach,
  );
}

// --- merge ---

export interface MergeResult {
  /** Points moved to the survivor, over every ledger. */
  moved: number;
  replayed: boolean;
}

/**
 * Moves everything `from` holds, in every ledger, to `into`: lots with their expiry, and pending
 * holds under the same ids. The members module attaches its own rows (identifiers, enrollments,
 * the audit) so that the whole merge is one transaction.
 */
export function merge(
  deps: Deps,
  input: { from: string; into: string; commandId: string },
  attach?: Attach<MergeResult>,
) {
  return run(
    deps,
    {
      command: { type: 'merge', id: input.commandId, from: input.from, into: input.into },
      fingerprint: requestPrint(input, { type: 'merge' }),
    },
    (r, replayed) => ({ moved: r.moved ?? 0, replayed }),
    attach,
  );
}

// --- ledgers ---

/**
 * Opens a ledger with its system accounts, in the owning module's transaction (a program opens
 * its points ledger when it is created). Opening one that exists changes nothing.
 */
export async function openLedger(deps: Pick<Deps, 'db' | 'clock' | 'ids'>, config: LedgerConfig) {
  const now = deps.clock.now();
  if (!(await repo.insertLedger(deps.db, config, now))) return;
  await repo.ensureSystemAccounts(deps.db, config.id, config.programId, () => deps.ids('acc'), now);
}

/** Changes a ledger's settings, in the owning module's transaction: the next batch uses them. */
export async function configureLedger(
  deps: Pick<Deps, 'db'>,
  ledger: string,
  changes: repo.LedgerChanges,
) {
  await repo.updateLedger(deps.db, ledger, changes);
}

export async function getLedger(deps: Pick<Deps, 'db'>, ledger: string): Promise<LedgerConfig> {
  const config = await repo.findLedger(deps.db, ledger);
  if (!config) throw notFound(`Ledger ${ledger}`);
  return config;
}

/**
 * Sets the time zone and status of every ledger of a program, in the owning module's transaction
 * (a program suspended takes no new business in any of its currencies).
 */
export async function configureProgramLedgers(
  deps: Pick<Deps, 'db'>,
  programId: string,
  changes: Pick<repo.LedgerChanges, 'timezone' | 'status'>,
) {
  await repo.updateProgramLedgers(deps.db, programId, changes);
}

/**
 * Forgets limit counters whose period is over (a day's cap, a day later): the scheduler's work,
 * so that one row per member, source and day does not pile up.
 */
export function forgetLimits(deps: Pick<Deps, 'db' | 'clock'>) {
  return repo.forgetLimits(deps.db, new Date(deps.clock.now().getTime() - 86_400_000));
}

/** How much of each limit counter is used now (0 for one never used). */
export function limitsUsed(deps: Pick<Deps, 'db'>, ledger: string, keys: string[]) {
  return repo.limitsUsed(deps.db, ledger, keys);
}

/** A ledger's system accounts (issuance, redemption, breakage, adjustment), once it has any. */
export function systemAccountsOf(deps: Pick<Deps, 'db'>, ledger: string) {
  return repo.systemAccounts(deps.db, ledger);
}

// --- reads ---

/** The hold, if it belongs to this member in this ledger. */
export async function getHold(
  deps: Pick<Deps, 'db'>,
  ledger: string,
  memberId: string,
  holdId: string,
): Promise<Hold> {
  const found = await repo.findHold(deps.db, ledger, holdId);
  if (!found || found.memberId !== memberId) throw notFound(`Hold ${holdId}`);
  return found;
}

export interface PointsBalance {
  balance: number;
  available: number;
  pending: number;
  held: number;
  expiring: { date: string; points: number }[];
}

/**
 * A member's points as of now: balance (posted), held (by holds), pending (in a return window)
 * and available to spend, with what expires when (by local date in the ledger's time zone).
 */
export function balanceView(
  account: Account | undefined,
  lots: Lot[],
  now: Date,
  timezone: string,
): PointsBalance {
  if (!account) return { balance: 0, available: 0, pending: 0, held: 0, expiring: [] };
  // Lots past expiry that the scheduler has not swept yet are already gone for the member.
  const expired = lots
    .filter((l) => l.remaining > 0 && l.expiresAt !== null && l.expiresAt <= now)
    .reduce((s, l) => s + l.remaining, 0);
  const pending = lots
    .filter(
      (l) =>
        l.remaining > 0 &&
        l.pendingUntil !== null &&
        l.pendingUntil > now &&
        !(l.expiresAt !== null && l.expiresAt <= now),
    )
    .reduce((s, l) => s + l.remaining, 0);
  const balance = account.creditsPosted - account.debitsPosted - expired;
  const held = account.debitsPending;
  const byDate = new Map<string, number>();
  for (const l of lots) {
    if (l.expiresAt === null || l.remaining === 0 || l.expiresAt <= now) continue;
    // The last day the points can be used, in the ledger's time zone.
    const date = localDateString(new Date(l.expiresAt.getTime() - 1), timezone);
    byDate.set(date, (byDate.get(date) ?? 0) + l.remaining);
  }
  return {
    balance,
    available: balance - held - pending,
    pending,
    held,
    expiring: [...byDate.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([date, points]) => ({ date, points })),
  };
}

export async function balanceOf(
  deps: Pick<Deps, 'db' | 'clock'>,
  ledger: string,
  memberId: string,
): Promise<PointsBalance> {
  const config = await getLedger(deps, ledger);
  const account = await repo.findMemberAccount(deps.db, ledger, memberId);
  const lots = account ? await repo.listLots(deps.db, account.id, true) : [];
  return balanceView(account, lots, deps.clock.now(), config.timezone);
}

/** A member's lots in a ledger: every one, or (`openOnly`) those with points left. */
export async function lotsOf(
  deps: Pick<Deps, 'db' | 'clock'>,
  ledger: string,
  memberId: string,
  { openOnly = false }: { openOnly?: boolean } = {},
): Promise<(Lot & { usable: boolean })[]> {
  const account = await repo.findMemberAccount(deps.db, ledger, memberId);
  const now = deps.clock.now();
  return account
    ? (await repo.listLots(deps.db, account.id, openOnly)).map((l) => ({
        ...l,
        usable: isUsable(l, now),
      }))
    : [];
}

/**
 * Posted movements of the members' accounts in a ledger, newest first — a member's own, and
 * those of the members merged into it (the caller names them: who was merged into whom is the
 * members module's to say).
 */
export async function historyOf(
  deps: Pick<Deps, 'db'>,
  ledger: string,
  memberIds: string[],
  before: string | undefined,
  limit: number,
) {
  const accounts = await repo.accountsOf(deps.db, ledger, memberIds);
  return accounts.length ? repo.history(deps.db, accounts, before, limit) : [];
}

/**
 * Members whose balance in a ledger a window moved between `from` (exclusive; null: ever) and
 * `to`: lots of theirs expired then.
 */
export function membersWithLotsExpiring(
  deps: Pick<Deps, 'db'>,
  ledger: string,
  from: Date | null,
  to: Date,
) {
  return repo.membersWithLotsExpiring(deps.db, ledger, from, to);
}

/** Members' balances in a ledger as of `at` (lots expired by then count as gone), set-based. */
export function balancesAt(deps: Pick<Deps, 'db'>, ledger: string, memberIds: string[], at: Date) {
  return repo.balancesAt(deps.db, ledger, memberIds, at);
}

/** Points of members' lots expiring in (`from`, `to`], a page of members at a time. */
export function expiringPoints(
  deps: Pick<Deps, 'db'>,
  ledger: string,
  window: { from: Date; to: Date },
  afterMember: string,
  limit: number,
) {
  return repo.expiringPoints(deps.db, ledger, window.from, window.to, afterMember, limit);
}

/** Members' points available to spend at `at` (what `balanceOf` calls `available`), set-based. */
export function availableAt(deps: Pick<Deps, 'db'>, ledger: string, memberIds: string[], at: Date) {
  return repo.availableAt(deps.db, ledger, memberIds, at);
}

/** Which of these members hold anything (posted, held or pending) in any ledger. */
export function membersHoldingValue(deps: Pick<Deps, 'db'>, memberIds: string[]) {
  return repo.membersHoldingValue(deps.db, memberIds);
}

/** Expires every lot and hold that is due, account by account in batches; returns how many accounts. */
export async function sweepExpired(deps: Deps): Promise<number> {
  let total = 0;
  let previous = '';
  for (;;) {
    const due = await repo.accountsDue(deps.db, deps.clock.now(), 500);
    // Nothing due, or nothing changed since the last round (a guard, not an expected path).
    if (due.length === 0 || due.join() === previous) return total;
    previous = due.join();
    await Promise.all(
      due.map((accountId) =>
        deps.ledger.submit({ command: { type: 'sweep', id: `sweep:${accountId}`, accountId } }),
      ),
    );
    total += due.length;
  }
}
