import { sql } from 'kysely';
import { listMembers } from '../src/members/members.service.ts';
import { benchRuntime, measure } from './harness.ts';

// Identity lookups with a million members: enroll them set-based, then look members up by
// phone through the service layer, beside the floor of the bare index lookup in plain SQL.

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 1_000_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = 16;

const phoneOf = (i: number) => `+86139${String(i).padStart(8, '0')}`;

export async function run(): Promise<void> {
  const { deps, close } = await benchRuntime(CONCURRENCY + 2);
  const { db } = deps;

  const began = performance.now();
  await db.transaction().execute(async (trx) => {
    await sql`
      insert into members (id, status, name, created_at, updated_at)
      select 'mem_bench' || lpad(i::text, 17, '0'), 'active', 'Member ' || i, now(), now()
      from generate_series(1, ${MEMBERS}::int) i`.execute(trx);
    await sql`
      insert into identifiers (type, scope, value, member_id, created_at)
      select 'phone', '', '+86139' || lpad(i::text, 8, '0'), 'mem_bench' || lpad(i::text, 17, '0'), now()
      from generate_series(1, ${MEMBERS}::int) i`.execute(trx);
    await sql`
      insert into enrollments (program_id, member_id, enrolled_at, channel, status)
      select 'bench', 'mem_bench' || lpad(i::text, 17, '0'), now(), 'import', 'active'
      from generate_series(1, ${MEMBERS}::int) i`.execute(trx);
  });
  const seconds = (performance.now() - began) / 1000;
  await sql`analyze`.execute(db);
  console.log(
    `members: enrolled ${MEMBERS.toLocaleString('en')} members set-based in ${seconds.toFixed(1)} s ` +
      `(${Math.round(MEMBERS / seconds).toLocaleString('en')} members/s: member, phone and enrollment rows)`,
  );

  const random = () => 1 + Math.floor(Math.random() * MEMBERS);
  const floor = await measure(SECONDS, CONCURRENCY, (_) =>
    sql`select member_id from identifiers where type = 'phone' and scope = '' and value = ${phoneOf(random())}`.execute(
      db,
    ),
  );
  const service = await measure(SECONDS, CONCURRENCY, async () => {
    const found = await listMembers(
      deps,
      'bench',
      { type: 'phone', value: phoneOf(random()) },
      undefined,
      2,
    );
    if (found.length !== 1) throw new Error('lookup missed');
  });
  console.log(
    `floor: bare index lookup in plain SQL           ${Math.round(floor).toLocaleString('en').padStart(7)} lookups/s`,
  );
  console.log(
    `lookup by phone through the service layer      ${Math.round(service).toLocaleString('en').padStart(7)} lookups/s  ` +
      `(${((service / floor) * 100).toFixed(0)}% of floor; one query for member, enrollment and identifiers)`,
  );

  await close();
}
