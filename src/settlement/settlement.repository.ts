import type { Selectable } from 'kysely';
import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { SettlementLinesTable } from '../db/schema.ts';
import { periodOf, type SettlementLine, type SettlementLineInput } from './settlement.core.ts';

type LineRow = Pick<
  Selectable<SettlementLinesTable>,
  | 'id'
  | 'kind'
  | 'source_id'
  | 'period'
  | 'debtor'
  | 'creditor'
  | 'points'
  | 'amount_fen'
  | 'member_id'
  | 'detail'
  | 'created_at'
>;

const lineColumns = [
  'id',
  'kind',
  'source_id',
  'period',
  'debtor',
  'creditor',
  'points',
  'amount_fen',
  'member_id',
  'detail',
  'created_at',
] as const;

function toLine(r: LineRow): SettlementLine {
  return {
    id: r.id,
    kind: r.kind,
    sourceId: r.source_id,
    period: r.period,
    debtor: r.debtor,
    creditor: r.creditor,
    points: r.points === null ? null : Number(r.points),
    amountFen: Number(r.amount_fen),
    memberId: r.member_id,
    detail: r.detail,
    createdAt: r.created_at,
  };
}

/** Inserts lines (a line seen before is skipped). */
export async function insertLines(db: Db, lines: SettlementLineInput[]): Promise<void> {
  if (lines.length === 0) return;
  await db
    .insertInto('settlement_lines')
    .values(
      lines.map((l) => ({
        // one line per kind and source: its id says which
        id: `${l.kind}:${l.sourceId}`,
        kind: l.kind,
        source_id: l.sourceId,
        period: periodOf(l.at),
        debtor: l.debtor,
        creditor: l.creditor,
        points: l.points,
        amount_fen: l.amountFen,
        member_id: l.memberId,
        detail: JSON.stringify(l.detail ?? {}),
        created_at: l.at,
      })),
    )
    .onConflict((oc) => oc.columns(['kind', 'source_id']).doNothing())
    .execute();
}

/** Sums of a period's lines per debtor and creditor, of the lines `party` is on (all: null). */
export async function sumsOf(db: Db, period: string, party: string | null) {
  let q = db
    .selectFrom('settlement_lines')
    .select(({ fn }) => [
      'debtor',
      'creditor',
      fn.sum<string>('amount_fen').as('amount'),
      fn.countAll<string>().as('lines'),
    ])
    .where('period', '=', period)
    .groupBy(['debtor', 'creditor']);
  if (party !== null)
    q = q.where((eb) => eb.or([eb('debtor', '=', party), eb('creditor', '=', party)]));
  const rows = await q.execute();
  return rows.map((r) => ({
    debtor: r.debtor,
    creditor: r.creditor,
    amountFen: Number(r.amount),
    lines: Number(r.lines),
  }));
}

/** The lines between two parties in a period, either way, oldest first, after `after` (a line id). */
export async function linesBetween(
  db: Db,
  period: string,
  a: string,
  b: string,
  after: string | undefined,
  limit: number,
): Promise<SettlementLine[]> {
  let q = db
    .selectFrom('settlement_lines')
    .select(lineColumns)
    .where('period', '=', period)
    .where((eb) =>
      eb.or([
        eb.and([eb('debtor', '=', a), eb('creditor', '=', b)]),
        eb.and([eb('debtor', '=', b), eb('creditor', '=', a)]),
      ]),
    )
    .orderBy('id')
    .limit(limit);
  if (after !== undefined) q = q.where('id', '>', after);
  return (await q.execute()).map(toLine);
}

export interface PeriodRow {
  period: string;
  status: 'closed' | 'settled';
  statement: unknown;
  closedAt: Date;
  settledAt: Date | null;
}

export async function findPeriod(db: Db, period: string): Promise<PeriodRow | undefined> {
  const r = await db
    .selectFrom('settlement_periods')
    .select(['period', 'status', 'statement', 'closed_at', 'settled_at'])
    .where('period', '=', period)
    .executeTakeFirst();
  return (
    r && {
      period: r.period,
      status: r.status,
      statement: r.statement,
      closedAt: r.closed_at,
      settledAt: r.settled_at,
    }
  );
}

/**
 * Waits for every transaction writing lines to finish, and holds new ones back until the caller's
 * transaction ends: what a closing reads is then every line its period will ever have.
 */
export async function lockLines(db: Db): Promise<void> {
  await sql`lock table settlement_lines in share mode`.execute(db);
}

export async function insertPeriod(db: Db, row: PeriodRow): Promise<boolean> {
  const r = await db
    .insertInto('settlement_periods')
    .values({
      period: row.period,
      status: row.status,
      statement: JSON.stringify(row.statement),
      closed_at: row.closedAt,
      settled_at: row.settledAt,
    })
    .onConflict((oc) => oc.column('period').doNothing())
    .executeTakeFirst();
  return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
}

export async function markSettled(db: Db, period: string, at: Date): Promise<boolean> {
  const r = await db
    .updateTable('settlement_periods')
    .set({ status: 'settled', settled_at: at })
    .where('period', '=', period)
    .where('status', '=', 'closed')
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}
