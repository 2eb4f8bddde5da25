import { createHash } from 'node:crypto';
import type { Trx } from '../db/database.ts';
import type { MemberStanding } from '../members/members.core.ts';
import type { ErrorCode } from '../shared/errors.ts';
import type { IdGenerator } from '../shared/ids.ts';
import {
  admission,
  apply,
  type BatchState,
  type Command,
  type Draw,
  drawsOn,
  emptyChanges,
  expireDue,
  type Hold,
  type LedgerConfig,
  limitsOf,
  membersOf,
  type Outcome,
  refKey,
  refsOf,
  type SystemKind,
} from './ledger.core.ts';
import * as repo from './ledger.repository.ts';

/**
 * How a module makes its own rows and its ledger moves succeed or fail together: it hands the
 * command rows for its writer, and the batch writes them — set-based, one statement per writer
 * per batch — in the transaction that applies the command. A writer may first claim what its rows
 * must have to themselves (an Idempotency-Key): a row that cannot be claimed keeps its command
 * from applying at all.
 */
export interface BatchWriter<Row> {
  /** Named in logs. */
  readonly name: string;
  /** `rows`: a module's own data; `answers`: written last, and may read what the others wrote. */
  readonly stage: 'rows' | 'answers';
  /** Before any command applies and before the ledger takes a lock: one claim per row, in order. */
  claim?(trx: Trx, rows: Row[]): Promise<Claim[]>;
  /** After the commands applied: the rows, each with its command's outcome. */
  write(trx: Trx, rows: { row: Row; outcome: Outcome }[]): Promise<void>;
}

/**
 * A claim's verdict: the row is the command's; or the request was answered before (its answer is
 * stored, the command must not apply again); or it is refused (e.g. a key used for another request).
 */
export type Claim =
  | { status: 'claimed' }
  | { status: 'answered' }
  | { status: 'refused'; code: ErrorCode; detail: string };

/** A row for a writer, attached to one command. */
export interface Attachment<Row = unknown> {
  writer: BatchWriter<Row>;
  row: Row;
}

/** A row for `writer`, typed by it. */
export function attachment<Row>(writer: BatchWriter<Row>, row: Row): Attachment {
  return { writer, row };
}

/** A command as the batch receives it. */
export interface Submitted {
  command: Command;
  /**
   * What a repeat of the command must match: the request as the caller made it (a retry made
   * later computes another expiry time, so the command itself is not the request).
   */
  fingerprint?: Buffer;
  /** Rows written with the command, in its transaction (at most one of them with a claim). */
  attachments?: Attachment[];
}

/** What a caller hears: the command's outcome, or that a claim found the request answered before. */
export type BatchOutcome = Outcome | { status: 'answered' };

/**
 * Locks the members' rows, in id order, and reads their standing: the members module's, so that
 * a merge, an erasure or a block waits for the batch, or the batch for it.
 */
export type StandingReader = (
  trx: Trx,
  memberIds: string[],
) => Promise<Map<string, MemberStanding>>;

export interface BatchContext {
  now: Date;
  ids: IdGenerator;
  standings: StandingReader;
  /** System accounts of ledgers made before (the engine's cache); the batch makes the others. */
  systemAccounts: ReadonlyMap<string, Map<SystemKind, string>>;
}

