import { createHash } from 'node:crypto';
import type { Trx } from '../db/database.ts';
import type { IdGenerator } from '../shared/ids.ts';
import {
  type Account,
  apply,
  type BatchState,
  type Command,
  type Draw,
  emptyChanges,
  expireDue,
  type Hold,
  type Outcome,
  refKey,
  refsOf,
  type SystemKind,
} from './ledger.core.ts';
import * as repo from './ledger.repository.ts';

/** A command as the batch receives it. */
export interface Submitted {
  command: Command;
  /**
   * What a repeat of the command must match: the request as the caller made it (a retry made
   * later computes another expiry time, so the command itself is not the request).
   */
  fingerprint?: Buffer;
  /** Written in the batch's transaction when the command applies (e.g. an audit row). */
  onApplied?: (trx: Trx, outcome: Outcome) => Promise<void>;
}

export interface BatchContext {
  now: Date;
  ids: IdGenerator;
  /** System accounts per ledger, created before the batch so that it never waits to create them. */
  systemAccounts: (ledger: string) => Map<SystemKind, string>;
  programOf: (ledger: string) => string;
}

/** A fingerprint of any request content. */
export function fingerprintOf(content: unknown): Buffer {
  return createHash('sha256').update(JSON.stringify(content)).digest();
}

function fingerprint(item: Submitted): Buffer {
  if (item.fingerprint) return item.fingerprint;
  const { id: _id, ...content } = item.command;
  return fingerprintOf(content);
}

/** A batch that must run again from the start (it met a change it could not account for). */
export class RetryBatch extends Error {}

function revive(result: unknown): Outcome {
  const r = {
    ...(result as Outcome & { result?: { hold?: Record<string, unknown> } }),
    replayed: true,
  };
  const hold = r.status === 'applied' ? r.result.hold : undefined;
  if (hold) {
    for (const k of ['expiresAt', 'createdAt', 'resolvedAt'] as const) {
      const v = hold[k as keyof typeof hold];
      (hold as Record<string, unknown>)[k] = typeof v === 'string' ? new Date(v) : v;
    }
  }
  return r;
}

/**
 * Runs commands in one transaction: locks what they touch, applies each in order (a rejected
 * command changes nothing and does not disturb its neighbours), writes everything set-based.
 * A repeated command id returns the first outcome; with different content it is refused.
 */
