import type { AuditEntry } from '../audit/audit.core.ts';
import { listAudit, recordAudit, redactMemberAudit } from '../audit/audit.service.ts';
import { inTransaction, type Trx } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import { forgetResponsesMentioning } from '../http/idempotency.ts';
import type { Principal } from '../keys/keys.core.ts';
import { membersHoldingValue } from '../ledger/ledger.service.ts';
import { getProgram } from '../programs/programs.service.ts';
import { DomainError, invalidField, notFound } from '../shared/errors.ts';
import {
  activation,
  type Channel,
  type Enrollment,
  type Identifier,
  type IdentifierRecord,
  isProgramScoped,
  MAX_CONSENTS,
  type Member,
  PROFILE_FIELDS,
  type ProfileField,
  type ProfileInput,
  type ScopedIdentifier,
  scoped,
  standingProblem,
} from './members.core.ts';
import * as repo from './members.repository.ts';

/** What a program sees of one member. */
export interface MemberView {
  member: Member;
  enrollment: Enrollment;
  identifiers: IdentifierRecord[];
}

export interface GlobalMemberView {
  member: Member;
  enrollments: Enrollment[];
  identifiers: IdentifierRecord[];
}

/** Birthdays are checked against the injected clock, so tests and the server agree on "today". */
function checkBirthday(deps: Deps, birthday: string | null | undefined, path: string): void {
  if (!birthday) return;
  const today = deps.clock.now().toISOString().slice(0, 10);
  if (birthday > today) throw invalidField(path, 'must not be in the future');
  if (birthday < '1900-01-01') throw invalidField(path, 'must be after 1900-01-01');
}

async function view(deps: Deps, programId: string, memberId: string): Promise<MemberView> {
  const found = await repo.findProgramMember(deps.db, programId, { memberId });
  // Not enrolled here reads exactly like not existing: a program learns nothing of other brands.
  if (!found) throw notFound(`Member ${memberId}`);
  return found;
}

export interface EnrollInput {
  identifiers: Identifier[];
  profile?: ProfileInput | undefined;
  channel: Channel;
  consents?: Record<string, boolean> | undefined;
  /** A member's share code: the new member was referred (src/coupons' enroll hook). */
  referralCode?: string | undefined;
}

/**
 * Enrolls the person the identifiers name in a program: the member they already belong to, or a
 * new one. New identifiers are attached; empty profile fields are filled, known ones kept.
 * Enrolling again returns the same member (`created: false`). `actor` decides which member ids a
 * conflict may name: a program key sees its own program's members only.
 */
export async function enroll(
  deps: Deps,
  programId: string,
  input: EnrollInput,
  actor: Principal | null,
): Promise<MemberView & { created: boolean }> {
  const visibleToProgram = actor?.programId != null;
  checkBirthday(deps, input.profile?.birthday, 'profile.birthday');
  const ids = dedupe(input.identifiers.map((i) => scoped(programId, i)));
  const memberId = await inTransaction(deps.db, async (trx) => {
    const tx = { ...deps, db: trx };
    const program = await getProgram(tx, programId);
    if (program.status !== 'active') {
      throw new DomainError(
        'program_suspended',
        `Program ${programId} is suspended and enrolls no one`,
      );
    }
    const now = deps.clock.now();
    await repo.lockIdentifiers(trx, ids);
    const owners = await ownersLocked(trx, ids);
    if (owners.length > 1) {
      // A program key learns the ids of members enrolled in its program only; the others are
      // another brand's, and are mentioned without their ids.
      const shown = visibleToProgram ? await repo.enrolledIn(trx, programId, owners) : owners;
      const hidden = owners.length - shown.length;
      throw new DomainError(
        'identifier_conflict',
        `These identifiers belong to different members: ${[
          ...shown,
          ...(hidden ? [`${hidden} enrolled only in other programs`] : []),
        ].join(', ')}`,
        { memberIds: shown },
      );
    }
    let id = owners[0];
    if (id === undefined) {
      id = deps.ids('mem');
      await repo.insertMember(trx, id, input.profile ?? {}, now);
    } else if (input.profile) {
      await repo.fillProfile(trx, id, input.profile, now);
    }
    await repo.insertIdentifiers(trx, id, ids, now);
    const created = await repo.insertEnrollment(trx, {
      programId,
      memberId: id,
      enrolledAt: now,
      channel: input.channel,
      status: 'active',
      blockedReason: null,
      blockedAt: null,
      activatedAt: null,
      consents: input.consents ?? {},
    });
    // Only a first enrollment is new to the program: enrolling again changes nothing there.
    if (created) {
      for (const hook of deps.onEnroll) {
        await hook(tx, programId, id, { referralCode: input.referralCode });
      }
    }
    return { id, created };
  });
  return { ...(await view(deps, programId, memberId.id)), created: memberId.created };
}

