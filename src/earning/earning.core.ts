// The earning rules, with no I/O: what a purchase earns under a program's rules, and how much of
// it a return takes back. The service loads the active rules, the purchase and the member's facts,
// asks `earn`, and posts the lines; the ledger's counters then enforce the per-day, per-month and
// budget limits that the lines carry. Everything here is exact (bigint rationals) and rounded once
// per purchase, so the same input always earns the same points, whatever order the rules come in.
//
// Semantics:
// - A list condition left out or empty is not a condition (a console sends [] for "any").
// - A rule *covers* an item when it has no include list (`categories`, `skus`), or the item's
//   category is in `categories` or its sku is in `skus`. It *excludes* an item when the category
//   is in `excludeCategories` or the sku in `excludeSkus`.
// - A rule *matches* the purchase when every purchase-level condition holds — `tiers` contains
//   the member's tier; `stores`, `channels`, `paymentMethods` contain the purchase's value (null
//   is in no list); amount ≥ `minSpend`; `from` ≤ occurredAt < `to`; `weekdays` (Monday = 1) and
//   `daysOfMonth` on the local date of occurredAt in the program's time zone; `birthday`;
//   `firstPurchase`. That is all a non-exclusive `rate` or `multiplier` rule needs: it matches
//   even when it covers no item, or excludes every item it covers. A `bonus` rule and an
//   `exclusive` rule also need at least one item they cover and do not exclude. So a rate rule
//   decides every item it covers even if it excludes them all: a tobacco-only basket under a
//   top-priority "1 per ¥1, excluding tobacco" rule (no include list) earns nothing, and no
//   lower-priority catch-all earns on it (an excluded category earns nothing).
// - `birthday`: `day` is the birthday's month and day (29 Feb counts on 28 Feb in a common year),
//   `month` its month, `week` the Monday–Sunday week holding this year's birthday (this year: the
//   local date's year). A member without a birthday matches no birthday rule.
// - Priority: higher first; ties by rule id ascending (then version), so input order never counts.
// - Base: for each item, the first matching `rate` rule that covers it decides. If that rule also
//   excludes it, the item earns nothing at all (no base, so no multiplier); otherwise its base is
//   amount × points / per. A rate rule's line is the sum of the bases it decided.
// - Multipliers, in priority order, each on the items it covers and does not exclude: item i's
//   running product Pᵢ starts at 1; a factor f adds baseᵢ × Pᵢ × (f − 1) to its line, then
//   Pᵢ ×= f. Then the member's tier multiplier, on every item, as the line `tier:<code>`.
// - Bonuses: each matching `bonus` rule adds its points, once per purchase.
// - Exclusive: if a matching rule is exclusive, the highest-priority exclusive one replaces the
//   rest. An exclusive rate rule earns alone, on its covered, non-excluded items; an exclusive
//   multiplier keeps the base from the matching rate rules but drops the other multipliers, the
//   tier multiplier and the bonuses; an exclusive bonus earns alone.
// - `perPurchase` caps a line's exact value: min(line, perPurchase). The other limits are only
//   carried on the line, for the ledger's counters.
// - Rounding, once per purchase: the policy (floor, round half up, ceil) on the exact sum of the
//   capped lines gives the total. Each line gets the floor of its exact value and the remaining
//   units go one each to the lines with the largest fractional parts (ties: the earlier line). The
//   total is floor(S) or ceil(S) of the sum S, and ceil(S) − Σ floors = ceil(Σ fractions), at most
//   the number of lines with a fraction: so no line gets more than the ceiling of its exact value,
//   and a capped line never passes its (integer) cap.
// - Weights, for pro-rata returns: item i's exact earning (baseᵢ × Pᵢ × the tier factor as
//   applied, or what an exclusive rule gave it) plus the bonuses × amountᵢ / purchase amount, ×
//   1,000,000, floored. Under a perPurchase cap an item counts what its line kept: its part of the
//   line × capped / uncapped (without caps this is exactly the sum above).
// - `matched`: the matching rules that took part, by priority — the rate rules that cover at
//   least one item, the multipliers that earn on at least one item (cover it, do not exclude it)
//   and the bonuses; or under an exclusive rule just it (and those rate rules, for an exclusive
//   multiplier).
// - Factors are read at 4 decimals (1.5, 1.25); other numbers as the decimal they print as. A
//   factor below 1 counts as 1 and a line below 0 as 0: earning never takes points away.

import { localDateString } from '../ledger/expiry.core.ts';

export type Rounding = 'floor' | 'round' | 'ceil';

