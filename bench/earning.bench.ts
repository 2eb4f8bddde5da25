import { createHash } from 'node:crypto';
import http from 'node:http';
import { sql } from 'kysely';
import pg from 'pg';
import { buildApp } from '../src/app.ts';
import { earn, type Item, type Rule } from '../src/earning/earning.core.ts';
import { activeRules, lineLimits } from '../src/earning/earning.service.ts';
import { growthLedger } from '../src/growth/growth.core.ts';
import { createKey } from '../src/keys/keys.service.ts';
import { pointsLedger } from '../src/ledger/ledger.core.ts';
import { systemAccountsOf } from '../src/ledger/ledger.service.ts';
import { reconcile } from '../src/ledger/reconcile.ts';
import { getProgram } from '../src/programs/programs.service.ts';
import { benchRuntime, load, measure } from './harness.ts';

// Earning at scale: purchases of 3 items under 4 active rules (a base rate excluding tobacco with
// a budget, a category multiplier and a minimum-spend bonus each capped per member per day, and a
// weekday rate), each earning points and growth value. First every member buys once (not
// counted: accounts, tier rows and counters made, code warmed); then 100,000 purchases through
// POST …/purchases/batch, 1,000 per request and 2 requests in flight, beside the floor of the same
// writes as plain SQL, one purchase per transaction from 64 clients, and the ceiling of the same
// writes as bare set-based SQL, 1,000 purchases per transaction; then single purchases from
// 64 callers, with p50 and p99. Durable commits throughout. Checked at the end: every purchase
// answered 201, the points earned add up to what the points ledger issued, reconcile is clean.

