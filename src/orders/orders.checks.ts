import { sql } from 'kysely';
import type { Check } from '../ledger/reconcile.ts';

// What `tessera reconcile` checks of this module's rows against the ledgers and its own counters
// (wired in `Deps.checks`).

export const ordersChecks: Check[] = [
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
    name: 'coupon_reservations_match_orders',
    description:
      "Each coupon template's reserved count, and each member's, equal the coupon units of the mall orders placed and not yet confirmed; each order confirmed issued one coupon per unit",
    query: sql`
      with waiting as (
        select i.coupon_template_id as template_id, o.member_id, i.quantity
        from reward_order_items i
        join reward_orders o on o.program_id = i.program_id and o.id = i.order_id
        where o.status = 'placed' and i.coupon_template_id is not null
      )
      select 'template' as counter, t.id as template_id, null as member_id, null as order_id,
             t.reserved as count,
             coalesce((select sum(quantity) from waiting w where w.template_id = t.id), 0) as units
      from coupon_templates t
      where t.reserved <> coalesce((select sum(quantity) from waiting w where w.template_id = t.id), 0)
      union all
      select 'member', m.template_id, m.member_id, null, m.reserved,
             coalesce((select sum(quantity) from waiting w
                       where w.template_id = m.template_id and w.member_id = m.member_id), 0)
      from coupon_member_counts m
      where m.reserved <> coalesce((select sum(quantity) from waiting w
                                    where w.template_id = m.template_id and w.member_id = m.member_id), 0)
      union all
      select 'issued', i.coupon_template_id, o.member_id, o.id, i.quantity,
             (select count(*) from coupons c
              where c.template_id = i.coupon_template_id and c.member_id = o.member_id
                and starts_with(c.reference, 'order:' || o.id || ':' || i.line || ':')
                and substr(c.reference, length('order:' || o.id || ':' || i.line || ':') + 1) ~ '^[0-9]+$')
      from reward_order_items i
      join reward_orders o on o.program_id = i.program_id and o.id = i.order_id
      where i.coupon_template_id is not null and o.confirmed_at is not null
        and i.quantity <> (select count(*) from coupons c
              where c.template_id = i.coupon_template_id and c.member_id = o.member_id
                and starts_with(c.reference, 'order:' || o.id || ':' || i.line || ':')
                and substr(c.reference, length('order:' || o.id || ':' || i.line || ':') + 1) ~ '^[0-9]+$')`,
  },
  {
    name: 'reward_orders_match_holds',
    description:
      "Each confirmed mall order captured its points in its hold, and each order's hold is for its points (an order reserved whose hold is not written yet, or never was, has none)",
    query: sql`
      select o.program_id, o.id, o.status, o.points, h.status as hold_status, h.amount, h.captured
      from reward_orders o left join ledger_holds h on h.id = o.hold_id
      where (h.id is null and not (o.hold_id is null and o.status in ('placed', 'expired')))
         or h.amount <> o.points
         or (o.status in ('confirmed', 'shipped', 'completed')
             and (h.status <> 'captured' or h.captured <> o.points))
         or (o.status = 'cancelled' and o.confirmed_at is null and h.status <> 'released')
         or (o.status = 'placed' and h.status not in ('pending', 'expired'))`,
  },
];
