import { recordAudit } from '../audit/audit.service.ts';
import { inTransaction } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import type { Principal } from '../keys/keys.core.ts';
import { RetryBatch } from '../ledger/ledger.batch.ts';
import { movePoints } from '../ledger/ledger.service.ts';
import { DomainError, invalidField, notFound } from '../shared/errors.ts';
import * as repo from './members.repository.ts';
import { checkMember, type GlobalMemberView, getGlobalMember } from './members.service.ts';

/**
 * Merges a duplicate member into another, in one transaction: identifiers, enrollments, profile,
 * points (as transfers; lots keep their expiry) and holds move to the survivor, and the
 * duplicate answers as merged into it from then on. Audited.
 */
export async function mergeMembers(
  deps: Deps,
  intoId: string,
  fromId: string,
  actor: Principal | null,
): Promise<GlobalMemberView> {
  if (intoId === fromId) {
    throw invalidField('from', 'must be another member, not the one merged into');
  }
  const merge = () =>
    inTransaction(deps.db, async (trx) => {
      const tx = { ...deps, db: trx };
      // Both rows locked, in id order, so two merges of the same pair cannot deadlock.
      for (const id of [intoId, fromId].sort()) {
        const m = await repo.lockMember(trx, id);
        if (!m) throw notFound(`Member ${id}`);
        checkMember(id, m);
      }
      await repo.mergeInto(trx, fromId, intoId, deps.clock.now());
      const points = await movePoints(tx, trx, fromId, intoId);
      await recordAudit(tx, {
        actor,
        action: 'member.merged',
        memberId: intoId,
        before: { from: fromId },
        after: { into: intoId, points },
      });
      return points;
    });
  let moved: number;
  for (let attempt = 1; ; attempt++) {
    try {
      moved = await merge();
      break;
    } catch (error) {
      if (!(error instanceof RetryBatch)) throw error;
      // A hold was placed on the duplicate as the merge began: run it again, unless it is part of
      // a caller's transaction (an idempotent request), which then has to be retried as a whole.
      if (deps.db.isTransaction || attempt === 3) {
        throw new DomainError(
          'conflict',
          'Points of the duplicate moved during the merge; try again',
        );
      }
    }
  }
  deps.log.info({ intoId, fromId, moved }, 'members merged');
  return getGlobalMember(deps, intoId);
}
