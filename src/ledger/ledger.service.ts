import { createHash } from 'node:crypto';
import { recordAudit } from '../audit/audit.service.ts';
import type { Trx } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import type { Principal } from '../keys/keys.core.ts';
import { checkStanding } from '../members/members.service.ts';
import { getProgram } from '../programs/programs.service.ts';
import { DomainError, invalidField, notFound } from '../shared/errors.ts';
import { localDateString } from './expiry.core.ts';
import { fingerprintOf, runBatch, type Submitted } from './ledger.batch.ts';
import {
  type Account,
  type Command,
  type CommandResult,
  type Hold,
  isUsable,
  type LinkedPart,
  type Lot,
  type TransferCode,
} from './ledger.core.ts';
import { pointsLedger } from './ledger.engine.ts';
import * as repo from './ledger.repository.ts';

/** The request a command answers, for its fingerprint: a repeat must ask for the same thing. */
type Request = Record<string, unknown>;

async function run(
  deps: Deps,
  programIds: string | string[],
  command: Command,
  request: Request,
  onApplied?: Submitted['onApplied'],
): Promise<CommandResult & { replayed: boolean }> {
  for (const programId of [programIds].flat()) await deps.ledger.prepare(pointsLedger(programId));
  const outcome = await deps.ledger.submit({
    command,
    fingerprint: fingerprintOf({ type: command.type, ...request }),
    ...(onApplied && { onApplied }),
  });
  if (outcome.status === 'rejected') {
    // A command id made from an Idempotency-Key: tell the client in the API's own words.
    if (outcome.code === 'command_id_reused' && command.id.startsWith(IDEMPOTENT_PREFIX)) {
      throw new DomainError(
        'idempotency_key_reused',
        'This Idempotency-Key was used for a different request; use a new key for a new request',
      );
    }
    throw new DomainError(outcome.code, outcome.detail);
  }
  return { ...outcome.result, replayed: outcome.replayed === true };
}

/** Command ids made from a client's Idempotency-Key start with this. */
export const IDEMPOTENT_PREFIX = 'idem:';

/**
 * Checks the member may use the program for this command — unless the command is a retry the
 * ledger has recorded, which gets its first answer whatever has happened to the member since.
 * One query for both.
 */
export async function gate(
  deps: Deps,
  commandId: string,
  programId: string,
  memberId: string,
  benefit: boolean,
): Promise<void> {
  const { recorded, standing } = await repo.commandAndStanding(
    deps.db,
    commandId,
    programId,
    memberId,
  );
  if (!recorded) checkStanding(programId, memberId, standing, benefit);
}

const ref = (programId: string, memberId: string) => ({
  ledger: pointsLedger(programId),
  memberId,
});

/** What a credit or a debit names; the command id is the caller's, apart. */
interface Movement {
  programId: string;
  memberId: string;
  points: number;
  code: TransferCode;
  reference: string | null;
}

export interface CreditInput extends Movement {
  /** Points in the return window are pending until then. */
  pendingUntil?: Date | null;
  commandId: string;
}

export interface DebitInput extends Movement {
  commandId: string;
}

const creditPart = (
  input: Movement & { pendingUntil?: Date | null },
  from: 'issuance' | 'adjustment',
): LinkedPart => ({
  type: 'credit',
  to: ref(input.programId, input.memberId),
  from,
  amount: input.points,
  code: input.code,
  reference: input.reference,
  // expiresAt left out: the batch applies the program's policy as of the credit
  pendingUntil: input.pendingUntil ?? null,
});

const debitPart = (input: Movement, to: 'redemption' | 'adjustment'): LinkedPart => ({
  type: 'debit',
  from: ref(input.programId, input.memberId),
  to,
  amount: input.points,
  code: input.code,
  reference: input.reference,
});

/** Credits points to a member: a lot that expires by the program's policy. For earning, refunds, adjustments. */
export function credit(
  deps: Deps,
  input: CreditInput,
  from: 'issuance' | 'adjustment' = 'issuance',
  onApplied?: Submitted['onApplied'],
) {
  return run(
    deps,
    input.programId,
    { ...creditPart(input, from), id: input.commandId },
    { ...input, commandId: undefined, from },
    onApplied,
  );
}

/** Spends points in one step, soonest-expiring lots first. */
export function debit(
  deps: Deps,
  input: DebitInput,
  to: 'redemption' | 'adjustment' = 'redemption',
  onApplied?: Submitted['onApplied'],
) {
  return run(
    deps,
    input.programId,
    { ...debitPart(input, to), id: input.commandId },
    { ...input, commandId: undefined, to },
    onApplied,
  );
}

export interface LinkedPartInput extends Movement {
  type: 'credit' | 'debit';
}

/**
 * Credits (from the program's issuance) and debits (to its redemption), on one program's points
 * or several, that all apply or none — what a conversion between brands is made of. Refused as a
 * whole, with the first failing part's reason, when any part cannot apply.
 */
export async function linked(deps: Deps, input: { commandId: string; parts: LinkedPartInput[] }) {
  if (input.parts.length === 0) throw invalidField('parts', 'at least one part is needed');
  for (const [i, p] of input.parts.entries()) {
    if (!Number.isSafeInteger(p.points) || p.points <= 0)
      throw invalidField(`parts.${i}.points`, 'must be a positive whole number');
  }
  return run(
    deps,
    input.parts.map((p) => p.programId),
    {
      type: 'linked',
      id: input.commandId,
      parts: input.parts.map((p) =>
        p.type === 'credit' ? creditPart(p, 'issuance') : debitPart(p, 'redemption'),
      ),
    },
    { parts: input.parts },
  );
}

