import { type Kysely, type RawBuilder, sql } from 'kysely';

// Frozen once landed: later changes are new migrations. Imports nothing from the app.
// The ledger's references are checked once per statement instead of once per row. A foreign key
// runs a query and takes a key-share lock on the referenced row for every row written, so a batch
// of 64 transfers made 64 lock entries on the brand's hot issuance account (shared with every
// other batch) and ~450 small queries in all. Here each insert statement checks all its rows with
// one set-based query over its transition table. What a foreign key also promised — the row
// referred to never goes away and never changes its key — is now said by triggers: accounts and
// lots are never deleted and keep their id, ledger and account.

const REFERENCES = [
  ['ledger_transfers', 'ledger_transfers_pending_id_fkey'],
  ['ledger_transfers', 'ledger_transfers_debit_account_id_ledger_fkey'],
  ['ledger_transfers', 'ledger_transfers_credit_account_id_ledger_fkey'],
  ['ledger_lots', 'ledger_lots_id_fkey'],
  ['ledger_lots', 'ledger_lots_account_id_fkey'],
  ['ledger_lot_draws', 'ledger_lot_draws_transfer_id_fkey'],
  ['ledger_lot_draws', 'ledger_lot_draws_lot_id_fkey'],
] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const [table, constraint] of REFERENCES) {
    await sql`alter table ${sql.table(table)} drop constraint ${sql.ref(constraint)}`.execute(db);
  }

  // Both sides of a transfer are accounts of its ledger; a post or void resolves a pending
  // transfer of the same ledger (which may be written by the same statement).
  await checkReferences(
    db,
    'ledger_transfers',
    sql`not exists (select 1 from ledger_accounts a where a.id = n.debit_account_id and a.ledger = n.ledger)
        or not exists (select 1 from ledger_accounts a where a.id = n.credit_account_id and a.ledger = n.ledger)
        or (n.pending_id is not null and not exists (
              select 1 from ledger_transfers p where p.id = n.pending_id and p.ledger = n.ledger and p.kind = 'pending'))`,
    "both accounts must be on the transfer's ledger, and pending_id must name a pending transfer of that ledger",
  );
  // A lot is the credit that made it: its id is that transfer's id, its account the credited one.
  await checkReferences(
    db,
    'ledger_lots',
    sql`not exists (select 1 from ledger_transfers t where t.id = n.id and t.credit_account_id = n.account_id)`,
    "a lot's id must be the transfer that credited its account",
  );
  await checkReferences(
    db,
    'ledger_lot_draws',
    sql`not exists (select 1 from ledger_transfers t where t.id = n.transfer_id)
        or not exists (select 1 from ledger_lots l where l.id = n.lot_id)`,
    'a draw must name a transfer and a lot',
  );

  // What is referred to stays: accounts and lots are never deleted, and keep their keys.
  await sql`
    create function ledger_keeps_rows() returns trigger language plpgsql as $$
    begin
      raise exception '% keeps its rows and their keys: transfers refer to them', tg_table_name;
    end $$`.execute(db);
  for (const [table, keys] of [
    ['ledger_accounts', ['id', 'ledger']],
    ['ledger_lots', ['id', 'account_id']],
  ] as const) {
    await sql`
      create trigger ${sql.ref(`${table}_kept`)} before delete or truncate on ${sql.table(table)}
      for each statement execute function ledger_keeps_rows()`.execute(db);
    const changed = keys.map((k) => sql`old.${sql.ref(k)} is distinct from new.${sql.ref(k)}`);
    await sql`
      create trigger ${sql.ref(`${table}_keys_kept`)} before update of ${sql.join(keys.map((k) => sql.ref(k)))}
      on ${sql.table(table)} for each row when (${sql.join(changed, sql` or `)})
      execute function ledger_keeps_rows()`.execute(db);
  }
}

/** Refuses any insert statement into `table` with a row `n` for which `broken` holds. */
async function checkReferences(
  db: Kysely<unknown>,
  table: string,
  broken: RawBuilder<unknown>,
  rule: string,
): Promise<void> {
  const name = sql.ref(`${table}_references`);
  const message = `${table} violates a foreign key: ${rule}`;
  await sql`
    create function ${name}() returns trigger language plpgsql as $$
    begin
      if exists (select 1 from new_rows n where ${broken}) then
        raise foreign_key_violation using message = ${sql.lit(message)};
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger ${name} after insert on ${sql.table(table)}
    referencing new table as new_rows for each statement execute function ${name}()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const [table, trigger] of [
    ['ledger_lots', 'ledger_lots_keys_kept'],
    ['ledger_lots', 'ledger_lots_kept'],
    ['ledger_accounts', 'ledger_accounts_keys_kept'],
    ['ledger_accounts', 'ledger_accounts_kept'],
    ['ledger_lot_draws', 'ledger_lot_draws_references'],
    ['ledger_lots', 'ledger_lots_references'],
    ['ledger_transfers', 'ledger_transfers_references'],
  ] as const) {
    await sql`drop trigger ${sql.ref(trigger)} on ${sql.table(table)}`.execute(db);
  }
  for (const f of [
    'ledger_keeps_rows',
    'ledger_lot_draws_references',
    'ledger_lots_references',
    'ledger_transfers_references',
  ]) {
    await sql`drop function ${sql.ref(f)}`.execute(db);
  }
  await sql`alter table ledger_transfers add foreign key (pending_id) references ledger_transfers (id)`.execute(
    db,
  );
  await sql`alter table ledger_transfers add foreign key (debit_account_id, ledger) references ledger_accounts (id, ledger)`.execute(
    db,
  );
  await sql`alter table ledger_transfers add foreign key (credit_account_id, ledger) references ledger_accounts (id, ledger)`.execute(
    db,
  );
  await sql`alter table ledger_lots add foreign key (id) references ledger_transfers (id)`.execute(
    db,
  );
  await sql`alter table ledger_lots add foreign key (account_id) references ledger_accounts (id)`.execute(
    db,
  );
  await sql`alter table ledger_lot_draws add foreign key (transfer_id) references ledger_transfers (id)`.execute(
    db,
  );
  await sql`alter table ledger_lot_draws add foreign key (lot_id) references ledger_lots (id)`.execute(
    db,
  );
}
