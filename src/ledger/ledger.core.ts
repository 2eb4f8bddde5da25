// The ledger's rules, with no I/O: a batch loads the state it touches, `apply` runs each command
// against it in order, and the batch writes what `apply` recorded in `Changes`. Property tests
// drive this same code against a simple model.

import {
  type MemberStanding,
  type StandingNeed,
  standingProblem,
} from '../members/members.core.ts';
import type { ErrorCode } from '../shared/errors.ts';
import { type ExpiryPolicy, expiresAt } from './expiry.core.ts';

/** The points ledger of a program: the currency its members earn and spend. */
export const pointsLedger = (programId: string) => `points:${programId}`;

/**
 * A ledger's own settings, kept by the ledger (written by the module that owns the currency):
 * which program it belongs to, when its credits expire, in which time zone, and whether it takes
 * new business.
 */
export interface LedgerConfig {
  id: string;
  programId: string;
  expiry: ExpiryPolicy;
  timezone: string;
  /** Suspended: no new earning, redemption or holds; adjustments and open holds go on. */
  status: 'active' | 'suspended';
}

/**
 * A ledger's system accounts. `exchange`: points converted out of the program go in, points
 * converted into it come out (what its brand settles with others); `fee`: exchange fees, the
 * coalition's income.
 */
export type SystemKind = 'issuance' | 'redemption' | 'breakage' | 'adjustment' | 'exchange' | 'fee';
export const SYSTEM_KINDS: readonly SystemKind[] = [
  'issuance',
  'redemption',
  'breakage',
  'adjustment',
  'exchange',
  'fee',
];

/** Why points moved. */
export const TRANSFER_CODES = [
  'earn',
  'redeem',
  'hold',
  'capture',
  'release',
  'expire',
  'refund',
  'adjust',
  'merge',
  'reverse',
  'convert',
  'fee',
] as const;
export type TransferCode = (typeof TRANSFER_CODES)[number];

export interface Account {
  id: string;
  ledger: string;
  kind: 'member' | SystemKind;
  memberId: string | null;
  debitsPending: number;
  debitsPosted: number;
  creditsPending: number;
  creditsPosted: number;
}

export interface Lot {
  /** The id of the credit transfer that made the lot. */
  id: string;
  accountId: string;
  amount: number;
  remaining: number;
  expiresAt: Date | null;
  pendingUntil: Date | null;
  createdAt: Date;
}

export type HoldStatus = 'pending' | 'captured' | 'released' | 'expired';

export interface Hold {
  id: string;
  programId: string;
  memberId: string;
  accountId: string;
  pendingTransferId: string;
  amount: number;
  status: HoldStatus;
  captured: number | null;
  reference: string | null;
  expiresAt: Date;
  createdAt: Date;
  resolvedAt: Date | null;
}

export type TransferKind = 'single' | 'pending' | 'post' | 'void';

export interface Transfer {
  id: string;
  commandId: string;
  ledger: string;
  debitAccountId: string;
  creditAccountId: string;
  amount: number;
  kind: TransferKind;
  pendingId: string | null;
  pendingAmount: number | null;
  code: TransferCode;
  reference: string | null;
  /** Posted balances after the transfer, of each side that is a member account (for history). */
  debitBalanceAfter: number | null;
  creditBalanceAfter: number | null;
  createdAt: Date;
}

export interface Draw {
  transferId: string;
  lotId: string;
  amount: number;
}

/**
 * A counter a credit may not take past `max` (a member's growth from one source in one day): the
 * batch locks it with the accounts, so concurrent credits never exceed it together. Counters only
 * grow; a key names its period (`day:2026-11-23|…`).
 */
export interface Limit {
  key: string;
  max: number;
  /**
   * What the credit counts against this counter when not its points (a conversion's daily limit
   * counts points of the program converted from). Only on a credit that is refused, not cut, at
   * its limit.
   */
  count?: number;
  /** When the counter's period is over and it can be forgotten (a day's cap: that day's end). */
  forgetAfter?: Date | null;
}

/** Part of a credit under limits of its own. */
export interface Share {
  amount: number;
  limits: Limit[];
}

/** A member's account in a ledger, named before it is resolved to an account id. */
export interface MemberRef {
  ledger: string;
  memberId: string;
}

