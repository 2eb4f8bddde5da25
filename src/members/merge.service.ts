import type { AuditEntry } from '../audit/audit.core.ts';
import { auditEntry, writeAudit } from '../audit/audit.service.ts';
import type { Trx } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import type { Principal } from '../keys/keys.core.ts';
import { attachment, type BatchWriter } from '../ledger/ledger.batch.ts';
import { type Attach, type MergeResult, merge } from '../ledger/ledger.service.ts';
import { invalidField } from '../shared/errors.ts';
import * as repo from './members.repository.ts';

interface MergeRow {
  fromId: string;
  intoId: string;
  at: Date;
  audit: AuditEntry;
  /** The later modules' side of the merge (`Deps.onMerge`), in the same transaction. */
  also: (trx: Trx) => Promise<void>;
}

/**
 * The members' side of a merge, written in the ledger's batch with the points it moves: the
 * duplicate's identifiers and enrollments become the survivor's, its profile fills the survivor's
 * empty fields, it answers as merged from then on, and the audit row says how many points moved.
 */
const memberRows: BatchWriter<MergeRow> = {
  name: 'member.merged',
  stage: 'rows',
  async write(trx, rows) {
    const applied = rows.flatMap(({ row, outcome }) =>
      outcome.status === 'applied' && !outcome.replayed
        ? [{ row, moved: outcome.result.moved }]
        : [],
    );
    for (const { row } of applied) {
      await repo.mergeInto(trx, row.fromId, row.intoId, row.at);
      await row.also(trx);
    }
    await writeAudit(
      trx,
      applied.map(({ row, moved }) => ({
        ...row.audit,
        after: { into: row.intoId, points: moved ?? 0 },
      })),
    );
  },
};

/**
 * Merges a duplicate member into another, in one transaction: identifiers, enrollments, profile,
 * points (as transfers; lots keep their expiry) and holds move to the survivor, and the
 * duplicate answers as merged into it from then on. Audited. Both members' rows are locked by the
 * ledger's batch, so no command on either can commit between the merge's checks and its moves.
 */
export async function mergeMembers(
  deps: Deps,
  intoId: string,
  fromId: string,
  actor: Principal | null,
  attach?: Attach<MergeResult>,
): Promise<MergeResult> {
  if (intoId === fromId) {
    throw invalidField('from', 'must be another member, not the one merged into');
  }
  const row = attachment(memberRows, {
    fromId,
    intoId,
    at: deps.clock.now(),
    also: async (trx) => {
      for (const hook of deps.onMerge) await hook({ ...deps, db: trx }, fromId, intoId);
    },
    audit: auditEntry(deps, {
      actor,
      action: 'member.merged',
      memberId: intoId,
      before: { from: fromId },
    }),
  });
  const result = await merge(
    deps,
    { from: fromId, into: intoId, commandId: deps.ids('cmd') },
    (settle) => [row, ...(attach?.(settle) ?? [])],
  );
  deps.log.info({ intoId, fromId, moved: result.moved }, 'members merged');
  return result;
}
