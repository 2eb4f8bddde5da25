import type { Deps } from '../deps.ts';
import type { Principal } from '../keys/keys.core.ts';
import type { AuditAction, AuditEntry } from './audit.core.ts';
import * as repo from './audit.repository.ts';

export interface AuditInput {
  actor: Principal | null;
  action: AuditAction;
  programId?: string | null;
  memberId?: string | null;
  before?: unknown;
  after?: unknown;
}

/** An audit row as it will be written: its id and time taken now, from the use case's deps. */
export function auditEntry(deps: Pick<Deps, 'ids' | 'clock'>, input: AuditInput): AuditEntry {
  return {
    id: deps.ids('aud'),
    at: deps.clock.now(),
    actorKeyId: input.actor?.keyId ?? null,
    programId: input.programId ?? null,
    memberId: input.memberId ?? null,
    action: input.action,
    before: input.before ?? null,
    after: input.after ?? null,
  };
}

/** Writes an audit row; call it with the use case's transaction so the row commits with the change. */
export async function recordAudit(deps: Deps, input: AuditInput): Promise<void> {
  await repo.insertAudit(deps.db, auditEntry(deps, input));
}

/** Writes audit rows made earlier (`auditEntry`), in one statement, in the caller's transaction. */
export function writeAudit(db: Deps['db'], entries: AuditEntry[]): Promise<void> {
  return repo.insertAudit(db, ...entries);
}

/** A program key sees its own program's rows; a coalition key sees all of them. */
export function listAudit(
  deps: Deps,
  principal: Principal,
  filter: repo.AuditFilter,
  before: string | undefined,
  limit: number,
): Promise<AuditEntry[]> {
  const programId = principal.programId ?? filter.programId;
  return repo.listAudit(deps.db, { ...filter, programId }, before, limit);
}

export function redactMemberAudit(deps: Deps, memberId: string): Promise<void> {
  return repo.redactMember(deps.db, memberId);
}
