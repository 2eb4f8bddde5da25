import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Crash safety, as it happens in production: a stream of redemptions and adjustments (then one of
// conversions between two programs) against a real server; the server and its database are killed with SIGKILL mid-stream; after a restart
// every request that was answered 2xx is there exactly once, a retry of every request (answered
// or not) applies it at most once, and reconcile is clean.

const BIN = path.resolve('bin/tessera.js');
const KEY = 'tsk_crashtest0123456789abcdefghijkl';
let dataDir: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tessera-crash-'));
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await fs.rm(dataDir, { recursive: true, force: true });
});

async function start(): Promise<string> {
  child = spawn(process.execPath, [BIN, 'start'], {
    env: {
      ...process.env,
      PORT: '0',
      LOG_LEVEL: 'error',
      TESSERA_DATA_DIR: dataDir,
      DATABASE_URL: '',
      TESSERA_BOOTSTRAP_KEY: KEY,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start: ${out}`)), 30_000);
    child?.stdout?.on('data', (d) => {
      out += d;
      const m = /Tessera listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
}

function call(url: string, method: string, body?: object, idempotencyKey?: string) {
  return fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${KEY}`,
      ...(body && { 'content-type': 'application/json' }),
      ...(idempotencyKey && { 'idempotency-key': idempotencyKey }),
    },
    ...(body && { body: JSON.stringify(body) }),
  });
}

interface Sent {
  key: string;
  kind: 'redemptions' | 'adjustments';
  body: { points: number; reference?: string; reason?: string };
  reference: string;
  acked?: string; // transfer id of a 2xx answer
}

