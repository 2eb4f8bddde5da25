import type { Selectable } from 'kysely';
import type { Db } from '../db/database.ts';
import type { ConversionsTable, ExchangePairsTable } from '../db/schema.ts';
import type { ExchangeRate, PairTerms } from './exchange.core.ts';

/** A conversion as stored: what moved, at which rates. */
export interface Conversion {
  id: string;
  commandId: string;
  memberId: string;
  fromProgramId: string;
  toProgramId: string;
  reference: string;
  converted: number;
  fee: number;
  credited: number;
  from: { pointsPerHubUnit: number; pointValueE4: number };
  to: { pointsPerHubUnit: number; pointValueE4: number };
  createdAt: Date;
}

export async function upsertRate(db: Db, rate: ExchangeRate, now: Date): Promise<void> {
  const values = {
    points_per_hub_unit: rate.pointsPerHubUnit,
    point_value_e4: rate.pointValueE4,
    updated_at: now,
  };
  await db
    .insertInto('exchange_programs')
    .values({ program_id: rate.programId, ...values })
    .onConflict((oc) => oc.column('program_id').doUpdateSet(values))
    .execute();
}

export async function listRates(db: Db, programIds?: string[]): Promise<ExchangeRate[]> {
  if (programIds?.length === 0) return [];
  let q = db
    .selectFrom('exchange_programs')
    .select(['program_id', 'points_per_hub_unit', 'point_value_e4'])
    .orderBy('program_id');
  if (programIds) q = q.where('program_id', 'in', programIds);
  const rows = await q.execute();
  return rows.map((r) => ({
    programId: r.program_id,
    pointsPerHubUnit: Number(r.points_per_hub_unit),
    pointValueE4: Number(r.point_value_e4),
  }));
}

type PairRow = Omit<Selectable<ExchangePairsTable>, 'updated_at'>;

const pairColumns = [
  'from_program_id',
  'to_program_id',
  'fee_bp',
  'fee_minimum',
  'min_points',
  'max_points',
  'daily_limit',
] as const;

const toPair = (r: PairRow): PairTerms => ({
  fromProgramId: r.from_program_id,
  toProgramId: r.to_program_id,
  feeBp: r.fee_bp,
  feeMinimum: Number(r.fee_minimum),
  minPoints: Number(r.min_points),
  maxPoints: Number(r.max_points),
  dailyLimit: Number(r.daily_limit),
});

export async function upsertPair(db: Db, p: PairTerms, now: Date): Promise<void> {
  const values = {
    fee_bp: p.feeBp,
    fee_minimum: p.feeMinimum,
    min_points: p.minPoints,
    max_points: p.maxPoints,
    daily_limit: p.dailyLimit,
    updated_at: now,
  };
  await db
    .insertInto('exchange_pairs')
    .values({ from_program_id: p.fromProgramId, to_program_id: p.toProgramId, ...values })
    .onConflict((oc) => oc.columns(['from_program_id', 'to_program_id']).doUpdateSet(values))
    .execute();
}

export async function deletePair(db: Db, from: string, to: string): Promise<PairTerms | undefined> {
  const r = await db
    .deleteFrom('exchange_pairs')
    .where('from_program_id', '=', from)
    .where('to_program_id', '=', to)
    .returning(pairColumns)
    .executeTakeFirst();
  return r && toPair(r);
}

export async function findPair(db: Db, from: string, to: string): Promise<PairTerms | undefined> {
  const r = await db
    .selectFrom('exchange_pairs')
    .select(pairColumns)
    .where('from_program_id', '=', from)
    .where('to_program_id', '=', to)
    .executeTakeFirst();
  return r && toPair(r);
}

/** Approved pairs, of one program (either side) or all. */
export async function listPairs(db: Db, programId: string | null): Promise<PairTerms[]> {
  let q = db
    .selectFrom('exchange_pairs')
    .select(pairColumns)
    .orderBy('from_program_id')
    .orderBy('to_program_id');
  if (programId !== null) {
    q = q.where((eb) =>
      eb.or([eb('from_program_id', '=', programId), eb('to_program_id', '=', programId)]),
    );
  }
  return (await q.execute()).map(toPair);
}

type ConversionRow = Selectable<ConversionsTable>;

const toConversion = (r: ConversionRow): Conversion => ({
  id: r.id,
  commandId: r.command_id,
  memberId: r.member_id,
  fromProgramId: r.from_program_id,
  toProgramId: r.to_program_id,
  reference: r.reference,
  converted: Number(r.converted),
  fee: Number(r.fee),
  credited: Number(r.credited),
  from: {
    pointsPerHubUnit: Number(r.from_points_per_hub_unit),
    pointValueE4: Number(r.from_point_value_e4),
  },
  to: {
    pointsPerHubUnit: Number(r.to_points_per_hub_unit),
    pointValueE4: Number(r.to_point_value_e4),
  },
  createdAt: r.created_at,
});

const conversionColumns = [
  'id',
  'command_id',
  'member_id',
  'from_program_id',
  'to_program_id',
  'reference',
  'converted',
  'fee',
  'credited',
  'from_points_per_hub_unit',
  'to_points_per_hub_unit',
  'from_point_value_e4',
  'to_point_value_e4',
  'created_at',
] as const;

export async function insertConversions(db: Db, rows: Conversion[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('conversions')
    .values(
      rows.map((c) => ({
        id: c.id,
        command_id: c.commandId,
        member_id: c.memberId,
        from_program_id: c.fromProgramId,
        to_program_id: c.toProgramId,
        reference: c.reference,
        converted: c.converted,
        fee: c.fee,
        credited: c.credited,
        from_points_per_hub_unit: c.from.pointsPerHubUnit,
        to_points_per_hub_unit: c.to.pointsPerHubUnit,
        from_point_value_e4: c.from.pointValueE4,
        to_point_value_e4: c.to.pointValueE4,
        created_at: c.createdAt,
      })),
    )
    .onConflict((oc) => oc.column('command_id').doNothing())
    .execute();
}

export async function findConversion(db: Db, commandId: string): Promise<Conversion | undefined> {
  const r = await db
    .selectFrom('conversions')
    .select(conversionColumns)
    .where('command_id', '=', commandId)
    .executeTakeFirst();
  return r && toConversion(r);
}

/** A member's conversions, newest first (ids sort by time), after a cursor (an id); of one program's (either side) when `programId` is given. */
export async function listConversions(
  db: Db,
  memberId: string,
  programId: string | null,
  after: string | undefined,
  limit: number,
): Promise<Conversion[]> {
  let q = db
    .selectFrom('conversions')
    .select(conversionColumns)
    .where('member_id', '=', memberId)
    .orderBy('id', 'desc')
    .limit(limit);
  if (programId !== null) {
    q = q.where((eb) =>
      eb.or([eb('from_program_id', '=', programId), eb('to_program_id', '=', programId)]),
    );
  }
  if (after !== undefined) q = q.where('id', '<', after);
  return (await q.execute()).map(toConversion);
}

export async function moveToMember(db: Db, fromId: string, intoId: string): Promise<void> {
  await db
    .updateTable('conversions')
    .set({ member_id: intoId })
    .where('member_id', '=', fromId)
    .execute();
}