export type Command =
  | {
      type: 'credit';
      id: string;
      to: MemberRef;
      /**
       * issuance: the member earns (a benefit: refused when blocked); adjustment: an operator's
       * correction; exchange: points converted in from another program (a benefit too).
       */
      from: 'issuance' | 'adjustment' | 'exchange';
      amount: number;
      code: TransferCode;
      reference: string | null;
      /** When the lot expires; undefined: by the ledger's policy at the time of the credit. */
      expiresAt?: Date | null;
      pendingUntil: Date | null;
      /** Counters the credit counts against, each up to its max. */
      limits?: Limit[];
      /**
       * With limits: credit what the limits leave (possibly nothing) rather than refuse. Without:
       * a credit over a limit is refused whole (`limit_reached`).
       */
      partial?: boolean;
      /**
       * The amount as shares, each under limits of its own (a purchase's earning rules, each with
       * its budget): one transfer and one lot of their sum. With `partial`, each share is cut to
       * what its limits leave. Not together with `limits`.
       */
      shares?: Share[];
    }
  | {
      type: 'debit';
      id: string;
      from: MemberRef;
      /**
       * redemption: the member spends (a benefit); adjustment: an operator's correction; issuance:
       * earned points taken back (a return); exchange / fee: converted to another program, and the
       * conversion's fee (benefits too).
       */
      to: 'redemption' | 'adjustment' | 'issuance' | 'exchange' | 'fee';
      amount: number;
      code: TransferCode;
      reference: string | null;
      /** Take what is available up to `amount` (never below zero) rather than refuse. */
      atMost?: boolean;
      /**
       * Lots to draw first — a return takes back the points its purchase earned from the lots the
       * purchase made, still pending or not. `only`: from them alone; `pendingOnly`: from those
       * of them still in their return window alone.
       */
      lots?: { ids: string[]; only?: boolean; pendingOnly?: boolean };
      /**
       * With `atMost`: what could not be taken is written off — moved from the adjustment account
       * to `to` — so that `to` sees the whole amount and the adjustment account the loss.
       */
      writeOff?: boolean;
    }
  | {
      type: 'hold';
      id: string;
      from: MemberRef;
      holdId: string;
      amount: number;
      reference: string | null;
      expiresAt: Date;
    }
  /** `owner`: the member and ledger the caller names; a hold of anyone else is not found. */
  | { type: 'capture'; id: string; holdId: string; owner: MemberRef; amount: number | null }
  | { type: 'release'; id: string; holdId: string; owner: MemberRef }
  /**
   * Credits and debits that all apply or none (a conversion between brands: points off the
   * member on one ledger, onto them on another). Their transfers carry this command's id.
   */
  | { type: 'linked'; id: string; parts: LinkedPart[] }
  /**
   * Moves everything a member holds, in every ledger, to another member: lots with their expiry,
   * and holds. It runs in a batch of its own (it changes who the members are).
   */
  | { type: 'merge'; id: string; from: string; into: string }
  /** Expires an account's due lots and holds (the scheduler's work; not recorded as a command). */
  | { type: 'sweep'; id: string; accountId: string };

/** A part of a linked command: a credit or a debit, without an id of its own. */
export type LinkedPart =
  | Omit<Extract<Command, { type: 'credit' }>, 'id'>
  | Omit<Extract<Command, { type: 'debit' }>, 'id'>;

const partMember = (p: LinkedPart) => (p.type === 'credit' ? p.to : p.from);

/**
 * The accounts a command locks, named before they are resolved: member accounts by ref, holds by
 * id. A merge's accounts are every account of its two members, which the batch finds itself.
 */
export function refsOf(c: Command): { members: MemberRef[]; holds: string[] } {
  switch (c.type) {
    case 'credit':
      return { members: [c.to], holds: [] };
    case 'debit':
    case 'hold':
      return { members: [c.from], holds: [] };
    case 'capture':
    case 'release':
      return { members: [], holds: [c.holdId] };
    case 'linked':
      return { members: c.parts.map(partMember), holds: [] };
    case 'merge':
    case 'sweep':
      return { members: [], holds: [] };
  }
}

/**
 * The member accounts whose spendable lots a command may draw on (debits, holds, a linked
 * command's debits). A batch loads every open lot of those; of an account only credited, only
 * the lots due to expire (what the batch sweeps first) — a member's years of earning are not read
 * to add to them.
 */
export function drawsOn(c: Command): MemberRef[] {
  switch (c.type) {
    case 'debit':
    case 'hold':
      return [c.from];
    case 'linked':
      return c.parts.flatMap((p) => (p.type === 'debit' ? [p.from] : []));
    default:
      return [];
  }
}

/** The members whose standing a command depends on (a capture's member is its hold's). */
export function membersOf(c: Command): string[] {
  switch (c.type) {
    case 'merge':
      return [c.from, c.into];
    case 'capture':
      return [c.owner.memberId];
    default:
      return refsOf(c).members.map((r) => r.memberId);
  }
}

export const refKey = (r: MemberRef) => `${r.ledger}|${r.memberId}`;

/** The limit counters a command's credits count against, with their ledger. */
export function limitsOf(c: Command): (Limit & { ledger: string })[] {
  const parts: LinkedPart[] = c.type === 'credit' ? [c] : c.type === 'linked' ? c.parts : [];
  return parts.flatMap((p) =>
    p.type === 'credit'
      ? [...(p.limits ?? []), ...(p.shares ?? []).flatMap((s) => s.limits)].map((l) => ({
          ...l,
          ledger: p.to.ledger,
        }))
      : [],
  );
}