export interface BatchResult {
  outcomes: BatchOutcome[];
  /** System accounts the batch read or made, for the engine to remember once it has committed. */
  systemAccounts: Map<string, Map<SystemKind, string>>;
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

/** The program a ledger belongs to; only asked of ledgers the batch has read. */
function programOf(ledgers: Map<string, LedgerConfig>, ledger: string): string {
  const config = ledgers.get(ledger);
  if (!config) throw new Error(`ledger ${ledger} was not read`);
  return config.programId;
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

const reused = (id: string): Outcome => ({
  status: 'rejected',
  code: 'command_id_reused',
  detail: `Command ${id} was used for a different request`,
});

/** Writers in the batch, each with its rows, in the order they write: module rows, then answers. */
function byWriter(items: Submitted[], include: (i: number) => boolean) {
  const groups = new Map<BatchWriter<unknown>, { index: number; row: unknown }[]>();
  items.forEach((item, index) => {
    if (!include(index)) return;
    for (const a of item.attachments ?? []) {
      const group = groups.get(a.writer) ?? [];
      group.push({ index, row: a.row });
      groups.set(a.writer, group);
    }
  });
  return [...groups].sort(
    ([a], [b]) => Number(a.stage === 'answers') - Number(b.stage === 'answers'),
  );
}

/**
 * Runs commands in one transaction: claims what their attachments need, locks what they touch,
 * applies each in order (a rejected command changes nothing and does not disturb its neighbours),
 * writes everything set-based, then the attachments. A repeated command id returns the first
 * outcome; with different content it is refused.
 *
 * Locks are taken in one order, the same everywhere a member is touched, so that nothing waits in
 * a circle: Idempotency-Keys (claims) → members' rows (by id) → holds (by id) → member accounts
 * (by id) → limit counters (by key) → the ledgers' system accounts (by id, in the final write).
 */
export async function runBatch(
  trx: Trx,
  items: Submitted[],
  ctx: BatchContext,
): Promise<BatchResult> {
  const outcomes: (BatchOutcome | undefined)[] = new Array(items.length);

  // 1. Claims, before anything else: a request answered before does not apply again.
  for (const [writer, rows] of byWriter(items, () => true)) {
    if (!writer.claim) continue;
    const claims = await writer.claim(
      trx,
      rows.map((r) => r.row),
    );
    rows.forEach(({ index }, k) => {
      const c = claims[k];
      if (!c || c.status === 'claimed' || outcomes[index]) return;
      outcomes[index] =
        c.status === 'answered'
          ? { status: 'answered' }
          : { status: 'rejected', code: c.code, detail: c.detail };
    });
  }
  const live = items.flatMap((item, i) => (outcomes[i] ? [] : [{ item, i }]));
  const commands = live.map(({ item }) => item.command);

  // 2. Members' rows, locked, with their standing. A capture's member is its hold's: read first.
  const named = commands.flatMap((c) => refsOf(c).holds);
  const owners = await repo.holdOwners(trx, named);
  const standings = await ctx.standings(trx, [
    ...new Set([...commands.flatMap(membersOf), ...owners.map((o) => o.memberId)]),
  ]);

  // 3. A merge takes every account of the duplicate, which no one can add to now that its row is
  //    locked, and the survivor's account in each of those ledgers.
  const merges = commands.flatMap((c) => (c.type === 'merge' ? [c] : []));
  const duplicates = await repo.accountsOfMembers(
    trx,
    merges.map((m) => m.from),
  );
  const intoOf = new Map(merges.map((m) => [m.from, m.into]));
  const mergeRefs = duplicates.flatMap((a) => [
    { ledger: a.ledger, memberId: a.memberId },
    { ledger: a.ledger, memberId: intoOf.get(a.memberId) as string },
  ]);

  // 4. Holds: those named, and the pending ones a merge moves or a sweep may void.
  const sweepIds = commands.flatMap((c) => (c.type === 'sweep' ? [c.accountId] : []));
  const movable = await repo.pendingHoldIdsOf(trx, [...duplicates.map((a) => a.id), ...sweepIds]);
  const holdIds = [...new Set([...named, ...movable])].sort();
  const holds = await repo.lockHolds(trx, holdIds);
  for (const h of holds) {
    const seen = owners.find((o) => o.id === h.id);
    // Moved by a merge in another batch since it was read: its new member is not locked here.
    if (seen && seen.memberId !== h.memberId) throw new RetryBatch(`hold ${h.id} moved`);
  }

  // 5. Member accounts, locked, with the commands recorded before and the ledgers' settings.
  const refs = [...commands.flatMap((c) => refsOf(c).members), ...mergeRefs];
  const byId = [...new Set([...holds.map((h) => h.accountId), ...sweepIds])];
  const ledgers = [
    ...new Set([
      ...refs.map((r) => r.ledger),
      ...commands.flatMap((c) =>
        c.type === 'capture' || c.type === 'release' ? [c.owner.ledger] : [],
      ),
    ]),
  ];
  const recorded = commands.filter((c) => c.type !== 'sweep').map((c) => c.id);
  // Every open lot of the accounts a command draws on, a merge moves or a hold or sweep names;
  // of the others (credited only), the lots due to expire.
  const drawing = new Set([...commands.flatMap(drawsOn), ...mergeRefs].map(refKey));
  const byIdSet = new Set(byId);
  const lotsFor = {
    all: (a: { ledger: string; memberId: string | null; id: string }) =>
      a.memberId === null ||
      byIdSet.has(a.id) ||
      drawing.has(refKey({ ledger: a.ledger, memberId: a.memberId })),
    now: ctx.now,
  };
  let reads = await repo.lockBatch(trx, recorded, refs, byId, ledgers, lotsFor);
  // Wallets are opened only for commands that will use them: not for one answered from its
  // record, nor for one its members' standing or its ledger refuses.
  const have = new Set(
    reads.accounts.flatMap((a) =>
      a.memberId ? [refKey({ ledger: a.ledger, memberId: a.memberId })] : [],
    ),
  );
  const admitted = { ledgers: reads.ledgers, standings };
  const missing = [
    ...commands
      .filter((c) => !reads.stored.has(c.id) && !admission(admitted, c))
      .flatMap((c) => refsOf(c).members),
    ...mergeRefs,
  ].filter((r) => !have.has(refKey(r)));
  if (missing.length > 0) {
    // First use of a member's wallet: create it, then lock and read those accounts alone (ours,
    // or one a concurrent batch made first, read once it has committed).
    await repo.createMemberAccounts(
      trx,
      missing,
      () => ctx.ids('acc'),
      (ledger) => programOf(reads.ledgers, ledger),
      ctx.now,
    );
    const made = await repo.lockBatch(trx, [], missing, [], [], lotsFor);
    reads = {
      ...reads,
      accounts: [...reads.accounts, ...made.accounts].sort((a, b) => (a.id < b.id ? -1 : 1)),
      lots: [...reads.lots, ...made.lots],
    };
  }
  const { stored, accounts } = reads;
  // Limit counters, after the member accounts: concurrent credits that count against one wait here.
  const limits = await repo.lockLimits(trx, commands.flatMap(limitsOf));

  // 6. System accounts of every ledger the batch touches (made when a ledger opens; here for a
  //    ledger opened before that was so).
  const systemAccounts = new Map<string, string>();
  const made = new Map<string, Map<SystemKind, string>>();
  for (const ledger of new Set(accounts.map((a) => a.ledger))) {
    let kinds = ctx.systemAccounts.get(ledger);
    if (!kinds) {
      const config = reads.ledgers.get(ledger) ?? (await repo.findLedger(trx, ledger));
      if (!config) throw new Error(`account of a ledger ${ledger} that does not exist`);
      kinds = await repo.ensureSystemAccounts(
        trx,
        ledger,
        config.programId,
        () => ctx.ids('acc'),
        ctx.now,
      );
      made.set(ledger, kinds);
    }
    for (const [kind, id] of kinds) systemAccounts.set(`${ledger}|${kind}`, id);
  }

  // 7. Which commands apply: a recorded one gets its first outcome; a repeat within the batch the
  //    first one's.
  const firstInBatch = new Map<string, number>();
  const toApply: number[] = [];
  for (const { item, i } of live) {
    const c = item.command;
    const prior = stored.get(c.id);
    if (prior) {
      outcomes[i] = prior.fingerprint.equals(fingerprint(item))
        ? revive(prior.result)
        : reused(c.id);
      continue;
    }
    if (c.type !== 'sweep') {
      if (firstInBatch.has(c.id)) continue; // resolved after the first one applies
      firstInBatch.set(c.id, i);
    }
    toApply.push(i);
  }

  const holdMap = new Map<string, Hold>(holds.map((h) => [h.id, h]));
  const held = await repo.loadHoldDraws(
    trx,
    [...holdMap.values()].map((h) => h.pendingTransferId),
  );
  const draws = new Map<string, Draw[]>();
  for (const d of held.draws) draws.set(d.transferId, [...(draws.get(d.transferId) ?? []), d]);
  const state: BatchState = {
    now: ctx.now,
    accounts: new Map(accounts.map((a) => [a.id, a])),
    memberAccounts: new Map(
      accounts
        .filter((a) => a.memberId)
        .map((a) => [refKey({ ledger: a.ledger, memberId: a.memberId as string }), a.id]),
    ),
    systemAccounts,
    lots: new Map([...held.lots, ...reads.lots].map((l) => [l.id, l])),
    holds: holdMap,
    draws,
    newId: (prefix) => ctx.ids(prefix),
    ledgers: reads.ledgers,
    standings,
    limits,
  };
  const changes = emptyChanges();

  // Time first: expired lots are swept before anything is spent. (Holds whose time ran out cannot
  // be captured; the scheduler's sweep gives their points back.)
  const sweepId = `sweep:${ctx.now.toISOString()}`;
  for (const a of accounts) if (a.kind === 'member') expireDue(state, changes, a.id, sweepId);

  const records: repo.CommandRecord[] = [];
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
  }
  for (const { item, i } of live) {
    if (outcomes[i]) continue;
    const first = firstInBatch.get(item.command.id) as number;
    const same = fingerprint(item).equals(fingerprint(items[first] as Submitted));
    outcomes[i] = same
      ? { ...(outcomes[first] as Outcome), replayed: true }
      : reused(item.command.id);
  }

  await repo.writeBatch(trx, changes, holdMap, records, ctx.now);

  // 8. The attachments of every command that was answered by the ledger (not by a claim).
  const claimedOrNone = new Set(live.map(({ i }) => i));
  for (const [writer, rows] of byWriter(items, (i) => claimedOrNone.has(i))) {
    await writer.write(
      trx,
      rows.map(({ index, row }) => ({ row, outcome: outcomes[index] as Outcome })),
    );
  }
  return { outcomes: outcomes as BatchOutcome[], systemAccounts: made };
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
