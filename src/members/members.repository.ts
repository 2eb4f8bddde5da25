import { type Selectable, sql } from 'kysely';
import { type Db, prepared, type Trx } from '../db/database.ts';
import type { EnrollmentsTable, IdentifiersTable, MembersTable } from '../db/schema.ts';
import type {
  Enrollment,
  IdentifierRecord,
  Member,
  MemberStanding,
  ProfileInput,
  ScopedIdentifier,
} from './members.core.ts';

function toMember(r: Selectable<MembersTable>): Member {
  return {
    id: r.id,
    status: r.status,
    profile: { name: r.name, birthday: r.birthday, gender: r.gender, address: r.address },
    createdAt: r.created_at,
    erasedAt: r.erased_at,
    mergedInto: r.merged_into,
  };
}

function toEnrollment(r: Selectable<EnrollmentsTable>): Enrollment {
  return {
    programId: r.program_id,
    memberId: r.member_id,
    enrolledAt: r.enrolled_at,
    channel: r.channel,
    status: r.status,
    blockedReason: r.blocked_reason,
    blockedAt: r.blocked_at,
    activatedAt: r.activated_at,
    consents: r.consents,
  };
}

function toIdentifier(r: Selectable<IdentifiersTable>): IdentifierRecord {
  return {
    type: r.type,
    scope: r.scope,
    value: r.value,
    memberId: r.member_id,
    createdAt: r.created_at,
  };
}

/**
 * Serialises enrollments that name the same identifiers, so two tills enrolling one new phone at
 * once make one member. Locks are taken in a fixed order so two requests cannot deadlock.
 */
export async function lockIdentifiers(trx: Trx, ids: ScopedIdentifier[]): Promise<void> {
  const keys = [...new Set(ids.map((i) => `${i.type}:${i.scope}:${i.value}`))].sort();
  // One round trip: a function scan reads the array in order, so the locks follow it.
  await sql`select pg_advisory_xact_lock(hashtextextended(k, 0)) from unnest(${keys}::text[]) as k`.execute(
    trx,
  );
}

export async function findIdentifiers(
  db: Db,
  ids: ScopedIdentifier[],
): Promise<IdentifierRecord[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .selectFrom('identifiers')
    .selectAll()
    .where((eb) =>
      eb.or(
        ids.map((i) =>
          eb.and([eb('type', '=', i.type), eb('scope', '=', i.scope), eb('value', '=', i.value)]),
        ),
      ),
    )
    .execute();
  return rows.map(toIdentifier);
}

export async function insertMember(
  trx: Trx,
  id: string,
  profile: ProfileInput,
  at: Date,
): Promise<void> {
  await trx
    .insertInto('members')
    .values({
      id,
      status: 'active',
      name: profile.name ?? null,
      birthday: profile.birthday ?? null,
      gender: profile.gender ?? null,
      address: profile.address ? JSON.stringify(profile.address) : null,
      created_at: at,
      updated_at: at,
    })
    .execute();
}

export async function insertIdentifiers(
  trx: Trx,
  memberId: string,
  ids: ScopedIdentifier[],
  at: Date,
): Promise<void> {
  if (ids.length === 0) return;
  await trx
    .insertInto('identifiers')
    .values(
      ids.map((i) => ({
        type: i.type,
        scope: i.scope,
        value: i.value,
        member_id: memberId,
        created_at: at,
      })),
    )
    .onConflict((oc) => oc.columns(['type', 'scope', 'value']).doNothing())
    .execute();
}

/** Fills profile fields that are still empty; known values are kept. */
export async function fillProfile(
  trx: Trx,
  memberId: string,
  p: ProfileInput,
  at: Date,
): Promise<void> {
  const given = Object.entries(p).filter(([, v]) => v !== undefined && v !== null);
  if (given.length === 0) return;
  await trx
    .updateTable('members')
    .set((eb) => ({
      name: eb.fn.coalesce('name', eb.val(p.name ?? null)),
      birthday: eb.fn.coalesce('birthday', eb.val(p.birthday ?? null)),
      gender: eb.fn.coalesce('gender', eb.val(p.gender ?? null)),
      address: sql<
        string | null
      >`coalesce(address, ${p.address ? JSON.stringify(p.address) : null}::jsonb)`,
      updated_at: at,
    }))
    .where('id', '=', memberId)
    .execute();
}

