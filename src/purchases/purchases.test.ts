import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { adjust, expectReconciled, member, points } from '../../test/ledger-helpers.ts';
import type { createRuleBody } from '../earning/earning.schemas.ts';
import type { purchaseBody } from './purchases.schemas.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
  await t.program('air');
  await t.program('shop');
  await t.program('other');
});
afterAll(async () => {
  await expectReconciled(t);
  await t.close();
});

type RuleInput = z.input<typeof createRuleBody>;
type PurchaseInput = z.input<typeof purchaseBody>;

async function rule(programId: string, body: RuleInput) {
  const res = await t.call({
    method: 'POST',
    url: `/v1/programs/${programId}/earning-rules`,
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

const now = () => t.clock.now().toISOString();

function purchase(programId: string, body: Partial<PurchaseInput> & { id: string }, key?: string) {
  return t.call({
    method: 'POST',
    url: `/v1/programs/${programId}/purchases`,
    payload: { currency: 'CNY', occurredAt: now(), amount: 0, ...body },
    ...(key && { key }),
  });
}

async function bought(programId: string, body: Partial<PurchaseInput> & { id: string }) {
  const res = await purchase(programId, body);
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function setTier(programId: string, memberId: string, code: string) {
  const res = await t.call({
    method: 'PUT',
    url: `/v1/programs/${programId}/members/${memberId}/tier`,
    payload: { code, reason: 'test' },
  });
  expect(res.statusCode, res.body).toBe(200);
}

function returned(programId: string, purchaseId: string, body: object) {
  return t.call({
    method: 'POST',
    url: `/v1/programs/${programId}/purchases/${purchaseId}/returns`,
    payload: { reason: 'changed mind', ...body },
  });
}

describe('earning rules', () => {
  it('are created, listed, changed into new versions and deactivated — audited', async () => {
    const created = await rule('other', {
      id: 'base',
      name: 'Base',
      effect: { type: 'rate', points: 1, per: 100 },
    });
    expect(created).toMatchObject({ id: 'base', version: 1, active: true, priority: 0 });
    const again = await t.call({
      method: 'POST',
      url: '/v1/programs/other/earning-rules',
      payload: { id: 'base', name: 'Base', effect: { type: 'bonus', points: 1 } },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('rule_exists');
    // Two at once with one new id: one is made, the other told it exists (never a 500).
    const racing = await Promise.all(
      [1, 2].map(() =>
        t.call({
          method: 'POST',
          url: '/v1/programs/other/earning-rules',
          payload: { id: 'twin', name: 'Twin', effect: { type: 'bonus', points: 1 } },
        }),
      ),
    );
    expect(racing.map((r) => r.statusCode).sort()).toEqual([201, 409]);

    const changed = await t.call({
      method: 'PATCH',
      url: '/v1/programs/other/earning-rules/base',
      payload: { priority: 5, limits: { budget: 100 } },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json()).toMatchObject({ version: 2, priority: 5, issued: 0, name: 'Base' });

    const gone = await t.call({ method: 'DELETE', url: '/v1/programs/other/earning-rules/base' });
    expect(gone.json()).toMatchObject({ version: 3, active: false });
    const active = await t.call({
      method: 'GET',
      url: '/v1/programs/other/earning-rules?active=true',
    });
    expect(active.json().data.map((r: { id: string }) => r.id)).toEqual(['twin']);
    const all = await t.call({ method: 'GET', url: '/v1/programs/other/earning-rules' });
    expect(all.json().data).toHaveLength(2);

    const audit = await t.call({ method: 'GET', url: '/v1/audit?programId=other' });
    const actions = audit.json().data.map((a: { action: string }) => a.action);
    // base: created, changed, deactivated; twin: created once.
    expect(actions.filter((a: string) => a.startsWith('earning.'))).toHaveLength(4);
  });

  it('refuses a bad rule with a 400, and other programs’ keys', async () => {
    for (const bad of [
      { name: 'x', effect: { type: 'rate', points: 1, per: 0 } },
      { name: 'x', effect: { type: 'multiplier', factor: 1.23456 } },
      { name: 'x', effect: { type: 'bonus', points: 5 }, conditions: { weekdays: [8] } },
      { name: 'x', effect: { type: 'bonus', points: 5 }, conditions: { colour: 'red' } },
      { name: '', effect: { type: 'bonus', points: 5 } },
    ]) {
      const res = await t.call({
        method: 'POST',
        url: '/v1/programs/other/earning-rules',
        payload: bad,
      });
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
    }
    const shopKey = await t.key('shop', 'admin');
    const foreign = await t.call({
      method: 'GET',
      url: '/v1/programs/other/earning-rules',
      key: shopKey,
    });
    expect(foreign.statusCode).toBe(404);
    const integration = await t.key('other', 'integration');
    const notAdmin = await t.call({
      method: 'POST',
      url: '/v1/programs/other/earning-rules',
      payload: { name: 'x', effect: { type: 'bonus', points: 5 } },
      key: integration,
    });
    expect(notAdmin.statusCode).toBe(403);
  });
});

describe('purchases earn by tier (an airline co-branded card)', () => {
  let platinum: string;
  let gold: string;
  let blackGold: string;
  beforeAll(async () => {
    const ladder = await t.call({
      method: 'PUT',
      url: '/v1/programs/air/tiers',
      payload: {
        basis: 'growth',
        evaluation: 'immediate',
        tiers: [
          { code: 'member', name: 'Member', threshold: 0 },
          { code: 'gold', name: 'Gold', threshold: 100_000 },
          { code: 'platinum', name: 'Platinum', threshold: 500_000 },
          {
            code: 'blackgold',
            name: 'Black gold',
            threshold: 1_000_000,
            benefits: [{ code: 'earn', name: 'Earn 1.5×', kind: 'multiplier', value: 1.5 }],
          },
        ],
      },
    });
    expect(ladder.statusCode, ladder.body).toBe(200);
    await rule('air', {
      id: 'platinum',
      name: 'Platinum 1 per ¥10',
      priority: 10,
      conditions: { tiers: ['platinum', 'blackgold'] },
      effect: { type: 'rate', points: 1, per: 1000 },
    });
    await rule('air', {
      id: 'gold',
      name: 'Gold 1 per ¥18',
      priority: 10,
      conditions: { tiers: ['gold'] },
      effect: { type: 'rate', points: 1, per: 1800 },
    });
    platinum = await member(t, 'air', '13900000001');
    gold = await member(t, 'air', '13900000002');
    blackGold = await member(t, 'air', '13900000003');
    await setTier('air', platinum, 'platinum');
    await setTier('air', gold, 'gold');
    await setTier('air', blackGold, 'blackgold');
  });

  it('earns 180 for platinum and 100 for gold on ¥1,800, and 1.5× on a black-gold card', async () => {
    const p = await bought('air', { id: 'A-1', member: { id: platinum }, amount: 180_000 });
    expect(p.points).toEqual({
      earned: 180,
      pending: 0,
      breakdown: [{ ruleId: 'platinum', name: 'Platinum 1 per ¥10', points: 180 }],
    });
    // Spend earns growth value too: 1 per ¥1 by default.
    expect(p.growth).toEqual({ credited: 1800, capped: 0 });
    const g = await bought('air', { id: 'A-2', member: { id: gold }, amount: 180_000 });
    expect(g.points.earned).toBe(100);
    const b = await bought('air', { id: 'A-3', member: { id: blackGold }, amount: 180_000 });
    expect(b.points).toMatchObject({
      earned: 270,
      breakdown: [
        { ruleId: 'platinum', points: 180 },
        { ruleId: 'tier:blackgold', points: 90 },
      ],
    });
    expect((await points(t, 'air', blackGold)).balance).toBe(270);
  });

  it('answers a repeat with its first result, and refuses the same id with another body', async () => {
    const again = await purchase('air', {
      id: 'A-1',
      member: { id: platinum },
      amount: 180_000,
      occurredAt: (await t.call({ method: 'GET', url: '/v1/programs/air/purchases/A-1' })).json()
        .occurredAt,
    });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().points.earned).toBe(180);
    const other = await purchase('air', { id: 'A-1', member: { id: platinum }, amount: 1 });
    expect(other.statusCode).toBe(409);
    expect(other.json().code).toBe('purchase_conflict');
    expect((await points(t, 'air', platinum)).balance).toBe(180);
  });

  it('refuses bad purchases with a clear 4xx and changes nothing', async () => {
    const cases: [Partial<PurchaseInput> & { id: string }, number, string][] = [
      [
        {
          id: 'B-1',
          member: { id: platinum },
          amount: 100,
          items: [{ sku: 'a', quantity: 1, amount: 99 }],
        },
        400,
        'validation_failed',
      ],
      [
        {
          id: 'B-2',
          member: { id: platinum },
          amount: 100,
          occurredAt: new Date(t.clock.now().getTime() + 6 * 60_000).toISOString(),
        },
        400,
        'validation_failed',
      ],
      [{ id: 'B-3', member: { id: 'mem_nobody' }, amount: 100 }, 404, 'not_found'],
      [
        { id: 'B-4', member: { identifier: { type: 'phone', value: '13911112222' } }, amount: 100 },
        404,
        'not_found',
      ],
      [{ id: 'B 5', member: { id: platinum }, amount: 100 }, 400, 'validation_failed'],
    ];
    for (const [body, status, code] of cases) {
      const res = await purchase('air', body);
      expect(res.statusCode, res.body).toBe(status);
      expect(res.json().code).toBe(code);
    }
    const usd = await t.call({
      method: 'POST',
      url: '/v1/programs/air/purchases',
      payload: {
        id: 'B-6',
        member: { id: platinum },
        amount: 1,
        currency: 'USD',
        occurredAt: now(),
      },
    });
    expect(usd.statusCode).toBe(400);
    expect((await points(t, 'air', platinum)).balance).toBe(180);
    // A member of another program is not found here.
    const stranger = await member(t, 'other', '13900000009');
    expect(
      (await purchase('air', { id: 'B-7', member: { id: stranger }, amount: 100 })).statusCode,
    ).toBe(404);
  });

  it('enrolls the payer by identifier when asked, on the purchase’s channel', async () => {
    const res = await purchase('air', {
      id: 'E-1',
      member: { identifier: { type: 'phone', value: '13911112222' } },
      enroll: true,
      channel: 'app',
      amount: 50_000,
    });
    expect(res.statusCode, res.body).toBe(201);
    const m = await t.call({
      method: 'GET',
      url: `/v1/programs/air/members/${res.json().memberId}`,
    });
    expect(m.json().channel).toBe('app');
    // Member tier: no rule matches, so no points; growth still counts.
    expect(res.json()).toMatchObject({ points: { earned: 0 }, growth: { credited: 500 } });
  });

  it('lists a member’s purchases, newest first, and keeps other programs out', async () => {
    const res = await t.call({
      method: 'GET',
      url: `/v1/programs/air/members/${platinum}/purchases`,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().data.map((p: { id: string }) => p.id)).toEqual(['A-1']);
    expect(res.json().data[0].rules).toEqual([{ id: 'platinum', version: 1 }]);
    const shopKey = await t.key('shop', 'admin');
    const foreign = await t.call({
      method: 'GET',
      url: '/v1/programs/air/purchases/A-1',
      key: shopKey,
    });
    expect(foreign.statusCode).toBe(404);
  });
});

describe('campaigns, exclusions, pending points and returns (a retailer)', () => {
  let m: string;
  beforeAll(async () => {
    await rule('shop', {
      id: 'base',
      name: '1 per ¥1, not tobacco',
      priority: 1,
      conditions: { excludeCategories: ['tobacco'] },
      effect: { type: 'rate', points: 1, per: 100 },
    });
    await rule('shop', {
      id: 'member-day',
      name: 'Member day ×2',
      conditions: { daysOfMonth: [8] },
      effect: { type: 'multiplier', factor: 2 },
    });
    m = await member(t, 'shop', '13800000001');
  });

  it('doubles on member day (the 8th) and earns nothing on excluded tobacco', async () => {
    t.clock.set('2026-06-08T04:00:00Z'); // noon in Shanghai
    const p = await bought('shop', {
      id: 'S-1',
      member: { id: m },
      amount: 30_000,
      items: [
        { sku: 'rice', category: 'food', quantity: 2, amount: 20_000 },
        { sku: 'cigs', category: 'tobacco', quantity: 1, amount: 10_000 },
      ],
    });
    expect(p.points).toMatchObject({
      earned: 400,
      breakdown: [
        { ruleId: 'base', points: 200 },
        { ruleId: 'member-day', points: 200 },
      ],
    });
    t.clock.set('2026-06-09T04:00:00Z');
    const q = await bought('shop', { id: 'S-2', member: { id: m }, amount: 20_000 });
    expect(q.points.earned).toBe(200);
  });

  it('previews without writing anything', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/programs/shop/purchases/preview',
      payload: { id: 'S-P', member: { id: m }, amount: 5_000, currency: 'CNY', occurredAt: now() },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().points.earned).toBe(50);
    expect(
      (await t.call({ method: 'GET', url: '/v1/programs/shop/purchases/S-P' })).statusCode,
    ).toBe(404);
    expect((await points(t, 'shop', m)).balance).toBe(600);
    // A recorded id is previewed afresh, not answered from its record.
    const recorded = await t.call({
      method: 'POST',
      url: '/v1/programs/shop/purchases/preview',
      payload: { id: 'S-2', member: { id: m }, amount: 1_000, currency: 'CNY', occurredAt: now() },
    });
    expect(recorded.json().points.earned).toBe(10);
  });

  it('returning half a purchase reverses half its points and growth', async () => {
    const growthPolicy = await t.call({
      method: 'PUT',
      url: '/v1/programs/shop/growth-policy',
      payload: { mode: 'two_way', sources: [{ source: 'spend' }] },
    });
    expect(growthPolicy.statusCode).toBe(200);
    const p = await bought('shop', {
      id: 'S-3',
      member: { id: m },
      amount: 40_000,
      items: [{ sku: 'shoes', category: 'apparel', quantity: 2, amount: 40_000 }],
    });
    expect(p.points.earned).toBe(400);
    const r = await returned('shop', 'S-3', { id: 'R-1', items: [{ sku: 'shoes', quantity: 1 }] });
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json()).toMatchObject({
      amount: 20_000,
      points: { reversed: 200, writtenOff: 0 },
      growth: { reversed: 200 },
    });
    const again = await returned('shop', 'S-3', {
      id: 'R-1',
      items: [{ sku: 'shoes', quantity: 1 }],
    });
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const reused = await returned('shop', 'S-2', { id: 'R-1', amount: 100 });
    expect(reused.statusCode).toBe(409);
    expect(reused.json().code).toBe('purchase_conflict');
    const tooMuch = await returned('shop', 'S-3', {
      id: 'R-2',
      items: [{ sku: 'shoes', quantity: 2 }],
    });
    expect(tooMuch.statusCode).toBe(409);
    expect(tooMuch.json().code).toBe('return_exceeds_purchase');
    const view = await t.call({ method: 'GET', url: '/v1/programs/shop/purchases/S-3' });
    expect(view.json()).toMatchObject({
      returned: { points: 200, growth: 200, amount: 20_000 },
      returns: [{ id: 'R-1', reason: 'changed mind' }],
    });
    const both = await returned('shop', 'S-3', {
      id: 'R-2b',
      items: [{ sku: 'shoes', quantity: 1 }],
      amount: 100,
    });
    expect(both.statusCode).toBe(400);
    // The rest, and then nothing is left.
    const rest = await returned('shop', 'S-3', { id: 'R-3' });
    expect(rest.json().points.reversed).toBe(200);
    expect((await returned('shop', 'S-3', { id: 'R-4', amount: 1 })).statusCode).toBe(409);
  });

  it('writes off what was spent (within_balance), or takes back only pending points', async () => {
    const spender = await member(t, 'shop', '13800000002');
    const p = await bought('shop', { id: 'S-4', member: { id: spender }, amount: 10_000 });
    expect(p.points.earned).toBe(100);
    const spent = await t.call({
      method: 'POST',
      url: `/v1/programs/shop/members/${spender}/points/redemptions`,
      payload: { points: 70, reference: 'gift' },
    });
    expect(spent.statusCode, spent.body).toBe(201);
    const r = await returned('shop', 'S-4', { id: 'R-5' });
    expect(r.json().points).toEqual({ reversed: 30, writtenOff: 70 });
    expect((await points(t, 'shop', spender)).balance).toBe(0);

    const policy = await t.call({
      method: 'PUT',
      url: '/v1/programs/shop/earning-policy',
      payload: { pendingDays: 7, returnPolicy: 'only_pending' },
    });
    expect(policy.statusCode, policy.body).toBe(200);
    const pending = await bought('shop', { id: 'S-5', member: { id: spender }, amount: 10_000 });
    expect(pending.points).toMatchObject({ earned: 100, pending: 100 });
    // Seven days after 9 June, through the end of the 16th, Shanghai time.
    expect(pending.points.pendingUntil).toBe('2026-06-16T16:00:00.000Z');
    await adjust(t, 'shop', spender, 50);
    expect(await points(t, 'shop', spender)).toMatchObject({
      balance: 150,
      pending: 100,
      available: 50,
    });
    const half = await returned('shop', 'S-5', { id: 'R-6', amount: 5_000 });
    expect(half.json().points).toEqual({ reversed: 50, writtenOff: 0 });
    // After the return window the points are the member's: only_pending takes nothing back.
    t.clock.set('2026-06-17T00:00:00Z');
    const late = await returned('shop', 'S-5', { id: 'R-7' });
    expect(late.json().points).toEqual({ reversed: 0, writtenOff: 50 });
    expect((await points(t, 'shop', spender)).balance).toBe(100);
  });
});

describe('tiers follow purchases and returns', () => {
  it('moves a member up on a purchase’s growth and back down when it is returned', async () => {
    await t.program('mall');
    const policy = await t.call({
      method: 'PUT',
      url: '/v1/programs/mall/growth-policy',
      payload: { mode: 'two_way', sources: [{ source: 'spend', rate: { value: 1, per: 100 } }] },
    });
    expect(policy.statusCode, policy.body).toBe(200);
    const ladder = await t.call({
      method: 'PUT',
      url: '/v1/programs/mall/tiers',
      payload: {
        basis: 'growth',
        evaluation: 'immediate',
        tiers: [
          { code: 'member', name: 'Member', threshold: 0 },
          { code: 'silver', name: 'Silver', threshold: 300 },
        ],
      },
    });
    expect(ladder.statusCode, ladder.body).toBe(200);
    const m = await member(t, 'mall', '13600000001');
    const p = await bought('mall', { id: 'T-1', member: { id: m }, amount: 40_000 });
    expect(p).toMatchObject({ growth: { credited: 400 }, tier: { code: 'silver', changed: true } });
    const r = await returned('mall', 'T-1', { id: 'TR-1' });
    expect(r.json()).toMatchObject({
      growth: { reversed: 400 },
      tier: { code: 'member', changed: true },
    });
  });
});

describe('caps and standing', () => {
  it('caps a rule per purchase and per member per day; a new day starts afresh', async () => {
    await t.program('caps');
    await rule('caps', {
      id: 'daily',
      name: '1 per ¥1, 150 a day, 120 a purchase',
      effect: { type: 'rate', points: 1, per: 100 },
      limits: { perPurchase: 120, perMemberPerDay: 150 },
    });
    const m = await member(t, 'caps', '13500000001');
    const earned = async (id: string) =>
      (await bought('caps', { id, member: { id: m }, amount: 20_000 })).points.earned;
    expect(await earned('C-1')).toBe(120);
    expect(await earned('C-2')).toBe(30);
    expect(await earned('C-3')).toBe(0);
    t.clock.set(new Date(t.clock.now().getTime() + 86_400_000).toISOString());
    expect(await earned('C-4')).toBe(120);
  });

  it('records a blocked member’s purchase, which earns nothing', async () => {
    const m = await member(t, 'caps', '13500000002');
    const blocked = await t.call({
      method: 'POST',
      url: `/v1/programs/caps/members/${m}/block`,
      payload: { reason: 'fraud' },
    });
    expect(blocked.statusCode, blocked.body).toBe(200);
    const p = await bought('caps', { id: 'C-5', member: { id: m }, amount: 20_000 });
    expect(p).toMatchObject({ points: { earned: 0, breakdown: [] }, growth: { credited: 0 } });
    expect((await points(t, 'caps', m)).balance).toBe(0);
  });
});

describe('budgets, batches, merge and erasure', () => {
  it('never issues past a rule’s budget under concurrency', async () => {
    await t.program('flash');
    await rule('flash', {
      id: 'launch',
      name: 'Launch bonus',
      effect: { type: 'bonus', points: 10 },
      limits: { budget: 1000 },
    });
    const members = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        member(t, 'flash', `1370000${String(i).padStart(4, '0')}`),
      ),
    );
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        purchase('flash', { id: `F-${i}`, member: { id: members[i % 20] as string }, amount: 100 }),
      ),
    );
    expect(results.every((r) => r.statusCode === 201)).toBe(true);
    const issued = results.reduce((s, r) => s + r.json().points.earned, 0);
    expect(issued).toBe(1000);
    const launch = await t.call({ method: 'GET', url: '/v1/programs/flash/earning-rules/launch' });
    expect(launch.json().issued).toBe(1000);
  });

  it('answers a batch per purchase, in order; one bad purchase never fails the rest', async () => {
    const m = await member(t, 'shop', '13800000003');
    const key = await t.key('shop', 'integration');
    const res = await t.call({
      method: 'POST',
      url: '/v1/programs/shop/purchases/batch',
      key,
      payload: {
        purchases: [
          { id: 'BT-1', member: { id: m }, amount: 1_000, currency: 'CNY', occurredAt: now() },
          { id: 'BT-2', member: { id: m }, amount: -1, currency: 'CNY', occurredAt: now() },
          {
            id: 'BT-3',
            member: { id: 'mem_nobody' },
            amount: 1_000,
            currency: 'CNY',
            occurredAt: now(),
          },
          { id: 'BT-1', member: { id: m }, amount: 1_000, currency: 'CNY', occurredAt: now() },
          { id: 'BT-4', member: { id: m }, amount: 2_000, currency: 'CNY', occurredAt: now() },
        ],
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    const results = res.json().results;
    expect(results.map((r: { status: number }) => r.status)).toEqual([201, 400, 404, 200, 201]);
    expect(results[1].problem.code).toBe('validation_failed');
    expect(results[3]).toMatchObject({ replayed: true, purchase: { id: 'BT-1' } });
    expect((await points(t, 'shop', m)).balance).toBe(30);
  });

  it('keeps purchases with the survivor of a merge, and after an erasure', async () => {
    const a = await member(t, 'shop', '13800000004');
    const b = await member(t, 'shop', '13800000005');
    await bought('shop', { id: 'M-1', member: { id: b }, amount: 1_000 });
    const merged = await t.call({
      method: 'POST',
      url: `/v1/members/${a}/merge`,
      payload: { from: b },
    });
    expect(merged.statusCode, merged.body).toBeLessThan(300);
    const list = await t.call({ method: 'GET', url: `/v1/programs/shop/members/${a}/purchases` });
    expect(list.json().data.map((p: { id: string }) => p.id)).toEqual(['M-1']);
    expect(
      (await t.call({ method: 'GET', url: '/v1/programs/shop/purchases/M-1' })).json().memberId,
    ).toBe(a);

    const erased = await t.call({ method: 'POST', url: `/v1/members/${a}/erase` });
    expect(erased.statusCode, erased.body).toBeLessThan(300);
    const kept = await t.call({ method: 'GET', url: '/v1/programs/shop/purchases/M-1' });
    expect(kept.json()).toMatchObject({ memberId: a, amount: 1_000 });
  });
});