describe('crash: SIGKILL of the server and the database mid-stream', () => {
  it('keeps every acknowledged request exactly once, and applies retries at most once', async () => {
    let base = await start();
    expect((await call(`${base}/v1/programs`, 'POST', { id: 'crash', name: 'Crash' })).status).toBe(
      201,
    );
    const enrolled = await call(`${base}/v1/programs/crash/members`, 'POST', {
      identifiers: [{ type: 'phone', value: '13912345678' }],
      channel: 'pos',
    });
    const memberId = ((await enrolled.json()) as { id: string }).id;
    const points = (b: string) => `${b}/v1/programs/crash/members/${memberId}/points`;
    expect(
      (await call(`${points(base)}/adjustments`, 'POST', { points: 1_000_000, reason: 'float' }))
        .status,
    ).toBe(201);

    const sent: Sent[] = [];
    let stop = false;
    let n = 0;
    const client = async () => {
      while (!stop) {
        const i = n++;
        const kind = i % 3 === 0 ? 'adjustments' : 'redemptions';
        const reference = `${kind}-${i}`;
        const s: Sent = {
          key: `k-${i}`,
          kind,
          reference,
          body:
            kind === 'redemptions'
              ? { points: 1 + (i % 5), reference }
              : { points: 1 + (i % 7), reason: reference },
        };
        sent.push(s);
        try {
          const res = await call(`${points(base)}/${kind}`, 'POST', s.body, s.key);
          if (res.status === 201)
            s.acked = ((await res.json()) as { transferId: string }).transferId;
        } catch {
          return; // the server is gone
        }
      }
    };
    const clients = Array.from({ length: 16 }, client);
    await new Promise((r) => setTimeout(r, 1500));
    // Kill the database first (as a power cut would), then the server, while requests are in flight.
    const pgPid = Number(
      readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    process.kill(pgPid, 'SIGKILL');
    child?.kill('SIGKILL');
    stop = true;
    await Promise.all(clients);
    const acked = sent.filter((s) => s.acked);
    expect(acked.length).toBeGreaterThan(50);
    console.log(`crash: ${acked.length} of ${sent.length} requests answered 2xx before the kill`);

    base = await start();
    // Every request again, with its key: answered ones replay, the others apply now, none twice.
    for (let i = 0; i < sent.length; i += 16) {
      await Promise.all(
        sent.slice(i, i + 16).map(async (s) => {
          const res = await call(`${points(base)}/${s.kind}`, 'POST', s.body, s.key);
          expect(res.status, s.reference).toBe(201);
          const { transferId } = (await res.json()) as { transferId: string };
          if (s.acked) expect(transferId, s.reference).toBe(s.acked);
        }),
      );
    }
    const seen = new Map<string, number>();
    let cursor: string | null = null;
    do {
      const res: Response = await call(
        `${points(base)}/history?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
        'GET',
      );
      const body = (await res.json()) as {
        data: { reference: string | null }[];
        nextCursor: string | null;
      };
      for (const h of body.data)
        if (h.reference) seen.set(h.reference, (seen.get(h.reference) ?? 0) + 1);
      cursor = body.nextCursor;
    } while (cursor);
    for (const s of sent) expect(seen.get(s.reference), s.reference).toBe(1);

    const report = (await (await call(`${base}/v1/ledger/reconcile`, 'GET')).json()) as {
      checks: { held: boolean }[];
    };
    expect(report.checks.filter((c) => !c.held)).toEqual([]);
    // A clean stop, waited for: it stops the embedded PostgreSQL too, before its folder goes.
    const server = child;
    const exited = new Promise((resolve) => server?.once('exit', resolve));
    server?.kill('SIGTERM');
    await exited;
    child = undefined;
  }, 120_000);

  it('keeps every acknowledged conversion applied once on both ledgers', async () => {
    let base = await start();
    for (const [id, perHub] of [
      ['hotel-a', 10],
      ['hotel-b', 4],
    ] as const) {
      expect((await call(`${base}/v1/programs`, 'POST', { id, name: id })).status).toBe(201);
      const rate = await call(`${base}/v1/coalition/exchange/programs/${id}`, 'PUT', {
        pointsPerHubUnit: perHub,
        pointValueFen: 3,
      });
      expect(rate.status).toBe(200);
    }
    const pair = await call(`${base}/v1/coalition/exchange/pairs/hotel-a/hotel-b`, 'PUT', {
      feePercent: 1,
      feeMinimum: 1,
      maxPoints: 1_000,
      dailyLimit: 1_000_000_000,
    });
    expect(pair.status).toBe(200);
    let memberId = '';
    for (const program of ['hotel-a', 'hotel-b']) {
      const enrolled = await call(`${base}/v1/programs/${program}/members`, 'POST', {
        identifiers: [{ type: 'phone', value: '13912340000' }],
        channel: 'app',
      });
      memberId = ((await enrolled.json()) as { id: string }).id;
    }
    const pointsOf = async (b: string, program: string) =>
      (
        (await (
          await call(`${b}/v1/programs/${program}/members/${memberId}/points`, 'GET')
        ).json()) as { balance: number }
      ).balance;
    const float = await call(
      `${base}/v1/programs/hotel-a/members/${memberId}/points/adjustments`,
      'POST',
      { points: 10_000_000, reason: 'float' },
    );
    expect(float.status).toBe(201);

    interface Conversion {
      reference: string;
      points: number;
      acked?: { conversionId: string; debited: number; credited: number };
    }
    const sent: Conversion[] = [];
    const convert = (b: string, c: Conversion) =>
      call(`${b}/v1/members/${memberId}/conversions`, 'POST', {
        from: 'hotel-a',
        to: 'hotel-b',
        points: c.points,
        reference: c.reference,
      });
    let stop = false;
    let n = 0;
    const client = async () => {
      while (!stop) {
        const i = n++;
        const c: Conversion = { reference: `cv-${i}`, points: 10 + (i % 37) };
        sent.push(c);
        try {
          const res = await convert(base, c);
          if (res.status === 201) c.acked = (await res.json()) as Conversion['acked'];
        } catch {
          return;
        }
      }
    };
    const clients = Array.from({ length: 16 }, client);
    await new Promise((r) => setTimeout(r, 1500));
    const pgPid = Number(
      readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    process.kill(pgPid, 'SIGKILL');
    child?.kill('SIGKILL');
    stop = true;
    await Promise.all(clients);
    const acked = sent.filter((c) => c.acked);
    expect(acked.length).toBeGreaterThan(50);
    console.log(
      `crash: ${acked.length} of ${sent.length} conversions answered 2xx before the kill`,
    );

    base = await start();
    // Every conversion again, by its reference: answered ones replay, the others apply now.
    let debited = 0;
    let credited = 0;
    for (let i = 0; i < sent.length; i += 16) {
      await Promise.all(
        sent.slice(i, i + 16).map(async (c) => {
          const res = await convert(base, c);
          expect(res.status, c.reference).toBe(201);
          const body = (await res.json()) as NonNullable<Conversion['acked']>;
          if (c.acked) expect(body, c.reference).toEqual(c.acked);
          debited += body.debited;
          credited += body.credited;
        }),
      );
    }
    expect(await pointsOf(base, 'hotel-a')).toBe(10_000_000 - debited);
    expect(await pointsOf(base, 'hotel-b')).toBe(credited);
    const seen = new Map<string, number>();
    let cursor: string | null = null;
    do {
      const res: Response = await call(
        `${base}/v1/members/${memberId}/conversions?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
        'GET',
      );
      const body = (await res.json()) as {
        data: { reference: string }[];
        nextCursor: string | null;
      };
      for (const c of body.data) seen.set(c.reference, (seen.get(c.reference) ?? 0) + 1);
      cursor = body.nextCursor;
    } while (cursor);
    for (const c of sent) expect(seen.get(c.reference), c.reference).toBe(1);

    const report = (await (await call(`${base}/v1/ledger/reconcile`, 'GET')).json()) as {
      checks: { name: string; held: boolean }[];
    };
    expect(report.checks.filter((c) => !c.held)).toEqual([]);
    expect(report.checks.map((c) => c.name)).toContain('settlement_matches_conversions');
    const server = child;
    const exited = new Promise((resolve) => server?.once('exit', resolve));
    server?.kill('SIGTERM');
    await exited;
    child = undefined;
  }, 120_000);
});
