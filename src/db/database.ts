import {
  Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  PostgresDialect,
  type Transaction,
} from 'kysely';
import pg from 'pg';
import * as m0001 from './migrations/0001_foundation.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;
export type Trx = Transaction<Database>;

// bigint columns (sums of points) arrive as strings by default; ours fit in a JS number's
// 53 bits only by policy, so parse them explicitly where they are read instead of here.

/** Opens a pool to `url`. */
export function createDb(url: string, max = 20): Db {
  const pool = new pg.Pool({ connectionString: url, max, application_name: 'tessera' });
  // An idle client that loses its connection must not crash the process.
  pool.on('error', () => {});
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * Runs `fn` in a transaction, or inside the caller's when `db` already is one (an idempotent
 * request opens the transaction that records its response; the use case joins it).
 */
export function inTransaction<T>(db: Db, fn: (trx: Trx) => Promise<T>): Promise<T> {
  if (db.isTransaction) return fn(db as Trx);
  return db.transaction().execute(fn);
}

// Listed here rather than read from a folder, so they work from source and from a bundle alike.
const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Applies pending migrations; throws with the failing migration's name. */
export async function migrate(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error) {
    throw new Error(
      `Migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`,
    );
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
