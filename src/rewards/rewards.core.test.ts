import { describe, expect, it } from 'vitest';
import { periodKey, priceFor, stockLeft, unavailability, unitCost } from './rewards.core.ts';

describe('rewards core', () => {
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
