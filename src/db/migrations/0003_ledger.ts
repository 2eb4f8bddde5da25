import { type Kysely, sql } from 'kysely';

// Frozen once landed: later changes are new migrations. Imports nothing from the app.
// The points ledger, after TigerBeetle: accounts with pending and posted totals, append-only
// transfers, two-phase holds, and lots that record where each point came from and when it expires.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table programs add column points_expiry jsonb not null default '{"kind":"never"}'`.execute(
    db,
  );

  await sql`
    create table ledger_accounts (
      id text primary key,
      ledger text not null,
      program_id text not null references programs (id),
      kind text not null check (kind in ('member', 'issuance', 'redemption', 'breakage', 'adjustment')),
      member_id text references members (id),
      debits_pending bigint not null default 0 check (debits_pending >= 0),
      debits_posted bigint not null default 0 check (debits_posted >= 0),
      credits_pending bigint not null default 0 check (credits_pending >= 0),
      credits_posted bigint not null default 0 check (credits_posted >= 0),
      created_at timestamptz not null,
      -- A member's available points never fall below zero, whatever the application does.
      constraint member_never_negative
        check (kind <> 'member' or debits_posted + debits_pending <= credits_posted),
      constraint member_accounts_have_a_member check ((kind = 'member') = (member_id is not null)),
      unique (id, ledger)
    ) with (fillfactor = 70)`.execute(db); // balances change in place: room for HOT updates
  await sql`create unique index ledger_accounts_member_uq on ledger_accounts (ledger, member_id) where kind = 'member'`.execute(
    db,
  );
  await sql`create unique index ledger_accounts_system_uq on ledger_accounts (ledger, kind) where kind <> 'member'`.execute(
    db,
  );
  await sql`create index ledger_accounts_member_idx on ledger_accounts (member_id) where member_id is not null`.execute(
    db,
  );

  // One row per request to the ledger: a repeated id returns the first outcome, failures included.
  await sql`
    create table ledger_commands (
      id text primary key,
      fingerprint bytea not null,
      status text not null check (status in ('applied', 'rejected')),
      error_code text,
      result jsonb not null,
      created_at timestamptz not null
    )`.execute(db);

  await sql`
    create table ledger_transfers (
      id text primary key,
      command_id text not null,
      ledger text not null,
      debit_account_id text not null,
      credit_account_id text not null,
      amount bigint not null check (amount > 0),
      -- single: posted at once; pending: reserves; post / void: resolves a pending transfer
      kind text not null check (kind in ('single', 'pending', 'post', 'void')),
      pending_id text references ledger_transfers (id),
      -- post: how much was pending (released from the pending totals; amount is what posts)
      pending_amount bigint,
      code text not null,
      reference text,
      -- posted balances after this transfer of each side that is a member account, for history
      debit_balance_after bigint,
      credit_balance_after bigint,
      created_at timestamptz not null,
      foreign key (debit_account_id, ledger) references ledger_accounts (id, ledger),
      foreign key (credit_account_id, ledger) references ledger_accounts (id, ledger),
      check (debit_account_id <> credit_account_id),
      check ((kind in ('post', 'void')) = (pending_id is not null)),
      check ((kind = 'post') = (pending_amount is not null)),
      check (kind <> 'post' or amount <= pending_amount)
    )`.execute(db);
  // A pending transfer is resolved at most once: by one post or one void.
  await sql`create unique index ledger_transfers_resolves_once on ledger_transfers (pending_id) where pending_id is not null`.execute(
    db,
  );
  await sql`create index ledger_transfers_debit_idx on ledger_transfers (debit_account_id, id)`.execute(
    db,
  );
  await sql`create index ledger_transfers_credit_idx on ledger_transfers (credit_account_id, id)`.execute(
    db,
  );
  await sql`
    create function ledger_append_only() returns trigger language plpgsql as $$
    begin
      raise exception '% is append-only: correct a transfer with another transfer', tg_table_name;
    end $$`.execute(db);
  await sql`
    create trigger ledger_transfers_append_only before update or delete or truncate on ledger_transfers
    for each statement execute function ledger_append_only()`.execute(db);

  // A lot is the credit that made it (its id is that transfer's id), with what is left of it.
  await sql`
    create table ledger_lots (
      id text primary key references ledger_transfers (id),
      account_id text not null references ledger_accounts (id),
      amount bigint not null check (amount > 0),
      remaining bigint not null check (remaining >= 0 and remaining <= amount),
      expires_at timestamptz,
      pending_until timestamptz,
      created_at timestamptz not null
    ) with (fillfactor = 80)`.execute(db);
  await sql`create index ledger_lots_open_idx on ledger_lots (account_id) where remaining > 0`.execute(
    db,
  );
  await sql`create index ledger_lots_expiry_idx on ledger_lots (expires_at) where remaining > 0 and expires_at is not null`.execute(
    db,
  );

  // What each debit drew from each lot; a negative amount gives points back (a released hold).
  await sql`
    create table ledger_lot_draws (
      transfer_id text not null references ledger_transfers (id),
      lot_id text not null references ledger_lots (id),
      amount bigint not null check (amount <> 0),
      primary key (transfer_id, lot_id)
    )`.execute(db);
  await sql`create index ledger_lot_draws_lot_idx on ledger_lot_draws (lot_id)`.execute(db);
  await sql`
    create trigger ledger_lot_draws_append_only before update or delete or truncate on ledger_lot_draws
    for each statement execute function ledger_append_only()`.execute(db);

  await sql`
    create table ledger_holds (
      id text primary key,
      program_id text not null references programs (id),
      member_id text not null references members (id),
      account_id text not null references ledger_accounts (id),
      pending_transfer_id text not null references ledger_transfers (id),
      amount bigint not null check (amount > 0),
      status text not null check (status in ('pending', 'captured', 'released', 'expired')),
      captured bigint check (captured >= 0 and captured <= amount),
      reference text,
      expires_at timestamptz not null,
      created_at timestamptz not null,
      resolved_at timestamptz
    )`.execute(db);
  await sql`create index ledger_holds_expiry_idx on ledger_holds (expires_at) where status = 'pending'`.execute(
    db,
  );
  await sql`create index ledger_holds_member_idx on ledger_holds (member_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'ledger_holds',
    'ledger_lot_draws',
    'ledger_lots',
    'ledger_transfers',
    'ledger_commands',
    'ledger_accounts',
  ]) {
    await sql`drop table ${sql.table(t)}`.execute(db);
  }
  await sql`drop function ledger_append_only`.execute(db);
  await sql`alter table programs drop column points_expiry`.execute(db);
}