export interface CommandResult {
  /** Null when a partial credit or an at-most debit moved nothing. */
  transferId?: string | null;
  points?: number;
  /** The member's posted balance after the command. */
  balance?: number;
  hold?: Hold;
  moved?: number;
  expired?: number;
  /** A linked command's parts' results, in order. */
  parts?: CommandResult[];
  /** A credit's shares: what each was credited. */
  shares?: number[];
  /** A debit's write-off: what could not be taken from the member. */
  writtenOff?: number;
}

/** What a command did; `replayed` when it is the recorded outcome of an earlier request with the same id. */
export type Outcome = (
  | { status: 'applied'; result: CommandResult }
  | { status: 'rejected'; code: ErrorCode; detail: string; extensions?: Record<string, unknown> }
) & { replayed?: boolean };

/** What a batch has loaded, and changes as commands apply. */
export interface BatchState {
  now: Date;
  accounts: Map<string, Account>;
  /** refKey → member account id */
  memberAccounts: Map<string, string>;
  /** `${ledger}|${kind}` → system account id */
  systemAccounts: Map<string, string>;
  lots: Map<string, Lot>;
  holds: Map<string, Hold>;
  /** Draws of loaded holds' pending transfers, in the order they were drawn. */
  draws: Map<string, Draw[]>;
  newId: (prefix: 'trf' | 'hld') => string;
  /** The batch's ledgers' settings, read in the batch so that a credit needs no read of its own. */
  ledgers: Map<string, LedgerConfig>;
  /** The standing of every member the batch's commands name, read under the members' locks. */
  standings: Map<string, MemberStanding>;
  /** `${ledger}|${key}` → how much of a limit is used, for the limits the batch's credits name. */
  limits: Map<string, number>;
}

/** What the batch must write. */
export interface Changes {
  transfers: Transfer[];
  newLots: Lot[];
  newLotIds: Set<string>;
  /** What each transfer drew from each lot; existing lots' remainders change by these sums. */
  draws: Draw[];
  holdsTouched: Set<string>;
  newHolds: Set<string>;
  /**
   * How much each account's totals change. Written as SQL arithmetic under the accounts' CHECKs,
   * never as values computed here, by the batch's one write statement (system accounts are not
   * locked while the batch runs, only by that statement).
   */
  deltas: Map<string, Totals>;
  /** How much each limit counter (`${ledger}|${key}`) grows. */
  limitDeltas: Map<string, number>;
}

export type Totals = Pick<
  Account,
  'debitsPending' | 'debitsPosted' | 'creditsPending' | 'creditsPosted'
>;

export function emptyChanges(): Changes {
  return {
    transfers: [],
    newLots: [],
    newLotIds: new Set(),
    draws: [],
    holdsTouched: new Set(),
    newHolds: new Set(),
    deltas: new Map(),
    limitDeltas: new Map(),
  };
}

const ledgerOf = (ref: MemberRef | { ledger: string }) => ref.ledger;

/** A command refused: it changed nothing. */
export type Rejection = Extract<Outcome, { status: 'rejected' }>;

function reject(code: ErrorCode, detail: string, extensions?: Record<string, unknown>): Rejection {
  return { status: 'rejected', code, detail, ...(extensions && { extensions }) };
}

/** Spendable now: not waiting out a return window, not expired, not used up. */
export function isUsable(lot: Lot, now: Date): boolean {
  return (
    lot.remaining > 0 &&
    (lot.pendingUntil === null || lot.pendingUntil <= now) &&
    (lot.expiresAt === null || lot.expiresAt > now)
  );
}

