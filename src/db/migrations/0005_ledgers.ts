import { type Kysely, sql } from 'kysely';

// Frozen once landed: later changes are new migrations. Imports nothing from the app.
// The ledger keeps its own settings: one row per ledger (a program's points today; growth value,
// a coalition's hub currency and stored value later), with the program it belongs to, when its
// credits expire, the time zone its dates are read in, and whether it takes new business. Until
// now a batch read them from `programs`; the owning module now writes them here, in the same
// transaction as its own change.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table ledgers (
      id text primary key,
      program_id text not null references programs (id),
      expiry jsonb not null default '{"kind":"never"}',
      timezone text not null,
      -- suspended: no new earning, redemption or holds; adjustments and open holds go on
      status text not null check (status in ('active', 'suspended')),
      created_at timestamptz not null
    )`.execute(db);
  await sql`
    insert into ledgers (id, program_id, expiry, timezone, status, created_at)
    select 'points:' || id, id, points_expiry, timezone, status, created_at from programs`.execute(
    db,
  );
  // An account names a ledger that exists (checked per row: accounts are made once per member).
  await sql`
    insert into ledgers (id, program_id, expiry, timezone, status, created_at)
    select distinct a.ledger, a.program_id, '{"kind":"never"}'::jsonb, p.timezone, p.status, p.created_at
    from ledger_accounts a join programs p on p.id = a.program_id
    where not exists (select 1 from ledgers l where l.id = a.ledger)`.execute(db);
  await sql`alter table ledger_accounts add foreign key (ledger) references ledgers (id)`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table ledger_accounts drop constraint ledger_accounts_ledger_fkey`.execute(db);
  await sql`drop table ledgers`.execute(db);
}
