import { sql } from 'kysely';
import type { Check } from '../ledger/reconcile.ts';

// What `tessera reconcile` checks of this module's rows against the ledgers and its own counters
// (wired in `Deps.checks`).

export const exchangeChecks: Check[] = [
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
];
