import { sql } from 'kysely';
import type { Check } from '../ledger/reconcile.ts';

// What `tessera reconcile` checks of this module's rows against the ledgers and its own counters
// (wired in `Deps.checks`).

export const poolChecks: Check[] = [
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
];