export interface Conditions {
  tiers?: string[];
  stores?: string[];
  channels?: string[];
  paymentMethods?: string[];
  categories?: string[];
  excludeCategories?: string[];
  skus?: string[];
  excludeSkus?: string[];
  /** fen; the purchase amount must be >= it */
  minSpend?: number;
  /** ISO instants; from <= occurredAt < to */
  from?: string;
  to?: string;
  /** 1..7, Monday = 1, local date of occurredAt in context.timezone */
  weekdays?: number[];
  /** 1..31, local */
  daysOfMonth?: number[];
  birthday?: 'day' | 'week' | 'month';
  /** true: only the member's first purchase in the program */
  firstPurchase?: boolean;
}

export type Effect =
  /** points per `per` fen of the eligible amount */
  | { type: 'rate'; points: number; per: number }
  /** × the base; at most 4 decimals (1.5, 1.25) */
  | { type: 'multiplier'; factor: number }
  /** fixed points per purchase */
  | { type: 'bonus'; points: number };

export interface RuleLimits {
  perPurchase?: number;
  perMemberPerDay?: number;
  perMemberPerMonth?: number;
  budget?: number;
}

export interface Rule {
  id: string;
  version: number;
  name: string;
  priority: number;
  exclusive: boolean;
  conditions: Conditions;
  effect: Effect;
  limits: RuleLimits;
}

/** One line of a purchase; `amount` is the line's total in fen. */
export interface Item {
  sku: string | null;
  category: string | null;
  quantity: number;
  amount: number;
}

export interface PurchaseFacts {
  /** fen, = sum of item amounts */
  amount: number;
  /** never empty: a purchase sent without items is one item { sku: null, category: null, quantity: 1, amount } */
  items: Item[];
  store: string | null;
  channel: string | null;
  paymentMethod: string | null;
  occurredAt: Date;
}

export interface MemberFacts {
  tier: string | null;
  /** The tier's `multiplier` benefit (e.g. a black-gold card's 1.5×); applies by itself, no rule needed. */
  tierMultiplier: { tier: string; factor: number } | null;
  /** YYYY-MM-DD */
  birthday: string | null;
  firstPurchase: boolean;
}

export interface EarnContext {
  timezone: string;
  rounding: Rounding;
}

export interface Line {
  ruleId: string;
  version: number;
  name: string;
  points: number;
  limits: RuleLimits;
}

export interface Earning {
  /** Lines with points > 0, in this order: rate lines, multiplier lines, the tier line, bonus lines. */
  lines: Line[];
  /** Σ lines' points. */
  points: number;
  /** Per item (same order as purchase.items): a non-negative integer weight, the item's share of what the purchase earned, for pro-rata returns. */
  weights: number[];
  /** Every rule that matched and took part (even if its line rounded to 0): id and version. */
  matched: { id: string; version: number }[];
}

/** What has been returned of a purchase so far: quantities per item (same order as items), and fen returned by amount (returns that named no items). */
export interface Returned {
  quantities: number[];
  amount: number;
}

// ---------------------------------------------------------------------------------------------
// Exact arithmetic: a rational is n/d with d > 0 in lowest terms, so equal values compare equal.

interface Q {
  n: bigint;
  d: bigint;
}

const abs = (a: bigint) => (a < 0n ? -a : a);
function gcd(a: bigint, b: bigint): bigint {
  let [x, y] = [abs(a), abs(b)];
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}
function q(n: bigint, d = 1n): Q {
  if (d < 0n) [n, d] = [-n, -d];
  const g = gcd(n, d);
  return g > 1n ? { n: n / g, d: d / g } : { n, d };
}
const ZERO = q(0n);
const ONE = q(1n);
const add = (a: Q, b: Q) => q(a.n * b.d + b.n * a.d, a.d * b.d);
const sub = (a: Q, b: Q) => q(a.n * b.d - b.n * a.d, a.d * b.d);
const mul = (a: Q, b: Q) => q(a.n * b.n, a.d * b.d);
/** a / b; the callers make sure b ≠ 0. */
const div = (a: Q, b: Q) => q(a.n * b.d, a.d * b.n);
const cmp = (a: Q, b: Q) => {
  const x = a.n * b.d - b.n * a.d;
  return x < 0n ? -1 : x > 0n ? 1 : 0;
};
const min = (a: Q, b: Q) => (cmp(a, b) <= 0 ? a : b);
const max = (a: Q, b: Q) => (cmp(a, b) >= 0 ? a : b);
const sum = (xs: Q[]) => xs.reduce(add, ZERO);
/** Floor division for any sign (bigint `/` truncates toward zero). */
function floor(a: Q): bigint {
  const t = a.n / a.d;
  return a.n < 0n && t * a.d !== a.n ? t - 1n : t;
}
const ceil = (a: Q) => -floor(q(-a.n, a.d));
const HALF = q(1n, 2n);

