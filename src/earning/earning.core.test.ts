import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Conditions,
  type EarnContext,
  type Effect,
  earn,
  type Item,
  type MemberFacts,
  type PurchaseFacts,
  type Rounding,
  type Rule,
  takenBackTotal,
} from './earning.core.ts';

const TZ = 'Asia/Shanghai';
const ctx = (rounding: Rounding = 'floor'): EarnContext => ({ timezone: TZ, rounding });

const rule = (over: Partial<Rule> & Pick<Rule, 'id' | 'effect'>): Rule => ({
  version: 1,
  name: over.id,
  priority: 0,
  exclusive: false,
  conditions: {},
  limits: {},
  ...over,
});

const item = (amount: number, over: Partial<Item> = {}): Item => ({
  sku: null,
  category: null,
  quantity: 1,
  amount,
  ...over,
});

const purchase = (items: Item[], over: Partial<PurchaseFacts> = {}): PurchaseFacts => ({
  amount: items.reduce((s, i) => s + i.amount, 0),
  items,
  store: null,
  channel: null,
  paymentMethod: null,
  occurredAt: new Date('2026-03-10T12:00:00+08:00'),
  ...over,
});

const member = (over: Partial<MemberFacts> = {}): MemberFacts => ({
  tier: null,
  tierMultiplier: null,
  birthday: null,
  firstPurchase: false,
  ...over,
});

const byLine = (e: { lines: { ruleId: string; points: number }[] }) =>
  Object.fromEntries(e.lines.map((l) => [l.ruleId, l.points]));

