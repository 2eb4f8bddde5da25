import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The real thing, as a user runs it: `tessera start` on an embedded PostgreSQL in a fresh folder.

const BIN = path.resolve('bin/tessera.js');
let dataDir: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tessera-cli-'));
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await fs.rm(dataDir, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  ms: number;
}

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PORT: '0',
    LOG_LEVEL: 'warn',
    TESSERA_DATA_DIR: dataDir,
    DATABASE_URL: '',
    ...extra,
  };
}

async function start(extra: Record<string, string> = {}): Promise<Started> {
  const began = Date.now();
  const child = spawn(process.execPath, [BIN, 'start'], {
    env: env(extra),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    err += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start within 30s: ${out}${err}`)), 30_000);
    child.stdout?.on('data', () => {
      const m = /Tessera listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}${err}`)));
  });
  const health = await fetch(`${url}/health`);
  expect(health.status).toBe(200);
  return { child, url, stdout: () => out, ms: Date.now() - began };
}

async function stop(s: Started, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) =>
    s.child.once('exit', (code) => resolve(code)),
  );
  s.child.kill(signal);
  const code = await exited;
  children.delete(s.child);
  return code;
}

const get = (url: string, key: string) =>
  fetch(url, { headers: { authorization: `Bearer ${key}` } });

describe('tessera start', () => {
  let adminKey: string;

  it('starts on a fresh folder within 15 s, printing the URL and the admin key on a line of its own', async () => {
    const s = await start();
    expect(s.ms).toBeLessThan(15_000);
    const key = s
      .stdout()
      .split('\n')
      .find((l) => /^tsk_\S+$/.test(l));
    expect(key).toBeDefined();
    adminKey = key as string;
    expect((await get(`${s.url}/v1/programs`, adminKey)).status).toBe(200);
    expect(await stop(s)).toBe(0);
  });

  it('starts again on the same data in under 5 s, without a new admin key', async () => {
    const s = await start();
    expect(s.ms).toBeLessThan(5_000);
    expect(s.stdout()).not.toMatch(/tsk_/);
    expect((await get(`${s.url}/v1/programs`, adminKey)).status).toBe(200);
    expect(await stop(s, 'SIGINT')).toBe(0);
  });

  it('recovers after being killed with SIGKILL, which leaves PostgreSQL behind', async () => {
    const s = await start();
    const res = await fetch(`${s.url}/v1/programs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'survivor', name: 'Survivor' }),
    });
    expect(res.status).toBe(201);
    await stop(s, 'SIGKILL');
    const again = await start();
    expect((await get(`${again.url}/v1/programs/survivor`, adminKey)).status).toBe(200);
    expect(await stop(again)).toBe(0);
  });

  it('creates keys from the CLI and migrates on demand', () => {
    const migrate = spawnSync(process.execPath, [BIN, 'migrate'], { env: env(), encoding: 'utf8' });
    expect(migrate.status).toBe(0);
    const keys = spawnSync(
      process.execPath,
      [BIN, 'keys', 'create', '--program', 'survivor', '--role', 'read'],
      {
        env: env(),
        encoding: 'utf8',
      },
    );
    expect(keys.status).toBe(0);
    expect(keys.stdout.trim()).toMatch(/^tsk_[A-Za-z0-9_-]{32}$/);
    const unknown = spawnSync(process.execPath, [BIN, 'keys', 'create', '--program', 'nope'], {
      env: env(),
      encoding: 'utf8',
    });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/Program nope was not found/);
  });

  it('expires due points and reconciles the ledger from the CLI', () => {
    const expire = spawnSync(process.execPath, [BIN, 'expire'], { env: env(), encoding: 'utf8' });
    expect(expire.status).toBe(0);
    expect(expire.stdout).toMatch(/^Swept 0 account\(s\)/);
    const reconcile = spawnSync(process.execPath, [BIN, 'reconcile'], {
      env: env(),
      encoding: 'utf8',
    });
    expect(reconcile.status).toBe(0);
    expect(reconcile.stdout).toMatch(/^held +ledgers_balance/);
    expect(reconcile.stdout).not.toMatch(/BROKEN/);
    const evaluate = spawnSync(
      process.execPath,
      [BIN, 'tiers', 'evaluate', '--as-of', '2027-01-01T00:00:00+08:00'],
      { env: env(), encoding: 'utf8' },
    );
    expect(evaluate.status, evaluate.stderr).toBe(0);
    const bad = spawnSync(process.execPath, [BIN, 'tiers', 'evaluate', '--as-of', 'soon'], {
      env: env(),
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--as-of must be a time/);
  });

  it('imports a supplier catalog with a summary, refusing bad lines by number (exit 1)', async () => {
    const file = path.join(dataDir, 'rewards.csv');
    await fs.writeFile(
      file,
      'sku,name,kind,pricePoints,stock\nTEA-1,Tea,goods,100,5\nMUG-1,Mug,goods,-3,5\n',
    );
    const run = () =>
      spawnSync(process.execPath, [BIN, 'import', 'rewards', file, '--program', 'survivor'], {
        env: env(),
        encoding: 'utf8',
      });
    const first = run();
    expect(first.status, first.stderr).toBe(1);
    expect(first.stdout).toMatch(/^2 rewards read in [\d.]+ s: 1 created, 0 updated, 1 refused/);
    expect(first.stdout).toMatch(/line 3 \(MUG-1\)/);
    expect(run().stdout).toMatch(/0 created, 1 updated, 1 refused/);
    const usage = spawnSync(process.execPath, [BIN, 'import', 'rewards', file], {
      env: env(),
      encoding: 'utf8',
    });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/usage: tessera import rewards FILE.csv --program ID/);
  });

  it('uses TESSERA_BOOTSTRAP_KEY as the admin key of a new database', async () => {
    const preset = 'tsk_automation0123456789abcdefghij';
    const fresh = await fs.mkdtemp(path.join(os.tmpdir(), 'tessera-cli-'));
    try {
      const s = await start({ TESSERA_DATA_DIR: fresh, TESSERA_BOOTSTRAP_KEY: preset });
      expect(s.stdout()).not.toContain(preset);
      expect((await get(`${s.url}/v1/programs`, preset)).status).toBe(200);
      expect(await stop(s)).toBe(0);
    } finally {
      await fs.rm(fresh, { recursive: true, force: true });
    }
  });

  it('exits with a one-line reason for a bad setting', () => {
    const r = spawnSync(process.execPath, [BIN, 'start'], {
      env: env({ PORT: 'eighty' }),
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      'Invalid configuration: PORT must be a whole number from 0 to 65535 (got "eighty")',
    ]);
  });
});