/** Soonest expiry first, never-expiring last; ties by age. */
export function byExpiry(a: Lot, b: Lot): number {
  const ea = a.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  const eb = b.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  if (ea !== eb) return ea - eb;
  const ca = a.createdAt.getTime();
  const cb = b.createdAt.getTime();
  return ca !== cb ? ca - cb : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

// Each account's lots, indexed once per lot map: a batch of a thousand members would otherwise
// scan every lot it loaded for each of them.
const lotIndexes = new WeakMap<Map<string, Lot>, Map<string, Lot[]>>();

function lotsOf(state: BatchState, accountId: string): Lot[] {
  let index = lotIndexes.get(state.lots);
  if (!index) {
    index = new Map();
    for (const lot of state.lots.values()) {
      const list = index.get(lot.accountId);
      if (list) list.push(lot);
      else index.set(lot.accountId, [lot]);
    }
    lotIndexes.set(state.lots, index);
  }
  return [...(index.get(accountId) ?? [])];
}

/** Adds a new lot to the state (and to its index, if one was made). */
function addLot(state: BatchState, lot: Lot): void {
  state.lots.set(lot.id, lot);
  const list = lotIndexes.get(state.lots)?.get(lot.accountId);
  if (list) list.push(lot);
  else lotIndexes.get(state.lots)?.set(lot.accountId, [lot]);
}

function memberAccount(state: BatchState, ref: MemberRef): Account {
  const id = state.memberAccounts.get(refKey(ref));
  const account = id && state.accounts.get(id);
  if (!account) throw new Error(`member account ${refKey(ref)} was not loaded`);
  return account;
}

function systemAccount(state: BatchState, ledger: string, kind: SystemKind): string {
  const id = state.systemAccounts.get(`${ledger}|${kind}`);
  if (!id) throw new Error(`system account ${ledger}|${kind} was not loaded`);
  return id;
}

type Field = 'debitsPending' | 'debitsPosted' | 'creditsPending' | 'creditsPosted';

function bump(
  state: BatchState,
  changes: Changes,
  accountId: string,
  field: Field,
  by: number,
): void {
  const account = state.accounts.get(accountId);
  if (account) account[field] += by; // what later commands of the batch see
  const delta = changes.deltas.get(accountId) ?? {
    debitsPending: 0,
    debitsPosted: 0,
    creditsPending: 0,
    creditsPosted: 0,
  };
  delta[field] += by;
  changes.deltas.set(accountId, delta);
}

export const balanceOf = (a: Account) => a.creditsPosted - a.debitsPosted;

function memberBalance(state: BatchState, accountId: string): number | null {
  const a = state.accounts.get(accountId);
  return a && a.kind === 'member' ? balanceOf(a) : null;
}

function transfer(
  state: BatchState,
  changes: Changes,
  t: Omit<Transfer, 'id' | 'createdAt' | 'debitBalanceAfter' | 'creditBalanceAfter'>,
): Transfer {
  const kind = t.kind;
  const posted = kind === 'single' ? t.amount : kind === 'post' ? t.amount : 0;
  const pendingIn = kind === 'pending' ? t.amount : 0;
  const pendingOut = kind === 'post' ? (t.pendingAmount ?? 0) : kind === 'void' ? t.amount : 0;
  for (const [side, id] of [
    ['debits', t.debitAccountId],
    ['credits', t.creditAccountId],
  ] as const) {
    if (posted) bump(state, changes, id, `${side}Posted`, posted);
    if (pendingIn) bump(state, changes, id, `${side}Pending`, pendingIn);
    if (pendingOut) bump(state, changes, id, `${side}Pending`, -pendingOut);
  }
  const full: Transfer = {
    ...t,
    id: state.newId('trf'),
    createdAt: state.now,
    debitBalanceAfter: memberBalance(state, t.debitAccountId),
    creditBalanceAfter: memberBalance(state, t.creditAccountId),
  };
  changes.transfers.push(full);
  return full;
}

function draw(changes: Changes, lot: Lot, transferId: string, amount: number): void {
  lot.remaining -= amount;
  changes.draws.push({ transferId, lotId: lot.id, amount });
}

/** Draws `amount` from `lots` in order; the caller has checked they hold enough. */
function drawFrom(changes: Changes, lots: Lot[], transferId: string, amount: number): Draw[] {
  const drawn: Draw[] = [];
  let left = amount;
  for (const lot of lots) {
    if (left === 0) break;
    const take = Math.min(lot.remaining, left);
    if (take === 0) continue;
    draw(changes, lot, transferId, take);
    drawn.push({ transferId, lotId: lot.id, amount: take });
    left -= take;
  }
  return drawn;
}

/** Gives back `amount` of what `drawn` took, the last-drawn lots first. */
function restore(
  state: BatchState,
  changes: Changes,
  drawn: Draw[],
  transferId: string,
  amount: number,
): void {
  let left = amount;
  for (const d of [...drawn].reverse()) {
    if (left === 0) break;
    const lot = state.lots.get(d.lotId);
    if (!lot) throw new Error(`lot ${d.lotId} of a hold was not loaded`);
    const give = Math.min(d.amount, left);
    draw(changes, lot, transferId, -give);
    left -= give;
  }
}

/**
 * The lots a debit or hold draws from, in order: the named lots first (still pending or not, but
 * not expired), then — unless the debit is to take from them alone — every spendable lot,
 * soonest-expiring first.
 */
function drawable(
  state: BatchState,
  accountId: string,
  named: { ids: string[]; only?: boolean; pendingOnly?: boolean } | undefined,
): Lot[] {
  const now = state.now;
  // A lot named twice is drawn once (counted twice, a debit would move more than it draws).
  const first = [...new Set(named?.ids)].flatMap((id) => {
    const lot = state.lots.get(id);
    const live =
      lot?.accountId === accountId &&
      lot.remaining > 0 &&
      (lot.expiresAt === null || lot.expiresAt > now) &&
      (!named?.pendingOnly || (lot.pendingUntil !== null && lot.pendingUntil > now));
    return live ? [lot] : [];
  });
  if (named?.only || named?.pendingOnly) return first;
  const taken = new Set(first.map((l) => l.id));
  return [
    ...first,
    ...lotsOf(state, accountId)
      .filter((l) => !taken.has(l.id) && isUsable(l, now))
      .sort(byExpiry),
  ];
}

/** Moves what a debit could not take from the member from the adjustment account to its target. */
function writeOff(
  state: BatchState,
  changes: Changes,
  c: Extract<Command, { type: 'debit' }>,
  amount: number,
): { writtenOff: number } {
  if (c.to !== 'adjustment') {
    transfer(state, changes, {
      commandId: c.id,
      ledger: c.from.ledger,
      debitAccountId: systemAccount(state, c.from.ledger, 'adjustment'),
      creditAccountId: systemAccount(state, c.from.ledger, c.to),
      amount,
      kind: 'single',
      pendingId: null,
      pendingAmount: null,
      code: 'adjust',
      reference: c.reference,
    });
  }
  return { writtenOff: amount };
}

/**
 * Sweeps a member account's expired lots to breakage. Runs before any debit in a batch so that
 * expired points are never spent, and from the scheduler for accounts nobody touches.
 */
export function expireDue(
  state: BatchState,
  changes: Changes,
  accountId: string,
  commandId: string,
): number {
  const account = state.accounts.get(accountId);
  if (!account) throw new Error(`account ${accountId} was not loaded`);
  const due = lotsOf(state, accountId)
    .filter((l) => l.remaining > 0 && l.expiresAt !== null && l.expiresAt <= state.now)
    .sort(byExpiry);
  let total = 0;
  for (const lot of due) {
    const amount = lot.remaining;
    const t = transfer(state, changes, {
      commandId,
      ledger: account.ledger,
      debitAccountId: account.id,
      creditAccountId: systemAccount(state, account.ledger, 'breakage'),
      amount,
      kind: 'single',
      pendingId: null,
      pendingAmount: null,
      code: 'expire',
      reference: lot.id,
    });
    draw(changes, lot, t.id, amount);
    total += amount;
  }
  return total;
}

/** Voids a hold whose time ran out; its points go back to the lots they came from. */
export function expireHold(
  state: BatchState,
  changes: Changes,
  holdId: string,
  commandId: string,
): boolean {
  const hold = state.holds.get(holdId);
  if (hold?.status !== 'pending' || hold.expiresAt > state.now) return false;
  voidHold(state, changes, hold, commandId, 'expired');
  return true;
}

function voidHold(
  state: BatchState,
  changes: Changes,
  hold: Hold,
  commandId: string,
  status: 'released' | 'expired',
): void {
  const account = state.accounts.get(hold.accountId);
  if (!account) throw new Error(`account ${hold.accountId} was not loaded`);
  const t = transfer(state, changes, {
    commandId,
    ledger: account.ledger,
    debitAccountId: account.id,
    creditAccountId: systemAccount(state, account.ledger, 'redemption'),
    amount: hold.amount,
    kind: 'void',
    pendingId: hold.pendingTransferId,
    pendingAmount: null,
    code: 'release',
    reference: hold.id,
  });
  restore(state, changes, state.draws.get(hold.pendingTransferId) ?? [], t.id, hold.amount);
  hold.status = status;
  hold.resolvedAt = state.now;
  changes.holdsTouched.add(hold.id);
}

/**
 * A copy of what a linked command's parts can touch — their member accounts, those accounts'
 * lots, the limit counters they name — for a trial run to change freely; what it only reads is
 * shared. Made per command, so it costs what the command touches, not what the batch loaded.
 */
function trialOf(state: BatchState, c: Extract<Command, { type: 'linked' }>): BatchState {
  const ids = [
    ...new Set(
      c.parts.flatMap((p) => {
        const id = state.memberAccounts.get(refKey(partMember(p)));
        return id ? [id] : [];
      }),
    ),
  ];
  const accounts = new Map<string, Account>();
  const lots = new Map<string, Lot>();
  for (const id of ids) {
    const account = state.accounts.get(id);
    if (account) accounts.set(id, { ...account });
    for (const lot of lotsOf(state, id)) lots.set(lot.id, { ...lot });
  }
  const limits = new Map<string, number>();
  for (const l of limitsOf(c)) {
    const k = `${l.ledger}|${l.key}`;
    const used = state.limits.get(k);
    if (used !== undefined) limits.set(k, used);
  }
  let n = 0;
  return {
    ...state,
    accounts,
    lots,
    // Linked parts are credits and debits: they neither place nor resolve holds.
    holds: new Map(),
    draws: new Map(),
    limits,
    newId: (prefix) => `${prefix}_trial${n++}`,
  };
}

/**
 * What a credit may add under its limits, share by share (a credit without shares is one share):
 * each share's amount, less under `partial`, or the refusal. Shares are taken in order, so two
 * shares under one counter never take more than it leaves together.
 */
function limited(
  state: BatchState,
  c: Extract<Command, { type: 'credit' }>,
): { amounts: number[]; used: Map<string, number> } | Rejection {
  const shares = c.shares ?? [{ amount: c.amount, limits: c.limits ?? [] }];
  const used = new Map<string, number>();
  const amounts: number[] = [];
  for (const share of shares) {
    let amount = share.amount;
    for (const l of share.limits) {
      const k = `${c.to.ledger}|${l.key}`;
      const left = Math.max(0, l.max - (state.limits.get(k) ?? 0) - (used.get(k) ?? 0));
      const counts = l.count ?? amount;
      if (left >= counts) continue;
      if (!c.partial || l.count !== undefined) {
        return reject(
          'limit_reached',
          `Limit ${l.key} leaves ${left} of ${l.max}; ${l.count ?? share.amount} were asked for`,
        );
      }
      amount = left;
    }
    // A counter named twice by one share counts once.
    const counted = new Map(share.limits.map((l) => [l.key, l.count ?? amount]));
    for (const [key, by] of counted) {
      const k = `${c.to.ledger}|${key}`;
      used.set(k, (used.get(k) ?? 0) + by);
    }
    amounts.push(amount);
  }
  return { amounts, used };
}

function insufficient(available: number, amount: number): Outcome {
  return reject(
    'insufficient_points',
    `Only ${available} points are available; ${amount} were asked for`,
  );
}

function configOf(state: BatchState, ledger: string): LedgerConfig {
  const config = state.ledgers.get(ledger);
  if (!config) throw new Error(`ledger ${ledger} was not loaded`);
  return config;
}

function policyExpiry(state: BatchState, ledger: string): Date | null {
  const config = configOf(state, ledger);
  return expiresAt(config.expiry, state.now, config.timezone);
}

const BUSINESS_DEBITS = new Set(['redemption', 'exchange', 'fee']);

/**
 * Whether a command may apply at all, before it is tried: its ledgers exist, its members may do
 * what it asks (enrolled, not erased or merged away, and to earn or spend, not blocked), and a
 * suspended ledger takes no new business. Pure: the batch asks it first, to open wallets only
 * for commands that can use them, and `apply` asks it again.
 */
export function admission(
  state: Pick<BatchState, 'ledgers' | 'standings'>,
  c: Command,
): Rejection | undefined {
  const check = (ref: MemberRef, need: StandingNeed, business: boolean): Rejection | undefined => {
    const config = state.ledgers.get(ref.ledger);
    if (!config) return reject('not_found', `Ledger ${ref.ledger} does not exist`);
    const problem = standingProblem(
      ref.memberId,
      state.standings.get(ref.memberId),
      config.programId,
      need,
    );
    if (problem) return reject(problem.code, problem.detail, problem.extensions);
    if (business && config.status === 'suspended') {
      return reject(
        'program_suspended',
        `Program ${config.programId} is suspended: its points can be neither earned nor spent`,
      );
    }
    return undefined;
  };
  // Earning, spending and converting are a member's business (refused when blocked, and in a
  // suspended program); corrections and returns are not.
  const part = (p: LinkedPart): Rejection | undefined => {
    const business = p.type === 'credit' ? p.from !== 'adjustment' : BUSINESS_DEBITS.has(p.to);
    return check(p.type === 'credit' ? p.to : p.from, business ? 'benefit' : 'member', business);
  };
  switch (c.type) {
    case 'credit':
    case 'debit':
      return part(c);
    case 'hold':
      return check(c.from, 'benefit', true);
    case 'capture':
      // Spending what was held is a benefit; a suspended program still settles holds placed before.
      return check(c.owner, 'benefit', false);
    case 'linked': {
      for (const [i, p] of c.parts.entries()) {
        const problem = part(p);
        if (problem) {
          return { ...problem, detail: `Part ${i + 1} of ${c.parts.length}: ${problem.detail}` };
        }
      }
      return undefined;
    }
    case 'merge': {
      for (const id of [c.from, c.into]) {
        const problem = standingProblem(id, state.standings.get(id), null, 'member');
        if (problem) return reject(problem.code, problem.detail, problem.extensions);
      }
      return undefined;
    }
    case 'release':
    case 'sweep':
      // Giving held points back, and expiry, are never refused for the member's standing.
      return undefined;
  }
}

/** Applies one command to the batch state; a rejected command changes nothing. */
export function apply(state: BatchState, changes: Changes, c: Command): Outcome {
  return admission(state, c) ?? applyAdmitted(state, changes, c);
}

/** The hold, if it belongs to the member and ledger the command names. */
function ownHold(state: BatchState, holdId: string, owner: MemberRef): Hold | undefined {
  const hold = state.holds.get(holdId);
  const account = hold && state.accounts.get(hold.accountId);
  return hold && account?.ledger === owner.ledger && hold.memberId === owner.memberId
    ? hold
    : undefined;
}

function applyAdmitted(state: BatchState, changes: Changes, c: Command): Outcome {
  const now = state.now;
  switch (c.type) {
    case 'credit': {
      const account = memberAccount(state, c.to);
      const allowed = limited(state, c);
      if ('status' in allowed) return allowed;
      const amount = allowed.amounts.reduce((a, b) => a + b, 0);
      const shares = c.shares ? { shares: allowed.amounts } : {};
      if (amount === 0) {
        return {
          status: 'applied',
          result: { transferId: null, points: 0, balance: balanceOf(account), ...shares },
        };
      }
      for (const [k, by] of allowed.used) {
        if (by === 0) continue;
        state.limits.set(k, (state.limits.get(k) ?? 0) + by);
        changes.limitDeltas.set(k, (changes.limitDeltas.get(k) ?? 0) + by);
      }
      const t = transfer(state, changes, {
        commandId: c.id,
        ledger: ledgerOf(c.to),
        debitAccountId: systemAccount(state, c.to.ledger, c.from),
        creditAccountId: account.id,
        amount: amount,
        kind: 'single',
        pendingId: null,
        pendingAmount: null,
        code: c.code,
        reference: c.reference,
      });
      const lot: Lot = {
        id: t.id,
        accountId: account.id,
        amount: amount,
        remaining: amount,
        expiresAt: c.expiresAt !== undefined ? c.expiresAt : policyExpiry(state, c.to.ledger),
        pendingUntil: c.pendingUntil,
        createdAt: now,
      };
      addLot(state, lot);
      changes.newLots.push(lot);
      changes.newLotIds.add(lot.id);
      return {
        status: 'applied',
        result: { transferId: t.id, points: amount, balance: balanceOf(account), ...shares },
      };
    }

    case 'debit':
    case 'hold': {
      const account = memberAccount(state, c.from);
      const lots = drawable(state, account.id, c.type === 'debit' ? c.lots : undefined);
      const available = lots.reduce((s, l) => s + l.remaining, 0);
      const amount = c.type === 'debit' && c.atMost ? Math.min(available, c.amount) : c.amount;
      if (available < amount) return insufficient(available, amount);
      const writtenOff =
        c.type === 'debit' && c.writeOff
          ? amount < c.amount
            ? writeOff(state, changes, c, c.amount - amount)
            : { writtenOff: 0 }
          : undefined;
      if (amount === 0) {
        return {
          status: 'applied',
          result: { transferId: null, points: 0, balance: balanceOf(account), ...writtenOff },
        };
      }
      // One step posts at once; a hold is a pending transfer that reserves the points.
      const pending = c.type === 'hold';
      const t = transfer(state, changes, {
        commandId: c.id,
        ledger: c.from.ledger,
        debitAccountId: account.id,
        creditAccountId: systemAccount(state, c.from.ledger, pending ? 'redemption' : c.to),
        amount: amount,
        kind: pending ? 'pending' : 'single',
        pendingId: null,
        pendingAmount: null,
        code: pending ? 'hold' : c.code,
        reference: c.reference,
      });
      const drawn = drawFrom(changes, lots, t.id, amount);
      if (c.type === 'debit') {
        return {
          status: 'applied',
          result: { transferId: t.id, points: amount, balance: balanceOf(account), ...writtenOff },
        };
      }
      state.draws.set(t.id, drawn);
      const hold: Hold = {
        id: c.holdId,
        programId: configOf(state, c.from.ledger).programId,
        memberId: c.from.memberId,
        accountId: account.id,
        pendingTransferId: t.id,
        amount: amount,
        status: 'pending',
        captured: null,
        reference: c.reference,
        expiresAt: c.expiresAt,
        createdAt: now,
        resolvedAt: null,
      };
      state.holds.set(hold.id, hold);
      changes.newHolds.add(hold.id);
      return {
        status: 'applied',
        result: { transferId: t.id, hold: { ...hold }, points: amount },
      };
    }

    case 'capture': {
      const hold = ownHold(state, c.holdId, c.owner);
      if (!hold) return reject('not_found', `Hold ${c.holdId} was not found`);
      if (hold.status !== 'pending')
        return reject('hold_not_pending', `Hold ${hold.id} is already ${hold.status}`);
      if (hold.expiresAt <= now)
        return reject('hold_expired', `Hold ${hold.id} expired at ${hold.expiresAt.toISOString()}`);
      const amount = c.amount ?? hold.amount;
      if (amount > hold.amount) {
        return reject(
          'capture_exceeds_hold',
          `Hold ${hold.id} holds ${hold.amount} points; ${amount} cannot be captured`,
        );
      }
      const account = state.accounts.get(hold.accountId) as Account;
      const t = transfer(state, changes, {
        commandId: c.id,
        ledger: account.ledger,
        debitAccountId: account.id,
        creditAccountId: systemAccount(state, account.ledger, 'redemption'),
        amount,
        kind: 'post',
        pendingId: hold.pendingTransferId,
        pendingAmount: hold.amount,
        code: 'capture',
        reference: hold.reference,
      });
      // What is not captured goes back to the lots it came from.
      if (amount < hold.amount)
        restore(
          state,
          changes,
          state.draws.get(hold.pendingTransferId) ?? [],
          t.id,
          hold.amount - amount,
        );
      hold.status = 'captured';
      hold.captured = amount;
      hold.resolvedAt = now;
      changes.holdsTouched.add(hold.id);
      return {
        status: 'applied',
        result: {
          transferId: t.id,
          hold: { ...hold },
          points: amount,
          balance: balanceOf(account),
        },
      };
    }

    case 'release': {
      const hold = ownHold(state, c.holdId, c.owner);
      if (!hold) return reject('not_found', `Hold ${c.holdId} was not found`);
      if (hold.status !== 'pending')
        return reject('hold_not_pending', `Hold ${hold.id} is already ${hold.status}`);
      voidHold(state, changes, hold, c.id, 'released');
      return { status: 'applied', result: { hold: { ...hold } } };
    }

    case 'sweep': {
      // Holds first: their points go back to lots, which may themselves be due.
      const holds = [...state.holds.values()].filter((h) => h.accountId === c.accountId);
      for (const h of holds) expireHold(state, changes, h.id, c.id);
      return {
        status: 'applied',
        result: { expired: expireDue(state, changes, c.accountId, c.id) },
      };
    }

    case 'linked': {
      // All or none: the parts run first on a copy of the state, then, when every one of them
      // applies there, for real (the same parts on the same state apply the same way).
      const trial = trialOf(state, c);
      for (const [i, part] of c.parts.entries()) {
        const o = applyAdmitted(trial, emptyChanges(), { ...part, id: c.id });
        if (o.status === 'rejected')
          return reject(o.code, `Part ${i + 1} of ${c.parts.length}: ${o.detail}`);
      }
      const parts = c.parts.map((part) => {
        const o = applyAdmitted(state, changes, { ...part, id: c.id });
        if (o.status === 'rejected')
          throw new Error(`linked command ${c.id} failed on its second run`);
        return o.result;
      });
      return { status: 'applied', result: { parts } };
    }

    case 'merge': {
      // Every ledger the duplicate has an account in (the batch has loaded them all, and the
      // survivor's account in each).
      const ledgers = [...state.accounts.values()]
        .filter((a) => a.kind === 'member' && a.memberId === c.from)
        .map((a) => a.ledger)
        .sort();
      let moved = 0;
      for (const ledger of ledgers) {
        moved += mergeLedger(
          state,
          changes,
          c.id,
          { ledger, memberId: c.from },
          { ledger, memberId: c.into },
        );
      }
      return { status: 'applied', result: { moved } };
    }
  }
}

/** Moves what `fromRef` holds in one ledger to `toRef`; returns the points moved. */
function mergeLedger(
  state: BatchState,
  changes: Changes,
  commandId: string,
  fromRef: MemberRef,
  toRef: MemberRef,
): number {
  const now = state.now;
  const from = memberAccount(state, fromRef);
  const to = memberAccount(state, toRef);
  const pendingHolds = [...state.holds.values()].filter(
    (h) => h.accountId === from.id && h.status === 'pending',
  );
  // 1. Take the holds off the old account (their points go back to its lots) ...
  for (const h of pendingHolds) voidHold(state, changes, h, commandId, 'released');
  // 2. ... move every lot, keeping its expiry and return window ...
  let moved = 0;
  for (const lot of lotsOf(state, from.id)
    .filter((l) => l.remaining > 0)
    .sort(byExpiry)) {
    const amount = lot.remaining;
    const t = transfer(state, changes, {
      commandId,
      ledger: from.ledger,
      debitAccountId: from.id,
      creditAccountId: to.id,
      amount,
      kind: 'single',
      pendingId: null,
      pendingAmount: null,
      code: 'merge',
      reference: lot.id,
    });
    draw(changes, lot, t.id, amount);
    const copy: Lot = {
      ...lot,
      id: t.id,
      accountId: to.id,
      amount,
      remaining: amount,
      createdAt: now,
    };
    addLot(state, copy);
    changes.newLots.push(copy);
    changes.newLotIds.add(copy.id);
    moved += amount;
  }
  // 3. ... and put the holds back, on the new account, under the same hold ids.
  for (const h of pendingHolds) {
    // Spendable lots first, as when the hold was placed; then the rest, so that points given
    // back to a lot that has since expired still cover the hold they were held for.
    const lots = lotsOf(state, to.id)
      .filter((l) => l.remaining > 0)
      .sort((a, b) => Number(isUsable(b, now)) - Number(isUsable(a, now)) || byExpiry(a, b));
    const t = transfer(state, changes, {
      commandId,
      ledger: to.ledger,
      debitAccountId: to.id,
      creditAccountId: systemAccount(state, to.ledger, 'redemption'),
      amount: h.amount,
      kind: 'pending',
      pendingId: null,
      pendingAmount: null,
      code: 'hold',
      reference: h.reference,
    });
    state.draws.set(t.id, drawFrom(changes, lots, t.id, h.amount));
    h.status = 'pending';
    h.resolvedAt = null;
    h.accountId = to.id;
    h.memberId = toRef.memberId;
    h.pendingTransferId = t.id;
  }
  return moved;
}
