import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { buildApp } from '../src/app.ts';
import { COUPON_CODE_BYTES, couponCode } from '../src/coupons/coupons.core.ts';
import { createTemplate, issueCoupons } from '../src/coupons/coupons.service.ts';
import type { Deps } from '../src/deps.ts';
import { registerAuth } from '../src/http/auth.ts';
import { registerIdempotency } from '../src/http/idempotency.ts';
import { createKey } from '../src/keys/keys.service.ts';
import { pointsLedger } from '../src/ledger/ledger.core.ts';
import { reconcile } from '../src/ledger/reconcile.ts';
import { placeOrder } from '../src/orders/orders.service.ts';
import { createReward } from '../src/rewards/rewards.service.ts';
import { DomainError } from '../src/shared/errors.ts';
import { benchRuntime, type LoadResult, load, report } from './harness.ts';

// The rewards mall and coupons under load, durable commits throughout:
// 1. a flash deal — BENCH_MALL_BUYERS distinct members (default 2,000) at once against a 1-point
//    reward with stock 100 and one per member, through the orders service's `placeOrder`, beside
//    a floor of the same reservation as a locking read-modify-write in plain SQL (select … for
//    update, check, update, insert the order, commit) through a pg.Pool of 64;
// 2. BENCH_MALL_CODES coupons (default 1,000,000) issued, and no code twice;
// 3. `POST …/coupons/validate` over HTTP at 64 connections, beside `GET /health`, a GET behind
//    the same API key that reads nothing, and `GET /v1/programs/{id}` (the key and one query);
// 4. 50 concurrent redemptions of one code: exactly one succeeds.
// BENCH_MALL_ONLY=validation skips the flash deal (1), e.g. with BENCH_MALL_CODES=200000 to time
// validation in under a minute; BENCH_MALL_ONLY=flash runs only the flash deal.

const BUYERS = Number(process.env.BENCH_MALL_BUYERS ?? 2_000);
const CODES = Number(process.env.BENCH_MALL_CODES ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_MALL_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** `validation`: skip the flash deal; `flash`: only the flash deal. */
const ONLY = process.env.BENCH_MALL_ONLY;
/** Seconds the service's issuing may take for every code before the set-based insert is used. */
const ISSUE_BUDGET = Number(process.env.BENCH_MALL_ISSUE_BUDGET ?? 90);
const STOCK = 100;
const CALLERS = 64;
const REDEEMERS = 50;
/** Members the coupons are issued to: a batch names each once, under its own reference. */
const COUPON_MEMBERS = 5_000;
const POINTS = 1_000;

const buyerId = (i: number) => `mem_mallbench${String(i).padStart(11, '0')}`;
const couponMemberId = (i: number) => `mem_mallcoupon${String(i).padStart(11, '0')}`;
const fmt = (n: number) => Math.round(n).toLocaleString('en').padStart(7);
const ms = (n: number) => `${n.toFixed(1)} ms`;

function percentiles(latencies: number[]): { p50: number; p99: number } {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99) };
}

interface Burst {
  perSecond: number;
  seconds: number;
  p50: number;
  p99: number;
  outcomes: Record<string, number>;
}

/** Starts every call at once; each call answers its outcome. */
async function burst(n: number, one: (i: number) => Promise<string>): Promise<Burst> {
  const latencies: number[] = [];
  const outcomes: Record<string, number> = {};
  const began = performance.now();
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const start = performance.now();
      const outcome = await one(i);
      latencies.push(performance.now() - start);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }),
  );
  const seconds = (performance.now() - began) / 1000;
  return { perSecond: n / seconds, seconds, ...percentiles(latencies), outcomes };
}