/**
 * A number as the decimal it prints as (0.1 is 1/10, not the double nearest it), so that what an
 * operator typed is what counts. Not finite: 0.
 */
function decimal(x: number): Q {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/.exec(String(x));
  if (!m) return ZERO;
  const fraction = m[3] ?? '';
  const exponent = Number(m[4] ?? 0) - fraction.length;
  const digits = BigInt(`${m[1]}${m[2]}${fraction}`);
  return exponent >= 0 ? q(digits * 10n ** BigInt(exponent)) : q(digits, 10n ** BigInt(-exponent));
}

/** A multiplier's factor: 4 decimals, never below 1. */
const factorOf = (f: number) => max(ONE, decimal(Math.round(f * 10_000) / 10_000));

function applyRounding(total: Q, rounding: Rounding): bigint {
  if (rounding === 'ceil') return ceil(total);
  if (rounding === 'round') return floor(add(total, HALF)); // half up
  return floor(total);
}

// ---------------------------------------------------------------------------------------------
// Conditions.

/** A list condition is set when it has at least one entry. */
const isSet = <T>(list: T[] | undefined): list is T[] => list !== undefined && list.length > 0;
const allows = (list: string[] | undefined, value: string | null) =>
  !isSet(list) || (value !== null && list.includes(value));
const names = (list: string[] | undefined, value: string | null) =>
  value !== null && list?.includes(value) === true;

function covers(c: Conditions, item: Item): boolean {
  if (!isSet(c.categories) && !isSet(c.skus)) return true;
  return names(c.categories, item.category) || names(c.skus, item.sku);
}

const excludes = (c: Conditions, item: Item) =>
  names(c.excludeCategories, item.category) || names(c.excludeSkus, item.sku);

const earnsOn = (c: Conditions, item: Item) => covers(c, item) && !excludes(c, item);

const DAY = 86_400_000;

/** Days since 1970-01-01 of a calendar date (the month may be out of range; Date.UTC carries it). */
const dayNumber = (year: number, month: number, day: number) =>
  Math.round(Date.UTC(year, month - 1, day) / DAY);
/** 1970-01-01 was a Thursday; Monday = 1 … Sunday = 7. */
const isoWeekday = (n: number) => ((((n + 3) % 7) + 7) % 7) + 1;
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

interface LocalDay {
  year: number;
  month: number;
  day: number;
  /** dayNumber of the date */
  n: number;
}

function localDay(at: Date, timeZone: string): LocalDay {
  const [year, month, day] = localDateString(at, timeZone).split('-').map(Number) as [
    number,
    number,
    number,
  ];
  return { year, month, day, n: dayNumber(year, month, day) };
}

function birthdayHolds(kind: 'day' | 'week' | 'month', birthday: string | null, on: LocalDay) {
  const m = birthday === null ? null : /^(\d{4})-(\d{2})-(\d{2})$/.exec(birthday);
  if (!m) return false;
  const month = Number(m[2]);
  // A leap-day birthday is kept on 28 February in a common year (the member's day still comes).
  const day = month === 2 && Number(m[3]) === 29 && !isLeap(on.year) ? 28 : Number(m[3]);
  if (kind === 'month') return on.month === month;
  if (kind === 'day') return on.month === month && on.day === day;
  const n = dayNumber(on.year, month, day);
  const monday = n - (isoWeekday(n) - 1);
  return on.n >= monday && on.n <= monday + 6;
}

function matches(
  rule: Rule,
  purchase: PurchaseFacts,
  member: MemberFacts,
  local: () => LocalDay,
): boolean {
  const c = rule.conditions;
  if (!allows(c.tiers, member.tier)) return false;
  if (!allows(c.stores, purchase.store)) return false;
  if (!allows(c.channels, purchase.channel)) return false;
  if (!allows(c.paymentMethods, purchase.paymentMethod)) return false;
  if (c.minSpend !== undefined && cmp(decimal(purchase.amount), decimal(c.minSpend)) < 0)
    return false;
  const at = purchase.occurredAt.getTime();
  // An instant that does not parse gives NaN, which no comparison passes: the rule stays off.
  if (c.from !== undefined && !(Date.parse(c.from) <= at)) return false;
  if (c.to !== undefined && !(at < Date.parse(c.to))) return false;
  if (isSet(c.weekdays) && !c.weekdays.includes(isoWeekday(local().n))) return false;
  if (isSet(c.daysOfMonth) && !c.daysOfMonth.includes(local().day)) return false;
  if (c.birthday !== undefined && !birthdayHolds(c.birthday, member.birthday, local()))
    return false;
  if (c.firstPurchase === true && !member.firstPurchase) return false;
  // A rate rule decides the items it covers even when it excludes them all (a basket of tobacco
  // under "1 per ¥1, not tobacco" earns nothing); a bonus, or an exclusive rule that is to replace
  // the rest, needs an item it earns on.
  if (rule.effect.type !== 'bonus' && !rule.exclusive) return true;
  return purchase.items.some((item) => earnsOn(c, item));
}

