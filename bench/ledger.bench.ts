import { sql } from 'kysely';
import pg from 'pg';
import { buildApp } from '../src/app.ts';
import { createKey } from '../src/keys/keys.service.ts';
import { pointsLedger } from '../src/ledger/ledger.core.ts';
import { credit, debit, systemAccountsOf } from '../src/ledger/ledger.service.ts';
import { reconcile } from '../src/ledger/reconcile.ts';
import { benchRuntime, load, measure, report } from './harness.ts';

// The points ledger under load: 64 concurrent callers of the ledger service doing credits and
// redemptions over 100,000 members, beside the floor of the same transfers written as plain SQL,
// one transfer per transaction, at the same concurrency. Durable commits throughout.

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CALLERS = 64;

const memberId = (i: number) => `mem_ledgerbench${String(i).padStart(11, '0')}`;
const fmt = (n: number) => Math.round(n).toLocaleString('en').padStart(7);

export async function run(): Promise<void> {
  const {
    url: databaseUrl,
    deps,
    close,
  } = await benchRuntime(CALLERS + 4, {
    workers: Number(process.env.BENCH_LEDGER_WORKERS ?? 1),
    maxBatch: Number(process.env.BENCH_LEDGER_MAX_BATCH ?? 1000),
  });
  const ledger = pointsLedger('bench');

  // 100,000 enrolled members, each with 1,000 points: accounts, transfers and lots written
  // set-based so that every invariant holds from the start.
  await deps.db.transaction().execute(async (trx) => {
    await sql`insert into members (id, status, created_at, updated_at)
      select 'mem_ledgerbench' || lpad(i::text, 11, '0'), 'active', now(), now() from generate_series(1, ${MEMBERS}::int) i`.execute(
      trx,
    );
    await sql`insert into enrollments (program_id, member_id, enrolled_at, channel, status)
      select 'bench', 'mem_ledgerbench' || lpad(i::text, 11, '0'), now(), 'import', 'active' from generate_series(1, ${MEMBERS}::int) i`.execute(
      trx,
    );
    await sql`insert into ledger_accounts (id, ledger, program_id, kind, member_id, credits_posted, created_at)
      select 'acc_bench' || lpad(i::text, 11, '0'), ${ledger}, 'bench', 'member', 'mem_ledgerbench' || lpad(i::text, 11, '0'), 1000, now()
      from generate_series(1, ${MEMBERS}::int) i`.execute(trx);
    await sql`insert into ledger_transfers (id, command_id, ledger, debit_account_id, credit_account_id, amount, kind, code, credit_balance_after, created_at)
      select 'trf_0seed' || lpad(i::text, 11, '0'), 'seed', ${ledger}, a.id, 'acc_bench' || lpad(i::text, 11, '0'), 1000, 'single', 'earn', 1000, now()
      from generate_series(1, ${MEMBERS}::int) i, ledger_accounts a where a.ledger = ${ledger} and a.kind = 'issuance'`.execute(
      trx,
    );
    await sql`insert into ledger_lots (id, account_id, amount, remaining, created_at)
      select 'trf_0seed' || lpad(i::text, 11, '0'), 'acc_bench' || lpad(i::text, 11, '0'), 1000, 1000, now() from generate_series(1, ${MEMBERS}::int) i`.execute(
      trx,
    );
    await sql`update ledger_accounts set debits_posted = ${MEMBERS * 1000} where ledger = ${ledger} and kind = 'issuance'`.execute(
      trx,
    );
  });
  await sql`analyze`.execute(deps.db);
  const system = await systemAccountsOf(deps, ledger);
  const issuance = system.get('issuance');
  const redemption = system.get('redemption');

  console.log(
    `ledger: ${CALLERS} concurrent callers, ${MEMBERS.toLocaleString('en')} members, ${SECONDS} s each, durable commits`,
  );

  // Floor: plain SQL, one transfer per transaction — the member's row, the brand's hot row and the
  // transfer — on copies of the ledger's tables (same columns, checks and indexes), so the
  // ledger itself stays exact for the reconcile at the end.
  await sql`create table floor_accounts (like ledger_accounts including all)`.execute(deps.db);
  await sql`create table floor_transfers (like ledger_transfers including all)`.execute(deps.db);
  await sql`insert into floor_accounts select * from ledger_accounts where ledger = ${ledger}`.execute(
    deps.db,
  );
  await sql`analyze floor_accounts`.execute(deps.db);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: CALLERS });
  let seq = 0;
  const floor = await measure(SECONDS, CALLERS, async (i) => {
    const m = 1 + Math.floor(Math.random() * MEMBERS);
    const account = `acc_bench${String(m).padStart(11, '0')}`;
    const earn = i % 2 === 0;
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query(
        earn
          ? 'update floor_accounts set credits_posted = credits_posted + 10 where id = $1'
          : 'update floor_accounts set debits_posted = debits_posted + 10 where id = $1',
        [account],
      );
      await client.query(
        earn
          ? 'update floor_accounts set debits_posted = debits_posted + 10 where id = $1'
          : 'update floor_accounts set credits_posted = credits_posted + 10 where id = $1',
        [earn ? issuance : redemption],
      );
      await client.query(
        `insert into floor_transfers (id, command_id, ledger, debit_account_id, credit_account_id, amount, kind, code, created_at)
         values ($1, $1, $2, $3, $4, 10, 'single', $5, now())`,
        [
          `trf_floor${seq++}`,
          ledger,
          earn ? issuance : account,
          earn ? account : redemption,
          earn ? 'earn' : 'redeem',
        ],
      );
      await client.query('commit');
    } finally {
      client.release();
    }
  });
  console.log(`floor: plain SQL, one transfer per transaction     ${fmt(floor)} transfers/s`);

  // Ceiling: what PostgreSQL alone does with batches of the size the ledger gets — 64 transfers
  // and their accounts in one set-based statement and one durable commit, one batch at a time —
  // without the ledger's reads, lots, draws and command log.
  const client = await pool.connect();
  const batchesPerSecond = await measure(SECONDS, 1, async () => {
    const ids = Array.from({ length: CALLERS }, () => `trf_ceiling${seq++}`);
    const accounts = ids.map(
      () => `acc_bench${String(1 + Math.floor(Math.random() * MEMBERS)).padStart(11, '0')}`,
    );
    await client.query('begin');
    await client.query(
      `with t as (
         insert into floor_transfers (id, command_id, ledger, debit_account_id, credit_account_id, amount, kind, code, created_at)
         select id, id, $1, $2, a, 10, 'single', 'earn', now() from unnest($3::text[], $4::text[]) v(id, a))
       update floor_accounts x set credits_posted = credits_posted + 10 * v.n
       from (select a, count(*) n from unnest($4::text[]) a group by a order by a) v where x.id = v.a`,
      [ledger, issuance, ids, accounts],
    );
    await client.query(
      'update floor_accounts set debits_posted = debits_posted + $1 where id = $2',
      [10 * CALLERS, issuance],
    );
    await client.query('commit');
  });
  client.release();
  await pool.end();
  const ceiling = batchesPerSecond * CALLERS;
  console.log(
    `ceiling: bare set-based SQL, ${CALLERS} per transaction      ${fmt(ceiling)} transfers/s  (no reads, lots, draws or command log)`,
  );

  let cmd = 0;
  const op = (m: number, i: number) =>
    i % 2 === 0
      ? credit(deps, {
          ledger,
          memberId: memberId(m),
          points: 10,
          code: 'earn',
          reference: null,
          commandId: `b-${cmd++}`,
        })
      : debit(deps, {
          ledger,
          memberId: memberId(m),
          points: 10,
          code: 'redeem',
          reference: null,
          commandId: `b-${cmd++}`,
        });
  const stats = () => ({ ...deps.ledger.stats });
  const before = stats();
  const spread = await measure(SECONDS, CALLERS, (i) =>
    op(1 + Math.floor(Math.random() * MEMBERS), i),
  );
  const after = stats();
  const batches = after.batches - before.batches;
  console.log(
    `  (${batches} batches, ${((after.commands - before.commands) / batches).toFixed(1)} commands each, ` +
      `${((after.ms - before.ms) / batches).toFixed(1)} ms each)`,
  );
  console.log(
    `ledger service, batched, random members             ${fmt(spread)} transfers/s  (${(spread / floor).toFixed(1)}× the floor; goal 20,000, at least 10,000 and 4×)`,
  );
  const hot = await measure(SECONDS, CALLERS, (i) => op(1, i));
  console.log(`ledger service, all ${CALLERS} callers on one member      ${fmt(hot)} transfers/s`);

  // Redemptions through the HTTP API, with an Idempotency-Key each.
  const app = await buildApp(deps);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const { secret } = await createKey(
    deps,
    { programId: 'bench', role: 'integration', name: 'bench' },
    null,
  );
  const redemptions = (seconds: number, first: number) =>
    load(url, {
      concurrency: CALLERS,
      seconds,
      request: (n) => {
        const i = first + n;
        return {
          method: 'POST',
          path: `/v1/programs/bench/members/${memberId(1 + (i % MEMBERS))}/points/redemptions`,
          headers: {
            authorization: `Bearer ${secret}`,
            'content-type': 'application/json',
            'idempotency-key': `http-${i}`,
          },
          body: JSON.stringify({ points: 1, reference: `order-${i}` }),
        };
      },
    });
  // One second first, not counted: connections opened, statements prepared, code warmed.
  await redemptions(1, 10_000_000);
  const http = await redemptions(SECONDS, 0);
  report('HTTP POST …/points/redemptions', http);
  await app.close();

  const check = await reconcile(deps);
  console.log(
    `reconcile after the run: ${check.ok ? 'every invariant held' : `BROKEN: ${check.checks.filter((c) => !c.held).map((c) => c.name)}`}`,
  );
  await close();
}