/** Pools rounds: requests over the summed wall time, percentiles over every request. */
function pooled(rounds: Burst[], all: number[]): Burst {
  const seconds = rounds.reduce((t, r) => t + r.seconds, 0);
  const outcomes: Record<string, number> = {};
  for (const r of rounds) {
    for (const [k, v] of Object.entries(r.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
  }
  return { perSecond: all.length / seconds, seconds, ...percentiles(all), outcomes };
}

/** 1. The flash deal beside its floor: every round checked exact, then reconcile. */
async function flashDeal(deps: Deps, databaseUrl: string): Promise<void> {
  // Floor: the same reservation as a locking read-modify-write in plain SQL, one per transaction,
  // every buyer at once through a pool of 64, on copies of the tables (same columns and checks).
  await sql`create table floor_rewards (like rewards including all)`.execute(deps.db);
  await sql`create table floor_orders (like reward_orders including all)`.execute(deps.db);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: CALLERS });
  const floorRounds: Burst[] = [];
  const floorLatencies: number[] = [];
  // Round 0 warms up (connections, plans) and is not counted.
  for (let round = 0; round <= ROUNDS; round++) {
    const id = `rwd_floor${round}`;
    await sql`insert into floor_rewards (id, program_id, sku, name, kind, price_points, stock, reserved,
        per_member_limit, on_shelf, created_at, updated_at)
      values (${id}, 'bench', ${`FLOOR-${round}`}, 'Flash deal', 'goods', 1, ${STOCK}, 0, 1, true, now(), now())`.execute(
      deps.db,
    );
    const r = await burst(BUYERS, async (i) => {
      const start = performance.now();
      const client = await pool.connect();
      try {
        await client.query('begin');
        const { rows } = await client.query<{ stock: number; reserved: number }>(
          'select stock, reserved from floor_rewards where id = $1 for update',
          [id],
        );
        const row = rows[0];
        if (!row || row.stock - row.reserved < 1) {
          await client.query('rollback');
          return 'out_of_stock';
        }
        await client.query('update floor_rewards set reserved = $2 where id = $1', [
          id,
          row.reserved + 1,
        ]);
        await client.query(
          `insert into floor_orders (program_id, id, member_id, status, fingerprint, points, cash_fen, placed_at, expires_at)
           values ('bench', $1, $2, 'placed', $1, 1, 0, now(), now() + interval '30 minutes')`,
          [`floor-${round}-${i}`, buyerId(1 + i)],
        );
        await client.query('commit');
        return 'placed';
      } finally {
        client.release();
        if (round > 0) floorLatencies.push(performance.now() - start);
      }
    });
    if (round > 0) floorRounds.push(r);
    console.log(
      `  floor round ${round || 'warm-up'}: ${fmt(r.perSecond)} order requests/s  p50 ${ms(r.p50)}  p99 ${ms(r.p99)}  ${JSON.stringify(r.outcomes)}${round ? '' : ' (not counted)'}`,
    );
  }
  await pool.end();
  const floor = pooled(floorRounds, floorLatencies);
  const floorPlaced = await sql<{ n: string; members: string }>`
    select count(*) n, count(distinct member_id) members from floor_orders where id not like 'floor-0-%'`.execute(
    deps.db,
  );
  console.log(
    `floor: plain SQL, select … for update + update   ${fmt(floor.perSecond)} order requests/s  p50 ${ms(floor.p50)}  p99 ${ms(floor.p99)}  ` +
      `(${ROUNDS} × ${BUYERS.toLocaleString('en')} requests, ${JSON.stringify(floor.outcomes)}, ${floorPlaced.rows[0]?.n} orders)`,
  );

  // The orders service: a fresh reward each round, every buyer at once.
  const serviceRounds: Burst[] = [];
  const serviceLatencies: number[] = [];
  let exact = true;
  const stats = () => ({ ...deps.ledger.stats });
  for (let round = 0; round <= ROUNDS; round++) {
    const before = stats();
    const reward = await createReward(
      deps,
      'bench',
      {
        sku: `FLASH-${round}`,
        name: 'Flash deal',
        kind: 'goods',
        pricePoints: 1,
        stock: STOCK,
        perMemberLimit: { count: 1 },
        onShelf: true,
      },
      null,
    );
    const r = await burst(BUYERS, async (i) => {
      const start = performance.now();
      try {
        await placeOrder(deps, 'bench', buyerId(1 + i), {
          id: `flash-${round}-${i}`,
          items: [{ rewardId: reward.id, quantity: 1 }],
        });
        return 'placed';
      } catch (error) {
        if (error instanceof DomainError) return error.code;
        throw error;
      } finally {
        if (round > 0) serviceLatencies.push(performance.now() - start);
      }
    });
    if (round > 0) serviceRounds.push(r);
    const after = stats();
    const batches = after.batches - before.batches;
    const counted = await sql<{ orders: string; members: string; twice: string; reserved: number }>`
      select count(*) orders, count(distinct o.member_id) members,
        (select count(*) from (select o2.member_id from reward_orders o2 join reward_order_items i2
           on i2.program_id = o2.program_id and i2.order_id = o2.id
           where i2.reward_id = ${reward.id} group by o2.member_id having count(*) > 1) d) twice,
        (select reserved from rewards where id = ${reward.id}) reserved
      from reward_orders o join reward_order_items i on i.program_id = o.program_id and i.order_id = o.id
      where i.reward_id = ${reward.id}`.execute(deps.db);
    const c = counted.rows[0];
    const ok =
      r.outcomes.placed === STOCK &&
      Number(c?.orders) === STOCK &&
      Number(c?.members) === STOCK &&
      Number(c?.twice) === 0 &&
      c?.reserved === STOCK;
    exact &&= ok;
    console.log(
      `  round ${round || 'warm-up'}: ${fmt(r.perSecond)} order requests/s  p50 ${ms(r.p50)}  p99 ${ms(r.p99)}  ${JSON.stringify(r.outcomes)}; ` +
        `${c?.orders} orders, ${c?.members} members, ${c?.twice} members twice, ${c?.reserved} reserved${ok ? '' : '  WRONG'}${round ? '' : ' (not counted)'}; ` +
        `${batches} ledger batches, ${((after.commands - before.commands) / batches).toFixed(1)} commands each, ${((after.ms - before.ms) / batches).toFixed(1)} ms each`,
    );
  }
  const service = pooled(serviceRounds, serviceLatencies);
  console.log(
    `orders service, placeOrder (conditional update)  ${fmt(service.perSecond)} order requests/s  p50 ${ms(service.p50)}  p99 ${ms(service.p99)}  ` +
      `(${(service.perSecond / floor.perSecond).toFixed(1)}× the floor; ${exact ? `exactly ${STOCK} orders each round, no member twice` : 'NOT EXACT'})`,
  );
  const check = await reconcile(deps);
  console.log(
    `reconcile after the flash deals: ${check.ok ? 'every invariant held' : `BROKEN: ${check.checks.filter((c) => !c.held).map((c) => c.name)}`}`,
  );
}

