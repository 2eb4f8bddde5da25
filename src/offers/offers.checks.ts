import { sql } from 'kysely';
import type { Check } from '../ledger/reconcile.ts';

// What `tessera reconcile` checks of this module's rows against the ledgers and its own counters
// (wired in `Deps.checks`).

export const offersChecks: Check[] = [
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
];
