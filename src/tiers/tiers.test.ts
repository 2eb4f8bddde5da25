import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { expectReconciled, member } from '../../test/ledger-helpers.ts';
import { evaluateTiers } from '../growth/growth.service.ts';
import { multiplierFor } from './tiers.service.ts';

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
  t.clock.set('2026-06-01T04:00:00Z'); // noon in Shanghai
});
afterAll(async () => {
  await expectReconciled(t);
  await t.close();
});

const base = (p: string) => `/v1/programs/${p}`;
const memberUrl = (p: string, m: string) => `${base(p)}/members/${m}`;

async function put(url: string, payload: object, key?: string) {
  const res = await t.call({ method: 'PUT', url, payload, ...(key && { key }) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function grow(p: string, m: string, value: number, source = 'spend') {
  const res = await t.call({
    method: 'POST',
    url: `${memberUrl(p, m)}/growth`,
    payload: { source, value, reference: `r-${value}` },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function tier(p: string, m: string) {
  const res = await t.call({ method: 'GET', url: `${memberUrl(p, m)}/tier` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function history(p: string, m: string) {
  const res = await t.call({ method: 'GET', url: `${memberUrl(p, m)}/tier/history` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().data as { from: string | null; to: string; why: string }[];
}

async function events(p: string, query = '') {
  const res = await t.call({ method: 'GET', url: `${base(p)}/events${query}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().data as {
    sequence: number;
    type: string;
    memberId: string;
    data: Record<string, unknown>;
  }[];
}

const ladder = (over: object = {}) => ({
  basis: 'growth',
  evaluation: 'immediate',
  tiers: [
    {
      code: 'member',
      name: 'Member',
      threshold: 0,
      benefits: [{ code: 'birthday', name: 'Birthday gift', kind: 'flag' }],
    },
    { code: 'silver', name: 'Silver', threshold: 100 },
    {
      code: 'gold',
      name: 'Gold',
      threshold: 500,
      benefits: [
        { code: 'earn', name: '1.5× points', kind: 'multiplier', value: 1.5 },
        {
          code: 'delivery',
          name: 'Free delivery',
          kind: 'quota',
          quota: { count: 5, period: 'month' },
        },
      ],
    },
  ],
  ...over,
});

describe('the ladder', () => {
  it('is a single entry tier until set; setting it is audited; bad ladders are 400', async () => {
    await t.program('lad');
    const res = await t.call({ method: 'GET', url: `${base('lad')}/tiers` });
    expect(res.json().tiers).toEqual([
      { code: 'member', name: 'Member', threshold: 0, inviteOnly: false, benefits: [] },
    ]);
    const tiers = ladder().tiers;
    for (const bad of [
      ladder({ tiers: [{ ...tiers[0], threshold: 5 }] }),
      ladder({ tiers: [tiers[0], { ...tiers[1], threshold: 0 }] }),
      ladder({ tiers: [tiers[0], tiers[2], tiers[1]] }),
      ladder({ tiers: [tiers[0], { ...tiers[1], code: 'member' }] }),
      ladder({ tiers: [{ ...tiers[0], inviteOnly: true }] }),
      ladder({ basis: 'score' }),
      ladder({
        tiers: [tiers[0], { ...tiers[1], benefits: [{ code: 'q', name: 'Q', kind: 'quota' }] }],
      }),
      ladder({ tiers: [] }),
    ]) {
      const r = await t.call({ method: 'PUT', url: `${base('lad')}/tiers`, payload: bad });
      expect(r.statusCode, JSON.stringify(bad)).toBe(400);
    }
    const set = await put(`${base('lad')}/tiers`, ladder());
    expect(set).toMatchObject({ validityMonths: 12, downgrade: 'to_qualified', warningDays: 30 });
    const audit = await t.call({ method: 'GET', url: '/v1/audit?action=tiers.ladder_set' });
    expect(audit.json().data).toHaveLength(1);
  });

  it('is the program admin’s to set and other programs’ keys do not see it', async () => {
    const read = await t.key('lad', 'read');
    const r = await t.call({
      method: 'PUT',
      url: `${base('lad')}/tiers`,
      payload: ladder(),
      key: read,
    });
    expect(r.statusCode).toBe(403);
    await t.program('lad2');
    const other = await t.key('lad2', 'admin');
    const foreign = await t.call({ method: 'GET', url: `${base('lad')}/tiers`, key: other });
    expect(foreign.statusCode).toBe(404);
  });
});

describe('immediate evaluation', () => {
  it('follows growth both ways, with history, events and the next tier', async () => {
    await t.program('imm');
    await put(`${base('imm')}/growth-policy`, { mode: 'two_way', sources: [{ source: 'spend' }] });
    await put(`${base('imm')}/tiers`, ladder());
    const m = await member(t, 'imm', '13700000001');
    expect(await tier('imm', m)).toMatchObject({
      tier: { code: 'member' },
      validUntil: null,
      basis: 0,
      next: { code: 'silver', needed: 100 },
    });
    expect((await grow('imm', m, 120)).tier).toEqual({ code: 'silver', changed: true });
    expect((await grow('imm', m, 400)).tier).toEqual({ code: 'gold', changed: true });
    expect(await tier('imm', m)).toMatchObject({ tier: { code: 'gold' }, basis: 520, next: null });
    expect((await grow('imm', m, -100)).tier).toEqual({ code: 'silver', changed: true });
    expect((await history('imm', m)).map((h) => [h.from, h.to, h.why])).toEqual([
      ['gold', 'silver', 'downgrade'],
      ['silver', 'gold', 'upgrade'],
      ['member', 'silver', 'upgrade'],
    ]);
    const feed = await events('imm', `?memberId=${m}`);
    expect(feed.map((e) => [e.sequence, e.type])).toEqual([
      [1, 'tier.upgraded'],
      [2, 'tier.upgraded'],
      [3, 'tier.downgraded'],
    ]);
    expect((await events('imm', '?after=2')).map((e) => e.sequence)).toEqual([3]);
    expect(await events('imm', '?type=tier.downgraded')).toHaveLength(1);
    const huge = await t.call({ method: 'GET', url: `${base('imm')}/events?after=1e30` });
    expect(huge.statusCode).toBe(400);
  });

  it('re-evaluates members when the ladder changes, and keeps a tier members hold', async () => {
    const m = await member(t, 'imm', '13700000002');
    await grow('imm', m, 150);
    // Raising silver above the member's growth moves them down at once (immediate).
    const raised = ladder();
    (raised.tiers[1] as { threshold: number }).threshold = 200;
    await put(`${base('imm')}/tiers`, raised);
    expect((await tier('imm', m)).tier.code).toBe('member');
    await grow('imm', m, 100);
    const without = ladder({ tiers: [raised.tiers[0], raised.tiers[2]] });
    const refused = await t.call({ method: 'PUT', url: `${base('imm')}/tiers`, payload: without });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'tier_in_use', tier: 'silver' });
    expect((await tier('imm', m)).tier.code).toBe('silver');
  });
});

describe('ladder preview', () => {
  it('counts the members each tier would have under an edited ladder, and writes nothing', async () => {
    await t.program('pre');
    await put(`${base('pre')}/tiers`, ladder());
    const ms = [];
    for (const [i, g] of [0, 50, 150, 600, 800].entries()) {
      const m = await member(t, 'pre', `1370000100${i}`);
      if (g > 0) await grow('pre', m, g);
      ms.push(m);
    }
    const before = await tier('pre', ms[2] as string);
    // Silver from 100 to 60, gold from 500 to 700: 50 stays member, 150 and 600 silver, 800 gold.
    const edited = ladder();
    (edited.tiers[1] as { threshold: number }).threshold = 60;
    (edited.tiers[2] as { threshold: number }).threshold = 700;
    const res = await t.call({
      method: 'POST',
      url: `${base('pre')}/tiers/preview`,
      payload: edited,
      key: await t.key('pre', 'read'),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      members: 5,
      tiers: [
        { code: 'member', name: 'Member', members: 2, now: 2 },
        { code: 'silver', name: 'Silver', members: 2, now: 1 },
        { code: 'gold', name: 'Gold', members: 1, now: 2 },
      ],
    });
    expect(await tier('pre', ms[2] as string)).toEqual(before);
    expect((await t.call({ method: 'GET', url: `${base('pre')}/tiers` })).json()).toMatchObject(
      ladder(),
    );
    const bad = await t.call({
      method: 'POST',
      url: `${base('pre')}/tiers/preview`,
      payload: ladder({ tiers: [{ code: 'x', name: 'X', threshold: 5 }] }),
    });
    expect(bad.statusCode).toBe(400);
    const other = await t.call({
      method: 'POST',
      url: `${base('pre')}/tiers/preview`,
      payload: edited,
      key: await t.key('imm', 'admin'),
    });
    expect(other.statusCode).toBe(404);

    // An erased member keeps their tier row, as a record, but is no longer one of the members.
    const gone = ms[4] as string;
    const erased = await t.call({ method: 'POST', url: `/v1/members/${gone}/erase` });
    expect(erased.statusCode, erased.body).toBe(200);
    const after = await t.call({
      method: 'POST',
      url: `${base('pre')}/tiers/preview`,
      payload: edited,
    });
    expect(after.json()).toEqual({
      members: 4,
      tiers: [
        { code: 'member', name: 'Member', members: 2, now: 2 },
        { code: 'silver', name: 'Silver', members: 2, now: 1 },
        { code: 'gold', name: 'Gold', members: 0, now: 1 },
      ],
    });
  });
});

describe('periodic evaluation', () => {
  it('moves up at once for a year, renews or moves down at validity end, warns before', async () => {
    await t.program('per');
    await put(`${base('per')}/growth-policy`, { mode: 'two_way', sources: [{ source: 'spend' }] });
    await put(`${base('per')}/tiers`, ladder({ evaluation: 'periodic', warningDays: 10 }));
    const stays = await member(t, 'per', '13700000011');
    const drops = await member(t, 'per', '13700000012');
    await grow('per', stays, 600);
    await grow('per', drops, 600);
    const v = await tier('per', stays);
    // Upgraded at noon on 2026-06-01 in Shanghai: valid until local midnight 2027-06-01.
    expect(v).toMatchObject({ tier: { code: 'gold' }, validUntil: '2027-05-31T16:00:00.000Z' });
    // A deduction does not move a periodic tier down before validity ends.
    expect((await grow('per', drops, -550)).tier).toEqual({ code: 'gold', changed: false });
    t.clock.set('2027-05-25T00:00:00Z');
    await evaluateTiers(t.deps, { programId: 'per' });
    const warnings = await events('per', '?type=tier.downgrade_warning');
    expect(warnings.map((e) => e.memberId)).toEqual([drops]);
    // Warned once per validity end.
    await evaluateTiers(t.deps, { programId: 'per' });
    expect(await events('per', '?type=tier.downgrade_warning')).toHaveLength(1);
    t.clock.set('2027-05-31T16:00:00Z');
    const [report] = await evaluateTiers(t.deps, { programId: 'per' });
    expect(report).toMatchObject({ evaluated: 2, changed: 2 });
    expect(await tier('per', stays)).toMatchObject({
      tier: { code: 'gold' },
      validUntil: '2028-05-31T16:00:00.000Z',
    });
    expect(await tier('per', drops)).toMatchObject({ tier: { code: 'member' }, validUntil: null });
    expect((await history('per', stays))[0]).toMatchObject({ why: 'renewal', to: 'gold' });
    // The set-based evaluation writes the same events as any other change.
    const renewed = await events('per', `?type=tier.renewed&memberId=${stays}`);
    expect(renewed.map((e) => e.data)).toEqual([
      { from: 'gold', to: 'gold', why: 'renewal', validUntil: '2028-05-31T16:00:00.000Z' },
    ]);
    const down = await events('per', `?type=tier.downgraded&memberId=${drops}`);
    expect(down.map((e) => e.data)).toEqual([
      { from: 'gold', to: 'member', why: 'downgrade', validUntil: null },
    ]);
    expect((await history('per', drops))[0]).toMatchObject({ why: 'downgrade', to: 'member' });
    // Running it again changes nothing.
    const before = await events('per');
    const [again] = await evaluateTiers(t.deps, { programId: 'per' });
    expect(again).toMatchObject({ evaluated: 0, changed: 0, warned: 0 });
    expect(await events('per')).toEqual(before);
  });

  it('moves down one level at a time under one_level', async () => {
    await t.program('one');
    await put(`${base('one')}/growth-policy`, { mode: 'two_way', sources: [{ source: 'spend' }] });
    await put(
      `${base('one')}/tiers`,
      ladder({ evaluation: 'periodic', downgrade: 'one_level', validityMonths: 1 }),
    );
    const m = await member(t, 'one', '13700000021');
    t.clock.set('2027-07-01T04:00:00Z');
    await grow('one', m, 600);
    await grow('one', m, -600);
    t.clock.set('2027-08-01T00:00:00Z');
    await evaluateTiers(t.deps, { programId: 'one' });
    expect(await tier('one', m)).toMatchObject({
      tier: { code: 'silver' },
      validUntil: '2027-08-31T16:00:00.000Z',
    });
    t.clock.set('2027-09-01T00:00:00Z');
    await evaluateTiers(t.deps, { programId: 'one' });
    expect(await tier('one', m)).toMatchObject({ tier: { code: 'member' }, validUntil: null });
  });
});

describe('invitations and overrides', () => {
  it('makes a member eligible for an invite-only tier, and an invitation grants it', async () => {
    await t.program('inv');
    const l = ladder({ evaluation: 'periodic' });
    l.tiers.push({ code: 'black', name: 'Black', threshold: 1000, inviteOnly: true } as never);
    await put(`${base('inv')}/tiers`, l);
    const m = await member(t, 'inv', '13700000031');
    const low = await member(t, 'inv', '13700000032');
    await grow('inv', m, 1200);
    await grow('inv', low, 50);
    expect(await tier('inv', m)).toMatchObject({ tier: { code: 'gold' }, eligible: ['black'] });
    const list = await t.call({ method: 'GET', url: `${base('inv')}/tiers/black/eligible` });
    expect(list.json().data).toEqual([{ memberId: m, tier: 'gold', basis: 1200 }]);
    const refused = await t.call({
      method: 'POST',
      url: `${memberUrl('inv', low)}/tier/invite`,
      payload: { code: 'black' },
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().code).toBe('not_eligible');
    const open = await t.call({
      method: 'POST',
      url: `${memberUrl('inv', m)}/tier/invite`,
      payload: { code: 'gold' },
    });
    expect(open.statusCode).toBe(400);
    const invited = await t.call({
      method: 'POST',
      url: `${memberUrl('inv', m)}/tier/invite`,
      payload: { code: 'black' },
    });
    expect(invited.statusCode, invited.body).toBe(200);
    expect(invited.json()).toMatchObject({ tier: { code: 'black' }, eligible: [] });
    expect((await history('inv', m))[0]).toMatchObject({
      from: 'gold',
      to: 'black',
      why: 'invite',
    });
    const eligibleNow = await t.call({ method: 'GET', url: `${base('inv')}/tiers/black/eligible` });
    expect(eligibleNow.json().data).toEqual([]);
  });

  it('overrides a tier until a date; evaluation leaves it alone until then', async () => {
    await t.program('ovr');
    await put(`${base('ovr')}/growth-policy`, { mode: 'two_way', sources: [{ source: 'spend' }] });
    await put(`${base('ovr')}/tiers`, ladder());
    const m = await member(t, 'ovr', '13700000041');
    const until = new Date(t.clock.now().getTime() + 7 * 86_400_000).toISOString();
    const res = await t.call({
      method: 'PUT',
      url: `${memberUrl('ovr', m)}/tier`,
      payload: { code: 'gold', reason: 'complaint goodwill', validUntil: until },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      tier: { code: 'gold' },
      overridden: true,
      validUntil: until,
    });
    expect((await grow('ovr', m, 150)).tier).toEqual({ code: 'gold', changed: false });
    const past = await t.call({
      method: 'PUT',
      url: `${memberUrl('ovr', m)}/tier`,
      payload: { code: 'gold', reason: 'x', validUntil: '2020-01-01T00:00:00Z' },
    });
    expect(past.statusCode).toBe(400);
    const unknown = await t.call({
      method: 'PUT',
      url: `${memberUrl('ovr', m)}/tier`,
      payload: { code: 'diamond', reason: 'x' },
    });
    expect(unknown.statusCode).toBe(404);
    t.clock.advance(8 * 86_400_000);
    await evaluateTiers(t.deps, { programId: 'ovr' });
    expect(await tier('ovr', m)).toMatchObject({ tier: { code: 'silver' }, overridden: false });
    const audit = await t.call({
      method: 'GET',
      url: `/v1/audit?action=tier.overridden&memberId=${m}`,
    });
    expect(audit.json().data[0].after).toMatchObject({
      tier: 'gold',
      reason: 'complaint goodwill',
    });
  });
});

describe('benefits', () => {
  it('lists the entry tier’s and the member’s own, with quota left; the multiplier is readable', async () => {
    await t.program('ben');
    t.clock.set('2027-10-15T04:00:00Z');
    await put(`${base('ben')}/tiers`, ladder());
    const m = await member(t, 'ben', '13700000051');
    const entry = await t.call({ method: 'GET', url: `${memberUrl('ben', m)}/benefits` });
    expect(entry.json().data.map((b: { code: string }) => b.code)).toEqual(['birthday']);
    expect(await multiplierFor(t.deps, 'ben', m)).toBe(1);
    await grow('ben', m, 500);
    const gold = await t.call({ method: 'GET', url: `${memberUrl('ben', m)}/benefits` });
    expect(gold.json().data).toEqual([
      { code: 'birthday', name: 'Birthday gift', kind: 'flag' },
      { code: 'earn', name: '1.5× points', kind: 'multiplier', value: 1.5 },
      {
        code: 'delivery',
        name: 'Free delivery',
        kind: 'quota',
        quota: { count: 5, period: 'month' },
        left: 5,
        period: '2027-10',
      },
    ]);
    expect(await multiplierFor(t.deps, 'ben', m)).toBe(1.5);
  });

  it('never exceeds a quota under concurrency; a reference answers once; a new month starts again', async () => {
    const m = await member(t, 'ben', '13700000052');
    await grow('ben', m, 500);
    const use = (reference: string) =>
      t.call({
        method: 'POST',
        url: `${memberUrl('ben', m)}/benefits/delivery/use`,
        payload: { reference },
      });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => use(`order-${i}`)));
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(5);
    const refused = results.filter((r) => r.statusCode !== 201);
    expect(refused.every((r) => r.statusCode === 409 && r.json().code === 'quota_exhausted')).toBe(
      true,
    );
    const first = results.find((r) => r.statusCode === 201);
    const again = await use(first?.json().id ? `order-${results.indexOf(first)}` : 'x');
    expect(again.statusCode).toBe(200);
    expect(await events('ben', `?type=benefit.used&memberId=${m}`)).toHaveLength(5);
    const flag = await t.call({
      method: 'POST',
      url: `${memberUrl('ben', m)}/benefits/birthday/use`,
      payload: { reference: 'b' },
    });
    expect(flag.statusCode).toBe(400);
    t.clock.set('2027-10-31T16:00:00Z'); // midnight, 1 November in Shanghai
    expect((await use('november-1')).statusCode).toBe(201);
    // A blocked member uses no benefit.
    await t.call({
      method: 'POST',
      url: `${memberUrl('ben', m)}/block`,
      payload: { reason: 'abuse' },
    });
    const blocked = await use('november-2');
    expect(blocked.statusCode).toBe(403);
    expect(blocked.json().code).toBe('member_blocked');
  });
});

describe('the composite score (淘气值)', () => {
  it('weighs spend, frequency, interaction and credit; the top tier is by invitation', async () => {
    await t.program('tao');
    await put(`${base('tao')}/growth-policy`, {
      mode: 'one_way',
      sources: [{ source: 'spend' }, { source: 'review' }, { source: 'checkin' }],
    });
    // The example shipped in examples/: 300 / 1000 / 2500, the top tier by invitation.
    const example = JSON.parse(
      await readFile(new URL('../../examples/taoqi-ladder.json', import.meta.url), 'utf8'),
    );
    await put(`${base('tao')}/tiers`, example);
    const m = await member(t, 'tao', '13700000061');
    // ¥300 of spend (30,000 fen as growth) on one day: 300 + 1 day × 20.
    expect((await grow('tao', m, 30_000)).tier).toEqual({ code: 'normal', changed: true });
    expect((await tier('tao', m)).basis).toBe(320);
    for (let i = 0; i < 10; i++) await grow('tao', m, 1, 'review');
    expect((await tier('tao', m)).basis).toBe(470);
    t.clock.advance(86_400_000);
    await grow('tao', m, 40_000);
    // 700 + 2 days × 20 + 10 reviews × 15
    expect((await tier('tao', m)).basis).toBe(890);
    const credit = await put(`${memberUrl('tao', m)}/credit`, { credit: 700 });
    expect(credit).toMatchObject({ tier: { code: 'super' }, basis: 1240 });
    await grow('tao', m, 100_000);
    t.clock.advance(86_400_000);
    await grow('tao', m, 100_000);
    // spend capped at 150,000 → 1500, 3 days × 20, 150, 350
    expect(await tier('tao', m)).toMatchObject({ tier: { code: 'super' }, basis: 2060 });
    for (let i = 0; i < 15; i++) await grow('tao', m, 1, 'review');
    await put(`${memberUrl('tao', m)}/credit`, { credit: 1000 });
    // reviews capped at 20 → 300; credit 500: 2360, still below APASS.
    expect(await tier('tao', m)).toMatchObject({ basis: 2360, eligible: [] });
    for (let d = 0; d < 7; d++) {
      t.clock.advance(86_400_000);
      await grow('tao', m, 1);
    }
    // 10 days with spend: 200. Eligible, not a member of APASS until invited.
    expect(await tier('tao', m)).toMatchObject({
      tier: { code: 'super' },
      basis: 2500,
      eligible: ['apass'],
    });
    const invited = await t.call({
      method: 'POST',
      url: `${memberUrl('tao', m)}/tier/invite`,
      payload: { code: 'apass' },
    });
    expect(invited.json()).toMatchObject({ tier: { code: 'apass', name: 'APASS' } });
    expect(await multiplierFor(t.deps, 'tao', m)).toBe(2);
  });
});

describe('anti-abuse', () => {
  it('raises a spike alert and event, except for a trusted member; alerts are acknowledged', async () => {
    await t.program('spk');
    await put(`${base('spk')}/growth-policy`, {
      mode: 'one_way',
      sources: [{ source: 'checkin' }],
      spike: { factor: 3, minimum: 50 },
    });
    const m = await member(t, 'spk', '13700000071');
    const trusted = await member(t, 'spk', '13700000072');
    await put(`${memberUrl('spk', trusted)}/whitelist`, {});
    for (const who of [m, trusted]) {
      for (let d = 0; d < 10; d++) {
        await grow('spk', who, 10, 'checkin');
        t.clock.advance(86_400_000);
      }
    }
    // 10 a day for 10 days: a 3.3 daily average; 60 today is a spike above 50.
    await grow('spk', m, 60, 'checkin');
    await grow('spk', trusted, 60, 'checkin');
    await grow('spk', m, 60, 'checkin');
    const alerts = await t.call({ method: 'GET', url: `${base('spk')}/alerts?open=true` });
    expect(alerts.statusCode).toBe(200);
    expect(alerts.json().data).toHaveLength(1);
    const [alert] = alerts.json().data;
    expect(alert).toMatchObject({ kind: 'growth.spike', memberId: m, acknowledgedAt: null });
    expect(await events('spk', '?type=growth.spike')).toHaveLength(1);
    const ack = await t.call({
      method: 'POST',
      url: `${base('spk')}/alerts/${alert.id}/acknowledge`,
    });
    expect(ack.statusCode, ack.body).toBe(200);
    expect(ack.json().acknowledgedAt).not.toBeNull();
    const open = await t.call({ method: 'GET', url: `${base('spk')}/alerts?open=true` });
    expect(open.json().data).toHaveLength(0);
    const missing = await t.call({
      method: 'POST',
      url: `${base('spk')}/alerts/alr_nope/acknowledge`,
    });
    expect(missing.statusCode).toBe(404);
    const untrust = await t.call({
      method: 'DELETE',
      url: `${memberUrl('spk', trusted)}/whitelist`,
    });
    expect(untrust.json()).toEqual({ trusted: false });
  });
});

describe('merge and erasure', () => {
  it('moves growth and keeps the higher valid tier; an erased member’s history stays', async () => {
    await t.program('mrg');
    await put(`${base('mrg')}/growth-policy`, { mode: 'two_way', sources: [{ source: 'spend' }] });
    await put(`${base('mrg')}/tiers`, ladder({ evaluation: 'periodic' }));
    const into = await member(t, 'mrg', '13700000081');
    const from = await member(t, 'mrg', '13700000082');
    await grow('mrg', into, 150);
    await grow('mrg', from, 600);
    const merged = await t.call({
      method: 'POST',
      url: `/v1/members/${into}/merge`,
      payload: { from },
    });
    expect(merged.statusCode, merged.body).toBe(200);
    expect(await tier('mrg', into)).toMatchObject({ tier: { code: 'gold' }, basis: 750 });
    const growth = await t.call({ method: 'GET', url: `${memberUrl('mrg', into)}/growth` });
    expect(growth.json()).toMatchObject({
      growth: 750,
      bySource: [{ source: 'spend', value: 750 }],
    });
    expect((await history('mrg', into)).map((h) => h.why)).toContain('merge');

    const gone = await member(t, 'mrg', '13700000083');
    await grow('mrg', gone, 120);
    const erased = await t.call({ method: 'POST', url: `/v1/members/${gone}/erase` });
    expect(erased.statusCode).toBe(200);
    expect(await history('mrg', gone)).toEqual([
      expect.objectContaining({ from: 'member', to: 'silver', why: 'upgrade' }),
    ]);
  });
});
