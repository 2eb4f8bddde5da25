import { sql } from 'kysely';
import pg from 'pg';
import { convert, setPair, setRate } from '../src/exchange/exchange.service.ts';
import type { Principal } from '../src/keys/keys.core.ts';
import { createKey } from '../src/keys/keys.service.ts';
import { pointsLedger } from '../src/ledger/ledger.core.ts';
import { systemAccountsOf } from '../src/ledger/ledger.service.ts';
import { reconcile } from '../src/ledger/reconcile.ts';
import { createProgram } from '../src/programs/programs.service.ts';
import { benchRuntime, measure } from './harness.ts';

// Conversions between two programs' ledgers under load: 64 concurrent callers converting hotel A
// points into hotel B points for 20,000 members, beside a floor of the same two-ledger write as
// plain SQL, one conversion per transaction, at the same concurrency. Durable commits throughout.

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 20_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CALLERS = 64;

const memberId = (i: number) => `mem_coalbench${String(i).padStart(11, '0')}`;
const fmt = (n: number) => Math.round(n).toLocaleString('en').padStart(7);

export async function run(): Promise<void> {
  const {
    url: databaseUrl,
    deps,
    close,
  } = await benchRuntime(CALLERS + 4, {
    workers: Number(process.env.BENCH_LEDGER_WORKERS ?? 1),
  });
  // The benchmark acts as the coalition admin.
  const { apiKey } = await createKey(deps, { programId: null, role: 'admin', name: 'bench' }, null);
  const admin: Principal = { keyId: apiKey.id, programId: null, role: 'admin' };
  for (const id of ['hotel-a', 'hotel-b']) await createProgram(deps, { id, name: id }, null);
  await setRate(deps, { programId: 'hotel-a', pointsPerHubUnit: 10, pointValueE4: 30_000 }, admin);
  await setRate(deps, { programId: 'hotel-b', pointsPerHubUnit: 4, pointValueE4: 80_000 }, admin);
  await setPair(
    deps,
    {
      fromProgramId: 'hotel-a',
      toProgramId: 'hotel-b',
      feeBp: 200,
      feeMinimum: 1,
      minPoints: 10,
      maxPoints: 100_000,
      dailyLimit: 1_000_000_000,
    },
    admin,
  );
  const a = pointsLedger('hotel-a');
  const b = pointsLedger('hotel-b');
  // Touch both ledgers once so that their system accounts (exchange and fee among them) exist.
  await systemAccountsOf(deps, a);

  // 20,000 members enrolled at both hotels, each with 1,000,000 points at A and a wallet at B:
  // accounts, transfers and lots written set-based so that every invariant holds from the start.
  await deps.db.transaction().execute(async (trx) => {
    const ids = sql`'mem_coalbench' || lpad(i::text, 11, '0')`;
    const series = sql`generate_series(1, ${MEMBERS}::int) i`;
    await sql`insert into members (id, status, created_at, updated_at)
      select ${ids}, 'active', now(), now() from ${series}`.execute(trx);
    for (const program of ['hotel-a', 'hotel-b']) {
      await sql`insert into enrollments (program_id, member_id, enrolled_at, channel, status)
        select ${program}, ${ids}, now(), 'import', 'active' from ${series}`.execute(trx);
    }
    await sql`insert into ledger_accounts (id, ledger, program_id, kind, member_id, credits_posted, created_at)
      select 'acc_cba' || lpad(i::text, 11, '0'), ${a}, 'hotel-a', 'member', ${ids}, 1000000, now() from ${series}`.execute(
      trx,
    );
    await sql`insert into ledger_accounts (id, ledger, program_id, kind, member_id, created_at)
      select 'acc_cbb' || lpad(i::text, 11, '0'), ${b}, 'hotel-b', 'member', ${ids}, now() from ${series}`.execute(
      trx,
    );
    await sql`insert into ledger_transfers (id, command_id, ledger, debit_account_id, credit_account_id, amount, kind, code, credit_balance_after, created_at)
      select 'trf_0cbseed' || lpad(i::text, 11, '0'), 'seed', ${a}, s.id, 'acc_cba' || lpad(i::text, 11, '0'), 1000000, 'single', 'earn', 1000000, now()
      from ${series}, ledger_accounts s where s.ledger = ${a} and s.kind = 'issuance'`.execute(trx);
    await sql`insert into ledger_lots (id, account_id, amount, remaining, created_at)
      select 'trf_0cbseed' || lpad(i::text, 11, '0'), 'acc_cba' || lpad(i::text, 11, '0'), 1000000, 1000000, now() from ${series}`.execute(
      trx,
    );
    await sql`update ledger_accounts set debits_posted = ${MEMBERS * 1_000_000} where ledger = ${a} and kind = 'issuance'`.execute(
      trx,
    );
  });
  await systemAccountsOf(deps, b);
  await sql`analyze`.execute(deps.db);
  const sysA = await systemAccountsOf(deps, a);
  const sysB = await systemAccountsOf(deps, b);

  console.log(
    `coalition: ${CALLERS} concurrent callers, ${MEMBERS.toLocaleString('en')} members, ${SECONDS} s each, durable commits`,
  );

  // Floor: one conversion per transaction in plain SQL, on copies of the tables (same columns,
  // checks and indexes): the five accounts (the member at A and at B, A's exchange and fee, B's
  // exchange), three transfers, the draw from the member's lot at A and the new lot at B, the
  // conversion row and its two settlement lines.
  for (const table of [
    'ledger_accounts',
    'ledger_transfers',
    'ledger_lots',
    'ledger_lot_draws',
    'conversions',
    'settlement_lines',
  ]) {
    await sql`create table ${sql.table(`floor_${table}`)} (like ${sql.table(table)} including all)`.execute(
      deps.db,
    );
  }
  await sql`insert into floor_ledger_accounts select * from ledger_accounts`.execute(deps.db);
  await sql`insert into floor_ledger_lots select * from ledger_lots`.execute(deps.db);
  await sql`analyze`.execute(deps.db);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: CALLERS });
  let seq = 0;
  const floor = await measure(SECONDS, CALLERS, async () => {
    const m = 1 + Math.floor(Math.random() * MEMBERS);
    const atA = `acc_cba${String(m).padStart(11, '0')}`;
    const atB = `acc_cbb${String(m).padStart(11, '0')}`;
    const n = seq++;
    const [out, fee, into] = [`trf_fo${n}`, `trf_ff${n}`, `trf_fi${n}`];
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query(
        'update floor_ledger_accounts set debits_posted = debits_posted + 102 where id = $1',
        [atA],
      );
      await client.query(
        'update floor_ledger_accounts set credits_posted = credits_posted + 100 where id = $1',
        [sysA.get('exchange')],
      );
      await client.query(
        'update floor_ledger_accounts set credits_posted = credits_posted + 2 where id = $1',
        [sysA.get('fee')],
      );
      await client.query(
        'update floor_ledger_accounts set debits_posted = debits_posted + 40 where id = $1',
        [sysB.get('exchange')],
      );
      await client.query(
        'update floor_ledger_accounts set credits_posted = credits_posted + 40 where id = $1',
        [atB],
      );
      await client.query(
        `insert into floor_ledger_transfers (id, command_id, ledger, debit_account_id, credit_account_id, amount, kind, code, created_at)
         values ($1, $4, $5, $7, $8, 100, 'single', 'convert', now()),
                ($2, $4, $5, $7, $9, 2, 'single', 'fee', now()),
                ($3, $4, $6, $10, $11, 40, 'single', 'convert', now())`,
        [
          out,
          fee,
          into,
          `conversion:${n}`,
          a,
          b,
          atA,
          sysA.get('exchange'),
          sysA.get('fee'),
          sysB.get('exchange'),
          atB,
        ],
      );
      await client.query(`update floor_ledger_lots set remaining = remaining - 102 where id = $1`, [
        `trf_0cbseed${String(m).padStart(11, '0')}`,
      ]);
      await client.query(
        `insert into floor_ledger_lot_draws (transfer_id, lot_id, amount) values ($1, $3, 100), ($2, $3, 2)`,
        [out, fee, `trf_0cbseed${String(m).padStart(11, '0')}`],
      );
      await client.query(
        `insert into floor_ledger_lots (id, account_id, amount, remaining, created_at) values ($1, $2, 40, 40, now())`,
        [into, atB],
      );
      await client.query(
        `insert into floor_conversions (id, command_id, member_id, from_program_id, to_program_id, reference, converted, fee, credited,
           from_points_per_hub_unit, to_points_per_hub_unit, from_point_value_e4, to_point_value_e4, created_at)
         values ($1, $2, $3, 'hotel-a', 'hotel-b', $2, 100, 2, 40, 10, 4, 30000, 80000, now())`,
        [`cnv_f${n}`, `conversion:${n}`, memberId(m)],
      );
      await client.query(
        `insert into floor_settlement_lines (id, kind, source_id, period, debtor, creditor, points, amount_fen, member_id, created_at)
         values ('conversion:' || $1, 'conversion', $1, '2026-11', 'hotel-a', 'hotel-b', 40, 320, $2, now()),
                ('fee:' || $1, 'fee', $1, '2026-11', 'hotel-a', 'coalition', 2, 6, $2, now())`,
        [`cnv_f${n}`, memberId(m)],
      );
      await client.query('commit');
    } finally {
      client.release();
    }
  });
  await pool.end();
  console.log(`floor: plain SQL, one conversion per transaction      ${fmt(floor)} conversions/s`);

  let ref = 0;
  const stats = () => ({ ...deps.ledger.stats });
  const before = stats();
  const service = await measure(SECONDS, CALLERS, () =>
    convert(deps, admin, memberId(1 + Math.floor(Math.random() * MEMBERS)), {
      from: 'hotel-a',
      to: 'hotel-b',
      ask: { points: 100 },
      reference: `bench-${ref++}`,
    }),
  );
  const after = stats();
  const batches = after.batches - before.batches;
  console.log(
    `  (${batches} batches, ${((after.commands - before.commands) / batches).toFixed(1)} commands each, ` +
      `${((after.ms - before.ms) / batches).toFixed(1)} ms each)`,
  );
  console.log(
    `exchange service, batched, random members            ${fmt(service)} conversions/s  (${(service / floor).toFixed(1)}× the floor; goal at least 4×)`,
  );

  const check = await reconcile(deps);
  console.log(
    `reconcile after the run: ${check.ok ? 'every invariant held' : `BROKEN: ${check.checks.filter((c) => !c.held).map((c) => c.name)}`}`,
  );
  await close();
}
