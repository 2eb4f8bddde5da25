import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { migrate } from '../src/db/database.ts';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../src/db/embedded.ts';
import { createDeps, type Deps } from '../src/deps.ts';
import { createProgram } from '../src/programs/programs.service.ts';
import { systemClock } from '../src/shared/clock.ts';
import { createIdGenerator } from '../src/shared/ids.ts';

/** Runs one statement as the server's user, on its own connection. */
async function onServer(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * A database for one benchmark: a throwaway database on the server BENCH_DATABASE_URL names
 * (dropped at the end), or an embedded server in a temporary folder with production settings
 * (fsync and synchronous_commit on).
 */
async function benchDatabase(): Promise<{ url: string; stop(): Promise<void> }> {
  const server = process.env.BENCH_DATABASE_URL;
  if (server) {
    const name = `tessera_bench_${process.pid}_${Date.now()}`;
    await onServer(server, `create database ${name}`);
    const url = new URL(server);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      stop: () => onServer(server, `drop database ${name} with (force)`),
    };
  }
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tessera-bench-'));
  const embedded: EmbeddedPostgres = await startEmbeddedPostgres({
    dataDir,
    settings: { shared_buffers: '512MB' },
  });
  return {
    url: embedded.url(),
    async stop() {
      await embedded.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A migrated database with a program `bench`, and the services' dependencies wired to it. */
export async function benchRuntime(
  poolSize: number,
  ledger: { workers?: number; maxBatch?: number } = {},
): Promise<{ url: string; deps: Deps; close(): Promise<void> }> {
  const database = await benchDatabase();
  const { deps, close } = createDeps(database.url, {
    clock: systemClock,
    ids: createIdGenerator(systemClock),
    log: pino({ level: 'silent' }),
    poolSize,
    ledgerWorkers: ledger.workers ?? 1,
    ...(ledger.maxBatch && { ledgerMaxBatch: ledger.maxBatch }),
  });
  await migrate(deps.db);
  await createProgram(deps, { id: 'bench', name: 'Bench' }, null);
  return {
    url: database.url,
    deps,
    async close() {
      await close();
      await database.stop();
    },
  };
}

export interface LoadResult {
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  statuses: Record<number, number>;
}

/** Sends requests from `concurrency` keep-alive connections for `seconds`; latencies in ms. */
export async function load(
  url: string,
  options: {
    concurrency: number;
    seconds: number;
    request: (i: number) => {
      method: string;
      path: string;
      headers?: Record<string, string>;
      body?: string;
    };
  },
): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const target = new URL(url);
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  const until = performance.now() + options.seconds * 1000;
  let n = 0;
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const r = options.request(i);
      const began = performance.now();
      const req = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          method: r.method,
          path: r.path,
          headers: r.headers,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - began);
            statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(r.body);
    });
  const began = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < until) await one(n++);
    }),
  );
  const elapsed = (performance.now() - began) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    requests: latencies.length,
    perSecond: latencies.length / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    statuses,
  };
}

export function report(name: string, r: LoadResult, floor?: LoadResult): void {
  const ratio = floor ? `  (${((r.perSecond / floor.perSecond) * 100).toFixed(0)}% of floor)` : '';
  console.log(
    `${name.padEnd(44)} ${r.perSecond.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  ${JSON.stringify(r.statuses)}${ratio}`,
  );
}

/** Runs `one` from `callers` concurrent loops for `seconds`; returns completions per second. */
export async function measure(
  seconds: number,
  callers: number,
  one: (i: number) => Promise<unknown>,
): Promise<number> {
  const until = performance.now() + seconds * 1000;
  const began = performance.now();
  let n = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < until) await one(n++);
    }),
  );
  return n / ((performance.now() - began) / 1000);
}
