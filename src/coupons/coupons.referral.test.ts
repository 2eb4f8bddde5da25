import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { expectReconciled, member } from '../../test/ledger-helpers.ts';
import { runCouponIssuing } from './coupons.service.ts';

// Referral (老带新): a member's share code; a new member who enrolls with it earns a coupon at
// once, and the referrer earns one when the new member first buys.

let t: TestContext;
let adminB: string;
let integrationB: string;
let refereeTpl = '';
let referrerTpl = '';

beforeAll(async () => {
  t = await createTestApp();
  await t.program('shop');
  await t.program('other');
  adminB = await t.key('other', 'admin');
  integrationB = await t.key('other', 'integration');
  for (const [id, fen] of [
    ['welcome', 1000],
    ['thanks', 2000],
  ] as const) {
    const res = await t.call({
      method: 'POST',
      url: '/v1/programs/shop/coupon-templates',
      payload: { id, name: id, kind: 'amount_off', amountOffFen: fen },
    });
    expect(res.statusCode, res.body).toBe(201);
  }
  refereeTpl = 'welcome';
  referrerTpl = 'thanks';
});
afterAll(() => t.close());

let phone = 13600000000;
const newMember = (programId = 'shop') => member(t, programId, String(++phone));

const shareCode = async (memberId: string) => {
  const res = await t.call({
    method: 'GET',
    url: `/v1/programs/shop/members/${memberId}/share-code`,
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().code as string;
};

const refer = (memberId: string, code: string, key?: string) =>
  t.call({
    method: 'POST',
    url: `/v1/programs/shop/members/${memberId}/referral`,
    payload: { code },
    ...(key && { key }),
  });

async function couponsOf(memberId: string) {
  const res = await t.call({ method: 'GET', url: `/v1/programs/shop/members/${memberId}/coupons` });
  expect(res.statusCode, res.body).toBe(200);
  return (res.json().data as { templateId: string }[]).map((c) => c.templateId);
}

let order = 0;
async function buy(memberId: string) {
  const res = await t.call({
    method: 'POST',
    url: '/v1/programs/shop/purchases',
    payload: {
      id: `O-${++order}`,
      member: { id: memberId },
      amount: 5000,
      currency: 'CNY',
      occurredAt: t.clock.now().toISOString(),
    },
  });
  expect(res.statusCode, res.body).toBe(201);
}

describe('referral', () => {
  it('is refused before the program sets it', async () => {
    const a = await newMember();
    const b = await newMember();
    const res = await refer(b, await shareCode(a));
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('not_eligible');
  });

  it('is set by the program admin, audited, and refuses another program’s templates', async () => {
    const bad = await t.call({
      method: 'PUT',
      url: '/v1/programs/other/referral',
      key: adminB,
      payload: { refereeTemplateId: refereeTpl, referrerTemplateId: referrerTpl },
    });
    expect(bad.statusCode).toBe(400);
    const hidden = await t.call({ method: 'GET', url: '/v1/programs/shop/referral', key: adminB });
    expect(hidden.statusCode).toBe(404);
    const res = await t.call({
      method: 'PUT',
      url: '/v1/programs/shop/referral',
      payload: { refereeTemplateId: refereeTpl, referrerTemplateId: referrerTpl },
    });
    expect(res.statusCode, res.body).toBe(200);
    const audit = await t.call({ method: 'GET', url: '/v1/audit?programId=shop' });
    expect(audit.json().data.map((e: { action: string }) => e.action)).toContain(
      'coupon.referral_set',
    );
  });

  it('gives the new member a coupon at once and the referrer one on the first purchase', async () => {
    const referrer = await newMember();
    const code = await shareCode(referrer);
    expect(await shareCode(referrer)).toBe(code);
    const newbie = await newMember();
    const res = await refer(newbie, code.toLowerCase());
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ referrerId: referrer, replayed: false });
    expect(await couponsOf(newbie)).toEqual([refereeTpl]);
    const again = await refer(newbie, code);
    expect(again.statusCode).toBe(200);
    expect(again.json().replayed).toBe(true);
    expect(await couponsOf(newbie)).toEqual([refereeTpl]);

    await runCouponIssuing(t.deps);
    expect(await couponsOf(referrer)).toEqual([]);
    await buy(newbie);
    await buy(newbie);
    await Promise.all([runCouponIssuing(t.deps), runCouponIssuing(t.deps)]);
    await runCouponIssuing(t.deps);
    expect(await couponsOf(referrer)).toEqual([referrerTpl]);
  });

  it('refuses one’s own code, a second referrer, a member who bought, and other programs', async () => {
    const a = await newMember();
    const b = await newMember();
    const codeA = await shareCode(a);
    const own = await refer(a, codeA);
    expect(own.statusCode).toBe(409);
    const c = await newMember();
    expect((await refer(c, codeA)).statusCode).toBe(201);
    const second = await refer(c, await shareCode(b));
    expect(second.statusCode).toBe(409);
    expect(second.json().code).toBe('not_eligible');
    const buyer = await newMember();
    await buy(buyer);
    expect((await refer(buyer, codeA)).statusCode).toBe(409);
    expect(await couponsOf(buyer)).toEqual([]);
    expect((await refer(b, 'AAAA-AAAA-AAAA-AAAA')).statusCode).toBe(404);
    expect((await refer(b, codeA, integrationB)).statusCode).toBe(404);
    const outsider = await newMember('other');
    const res = await t.call({
      method: 'POST',
      url: `/v1/programs/other/members/${outsider}/referral`,
      key: integrationB,
      payload: { code: codeA },
    });
    expect(res.statusCode).toBe(409); // "other" has no referral; shop's code is not its
    const bad = await refer(b, '');
    expect(bad.statusCode).toBe(400);
  });

  it('refers a member who enrolls with the code, in the enrollment itself', async () => {
    const referrer = await newMember();
    const code = await shareCode(referrer);
    const enroll = (referralCode: string) =>
      t.call({
        method: 'POST',
        url: '/v1/programs/shop/members',
        payload: {
          identifiers: [{ type: 'phone', value: String(++phone) }],
          channel: 'app',
          referralCode,
        },
      });
    const res = await enroll(code);
    expect(res.statusCode, res.body).toBe(201);
    const newbie = res.json().id as string;
    expect(await couponsOf(newbie)).toEqual([refereeTpl]);
    // Same as the call after enrollment: a repeat of it answers this referral.
    expect((await refer(newbie, code)).json()).toMatchObject({
      referrerId: referrer,
      replayed: true,
    });
    await buy(newbie);
    await runCouponIssuing(t.deps);
    expect(await couponsOf(referrer)).toEqual([referrerTpl]);

    // A code that is no share code of the program enrolls no one.
    const members = async () =>
      Number(
        (
          await t.deps.db
            .selectFrom('enrollments')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('program_id', '=', 'shop')
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await members();
    const bad = await enroll('0000-0000-0000-0000');
    expect(bad.statusCode, bad.body).toBe(400);
    expect(bad.json().errors[0].path).toBe('referralCode');
    expect(await members()).toBe(before);
  });

  it('reconciles', async () => {
    await expectReconciled(t);
  });
});