const PURCHASES = Number(process.env.BENCH_EARNING_PURCHASES ?? 100_000);
const MEMBERS = Number(process.env.BENCH_EARNING_MEMBERS ?? 20_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const PER_REQUEST = 1_000;
const IN_FLIGHT = 2;
const CALLERS = 64;
const ITEMS = 3;
const CATEGORIES = ['fresh', 'grocery', 'household', 'tobacco'] as const;

const memberId = (i: number) => `mem_earn${String(i).padStart(9, '0')}`;
const fmt = (n: number) => Math.round(n).toLocaleString('en').padStart(7);
const count = (n: number) => n.toLocaleString('en');

/** A small seeded generator (mulberry32), so that every run buys the same baskets. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Purchase {
  id: string;
  member: { id: string };
  amount: number;
  currency: 'CNY';
  occurredAt: string;
  items: { sku: string; category: string; quantity: number; amount: number }[];
}

/** Three items from the four categories, ¥5 to ¥155 each, dated within the last 30 minutes. */
function purchaseOf(id: string, member: number, random: () => number): Purchase {
  const items = Array.from({ length: ITEMS }, () => {
    const category = CATEGORIES[Math.floor(random() * CATEGORIES.length)] as string;
    return {
      sku: `${category}-${Math.floor(random() * 500)}`,
      category,
      quantity: 1 + Math.floor(random() * 3),
      amount: 500 + Math.floor(random() * 15_000),
    };
  });
  return {
    id,
    member: { id: memberId(member) },
    amount: items.reduce((s, i) => s + i.amount, 0),
    currency: 'CNY',
    occurredAt: new Date(Date.now() - Math.floor(random() * 30 * 60_000)).toISOString(),
    items,
  };
}

interface PurchaseAnswer {
  status: number;
  purchase?: { points: { earned: number }; growth: { credited: number } };
  problem?: { code: string; detail: string };
}

/** Monday = 1 … Sunday = 7, the local weekday of `at` in `timezone`. */
function weekdayOf(at: Date, timezone: string): number {
  const day = new Intl.DateTimeFormat('en-US', { timeZone: timezone, weekday: 'short' }).format(at);
  return ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(day) + 1;
}

export async function run(): Promise<void> {
  const { url, deps, close } = await benchRuntime(CALLERS + 4, {
    workers: Number(process.env.BENCH_LEDGER_WORKERS ?? 1),
    maxBatch: Number(process.env.BENCH_LEDGER_MAX_BATCH ?? 1000),
  });
  const { db } = deps;
  const pool = new pg.Pool({ connectionString: url, max: CALLERS });
  // An idle client the server drops at the end must not crash the process.
  pool.on('error', () => {});
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT + 1 });
  const app = await buildApp(deps);
  const failures: string[] = [];

  // Where a batch request's time goes on the server: receiving, parsing, authenticating and
  // validating the body; the handler (reads, the engine, the ledger's batches); serializing the
  // answer; writing it.
  const marks = new WeakMap<object, number[]>();
  const phases = { requests: 0, receive: 0, handler: 0, serialize: 0, write: 0 };
  const isBatch = (u: string) => u.endsWith('/purchases/batch');
  const mark = (request: { raw: object; url: string }) => {
    if (!isBatch(request.url)) return;
    const list = marks.get(request.raw) ?? [];
    list.push(performance.now());
    marks.set(request.raw, list);
  };
  app.addHook('onRequest', async (request) => mark(request));
  app.addHook('preHandler', async (request) => mark(request));
  app.addHook('preSerialization', async (request) => mark(request));
  app.addHook('onSend', async (request) => mark(request));
  app.addHook('onResponse', async (request) => {
    mark(request);
    const t = marks.get(request.raw);
    if (t?.length !== 5) return;
    const [a, b, c, d, e] = t as [number, number, number, number, number];
    phases.requests++;
    phases.receive += b - a;
    phases.handler += c - b;
    phases.serialize += d - c;
    phases.write += e - d;
  });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const target = new URL(base);

  try {
    // MEMBERS enrolled members, set-based.
    let began = performance.now();
    await db.transaction().execute(async (trx) => {
      await sql`insert into members (id, status, created_at, updated_at)
        select 'mem_earn' || lpad(i::text, 9, '0'), 'active', now(), now()
        from generate_series(1, ${MEMBERS}::int) i`.execute(trx);
      await sql`insert into enrollments (program_id, member_id, enrolled_at, channel, status)
        select 'bench', 'mem_earn' || lpad(i::text, 9, '0'), now(), 'import', 'active'
        from generate_series(1, ${MEMBERS}::int) i`.execute(trx);
    });
    await sql`analyze`.execute(db);
    const enrolled = performance.now() - began;

    const admin = (
      await createKey(deps, { programId: 'bench', role: 'admin', name: 'bench admin' }, null)
    ).secret;
    const integration = (
      await createKey(deps, { programId: 'bench', role: 'integration', name: 'bench till' }, null)
    ).secret;
    const post = (path: string, secret: string, body: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request(
          {
            agent,
            host: target.hostname,
            port: target.port,
            method: 'POST',
            path,
            headers: {
              authorization: `Bearer ${secret}`,
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
            );
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      });

    // The 4 active rules, through the API. Budgets far above what a run issues never bind; the
    // per-member daily caps do, now and then, so the limit counters are read and written.
    const { timezone } = await getProgram(deps, 'bench');
    const today = weekdayOf(new Date(), timezone);
    const rules = [
      {
        id: 'base',
        name: 'Base: 1 point per ¥1',
        priority: 1,
        conditions: { excludeCategories: ['tobacco'] },
        effect: { type: 'rate', points: 1, per: 100 },
        limits: { budget: 1_000_000_000 },
      },
      {
        id: 'weekday-fresh',
        name: 'Member day: 2 points per ¥1 on fresh and grocery',
        priority: 5,
        conditions: { weekdays: [today], categories: ['fresh', 'grocery'] },
        effect: { type: 'rate', points: 2, per: 100 },
        limits: { budget: 1_000_000_000 },
      },
      {
        id: 'fresh-double',
        name: 'Fresh ×2',
        priority: 3,
        conditions: { categories: ['fresh'] },
        effect: { type: 'multiplier', factor: 2 },
        limits: { perMemberPerDay: 500 },
      },
      {
        id: 'big-basket',
        name: '50 points over ¥200',
        priority: 2,
        conditions: { minSpend: 20_000 },
        effect: { type: 'bonus', points: 50 },
        limits: { perMemberPerDay: 100 },
      },
    ];
    for (const rule of rules) {
      const r = await post('/v1/programs/bench/earning-rules', admin, JSON.stringify(rule));
      if (r.status !== 201) throw new Error(`creating rule ${rule.id}: ${r.status} ${r.text}`);
    }

    let earned = 0;
    let growth = 0;
    const problems = new Map<string, number>();
    /** Sends batches from `inFlight` loops; returns the purchases answered 201. */
    const sendBatches = async (bodies: string[], inFlight: number) => {
      let next = 0;
      let created = 0;
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (next < bodies.length) {
            const body = bodies[next++] as string;
            const r = await post('/v1/programs/bench/purchases/batch', integration, body);
            if (r.status !== 200) throw new Error(`batch answered ${r.status}: ${r.text}`);
            for (const a of (JSON.parse(r.text) as { results: PurchaseAnswer[] }).results) {
              if (a.status === 201 && a.purchase) {
                created++;
                earned += a.purchase.points.earned;
                growth += a.purchase.growth.credited;
              } else {
                const key = `${a.status} ${a.problem?.code ?? ''}`;
                problems.set(key, (problems.get(key) ?? 0) + 1);
              }
            }
          }
        }),
      );
      return created;
    };
    const batchesOf = (purchases: Purchase[]) => {
      const bodies: string[] = [];
      for (let i = 0; i < purchases.length; i += PER_REQUEST)
        bodies.push(JSON.stringify({ purchases: purchases.slice(i, i + PER_REQUEST) }));
      return bodies;
    };

    // Every member once, not counted: their points and growth accounts, tier rows and today's
    // counters made, statements prepared, code warmed.
    const random = seeded(42);
    began = performance.now();
    const warm = batchesOf(
      Array.from({ length: MEMBERS }, (_, i) => purchaseOf(`w-${i}`, i + 1, random)),
    );
    // Statistics refreshed after the first request, as autovacuum would on a server that has
    // been running: planned on the empty tables, the ledger's lookups degrade to nested loops.
    let warmed = await sendBatches(warm.slice(0, 1), 1);
    await sql`analyze`.execute(db);
    warmed += await sendBatches(warm.slice(1), IN_FLIGHT);
    if (warmed !== MEMBERS) failures.push(`warm-up: ${warmed} of ${MEMBERS} answered 201`);
    await sql`analyze`.execute(db);
    console.log(
      `earning: ${count(MEMBERS)} members (enrolled set-based in ${(enrolled / 1000).toFixed(1)} s), ` +
        `4 active rules, ${ITEMS} items per purchase, points and growth, durable commits; ` +
        `warm-up ${count(MEMBERS)} purchases (every member once, not counted) in ${((performance.now() - began) / 1000).toFixed(1)} s`,
    );

    // --- batched: PURCHASES purchases, PER_REQUEST per request, IN_FLIGHT requests in flight ---

    const purchases = Array.from({ length: PURCHASES }, (_, i) =>
      purchaseOf(`b-${i}`, 1 + Math.floor(random() * MEMBERS), random),
    );
    const bodies = batchesOf(purchases);
    Object.assign(phases, { requests: 0, receive: 0, handler: 0, serialize: 0, write: 0 });
    const before = { ...deps.ledger.stats };
    began = performance.now();
    const created = await sendBatches(bodies, IN_FLIGHT);
    const batchedMs = performance.now() - began;
    const after = { ...deps.ledger.stats };
    const batched = PURCHASES / (batchedMs / 1000);
    if (created !== PURCHASES)
      failures.push(
        `batched: ${count(created)} of ${count(PURCHASES)} answered 201 (${[...problems].map(([k, n]) => `${k} × ${n}`).join(', ')})`,
      );

    // --- floor: the same writes as plain SQL, one purchase per transaction ---
    //
    // On copies of the tables (same columns, checks and indexes; no foreign keys), so the real
    // ledger stays exact for the checks at the end: per purchase, the points transfer and its lot
    // with both accounts' totals moved by SQL arithmetic, the rules' limit counters bumped (an
    // upsert), the same for growth on its own ledger, the growth event and the purchase's row.
    // The service writes more than this (its command log, the member's tier row, the event's
    // tier), so the floor is a strict one. The points are the engine's, computed outside the
    // transaction.
    const points = pointsLedger('bench');
    const growthOf = growthLedger('bench');
    const pointsIssuance = (await systemAccountsOf(deps, points)).get('issuance') as string;
    const growthIssuance = (await systemAccountsOf(deps, growthOf)).get('issuance') as string;
    for (const t of [
      'ledger_accounts',
      'ledger_transfers',
      'ledger_lots',
      'ledger_limits',
      'growth_events',
      'purchases',
    ])
      await sql`create table ${sql.table(`floor_${t}`)} (like ${sql.table(t)} including all)`.execute(
        db,
      );
    await sql`insert into floor_ledger_accounts select * from ledger_accounts where program_id = 'bench'`.execute(
      db,
    );
    await sql`insert into floor_ledger_limits select * from ledger_limits`.execute(db);
    await sql`analyze floor_ledger_accounts`.execute(db);
    await sql`analyze floor_ledger_limits`.execute(db);
    const accounts = new Map<string, string>();
    for (const r of (
      await sql<{ ledger: string; member_id: string; id: string }>`
        select ledger, member_id, id from floor_ledger_accounts where kind = 'member'`.execute(db)
    ).rows)
      accounts.set(`${r.ledger}|${r.member_id}`, r.id);
    const engineRules: Rule[] = await activeRules(deps, 'bench');
    // What a purchase writes, computed outside the transaction: its earning, counters and answer.
    const writesOf = (n: number, prefix: string) => {
      const p = purchases[n % purchases.length] as Purchase;
      const id = `${prefix}-${n}`;
      const at = new Date(p.occurredAt);
      const items: Item[] = p.items;
      const e = earn(
        engineRules,
        {
          amount: p.amount,
          items,
          store: null,
          channel: null,
          paymentMethod: null,
          occurredAt: at,
        },
        { tier: 'member', tierMultiplier: null, birthday: null, firstPurchase: false },
        { timezone, rounding: 'floor' },
      );
      const limits = e.lines
        .flatMap((l) =>
          lineLimits(l, p.member.id, at, timezone, { firstPurchase: false }).map((k) => ({
            ...k,
            used: l.points,
          })),
        )
        .sort((a, b) => (a.key < b.key ? -1 : 1));
      const g = Math.floor(p.amount / 100);
      const pointsAccount = accounts.get(`${points}|${p.member.id}`);
      const growthAccount = accounts.get(`${growthOf}|${p.member.id}`);
      const fingerprint = createHash('sha256')
        .update(JSON.stringify({ purchase: p }))
        .digest();
      const result = JSON.stringify({
        id: p.id,
        memberId: p.member.id,
        points: {
          earned: e.points,
          pending: 0,
          breakdown: e.lines.map((l) => ({ ruleId: l.ruleId, name: l.name, points: l.points })),
        },
        growth: { credited: g, capped: 0 },
        tier: { code: 'member', changed: false },
      });
      return { p, id, at, e, limits, g, pointsAccount, growthAccount, fingerprint, result };
    };

    let floorSeq = 0;
    const floor = await measure(SECONDS, CALLERS, async () => {
      const n = floorSeq++;
      const { p, id, at, e, limits, g, pointsAccount, growthAccount, fingerprint, result } =
        writesOf(n, 'floor');
      const c = await pool.connect();
      try {
        await c.query('begin');
        if (e.points > 0) {
          const { rows } = await c.query<{ balance: string }>(
            `update floor_ledger_accounts set credits_posted = credits_posted + $2 where id = $1
             returning credits_posted - debits_posted as balance`,
            [pointsAccount, e.points],
          );
          await c.query(
            'update floor_ledger_accounts set debits_posted = debits_posted + $2 where id = $1',
            [pointsIssuance, e.points],
          );
          await c.query(
            `insert into floor_ledger_transfers (id, command_id, ledger, debit_account_id, credit_account_id, amount,
                                                 kind, code, reference, credit_balance_after, created_at)
             values ($1, $2, $3, $4, $5, $6, 'single', 'earn', $7, $8, now())`,
            [
              `trf_fp${n}`,
              id,
              points,
              pointsIssuance,
              pointsAccount,
              e.points,
              `purchase:${id}`,
              rows[0]?.balance,
            ],
          );
          await c.query(
            `insert into floor_ledger_lots (id, account_id, amount, remaining, created_at)
             values ($1, $2, $3, $3, now())`,
            [`trf_fp${n}`, pointsAccount, e.points],
          );
          if (limits.length > 0)
            await c.query(
              `insert into floor_ledger_limits (ledger, key, used, forget_after)
               select $1, k, u, f from unnest($2::text[], $3::bigint[], $4::timestamptz[]) v(k, u, f)
               on conflict (ledger, key) do update set used = floor_ledger_limits.used + excluded.used`,
              [
                points,
                limits.map((l) => l.key),
                limits.map((l) => l.used),
                limits.map((l) => l.forgetAfter ?? null),
              ],
            );
        }
        const { rows } = await c.query<{ balance: string }>(
          `update floor_ledger_accounts set credits_posted = credits_posted + $2 where id = $1
           returning credits_posted - debits_posted as balance`,
          [growthAccount, g],
        );
        await c.query(
          'update floor_ledger_accounts set debits_posted = debits_posted + $2 where id = $1',
          [growthIssuance, g],
        );
        await c.query(
          `insert into floor_ledger_transfers (id, command_id, ledger, debit_account_id, credit_account_id, amount,
                                               kind, code, reference, credit_balance_after, created_at)
           values ($1, $2, $3, $4, $5, $6, 'single', 'earn', $7, $8, now())`,
          [
            `trf_fg${n}`,
            id,
            growthOf,
            growthIssuance,
            growthAccount,
            g,
            `purchase:${id}`,
            rows[0]?.balance,
          ],
        );
        await c.query(
          `insert into floor_ledger_lots (id, account_id, amount, remaining, created_at)
           values ($1, $2, $3, $3, now())`,
          [`trf_fg${n}`, growthAccount, g],
        );
        await c.query(
          `insert into floor_growth_events (id, program_id, member_id, command_id, source, requested, value,
                                            reference, day, occurred_at, tier)
           values ($1, 'bench', $2, $3, 'spend', $4, $4, $5, current_date, now(), 'member')`,
          [`grw_f${n}`, p.member.id, id, g, `purchase:${id}`],
        );
        await c.query(
          `insert into floor_purchases (program_id, id, member_id, fingerprint, amount, currency, occurred_at,
                                        items, weights, rules, points, growth, lot_id, result, returned, created_at)
           values ('bench', $1, $2, $3, $4, 'CNY', $5, $6, $7, $8, $9, $10, $11, $12, $13, now())`,
          [
            id,
            p.member.id,
            fingerprint,
            p.amount,
            at,
            JSON.stringify(p.items),
            JSON.stringify(e.weights),
            JSON.stringify(e.matched),
            e.points,
            g,
            e.points > 0 ? `trf_fp${n}` : null,
            result,
            JSON.stringify({ quantities: p.items.map(() => 0), amount: 0 }),
          ],
        );
        await c.query('commit');
      } catch (error) {
        await c.query('rollback');
        throw error;
      } finally {
        c.release();
      }
    });

    // --- ceiling: the same writes as bare set-based SQL, PER_REQUEST purchases per transaction ---
    //
    // What PostgreSQL itself takes to store these rows on this machine, with no reads, checks or
    // answers: the member accounts locked in id order, then one statement for the transfers, lots,
    // counters, growth events and purchases, then the issuance accounts. The rows and the
    // statements' parameters are made before the clock starts. One transaction at a time: two at
    // once measured slower here (1,270–1,850/s), since any two batches of 1,000 over 20,000
    // members share a member and the second waits for the first's commit. The service cannot be
    // faster than this without writing fewer or smaller rows.
    const ceilingParams = (first: number) => {
      const rows = Array.from({ length: PER_REQUEST }, (_, k) => writesOf(first + k, 'ceiling'));
      const t: {
        id: string;
        command: string;
        ledger: string;
        debit: string;
        credit: string;
        n: number;
      }[] = [];
      for (const [k, w] of rows.entries()) {
        const n = first + k;
        if (w.e.points > 0)
          t.push({
            id: `trf_cp${n}`,
            command: w.id,
            ledger: points,
            debit: pointsIssuance,
            credit: w.pointsAccount as string,
            n: w.e.points,
          });
        t.push({
          id: `trf_cg${n}`,
          command: w.id,
          ledger: growthOf,
          debit: growthIssuance,
          credit: w.growthAccount as string,
          n: w.g,
        });
      }
      const limits = new Map<string, { used: number; forget: Date | null }>();
      for (const w of rows)
        for (const l of w.limits)
          limits.set(l.key, {
            used: (limits.get(l.key)?.used ?? 0) + l.used,
            forget: l.forgetAfter ?? null,
          });
      const keys = [...limits.keys()].sort();
      return {
        lock: [[...new Set(t.map((x) => x.credit))]],
        rows: [
          t.map((x) => x.id),
          t.map((x) => x.command),
          t.map((x) => x.ledger),
          t.map((x) => x.debit),
          t.map((x) => x.credit),
          t.map((x) => x.n),
          points,
          keys,
          keys.map((k) => limits.get(k)?.used),
          keys.map((k) => limits.get(k)?.forget),
          rows.map((w) => w.id),
          rows.map((w) => w.p.member.id),
          rows.map((w) => w.g),
          rows.map((w) => w.fingerprint),
          rows.map((w) => w.p.amount),
          rows.map((w) => w.at),
          rows.map((w) => JSON.stringify(w.p.items)),
          rows.map((w) => JSON.stringify(w.e.weights)),
          rows.map((w) => JSON.stringify(w.e.matched)),
          rows.map((w) => w.e.points),
          rows.map((w, k) => (w.e.points > 0 ? `trf_cp${first + k}` : null)),
          rows.map((w) => w.result),
          rows.map((w) => JSON.stringify({ quantities: w.p.items.map(() => 0), amount: 0 })),
        ],
        issuance: [
          [pointsIssuance, growthIssuance],
          [pointsIssuance, growthIssuance].map((id) =>
            t.filter((x) => x.debit === id).reduce((sum, x) => sum + x.n, 0),
          ),
        ],
        count: rows.length,
      };
    };
    const ceilingBatches = Array.from(
      { length: Math.ceil((SECONDS * 10_000) / PER_REQUEST) },
      (_, b) => ceilingParams(b * PER_REQUEST),
    );
    const ceilingBatch = async (q: ReturnType<typeof ceilingParams>): Promise<number> => {
      const c = await pool.connect();
      try {
        await c.query('begin');
        await c.query(
          'select id from floor_ledger_accounts where id = any($1::text[]) order by id for no key update',
          q.lock,
        );
        await c.query(
          `with
           v as (select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
                 with ordinality as v(id, command_id, ledger, debit, credit, amount, n)),
           moved as (
             update floor_ledger_accounts a set credits_posted = a.credits_posted + s.total
             from (select credit, sum(amount) as total from v group by credit) s where a.id = s.credit
             returning a.id, a.credits_posted - a.debits_posted - s.total as before),
           transfers as (
             insert into floor_ledger_transfers (id, command_id, ledger, debit_account_id, credit_account_id, amount,
                                                 kind, code, reference, credit_balance_after, created_at)
             select v.id, v.command_id, v.ledger, v.debit, v.credit, v.amount, 'single', 'earn',
                    'purchase:' || v.command_id,
                    m.before + sum(v.amount) over (partition by v.credit order by v.n), now()
             from v join moved m on m.id = v.credit),
           lots as (
             insert into floor_ledger_lots (id, account_id, amount, remaining, created_at)
             select id, credit, amount, amount, now() from v),
           counters as (
             insert into floor_ledger_limits (ledger, key, used, forget_after)
             select $7, k, u, f from unnest($8::text[], $9::bigint[], $10::timestamptz[]) v(k, u, f)
             on conflict (ledger, key) do update set used = floor_ledger_limits.used + excluded.used),
           events as (
             insert into floor_growth_events (id, program_id, member_id, command_id, source, requested, value,
                                              reference, day, occurred_at, tier)
             select 'grw_' || g.id, 'bench', g.member, g.id, 'spend', g.value, g.value, 'purchase:' || g.id,
                    current_date, now(), 'member'
             from unnest($11::text[], $12::text[], $13::bigint[]) with ordinality as g(id, member, value, n))
           insert into floor_purchases (program_id, id, member_id, fingerprint, amount, currency, occurred_at,
                                        items, weights, rules, points, growth, lot_id, result, returned, created_at)
           select 'bench', id, member, fingerprint, amount, 'CNY', at, items::jsonb, weights::jsonb, rules::jsonb,
                  points, growth, lot, result::jsonb, returned::jsonb, now()
           from unnest($11::text[], $12::text[], $14::bytea[], $15::bigint[], $16::timestamptz[], $17::text[],
                       $18::text[], $19::text[], $20::bigint[], $13::bigint[], $21::text[], $22::text[], $23::text[])
                as p(id, member, fingerprint, amount, at, items, weights, rules, points, growth, lot, result, returned)`,
          q.rows,
        );
        await c.query(
          `update floor_ledger_accounts a set debits_posted = a.debits_posted + v.n
           from unnest($1::text[], $2::bigint[]) v(id, n) where a.id = v.id`,
          q.issuance,
        );
        await c.query('commit');
      } catch (error) {
        await c.query('rollback');
        throw error;
      } finally {
        c.release();
      }
      return q.count;
    };
    const ceilingUntil = performance.now() + SECONDS * 1000;
    const ceilingBegan = performance.now();
    let ceilingDone = 0;
    for (const q of ceilingBatches) {
      if (performance.now() >= ceilingUntil) break;
      ceilingDone += await ceilingBatch(q);
    }
    const ceiling = ceilingDone / ((performance.now() - ceilingBegan) / 1000);

    const ratio = batched / floor;
    const batches = after.batches - before.batches;
    const commands = after.commands - before.commands;
    const ledgerMs = after.ms - before.ms;
    console.log(
      `floor: plain SQL, one purchase per transaction, ${CALLERS} clients   ${fmt(floor)} purchases/s  ` +
        `(${count(floorSeq)} in ${SECONDS} s)`,
    );
    console.log(
      `ceiling: bare set-based SQL, ${count(PER_REQUEST)} per transaction, one at a time  ${fmt(ceiling)} purchases/s  ` +
        `(${count(ceilingDone)} in ${SECONDS} s; the service reaches ${((batched / ceiling) * 100).toFixed(0)}% of it)`,
    );
    console.log(
      `POST …/purchases/batch, ${count(PER_REQUEST)} per request, ${IN_FLIGHT} in flight  ${fmt(batched)} purchases/s  ` +
        `(${count(PURCHASES)} in ${(batchedMs / 1000).toFixed(1)} s; ${ratio.toFixed(1)}× the floor)`,
    );
    console.log(
      `  at least 5,000/s and 4× the floor: ${batched >= 5_000 && ratio >= 4 ? 'met' : 'NOT met'}; ` +
        `goal 20,000/s: ${batched >= 20_000 ? 'met' : 'NOT met'}`,
    );
    console.log(
      `  ledger engine: ${count(batches)} batches, ${(commands / batches).toFixed(1)} commands each, ` +
        `${(ledgerMs / batches).toFixed(1)} ms each (${((ledgerMs / batchedMs) * 100).toFixed(0)}% of the wall time)`,
    );
    if (phases.requests > 0) {
      const each = (ms: number) => (ms / phases.requests).toFixed(1);
      console.log(
        `  server, per batch request (${phases.requests} requests): receive + parse + auth + validate ${each(phases.receive)} ms, ` +
          `handler ${each(phases.handler)} ms, serialize ${each(phases.serialize)} ms, write ${each(phases.write)} ms`,
      );
    }

    // --- single purchases from CALLERS callers ---

    const single = (seconds: number, first: number) =>
      load(base, {
        concurrency: CALLERS,
        seconds,
        request: (n) => ({
          method: 'POST',
          path: '/v1/programs/bench/purchases',
          headers: {
            authorization: `Bearer ${integration}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify(
            purchaseOf(`s-${first + n}`, 1 + Math.floor(random() * MEMBERS), random),
          ),
        }),
      });
    // One second first, not counted: connections opened, code warmed.
    const singleWarm = await single(1, 10_000_000);
    const beforeSingle = { ...deps.ledger.stats };
    const one = await single(SECONDS, 0);
    const afterSingle = { ...deps.ledger.stats };
    const singleBatches = afterSingle.batches - beforeSingle.batches;
    console.log(
      `POST …/purchases, ${CALLERS} callers                      ${fmt(one.perSecond)} purchases/s  ` +
        `p50 ${one.p50.toFixed(1)} ms  p99 ${one.p99.toFixed(1)} ms  ${JSON.stringify(one.statuses)}  ` +
        `(${(one.perSecond / floor).toFixed(1)}× the floor; ${singleBatches} batches, ` +
        `${((afterSingle.commands - beforeSingle.commands) / singleBatches).toFixed(1)} commands each, ` +
        `${((afterSingle.ms - beforeSingle.ms) / singleBatches).toFixed(1)} ms each)`,
    );
    for (const [name, r] of [
      ['single warm-up', singleWarm],
      ['single', one],
    ] as const) {
      const other = Object.entries(r.statuses).filter(([s]) => s !== '201');
      if (other.length > 0) failures.push(`${name}: answers ${JSON.stringify(r.statuses)}`);
    }

    // --- checks ---

    await deps.ledger.drain();
    const issued = async (ledger: string) => {
      const { rows } = await sql<{ debits: string }>`
        select debits_posted as debits from ledger_accounts where ledger = ${ledger} and kind = 'issuance'`.execute(
        db,
      );
      return Number(rows[0]?.debits ?? 0);
    };
    const { rows: sums } = await sql<{
      singles: string;
      singlesGrowth: string;
      points: string;
      growth: string;
    }>`
      select coalesce(sum(points) filter (where id like 's-%'), 0) as singles,
             coalesce(sum(growth) filter (where id like 's-%'), 0) as "singlesGrowth",
             coalesce(sum(points), 0) as points, coalesce(sum(growth), 0) as growth
      from purchases where program_id = 'bench'`.execute(db);
    const singles = Number(sums[0]?.singles);
    const pointsIssued = await issued(points);
    const growthIssued = await issued(growthOf);
    // Each rule's budget counter is what the rule's lines were credited, over every purchase.
    const { rows: budgets } = await sql<{ key: string; used: string; credited: string }>`
      select l.key, l.used, coalesce((
        select sum((b ->> 'points')::bigint) from purchases p,
               jsonb_array_elements(p.result -> 'points' -> 'breakdown') b
        where p.program_id = 'bench' and 'earn:' || (b ->> 'ruleId') || ':budget' = l.key), 0) as credited
      from ledger_limits l where l.ledger = ${points} and l.key like '%:budget'`.execute(db);
    const { rows: over } = await sql<{ n: string }>`
      select count(*) as n from ledger_limits
      where ledger = ${points} and (key like 'earn:fresh-double:day:%' and used > 500
                                    or key like 'earn:big-basket:day:%' and used > 100)`.execute(
      db,
    );
    const { rows: capped } = await sql<{ n: string }>`
      select count(*) as n from ledger_limits
      where ledger = ${points} and (key like 'earn:fresh-double:day:%' and used = 500
                                    or key like 'earn:big-basket:day:%' and used = 100)`.execute(
      db,
    );
    const check = await reconcile(deps);
    if (earned + singles !== pointsIssued)
      failures.push(
        `Σ earned ${count(earned)} (answers) + ${count(singles)} (single purchases) ≠ ${count(pointsIssued)} issued`,
      );
    if (Number(sums[0]?.points) !== pointsIssued)
      failures.push(`Σ purchases.points ${sums[0]?.points} ≠ ${count(pointsIssued)} issued`);
    if (growth + Number(sums[0]?.singlesGrowth) !== growthIssued)
      failures.push(
        `Σ growth credited ${count(growth)} + ${sums[0]?.singlesGrowth} ≠ ${count(growthIssued)} issued`,
      );
    if (Number(sums[0]?.growth) !== growthIssued)
      failures.push(`Σ purchases.growth ${sums[0]?.growth} ≠ ${count(growthIssued)} growth issued`);
    for (const b of budgets)
      if (Number(b.used) !== Number(b.credited))
        failures.push(`budget ${b.key}: counter ${b.used} ≠ ${b.credited} credited`);
    if (budgets.length !== 2) failures.push(`${budgets.length} budget counters, not 2`);
    if (Number(over[0]?.n) > 0) failures.push(`${over[0]?.n} daily counters above their cap`);
    if (!check.ok)
      failures.push(
        `reconcile: ${check.checks
          .filter((c) => !c.held)
          .map((c) => c.name)
          .join(', ')}`,
      );
    console.log(
      `  check: ${failures.length === 0 ? 'ok' : 'FAILED'} — every purchase 201; Σ earned ${count(earned + singles)} = ` +
        `${count(pointsIssued)} points issued; ${count(growthIssued)} growth issued; budget counters = lines credited; ` +
        `${count(Number(capped[0]?.n))} daily counters at their cap, none above; ` +
        `reconcile ${check.ok ? 'clean' : 'BROKEN'}`,
    );
  } finally {
    await app.close();
    agent.destroy();
    await pool.end();
    await close();
  }
  if (failures.length > 0) throw new Error(`earning bench failed:\n  ${failures.join('\n  ')}`);
}