const byPriority = (a: Rule, b: Rule) =>
  b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || a.version - b.version;

// ---------------------------------------------------------------------------------------------
// Earning.

/** A line before capping and rounding, with what each item gave it (Σ perItem = exact). */
interface Draft {
  ruleId: string;
  version: number;
  name: string;
  limits: RuleLimits;
  exact: Q;
  perItem: Q[];
}

const draftOf = (rule: Rule, perItem: Q[]): Draft => ({
  ruleId: rule.id,
  version: rule.version,
  name: rule.name,
  limits: rule.limits,
  exact: sum(perItem),
  perItem,
});

const rateOn = (effect: { points: number; per: number }, item: Item): Q => {
  const per = decimal(effect.per);
  return per.n > 0n ? div(mul(decimal(item.amount), decimal(effect.points)), per) : ZERO;
};

/** Base lines (one per rate rule) and each item's base, under "the first rate rule that covers it decides". */
function baseOf(rates: Rule[], items: Item[]) {
  const drafts = rates.map((r) => ({ rule: r, perItem: items.map(() => ZERO) }));
  const base = items.map((item, i) => {
    const decider = drafts.find((d) => covers(d.rule.conditions, item));
    if (decider?.rule.effect.type !== 'rate' || excludes(decider.rule.conditions, item))
      return ZERO;
    const b = rateOn(decider.rule.effect, item);
    decider.perItem[i] = b;
    return b;
  });
  return { drafts: drafts.map((d) => draftOf(d.rule, d.perItem)), base };
}

/** Multiplier lines over the bases; the running product per item is updated in place. */
function multiply(rules: Rule[], items: Item[], base: Q[], product: Q[]): Draft[] {
  return rules.map((rule) => {
    const f = rule.effect.type === 'multiplier' ? factorOf(rule.effect.factor) : ONE;
    const perItem = items.map((item, i) => {
      if (!earnsOn(rule.conditions, item)) return ZERO;
      const p = product[i] ?? ONE;
      product[i] = mul(p, f);
      return mul(mul(base[i] ?? ZERO, p), sub(f, ONE));
    });
    return draftOf(rule, perItem);
  });
}

function bonusDraft(rule: Rule, purchase: PurchaseFacts): Draft {
  const points = rule.effect.type === 'bonus' ? decimal(rule.effect.points) : ZERO;
  const amount = decimal(purchase.amount);
  // Spread over the items by amount, only so that returns take a bonus back pro rata.
  const perItem = purchase.items.map((item) =>
    amount.n > 0n ? div(mul(points, decimal(item.amount)), amount) : ZERO,
  );
  return { ...draftOf(rule, perItem), exact: points };
}

/**
 * What `purchase` earns under `rules` (any order; those that do not match are skipped), for a
 * member with `member`'s facts. See the semantics at the top of this file.
 */
