import { type RawBuilder, sql } from 'kysely';
import type { Deps } from '../deps.ts';
import { mergedMembersHoldingValue } from '../members/members.service.ts';

/**
 * One invariant, checked over the whole database. The ledger's are here; a module that writes
 * rows the ledger's must agree with (conversions, pool uses, orders) keeps its own checks beside
 * its code, wired in `Deps.checks`, and `tessera reconcile` runs them all in one snapshot.
 */
export interface Check {
  name: string;
  description: string;
  query: RawBuilder<Record<string, unknown>>;
}

const LIMIT = 20;

// Signed effect of a transfer on one side's pending total.
const pendingEffect = sql`case kind when 'pending' then amount when 'post' then -pending_amount when 'void' then -amount else 0 end`;
const postedEffect = sql`case when kind in ('single', 'post') then amount else 0 end`;

const CHECKS: Check[] = [
  {
    name: 'ledgers_balance',
    description: 'Per ledger, debits equal credits, posted and pending',
    query: sql`
      select ledger, sum(debits_posted) as debits_posted, sum(credits_posted) as credits_posted,
             sum(debits_pending) as debits_pending, sum(credits_pending) as credits_pending
      from ledger_accounts group by ledger
      having sum(debits_posted) <> sum(credits_posted) or sum(debits_pending) <> sum(credits_pending)`,
  },
  {
    name: 'totals_match_transfers',
    description: "Each account's cached totals equal the sums over its transfers",
    query: sql`
      with moves as (
        select debit_account_id as account_id, ${postedEffect} as dp, ${pendingEffect} as dpe, 0 as cp, 0 as cpe
        from ledger_transfers
        union all
        select credit_account_id, 0, 0, ${postedEffect}, ${pendingEffect} from ledger_transfers
      ), sums as (
        select account_id, sum(dp) as dp, sum(dpe) as dpe, sum(cp) as cp, sum(cpe) as cpe from moves group by account_id
      )
      select a.id, a.debits_posted, coalesce(s.dp, 0) as transfers_debits_posted, a.credits_posted,
             coalesce(s.cp, 0) as transfers_credits_posted, a.debits_pending, coalesce(s.dpe, 0) as transfers_debits_pending,
             a.credits_pending, coalesce(s.cpe, 0) as transfers_credits_pending
      from ledger_accounts a left join sums s on s.account_id = a.id
      where a.debits_posted <> coalesce(s.dp, 0) or a.credits_posted <> coalesce(s.cp, 0)
         or a.debits_pending <> coalesce(s.dpe, 0) or a.credits_pending <> coalesce(s.cpe, 0)`,
  },
  {
    name: 'members_not_negative',
    description: 'No member account has spent or held more than it was credited',
    query: sql`
      select id, member_id, credits_posted, debits_posted, debits_pending from ledger_accounts
      where kind = 'member' and debits_posted + debits_pending > credits_posted`,
  },
  {
    name: 'lots_match_balances',
    description: "What is left in a member's lots equals the member's balance less held points",
    query: sql`
      select a.id, a.member_id, a.credits_posted - a.debits_posted - a.debits_pending as unheld_balance,
             coalesce(sum(l.remaining), 0) as lots_remaining
      from ledger_accounts a left join ledger_lots l on l.account_id = a.id
      where a.kind = 'member'
      group by a.id
      having a.credits_posted - a.debits_posted - a.debits_pending <> coalesce(sum(l.remaining), 0)`,
  },
  {
    name: 'lots_match_draws',
    description: "Each lot's remainder equals its amount less what was drawn from it",
    query: sql`
      select l.id, l.amount, l.remaining, coalesce(sum(d.amount), 0) as drawn
      from ledger_lots l left join ledger_lot_draws d on d.lot_id = l.id
      group by l.id having l.remaining <> l.amount - coalesce(sum(d.amount), 0)`,
  },
  {
    name: 'holds_resolved_once',
    description:
      'A pending hold is unresolved; a captured one has one post; a released or expired one has one void',
    query: sql`
      select h.id, h.status, count(r.id) as resolutions, string_agg(r.kind, ',') as kinds
      from ledger_holds h left join ledger_transfers r on r.pending_id = h.pending_transfer_id
      group by h.id
      having not ((h.status = 'pending' and count(r.id) = 0)
               or (h.status = 'captured' and count(r.id) = 1 and min(r.kind) = 'post' and min(r.amount) = min(h.captured))
               or (h.status in ('released', 'expired') and count(r.id) = 1 and min(r.kind) = 'void'))`,
  },
  {
    name: 'holds_match_pending',
    description: "A member account's held points equal its pending holds",
    query: sql`
      select a.id, a.debits_pending, coalesce(sum(h.amount), 0) as pending_holds
      from ledger_accounts a left join ledger_holds h on h.account_id = a.id and h.status = 'pending'
      where a.kind = 'member' group by a.id
      having a.debits_pending <> coalesce(sum(h.amount), 0)`,
  },
];

export interface ReconcileReport {
  ok: boolean;
  checkedAt: string;
  checks: {
    name: string;
    description: string;
    held: boolean;
    offending: Record<string, unknown>[];
  }[];
}

/** Checks every ledger invariant and reports each as held or broken, with up to 20 offending rows. */
export async function reconcile(
  deps: Pick<Deps, 'db' | 'clock' | 'checks'>,
): Promise<ReconcileReport> {
  // One snapshot for every check, so that writes in between cannot look like a broken invariant.
  const checks = await deps.db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const out: ReconcileReport['checks'] = [];
      for (const c of [...CHECKS, ...deps.checks]) {
        const { rows } = await sql<Record<string, unknown>>`${c.query} limit ${LIMIT}`.execute(trx);
        out.push({
          name: c.name,
          description: c.description,
          held: rows.length === 0,
          offending: rows,
        });
      }
      // Across modules: who was merged is the members' to say, what they hold the ledger's.
      const stranded = await mergedMembersHoldingValue({ db: trx }, LIMIT);
      out.push({
        name: 'merged_members_hold_nothing',
        description: 'No member merged into another still holds points or holds',
        held: stranded.length === 0,
        offending: stranded,
      });
      return out;
    });
  return { ok: checks.every((c) => c.held), checkedAt: deps.clock.now().toISOString(), checks };
}