/** Sets the given profile fields (null clears one). */
export async function updateProfile(
  trx: Trx,
  memberId: string,
  p: ProfileInput,
  at: Date,
): Promise<void> {
  await trx
    .updateTable('members')
    .set({
      ...(p.name !== undefined && { name: p.name }),
      ...(p.birthday !== undefined && { birthday: p.birthday }),
      ...(p.gender !== undefined && { gender: p.gender }),
      ...(p.address !== undefined && { address: p.address ? JSON.stringify(p.address) : null }),
      updated_at: at,
    })
    .where('id', '=', memberId)
    .execute();
}

/** Inserts the enrollment unless the member is enrolled already; true when it is new. */
export async function insertEnrollment(trx: Trx, e: Enrollment): Promise<boolean> {
  const row = await trx
    .insertInto('enrollments')
    .values({
      program_id: e.programId,
      member_id: e.memberId,
      enrolled_at: e.enrolledAt,
      channel: e.channel,
      status: e.status,
      consents: JSON.stringify(e.consents),
    })
    .onConflict((oc) => oc.columns(['program_id', 'member_id']).doNothing())
    .returning('member_id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function findMember(db: Db, memberId: string): Promise<Member | undefined> {
  const row = await db
    .selectFrom('members')
    .selectAll()
    .where('id', '=', memberId)
    .executeTakeFirst();
  return row && toMember(row);
}

/**
 * Locks a member's row for a change of its fields. "No key update": it must not wait for (or make
 * wait) the key-share locks that rows referring to the member take — a ledger batch opening a
 * wallet or placing a hold for the member.
 */
export async function lockMember(trx: Trx, memberId: string): Promise<Member | undefined> {
  const row = await trx
    .selectFrom('members')
    .selectAll()
    .where('id', '=', memberId)
    .forNoKeyUpdate()
    .executeTakeFirst();
  return row && toMember(row);
}

/**
 * Locks the members' rows in id order, "no key update" like `lockMember`, and reads each one's
 * standing: its status and its enrollments. One round trip; it runs in every ledger batch.
 */
export async function lockStandings(
  trx: Trx,
  memberIds: string[],
): Promise<Map<string, MemberStanding>> {
  if (memberIds.length === 0) return new Map();
  const { rows } = await sql<{
    id: string;
    status: Member['status'];
    merged_into: string | null;
    enrollments: Record<string, Enrollment['status']>;
  }>`${prepared}
    with locked as (
      select id, status, merged_into from members where id = any(${memberIds}::text[])
      order by id for no key update
    )
    select l.id, l.status, l.merged_into,
      (select coalesce(json_object_agg(e.program_id, e.status), '{}') from enrollments e
       where e.member_id = l.id) as enrollments
    from locked l`.execute(trx);
  return new Map(
    rows.map((r) => [
      r.id,
      { status: r.status, mergedInto: r.merged_into, enrollments: r.enrollments },
    ]),
  );
}

/** Members merged away, in id order after `after`, with the member each was merged into. */
export async function mergedMembers(
  db: Db,
  after: string,
  limit: number,
): Promise<{ id: string; mergedInto: string }[]> {
  const rows = await db
    .selectFrom('members')
    .select(['id', 'merged_into'])
    .where('status', '=', 'merged')
    .where('id', '>', after)
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ id: r.id, mergedInto: r.merged_into as string }));
}

