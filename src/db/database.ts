import {
  Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  PostgresDialect,
  type RawBuilder,
  sql,
  type Transaction,
} from 'kysely';
import pg from 'pg';
import * as m0001 from './migrations/0001_foundation.ts';
import * as m0002 from './migrations/0002_members.ts';
import * as m0003 from './migrations/0003_ledger.ts';
import * as m0004 from './migrations/0004_ledger_set_checks.ts';
import * as m0005 from './migrations/0005_ledgers.ts';
import * as m0006 from './migrations/0006_growth_tiers.ts';
import * as m0007 from './migrations/0007_purchases.ts';
import * as m0008 from './migrations/0008_portal.ts';
import * as m0009 from './migrations/0009_metrics.ts';
import * as m0010 from './migrations/0010_exchange.ts';
import * as m0011 from './migrations/0011_coalition_levels.ts';
import * as m0012 from './migrations/0012_pool.ts';
import * as m0013 from './migrations/0013_offers.ts';
import * as m0014 from './migrations/0014_metrics_exchange.ts';
import * as m0015 from './migrations/0015_ledger_checks_by_index.ts';
import * as m0016 from './migrations/0016_coupons.ts';
import * as m0017 from './migrations/0017_rewards.ts';
import * as m0018 from './migrations/0018_mall_rewards_issuing.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;
export type Trx = Transaction<Database>;

// A `date` is a calendar day (a birthday), not an instant: keep it as YYYY-MM-DD rather than
// let pg turn it into a Date at local midnight.
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

const PREPARED = '/* prepared */ ';

/**
 * Starts a statement that runs on every ledger batch: each connection has PostgreSQL parse it
 * once (and plan it once, when a generic plan is as good) instead of on every call. The text after
 * it must not vary between calls: values go in as parameters. Name the columns it returns rather
 * than `select *`: a migration that adds a column would make PostgreSQL refuse the cached plan.
 */
export const prepared: RawBuilder<unknown> = sql.raw(PREPARED);

const statementNames = new Map<string, string>();
function nameOf(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `tessera_${statementNames.size + 1}`;
    statementNames.set(text, name);
  }
  return name;
}

type Query = (text: unknown, values?: unknown) => Promise<unknown>;

/** Opens a pool to `url`. */
export function createDb(url: string, max = 20): Db {
  const pool = new pg.Pool({ connectionString: url, max, application_name: 'tessera' });
  // An idle client that loses its connection must not crash the process.
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as Query;
    (client as unknown as { query: Query }).query = (text, values) =>
      typeof text === 'string' && text.startsWith(PREPARED)
        ? query({ name: nameOf(text), text, values })
        : query(text, values);
  });
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
  '0002_members': m0002,
  '0003_ledger': m0003,
  '0004_ledger_set_checks': m0004,
  '0005_ledgers': m0005,
  '0006_growth_tiers': m0006,
  '0007_purchases': m0007,
  '0008_portal': m0008,
  '0009_metrics': m0009,
  '0010_exchange': m0010,
  '0011_coalition_levels': m0011,
  '0012_pool': m0012,
  '0013_offers': m0013,
  '0014_metrics_exchange': m0014,
  '0015_ledger_checks_by_index': m0015,
  '0016_coupons': m0016,
  '0017_rewards': m0017,
  '0018_mall_rewards_issuing': m0018,
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
