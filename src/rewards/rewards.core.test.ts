import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  periodKey,
  priceFor,
  type Reward,
  rankByTier,
  SUGGESTIONS,
  stockLeft,
  suggestionsFor,
  unavailability,
  unitCost,
} from './rewards.core.ts';

const reward = (id: number, pricePoints: number, gold?: number): Reward => ({
  id: `r${String(id).padStart(4, '0')}`,
  programId: 'p',
  sku: `S${id}`,
  name: `Reward ${id}`,
  kind: 'goods',
  pricePoints,
  priceCash: null,
  supplierCost: null,
  tierPrices: gold === undefined ? [] : [{ tier: 'gold', pricePoints: gold }],
  stock: null,
  reserved: 0,
  perMemberLimit: null,
  startsAt: null,
  endsAt: null,
  onShelf: true,
  supplier: null,
  category: null,
  imageUrl: null,
  couponTemplateId: null,
  createdAt: new Date(0),
  updatedAt: new Date(0),
});

describe('rewards core', () => {
  it('suggests the dearest rewards within reach, at the tier’s prices', () => {
    const ranked = rankByTier(
      [reward(1, 500), reward(2, 300, 250), reward(3, 100)],
      ['member', 'gold'],
    );
    expect(suggestionsFor(ranked, 'member', 400).map((s) => s.pricePoints)).toEqual([300, 100]);
    expect(suggestionsFor(ranked, 'gold', 260).map((s) => s.rewardId)).toEqual(['r0002', 'r0003']);
    expect(suggestionsFor(ranked, 'gold', 99)).toEqual([]);
    expect(suggestionsFor(ranked, 'unknown', 10_000)).toHaveLength(3);
  });

  it('suggests what a plain filter and sort would, for any catalog and balance', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ list: fc.nat(5000), gold: fc.option(fc.nat(5000)) }), {
          maxLength: 40,
        }),
        fc.constantFrom('member', 'gold'),
        fc.nat(6000),
        (rows, tier, available) => {
          const catalog = rows.map((r, i) => reward(i, r.list, r.gold ?? undefined));
          const naive = catalog
            .map((r) => ({ price: priceFor(r, tier), id: r.id }))
            .filter((r) => r.price <= available)
            .sort((a, b) => b.price - a.price || (a.id < b.id ? -1 : 1))
            .slice(0, SUGGESTIONS);
          const got = suggestionsFor(rankByTier(catalog, ['member', 'gold']), tier, available);
          expect(got.map((s) => [s.rewardId, s.pricePoints])).toEqual(
            naive.map((n) => [n.id, n.price]),
          );
        },
      ),
    );
  });

  it("prices at the member's tier, else the list price", () => {
    const r = { pricePoints: 1000, tierPrices: [{ tier: 'gold', pricePoints: 800 }] };
    expect(priceFor(r, 'gold')).toBe(800);
    expect(priceFor(r, 'silver')).toBe(1000);
    expect(priceFor(r, null)).toBe(1000);
  });

  it('sells only on the shelf and inside the window, the end excluded', () => {
    const now = new Date('2026-12-20T02:00:00Z');
    const open = { onShelf: true, startsAt: null, endsAt: null };
    expect(unavailability(open, now)).toBeUndefined();
    expect(unavailability({ ...open, onShelf: false }, now)).toMatch(/off the shelf/);
    expect(unavailability({ ...open, startsAt: now }, now)).toBeUndefined();
    expect(unavailability({ ...open, startsAt: new Date(now.getTime() + 1) }, now)).toMatch(
      /goes on sale/,
    );
    expect(unavailability({ ...open, endsAt: now }, now)).toMatch(/stopped selling/);
  });

  it('counts limits per local day, month, year, or for ever', () => {
    expect(periodKey({ count: 1, period: null }, '2026-12-31')).toBe('');
    expect(periodKey({ count: 1, period: 'day' }, '2026-12-31')).toBe('2026-12-31');
    expect(periodKey({ count: 1, period: 'month' }, '2026-12-31')).toBe('2026-12');
    expect(periodKey({ count: 1, period: 'year' }, '2026-12-31')).toBe('2026');
  });

  it('leaves unlimited stock unlimited, and costs a unit at the supplier cost, else the cash price', () => {
    expect(stockLeft({ stock: null, reserved: 7 })).toBeNull();
    expect(stockLeft({ stock: 10, reserved: 7 })).toBe(3);
    expect(unitCost({ supplierCost: 500, priceCash: 990 })).toBe(500);
    expect(unitCost({ supplierCost: null, priceCash: 990 })).toBe(990);
    expect(unitCost({ supplierCost: null, priceCash: null })).toBe(0);
  });
});
