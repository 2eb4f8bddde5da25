import { type Kysely, sql } from 'kysely';

// Frozen once landed: later changes are new migrations. Imports nothing from the app.
// The member portal. Its links are signed, not stored: the only thing kept is the key they are
// signed with, made by the first server that needs it, so that every server shares it.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table portal_secrets (
      -- one row per purpose ('links'); a name rather than a single row, so a rotation can add one
      id text primary key,
      secret bytea not null check (octet_length(secret) = 32),
      created_at timestamptz not null
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists portal_secrets`.execute(db);
}