export async function run(): Promise<void> {
  const { url: databaseUrl, deps, close } = await benchRuntime(CALLERS + 4);
  const ledger = pointsLedger('bench');

  // The buyers, each enrolled with POINTS points, and the coupon holders, enrolled: members,
  // accounts, transfers and lots written set-based so that every invariant holds from the start.
  await deps.db.transaction().execute(async (trx) => {
    const buyers = sql`'mem_mallbench' || lpad(i::text, 11, '0')`;
    const holders = sql`'mem_mallcoupon' || lpad(i::text, 11, '0')`;
    const series = sql`generate_series(1, ${BUYERS}::int) i`;
    const holderSeries = sql`generate_series(1, ${COUPON_MEMBERS}::int) i`;
    await sql`insert into members (id, status, created_at, updated_at)
      select ${buyers}, 'active', now(), now() from ${series}
      union all select ${holders}, 'active', now(), now() from ${holderSeries}`.execute(trx);
    await sql`insert into enrollments (program_id, member_id, enrolled_at, channel, status)
      select 'bench', ${buyers}, now(), 'import', 'active' from ${series}
      union all select 'bench', ${holders}, now(), 'import', 'active' from ${holderSeries}`.execute(
      trx,
    );
    await sql`insert into ledger_accounts (id, ledger, program_id, kind, member_id, credits_posted, created_at)
      select 'acc_mall' || lpad(i::text, 11, '0'), ${ledger}, 'bench', 'member', ${buyers}, ${POINTS}, now() from ${series}`.execute(
      trx,
    );
    await sql`insert into ledger_transfers (id, command_id, ledger, debit_account_id, credit_account_id, amount, kind, code, credit_balance_after, created_at)
      select 'trf_0mallseed' || lpad(i::text, 11, '0'), 'seed', ${ledger}, a.id, 'acc_mall' || lpad(i::text, 11, '0'), ${POINTS}, 'single', 'earn', ${POINTS}, now()
      from ${series}, ledger_accounts a where a.ledger = ${ledger} and a.kind = 'issuance'`.execute(
      trx,
    );
    await sql`insert into ledger_lots (id, account_id, amount, remaining, created_at)
      select 'trf_0mallseed' || lpad(i::text, 11, '0'), 'acc_mall' || lpad(i::text, 11, '0'), ${POINTS}, ${POINTS}, now() from ${series}`.execute(
      trx,
    );
    await sql`update ledger_accounts set debits_posted = ${BUYERS * POINTS} where ledger = ${ledger} and kind = 'issuance'`.execute(
      trx,
    );
  });
  await sql`analyze`.execute(deps.db);

  console.log(
    `mall: ${BUYERS.toLocaleString('en')} buyers × ${ROUNDS} flash deals of stock ${STOCK}, ${CODES.toLocaleString('en')} coupon codes, ${CALLERS} HTTP connections for ${SECONDS} s, durable commits`,
  );

  if (ONLY !== 'validation') await flashDeal(deps, databaseUrl);
  if (ONLY === 'flash') {
    await close();
    return;
  }

  // --- 2. coupon codes ---

  const template = await createTemplate(
    deps,
    'bench',
    {
      name: '¥5 off ¥10',
      kind: 'amount_off',
      amountOffFen: 500,
      conditions: { minSpendFen: 1000 },
    },
    null,
  );
  const holders = Array.from({ length: COUPON_MEMBERS }, (_, i) => couponMemberId(1 + i));
  let issued = 0;
  let batch = 0;
  // The service first, one batch of up to COUPON_MEMBERS coupons per call, two calls at a time;
  // once its pace would not issue every code within the budget (BENCH_MALL_ISSUE_BUDGET seconds),
  // the rest as the service's code generator and one set-based insert per 50,000 (through the same
  // unique index on the code).
  const serviceBegan = performance.now();
  const issueBatch = async () => {
    const n = Math.min(COUPON_MEMBERS, CODES - issued);
    if (n <= 0) return;
    issued += n;
    const ref = `bench-${batch++}`;
    await issueCoupons(
      deps,
      'bench',
      template.id,
      { memberIds: holders.slice(0, n), reference: ref },
      null,
    );
  };
  // After the first two pairs of calls, and each pair after: would the rest, at the pace so far,
  // end past the budget?
  const elapsed = () => (performance.now() - serviceBegan) / 1000;
  while (
    issued < CODES &&
    (batch < 4 || elapsed() + (CODES - issued) / (issued / elapsed()) <= ISSUE_BUDGET)
  ) {
    await Promise.all([issueBatch(), issueBatch()]);
  }
  const byService = issued;
  const viaService = byService === CODES;
  const serviceSeconds = elapsed();
  const servicePace = byService / serviceSeconds;
  let bulkSeconds = 0;
  let collisions = 0;
  if (!viaService) {
    const began = performance.now();
    const CHUNK = 50_000;
    const now = new Date();
    while (issued < CODES) {
      const n = Math.min(CHUNK, CODES - issued);
      const ids: string[] = [];
      const members: string[] = [];
      const refs: string[] = [];
      for (let k = 0; k < n; k++) {
        const g = issued + k;
        ids.push(deps.ids('cpn'));
        members.push(couponMemberId(1 + (g % COUPON_MEMBERS)));
        refs.push(`bulk-${Math.floor(g / COUPON_MEMBERS)}`);
      }
      for (;;) {
        const codes = Array.from({ length: n }, () => couponCode(randomBytes(COUPON_CODE_BYTES)));
        try {
          await deps.db.transaction().execute(async (trx) => {
            await sql`insert into coupons (id, template_id, program_id, member_id, reference, code, status, issued_at)
              select id, ${template.id}, 'bench', m, r, c, 'issued', ${now}
              from unnest(${ids}::text[], ${members}::text[], ${refs}::text[], ${codes}::text[]) v(id, m, r, c)`.execute(
              trx,
            );
            await sql`update coupon_templates set issued = issued + ${n} where id = ${template.id}`.execute(
              trx,
            );
          });
          break;
        } catch (error) {
          // Two codes alike: the unique index refused the chunk; draw its codes again.
          const e = error as { code?: string; constraint?: string };
          if (e.code === '23505' && e.constraint === 'coupons_code_key') {
            collisions++;
            continue;
          }
          throw error;
        }
      }
      issued += n;
    }
    bulkSeconds = (performance.now() - began) / 1000;
  }
  const distinct = await sql<{ n: string; codes: string }>`
    select count(*) n, count(distinct code) codes from coupons where template_id = ${template.id}`.execute(
    deps.db,
  );
  const index = await sql<{ unique: boolean; valid: boolean }>`
    select indisunique "unique", indisvalid valid from pg_index where indexrelid = 'coupons_code_key'::regclass`.execute(
    deps.db,
  );
  // The index still refuses a code that exists: a copy of one coupon under another id.
  let refused = false;
  try {
    await sql`insert into coupons (id, template_id, program_id, member_id, reference, code, status, issued_at)
      select 'cpn_duplicate', template_id, program_id, member_id, 'duplicate', code, 'issued', now()
      from coupons where template_id = ${template.id} limit 1`.execute(deps.db);
  } catch (error) {
    refused = (error as { code?: string }).code === '23505';
  }
  const n = Number(distinct.rows[0]?.n);
  const codesDistinct = Number(distinct.rows[0]?.codes);
  console.log(
    `coupons issued: ${viaService ? 'all through issueCoupons' : `${byService.toLocaleString('en')} through issueCoupons (${fmt(servicePace)} coupons/s, too slow for the ${ISSUE_BUDGET} s budget), the rest by its code generator + set-based insert`}`,
  );
  console.log(
    `  issueCoupons ${fmt(servicePace)} coupons/s over ${serviceSeconds.toFixed(1)} s` +
      (viaService
        ? ''
        : `; set-based ${fmt((CODES - byService) / bulkSeconds)} coupons/s over ${bulkSeconds.toFixed(1)} s, ${collisions} chunk(s) redrawn for a code collision`),
  );
  console.log(
    `coupon codes: ${n.toLocaleString('en')} issued, ${codesDistinct.toLocaleString('en')} distinct — ${n === codesDistinct && n === CODES ? 'no duplicate' : 'DUPLICATES'}; ` +
      `unique index coupons_code_key ${index.rows[0]?.unique && index.rows[0]?.valid ? 'valid' : 'NOT VALID'}, ${refused ? 'refused a copied code' : 'DID NOT refuse a copied code'}`,
  );
  await sql`analyze coupons`.execute(deps.db);

  // --- 3. validation latency over HTTP ---

  const sample = (
    await sql<{ code: string }>`
      select code from coupons tablesample system (5) where template_id = ${template.id} limit 20000`.execute(
      deps.db,
    )
  ).rows.map((r) => r.code);
  const app = await buildApp(deps);
  // A floor behind the same API key and hooks as /v1 that does no work of its own: what a
  // request costs here before it reads anything.
  await app.register(
    async (scope) => {
      registerAuth(scope, deps);
      registerIdempotency(scope, deps);
      scope.get('/bench/principal', async (request) => ({ keyId: request.principal.keyId }));
    },
    { prefix: '/v1' },
  );
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const { secret } = await createKey(
    deps,
    { programId: 'bench', role: 'integration', name: 'bench' },
    null,
  );
  const headers = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };
  const health = (seconds: number) =>
    load(url, {
      concurrency: CALLERS,
      seconds,
      request: () => ({ method: 'GET', path: '/health' }),
    });
  // The authenticated floors: the route above (the API key and /v1's hooks, no database), and an
  // existing cheap read behind the same key (one query), so that the cost of authenticating and
  // of one round trip to PostgreSQL show apart from the validation's own.
  const get = (path: string) => (seconds: number) =>
    load(url, {
      concurrency: CALLERS,
      seconds,
      request: () => ({ method: 'GET', path, headers }),
    });
  const principal = get('/v1/bench/principal');
  const program = get('/v1/programs/bench');
  const validations = (seconds: number): Promise<LoadResult> =>
    load(url, {
      concurrency: CALLERS,
      seconds,
      request: (i) => ({
        method: 'POST',
        path: '/v1/programs/bench/coupons/validate',
        headers,
        body: JSON.stringify({
          code: sample[i % sample.length],
          purchase: { amount: 5000, store: 'bench-store' },
        }),
      }),
    });
  // One second each first, not counted: connections opened, statements prepared, code warmed.
  await health(1);
  const healthFloor = await health(SECONDS);
  report('floor: HTTP GET /health', healthFloor);
  await principal(1);
  const principalFloor = await principal(SECONDS);
  report('floor: HTTP GET, API key, no database', principalFloor, healthFloor);
  await program(1);
  const programFloor = await program(SECONDS);
  report('floor: HTTP GET /v1/programs/{id} (API key)', programFloor, healthFloor);
  await validations(1);
  const validate = await validations(SECONDS);
  report('HTTP POST …/coupons/validate', validate, healthFloor);
  console.log(
    `  validation p99 ${ms(validate.p99)}: goal ≤ 20 ms — ${validate.p99 <= 20 ? 'met' : 'NOT MET'}`,
  );

  // --- 4. one code, 50 concurrent redemptions ---

  const code = sample[0] as string;
  const redeem = (attempt: string, i: number) =>
    fetch(`${url}/v1/programs/bench/coupons/redeem`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        code,
        purchaseId: `${attempt}-${i}`,
        purchase: { amount: 5000 },
      }),
    }).then(async (res) => {
      const body = (await res.json()) as { code?: string };
      return res.status === 201 ? 'redeemed' : `${res.status} ${body.code ?? ''}`;
    });
  const tally = (outcomes: string[]) => {
    const t: Record<string, number> = {};
    for (const o of outcomes) t[o] = (t[o] ?? 0) + 1;
    return t;
  };
  const first = tally(
    await Promise.all(Array.from({ length: REDEEMERS }, (_, i) => redeem('first', i))),
  );
  const again = tally(
    await Promise.all(Array.from({ length: REDEEMERS }, (_, i) => redeem('again', i))),
  );
  console.log(
    `one code, ${REDEEMERS} concurrent redemptions: ${first.redeemed ?? 0} succeeded ${JSON.stringify(first)} — ${first.redeemed === 1 ? 'exactly 1' : 'NOT EXACTLY 1'}; ` +
      `then ${REDEEMERS} more: ${again.redeemed ?? 0} succeeded ${JSON.stringify(again)}`,
  );
  await app.close();

  const after = await reconcile(deps);
  console.log(
    `reconcile after the run: ${after.ok ? 'every invariant held' : `BROKEN: ${after.checks.filter((c) => !c.held).map((c) => c.name)}`}`,
  );
  await close();
}
