import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { expectReconciled, member } from '../../test/ledger-helpers.ts';
import { announceBirthdays, runCouponIssuing } from './coupons.service.ts';

// Coupons issued by the worker from the outbox: on a first enrollment and on a tier upgrade,
// exactly once per event however often the worker runs.

let t: TestContext;

beforeAll(async () => {
  t = await createTestApp();
  await t.program('shop');
  await t.program('quiet');
  const ladder = {
    basis: 'growth',
    evaluation: 'immediate',
    tiers: [
      { code: 'member', name: 'Member', threshold: 0 },
      { code: 'silver', name: 'Silver', threshold: 100 },
      { code: 'gold', name: 'Gold', threshold: 500 },
    ],
  };
  const res = await t.call({ method: 'PUT', url: '/v1/programs/shop/tiers', payload: ladder });
  expect(res.statusCode, res.body).toBe(200);
});
afterAll(() => t.close());

let phone = 13700000000;
const newMember = (programId = 'shop') => member(t, programId, String(++phone));

async function template(body: object) {
  const res = await t.call({
    method: 'POST',
    url: '/v1/programs/shop/coupon-templates',
    payload: { name: 'Welcome', kind: 'amount_off', amountOffFen: 500, ...body },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string };
}

async function couponsOf(memberId: string) {
  const res = await t.call({ method: 'GET', url: `/v1/programs/shop/members/${memberId}/coupons` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().data as { templateId: string; reference: string }[];
}

async function setTier(memberId: string, code: string) {
  const res = await t.call({
    method: 'PUT',
    url: `/v1/programs/shop/members/${memberId}/tier`,
    payload: { code, reason: 'test' },
  });
  expect(res.statusCode, res.body).toBe(200);
}

describe('issuing on events', () => {
  it('gives a welcome coupon on enrollment, once, and none for enrollments before it', async () => {
    const early = await newMember();
    const welcome = await template({ issueOn: 'enrollment', validDays: 30 });
    const a = await newMember();
    const b = await newMember();
    const first = await runCouponIssuing(t.deps);
    expect(first.issued).toBe(2);
    const again = await runCouponIssuing(t.deps);
    expect(again).toMatchObject({ issued: 0 });
    for (const m of [a, b]) {
      const mine = await couponsOf(m);
      expect(mine.map((c) => c.templateId)).toEqual([welcome.id]);
      expect(mine[0]?.reference).toMatch(/^event:evt_/);
    }
    expect(await couponsOf(early)).toEqual([]);
    // Enrolling again is not a first enrollment: no second coupon.
    const res = await t.call({
      method: 'POST',
      url: '/v1/programs/shop/members',
      payload: { identifiers: [{ type: 'phone', value: String(phone) }], channel: 'pos' },
    });
    expect(res.statusCode).toBeLessThan(300);
    await runCouponIssuing(t.deps);
    expect(await couponsOf(b)).toHaveLength(1);
    // Another program's enrollments write no event and give nothing.
    await newMember('quiet');
    const events = await t.call({ method: 'GET', url: '/v1/programs/quiet/events' });
    expect(events.statusCode, events.body).toBe(200);
    expect(events.json().data).toEqual([]);
  });

  it('issues exactly once per event even when runs overlap', async () => {
    const tpl = await template({ issueOn: 'enrollment', name: 'Overlap' });
    const members = await Promise.all(Array.from({ length: 10 }, () => newMember()));
    await Promise.all([runCouponIssuing(t.deps), runCouponIssuing(t.deps)]);
    for (const m of members) {
      const mine = (await couponsOf(m)).filter((c) => c.templateId === tpl.id);
      expect(mine).toHaveLength(1);
    }
    await t.call({
      method: 'PATCH',
      url: `/v1/programs/shop/coupon-templates/${tpl.id}`,
      payload: { status: 'closed' },
    });
  });

  it('gives a coupon on an upgrade to the tier it names, and skips when stock runs out', async () => {
    const gold = await template({ issueOn: 'tier_upgrade', issueOnTier: 'gold', stock: 1 });
    const anyUp = await template({ issueOn: 'tier_upgrade' });
    const m = await newMember();
    const n = await newMember();
    await runCouponIssuing(t.deps);
    await setTier(m, 'silver');
    await setTier(m, 'gold');
    await setTier(n, 'gold');
    const report = await runCouponIssuing(t.deps);
    expect(report.skipped).toBe(1); // n's gold coupon: the stock of 1 went to m
    const mine = (await couponsOf(m)).map((c) => c.templateId);
    expect(mine.filter((id) => id === gold.id)).toHaveLength(1);
    expect(mine.filter((id) => id === anyUp.id)).toHaveLength(2);
    const theirs = (await couponsOf(n)).map((c) => c.templateId);
    expect(theirs.filter((id) => id === gold.id)).toHaveLength(0);
    expect(theirs.filter((id) => id === anyUp.id)).toHaveLength(1);
    expect((await runCouponIssuing(t.deps)).issued).toBe(0);
  });
});

describe('issuing on birthdays', () => {
  async function born(birthday: string) {
    const res = await t.call({
      method: 'POST',
      url: '/v1/programs/shop/members',
      payload: {
        identifiers: [{ type: 'phone', value: String(++phone) }],
        channel: 'app',
        profile: { birthday },
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  }

  it('announces each local day once and gives a birthday template once a year', async () => {
    const gift = await template({ issueOn: 'birthday', validDays: 7 });
    const today = await born('1990-06-01');
    const tomorrow = await born('1992-06-02');
    const leapling = await born('2000-02-29');
    // Their welcome coupons (an earlier template) aside:
    const gifts = async (m: string) =>
      (await couponsOf(m)).filter((c) => c.templateId === gift.id).map((c) => c.reference);
    // 2026-06-01 in Shanghai: today's member only; a second run that day announces nothing.
    expect(await announceBirthdays(t.deps)).toBe(1);
    expect(await announceBirthdays(t.deps)).toBe(0);
    await runCouponIssuing(t.deps);
    expect(await gifts(today)).toEqual(['birthday:2026']);
    expect(await gifts(tomorrow)).toEqual([]);

    t.clock.advance(24 * 60 * 60 * 1000);
    expect(await announceBirthdays(t.deps)).toBe(1);
    await runCouponIssuing(t.deps);
    expect(await gifts(tomorrow)).toEqual(['birthday:2026']);

    // The day announced again (its run forgotten): the year's coupon is not given twice.
    await t.deps.db.deleteFrom('daily_runs').where('job', '=', 'birthdays').execute();
    expect(await announceBirthdays(t.deps)).toBe(1);
    expect((await runCouponIssuing(t.deps)).issued).toBe(0);
    expect(await gifts(tomorrow)).toEqual(['birthday:2026']);

    // 29 February is celebrated on 28 February in a common year.
    t.clock.set('2027-02-28T02:00:00Z');
    expect(await announceBirthdays(t.deps)).toBe(1);
    await runCouponIssuing(t.deps);
    expect(await gifts(leapling)).toEqual(['birthday:2027']);
  });
});

describe('after all of it', () => {
  it('reconciles: issued counts equal the coupons', async () => {
    await expectReconciled(t);
  });
});