/**
 * The members these identifiers belong to, the one of them (if one) locked. A merge or an
 * erasure of that member that commits while we wait for its row moves or deletes the
 * identifiers: then they are read again, so a new enrollment never lands on a member that is gone.
 */
async function ownersLocked(trx: Trx, ids: ScopedIdentifier[]): Promise<string[]> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const owners = [
      ...new Set((await repo.findIdentifiers(trx, ids)).map((i) => i.memberId)),
    ].sort();
    if (owners.length !== 1) return owners;
    const owner = await repo.lockMember(trx, owners[0] as string);
    if (owner?.status === 'active') return owners;
  }
  throw new DomainError('conflict', 'The member these identifiers name is changing; retry');
}

function dedupe<T extends { type: string; scope: string; value: string }>(ids: T[]): T[] {
  const seen = new Map(ids.map((i) => [`${i.type}:${i.scope}:${i.value}`, i]));
  return [...seen.values()];
}

export function getMember(deps: Deps, programId: string, memberId: string): Promise<MemberView> {
  return view(deps, programId, memberId);
}

/** A program's members in id order; with an identifier, the one member it names (if enrolled here). */
export async function listMembers(
  deps: Deps,
  programId: string,
  identifier: Identifier | undefined,
  after: string | undefined,
  limit: number,
): Promise<MemberView[]> {
  if (identifier) {
    const found = await repo.findProgramMember(deps.db, programId, {
      identifier: scoped(programId, identifier),
    });
    if (found && !(after && found.member.id <= after)) return [found];
    await getProgram(deps, programId); // an unknown program is 404, not an empty list
    return [];
  }
  await getProgram(deps, programId);
  return repo.listProgramMembers(deps.db, programId, after, limit);
}

export interface MemberChanges extends ProfileInput {
  consents?: Record<string, boolean> | undefined;
}

function pick(profile: ProfileInput, fields: readonly ProfileField[]): ProfileInput {
  return Object.fromEntries(fields.map((f) => [f, profile[f]]));
}

/** Changes profile fields and this program's consents; audited with the fields before and after. */
export async function updateMember(
  deps: Deps,
  programId: string,
  memberId: string,
  changes: MemberChanges,
  actor: Principal | null,
): Promise<MemberView> {
  checkBirthday(deps, changes.birthday, 'birthday');
  await inTransaction(deps.db, async (trx) => {
    const { enrollment, member } = await lockForChange(trx, programId, memberId);
    const { consents: given, ...profile } = changes;
    const consents = given && { ...enrollment.consents, ...given };
    if (consents && Object.keys(consents).length > MAX_CONSENTS)
      throw invalidField('consents', `at most ${MAX_CONSENTS} consents in all`);
    const fields = PROFILE_FIELDS.filter((f) => profile[f] !== undefined);
    await repo.updateProfile(trx, memberId, profile, deps.clock.now());
    if (consents) await repo.updateEnrollment(trx, programId, memberId, { consents });
    await recordAudit(
      { ...deps, db: trx },
      {
        actor,
        action: 'member.profile_updated',
        programId,
        memberId,
        before: {
          ...pick(member.profile, fields),
          ...(consents && { consents: enrollment.consents }),
        },
        after: {
          ...pick(profile, fields),
          ...(consents && { consents }),
        },
      },
    );
  });
  return view(deps, programId, memberId);
}

/**
 * Completes a profile to activate the membership: what the request gives is saved; fields the
 * member already gave any brand are pre-filled; the answer names what is still missing.
 */
export async function activate(
  deps: Deps,
  programId: string,
  memberId: string,
  given: ProfileInput,
): Promise<
  MemberView & { activated: boolean; prefilled: ProfileField[]; missing: ProfileField[] }
> {
  checkBirthday(deps, given.birthday, 'birthday');
  const result = await inTransaction(deps.db, async (trx) => {
    const { enrollment, member } = await lockForChange(trx, programId, memberId);
    const outcome = activation(member.profile, given);
    await repo.fillProfile(trx, memberId, given, deps.clock.now());
    if (outcome.complete && !enrollment.activatedAt) {
      await repo.updateEnrollment(trx, programId, memberId, { activatedAt: deps.clock.now() });
    }
    return outcome;
  });
  const v = await view(deps, programId, memberId);
  return {
    ...v,
    activated: v.enrollment.activatedAt !== null,
    prefilled: result.prefilled,
    missing: result.missing,
  };
}