describe('examples from the field', () => {
  // An airline co-branded card: 1 point per ¥10 for platinum, 1 per ¥18 for gold.
  const airline = [
    rule({
      id: 'platinum',
      effect: { type: 'rate', points: 1, per: 1000 },
      conditions: { tiers: ['platinum'] },
    }),
    rule({
      id: 'gold',
      effect: { type: 'rate', points: 1, per: 1800 },
      conditions: { tiers: ['gold'] },
    }),
  ];
  const ticket = purchase([item(180_000)]);

  it('earns 180 for platinum and 100 for gold on ¥1,800', () => {
    const p = earn(airline, ticket, member({ tier: 'platinum' }), ctx());
    expect(p.points).toBe(180);
    expect(p.lines).toEqual([
      { ruleId: 'platinum', version: 1, name: 'platinum', points: 180, limits: {} },
    ]);
    expect(p.matched).toEqual([{ id: 'platinum', version: 1 }]);
    expect(earn(airline, ticket, member({ tier: 'gold' }), ctx()).points).toBe(100);
    // No tier, no rule: nothing.
    expect(earn(airline, ticket, member(), ctx())).toEqual({
      lines: [],
      points: 0,
      weights: [0],
      matched: [],
    });
  });

  it('adds the black-gold card’s 1.5× on top, as its own line', () => {
    const m = member({ tier: 'platinum', tierMultiplier: { tier: 'platinum', factor: 1.5 } });
    const p = earn(airline, ticket, m, ctx());
    expect(p.points).toBe(270);
    expect(p.lines.map((l) => [l.ruleId, l.name, l.points])).toEqual([
      ['platinum', 'platinum', 180],
      ['tier:platinum', 'Tier platinum ×1.5', 90],
    ]);
    expect(p.weights).toEqual([270_000_000]);
  });

  it('doubles on member day, the 8th in Shanghai, and not on the 9th', () => {
    const rules = [
      rule({ id: 'base', effect: { type: 'rate', points: 1, per: 100 } }),
      rule({
        id: 'member-day',
        effect: { type: 'multiplier', factor: 2 },
        conditions: { daysOfMonth: [8] },
      }),
    ];
    const at = (iso: string) =>
      earn(rules, purchase([item(10_000)], { occurredAt: new Date(iso) }), member(), ctx());
    expect(byLine(at('2026-03-08T12:00:00+08:00'))).toEqual({ base: 100, 'member-day': 100 });
    // 00:30 on the 8th in Shanghai is still the 7th in UTC.
    expect(at('2026-03-07T16:30:00Z').points).toBe(200);
    // 00:30 on the 9th in Shanghai is still the 8th in UTC.
    expect(at('2026-03-08T16:30:00Z').points).toBe(100);
    expect(at('2026-03-08T16:30:00Z').matched).toEqual([{ id: 'base', version: 1 }]);
    expect(at('2026-03-09T12:00:00+08:00').points).toBe(100);
  });

  it('earns nothing on excluded tobacco, not even under a multiplier', () => {
    const rules = [
      rule({
        id: 'base',
        effect: { type: 'rate', points: 1, per: 100 },
        conditions: { excludeCategories: ['tobacco'] },
      }),
      // A lower-priority rate rule that would cover tobacco does not get to decide it.
      rule({ id: 'all', priority: -1, effect: { type: 'rate', points: 5, per: 100 } }),
      rule({ id: 'double', effect: { type: 'multiplier', factor: 2 } }),
    ];
    const p = earn(
      rules,
      purchase([item(10_000, { category: 'food' }), item(50_000, { category: 'tobacco' })]),
      member({ tierMultiplier: { tier: 'gold', factor: 1.5 } }),
      ctx(),
    );
    expect(byLine(p)).toEqual({ base: 100, double: 100, 'tier:gold': 100 });
    expect(p.points).toBe(300);
    expect(p.weights).toEqual([300_000_000, 0]);
    // Tobacco alone: `base` still matches (a non-exclusive rate rule needs only the purchase-level
    // conditions) and covers it, so it decides: nothing, and `all` does not get to earn on it.
    const smokes = (rs: Rule[]) =>
      earn(rs, purchase([item(50_000, { category: 'tobacco' })]), member(), ctx());
    expect(smokes(rules.filter((r) => r.id !== 'all')).points).toBe(0);
    const alone = smokes(rules);
    expect(alone.points).toBe(0);
    expect(alone.lines).toEqual([]);
    expect(alone.weights).toEqual([0]);
    // Listed all the same: both rate rules cover tobacco, and `double` covers it and does not
    // exclude it (its line is 0 because the base is).
    expect(alone.matched.map((r) => r.id)).toEqual(['base', 'double', 'all']);
  });

  it('earns nothing on a tobacco-only basket under a top rate rule excluding tobacco', () => {
    const rules = [
      rule({ id: 'catch-all', priority: 1, effect: { type: 'rate', points: 1, per: 100 } }),
      rule({
        id: 'no-tobacco',
        priority: 10,
        effect: { type: 'rate', points: 1, per: 100 },
        conditions: { excludeCategories: ['tobacco'] },
      }),
    ];
    const smokes = purchase([
      item(30_000, { category: 'tobacco' }),
      item(20_000, { category: 'tobacco', quantity: 2 }),
    ]);
    const p = earn(rules, smokes, member({ tierMultiplier: { tier: 'gold', factor: 2 } }), ctx());
    expect(p.points).toBe(0);
    expect(p.lines).toEqual([]);
    expect(p.weights).toEqual([0, 0]);
    expect(p.matched.map((r) => r.id)).toEqual(['no-tobacco', 'catch-all']);
    // A multiplier that earns on no item matches but is not listed; one that covers tobacco is.
    const doubles = [
      rule({
        id: 'double-no-tobacco',
        effect: { type: 'multiplier', factor: 2 },
        conditions: { excludeCategories: ['tobacco'] },
      }),
      rule({
        id: 'double-wine',
        effect: { type: 'multiplier', factor: 2 },
        conditions: { categories: ['wine'] },
      }),
      rule({ id: 'double-all', effect: { type: 'multiplier', factor: 2 } }),
    ];
    const q = earn([...rules, ...doubles], smokes, member(), ctx());
    expect(q.points).toBe(0);
    expect(q.matched.map((r) => r.id)).toEqual(['no-tobacco', 'catch-all', 'double-all']);
    // The catch-all alone would earn on it: it is the higher rule that takes it away.
    expect(earn(rules.slice(0, 1), smokes, member(), ctx()).points).toBe(500);
    // Any non-tobacco item is still earned on by the top rule, not the catch-all.
    const mixed = earn(rules, purchase([...smokes.items, item(1000)]), member(), ctx());
    expect(byLine(mixed)).toEqual({ 'no-tobacco': 10 });
  });

  it('lets the highest-priority exclusive rule replace the rest', () => {
    const everyday = [
      rule({ id: 'base', effect: { type: 'rate', points: 1, per: 100 } }),
      rule({ id: 'double', effect: { type: 'multiplier', factor: 2 } }),
      rule({ id: 'welcome', effect: { type: 'bonus', points: 50 } }),
    ];
    const m = member({ tierMultiplier: { tier: 'gold', factor: 1.5 } });
    const basket = purchase([item(10_000, { category: 'wine' }), item(20_000)]);
    // base 300, ×2 adds 300, the tier's 1.5× adds 300, the bonus 50.
    expect(earn(everyday, basket, m, ctx()).points).toBe(950);

    // 5 points per ¥1 on wine, and nothing else.
    const wineWeek = rule({
      id: 'wine-week',
      priority: 5,
      exclusive: true,
      effect: { type: 'rate', points: 5, per: 100 },
      conditions: { categories: ['wine'] },
    });
    const alone = earn([...everyday, wineWeek], basket, m, ctx());
    expect(byLine(alone)).toEqual({ 'wine-week': 500 });
    expect(alone.matched).toEqual([{ id: 'wine-week', version: 1 }]);
    expect(alone.weights).toEqual([500_000_000, 0]);

    // An exclusive ×3 keeps the base but drops ×2, the tier and the bonus.
    const triple = rule({
      id: 'triple',
      priority: 5,
      exclusive: true,
      effect: { type: 'multiplier', factor: 3 },
    });
    const tripled = earn([...everyday, triple], basket, m, ctx());
    expect(byLine(tripled)).toEqual({ base: 300, triple: 600 });
    expect(tripled.matched).toEqual([
      { id: 'triple', version: 1 },
      { id: 'base', version: 1 },
    ]);

    // Two exclusive rules: the higher priority wins; an exclusive bonus earns alone.
    const jackpot = rule({
      id: 'jackpot',
      priority: 9,
      exclusive: true,
      effect: { type: 'bonus', points: 888 },
    });
    expect(byLine(earn([...everyday, triple, jackpot], basket, m, ctx()))).toEqual({
      jackpot: 888,
    });
  });

  describe('birthday rules', () => {
    const kinds = ['day', 'week', 'month'] as const;
    const rules = kinds.map((k) =>
      rule({ id: k, effect: { type: 'bonus', points: 100 }, conditions: { birthday: k } }),
    );
    const which = (birthday: string | null, localDate: string) =>
      earn(
        rules,
        purchase([item(1000)], { occurredAt: new Date(`${localDate}T12:00:00+08:00`) }),
        member({ birthday }),
        ctx(),
      ).matched.map((r) => r.id);

    it('matches the day, the Monday–Sunday week and the month of the birthday', () => {
      // 2026-03-18 is a Wednesday: its week runs Monday 16 to Sunday 22 March.
      const b = '1990-03-18';
      expect(which(b, '2026-03-18')).toEqual(['day', 'month', 'week']);
      expect(which(b, '2026-03-16')).toEqual(['month', 'week']);
      expect(which(b, '2026-03-22')).toEqual(['month', 'week']);
      expect(which(b, '2026-03-15')).toEqual(['month']);
      expect(which(b, '2026-03-23')).toEqual(['month']);
      expect(which(b, '2026-04-18')).toEqual([]);
      expect(which(null, '2026-03-18')).toEqual([]);
    });

    it('uses the local date: 00:30 on the 18th in Shanghai is the birthday', () => {
      const p = earn(
        rules,
        purchase([item(1000)], { occurredAt: new Date('2026-03-17T16:30:00Z') }),
        member({ birthday: '1990-03-18' }),
        ctx(),
      );
      expect(p.matched.map((r) => r.id)).toContain('day');
    });

    it('keeps a 29 February birthday on 28 February in a common year', () => {
      const b = '2000-02-29';
      // 2027: the birthday is Sunday 28 Feb; its week is 22–28 Feb.
      expect(which(b, '2027-02-28')).toEqual(['day', 'month', 'week']);
      expect(which(b, '2027-02-22')).toEqual(['month', 'week']);
      expect(which(b, '2027-03-01')).toEqual([]);
      // 2028 is a leap year: the day is the 29th (a Tuesday), its week 28 Feb – 5 Mar.
      expect(which(b, '2028-02-29')).toEqual(['day', 'month', 'week']);
      expect(which(b, '2028-02-28')).toEqual(['month', 'week']);
      expect(which(b, '2028-03-05')).toEqual(['week']);
      expect(which(b, '2028-02-27')).toEqual(['month']);
      expect(which(b, '2028-03-06')).toEqual([]);
    });
  });

  it('rounds once per purchase, by the program’s policy (1 point per ¥18 over three items)', () => {
    const rate = [rule({ id: 'r', effect: { type: 'rate', points: 1, per: 1800 } })];
    const points = (amounts: number[], rounding: Rounding) =>
      earn(rate, purchase(amounts.map((a) => item(a))), member(), ctx(rounding)).points;
    // 3000 / 1800 = 1.67: rounding each item (0.56 each) down would earn nothing.
    expect(points([1000, 1000, 1000], 'floor')).toBe(1);
    expect(points([1000, 1000, 1000], 'round')).toBe(2);
    expect(points([1000, 1000, 1000], 'ceil')).toBe(2);
    // 2500 / 1800 = 1.39.
    expect(points([1000, 1000, 500], 'floor')).toBe(1);
    expect(points([1000, 1000, 500], 'round')).toBe(1);
    expect(points([1000, 1000, 500], 'ceil')).toBe(2);
    // 2700 / 1800 = 1.5 exactly: half up.
    expect(points([900, 900, 900], 'round')).toBe(2);
  });

  it('gives the rounding’s units to the lines with the largest fractions', () => {
    const rules = [
      rule({ id: 'a', priority: 2, effect: { type: 'rate', points: 1, per: 1000 } }),
      rule({ id: 'b', priority: 1, effect: { type: 'multiplier', factor: 1.09 } }),
      rule({ id: 'c', effect: { type: 'multiplier', factor: 1.05 } }),
    ];
    // a: 10.1; b: 10.1 × 0.09 = 0.909; c: 10.1 × 1.09 × 0.05 = 0.55045 — Σ 11.55945.
    const at = (rounding: Rounding) =>
      earn(rules, purchase([item(10_100)]), member(), ctx(rounding));
    expect(byLine(at('ceil'))).toEqual({ a: 10, b: 1, c: 1 });
    expect(byLine(at('round'))).toEqual({ a: 10, b: 1, c: 1 });
    // Floor: one unit beyond the floors (10), to the largest fraction; c ends at 0 and is left
    // out of the lines, but still matched.
    expect(byLine(at('floor'))).toEqual({ a: 10, b: 1 });
    expect(at('floor').matched.map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });

  it('breaks a tie between fractions in favour of the earlier line', () => {
    // Three rate lines of 10.5 each (Σ 31.5): ceil gives 32, the two extra units to a and b.
    const rules = ['a', 'b', 'c'].map((id) =>
      rule({ id, effect: { type: 'rate', points: 1, per: 1000 }, conditions: { skus: [id] } }),
    );
    const items = ['c', 'b', 'a'].map((sku) => item(10_500, { sku }));
    expect(byLine(earn(rules, purchase(items), member(), ctx('ceil')))).toEqual({
      a: 11,
      b: 11,
      c: 10,
    });
  });

  it('caps a line at perPurchase before rounding', () => {
    const rules = [
      rule({
        id: 'r',
        effect: { type: 'rate', points: 1, per: 100 },
        limits: { perPurchase: 500, perMemberPerDay: 1000 },
      }),
    ];
    const p = earn(rules, purchase([item(100_000)]), member(), ctx());
    expect(p.lines).toEqual([
      { ruleId: 'r', version: 1, name: 'r', points: 500, limits: rules[0]?.limits },
    ]);
  });

  it('weighs each item by what its line kept under a cap, for returns', () => {
    const rules = [
      rule({
        id: 'wine',
        effect: { type: 'rate', points: 1, per: 100 },
        conditions: { categories: ['wine'] },
        limits: { perPurchase: 100 },
      }),
      rule({
        id: 'food',
        effect: { type: 'rate', points: 1, per: 100 },
        conditions: { categories: ['food'] },
      }),
    ];
    const items = [item(100_000, { category: 'wine' }), item(10_000, { category: 'food' })];
    const p = earn(rules, purchase(items), member(), ctx());
    expect(byLine(p)).toEqual({ wine: 100, food: 100 });
    expect(p.weights).toEqual([100_000_000, 100_000_000]);
    expect(
      takenBackTotal(p.points, p.weights, items, 110_000, { quantities: [1, 0], amount: 0 }),
    ).toBe(100);
  });

  it('checks the purchase-level conditions', () => {
    const sunday = new Date('2026-03-08T12:00:00+08:00');
    const base = purchase([item(10_000)], {
      occurredAt: sunday,
      store: 'sh-01',
      channel: 'app',
      paymentMethod: 'card',
    });
    const hits = (conditions: Conditions, p = base, m = member({ tier: 'gold' })) =>
      earn([rule({ id: 'r', effect: { type: 'bonus', points: 1 }, conditions })], p, m, ctx())
        .points === 1;
    expect(hits({ weekdays: [6, 7] })).toBe(true);
    expect(hits({ weekdays: [1] })).toBe(false);
    // 00:30 on Monday in Shanghai is still Sunday in UTC.
    expect(hits({ weekdays: [1] }, { ...base, occurredAt: new Date('2026-03-08T16:30:00Z') })).toBe(
      true,
    );
    expect(hits({ from: '2026-03-08T04:00:00Z', to: '2026-03-09T00:00:00Z' })).toBe(true);
    expect(hits({ from: '2026-03-08T04:00:01Z' })).toBe(false);
    expect(hits({ to: '2026-03-08T04:00:00Z' })).toBe(false); // `to` is exclusive
    expect(hits({ minSpend: 10_000 })).toBe(true);
    expect(hits({ minSpend: 10_001 })).toBe(false);
    expect(hits({ stores: ['sh-01'], channels: ['app', 'pos'], paymentMethods: ['card'] })).toBe(
      true,
    );
    expect(hits({ channels: ['pos'] })).toBe(false);
    expect(hits({ channels: ['app'] }, { ...base, channel: null })).toBe(false);
    expect(hits({ tiers: ['gold'] })).toBe(true);
    expect(hits({ tiers: ['gold'] }, base, member())).toBe(false);
    expect(hits({ firstPurchase: true })).toBe(false);
    expect(hits({ firstPurchase: true }, base, member({ firstPurchase: true }))).toBe(true);
    // An empty list is no condition: the console sends [] for "any".
    expect(hits({ tiers: [], stores: [], weekdays: [], categories: [] })).toBe(true);
  });

  it('takes back half the points when half the quantity is returned', () => {
    const rules = [rule({ id: 'r', effect: { type: 'rate', points: 1, per: 100 } })];
    const items = [item(10_000, { quantity: 4 }), item(30_000, { quantity: 1 })];
    const p = earn(rules, purchase(items), member(), ctx());
    expect(p.points).toBe(400);
    const back = (quantities: number[], amount = 0) =>
      takenBackTotal(p.points, p.weights, items, 40_000, { quantities, amount });
    expect(back([2, 0])).toBe(50);
    expect(back([0, 1])).toBe(300);
    expect(back([2, 1])).toBe(350);
    expect(back([0, 0], 20_000)).toBe(200);
    expect(back([4, 1])).toBe(400);
    expect(back([4, 1], 5000)).toBe(400);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over generated rules and purchases.

const CATEGORIES = ['food', 'wine', 'tobacco', 'books'];
const SKUS = ['s1', 's2', 's3', 's4'];
const TIERS = ['member', 'gold', 'platinum'];
const CHANNELS = ['app', 'pos'];

const some = <T>(values: T[]) => fc.option(fc.subarray(values), { nil: undefined });

const conditionsArb: fc.Arbitrary<Conditions> = fc.record(
  {
    tiers: some(TIERS),
    channels: some(CHANNELS),
    categories: some(CATEGORIES),
    excludeCategories: some(CATEGORIES),
    skus: some(SKUS),
    excludeSkus: some(SKUS),
    minSpend: fc.integer({ min: 0, max: 100_000 }),
  },
  { requiredKeys: [] },
);

const effectArb: fc.Arbitrary<Effect> = fc.oneof(
  fc.record({
    type: fc.constant('rate' as const),
    points: fc.integer({ min: 1, max: 5 }),
    per: fc.constantFrom(1, 3, 100, 1000, 1800),
  }),
  fc.record({
    type: fc.constant('multiplier' as const),
    factor: fc.integer({ min: 10_000, max: 30_000 }).map((k) => k / 10_000),
  }),
  fc.record({ type: fc.constant('bonus' as const), points: fc.integer({ min: 0, max: 500 }) }),
);

const rulesArb = (opts: { caps?: boolean; exclusive?: boolean; effect?: fc.Arbitrary<Effect> }) =>
  fc.uniqueArray(
    fc.record({
      id: fc.constantFrom('r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6'),
      version: fc.integer({ min: 1, max: 3 }),
      name: fc.constant('a rule'),
      priority: fc.integer({ min: 0, max: 3 }),
      exclusive: opts.exclusive === false ? fc.constant(false) : fc.nat(6).map((n) => n === 0),
      conditions: conditionsArb,
      effect: opts.effect ?? effectArb,
      limits: opts.caps
        ? fc.record({ perPurchase: fc.integer({ min: 0, max: 300 }) }, { requiredKeys: [] })
        : fc.constant({}),
    }),
    { selector: (r) => r.id, maxLength: 7 },
  );

const itemArb = (categories = CATEGORIES): fc.Arbitrary<Item> =>
  fc.record({
    sku: fc.option(fc.constantFrom(...SKUS), { nil: null }),
    category: fc.option(fc.constantFrom(...categories), { nil: null }),
    quantity: fc.integer({ min: 1, max: 5 }),
    amount: fc.integer({ min: 0, max: 200_000 }),
  });

const purchaseArb = (items = fc.array(itemArb(), { minLength: 1, maxLength: 5 })) =>
  fc
    .record({
      items,
      channel: fc.option(fc.constantFrom(...CHANNELS), { nil: null }),
      occurredAt: fc.constant(new Date('2026-03-10T12:00:00+08:00')),
    })
    .map(
      (p): PurchaseFacts => ({
        ...p,
        amount: p.items.reduce((s, i) => s + i.amount, 0),
        store: null,
        paymentMethod: null,
      }),
    );

const memberArb: fc.Arbitrary<MemberFacts> = fc.record({
  tier: fc.option(fc.constantFrom(...TIERS), { nil: null }),
  tierMultiplier: fc.option(
    fc.record({
      tier: fc.constantFrom(...TIERS),
      factor: fc.integer({ min: 10_000, max: 20_000 }).map((k) => k / 10_000),
    }),
    { nil: null },
  ),
  birthday: fc.constant(null),
  firstPurchase: fc.boolean(),
});

const roundingArb = fc.constantFrom<Rounding>('floor', 'round', 'ceil');

/**
 * The exact total, written independently of the engine: each item's final earning as one product
 * (base × every factor that reaches it), plus the bonuses. A fraction is [numerator, denominator],
 * never reduced. Also the ids of the rules `matched` should list, by priority. Handles the
 * generated conditions only; no perPurchase caps.
 */
function reference(
  rules: Rule[],
  p: PurchaseFacts,
  m: MemberFacts,
): { exact: [bigint, bigint]; matched: string[] } {
  const add = (a: [bigint, bigint], b: [bigint, bigint]): [bigint, bigint] => [
    a[0] * b[1] + b[0] * a[1],
    a[1] * b[1],
  ];
  const allowed = (list: string[] | undefined, v: string | null) =>
    list === undefined || list.length === 0 || (v !== null && list.includes(v));
  const inList = (list: string[] | undefined, v: string | null) =>
    v !== null && (list ?? []).includes(v);
  const coversIt = (r: Rule, it: Item) => {
    const c = r.conditions;
    if (!c.categories?.length && !c.skus?.length) return true;
    return inList(c.categories, it.category) || inList(c.skus, it.sku);
  };
  const excludesIt = (r: Rule, it: Item) =>
    inList(r.conditions.excludeCategories, it.category) || inList(r.conditions.excludeSkus, it.sku);
  const earnsOnIt = (r: Rule, it: Item) => coversIt(r, it) && !excludesIt(r, it);

  const sorted = [...rules].sort((a, b) =>
    a.priority !== b.priority ? b.priority - a.priority : a.id < b.id ? -1 : 1,
  );
  // A non-exclusive rate or multiplier rule needs only the purchase-level conditions; a bonus or
  // an exclusive rule also needs an item it earns on.
  const live = sorted.filter(
    (r) =>
      allowed(r.conditions.tiers, m.tier) &&
      allowed(r.conditions.channels, p.channel) &&
      p.amount >= (r.conditions.minSpend ?? 0) &&
      ((r.effect.type !== 'bonus' && !r.exclusive) || p.items.some((it) => earnsOnIt(r, it))),
  );
  const top = live.find((r) => r.exclusive);
  const k = (factor: number) => BigInt(Math.round(factor * 10_000));
  const ids = (rs: Rule[]) => rs.map((r) => r.id);

  let total: [bigint, bigint] = [0n, 1n];
  if (top?.effect.type === 'bonus')
    return { exact: [BigInt(top.effect.points), 1n], matched: [top.id] };
  if (top?.effect.type === 'rate') {
    for (const it of p.items)
      if (earnsOnIt(top, it))
        total = add(total, [BigInt(it.amount * top.effect.points), BigInt(top.effect.per)]);
    return { exact: total, matched: [top.id] };
  }
  const multipliers = top ? [top] : live.filter((r) => r.effect.type === 'multiplier');
  const tookPart = live.filter((r) =>
    r.effect.type === 'rate'
      ? p.items.some((it) => coversIt(r, it))
      : r.effect.type === 'multiplier'
        ? multipliers.includes(r) && p.items.some((it) => earnsOnIt(r, it))
        : !top,
  );
  for (const it of p.items) {
    const decider = live.find((r) => r.effect.type === 'rate' && coversIt(r, it));
    if (decider?.effect.type !== 'rate' || excludesIt(decider, it)) continue;
    let earning: [bigint, bigint] = [
      BigInt(it.amount * decider.effect.points),
      BigInt(decider.effect.per),
    ];
    for (const r of multipliers)
      if (r.effect.type === 'multiplier' && earnsOnIt(r, it))
        earning = [earning[0] * k(r.effect.factor), earning[1] * 10_000n];
    if (!top && m.tierMultiplier)
      earning = [earning[0] * k(m.tierMultiplier.factor), earning[1] * 10_000n];
    total = add(total, earning);
  }
  if (!top)
    for (const r of live)
      if (r.effect.type === 'bonus') total = add(total, [BigInt(r.effect.points), 1n]);
  return { exact: total, matched: ids(tookPart) };
}

const rounded = ([n, d]: [bigint, bigint], rounding: Rounding) =>
  Number(
    rounding === 'floor' ? n / d : rounding === 'ceil' ? (n + d - 1n) / d : (2n * n + d) / (2n * d),
  );

describe('earn, as a property', () => {
  it('sums its positive integer lines to the total the policy gives the exact reference', () => {
    fc.assert(
      fc.property(rulesArb({}), purchaseArb(), memberArb, roundingArb, (rules, p, m, rounding) => {
        const e = earn(rules, p, m, ctx(rounding));
        for (const l of e.lines) {
          expect(Number.isInteger(l.points)).toBe(true);
          expect(l.points).toBeGreaterThan(0);
        }
        expect(e.lines.reduce((s, l) => s + l.points, 0)).toBe(e.points);
        const { exact, matched } = reference(rules, p, m);
        expect(e.points).toBe(rounded(exact, rounding));
        expect(e.matched.map((r) => r.id)).toEqual(matched);
        // The weights are the exact earning, ×1,000,000, each floored.
        expect(e.weights).toHaveLength(p.items.length);
        if (p.amount > 0) {
          const [n, d] = exact;
          const w = BigInt(e.weights.reduce((s, x) => s + x, 0));
          expect(w * d <= n * 1_000_000n).toBe(true);
          expect((w + BigInt(p.items.length)) * d > n * 1_000_000n).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never lets a line pass its rule’s perPurchase, nor a weight go negative or fractional', () => {
    fc.assert(
      fc.property(
        rulesArb({ caps: true }),
        purchaseArb(),
        memberArb,
        roundingArb,
        (rules, p, m, rounding) => {
          const e = earn(rules, p, m, ctx(rounding));
          for (const l of e.lines) {
            if (l.limits.perPurchase !== undefined)
              expect(l.points).toBeLessThanOrEqual(l.limits.perPurchase);
            expect(l.limits).toBe(rules.find((r) => r.id === l.ruleId)?.limits ?? l.limits);
          }
          expect(e.lines.reduce((s, l) => s + l.points, 0)).toBe(e.points);
          for (const w of e.weights) {
            expect(Number.isInteger(w)).toBe(true);
            expect(w).toBeGreaterThanOrEqual(0);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('gives the same answer for the same input, whatever the rules’ order', () => {
    fc.assert(
      fc.property(
        rulesArb({ caps: true }).chain((rules) =>
          fc.tuple(
            fc.constant(rules),
            fc.shuffledSubarray(rules, { minLength: rules.length, maxLength: rules.length }),
          ),
        ),
        purchaseArb(),
        memberArb,
        roundingArb,
        ([rules, shuffled], p, m, rounding) => {
          const e = earn(rules, p, m, ctx(rounding));
          expect(earn(rules, p, m, ctx(rounding))).toEqual(e);
          expect(earn(shuffled, p, m, ctx(rounding))).toEqual(e);
        },
      ),
      { numRuns: 300 },
    );
  });

  // A top rate rule that covers everything and excludes tobacco, and lower rules without bonuses.
  const noBonus = effectArb.filter((e) => e.type !== 'bonus');
  const noTobacco = rule({
    id: 'base',
    priority: 10,
    effect: { type: 'rate', points: 1, per: 100 },
    conditions: { excludeCategories: ['tobacco'] },
  });
  const tobaccoItems = (maxLength: number) =>
    fc.array(
      itemArb().map((i) => ({ ...i, category: 'tobacco' })),
      { minLength: 1, maxLength },
    );

  it('earns nothing on an item its deciding rate rule excludes, under any multiplier', () => {
    // The top rate rule covers everything and excludes tobacco: it decides every item, so tobacco
    // has no base. Adding tobacco then changes neither the lines nor the other items' weights.
    // Held fixed, because they would change which rules match or earn (a different question):
    // no exclusive rules (a tobacco-only one would take over), no minSpend (the amount grows) and
    // no bonuses (a tobacco-only bonus would start to match).
    const others = rulesArb({ exclusive: false, caps: true, effect: noBonus }).map((rs) =>
      rs.map((r) => ({ ...r, conditions: { ...r.conditions, minSpend: undefined } })),
    );
    const nonTobacco = fc.array(itemArb(['food', 'wine', 'books']), {
      minLength: 1,
      maxLength: 4,
    });
    const tobacco = tobaccoItems(3);
    fc.assert(
      fc.property(
        others,
        purchaseArb(nonTobacco),
        tobacco,
        memberArb,
        roundingArb,
        (rs, p, smokes, m, rounding) => {
          const rules = [noTobacco, ...rs];
          const without = earn(rules, p, m, ctx(rounding));
          const withItems = [...p.items, ...smokes];
          const amount = withItems.reduce((s, i) => s + i.amount, 0);
          const e = earn(rules, { ...p, items: withItems, amount }, m, ctx(rounding));
          expect(e.points).toBe(without.points);
          expect(e.lines).toEqual(without.lines);
          expect(e.weights.slice(p.items.length).every((w) => w === 0)).toBe(true);
          expect(e.weights.slice(0, p.items.length)).toEqual(without.weights);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('earns nothing on a basket its top rate rule excludes entirely, whatever covers it below', () => {
    // The top rate rule covers everything, so it decides every item and excludes them all; any
    // lower non-exclusive rate rule or multiplier (which match without an item to earn on) and the
    // tier multiplier have no base to work on. Bonuses and exclusive rules are left out: they
    // need an item they earn on, and one that covers tobacco would rightly earn.
    const smokes = tobaccoItems(4);
    fc.assert(
      fc.property(
        rulesArb({ exclusive: false, caps: true, effect: noBonus }),
        purchaseArb(smokes),
        memberArb,
        roundingArb,
        (rs, p, m, rounding) => {
          const e = earn([noTobacco, ...rs], p, m, ctx(rounding));
          expect(e.points).toBe(0);
          expect(e.lines).toEqual([]);
          expect(e.weights.every((w) => w === 0)).toBe(true);
          expect(e.matched[0]?.id).toBe('base');
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('takenBackTotal, as a property', () => {
  const caseArb = fc
    .tuple(
      rulesArb({ caps: true }),
      purchaseArb(),
      memberArb,
      fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { maxLength: 8 }),
    )
    .map(([rules, p, m, steps]) => ({ e: earn(rules, p, m, ctx()), p, steps }));

  it('never decreases, never passes what was earned, and a full return takes it all', () => {
    fc.assert(
      fc.property(caseArb, ({ e, p, steps }) => {
        const returned = { quantities: p.items.map(() => 0), amount: 0 };
        let before = 0;
        for (const [which, howMuch, byAmount] of steps) {
          if (byAmount) returned.amount += howMuch % (p.amount + 1);
          else {
            const i = which % p.items.length;
            const left = (p.items[i]?.quantity ?? 0) - (returned.quantities[i] ?? 0);
            returned.quantities[i] = (returned.quantities[i] ?? 0) + (howMuch % (left + 1));
          }
          const now = takenBackTotal(e.points, e.weights, p.items, p.amount, returned);
          expect(Number.isInteger(now)).toBe(true);
          expect(now).toBeGreaterThanOrEqual(before);
          expect(now).toBeLessThanOrEqual(e.points);
          before = now;
        }
        const all = { quantities: p.items.map((i) => i.quantity), amount: 0 };
        const full = takenBackTotal(e.points, e.weights, p.items, p.amount, all);
        expect(full).toBe(e.weights.some((w) => w > 0) ? e.points : 0);
      }),
      { numRuns: 500 },
    );
  });

  it('for growth (weights = item amounts) takes back the returned amount’s share', () => {
    fc.assert(
      fc.property(
        fc.array(itemArb(), { minLength: 1, maxLength: 5 }),
        fc.nat({ max: 100_000 }),
        fc.nat(),
        (items, earned, pick) => {
          const amount = items.reduce((s, i) => s + i.amount, 0);
          const weights = items.map((i) => i.amount);
          const i = pick % items.length;
          const quantities = items.map((it, j) => (j === i ? it.quantity : 0));
          const got = takenBackTotal(earned, weights, items, amount, { quantities, amount: 0 });
          const expected =
            amount === 0 ? 0 : Math.floor((earned * (items[i]?.amount ?? 0)) / amount);
          expect(got).toBe(expected);
        },
      ),
    );
  });
});
