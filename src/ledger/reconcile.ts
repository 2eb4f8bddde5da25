import { type RawBuilder, sql } from 'kysely';
import type { Deps } from '../deps.ts';
import { mergedMembersHoldingValue } from '../members/members.service.ts';

/** One invariant of LEDGER.md, checked over the whole database. */
interface Check {
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
  {
    name: 'conversions_match_ledgers',
    description:
      "Each conversion moved exactly its points on both programs' ledgers, and nothing else moved through an exchange or fee account",
    query: sql`
      with expected as (
        select command_id, 'points:' || from_program_id as ledger, converted as sent, fee, 0::bigint as received
        from conversions
        union all
        select command_id, 'points:' || to_program_id, 0, 0, credited from conversions
      ), moved as (
        select t.command_id, t.ledger,
               coalesce(sum(t.amount) filter (where c.kind = 'exchange'), 0) as sent,
               coalesce(sum(t.amount) filter (where c.kind = 'fee'), 0) as fee,
               coalesce(sum(t.amount) filter (where d.kind = 'exchange'), 0) as received
        from ledger_transfers t
        join ledger_accounts d on d.id = t.debit_account_id
        join ledger_accounts c on c.id = t.credit_account_id
        where d.kind in ('exchange', 'fee') or c.kind in ('exchange', 'fee')
        group by t.command_id, t.ledger
      )
      select coalesce(e.command_id, m.command_id) as command_id, coalesce(e.ledger, m.ledger) as ledger,
             e.sent, m.sent as ledger_sent, e.fee, m.fee as ledger_fee, e.received, m.received as ledger_received
      from expected e full join moved m on m.command_id = e.command_id and m.ledger = e.ledger
      where e.command_id is null or m.command_id is null
         or e.sent <> m.sent or e.fee <> m.fee or e.received <> m.received`,
  },
  {
    name: 'settlement_matches_conversions',
    description:
      'Each conversion and its fee has its settlement line, to the fen at the point values it used, and no such line lacks its conversion',
    query: sql`
      with expected as (
        select 'conversion' as kind, id as source_id, from_program_id as debtor, to_program_id as creditor,
               credited as points, (credited * to_point_value_e4 + 5000) / 10000 as amount_fen,
               to_char(created_at at time zone 'Asia/Shanghai', 'YYYY-MM') as period
        from conversions
        union all
        select 'fee', id, from_program_id, 'coalition', fee, (fee * from_point_value_e4 + 5000) / 10000,
               to_char(created_at at time zone 'Asia/Shanghai', 'YYYY-MM')
        from conversions where fee > 0
      ), owed as (select * from expected where amount_fen > 0),
      lines as (select * from settlement_lines where kind in ('conversion', 'fee'))
      select coalesce(o.kind, l.kind) as kind, coalesce(o.source_id, l.source_id) as source_id,
             o.amount_fen, l.amount_fen as line_amount_fen, o.debtor, l.debtor as line_debtor,
             o.creditor, l.creditor as line_creditor, o.period, l.period as line_period
      from owed o full join lines l on l.kind = o.kind and l.source_id = o.source_id
      where o.source_id is null or l.source_id is null or o.amount_fen <> l.amount_fen
         or o.debtor <> l.debtor or o.creditor <> l.creditor or o.points <> l.points or o.period <> l.period`,
  },
  // The benefits pool (src/pool): a used code's charge is its settlement line; counters are counts.
  {
    name: 'settlement_matches_pool_uses',
    description:
      'Each charged use of a pool code has its settlement line, to the fen, and no pool line lacks its use',
    query: sql`
      with owed as (
        select id as source_id, charge_debtor as debtor, charge_creditor as creditor, charge_fen as amount_fen,
               to_char(used_at at time zone 'Asia/Shanghai', 'YYYY-MM') as period
        from pool_claims where charge_fen is not null
      ), lines as (select * from settlement_lines where kind = 'pool')
      select coalesce(o.source_id, l.source_id) as source_id, o.amount_fen, l.amount_fen as line_amount_fen,
             o.debtor, l.debtor as line_debtor, o.creditor, l.creditor as line_creditor,
             o.period, l.period as line_period
      from owed o full join lines l on l.source_id = o.source_id
      where o.source_id is null or l.source_id is null or o.amount_fen <> l.amount_fen
         or o.debtor <> l.debtor or o.creditor <> l.creditor or o.period <> l.period
         or l.points is not null`,
  },
  {
    name: 'pool_counters_match_claims',
    description:
      "Each pool benefit's claimed and used counts, and each member's claim count, equal its claims",
    query: sql`
      select 'benefit' as counter, b.id as benefit_id, null as member_id, b.claimed, b.used,
             count(c.id) as claims, count(c.id) filter (where c.status = 'used') as uses
      from pool_benefits b left join pool_claims c on c.benefit_id = b.id
      group by b.id
      having b.claimed <> count(c.id) or b.used <> count(c.id) filter (where c.status = 'used')
      union all
      select 'member', m.benefit_id, m.member_id, m.claimed, null,
             (select count(*) from pool_claims c where c.benefit_id = m.benefit_id and c.member_id = m.member_id), null
      from pool_member_claims m
      where m.claimed <> (select count(*) from pool_claims c
                          where c.benefit_id = m.benefit_id and c.member_id = m.member_id)`,
  },
  // Cross-brand offers (src/offers): a grant's cost is its settlement line; counters are counts.
  {
    name: 'settlement_matches_offer_grants',
    description:
      "Each granted offer reward has its settlement line (A owes B the reward's cost), to the fen, and no offer line lacks its grant",
    query: sql`
      with owed as (
        select id as source_id, debtor, creditor, points, amount_fen,
               to_char(updated_at at time zone 'Asia/Shanghai', 'YYYY-MM') as period
        from offer_grants where status = 'granted' and amount_fen is not null
      ), lines as (select * from settlement_lines where kind = 'offer')
      select coalesce(o.source_id, l.source_id) as source_id, o.amount_fen, l.amount_fen as line_amount_fen,
             o.debtor, l.debtor as line_debtor, o.creditor, l.creditor as line_creditor,
             o.points, l.points as line_points, o.period, l.period as line_period
      from owed o full join lines l on l.source_id = o.source_id
      where o.source_id is null or l.source_id is null or o.amount_fen <> l.amount_fen
         or o.debtor <> l.debtor or o.creditor <> l.creditor or o.period <> l.period
         or o.points is distinct from l.points`,
  },
  {
    name: 'offer_counters_match_grants',
    description:
      "Each offer's granted count, and each member's, equal its grants reserved or given (skipped ones count nothing)",
    query: sql`
      select 'offer' as counter, o.id as offer_id, null as member_id, o.granted,
             count(g.id) filter (where g.status <> 'skipped') as grants
      from offers o left join offer_grants g on g.offer_id = o.id
      group by o.id
      having o.granted <> count(g.id) filter (where g.status <> 'skipped')
      union all
      select 'member', m.offer_id, m.member_id, m.granted,
             (select count(*) from offer_grants g where g.offer_id = m.offer_id
                and g.member_id = m.member_id and g.status <> 'skipped')
      from offer_member_grants m
      where m.granted <> (select count(*) from offer_grants g where g.offer_id = m.offer_id
                            and g.member_id = m.member_id and g.status <> 'skipped')`,
  },
  // Coupons (src/coupons): a template's issued count, and each member's, equal its coupons.
  {
    name: 'coupon_counters_match_coupons',
    description:
      "Each coupon template's issued count, and each member's count under its limit, equal its coupons",
    query: sql`
      select 'template' as counter, t.id as template_id, null as member_id, t.issued, count(c.id) as coupons
      from coupon_templates t left join coupons c on c.template_id = t.id
      group by t.id
      having t.issued <> count(c.id)
      union all
      select 'member', m.template_id, m.member_id, m.issued,
             (select count(*) from coupons c where c.template_id = m.template_id and c.member_id = m.member_id)
      from coupon_member_counts m
      where m.issued <> (select count(*) from coupons c
                         where c.template_id = m.template_id and c.member_id = m.member_id)`,
  },
  // The rewards mall (src/rewards, src/orders): stock and limit counters are the live orders'
  // units, and each order's points are its hold's — held while placed, captured once confirmed.
  {
    name: 'reward_counters_match_orders',
    description:
      "Each reward's reserved units, and each member's count per period, equal the units of its orders not cancelled or expired",
    query: sql`
      with live as (
        select i.reward_id, o.member_id, i.period, i.quantity
        from reward_order_items i
        join reward_orders o on o.program_id = i.program_id and o.id = i.order_id
        where o.status in ('placed', 'confirmed', 'shipped', 'completed')
      )
      select 'reserved' as counter, r.id as reward_id, null as member_id, r.reserved as count,
             coalesce((select sum(quantity) from live where live.reward_id = r.id), 0) as units
      from rewards r
      where r.reserved <> coalesce((select sum(quantity) from live where live.reward_id = r.id), 0)
      union all
      select 'member', m.reward_id, m.member_id, m.count,
             coalesce((select sum(quantity) from live where live.reward_id = m.reward_id
                         and live.member_id = m.member_id and live.period = m.period), 0)
      from reward_member_counts m
      where m.count <> coalesce((select sum(quantity) from live where live.reward_id = m.reward_id
                                   and live.member_id = m.member_id and live.period = m.period), 0)`,
  },
  {
    name: 'reward_orders_match_holds',
    description:
      "Each confirmed mall order captured its points in its hold, and each order's hold is for its points",
    query: sql`
      select o.program_id, o.id, o.status, o.points, h.status as hold_status, h.amount, h.captured
      from reward_orders o left join ledger_holds h on h.id = o.hold_id
      where h.id is null
         or h.amount <> o.points
         or (o.status in ('confirmed', 'shipped', 'completed')
             and (h.status <> 'captured' or h.captured <> o.points))
         or (o.status = 'cancelled' and o.confirmed_at is null and h.status <> 'released')
         or (o.status = 'placed' and h.status not in ('pending', 'expired'))`,
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
export async function reconcile(deps: Pick<Deps, 'db' | 'clock'>): Promise<ReconcileReport> {
  // One snapshot for every check, so that writes in between cannot look like a broken invariant.
  const checks = await deps.db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const out: ReconcileReport['checks'] = [];
      for (const c of CHECKS) {
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
