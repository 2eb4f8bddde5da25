import { sql } from 'kysely';
import type { Check } from '../ledger/reconcile.ts';

// What `tessera reconcile` checks of this module's rows against the ledgers and its own counters
// (wired in `Deps.checks`).

export const couponsChecks: Check[] = [
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
];
