import type { Db } from '../db/database.ts';

// An outbox consumer's place in each program's events: a worker reads the events after it, acts
// on each exactly once (its own unique rows see to that), and moves it forward. Each consumer keeps
// its cursors in a table of its own (offers, coupons), all of this shape; these are the three
// things done with one.

/** The tables that hold consumers' cursors: `(program_id, last_sequence, updated_at)`. */
export type CursorTable = 'offer_cursors' | 'coupon_cursors';

export interface Cursor {
  programId: string;
  /** The sequence of the last event acted on. */
  last: number;
}

/** Starts a program's cursor at `sequence` (the program's latest event), unless it has one. */
export async function startCursor(
  db: Db,
  table: CursorTable,
  programId: string,
  sequence: number,
  at: Date,
): Promise<void> {
  await db
    .insertInto(table)
    .values({ program_id: programId, last_sequence: sequence, updated_at: at })
    .onConflict((oc) => oc.column('program_id').doNothing())
    .execute();
}

/** Every program the consumer follows, and where it got to in each. */
export async function cursors(db: Db, table: CursorTable): Promise<Cursor[]> {
  const rows = await db
    .selectFrom(table)
    .select(['program_id', 'last_sequence'])
    .orderBy('program_id')
    .execute();
  return rows.map((r) => ({ programId: r.program_id, last: Number(r.last_sequence) }));
}

/** Moves a cursor forward (never back: a slower concurrent run does not undo a faster one's). */
export async function advanceCursor(
  db: Db,
  table: CursorTable,
  programId: string,
  sequence: number,
  at: Date,
): Promise<void> {
  await db
    .updateTable(table)
    .set({ last_sequence: sequence, updated_at: at })
    .where('program_id', '=', programId)
    .where('last_sequence', '<', String(sequence))
    .execute();
}
