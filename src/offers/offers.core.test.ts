import { describe, expect, it } from 'vitest';
import { chargeOf, fires, purchaseOf, rewardKey, tierUntil } from './offers.core.ts';

const offer = {
  status: 'active' as const,
  minSpendFen: 8900,
  startsAt: new Date('2026-06-01T00:00:00Z'),
  endsAt: new Date('2026-07-01T00:00:00Z'),
};
const purchase = {
  purchaseId: 'p1',
  memberId: 'mem_1',
  amount: 8900,
  currency: 'CNY',
  occurredAt: new Date('2026-06-15T00:00:00Z'),
  sequence: 7,
};

describe('which purchase an offer fires for', () => {
  it('fires at the threshold, in CNY, within the dates (start in, end out), when active', () => {
    expect(fires(offer, purchase)).toBe(true);
    expect(fires(offer, { ...purchase, amount: 8899 })).toBe(false);
    expect(fires(offer, { ...purchase, currency: 'USD' })).toBe(false);
    expect(fires({ ...offer, status: 'paused' }, purchase)).toBe(false);
    expect(fires(offer, { ...purchase, occurredAt: offer.startsAt })).toBe(true);
    expect(fires(offer, { ...purchase, occurredAt: offer.endsAt })).toBe(false);
  });

  it('reads a purchase event, and refuses one that does not say what it needs', () => {
    const data = {
      purchaseId: 'p1',
      amount: 8900,
      currency: 'CNY',
      occurredAt: '2026-06-15T00:00:00.000Z',
    };
    expect(purchaseOf({ sequence: 7, memberId: 'mem_1', data })).toEqual(purchase);
    expect(purchaseOf({ sequence: 7, memberId: null, data })).toBeUndefined();
    expect(
      purchaseOf({ sequence: 7, memberId: 'mem_1', data: { ...data, amount: '8900' } }),
    ).toBeUndefined();
  });
});

describe('what A owes B', () => {
  it('is the cost, A to B; nothing when free or when A is B', () => {
    const o = { programId: 'shop-a', rewardProgramId: 'gym-b' };
    expect(chargeOf(o, 500, 1250)).toEqual({
      debtor: 'shop-a',
      creditor: 'gym-b',
      points: 500,
      amountFen: 1250,
    });
    expect(chargeOf(o, null, 0)).toBeNull();
    expect(chargeOf({ programId: 'gym-b', rewardProgramId: 'gym-b' }, null, 100)).toBeNull();
  });

  it('names the reward by offer and purchase, and ends a tier after its days', () => {
    expect(rewardKey('of-1', 'p-9')).toBe('offer:of-1:p-9');
    expect(tierUntil(new Date('2026-06-01T00:00:00Z'), 30).toISOString()).toBe(
      '2026-07-01T00:00:00.000Z',
    );
  });
});
