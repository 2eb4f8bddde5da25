import { randomBytes } from 'node:crypto';
import { buildApp } from '../src/app.ts';
import { createKey } from '../src/keys/keys.service.ts';
import { benchRuntime, load, report } from './harness.ts';

// The cost of the API conventions: an authenticated read and an idempotent write, each beside
// the floor of the same server answering /health (no database, no auth) in the same run.

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = 32;

export async function run(): Promise<void> {
  const { deps, close } = await benchRuntime(32);
  const { secret } = await createKey(
    deps,
    { programId: 'bench', role: 'admin', name: 'bench' },
    null,
  );
  const app = await buildApp(deps);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const auth = { authorization: `Bearer ${secret}` };

  console.log(
    `api: ${CONCURRENCY} connections, ${SECONDS} s each, client and server on this machine`,
  );
  const floor = await load(url, {
    concurrency: CONCURRENCY,
    seconds: SECONDS,
    request: () => ({ method: 'GET', path: '/health' }),
  });
  report('floor: GET /health (no auth, no database)', floor);
  const read = await load(url, {
    concurrency: CONCURRENCY,
    seconds: SECONDS,
    request: () => ({ method: 'GET', path: '/v1/programs/bench', headers: auth }),
  });
  report('GET /v1/programs/{id} (key lookup + read)', read, floor);
  const run = randomBytes(4).toString('hex');
  const write = await load(url, {
    concurrency: CONCURRENCY,
    seconds: SECONDS,
    request: (i) => ({
      method: 'POST',
      path: '/v1/programs/bench/api-keys',
      headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': `${run}-${i}` },
      body: JSON.stringify({ role: 'read', name: `bench ${i}` }),
    }),
  });
  report('POST api-keys with Idempotency-Key (commit)', write, floor);

  await app.close();
  await close();
}
