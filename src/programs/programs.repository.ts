import type { Selectable } from 'kysely';
import type { Db, Trx } from '../db/database.ts';
import type { ProgramsTable } from '../db/schema.ts';
import type { Program } from './programs.core.ts';

function toProgram(row: Selectable<ProgramsTable>): Program {
  return {
    id: row.id,
    name: row.name,
    pointsName: row.points_name,
    timezone: row.timezone,
    status: row.status,
    pointsExpiry: row.points_expiry,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Inserts the program; returns false when the id is taken. */
export async function insertProgram(db: Db, p: Program): Promise<boolean> {
  const row = await db
    .insertInto('programs')
    .values({
      id: p.id,
      name: p.name,
      points_name: p.pointsName,
      timezone: p.timezone,
      status: p.status,
      points_expiry: JSON.stringify(p.pointsExpiry),
      created_at: p.createdAt,
      updated_at: p.updatedAt,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function findProgram(db: Db, id: string): Promise<Program | undefined> {
  const row = await db.selectFrom('programs').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toProgram(row);
}

/** Reads a program and locks its row until the transaction ends. */
export async function lockProgram(trx: Trx, id: string): Promise<Program | undefined> {
  const row = await trx
    .selectFrom('programs')
    .selectAll()
    .where('id', '=', id)
    // "No key update": a ledger batch opening an account of the program only takes a key share.
    .forNoKeyUpdate()
    .executeTakeFirst();
  return row && toProgram(row);
}

/** Every program's id, in order. */
export async function programIds(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('programs').select('id').orderBy('id').execute();
  return rows.map((r) => r.id);
}

/** Programs in id order after `after`; `only` restricts the list to one program (a program key's view). */
export async function listPrograms(
  db: Db,
  after: string | undefined,
  limit: number,
  only?: string,
): Promise<Program[]> {
  let query = db.selectFrom('programs').selectAll();
  if (after) query = query.where('id', '>', after);
  if (only) query = query.where('id', '=', only);
  const rows = await query.orderBy('id').limit(limit).execute();
  return rows.map(toProgram);
}

export type ProgramChanges = Partial<
  Pick<Program, 'name' | 'pointsName' | 'timezone' | 'status' | 'pointsExpiry'>
>;

export async function updateProgram(
  db: Db,
  id: string,
  changes: ProgramChanges,
  at: Date,
): Promise<Program | undefined> {
  const row = await db
    .updateTable('programs')
    .set({
      ...(changes.name !== undefined && { name: changes.name }),
      ...(changes.pointsName !== undefined && { points_name: changes.pointsName }),
      ...(changes.timezone !== undefined && { timezone: changes.timezone }),
      ...(changes.status !== undefined && { status: changes.status }),
      ...(changes.pointsExpiry !== undefined && {
        points_expiry: JSON.stringify(changes.pointsExpiry),
      }),
      updated_at: at,
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  return row && toProgram(row);
}
