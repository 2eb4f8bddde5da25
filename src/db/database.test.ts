import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/harness.ts';
import { createDb, type Db, prepared } from './database.ts';

let db: Db;
let drop: () => Promise<void>;
beforeAll(async () => {
  const database = await createTestDatabase();
  drop = database.drop;
  db = createDb(database.url, 1);
});
afterAll(async () => {
  await db.destroy();
  await drop();
});

it('prepares a marked statement once per connection and runs it with each call’s values', async () => {
  const square = (n: number) =>
    sql<{ n: number }>`${prepared}select ${n}::int * ${n}::int as n`.execute(db);
  expect((await square(3)).rows).toEqual([{ n: 9 }]);
  expect((await square(4)).rows).toEqual([{ n: 16 }]);
  const { rows } = await sql<{
    statement: string;
  }>`select statement from pg_prepared_statements where statement like '/* prepared */%'`.execute(
    db,
  );
  expect(rows).toHaveLength(1);
  // Statements without the mark are not prepared.
  await sql`select ${1}::int`.execute(db);
  const all = await sql`select 1 from pg_prepared_statements`.execute(db);
  expect(all.rows).toHaveLength(1);
});