/** A manual adjustment by an operator, with its reason, audited in the ledger's own transaction. */
export function adjust(
  deps: Deps,
  input: { programId: string; memberId: string; points: number; reason: string; commandId: string },
  actor: Principal,
) {
  const onApplied: Submitted['onApplied'] = async (trx, outcome) => {
    await recordAudit(
      { ...deps, db: trx },
      {
        actor,
        action: 'points.adjusted',
        programId: input.programId,
        memberId: input.memberId,
        after: {
          points: input.points,
          reason: input.reason,
          transferId: outcome.status === 'applied' ? outcome.result.transferId : null,
        },
      },
    );
  };
  const common = {
    programId: input.programId,
    memberId: input.memberId,
    code: 'adjust' as const,
    reference: input.reason,
    commandId: input.commandId,
  };
  return input.points > 0
    ? credit(deps, { ...common, points: input.points }, 'adjustment', onApplied)
    : debit(deps, { ...common, points: -input.points }, 'adjustment', onApplied);
}

export function placeHold(
  deps: Deps,
  input: {
    programId: string;
    memberId: string;
    points: number;
    reference: string | null;
    expiresInSeconds: number;
    commandId: string;
  },
) {
  return run(
    deps,
    input.programId,
    {
      type: 'hold',
      id: input.commandId,
      from: ref(input.programId, input.memberId),
      // Derived from the command, so that a retried request names the same hold.
      holdId: `hld_${createHash('sha256').update(input.commandId).digest('hex').slice(0, 26)}`,
      programId: input.programId,
      amount: input.points,
      reference: input.reference,
      expiresAt: new Date(deps.clock.now().getTime() + input.expiresInSeconds * 1000),
    },
    { ...input, commandId: undefined },
  );
}

/** The hold, if it belongs to this member of this program. */
export async function getHold(
  deps: Deps,
  programId: string,
  memberId: string,
  holdId: string,
): Promise<Hold> {
  const hold = await repo.findHold(deps.db, holdId);
  if (!hold || hold.programId !== programId || hold.memberId !== memberId)
    throw notFound(`Hold ${holdId}`);
  return hold;
}

export async function captureHold(
  deps: Deps,
  programId: string,
  memberId: string,
  holdId: string,
  points: number | null,
  commandId: string,
) {
  await getHold(deps, programId, memberId, holdId);
  return run(
    deps,
    programId,
    { type: 'capture', id: commandId, holdId, amount: points },
    { holdId, points },
  );
}

export async function releaseHold(
  deps: Deps,
  programId: string,
  memberId: string,
  holdId: string,
  commandId: string,
) {
  await getHold(deps, programId, memberId, holdId);
  return run(deps, programId, { type: 'release', id: commandId, holdId }, { holdId });
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
 * and available to spend, with what expires when (by local date in the program's time zone).
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
    // The last day the points can be used, in the program's time zone.
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

export async function pointsOf(
  deps: Deps,
  programId: string,
  memberId: string,
): Promise<PointsBalance> {
  const program = await getProgram(deps, programId);
  const account = await repo.findMemberAccount(deps.db, pointsLedger(programId), memberId);
  const lots = account ? await repo.listLots(deps.db, account.id, true) : [];
  return balanceView(account, lots, deps.clock.now(), program.timezone);
}

export async function lotsOf(
  deps: Deps,
  programId: string,
  memberId: string,
): Promise<(Lot & { usable: boolean })[]> {
  const account = await repo.findMemberAccount(deps.db, pointsLedger(programId), memberId);
  const now = deps.clock.now();
  return account
    ? (await repo.listLots(deps.db, account.id, false)).map((l) => ({
        ...l,
        usable: isUsable(l, now),
      }))
    : [];
}

export async function historyOf(
  deps: Deps,
  programId: string,
  memberId: string,
  before: string | undefined,
  limit: number,
) {
  const accounts = await repo.accountsOfMember(deps.db, pointsLedger(programId), memberId);
  return accounts.length ? repo.history(deps.db, accounts, before, limit) : [];
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
    const ledgers = await deps.db
      .selectFrom('ledger_accounts')
      .select('ledger')
      .distinct()
      .where('id', 'in', due)
      .execute();
    for (const { ledger } of ledgers) await deps.ledger.prepare(ledger);
    const outcomes = await Promise.all(
      due.map((accountId) =>
        deps.ledger.submit({ command: { type: 'sweep', id: `sweep:${accountId}`, accountId } }),
      ),
    );
    total += outcomes.length;
  }
}

/**
 * Merge, on the ledger's side, inside the caller's transaction: in every ledger where `fromId`
 * has points, its lots (with their expiry) and pending holds move to `intoId` as transfers.
 */
export async function movePoints(
  deps: Deps,
  trx: Trx,
  fromId: string,
  intoId: string,
): Promise<number> {
  const ledgers = await repo.ledgersOfMember(trx, fromId);
  for (const { ledger } of ledgers) await deps.ledger.prepare(ledger);
  const outcomes = await runBatch(
    trx,
    ledgers.map(({ ledger }) => ({
      command: {
        type: 'merge',
        id: `merge:${fromId}:${intoId}:${ledger}`,
        from: { ledger, memberId: fromId },
        to: { ledger, memberId: intoId },
      },
    })),
    deps.ledger.context(deps.clock.now()),
  );
  return outcomes.reduce((sum, o) => sum + (o.status === 'applied' ? (o.result.moved ?? 0) : 0), 0);
}