/** Members merged into this one, directly or through others: their history is this one's. */
export async function mergedInto(db: Db, memberId: string): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    with recursive merged(id) as (
      select ${memberId}::text
      union select m.id from members m join merged on m.merged_into = merged.id
    )
    select id from merged where id <> ${memberId}`.execute(db);
  return rows.map((r) => r.id);
}

/**
 * One program's view of a member — member, enrollment and the identifiers the program may see —
 * in one round trip, by member id or by identifier. Undefined when not enrolled in the program.
 */
export async function findProgramMember(
  db: Db,
  programId: string,
  by: { memberId: string } | { identifier: ScopedIdentifier },
): Promise<ProgramMember | undefined> {
  return (await programMembers(db, programId, by))[0];
}

/** A page of a program's members in id order, each as `findProgramMember` gives it: one query. */
export function listProgramMembers(
  db: Db,
  programId: string,
  after: string | undefined,
  limit: number,
): Promise<ProgramMember[]> {
  return programMembers(db, programId, { after, limit });
}

export interface ProgramMember {
  member: Member;
  enrollment: Enrollment;
  identifiers: IdentifierRecord[];
}

async function programMembers(
  db: Db,
  programId: string,
  by:
    | { memberId: string }
    | { identifier: ScopedIdentifier }
    | { after: string | undefined; limit: number },
): Promise<ProgramMember[]> {
  let q = db
    .selectFrom('enrollments as e')
    .innerJoin('members as m', 'm.id', 'e.member_id')
    .selectAll('e')
    .select([
      'm.id',
      'm.status as member_status',
      'm.name',
      'm.birthday',
      'm.gender',
      'm.address',
      'm.created_at',
      'm.updated_at',
      'm.erased_at',
      'm.merged_into',
    ])
    .select(
      sql<Selectable<IdentifiersTable>[]>`(
        select coalesce(json_agg(i order by i.created_at, i.type, i.value), '[]')
        from identifiers i where i.member_id = m.id and i.scope in ('', ${programId}))`.as(
        'identifiers',
      ),
    )
    .where('e.program_id', '=', programId);
  if ('memberId' in by) {
    q = q.where('e.member_id', '=', by.memberId);
  } else if ('limit' in by) {
    if (by.after) q = q.where('e.member_id', '>', by.after);
    q = q.orderBy('e.member_id').limit(by.limit);
  } else {
    const { type, scope, value } = by.identifier;
    q = q.where('e.member_id', '=', (eb) =>
      eb
        .selectFrom('identifiers')
        .select('member_id')
        .where('type', '=', type)
        .where('scope', '=', scope)
        .where('value', '=', value),
    );
  }
  const rows = await q.execute();
  return rows.map((row) => ({
    member: toMember({ ...row, status: row.member_status }),
    enrollment: toEnrollment(row),
    identifiers: row.identifiers.map((i) =>
      toIdentifier({ ...i, created_at: new Date(i.created_at) }),
    ),
  }));
}

/** Whether the member is (or, erased or merged away, was) enrolled in the program. */
/** When each of these members enrolled in the program (those enrolled). */
export async function enrollmentTimes(
  db: Db,
  programId: string,
  memberIds: string[],
): Promise<Map<string, Date>> {
  if (memberIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('enrollments')
    .select(['member_id', 'enrolled_at'])
    .where('program_id', '=', programId)
    .where('member_id', 'in', memberIds)
    .execute();
  return new Map(rows.map((r) => [r.member_id, r.enrolled_at]));
}

export async function membersBornOn(db: Db, programId: string, day: string): Promise<string[]> {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const { rows } = await sql<{ member_id: string }>`
    select e.member_id from enrollments e join members m on m.id = e.member_id
    where e.program_id = ${programId} and e.status = 'active' and m.status = 'active'
      and extract(month from m.birthday) = ${month}
      and (extract(day from m.birthday) = ${date}
           or (${!leap && month === 2 && date === 28} and extract(day from m.birthday) = 29))
    order by e.member_id`.execute(db);
  return rows.map((r) => r.member_id);
}

export async function isEnrolled(db: Db, programId: string, memberId: string): Promise<boolean> {
  const row = await db
    .selectFrom('enrollments')
    .select('member_id')
    .where('program_id', '=', programId)
    .where('member_id', '=', memberId)
    .executeTakeFirst();
  return row !== undefined;
}

/** Those of these members enrolled in the program: their birthday (null: not known), blocked. */
export async function enrolledFacts(
  db: Db,
  programId: string,
  memberIds: string[],
): Promise<Map<string, { birthday: string | null; blocked: boolean }>> {
  if (memberIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('enrollments as e')
    .innerJoin('members as m', 'm.id', 'e.member_id')
    .select(['m.id', 'm.birthday', 'e.status'])
    .where('e.program_id', '=', programId)
    .where('e.member_id', 'in', memberIds)
    .execute();
  return new Map(
    rows.map((r) => [r.id, { birthday: r.birthday, blocked: r.status === 'blocked' }]),
  );
}

/** Which of these members are enrolled in the program. */
export async function enrolledIn(
  db: Db,
  programId: string,
  memberIds: string[],
): Promise<string[]> {
  const rows = await db
    .selectFrom('enrollments')
    .select('member_id')
    .where('program_id', '=', programId)
    .where('member_id', 'in', memberIds)
    .orderBy('member_id')
    .execute();
  return rows.map((r) => r.member_id);
}

export async function lockEnrollment(
  trx: Trx,
  programId: string,
  memberId: string,
): Promise<Enrollment | undefined> {
  const row = await trx
    .selectFrom('enrollments')
    .selectAll()
    .where('program_id', '=', programId)
    .where('member_id', '=', memberId)
    .forNoKeyUpdate()
    .executeTakeFirst();
  return row && toEnrollment(row);
}

export type EnrollmentChanges = Partial<
  Pick<Enrollment, 'status' | 'blockedReason' | 'blockedAt' | 'activatedAt' | 'consents'>
>;

export async function updateEnrollment(
  trx: Trx,
  programId: string,
  memberId: string,
  c: EnrollmentChanges,
): Promise<void> {
  await trx
    .updateTable('enrollments')
    .set({
      ...(c.status !== undefined && { status: c.status }),
      ...(c.blockedReason !== undefined && { blocked_reason: c.blockedReason }),
      ...(c.blockedAt !== undefined && { blocked_at: c.blockedAt }),
      ...(c.activatedAt !== undefined && { activated_at: c.activatedAt }),
      ...(c.consents !== undefined && { consents: JSON.stringify(c.consents) }),
    })
    .where('program_id', '=', programId)
    .where('member_id', '=', memberId)
    .execute();
}

export async function listEnrollments(db: Db, memberId: string): Promise<Enrollment[]> {
  const rows = await db
    .selectFrom('enrollments')
    .selectAll()
    .where('member_id', '=', memberId)
    .orderBy('enrolled_at')
    .execute();
  return rows.map(toEnrollment);
}

export async function listIdentifiers(db: Db, memberId: string): Promise<IdentifierRecord[]> {
  const rows = await db
    .selectFrom('identifiers')
    .selectAll()
    .where('member_id', '=', memberId)
    .orderBy('created_at')
    .orderBy('type')
    .execute();
  return rows.map(toIdentifier);
}

export async function findMemberIdByIdentifier(
  db: Db,
  id: ScopedIdentifier,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('identifiers')
    .select('member_id')
    .where('type', '=', id.type)
    .where('scope', '=', id.scope)
    .where('value', '=', id.value)
    .executeTakeFirst();
  return row?.member_id;
}

/**
 * Erasure: the profile and identifiers go; the member row stays as a pseudonymous id that
 * financial records point at. Free text an operator wrote about the member goes too.
 */
export async function erase(trx: Trx, memberId: string, at: Date): Promise<void> {
  await trx.deleteFrom('identifiers').where('member_id', '=', memberId).execute();
  await trx
    .updateTable('members')
    .set({
      status: 'erased',
      name: null,
      birthday: null,
      gender: null,
      address: null,
      erased_at: at,
      updated_at: at,
    })
    .where('id', '=', memberId)
    .execute();
  await trx
    .updateTable('enrollments')
    .set({
      blocked_reason: sql`case when blocked_reason is null then null else '[erased]' end`,
      consents: '{}',
    })
    .where('member_id', '=', memberId)
    .execute();
}

/**
 * Merge, on the members' side: the duplicate's identifiers and enrollments become the
 * survivor's, its profile fills the survivor's empty fields, and it answers as merged from then on.
 */
export async function mergeInto(trx: Trx, fromId: string, intoId: string, at: Date): Promise<void> {
  await trx
    .updateTable('identifiers')
    .set({ member_id: intoId })
    .where('member_id', '=', fromId)
    .execute();
  await sql`
    insert into enrollments (program_id, member_id, enrolled_at, channel, status, blocked_reason, blocked_at,
                             activated_at, consents)
    select program_id, ${intoId}, enrolled_at, channel, status, blocked_reason, blocked_at, activated_at, consents
    from enrollments where member_id = ${fromId}
    on conflict (program_id, member_id) do update set
      enrolled_at = least(enrollments.enrolled_at, excluded.enrolled_at),
      activated_at = coalesce(enrollments.activated_at, excluded.activated_at)`.execute(trx);
  await sql`
    update members m set name = coalesce(m.name, f.name), birthday = coalesce(m.birthday, f.birthday),
      gender = coalesce(m.gender, f.gender), address = coalesce(m.address, f.address), updated_at = ${at}
    from members f where m.id = ${intoId} and f.id = ${fromId}`.execute(trx);
  await trx
    .updateTable('members')
    .set({
      status: 'merged',
      merged_into: intoId,
      name: null,
      birthday: null,
      gender: null,
      address: null,
      updated_at: at,
    })
    .where('id', '=', fromId)
    .execute();
}

/** How many members the program has (erased and merged-away members are no longer its members). */
export async function countEnrolled(db: Db, programId: string): Promise<number> {
  const row = await db
    .selectFrom('enrollments as e')
    .innerJoin('members as m', 'm.id', 'e.member_id')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('e.program_id', '=', programId)
    .where('m.status', '=', 'active')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The program's enrolled members who are no longer members: erased, or merged into another. */
export async function formerMembers(db: Db, programId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('enrollments as e')
    .innerJoin('members as m', 'm.id', 'e.member_id')
    .select('e.member_id')
    .where('e.program_id', '=', programId)
    .where('m.status', '<>', 'active')
    .execute();
  return rows.map((r) => r.member_id);
}
