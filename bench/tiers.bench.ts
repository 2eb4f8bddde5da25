import { sql } from 'kysely';
import pg from 'pg';
import { DEFAULT_POLICY, growthLedger } from '../src/growth/growth.core.ts';
import { postGrowth, setPolicy } from '../src/growth/growth.service.ts';
import type { Principal } from '../src/keys/keys.core.ts';
import { systemAccountsOf } from '../src/ledger/ledger.service.ts';
import { atValidityEnd, type Ladder, type MemberTier, rankOf } from '../src/tiers/tiers.core.ts';
import { evaluateProgram, setLadder } from '../src/tiers/tiers.service.ts';
import { benchRuntime, measure } from './harness.ts';

// Tiers at scale. First, a million members whose validity ends on one day (a periodic ladder,
// half of them renewed, half moved down), evaluated set-based by `evaluateProgram`, beside the
// floor of the same work done the naive way — one member per transaction, decided by the pure
// core — on the first members of the same day. Then growth credits through `postGrowth` (the
// ledger's batch, the growth event and the member's tier) from 64 concurrent callers, beside the
// floor of the same credit written as plain SQL, one credit per transaction. Durable commits.

const MEMBERS = Number(process.env.BENCH_TIERS_MEMBERS ?? 1_000_000);
const FLOOR_MEMBERS = Math.min(
  Number(process.env.BENCH_TIERS_FLOOR ?? 2_000),
  Math.floor(MEMBERS / 10),
);
const GROWTH_MEMBERS = Number(process.env.BENCH_TIERS_GROWTH_MEMBERS ?? 2_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CALLERS = 64;

// Local midnight of 2027-01-01 in Asia/Shanghai, the program's default zone.
const VALID_UNTIL = new Date('2026-12-31T16:00:00Z');
const AS_OF = new Date(VALID_UNTIL.getTime() + 60_000);

const ADMIN: Principal = { keyId: 'key_bench', programId: null, role: 'admin' };

const LADDER: Ladder = {
  basis: 'growth',
  evaluation: 'periodic',
  validityMonths: 12,
  downgrade: 'to_qualified',
  warningDays: 30,
  tiers: [
    { code: 'member', name: 'Member', threshold: 0, inviteOnly: false, benefits: [] },
    { code: 'silver', name: 'Silver', threshold: 1_000, inviteOnly: false, benefits: [] },
    { code: 'gold', name: 'Gold', threshold: 5_000, inviteOnly: false, benefits: [] },
    { code: 'platinum', name: 'Platinum', threshold: 20_000, inviteOnly: false, benefits: [] },
  ],
};

const fmt = (n: number) => Math.round(n).toLocaleString('en').padStart(9);
const secs = (ms: number) => (ms / 1000).toFixed(1);

export async function run(): Promise<void> {
  const { url, deps, close } = await benchRuntime(CALLERS + 4, {
    workers: Number(process.env.BENCH_LEDGER_WORKERS ?? 1),
    maxBatch: Number(process.env.BENCH_LEDGER_MAX_BATCH ?? 1000),
  });
  const { db } = deps;
  const pool = new pg.Pool({ connectionString: url, max: CALLERS });

  // --- validity ends on one day ---

  // The ladder first: setting it re-evaluates every member with a tier row, and there is none yet.
  await setLadder(deps, 'bench', LADDER, ADMIN);

  // Members i = 1…N: silver, gold and platinum in turn; odd thirds still qualify (renewed), even
  // thirds fell below their tier (silver → member, gold → silver, platinum → gold).
  let began = performance.now();
  await db.transaction().execute(async (trx) => {
    await sql`
      insert into members (id, status, created_at, updated_at)
      select 'mem_' || lpad(i::text, 9, '0'), 'active', now(), now()
      from generate_series(1, ${MEMBERS}::int) i`.execute(trx);
    await sql`
      insert into enrollments (program_id, member_id, enrolled_at, channel, status)
      select 'bench', 'mem_' || lpad(i::text, 9, '0'), now(), 'import', 'active'
      from generate_series(1, ${MEMBERS}::int) i`.execute(trx);
    await sql`
      insert into member_tiers (program_id, member_id, tier, since, valid_until, overridden, basis, updated_at)
      select 'bench', 'mem_' || lpad(i::text, 9, '0'), (array['silver', 'gold', 'platinum'])[i % 3 + 1],
             ${new Date('2025-12-31T16:00:00Z')}::timestamptz, ${VALID_UNTIL}::timestamptz, false,
             case when (i / 3) % 2 = 0
                  then (array[1000, 5000, 20000])[i % 3 + 1] + i % 1000
                  else (array[500, 2000, 10000])[i % 3 + 1] + i % 400 end,
             now()
      from generate_series(1, ${MEMBERS}::int) i`.execute(trx);
  });
  const inserted = performance.now() - began;
  began = performance.now();
  for (const t of ['members', 'enrollments', 'member_tiers', 'tier_history', 'events'])
    await sql`vacuum analyze ${sql.table(t)}`.execute(db);
  console.log(
    `tiers: ${MEMBERS.toLocaleString('en')} members whose validity ends ${VALID_UNTIL.toISOString()}; ` +
      `setup ${secs(inserted)} s (members, enrollments, tier rows) + ${secs(performance.now() - began)} s vacuum analyze`,
  );

  // Floor: the first members due, one per transaction, the way one would write it by hand —
  // lock the member's row, decide with the pure core, write the row, a history row and an event.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(
    `insert into event_sequences (program_id, last) values ('bench', 0) on conflict do nothing`,
  );
  began = performance.now();
  const { rows: dueIds } = await client.query<{ member_id: string }>(
    `select member_id from member_tiers where program_id = 'bench' and valid_until <= $1
     order by member_id limit $2`,
    [AS_OF, FLOOR_MEMBERS],
  );
  let floorChanges = 0;
  for (const [n, { member_id: memberId }] of dueIds.entries()) {
    await client.query('begin');
    const { rows } = await client.query<{
      tier: string;
      since: Date;
      valid_until: Date | null;
      overridden: boolean;
      basis: string;
      warned_for: Date | null;
    }>(
      `select tier, since, valid_until, overridden, basis, warned_for from member_tiers
       where program_id = 'bench' and member_id = $1 for update`,
      [memberId],
    );
    const r = rows[0];
    if (!r) throw new Error(`no tier row for ${memberId}`);
    const state: MemberTier = {
      tier: r.tier,
      since: r.since,
      validUntil: r.valid_until,
      overridden: r.overridden,
      basis: Number(r.basis),
      warnedFor: r.warned_for,
    };
    const d = atValidityEnd(LADDER, state, 'Asia/Shanghai');
    await client.query(
      `update member_tiers set tier = $2, since = $3, valid_until = $4, overridden = $5, warned_for = $6,
              updated_at = $7
       where program_id = 'bench' and member_id = $1`,
      [
        memberId,
        d.state.tier,
        d.state.since,
        d.state.validUntil,
        d.state.overridden,
        d.state.warnedFor,
        AS_OF,
      ],
    );
    for (const [k, c] of d.changes.entries()) {
      await client.query(
        `insert into tier_history (id, program_id, member_id, from_tier, to_tier, why, valid_until, at)
         values ($1, 'bench', $2, $3, $4, $5, $6, $7)`,
        [`tch_floor_${n}_${k}`, memberId, c.from, c.to, c.why, c.validUntil, c.at],
      );
      const { rows: seq } = await client.query<{ last: string }>(
        `update event_sequences set last = last + 1 where program_id = 'bench' returning last`,
      );
      const type =
        c.why === 'renewal' || c.from === c.to
          ? 'tier.renewed'
          : c.from !== null && rankOf(LADDER, c.to) < rankOf(LADDER, c.from)
            ? 'tier.downgraded'
            : 'tier.upgraded';
      await client.query(
        `insert into events (id, program_id, sequence, type, member_id, occurred_at, data)
         values ($1, 'bench', $2, $3, $4, $5, $6)`,
        [
          `evt_floor_${n}_${k}`,
          seq[0]?.last,
          type,
          memberId,
          c.at,
          JSON.stringify({
            from: c.from,
            to: c.to,
            why: c.why,
            validUntil: c.validUntil?.toISOString() ?? null,
          }),
        ],
      );
      floorChanges++;
    }
    await client.query('commit');
  }
  const floorMs = performance.now() - began;
  const floor = dueIds.length / (floorMs / 1000);
  await client.end();
  console.log(
    `floor: one member per transaction (pure core)  ${fmt(floor)} members/s  ` +
      `(${dueIds.length.toLocaleString('en')} members in ${secs(floorMs)} s)`,
  );

  // Set-based: every other member due, through the service, chunk by chunk.
  const historyBefore = await countOf('tier_history');
  began = performance.now();
  const report = await evaluateProgram(deps, 'bench', AS_OF);
  const setMs = performance.now() - began;
  const setBased = report.evaluated / (setMs / 1000);
  const ratio = setBased / floor;
  console.log(
    `evaluateProgram, set-based                      ${fmt(setBased)} members/s  ` +
      `(${report.evaluated.toLocaleString('en')} members in ${secs(setMs)} s; ${ratio.toFixed(1)}× the floor)`,
  );
  const projected = (MEMBERS / setBased).toFixed(1);
  console.log(
    `  at least 10× the floor: ${ratio >= 10 ? 'met' : 'NOT met'}; ` +
      `goal all ${MEMBERS.toLocaleString('en')} in ≤ 30 s: ${MEMBERS / setBased <= 30 ? 'met' : 'NOT met'} ` +
      `(${projected} s for all of them at this rate)`,
  );

  // Cheap checks: nobody is still due, one history row per member evaluated, renewals and
  // downgrades as seeded.
  const stillDue = await sql<{ n: string }>`
    select count(*) as n from member_tiers where program_id = 'bench' and valid_until <= ${AS_OF}`.execute(
    db,
  );
  const histories = (await countOf('tier_history')) - historyBefore;
  const byWhy = await sql<{ why: string; n: string }>`
    select why, count(*) as n from tier_history where program_id = 'bench' group by why order by why`.execute(
    db,
  );
  const ok =
    Number(stillDue.rows[0]?.n) === 0 &&
    histories === report.evaluated &&
    report.evaluated + dueIds.length === MEMBERS &&
    floorChanges === dueIds.length;
  console.log(
    `  check: ${ok ? 'ok' : 'FAILED'} — ${stillDue.rows[0]?.n} still due, ${histories.toLocaleString('en')} history rows ` +
      `for ${report.evaluated.toLocaleString('en')} evaluated, ` +
      `${byWhy.rows.map((r) => `${r.why} ${Number(r.n).toLocaleString('en')}`).join(', ')}`,
  );

  // --- growth credits at 64 callers ---

  await setPolicy(deps, 'bench', DEFAULT_POLICY, ADMIN);
  const growthMember = (i: number) => `mem_growth${String(i).padStart(9, '0')}`;
  await db.transaction().execute(async (trx) => {
    await sql`
      insert into members (id, status, created_at, updated_at)
      select 'mem_growth' || lpad(i::text, 9, '0'), 'active', now(), now()
      from generate_series(1, ${GROWTH_MEMBERS}::int) i`.execute(trx);
    await sql`
      insert into enrollments (program_id, member_id, enrolled_at, channel, status)
      select 'bench', 'mem_growth' || lpad(i::text, 9, '0'), now(), 'import', 'active'
      from generate_series(1, ${GROWTH_MEMBERS}::int) i`.execute(trx);
  });
  await sql`analyze`.execute(db);
  let cmd = 0;
  const credit = (m: number) =>
    postGrowth(deps, {
      programId: 'bench',
      memberId: growthMember(m),
      source: 'spend',
      value: 10,
      reference: `order-${cmd}`,
      commandId: `g-${cmd++}`,
    });
  // Every member once, not counted: accounts opened, tier rows made, code warmed.
  for (let i = 0; i < GROWTH_MEMBERS; i += CALLERS)
    await Promise.all(
      Array.from({ length: Math.min(CALLERS, GROWTH_MEMBERS - i) }, (_, k) => credit(1 + i + k)),
    );

  // Floor: the same credit as plain SQL, one per transaction, on copies of the tables it touches
  // (same columns, checks and indexes): the member's account and the issuance account, the
  // transfer and its lot, the growth event and the member's tier row.
  const ledger = growthLedger('bench');
  const issuance = (await systemAccountsOf(deps, ledger)).get('issuance');
  for (const t of [
    'ledger_accounts',
    'ledger_transfers',
    'ledger_lots',
    'growth_events',
    'member_tiers',
  ])
    await sql`create table ${sql.table(`floor_${t}`)} (like ${sql.table(t)} including all)`.execute(
      db,
    );
  await sql`insert into floor_ledger_accounts select * from ledger_accounts where ledger = ${ledger}`.execute(
    db,
  );
  await sql`insert into floor_member_tiers select * from member_tiers where member_id like 'mem_growth%'`.execute(
    db,
  );
  await sql`analyze floor_ledger_accounts`.execute(db);
  await sql`analyze floor_member_tiers`.execute(db);
  const accounts = new Map(
    (
      await sql<{ member_id: string; id: string }>`
        select member_id, id from floor_ledger_accounts where kind = 'member'`.execute(db)
    ).rows.map((r) => [r.member_id, r.id]),
  );
  let seq = 0;
  const floorCredits = await measure(SECONDS, CALLERS, async () => {
    const memberId = growthMember(1 + Math.floor(Math.random() * GROWTH_MEMBERS));
    const account = accounts.get(memberId);
    const id = `trf_floor${seq++}`;
    const c = await pool.connect();
    try {
      await c.query('begin');
      const { rows } = await c.query<{ balance: string }>(
        `update floor_ledger_accounts set credits_posted = credits_posted + 10 where id = $1
         returning credits_posted - debits_posted as balance`,
        [account],
      );
      await c.query(
        'update floor_ledger_accounts set debits_posted = debits_posted + 10 where id = $1',
        [issuance],
      );
      await c.query(
        `insert into floor_ledger_transfers (id, command_id, ledger, debit_account_id, credit_account_id, amount,
                                             kind, code, reference, credit_balance_after, created_at)
         values ($1, $1, $2, $3, $4, 10, 'single', 'earn', $1, $5, now())`,
        [id, ledger, issuance, account, rows[0]?.balance],
      );
      await c.query(
        `insert into floor_ledger_lots (id, account_id, amount, remaining, created_at)
         values ($1, $2, 10, 10, now())`,
        [id, account],
      );
      await c.query(
        `insert into floor_growth_events (id, program_id, member_id, command_id, source, requested, value,
                                          reference, day, occurred_at, tier)
         values ($1, 'bench', $2, $1, 'spend', 10, 10, $1, current_date, now(), 'member')`,
        [id, memberId],
      );
      await c.query(
        `update floor_member_tiers set basis = $2, updated_at = now()
         where program_id = 'bench' and member_id = $1`,
        [memberId, rows[0]?.balance],
      );
      await c.query('commit');
    } finally {
      c.release();
    }
  });
  console.log(
    `floor: plain SQL, one credit per transaction   ${fmt(floorCredits)} credits/s  (${CALLERS} callers)`,
  );

  const before = { ...deps.ledger.stats };
  const service = await measure(SECONDS, CALLERS, () =>
    credit(1 + Math.floor(Math.random() * GROWTH_MEMBERS)),
  );
  const after = { ...deps.ledger.stats };
  const batches = after.batches - before.batches;
  console.log(
    `postGrowth, ${CALLERS} callers, ${GROWTH_MEMBERS.toLocaleString('en')} members          ${fmt(service)} credits/s  ` +
      `(${(service / floorCredits).toFixed(1)}× the floor; ${batches} batches, ` +
      `${((after.commands - before.commands) / batches).toFixed(1)} commands each, ` +
      `${((after.ms - before.ms) / batches).toFixed(1)} ms each)`,
  );

  await pool.end();
  await close();

  async function countOf(table: string): Promise<number> {
    const { rows } = await sql<{
      n: string;
    }>`select count(*) as n from ${sql.table(table)}`.execute(db);
    return Number(rows[0]?.n);
  }
}