export async function runBatch(
  trx: Trx,
  items: Submitted[],
  ctx: BatchContext,
): Promise<Outcome[]> {
  const outcomes: (Outcome | undefined)[] = new Array(items.length);
  const recorded = items.filter((i) => i.command.type !== 'sweep').map((i) => i.command.id);
  const all = items.map((i) => i.command);

  // Lock in one order — holds, then member accounts by id, then system accounts at the end — so
  // that two batches never wait on each other in a circle.
  const mergeFrom = all.flatMap((c) => (c.type === 'merge' ? [c.from] : []));
  const mergeFromIds = await repo.memberAccountIds(trx, mergeFrom);
  const sweepIds = all.flatMap((c) => (c.type === 'sweep' ? [c.accountId] : []));
  // Holds a merge moves or a sweep may void: found first without locks, so they can be locked first.
  const movable = await repo.pendingHoldIdsOf(trx, [...mergeFromIds, ...sweepIds]);
  const holdIds = [...new Set([...all.flatMap((c) => refsOf(c).holds), ...movable])].sort();
  const holds = await repo.lockHolds(trx, holdIds);
  const refs = all.flatMap((c) => refsOf(c).members);
  const byId = [...new Set([...holds.map((h) => h.accountId), ...sweepIds])];
  const programIds = [...new Set(refs.map((r) => ctx.programOf(r.ledger)))];
  let reads = await repo.lockBatch(trx, recorded, refs, byId, programIds);
  const have = new Set(
    reads.accounts.flatMap((a) =>
      a.memberId ? [refKey({ ledger: a.ledger, memberId: a.memberId })] : [],
    ),
  );
  // Only commands that will run open wallets: a recorded one (a retry, or its id reused for
  // another member) is answered from its record and touches nothing.
  const missing = all
    .filter((c) => !reads.stored.has(c.id))
    .flatMap((c) => refsOf(c).members)
    .filter((r) => !have.has(refKey(r)));
  if (missing.length > 0) {
    // First use of a member's wallet: create it, then read again (the new rows are ours, locked).
    await repo.createMemberAccounts(trx, missing, () => ctx.ids('acc'), ctx.programOf, ctx.now);
    reads = await repo.lockBatch(trx, recorded, refs, byId, programIds);
  }
  const { stored, accounts } = reads;

  const firstInBatch = new Map<string, number>();
  const toApply: number[] = [];
  items.forEach((item, i) => {
    const c = item.command;
    const prior = stored.get(c.id);
    if (prior) {
      outcomes[i] = prior.fingerprint.equals(fingerprint(item))
        ? revive(prior.result)
        : {
            status: 'rejected',
            code: 'command_id_reused',
            detail: `Command ${c.id} was used for a different request`,
          };
      return;
    }
    if (c.type !== 'sweep') {
      if (firstInBatch.has(c.id)) return; // resolved after the first one applies
      firstInBatch.set(c.id, i);
    }
    toApply.push(i);
  });

  const accountMap = new Map(accounts.map((a) => [a.id, a]));
  const memberAccounts = new Map(
    accounts
      .filter((a) => a.memberId)
      .map((a) => [refKey({ ledger: a.ledger, memberId: a.memberId as string }), a.id]),
  );
  if (mergeFromIds.length > 0) {
    const now = await repo.pendingHoldIdsOf(trx, mergeFromIds);
    if (now.some((id) => !holdIds.includes(id)))
      throw new RetryBatch('a hold was placed while a merge was starting');
  }
  const holdMap = new Map<string, Hold>(holds.map((h) => [h.id, h]));
  const held = await repo.loadHoldDraws(
    trx,
    [...holdMap.values()].map((h) => h.pendingTransferId),
  );
  const lots = new Map([...held.lots, ...reads.lots].map((l) => [l.id, l]));
  const draws = new Map<string, Draw[]>();
  for (const d of held.draws) draws.set(d.transferId, [...(draws.get(d.transferId) ?? []), d]);

  const ledgers = [...new Set(accounts.map((a) => a.ledger))];
  const policies = reads.policies;
  const systemAccounts = new Map<string, string>();
  for (const ledger of ledgers) {
    for (const [kind, id] of ctx.systemAccounts(ledger))
      systemAccounts.set(`${ledger}|${kind}`, id);
  }

  const state: BatchState = {
    now: ctx.now,
    accounts: accountMap,
    memberAccounts,
    systemAccounts,
    lots,
    holds: holdMap,
    draws,
    newId: (prefix) => ctx.ids(prefix),
    policies: new Map(
      ledgers.map((l) => [
        l,
        policies.get(ctx.programOf(l)) ?? { policy: { kind: 'never' }, timezone: 'UTC' },
      ]),
    ),
  };
  const changes = emptyChanges();

  // Time first: expired lots are swept before anything is spent. (Holds whose time ran out cannot
  // be captured; the scheduler's sweep gives their points back.)
  const sweepId = `sweep:${ctx.now.toISOString()}`;
  for (const a of accounts) if (a.kind === 'member') expireDue(state, changes, a.id, sweepId);

  const records: repo.CommandRecord[] = [];
  const applied: { item: Submitted; outcome: Outcome }[] = [];
  for (const i of toApply) {
    const item = items[i] as Submitted;
    const outcome = applyAtomically(state, changes, item.command);
    outcomes[i] = outcome;
    if (item.command.type !== 'sweep') {
      records.push({
        id: item.command.id,
        fingerprint: fingerprint(item),
        status: outcome.status,
        errorCode: outcome.status === 'rejected' ? outcome.code : null,
        result: JSON.stringify(outcome),
      });
    }
    if (outcome.status === 'applied' && item.onApplied) applied.push({ item, outcome });
  }
  // Repeats within the batch get the first one's outcome.
  items.forEach((item, i) => {
    if (outcomes[i]) return;
    const first = firstInBatch.get(item.command.id) as number;
    const same = fingerprint(item).equals(fingerprint(items[first] as Submitted));
    outcomes[i] = same
      ? (outcomes[first] as Outcome)
      : {
          status: 'rejected',
          code: 'command_id_reused',
          detail: `Command ${item.command.id} was used for a different request`,
        };
  });

  await repo.writeBatch(trx, changes, holdMap, records, ctx.now);
  for (const { item, outcome } of applied) await item.onApplied?.(trx, outcome);
  return outcomes as Outcome[];
}

/**
 * Applies a command so that a rejection leaves no trace: the core checks before it changes
 * anything, and this guards that promise by snapshotting what a command can touch.
 */
function applyAtomically(
  state: BatchState,
  changes: ReturnType<typeof emptyChanges>,
  c: Command,
): Outcome {
  const marks = {
    transfers: changes.transfers.length,
    draws: changes.draws.length,
  };
  const outcome = apply(state, changes, c);
  if (
    outcome.status === 'rejected' &&
    (changes.transfers.length !== marks.transfers || changes.draws.length !== marks.draws)
  ) {
    throw new Error(`ledger core changed state for rejected command ${c.id}`);
  }
  return outcome;
}
