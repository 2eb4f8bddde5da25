import type { Db } from '../db/database.ts';
import type { AuditAction, AuditEntry } from './audit.core.ts';

const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));

export async function insertAudit(db: Db, ...entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await db
    .insertInto('audit_log')
    .values(
      entries.map((e) => ({
        id: e.id,
        at: e.at,
        actor_key_id: e.actorKeyId,
        program_id: e.programId,
        member_id: e.memberId,
        action: e.action,
        before: json(e.before),
        after: json(e.after),
      })),
    )
    .execute();
}

export interface AuditFilter {
  programId?: string | undefined;
  memberId?: string | undefined;
  action?: AuditAction | undefined;
}

/** Newest first; `before` is the id of the last row of the previous page. */
export async function listAudit(
  db: Db,
  filter: AuditFilter,
  before: string | undefined,
  limit: number,
): Promise<AuditEntry[]> {
  let q = db.selectFrom('audit_log').selectAll();
  if (filter.programId) q = q.where('program_id', '=', filter.programId);
  if (filter.memberId) q = q.where('member_id', '=', filter.memberId);
  if (filter.action) q = q.where('action', '=', filter.action);
  if (before) q = q.where('id', '<', before);
  const rows = await q.orderBy('id', 'desc').limit(limit).execute();
  return rows.map((r) => ({
    id: r.id,
    at: r.at,
    actorKeyId: r.actor_key_id,
    programId: r.program_id,
    memberId: r.member_id,
    action: r.action as AuditAction,
    before: r.before,
    after: r.after,
  }));
}

/** Erasure: the rows stay (who did what, when) but their personal contents go. */
export async function redactMember(db: Db, memberId: string): Promise<void> {
  await db
    .updateTable('audit_log')
    .set({ before: JSON.stringify({ redacted: true }), after: JSON.stringify({ redacted: true }) })
    .where('member_id', '=', memberId)
    .execute();
}
