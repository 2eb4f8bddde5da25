import { recordAudit } from '../audit/audit.service.ts';
import { type Db, inTransaction } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import type { Principal } from '../keys/keys.core.ts';
import { csvCell } from '../shared/csv.ts';
import { DomainError, invalidField, notFound } from '../shared/errors.ts';
import {
  hasEnded,
  netPairs,
  type PairTotal,
  PERIOD,
  pairOf,
  type SettlementLine,
  type SettlementLineInput,
} from './settlement.core.ts';
import * as repo from './settlement.repository.ts';

// Settlement between brands: lines are written by the modules whose business creates them (the
// exchange, the benefits pool, cross-brand offers), in their own transactions; this module sums
// them into statements per period and pair, and freezes a period once it is closed.

/**
 * Writes lines in the caller's transaction (a ledger batch's, or the module's own). A line worth
 * nothing in fen is left out. A line of a closed period is a bug: the database refuses it (a
 * trigger), and the transaction fails.
 */
export async function recordSettlement(db: Db, lines: SettlementLineInput[]): Promise<void> {
  const worth = lines.filter((l) => l.amountFen > 0);
  for (const l of worth) {
    if (!Number.isSafeInteger(l.amountFen) || l.debtor === l.creditor) {
      throw new Error(`settlement line ${l.kind}:${l.sourceId} is malformed`);
    }
  }
  await repo.insertLines(db, worth);
}

export interface Statement {
  period: string;
  status: 'open' | 'closed' | 'settled';
  closedAt: Date | null;
  settledAt: Date | null;
  pairs: PairTotal[];
}

function checkPeriod(period: string) {
  if (!PERIOD.test(period)) throw invalidField('period', 'must be a month, YYYY-MM');
}

/** A program key sees the pairs its program is in; the coalition every pair. */
const partyOf = (viewer: Principal) => viewer.programId;

/** A period's statement: per pair of parties, what each owes the other and the net. */
export async function statementOf(
  deps: Pick<Deps, 'db'>,
  viewer: Principal,
  period: string,
): Promise<Statement> {
  checkPeriod(period);
  const party = partyOf(viewer);
  const frozen = await repo.findPeriod(deps.db, period);
  const pairs = frozen
    ? (frozen.statement as { pairs: PairTotal[] }).pairs.filter(
        (p) => party === null || p.a === party || p.b === party,
      )
    : netPairs(await repo.sumsOf(deps.db, period, party));
  return {
    period,
    status: frozen?.status ?? 'open',
    closedAt: frozen?.closedAt ?? null,
    settledAt: frozen?.settledAt ?? null,
    pairs,
  };
}

/** The lines between two parties in a period; a program key only for a pair its program is in. */
export function linesOf(
  deps: Pick<Deps, 'db'>,
  viewer: Principal,
  period: string,
  a: string,
  b: string,
  after: string | undefined,
  limit: number,
): Promise<SettlementLine[]> {
  checkPeriod(period);
  const party = partyOf(viewer);
  // Another brand's pair is not found, as if it did not exist.
  if (party !== null && a !== party && b !== party) throw notFound(`Settlement pair ${a}/${b}`);
  return repo.linesBetween(deps.db, period, a, b, after, limit);
}

/**
 * Every line of a period the viewer may see, or of one pair, as CSV (one row per line, fen as
 * integers).
 */
export async function exportCsv(
  deps: Pick<Deps, 'db'>,
  viewer: Principal,
  period: string,
  pair?: { a: string; b: string },
): Promise<string> {
  if (pair) await linesOf(deps, viewer, period, pair.a, pair.b, undefined, 1);
  const statement = await statementOf(deps, viewer, period);
  const pairs = pair
    ? statement.pairs.filter(
        (p) => p.a === pairOf(pair.a, pair.b)[0] && p.b === pairOf(pair.a, pair.b)[1],
      )
    : statement.pairs;
  const rows = ['period,kind,source_id,debtor,creditor,points,amount_fen,member_id,created_at'];
  for (const p of pairs) {
    let after: string | undefined;
    for (;;) {
      const lines = await repo.linesBetween(deps.db, period, p.a, p.b, after, 1000);
      for (const l of lines) {
        rows.push(
          [
            l.period,
            l.kind,
            l.sourceId,
            l.debtor,
            l.creditor,
            l.points ?? '',
            l.amountFen,
            l.memberId ?? '',
            l.createdAt.toISOString(),
          ]
            .map(csvCell)
            .join(','),
        );
      }
      const last = lines.at(-1);
      if (!last || lines.length < 1000) break;
      after = last.id;
    }
  }
  return `${rows.join('\r\n')}\r\n`;
}

/**
 * Closes an ended period: its statement is computed once, after every transaction still writing
 * its lines has finished, and kept as it is; no line is written into it after. Closing it again
 * answers the same statement.
 */
export async function closePeriod(
  deps: Deps,
  actor: Principal,
  period: string,
): Promise<Statement> {
  checkPeriod(period);
  if (!hasEnded(period, deps.clock.now())) {
    throw new DomainError(
      'period_open',
      `Period ${period} has not ended yet: it cannot be closed`,
      {
        period,
      },
    );
  }
  await inTransaction(deps.db, async (trx) => {
    if (await repo.findPeriod(trx, period)) return;
    await repo.lockLines(trx);
    const pairs = netPairs(await repo.sumsOf(trx, period, null));
    const inserted = await repo.insertPeriod(trx, {
      period,
      status: 'closed',
      statement: { pairs },
      closedAt: deps.clock.now(),
      settledAt: null,
    });
    if (inserted) {
      await recordAudit(
        { ...deps, db: trx },
        { actor, action: 'settlement.closed', after: { period, pairs: pairs.length } },
      );
    }
  });
  return statementOf(deps, actor, period);
}

/** Marks a closed period paid. */
export async function markSettled(
  deps: Deps,
  actor: Principal,
  period: string,
): Promise<Statement> {
  checkPeriod(period);
  await inTransaction(deps.db, async (trx) => {
    const found = await repo.findPeriod(trx, period);
    if (!found) {
      throw new DomainError('period_open', `Period ${period} is not closed: close it first`, {
        period,
      });
    }
    if (await repo.markSettled(trx, period, deps.clock.now())) {
      await recordAudit(
        { ...deps, db: trx },
        { actor, action: 'settlement.settled', after: { period } },
      );
    }
  });
  return statementOf(deps, actor, period);
}
