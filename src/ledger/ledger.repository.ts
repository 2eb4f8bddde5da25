import { sql } from 'kysely';
import { type Db, prepared, type Trx } from '../db/database.ts';
import type { ExpiryPolicy } from './expiry.core.ts';
import {
  type Account,
  type Changes,
  type Draw,
  type Hold,
  type LedgerConfig,
  type Lot,
  type MemberRef,
  refKey,
  SYSTEM_KINDS,
  type SystemKind,
  type Totals,
  type Transfer,
  type TransferCode,
} from './ledger.core.ts';

// All of the ledger's SQL. Batches read with a few set-based statements and write with one.

const int = (v: string | number | null): number => (v === null ? 0 : Number(v));

interface AccountRow {
  id: string;
  ledger: string;
  kind: Account['kind'];
  member_id: string | null;
  debits_pending: string;
  debits_posted: string;
  credits_pending: string;
  credits_posted: string;
}

function toAccount(r: AccountRow): Account {
  return {
    id: r.id,
    ledger: r.ledger,
    kind: r.kind,
    memberId: r.member_id,
    debitsPending: int(r.debits_pending),
    debitsPosted: int(r.debits_posted),
    creditsPending: int(r.credits_pending),
    creditsPosted: int(r.credits_posted),
  };
}

interface LotRow {
  id: string;
  account_id: string;
  amount: string;
  remaining: string;
  expires_at: Date | null;
  pending_until: Date | null;
  created_at: Date;
}

function toLot(r: LotRow): Lot {
  return {
    id: r.id,
    accountId: r.account_id,
    amount: int(r.amount),
    remaining: int(r.remaining),
    expiresAt: r.expires_at,
    pendingUntil: r.pending_until,
    createdAt: r.created_at,
  };
}

interface HoldRow {
  id: string;
  program_id: string;
  member_id: string;
  account_id: string;
  pending_transfer_id: string;
  amount: string;
  status: Hold['status'];
  captured: string | null;
  reference: string | null;
  expires_at: Date;
  created_at: Date;
  resolved_at: Date | null;
}

export function toHold(r: HoldRow): Hold {
  return {
    id: r.id,
    programId: r.program_id,
    memberId: r.member_id,
    accountId: r.account_id,
    pendingTransferId: r.pending_transfer_id,
    amount: int(r.amount),
    status: r.status,
    captured: r.captured === null ? null : int(r.captured),
    reference: r.reference,
    expiresAt: r.expires_at,
    createdAt: r.created_at,
    resolvedAt: r.resolved_at,
  };
}

interface LedgerRow {
  id: string;
  program_id: string;
  expiry: ExpiryPolicy;
  timezone: string;
  status: LedgerConfig['status'];
}

const toLedger = (r: LedgerRow): LedgerConfig => ({
  id: r.id,
  programId: r.program_id,
  expiry: r.expiry,
  timezone: r.timezone,
  status: r.status,
});

