import type { Trx } from '../db/database.ts';
import type { MemberStanding } from './members.core.ts';
import * as repo from './members.repository.ts';

// What modules that move value ask of members, inside their own transaction (the ledger's batch):
// kept apart from members.service.ts so that the wiring in deps.ts imports no more than this.

/**
 * Locks the members' rows, in id order, and reads their standing (status and enrollments), so
 * that no merge, erasure or block of them commits while the caller's transaction runs. This is
 * the second step of the lock order every member operation follows (see README: "Lock order").
 */
export function lockStandings(trx: Trx, memberIds: string[]): Promise<Map<string, MemberStanding>> {
  return repo.lockStandings(trx, [...memberIds].sort());
}
