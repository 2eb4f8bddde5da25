import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import pino from 'pino';
import { inject } from 'vitest';
import { buildApp } from '../src/app.ts';
import { createDeps, type Deps } from '../src/deps.ts';
import type { Role } from '../src/keys/keys.core.ts';
import { createKey } from '../src/keys/keys.service.ts';
import { ManualClock } from '../src/shared/clock.ts';
import { createIdGenerator } from '../src/shared/ids.ts';

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A fresh database for one test file: a clone of the migrated template, dropped at the end. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const serverUrl = inject('serverUrl');
  const name = `tessera_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name} template ${inject('templateDb')}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(serverUrl, name);
  return {
    url,
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export interface TestContext {
  app: FastifyInstance;
  deps: Deps;
  clock: ManualClock;
  /** A coalition admin key's secret. */
  adminKey: string;
  /** Calls the app in-process with `key` as the bearer token (the admin key by default; null: none). */
  call(options: InjectOptions & { key?: string | null }): Promise<LightMyRequestResponse>;
  /** Creates a program (as the coalition admin) and returns its id. */
  program(id: string): Promise<string>;
  /** Creates a program key and returns its secret. */
  key(programId: string, role: Role): Promise<string>;
  close(): Promise<void>;
}

/** Builds the app in-process on a fresh database, with a manual clock and predictable ids. */
export async function createTestApp(): Promise<TestContext> {
  const database = await createTestDatabase();
  const clock = new ManualClock('2026-06-01T00:00:00Z');
  const { deps, close } = createDeps(database.url, {
    clock,
    ids: createIdGenerator(clock),
    log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    poolSize: 30,
  });
  const app = await buildApp(deps);
  await app.ready();
  const { secret: adminKey } = await createKey(
    deps,
    {
      programId: null,
      role: 'admin',
      name: 'test admin',
    },
    null,
  );

  const call: TestContext['call'] = ({ key = adminKey, headers, ...options }) =>
    app.inject({
      ...options,
      headers: { ...(key === null ? {} : { authorization: `Bearer ${key}` }), ...headers },
    });

  return {
    app,
    deps,
    clock,
    adminKey,
    call,
    async program(id) {
      const res = await call({
        method: 'POST',
        url: '/v1/programs',
        payload: { id, name: `Program ${id}` },
      });
      if (res.statusCode !== 201) throw new Error(`could not create program ${id}: ${res.body}`);
      return id;
    },
    async key(programId, role) {
      const { secret } = await createKey(deps, { programId, role, name: `${role} test key` }, null);
      return secret;
    },
    async close() {
      await app.close();
      await close();
      await database.drop();
    },
  };
}