/** Blocks or unblocks a member in one program; a blocked member earns nothing and uses no benefit there. */
export async function setBlocked(
  deps: Deps,
  programId: string,
  memberId: string,
  blocked: boolean,
  reason: string,
  actor: Principal | null,
): Promise<MemberView> {
  await inTransaction(deps.db, async (trx) => {
    const { enrollment } = await lockForChange(trx, programId, memberId);
    if ((enrollment.status === 'blocked') === blocked) return; // already so: nothing changes, nothing is recorded
    const now = deps.clock.now();
    await repo.updateEnrollment(trx, programId, memberId, {
      status: blocked ? 'blocked' : 'active',
      blockedReason: blocked ? reason : null,
      blockedAt: blocked ? now : null,
    });
    await recordAudit(
      { ...deps, db: trx },
      {
        actor,
        action: blocked ? 'member.blocked' : 'member.unblocked',
        programId,
        memberId,
        before: { status: enrollment.status, reason: enrollment.blockedReason },
        after: { status: blocked ? 'blocked' : 'active', reason },
      },
    );
  });
  return view(deps, programId, memberId);
}

/** How many members the program has now. */
export function countMembers(deps: Pick<Deps, 'db'>, programId: string): Promise<number> {
  return repo.countEnrolled(deps.db, programId);
}

/**
 * Who enrolled in the program but is a member no longer (erased, or merged into another): other
 * modules keep their rows, as records, and leave them out of what they count.
 */
export function formerMembers(deps: Pick<Deps, 'db'>, programId: string): Promise<string[]> {
  return repo.formerMembers(deps.db, programId);
}

/** When each of these members enrolled in the program (the members enrolled in it). */
export function enrollmentTimes(deps: Pick<Deps, 'db'>, programId: string, memberIds: string[]) {
  return repo.enrollmentTimes(deps.db, programId, memberIds);
}

/**
 * The program's active members (not blocked there) whose birthday falls on `day` (YYYY-MM-DD):
 * its month and day, and 29 February on 28 February in a common year.
 */
export function membersBornOn(deps: Pick<Deps, 'db'>, programId: string, day: string) {
  return repo.membersBornOn(deps.db, programId, day);
}

/** What a purchase names its member by: the member's id, or one of their identifiers. */
export type MemberRef = { id: string } | { identifier: Identifier };

/** What earning needs to know of a purchase's member. */
export interface Purchaser {
  memberId: string;
  birthday: string | null;
  /** Blocked in the program: the purchase is recorded and earns nothing. */
  blocked: boolean;
}

/**
 * The members a batch of purchases names, enrolled in the program, in the purchases' order:
 * undefined for one not found here (an unknown identifier, or a member of another brand only).
 * A few queries for the whole batch.
 */
export async function purchasers(
  deps: Pick<Deps, 'db'>,
  programId: string,
  refs: MemberRef[],
): Promise<(Purchaser | undefined)[]> {
  const scopedIds = refs.map((r) => ('identifier' in r ? scoped(programId, r.identifier) : null));
  const found = await repo.findIdentifiers(
    deps.db,
    dedupe(scopedIds.filter((i): i is ScopedIdentifier => i !== null)),
  );
  const owner = new Map(found.map((i) => [`${i.type}:${i.scope}:${i.value}`, i.memberId]));
  const ids = refs.map((r, k) => {
    const i = scopedIds[k];
    return 'id' in r ? r.id : i ? owner.get(`${i.type}:${i.scope}:${i.value}`) : undefined;
  });
  const enrolled = await repo.enrolledFacts(deps.db, programId, [
    ...new Set(ids.filter((id): id is string => id !== undefined)),
  ]);
  return ids.map((id) => {
    const facts = id === undefined ? undefined : enrolled.get(id);
    return id === undefined || facts === undefined ? undefined : { memberId: id, ...facts };
  });
}

/** Refuses (404) a member never enrolled in the program: what reading their points needs. */
export async function assertEnrolled(
  deps: Deps,
  programId: string,
  memberId: string,
): Promise<void> {
  if (!(await repo.isEnrolled(deps.db, programId, memberId))) throw notFound(`Member ${memberId}`);
}

/** Refuses a member that was erased or merged into another (409). */
export function checkMember(memberId: string, member: Pick<Member, 'status' | 'mergedInto'>): void {
  const problem = standingProblem(
    memberId,
    { status: member.status, mergedInto: member.mergedInto, enrollments: {} },
    null,
    'member',
  );
  if (problem) throw new DomainError(problem.code, problem.detail, problem.extensions);
}

/**
 * Members merged away that still hold points (or anything else of value) in some ledger: there
 * should be none, since a merge moves everything and no command applies to a merged member after.
 * For reconcile; at most `limit`.
 */
