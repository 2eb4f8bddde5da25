import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { expectReconciled, member } from '../../test/ledger-helpers.ts';
import { evaluateTiers } from '../growth/growth.service.ts';
import { startOfLocalDay } from '../ledger/expiry.core.ts';
import { sweepExpired } from '../ledger/ledger.service.ts';

// A scripted two years of Alipay's rule (支付宝会员: a rolling 12-month window of growth value, a
// level valid for a year, up at once, down only when validity ends) in Asia/Shanghai, with the
// scheduler's evaluation at every local midnight and a leap day in the window.

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await expectReconciled(t);
  await t.close();
});

const TZ = 'Asia/Shanghai';
const midnight = (date: string) => {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return startOfLocalDay({ year, month, day }, TZ);
};
const noon = (date: string) => new Date(midnight(date).getTime() + 12 * 3600_000);

it('upgrade, renewal, warning, downgrade at validity end; a leap day in the window', async () => {
  t.clock.set(noon('2027-01-01'));
  await t.program('alipay');
  const p = '/v1/programs/alipay';
  await t.call({
    method: 'PUT',
    url: `${p}/growth-policy`,
    payload: { mode: 'rolling', windowMonths: 12, sources: [{ source: 'spend' }] },
  });
  const ladder = await t.call({
    method: 'PUT',
    url: `${p}/tiers`,
    payload: {
      basis: 'growth',
      evaluation: 'periodic',
      validityMonths: 12,
      downgrade: 'to_qualified',
      warningDays: 30,
      tiers: [
        { code: 'mass', name: '大众会员', threshold: 0 },
        { code: 'gold', name: '黄金会员', threshold: 2000 },
        { code: 'platinum', name: '铂金会员', threshold: 6000 },
        { code: 'diamond', name: '钻石会员', threshold: 18000 },
      ],
    },
  });
  expect(ladder.statusCode, ladder.body).toBe(200);
  const m = await member(t, 'alipay', '13600000001');
  const url = `${p}/members/${m}`;

  const earnings: Record<string, number> = {
    '2027-01-10': 2500,
    '2027-08-01': 1200,
    '2027-12-01': 1000,
    '2028-02-29': 300,
  };
  const tierOf = async () => (await t.call({ method: 'GET', url: `${url}/tier` })).json();
  const growth = async () => (await t.call({ method: 'GET', url: `${url}/growth` })).json().growth;
  const checks: Record<string, () => Promise<void>> = {
    '2027-01-10': async () => {
      expect(await tierOf()).toMatchObject({
        tier: { code: 'gold', name: '黄金会员' },
        validUntil: midnight('2028-01-10').toISOString(),
      });
    },
    '2028-01-09': async () => {
      expect(await growth()).toBe(4700);
    },
    // The 2,500 earned a year ago left the window at midnight; 2,200 still qualifies: renewed.
    '2028-01-10': async () => {
      expect(await growth()).toBe(2200);
      expect(await tierOf()).toMatchObject({
        tier: { code: 'gold' },
        since: noon('2027-01-10').toISOString(),
        validUntil: midnight('2029-01-10').toISOString(),
      });
    },
    '2028-12-10': async () => {
      expect(await growth()).toBe(300);
      expect(await warnings()).toHaveLength(0);
    },
    // Thirty days before validity ends, a member who would move down is warned, once.
    '2028-12-11': async () => {
      expect(await warnings()).toHaveLength(1);
    },
    '2029-01-09': async () => {
      expect(await warnings()).toHaveLength(1);
      expect((await tierOf()).tier.code).toBe('gold');
    },
    '2029-01-10': async () => {
      expect(await tierOf()).toMatchObject({
        tier: { code: 'mass' },
        validUntil: null,
        basis: 300,
      });
    },
    // Earned on the leap day: counts through 2029-02-28, gone on 2029-03-01.
    '2029-02-28': async () => {
      expect(await growth()).toBe(300);
    },
    '2029-03-01': async () => {
      expect(await growth()).toBe(0);
      expect((await tierOf()).basis).toBe(0);
    },
  };
  const warnings = async () =>
    (await t.call({ method: 'GET', url: `${p}/events?type=tier.downgrade_warning` })).json().data;

  for (let day = midnight('2027-01-02'); day <= midnight('2029-03-01'); ) {
    const date = new Date(day.getTime() + 12 * 3600_000).toLocaleDateString('en-CA', {
      timeZone: TZ,
    });
    // The scheduler at local midnight: expiry, then tiers.
    t.clock.set(day);
    await sweepExpired(t.deps);
    await evaluateTiers(t.deps);
    const value = earnings[date];
    if (value) {
      t.clock.set(noon(date));
      const res = await t.call({
        method: 'POST',
        url: `${url}/growth`,
        payload: { source: 'spend', value, reference: `order-${date}` },
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    await checks[date]?.();
    day = midnight(
      new Date(day.getTime() + 36 * 3600_000).toLocaleDateString('en-CA', { timeZone: TZ }),
    );
  }

  const history = (await t.call({ method: 'GET', url: `${url}/tier/history` })).json().data;
  expect(
    history.map((h: { from: string; to: string; why: string; at: string }) => [
      h.from,
      h.to,
      h.why,
      h.at,
    ]),
  ).toEqual([
    ['gold', 'mass', 'downgrade', midnight('2029-01-10').toISOString()],
    ['gold', 'gold', 'renewal', midnight('2028-01-10').toISOString()],
    ['mass', 'gold', 'upgrade', noon('2027-01-10').toISOString()],
  ]);
  const events = (await t.call({ method: 'GET', url: `${p}/events` })).json().data;
  expect(events.map((e: { type: string }) => e.type)).toEqual([
    'tier.upgraded',
    'tier.renewed',
    'tier.downgrade_warning',
    'tier.downgraded',
  ]);
});
