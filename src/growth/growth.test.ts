import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { expectReconciled, member } from '../../test/ledger-helpers.ts';
import { forgetLimits } from '../ledger/ledger.service.ts';
import { postGrowth } from './growth.service.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
  await t.program('shop');
  await t.program('other');
});
afterAll(async () => {
  await expectReconciled(t);
  await t.close();
});

const growthUrl = (p: string, m: string) => `/v1/programs/${p}/members/${m}/growth`;

async function post(p: string, m: string, source: string, value: number, reference = 'ref') {
  return t.call({ method: 'POST', url: growthUrl(p, m), payload: { source, value, reference } });
}

async function setPolicy(p: string, policy: object) {
  const res = await t.call({
    method: 'PUT',
    url: `/v1/programs/${p}/growth-policy`,
    payload: policy,
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

describe('growth policy', () => {
  it('has a default until set, and setting it is audited', async () => {
    const res = await t.call({ method: 'GET', url: '/v1/programs/shop/growth-policy' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ mode: 'one_way', windowMonths: 12, memberDailyCap: null });
    expect(res.json().sources.map((s: { source: string }) => s.source)).toContain('checkin');
    const set = await setPolicy('shop', {
      mode: 'two_way',
      sources: [{ source: 'spend' }, { source: 'checkin', dailyCap: 100 }, { source: 'review' }],
      memberDailyCap: 500,
    });
    expect(set).toMatchObject({ mode: 'two_way', windowMonths: 12, spike: null });
    const audit = await t.call({ method: 'GET', url: '/v1/audit?action=growth.policy_set' });
    expect(audit.json().data).toHaveLength(1);
  });

  it('refuses a bad policy with a 400 and changes nothing', async () => {
    for (const bad of [
      { mode: 'sideways', sources: [{ source: 'spend' }] },
      { mode: 'one_way', sources: [] },
      { mode: 'one_way', sources: [{ source: 'spend' }, { source: 'spend' }] },
      { mode: 'one_way', sources: [{ source: 'Spend!' }] },
      { mode: 'one_way', sources: [{ source: 'spend', dailyCap: -1 }] },
    ]) {
      const res = await t.call({
        method: 'PUT',
        url: '/v1/programs/shop/growth-policy',
        payload: bad,
      });
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
    }
    const res = await t.call({ method: 'GET', url: '/v1/programs/shop/growth-policy' });
    expect(res.json().mode).toBe('two_way');
  });
});

describe('posting growth', () => {
  it('credits within the caps and says what was capped', async () => {
    const m = await member(t, 'shop', '13900000001');
    const first = await post('shop', m, 'checkin', 60);
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json()).toEqual({
      credited: 60,
      capped: 0,
      growth: 60,
      tier: { code: 'member', changed: false },
    });
    const second = await post('shop', m, 'checkin', 60);
    expect(second.json()).toMatchObject({ credited: 40, capped: 20, growth: 100 });
    const third = await post('shop', m, 'checkin', 10);
    expect(third.json()).toMatchObject({ credited: 0, capped: 10, growth: 100 });
    // The member's cap across sources: 500 a day.
    const spend = await post('shop', m, 'spend', 1000);
    expect(spend.json()).toMatchObject({ credited: 400, capped: 600, growth: 500 });
    const view = await t.call({ method: 'GET', url: growthUrl('shop', m) });
    expect(view.statusCode).toBe(200);
    expect(view.json()).toEqual({
      growth: 500,
      bySource: [
        { source: 'checkin', value: 100 },
        { source: 'spend', value: 400 },
      ],
      today: [
        { source: 'spend', credited: 400, cap: null },
        { source: 'checkin', credited: 100, cap: 100 },
        { source: 'review', credited: 0, cap: null },
      ],
    });
    // A new local day (Asia/Shanghai): the caps start again.
    t.clock.advance(24 * 3600_000);
    expect((await post('shop', m, 'checkin', 60)).json()).toMatchObject({ credited: 60 });
    const history = await t.call({ method: 'GET', url: `${growthUrl('shop', m)}/history?limit=2` });
    expect(history.json().data[0]).toMatchObject({ source: 'checkin', requested: 60, value: 60 });
    expect(history.json().nextCursor).not.toBeNull();
    // Counters of days that are over are forgotten (the scheduler's hourly sweep), none before.
    expect(await forgetLimits(t.deps)).toBe(0);
    t.clock.advance(2 * 24 * 3600_000);
    expect(await forgetLimits(t.deps)).toBeGreaterThan(0);
    expect(await forgetLimits(t.deps)).toBe(0);
    t.clock.advance(-2 * 24 * 3600_000); // back to where the other tests expect it
  });

  it('deducts in two_way mode, never below zero', async () => {
    const m = await member(t, 'shop', '13900000002');
    await post('shop', m, 'spend', 30);
    const res = await post('shop', m, 'spend', -50, 'refund-1');
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ credited: -30, capped: 20, growth: 0 });
  });

  it('refuses a deduction in one_way mode, an unknown source, a zero value', async () => {
    const m = await member(t, 'other', '13900000003');
    const res = await post('other', m, 'spend', -5);
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('growth_one_way');
    const unknown = await post('other', m, 'lottery', 5);
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().detail).toContain('lottery');
    expect((await post('other', m, 'spend', 0)).statusCode).toBe(400);
  });

  it('gives a blocked member nothing', async () => {
    const m = await member(t, 'shop', '13900000004');
    const block = await t.call({
      method: 'POST',
      url: `/v1/programs/shop/members/${m}/block`,
      payload: { reason: 'fraud' },
    });
    expect(block.statusCode, block.body).toBeLessThan(300);
    const res = await post('shop', m, 'spend', 10);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('member_blocked');
  });

  it('answers a repeated Idempotency-Key once, and keeps other programs out', async () => {
    const m = await member(t, 'shop', '13900000005');
    const send = () =>
      t.call({
        method: 'POST',
        url: growthUrl('shop', m),
        headers: { 'idempotency-key': 'grow-1' },
        payload: { source: 'review', value: 5, reference: 'review-9' },
      });
    const a = await send();
    const b = await send();
    expect(a.statusCode).toBe(201);
    expect(b.body).toBe(a.body);
    expect(b.headers['idempotent-replayed']).toBe('true');
    const view = await t.call({ method: 'GET', url: growthUrl('shop', m) });
    expect(view.json().growth).toBe(5);
    const otherKey = await t.key('other', 'admin');
    const foreign = await t.call({ method: 'GET', url: growthUrl('shop', m), key: otherKey });
    expect(foreign.statusCode).toBe(404);
    const notHere = await t.call({ method: 'GET', url: growthUrl('other', m) });
    expect(notHere.statusCode).toBe(404);
  });

  it('never credits past a daily cap under concurrency', async () => {
    const m = await member(t, 'shop', '13900000006');
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => post('shop', m, 'checkin', 10, `c-${i}`)),
    );
    expect(results.every((r) => r.statusCode === 201)).toBe(true);
    const credited = results.reduce((n, r) => n + r.json().credited, 0);
    expect(credited).toBe(100);
    const view = await t.call({ method: 'GET', url: growthUrl('shop', m) });
    expect(view.json().growth).toBe(100);
  });

  it('answers a repeated command id (a module’s business key) with its first outcome', async () => {
    const m = await member(t, 'shop', '13900000007');
    const input = {
      programId: 'shop',
      memberId: m,
      source: 'spend',
      value: 120,
      reference: 'order-77',
      commandId: 'purchase:order-77',
    };
    const first = await postGrowth(t.deps, input);
    expect(first).toMatchObject({ credited: 120, growth: 120, replayed: false });
    await post('shop', m, 'spend', 10);
    const again = await postGrowth(t.deps, input);
    expect(again).toEqual({ ...first, replayed: true });
    await expect(postGrowth(t.deps, { ...input, value: 5 })).rejects.toMatchObject({
      code: 'command_id_reused',
    });
  });
});
