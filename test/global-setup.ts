import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDb, migrate } from '../src/db/database.ts';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../src/db/embedded.ts';
import { buildWeb, isBuilt } from '../web/build.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A server URL with the maintenance database, and the migrated template each test file clones. */
    serverUrl: string;
    templateDb: string;
  }
}

/**
 * One PostgreSQL for the whole run: the embedded one in a temporary folder, or the server in
 * TEST_DATABASE_URL. Migrations run once into a template; each test file clones it.
 */
export default async function setup(project: TestProject) {
  let server: EmbeddedPostgres | undefined;
  let dataDir: string | undefined;
  let serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    // Under the system temp folder, which the unprivileged postgres user can reach even when
    // the checkout is under /root.
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tessera-test-'));
    server = await startEmbeddedPostgres({
      dataDir,
      // A throwaway cluster: durability buys nothing here. Production keeps fsync and
      // synchronous_commit on.
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
    });
    serverUrl = server.url();
  }
  const templateDb = `tessera_tpl_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${templateDb}`);
  const url = new URL(serverUrl);
  url.pathname = `/${templateDb}`;
  const db = createDb(url.toString(), 2);
  await migrate(db);
  await db.destroy();

  // The browser tests and the web routes' tests need the console and the portal built; `npm
  // install` builds them, a checkout that skipped it builds them here.
  if (!isBuilt()) await buildWeb({ quiet: true });

  project.provide('serverUrl', serverUrl);
  project.provide('templateDb', templateDb);

  return async () => {
    await admin.query(`drop database if exists ${templateDb} with (force)`);
    await admin.end();
    await server?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  };
}