export async function mergedMembersHoldingValue(
  deps: Pick<Deps, 'db'>,
  limit: number,
): Promise<{ memberId: string; mergedInto: string }[]> {
  const found: { memberId: string; mergedInto: string }[] = [];
  let after = '';
  for (;;) {
    const merged = await repo.mergedMembers(deps.db, after, 1000);
    if (merged.length === 0 || found.length >= limit) return found.slice(0, limit);
    const holding = new Set(
      await membersHoldingValue(
        deps,
        merged.map((m) => m.id),
      ),
    );
    for (const m of merged)
      if (holding.has(m.id)) found.push({ memberId: m.id, mergedInto: m.mergedInto });
    after = (merged[merged.length - 1] as { id: string }).id;
  }
}

/** Members merged into this one, directly or through others: their history is this one's. */
export function membersMergedInto(deps: Pick<Deps, 'db'>, memberId: string): Promise<string[]> {
  return repo.mergedInto(deps.db, memberId);
}

/**
 * Checks that `principal` may act for the member: a coalition key for any member that exists, a
 * program key for a member enrolled in its program (anyone else reads as not found).
 */
export async function assertMemberVisible(
  deps: Deps,
  principal: Principal,
  memberId: string,
): Promise<void> {
  if (principal.programId === null) {
    await getGlobalMember(deps, memberId);
    return;
  }
  // Not even the id is echoed back: a program key learns nothing of another brand's member.
  await assertEnrolled(deps, principal.programId, memberId).catch((error: unknown) => {
    throw error instanceof DomainError && error.code === 'not_found'
      ? new DomainError('not_found', 'The member was not found')
      : error;
  });
}

/**
 * Locks a member enrolled in the program, for a change; refuses one erased or merged away.
 * The member's row first, then its enrollment: the order every member operation follows (README,
 * "Lock order"), so that a profile change, a block, an erasure, a merge and a ledger batch on
 * one member never wait for each other in a circle.
 */
async function lockForChange(
  trx: Trx,
  programId: string,
  memberId: string,
): Promise<{ enrollment: Enrollment; member: Member }> {
  const member = await repo.lockMember(trx, memberId);
  const enrollment = member && (await repo.lockEnrollment(trx, programId, memberId));
  if (!enrollment || !member) throw notFound(`Member ${memberId}`);
  checkMember(memberId, member);
  return { enrollment, member };
}

// --- the coalition's view ---

export async function getGlobalMember(deps: Deps, memberId: string): Promise<GlobalMemberView> {
  const member = await repo.findMember(deps.db, memberId);
  if (!member) throw notFound(`Member ${memberId}`);
  const [enrollments, identifiers] = await Promise.all([
    repo.listEnrollments(deps.db, memberId),
    repo.listIdentifiers(deps.db, memberId),
  ]);
  return { member, enrollments, identifiers };
}

export async function findGlobalMembers(
  deps: Deps,
  identifier: Identifier,
  programId: string | undefined,
): Promise<GlobalMemberView[]> {
  if (isProgramScoped(identifier.type) && !programId) {
    throw invalidField(
      'programId',
      `is needed to look up a ${identifier.type}, which is unique only within a program`,
    );
  }
  const id = await repo.findMemberIdByIdentifier(deps.db, scoped(programId ?? '', identifier));
  return id ? [await getGlobalMember(deps, id)] : [];
}

/** Everything held about a member, for a data subject's request. */
export async function exportMember(
  deps: Deps,
  memberId: string,
  actor: Principal,
): Promise<GlobalMemberView & { audit: AuditEntry[] }> {
  const global = await getGlobalMember(deps, memberId);
  const audit = await listAudit(deps, actor, { memberId }, undefined, 10_000);
  return { ...global, audit };
}

/**
 * Erasure on request: profile and identifiers are removed (the member can no longer be found by
 * them), audit rows keep who did what but lose personal contents, stored idempotent responses
 * that mention the member are forgotten. The member id stays as a pseudonym that financial
 * records keep pointing at.
 */
export async function eraseMember(
  deps: Deps,
  memberId: string,
  actor: Principal | null,
): Promise<GlobalMemberView> {
  await inTransaction(deps.db, async (trx) => {
    const tx = { ...deps, db: trx };
    const member = await repo.lockMember(trx, memberId);
    if (!member) throw notFound(`Member ${memberId}`);
    if (member.status === 'erased') return;
    await repo.erase(trx, memberId, deps.clock.now());
    await redactMemberAudit(tx, memberId);
    await forgetResponsesMentioning(tx, memberId);
    await recordAudit(tx, {
      actor,
      action: 'member.erased',
      memberId,
      before: { status: member.status },
      after: { status: 'erased' },
    });
  });
  return getGlobalMember(deps, memberId);
}
