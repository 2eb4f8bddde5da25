import { type Kysely, sql } from 'kysely';

// Frozen once landed: later changes are new migrations. Imports nothing from the app.
// The set-based reference checks of 0004, rewritten so that each row is checked by an index
// lookup. Written as `not exists (…) or not exists (…)`, a check cannot become an anti-join:
// PostgreSQL runs each `not exists` as a hashed subplan, which reads every id of the table it
// looks in — all transfers, all lots — on every insert. A conversion batch (three transfers, a
// lot and two draws a conversion) spent a third of its time there, and more as the ledger grew.
// One `exists` per reference makes each an anti-join over the statement's few new rows; and
// since the new rows are few and the tables large, each runs as a nested loop of index lookups
// (a hash join would still read the whole table once the planner thinks it cheaper).

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create or replace function ledger_transfers_references() returns trigger language plpgsql as $$
    begin
      if exists (select 1 from new_rows n
                 where not exists (select 1 from ledger_accounts a
                                   where a.id = n.debit_account_id and a.ledger = n.ledger))
         or exists (select 1 from new_rows n
                    where not exists (select 1 from ledger_accounts a
                                      where a.id = n.credit_account_id and a.ledger = n.ledger))
         or exists (select 1 from new_rows n
                    where n.pending_id is not null
                      and not exists (select 1 from ledger_transfers p
                                      where p.id = n.pending_id and p.ledger = n.ledger and p.kind = 'pending')) then
        raise foreign_key_violation using message = 'ledger_transfers violates a foreign key: both accounts must be on the transfer''s ledger, and pending_id must name a pending transfer of that ledger';
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create or replace function ledger_lot_draws_references() returns trigger language plpgsql as $$
    begin
      if exists (select 1 from new_rows n
                 where not exists (select 1 from ledger_transfers t where t.id = n.transfer_id))
         or exists (select 1 from new_rows n
                    where not exists (select 1 from ledger_lots l where l.id = n.lot_id)) then
        raise foreign_key_violation using message = 'ledger_lot_draws violates a foreign key: a draw must name a transfer and a lot';
      end if;
      return null;
    end $$`.execute(db);
  for (const f of [
    'ledger_transfers_references',
    'ledger_lots_references',
    'ledger_lot_draws_references',
  ]) {
    await sql`alter function ${sql.ref(f)}() set enable_hashjoin = off`.execute(db);
    await sql`alter function ${sql.ref(f)}() set enable_mergejoin = off`.execute(db);
  }
}

export async function down(): Promise<void> {
  // The checks are equivalent; 0004's wording stays replaced.
}