export function earn(
  rules: Rule[],
  purchase: PurchaseFacts,
  member: MemberFacts,
  context: EarnContext,
): Earning {
  let day: LocalDay | undefined;
  // The local date costs an Intl call: only rules with date conditions ask for it.
  const local = () => {
    day ??= localDay(purchase.occurredAt, context.timezone);
    return day;
  };
  const live = [...rules].sort(byPriority).filter((r) => matches(r, purchase, member, local));
  const top = live.find((r) => r.exclusive);
  const { items } = purchase;
  const ofType = (t: Effect['type']) => live.filter((r) => r.effect.type === t);

  let drafts: Draft[];
  let tookPart: Rule[];
  if (top?.effect.type === 'rate') {
    const effect = top.effect;
    drafts = [
      draftOf(
        top,
        items.map((item) => (earnsOn(top.conditions, item) ? rateOn(effect, item) : ZERO)),
      ),
    ];
    tookPart = [top];
  } else if (top?.effect.type === 'bonus') {
    drafts = [bonusDraft(top, purchase)];
    tookPart = [top];
  } else {
    const rates = ofType('rate');
    const multipliers = top ? [top] : ofType('multiplier');
    const bonuses = top ? [] : ofType('bonus');
    const { drafts: rateDrafts, base } = baseOf(rates, items);
    const product = items.map(() => ONE);
    drafts = [...rateDrafts, ...multiply(multipliers, items, base, product)];
    const tier = member.tierMultiplier;
    const f = tier && !top ? factorOf(tier.factor) : ONE;
    if (tier && cmp(f, ONE) !== 0) {
      const perItem = items.map((_, i) =>
        mul(mul(base[i] ?? ZERO, product[i] ?? ONE), sub(f, ONE)),
      );
      drafts.push({
        ruleId: `tier:${tier.tier}`,
        version: 0,
        name: `Tier ${tier.tier} ×${Math.round(tier.factor * 10_000) / 10_000}`,
        limits: {},
        exact: sum(perItem),
        perItem,
      });
    }
    drafts.push(...bonuses.map((r) => bonusDraft(r, purchase)));
    tookPart = [
      ...rates.filter((r) => items.some((item) => covers(r.conditions, item))),
      ...multipliers.filter((r) => items.some((item) => earnsOn(r.conditions, item))),
      ...bonuses,
    ];
  }

  const capped = drafts.map((d) => {
    const v = max(ZERO, d.exact);
    return d.limits.perPurchase === undefined
      ? v
      : min(v, max(ZERO, decimal(d.limits.perPurchase)));
  });
  const total = applyRounding(sum(capped), context.rounding);
  const points = distribute(capped, total);

  const weights = items.map((_, i) => {
    let w = ZERO;
    drafts.forEach((d, k) => {
      // A capped line gives each item its share of what the line kept, not of what it would have.
      const kept = d.exact.n > 0n ? div(capped[k] ?? ZERO, d.exact) : ZERO;
      w = add(w, mul(d.perItem[i] ?? ZERO, kept));
    });
    return Number(floor(mul(max(ZERO, w), q(1_000_000n))));
  });

  const lines: Line[] = [];
  drafts.forEach((d, k) => {
    const p = points[k] ?? 0n;
    if (p > 0n)
      lines.push({
        ruleId: d.ruleId,
        version: d.version,
        name: d.name,
        points: Number(p),
        limits: d.limits,
      });
  });
  const took = new Set(tookPart);
  return {
    lines,
    points: Number(total),
    weights,
    matched: live.filter((r) => took.has(r)).map((r) => ({ id: r.id, version: r.version })),
  };
}

/**
 * Integers for the lines that add up to `total`: each line's floor, then one more unit each to the
 * lines with the largest fractions (ties: the earlier line). `total` is floor or ceil of Σ values.
 */
function distribute(values: Q[], total: bigint): bigint[] {
  const out = values.map(floor);
  let left = total - out.reduce((a, b) => a + b, 0n);
  const order = values
    .map((v, k) => ({ k, fraction: sub(v, q(out[k] ?? 0n)) }))
    .filter((x) => x.fraction.n > 0n)
    .sort((a, b) => cmp(b.fraction, a.fraction) || a.k - b.k);
  for (const { k } of order) {
    if (left <= 0n) break;
    out[k] = (out[k] ?? 0n) + 1n;
    left -= 1n;
  }
  return out;
}

/**
 * Points (or growth) to have taken back in total once `returned` is returned: floor(earned ×
 * share), share capped at 1; 0 when Σ weights is 0. A return of q units of item i counts
 * weights[i] × q / items[i].quantity, a return by amount Σ weights × amount / purchaseAmount; the
 * share is their sum over Σ weights. The caller takes back the difference between this after and
 * before each return, so together the returns never take back more than was earned, and a full
 * return takes back exactly `earned`.
 */
export function takenBackTotal(
  earned: number,
  weights: number[],
  items: Item[],
  purchaseAmount: number,
  returned: Returned,
): number {
  const w = weights.map((x) => max(ZERO, decimal(x)));
  const all = sum(w);
  if (all.n === 0n) return 0;
  // A part of nothing (a zero quantity or amount) is all of it once anything is returned.
  const part = (got: Q, of: Q) => (got.n <= 0n ? ZERO : of.n > 0n ? div(got, of) : ONE);
  let counted = mul(all, part(decimal(returned.amount), decimal(purchaseAmount)));
  items.forEach((item, i) => {
    const back = decimal(returned.quantities[i] ?? 0);
    counted = add(counted, mul(w[i] ?? ZERO, part(back, decimal(item.quantity))));
  });
  const share = min(ONE, div(counted, all));
  return Number(floor(mul(max(ZERO, decimal(earned)), share)));
}