/** A new ledger; true when it was made, false when one with that id exists. */
export async function insertLedger(db: Db, l: LedgerConfig, now: Date): Promise<boolean> {
  const row = await db
    .insertInto('ledgers')
    .values({
      id: l.id,
      program_id: l.programId,
      expiry: JSON.stringify(l.expiry),
      timezone: l.timezone,
      status: l.status,
      created_at: now,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Settings to change; those left undefined keep their values. */
export interface LedgerChanges {
  expiry?: LedgerConfig['expiry'] | undefined;
  timezone?: string | undefined;
  status?: LedgerConfig['status'] | undefined;
}

export async function updateLedger(db: Db, id: string, c: LedgerChanges): Promise<void> {
  if (c.expiry === undefined && c.timezone === undefined && c.status === undefined) return;
  await db
    .updateTable('ledgers')
    .set({
      ...(c.expiry !== undefined && { expiry: JSON.stringify(c.expiry) }),
      ...(c.timezone !== undefined && { timezone: c.timezone }),
      ...(c.status !== undefined && { status: c.status }),
    })
    .where('id', '=', id)
    .execute();
}

/** Time zone and status of every ledger of a program. */
export async function updateProgramLedgers(
  db: Db,
  programId: string,
  c: Pick<LedgerChanges, 'timezone' | 'status'>,
): Promise<void> {
  if (c.timezone === undefined && c.status === undefined) return;
  await db
    .updateTable('ledgers')
    .set({
      ...(c.timezone !== undefined && { timezone: c.timezone }),
      ...(c.status !== undefined && { status: c.status }),
    })
    .where('program_id', '=', programId)
    .execute();
}

export async function findLedger(db: Db, id: string): Promise<LedgerConfig | undefined> {
  const row = await db
    .selectFrom('ledgers')
    .select(['id', 'program_id', 'expiry', 'timezone', 'status'])
    .where('id', '=', id)
    .executeTakeFirst();
  return row && toLedger(row);
}

export interface StoredCommand {
  id: string;
  fingerprint: Buffer;
  status: 'applied' | 'rejected';
  errorCode: string | null;
  result: unknown;
}

export async function lockHolds(trx: Trx, ids: string[]): Promise<Hold[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<HoldRow>`
    select * from ledger_holds where id = any(${ids}::text[]) order by id for no key update`.execute(
    trx,
  );
  return rows.map(toHold);
}

/** Who holds these holds now (not locked): a batch locks their members before the holds. */
export async function holdOwners(
  db: Db,
  ids: string[],
): Promise<{ id: string; memberId: string; accountId: string }[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom('ledger_holds')
    .select(['id', 'member_id', 'account_id'])
    .where('id', 'in', ids)
    .execute();
  return rows.map((r) => ({ id: r.id, memberId: r.member_id, accountId: r.account_id }));
}

/** Every member account of these members, in every ledger (not locked). */
export async function accountsOfMembers(
  db: Db,
  memberIds: string[],
): Promise<(MemberRef & { id: string })[]> {
  if (memberIds.length === 0) return [];
  const rows = await db
    .selectFrom('ledger_accounts')
    .select(['id', 'ledger', 'member_id'])
    .where('kind', '=', 'member')
    .where('member_id', 'in', memberIds)
    .execute();
  return rows.map((r) => ({ id: r.id, ledger: r.ledger, memberId: r.member_id as string }));
}

/** Ids of the pending holds on these accounts (not locked). */
export async function pendingHoldIdsOf(db: Db, accountIds: string[]): Promise<string[]> {
  if (accountIds.length === 0) return [];
  const { rows } = await sql<{ id: string }>`
    select id from ledger_holds where account_id = any(${accountIds}::text[]) and status = 'pending'`.execute(
    db,
  );
  return rows.map((r) => r.id);
}

/** The system accounts of a ledger, created on first use; returns kind → id. */
export async function ensureSystemAccounts(
  db: Db,
  ledger: string,
  programId: string,
  newAccount: () => string,
  now: Date,
): Promise<Map<SystemKind, string>> {
  const kinds = SYSTEM_KINDS;
  await sql`
    insert into ledger_accounts (id, ledger, program_id, kind, created_at)
    select id, ${ledger}, ${programId}, kind, ${now}
    from unnest(${kinds.map(() => newAccount())}::text[], ${kinds}::text[]) as v(id, kind)
    on conflict (ledger, kind) where kind <> 'member' do nothing`.execute(db);
  return systemAccounts(db, ledger);
}

/** Open lots: every one of `all`'s accounts, and of `due`'s those that expire by `now`. */
export async function loadOpenLots(
  trx: Trx,
  all: string[],
  due: string[],
  now: Date,
): Promise<Lot[]> {
  if (all.length === 0 && due.length === 0) return [];
  // Columns named: a prepared `select *` would fail once a later migration adds one.
  const { rows } = await sql<LotRow>`${prepared}
    select id, account_id, amount, remaining, expires_at, pending_until, created_at
    from ledger_lots where account_id = any(${all}::text[]) and remaining > 0
    union all
    select id, account_id, amount, remaining, expires_at, pending_until, created_at
    from ledger_lots where account_id = any(${due}::text[]) and remaining > 0
      and expires_at <= ${now}`.execute(trx);
  return rows.map(toLot);
}

/** The draws of pending transfers (to give points back when a hold is released) and their lots. */
export async function loadHoldDraws(
  trx: Trx,
  pendingIds: string[],
): Promise<{ draws: Draw[]; lots: Lot[] }> {
  if (pendingIds.length === 0) return { draws: [], lots: [] };
  // The lots come with their draws: one round trip.
  const { rows } = await sql<LotRow & { transfer_id: string; drawn: string }>`
    select d.transfer_id, d.amount as drawn, l.* from ledger_lot_draws d
    join ledger_lots l on l.id = d.lot_id
    where d.transfer_id = any(${pendingIds}::text[])
    order by d.transfer_id, l.expires_at nulls last, l.created_at, l.id`.execute(trx);
  const draws = rows.map((r) => ({ transferId: r.transfer_id, lotId: r.id, amount: int(r.drawn) }));
  const lots = [...new Map(rows.map((r) => [r.id, toLot(r)])).values()];
  return { draws, lots };
}

export interface CommandRecord {
  id: string;
  fingerprint: Buffer;
  status: 'applied' | 'rejected';
  errorCode: string | null;
  result: string;
}

/**
 * Writes a batch's changes in one statement. Its member accounts are locked already; the brand's
 * hot system accounts are locked here, by the final UPDATE, which visits the accounts in the
 * order of the sorted deltas (a nested loop over them: the plan for a batch's few rows), so
 * batches never wait on each other in a circle, and hold those rows only until the commit.
 */
export async function writeBatch(
  trx: Trx,
  changes: Changes,
  holds: Map<string, Hold>,
  commands: CommandRecord[],
  now: Date,
): Promise<void> {
  const t = changes.transfers;
  const newLots = changes.newLots;
  // Draws of one transfer on one lot are summed: the primary key is (transfer, lot). What an
  // existing lot gives up is subtracted in SQL; new lots are written as they stand.
  const drawSums = new Map<string, Draw>();
  const drawnFrom = new Map<string, number>();
  for (const x of changes.draws) {
    const k = `${x.transferId}|${x.lotId}`;
    drawSums.set(k, { ...x, amount: (drawSums.get(k)?.amount ?? 0) + x.amount });
    if (!changes.newLotIds.has(x.lotId))
      drawnFrom.set(x.lotId, (drawnFrom.get(x.lotId) ?? 0) + x.amount);
  }
  const draws = [...drawSums.values()].filter((x) => x.amount !== 0);
  const lotChanges = [...drawnFrom.entries()].filter(([, n]) => n !== 0);
  const deltas = [...changes.deltas.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  const accounts = deltaArrays(deltas);
  const newHolds = [...changes.newHolds].map((id) => holds.get(id) as Hold);
  const touchedHolds = [...changes.holdsTouched]
    .filter((id) => !changes.newHolds.has(id))
    .map((id) => holds.get(id) as Hold);
  const holdRows = (hs: Hold[]) => ({
    id: hs.map((h) => h.id),
    program: hs.map((h) => h.programId),
    member: hs.map((h) => h.memberId),
    account: hs.map((h) => h.accountId),
    pending: hs.map((h) => h.pendingTransferId),
    amount: hs.map((h) => h.amount),
    status: hs.map((h) => h.status),
    captured: hs.map((h) => h.captured),
    reference: hs.map((h) => h.reference),
    expires: hs.map((h) => h.expiresAt),
    created: hs.map((h) => h.createdAt),
    resolved: hs.map((h) => h.resolvedAt),
  });
  const limits = [...changes.limitDeltas.entries()].filter(([, n]) => n !== 0);
  const nh = holdRows(newHolds);
  const th = holdRows(touchedHolds);

  await sql`${prepared}
    with
    commands as (
      insert into ledger_commands (id, fingerprint, status, error_code, result, created_at)
      select id, fingerprint, status, error_code, result::jsonb, ${now}
      from unnest(${commands.map((c) => c.id)}::text[], ${commands.map((c) => c.fingerprint)}::bytea[],
                  ${commands.map((c) => c.status)}::text[], ${commands.map((c) => c.errorCode)}::text[],
                  ${commands.map((c) => c.result)}::text[])
           as v(id, fingerprint, status, error_code, result)
    ),
    transfers as (
      insert into ledger_transfers (id, command_id, ledger, debit_account_id, credit_account_id, amount, kind,
                                    pending_id, pending_amount, code, reference, debit_balance_after,
                                    credit_balance_after, created_at)
      select * from unnest(
        ${t.map((x) => x.id)}::text[], ${t.map((x) => x.commandId)}::text[], ${t.map((x) => x.ledger)}::text[],
        ${t.map((x) => x.debitAccountId)}::text[], ${t.map((x) => x.creditAccountId)}::text[],
        ${t.map((x) => x.amount)}::bigint[], ${t.map((x) => x.kind)}::text[], ${t.map((x) => x.pendingId)}::text[],
        ${t.map((x) => x.pendingAmount)}::bigint[], ${t.map((x) => x.code)}::text[],
        ${t.map((x) => x.reference)}::text[], ${t.map((x) => x.debitBalanceAfter)}::bigint[],
        ${t.map((x) => x.creditBalanceAfter)}::bigint[], ${t.map((x) => x.createdAt)}::timestamptz[])
    ),
    new_lots as (
      insert into ledger_lots (id, account_id, amount, remaining, expires_at, pending_until, created_at)
      select * from unnest(
        ${newLots.map((l) => l.id)}::text[], ${newLots.map((l) => l.accountId)}::text[],
        ${newLots.map((l) => l.amount)}::bigint[], ${newLots.map((l) => l.remaining)}::bigint[],
        ${newLots.map((l) => l.expiresAt)}::timestamptz[], ${newLots.map((l) => l.pendingUntil)}::timestamptz[],
        ${newLots.map((l) => l.createdAt)}::timestamptz[])
    ),
    lot_updates as (
      update ledger_lots l set remaining = l.remaining - v.drawn
      from unnest(${lotChanges.map(([id]) => id)}::text[], ${lotChanges.map(([, n]) => n)}::bigint[]) as v(id, drawn)
      where l.id = v.id
    ),
    draws as (
      insert into ledger_lot_draws (transfer_id, lot_id, amount)
      select * from unnest(${draws.map((x) => x.transferId)}::text[], ${draws.map((x) => x.lotId)}::text[],
                           ${draws.map((x) => x.amount)}::bigint[])
    ),
    new_holds as (
      insert into ledger_holds (id, program_id, member_id, account_id, pending_transfer_id, amount, status, captured,
                                reference, expires_at, created_at, resolved_at)
      select * from unnest(${nh.id}::text[], ${nh.program}::text[], ${nh.member}::text[], ${nh.account}::text[],
                           ${nh.pending}::text[], ${nh.amount}::bigint[], ${nh.status}::text[], ${nh.captured}::bigint[],
                           ${nh.reference}::text[], ${nh.expires}::timestamptz[], ${nh.created}::timestamptz[],
                           ${nh.resolved}::timestamptz[])
    ),
    limit_updates as (
      update ledger_limits x set used = x.used + v.used
      from unnest(${limits.map(([k]) => k.slice(0, k.indexOf('|')))}::text[],
                  ${limits.map(([k]) => k.slice(k.indexOf('|') + 1))}::text[], ${limits.map(([, n]) => n)}::bigint[])
           as v(ledger, key, used)
      where x.ledger = v.ledger and x.key = v.key
    ),
    hold_updates as (
      update ledger_holds h set member_id = v.member_id, account_id = v.account_id,
             pending_transfer_id = v.pending_transfer_id, status = v.status, captured = v.captured,
             resolved_at = v.resolved_at
      from unnest(${th.id}::text[], ${th.member}::text[], ${th.account}::text[], ${th.pending}::text[],
                  ${th.status}::text[], ${th.captured}::bigint[], ${th.resolved}::timestamptz[])
           as v(id, member_id, account_id, pending_transfer_id, status, captured, resolved_at)
      where h.id = v.id
    )
    update ledger_accounts a set ${addDeltas}
    from unnest(${accounts.ids}::text[], ${accounts.dp}::bigint[], ${accounts.dpo}::bigint[], ${accounts.cp}::bigint[],
                ${accounts.cpo}::bigint[]) as v(id, dp, dpo, cp, cpo)
    where a.id = v.id`.execute(trx);
}

/** Totals change by SQL arithmetic, so the accounts' CHECKs judge the result. */
const addDeltas = sql`
  debits_pending = a.debits_pending + v.dp, debits_posted = a.debits_posted + v.dpo,
  credits_pending = a.credits_pending + v.cp, credits_posted = a.credits_posted + v.cpo`;

function deltaArrays(entries: [string, Totals][]) {
  return {
    ids: entries.map(([id]) => id),
    dp: entries.map(([, x]) => x.debitsPending),
    dpo: entries.map(([, x]) => x.debitsPosted),
    cp: entries.map(([, x]) => x.creditsPending),
    cpo: entries.map(([, x]) => x.creditsPosted),
  };
}

export interface BatchReads {
  stored: Map<string, StoredCommand>;
  accounts: Account[];
  lots: Lot[];
  ledgers: Map<string, LedgerConfig>;
}

/**
 * A batch's reads: the commands already recorded, the member accounts it touches (locked, in id
 * order; a row locked after a wait is read as the other batch left it) and its ledgers' settings
 * in one round trip, then the accounts' open lots.
 */
export async function lockBatch(
  trx: Trx,
  commandIds: string[],
  refs: MemberRef[],
  ids: string[],
  ledgers: string[],
  lotsFor: { all: (a: Account) => boolean; now: Date },
): Promise<BatchReads> {
  const { rows } = await sql<{
    commands: unknown[];
    accounts: AccountRow[];
    ledgers: LedgerRow[];
  }>`${prepared}
    with
    locked as (
      select a.* from ledger_accounts a
      where a.id in (
        select x.id from ledger_accounts x
        join unnest(${refs.map((r) => r.ledger)}::text[], ${refs.map((r) => r.memberId)}::text[]) as v(ledger, member_id)
          on x.kind = 'member' and x.ledger = v.ledger and x.member_id = v.member_id
        union all
        select unnest(${ids}::text[]))
      order by a.id for no key update
    )
    select
      (select coalesce(json_agg(json_build_object('id', c.id, 'fingerprint', encode(c.fingerprint, 'hex'),
                'status', c.status, 'error_code', c.error_code, 'result', c.result)), '[]')
         from ledger_commands c where c.id = any(${commandIds}::text[])) as commands,
      (select coalesce(json_agg(l order by l.id), '[]') from locked l) as accounts,
      (select coalesce(json_agg(json_build_object('id', l.id, 'program_id', l.program_id, 'expiry', l.expiry,
                'timezone', l.timezone, 'status', l.status)), '[]')
         from ledgers l where l.id = any(${ledgers}::text[])) as ledgers`.execute(trx);
  const row = rows[0];
  if (!row) throw new Error('lockBatch returned no row');
  const stored = new Map<string, StoredCommand>();
  for (const c of row.commands as {
    id: string;
    fingerprint: string;
    status: 'applied' | 'rejected';
    error_code: string | null;
    result: unknown;
  }[]) {
    stored.set(c.id, {
      id: c.id,
      fingerprint: Buffer.from(c.fingerprint, 'hex'),
      status: c.status,
      errorCode: c.error_code,
      result: c.result,
    });
  }
  const accounts = row.accounts.map(toAccount);
  return {
    stored,
    accounts,
    // A statement of its own: one that waited for a lock still reads with the snapshot it began
    // with, and would miss lots that the batch it waited for has just written.
    lots: await loadOpenLots(
      trx,
      accounts.filter(lotsFor.all).map((a) => a.id),
      accounts.filter((a) => !lotsFor.all(a)).map((a) => a.id),
      lotsFor.now,
    ),
    ledgers: new Map(row.ledgers.map((l) => [l.id, toLedger(l)])),
  };
}

/**
 * Locks the limit counters a batch's credits name, making those that do not exist yet, in key
 * order; returns how much of each is used, by `${ledger}|${key}`.
 */
export async function lockLimits(
  trx: Trx,
  limits: { ledger: string; key: string; forgetAfter?: Date | null }[],
): Promise<Map<string, number>> {
  if (limits.length === 0) return new Map();
  const unique = [...new Map(limits.map((l) => [`${l.ledger}|${l.key}`, l])).values()].sort(
    (a, b) => (a.ledger < b.ledger ? -1 : a.ledger > b.ledger ? 1 : a.key < b.key ? -1 : 1),
  );
  const ledgers = unique.map((l) => l.ledger);
  const keys = unique.map((l) => l.key);
  const forget = unique.map((l) => l.forgetAfter ?? null);
  await sql`${prepared}
    insert into ledger_limits (ledger, key, used, forget_after)
    select v.ledger, v.key, 0, v.forget_after
    from unnest(${ledgers}::text[], ${keys}::text[], ${forget}::timestamptz[]) with ordinality as v(ledger, key, forget_after, n)
    order by v.n
    on conflict do nothing`.execute(trx);
  const { rows } = await sql<{ ledger: string; key: string; used: string }>`${prepared}
    select x.ledger, x.key, x.used from ledger_limits x
    join unnest(${ledgers}::text[], ${keys}::text[]) as v(ledger, key) on x.ledger = v.ledger and x.key = v.key
    order by x.ledger, x.key for no key update`.execute(trx);
  return new Map(rows.map((r) => [`${r.ledger}|${r.key}`, Number(r.used)]));
}

/** Forgets limit counters whose period ended before `before`; returns how many. */
export async function forgetLimits(db: Db, before: Date): Promise<number> {
  const r = await db
    .deleteFrom('ledger_limits')
    .where('forget_after', '<', before)
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** How much of each of these limits is used (0 for one never used). */
export async function limitsUsed(
  db: Db,
  ledger: string,
  keys: string[],
): Promise<Map<string, number>> {
  if (keys.length === 0) return new Map();
  const rows = await db
    .selectFrom('ledger_limits')
    .select(['key', 'used'])
    .where('ledger', '=', ledger)
    .where('key', 'in', keys)
    .execute();
  return new Map(rows.map((r) => [r.key, Number(r.used)]));
}

/** Creates the member accounts that do not exist yet. */
export async function createMemberAccounts(
  trx: Trx,
  refs: MemberRef[],
  newAccount: () => string,
  programOf: (ledger: string) => string,
  now: Date,
): Promise<void> {
  const unique = [...new Map(refs.map((r) => [refKey(r), r])).values()];
  if (unique.length === 0) return;
  await sql`
    insert into ledger_accounts (id, ledger, program_id, kind, member_id, created_at)
    select id, ledger, program_id, 'member', member_id, ${now}
    from unnest(${unique.map(newAccount)}::text[], ${unique.map((r) => r.ledger)}::text[],
                ${unique.map((r) => programOf(r.ledger))}::text[], ${unique.map((r) => r.memberId)}::text[])
         as v(id, ledger, program_id, member_id)
    on conflict (ledger, member_id) where kind = 'member' do nothing`.execute(trx);
}

// --- reads for the API ---

export async function findMemberAccount(
  db: Db,
  ledger: string,
  memberId: string,
): Promise<Account | undefined> {
  const { rows } = await sql<AccountRow>`
    select * from ledger_accounts where ledger = ${ledger} and kind = 'member' and member_id = ${memberId}`.execute(
    db,
  );
  return rows[0] && toAccount(rows[0]);
}

export async function listLots(db: Db, accountId: string, openOnly: boolean): Promise<Lot[]> {
  const { rows } = await sql<LotRow>`
    select * from ledger_lots where account_id = ${accountId} ${openOnly ? sql`and remaining > 0` : sql``}
    order by expires_at nulls last, created_at, id`.execute(db);
  return rows.map(toLot);
}

/** The hold, if it is one of this ledger's. */
export async function findHold(db: Db, ledger: string, holdId: string): Promise<Hold | undefined> {
  const { rows } = await sql<HoldRow>`
    select h.* from ledger_holds h join ledger_accounts a on a.id = h.account_id
    where h.id = ${holdId} and a.ledger = ${ledger}`.execute(db);
  return rows[0] && toHold(rows[0]);
}

/** Each ledger's program. */
export async function programsOf(db: Db, ledgers: string[]): Promise<Map<string, string>> {
  const rows = await db
    .selectFrom('ledgers')
    .select(['id', 'program_id'])
    .where('id', 'in', ledgers)
    .execute();
  return new Map(rows.map((r) => [r.id, r.program_id]));
}

/** A ledger's system accounts, kind → id (empty before the ledger's first batch). */
export async function systemAccounts(db: Db, ledger: string): Promise<Map<SystemKind, string>> {
  const rows = await db
    .selectFrom('ledger_accounts')
    .select(['id', 'kind'])
    .where('ledger', '=', ledger)
    .where('kind', '!=', 'member')
    .execute();
  return new Map(rows.map((r) => [r.kind as SystemKind, r.id]));
}

/** Which of these members hold anything — posted, held or pending — in any ledger. */
export async function membersHoldingValue(db: Db, memberIds: string[]): Promise<string[]> {
  if (memberIds.length === 0) return [];
  const rows = await db
    .selectFrom('ledger_accounts')
    .select('member_id')
    .distinct()
    .where('kind', '=', 'member')
    .where('member_id', 'in', memberIds)
    .where((eb) =>
      eb.or([
        eb('credits_posted', '<>', eb.ref('debits_posted')),
        eb('debits_pending', '<>', '0'),
        eb('credits_pending', '<>', '0'),
      ]),
    )
    .execute();
  return rows.map((r) => r.member_id as string);
}

export interface HistoryRow {
  id: string;
  code: TransferCode;
  kind: Transfer['kind'];
  points: number;
  balanceAfter: number | null;
  reference: string | null;
  createdAt: Date;
}

/** Posted movements of the accounts, newest first, signed from the accounts' side; they add up to the balance. */
export async function history(
  db: Db,
  accountIds: string[],
  before: string | undefined,
  limit: number,
): Promise<HistoryRow[]> {
  const { rows } = await sql<{
    id: string;
    code: TransferCode;
    kind: Transfer['kind'];
    amount: string;
    debit: boolean;
    balance_after: string | null;
    reference: string | null;
    created_at: Date;
  }>`
    select * from (
      select id, code, kind, amount, true as debit, debit_balance_after as balance_after, reference, created_at
      from ledger_transfers where debit_account_id = any(${accountIds}::text[]) and kind in ('single', 'post')
        ${before ? sql`and id < ${before}` : sql``}
      union all
      select id, code, kind, amount, false, credit_balance_after, reference, created_at
      from ledger_transfers where credit_account_id = any(${accountIds}::text[]) and kind in ('single', 'post')
        ${before ? sql`and id < ${before}` : sql``}
    ) t order by id desc limit ${limit}`.execute(db);
  return rows.map((r) => ({
    id: r.id,
    code: r.code,
    kind: r.kind,
    points: (r.debit ? -1 : 1) * int(r.amount),
    balanceAfter: r.balance_after === null ? null : int(r.balance_after),
    reference: r.reference,
    createdAt: r.created_at,
  }));
}

/** The accounts of these members in a ledger. */
export async function accountsOf(db: Db, ledger: string, memberIds: string[]): Promise<string[]> {
  const rows = await db
    .selectFrom('ledger_accounts')
    .select('id')
    .where('ledger', '=', ledger)
    .where('kind', '=', 'member')
    .where('member_id', 'in', memberIds)
    .execute();
  return rows.map((r) => r.id);
}

/** Accounts with lots or holds due, for the scheduler. */
export async function accountsDue(db: Db, now: Date, limit: number): Promise<string[]> {
  const { rows } = await sql<{ account_id: string }>`
    (select account_id from ledger_lots where remaining > 0 and expires_at <= ${now} limit ${limit})
    union
    (select account_id from ledger_holds where status = 'pending' and expires_at <= ${now} limit ${limit})`.execute(
    db,
  );
  return rows.map((r) => r.account_id);
}

/** Members of a ledger with lots that expire in (`from`, `to`]: whose balance a window moves. */
export async function membersWithLotsExpiring(
  db: Db,
  ledger: string,
  from: Date | null,
  to: Date,
): Promise<string[]> {
  const { rows } = await sql<{ member_id: string }>`
    select distinct a.member_id from ledger_lots l join ledger_accounts a on a.id = l.account_id
    where a.ledger = ${ledger} and a.kind = 'member' and l.expires_at <= ${to}
      and (${from}::timestamptz is null or l.expires_at > ${from}::timestamptz)
      and l.amount > 0`.execute(db);
  return rows.map((r) => r.member_id);
}

/**
 * Points of members' lots expiring in (`from`, `to`], per member and expiry instant, for members
 * after `afterMember` in id order: a page of at most `limit` members.
 */
export async function expiringPoints(
  db: Db,
  ledger: string,
  from: Date,
  to: Date,
  afterMember: string,
  limit: number,
): Promise<{ memberId: string; expiresAt: Date; points: number }[]> {
  const { rows } = await sql<{ member_id: string; expires_at: Date; points: string }>`
    with page as (
      select distinct a.member_id, a.id from ledger_lots l join ledger_accounts a on a.id = l.account_id
      where a.ledger = ${ledger} and a.kind = 'member' and a.member_id > ${afterMember}
        and l.remaining > 0 and l.expires_at > ${from} and l.expires_at <= ${to}
      order by a.member_id limit ${limit})
    select p.member_id, l.expires_at, sum(l.remaining) as points
    from page p join ledger_lots l on l.account_id = p.id
    where l.remaining > 0 and l.expires_at > ${from} and l.expires_at <= ${to}
    group by p.member_id, l.expires_at
    order by p.member_id, l.expires_at`.execute(db);
  return rows.map((r) => ({
    memberId: r.member_id,
    expiresAt: r.expires_at,
    points: Number(r.points),
  }));
}

/**
 * Members' points at `at`, set-based: the balance — posted, less what lots that expired by then
 * still held (swept or not) — and what of it is available: less what holds hold and what is
 * still in a return window.
 */
async function pointsAt(db: Db, ledger: string, memberIds: string[], at: Date) {
  if (memberIds.length === 0) return [];
  const { rows } = await sql<{ member_id: string; balance: string; unavailable: string }>`
    select a.member_id,
           a.credits_posted - a.debits_posted
             - coalesce((select sum(l.remaining) from ledger_lots l
                         where l.account_id = a.id and l.remaining > 0 and l.expires_at <= ${at}), 0) as balance,
           a.debits_pending
             + coalesce((select sum(l.remaining) from ledger_lots l
                         where l.account_id = a.id and l.remaining > 0 and l.pending_until > ${at}
                           and (l.expires_at is null or l.expires_at > ${at})), 0) as unavailable
    from ledger_accounts a
    where a.ledger = ${ledger} and a.kind = 'member' and a.member_id = any(${memberIds}::text[])`.execute(
    db,
  );
  return rows.map((r) => ({
    memberId: r.member_id,
    balance: Number(r.balance),
    available: Math.max(0, Number(r.balance) - Number(r.unavailable)),
  }));
}

/** Members' points available to spend at `at` (see `pointsAt`). */
export async function availableAt(db: Db, ledger: string, memberIds: string[], at: Date) {
  const rows = await pointsAt(db, ledger, memberIds, at);
  return new Map(rows.map((r) => [r.memberId, r.available]));
}

/** Members' balances at `at`: posted, less what lots that expired by then still held (swept or not). */
export async function balancesAt(db: Db, ledger: string, memberIds: string[], at: Date) {
  const rows = await pointsAt(db, ledger, memberIds, at);
  return new Map(rows.map((r) => [r.memberId, r.balance]));
}
