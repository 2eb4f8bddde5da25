import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { expectReconciled, member, points } from '../../test/ledger-helpers.ts';
import type { Deps } from '../deps.ts';
import { setRate } from '../exchange/exchange.service.ts';
import type { Principal } from '../keys/keys.core.ts';
import type { createOfferBody } from './offers.schemas.ts';
import { runOffers } from './offers.service.ts';

// Brand A (a shop) rewards its customers at brand B (a gym): spend ¥89, get B's points, a month
// of B's "plus" tier, or a coffee from the pool that café C contributed.

let t: TestContext;
let adminA: string;
let adminB: string;
let readA: string;
const coalition: Principal = { keyId: 'test', programId: null, role: 'admin' };
const DAY = 24 * 60 * 60 * 1000;

beforeAll(async () => {
  t = await createTestApp();
  for (const p of ['shop-a', 'gym-b', 'cafe-c', 'solo-d']) await t.program(p);
  adminA = await t.key('shop-a', 'admin');
  readA = await t.key('shop-a', 'read');
  adminB = await t.key('gym-b', 'admin');
  // One gym point settles at 2.5 fen.
  await setRate(
    t.deps,
    { programId: 'gym-b', pointsPerHubUnit: 100, pointValueE4: 25_000 },
    coalition,
  );
  const ladder = await t.call({
    method: 'PUT',
    url: '/v1/programs/gym-b/tiers',
    key: adminB,
    payload: {
      basis: 'growth',
      evaluation: 'immediate',
      tiers: [
        { code: 'basic', name: 'Basic', threshold: 0 },
        { code: 'plus', name: 'Plus', threshold: 1000 },
        { code: 'elite', name: 'Elite', threshold: 5000 },
      ],
    },
  });
  expect(ladder.statusCode, ladder.body).toBe(200);
});
afterAll(() => t.close());

type NewOffer = z.input<typeof createOfferBody>;

let seq = 0;
async function offer(over: Partial<NewOffer> = {}) {
  const res = await t.call({
    method: 'POST',
    url: '/v1/programs/shop-a/offers',
    key: adminA,
    payload: {
      id: `of-${++seq}`,
      name: 'Spend ¥89, get gym points',
      minSpendFen: 8900,
      reward: { kind: 'points', programId: 'gym-b', points: 500 },
      stock: 100,
      perMemberLimit: 1,
      startsAt: '2026-05-01T00:00:00Z',
      endsAt: '2026-12-31T00:00:00Z',
      ...over,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; granted: number; stockLeft: number };
}

let phone = 13900000000;
const shopper = () => member(t, 'shop-a', String(++phone));

let purchaseSeq = 0;
async function buy(memberId: string, amount: number, programId = 'shop-a') {
  const id = `p-${++purchaseSeq}`;
  const res = await t.call({
    method: 'POST',
    url: `/v1/programs/${programId}/purchases`,
    payload: {
      id,
      member: { id: memberId },
      amount,
      currency: 'CNY',
      occurredAt: t.clock.now().toISOString(),
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return id;
}

async function grants(offerId: string) {
  const res = await t.call({
    method: 'GET',
    url: `/v1/programs/shop-a/offers/${offerId}/grants?limit=100`,
    key: readA,
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().data as {
    purchaseId: string;
    memberId: string;
    status: string;
    reason: string | null;
    detail: Record<string, unknown>;
    charge: { debtor: string; creditor: string; points: number | null; amountFen: number } | null;
  }[];
}

async function linesOf(kind: 'offer' | 'pool') {
  return t.deps.db
    .selectFrom('settlement_lines')
    .select(['source_id', 'debtor', 'creditor', 'points', 'amount_fen'])
    .where('kind', '=', kind)
    .execute();
}

async function gymPoints(memberId: string) {
  return (await points(t, 'gym-b', memberId)).balance;
}

/** Offers are exclusive to each test: pause every other, so that only the test's own fire. */
async function only(...ids: string[]) {
  const all = await t.call({
    method: 'GET',
    url: '/v1/programs/shop-a/offers?limit=100',
    key: adminA,
  });
  for (const o of all.json().data as { id: string; status: string }[]) {
    const status = ids.includes(o.id) ? 'active' : 'paused';
    if (o.status !== status) {
      await t.call({
        method: 'PATCH',
        url: `/v1/programs/shop-a/offers/${o.id}`,
        key: adminA,
        payload: { status },
      });
    }
  }
}

describe('offers: points at B', () => {
  it('gives B’s points once for a purchase of ¥89 at A, enrolling the member at B, and settles', async () => {
    const o = await offer();
    await only(o.id);
    const m = await shopper();
    const p = await buy(m, 8900);
    const report = await runOffers(t.deps);
    expect(report).toMatchObject({ granted: 1, skipped: 0 });
    expect(await gymPoints(m)).toBe(500);
    const [g] = await grants(o.id);
    expect(g).toMatchObject({
      purchaseId: p,
      memberId: m,
      status: 'granted',
      charge: { debtor: 'shop-a', creditor: 'gym-b', points: 500, amountFen: 1250 },
    });
    const lines = (await linesOf('offer')).filter((l) => l.points === '500');
    expect(lines).toContainEqual(
      expect.objectContaining({ debtor: 'shop-a', creditor: 'gym-b', amount_fen: '1250' }),
    );
    // Run again, and twice at once: nothing more.
    await runOffers(t.deps);
    await Promise.all([runOffers(t.deps), runOffers(t.deps)]);
    expect(await gymPoints(m)).toBe(500);
    expect(await grants(o.id)).toHaveLength(1);
  });

  it('gives nothing below the threshold', async () => {
    const o = await offer();
    await only(o.id);
    const m = await shopper();
    await buy(m, 8899);
    await runOffers(t.deps);
    expect(await grants(o.id)).toEqual([]);
    const enrolledAtB = await t.call({
      method: 'GET',
      url: `/v1/programs/gym-b/members/${m}`,
      key: adminB,
    });
    expect(enrolledAtB.statusCode).toBe(404);
  });

  it('exactly once when many purchases are worked on by concurrent runs', async () => {
    const o = await offer({ perMemberLimit: 5 });
    await only(o.id);
    const members = await Promise.all(Array.from({ length: 10 }, () => shopper()));
    for (const m of members) await buy(m, 10_000);
    await Promise.all([runOffers(t.deps), runOffers(t.deps), runOffers(t.deps)]);
    for (const m of members) expect(await gymPoints(m)).toBe(500);
    const gs = await grants(o.id);
    expect(gs.filter((g) => g.status === 'granted')).toHaveLength(10);
    const got = await t.call({
      method: 'GET',
      url: `/v1/programs/shop-a/offers/${o.id}`,
      key: readA,
    });
    expect(got.json()).toMatchObject({ granted: 10, stockLeft: 90 });
  });

  it('holds the stock and the per-member limit', async () => {
    const o = await offer({ stock: 2, perMemberLimit: 1 });
    await only(o.id);
    const [m1, m2, m3] = await Promise.all([shopper(), shopper(), shopper()]);
    await buy(m1 as string, 9000);
    await buy(m1 as string, 9000);
    await Promise.all([runOffers(t.deps), runOffers(t.deps)]);
    expect((await grants(o.id)).map((g) => [g.status, g.reason])).toEqual(
      expect.arrayContaining([
        ['granted', null],
        ['skipped', 'member_limit'],
      ]),
    );
    expect(await gymPoints(m1 as string)).toBe(500);
    // One unit left for two members at once.
    await buy(m2 as string, 9000);
    await buy(m3 as string, 9000);
    await Promise.all([runOffers(t.deps), runOffers(t.deps)]);
    const gs = await grants(o.id);
    expect(gs.filter((g) => g.status === 'granted')).toHaveLength(2);
    expect(gs.filter((g) => g.reason === 'out_of_stock')).toHaveLength(1);
    const winner = gs.find((g) => g.status === 'granted' && g.memberId !== m1)?.memberId;
    expect([m2, m3]).toContain(winner);
    // Only the winner was enrolled at B (with the reward); the other was not.
    expect(await gymPoints(winner as string)).toBe(500);
    const got = await t.call({
      method: 'GET',
      url: `/v1/programs/shop-a/offers/${o.id}`,
      key: readA,
    });
    expect(got.json()).toMatchObject({ granted: 2, stockLeft: 0 });
  });

  it('finishes, after a crash between the reservation and the credit, what was not given', async () => {
    const o = await offer();
    await only(o.id);
    const m = await shopper();
    await buy(m, 9900);
    const dying = {
      ...t.deps,
      ledger: {
        submit: () => Promise.reject(new Error('SIGKILL')),
      },
    } as unknown as Deps;
    await expect(runOffers(dying)).rejects.toThrow('SIGKILL');
    expect((await grants(o.id))[0]?.status).toBe('reserved');
    const report = await runOffers(t.deps);
    expect(report.resumed).toBe(1);
    expect(await gymPoints(m)).toBe(500);
    expect((await grants(o.id)).map((g) => g.status)).toEqual(['granted']);
    await runOffers(t.deps);
    expect(await gymPoints(m)).toBe(500);
  });

  it('skips, with its reason, a member blocked at B or with no identifier B could enroll', async () => {
    const o = await offer();
    await only(o.id);
    const blocked = await shopper();
    await member(t, 'gym-b', String(phone));
    const block = await t.call({
      method: 'POST',
      url: `/v1/programs/gym-b/members/${blocked}/block`,
      key: adminB,
      payload: { reason: 'fraud' },
    });
    expect(block.statusCode, block.body).toBe(200);
    await buy(blocked, 9000);
    const card = await t.call({
      method: 'POST',
      url: '/v1/programs/shop-a/members',
      payload: { identifiers: [{ type: 'card_number', value: 'A-0001' }], channel: 'pos' },
    });
    expect(card.statusCode, card.body).toBe(201);
    await buy(card.json().id, 9000);
    await runOffers(t.deps);
    const gs = await grants(o.id);
    expect(gs.map((g) => [g.memberId, g.status, g.reason])).toEqual(
      expect.arrayContaining([
        [blocked, 'skipped', 'member_blocked'],
        [card.json().id, 'skipped', 'not_enrolled'],
      ]),
    );
    const got = await t.call({
      method: 'GET',
      url: `/v1/programs/shop-a/offers/${o.id}`,
      key: readA,
    });
    expect(got.json().granted).toBe(0);
  });
});

describe('offers: a tier at B, a pool benefit', () => {
  it('gives B’s tier for its days, once, and settles its cost', async () => {
    const o = await offer({
      reward: { kind: 'tier', programId: 'gym-b', tier: 'plus', days: 30 },
      costFen: 2000,
    });
    await only(o.id);
    const m = await shopper();
    await buy(m, 12_000);
    await Promise.all([runOffers(t.deps), runOffers(t.deps)]);
    const tier = await t.call({
      method: 'GET',
      url: `/v1/programs/gym-b/members/${m}/tier`,
      key: adminB,
    });
    expect(tier.statusCode, tier.body).toBe(200);
    expect(tier.json()).toMatchObject({
      tier: { code: 'plus' },
      validUntil: new Date(t.clock.now().getTime() + 30 * DAY).toISOString(),
    });
    const [g] = await grants(o.id);
    expect(g).toMatchObject({
      status: 'granted',
      charge: { debtor: 'shop-a', creditor: 'gym-b', points: null, amountFen: 2000 },
    });
    // A second purchase finds the member at the tier already: skipped, not overridden again.
    await t.call({
      method: 'PATCH',
      url: `/v1/programs/shop-a/offers/${o.id}`,
      key: adminA,
      payload: { perMemberLimit: 2 },
    });
    await buy(m, 12_000);
    await runOffers(t.deps);
    expect((await grants(o.id)).map((g) => g.reason)).toContain('already_at_tier');
  });

  it('claims a pool benefit paid for by A, and settles A to its contributor', async () => {
    const cafe = await t.key('cafe-c', 'admin');
    const b = await t.call({
      method: 'POST',
      url: '/v1/programs/cafe-c/pool-benefits',
      key: cafe,
      payload: {
        id: 'latte',
        name: 'A latte',
        kind: 'voucher',
        stock: 5,
        costFen: 1800,
        chargeTo: 'home',
        eligibility: { coalitionLevelAtLeast: 'nobody-has-this' },
      },
    });
    // The coalition has no such level: the benefit's own rule refuses it…
    expect(b.statusCode).toBe(400);
    const made = await t.call({
      method: 'POST',
      url: '/v1/programs/cafe-c/pool-benefits',
      key: cafe,
      payload: {
        id: 'latte',
        name: 'A latte',
        kind: 'voucher',
        stock: 5,
        costFen: 1800,
        chargeTo: 'home',
        eligibility: { programId: 'gym-b', tierAtLeast: 'elite' },
      },
    });
    expect(made.statusCode, made.body).toBe(201);
    const o = await offer({ reward: { kind: 'pool', benefitId: 'latte' } });
    await only(o.id);
    // …and an offer gives it to a member who does not meet it: A paid for it.
    const m = await shopper();
    await buy(m, 8900);
    await runOffers(t.deps);
    await runOffers(t.deps);
    const [g] = await grants(o.id);
    expect(g).toMatchObject({
      status: 'granted',
      charge: { debtor: 'shop-a', creditor: 'cafe-c', points: null, amountFen: 1800 },
    });
    const claims = await t.call({ method: 'GET', url: `/v1/members/${m}/pool/claims`, key: readA });
    expect(claims.json().data).toEqual([
      expect.objectContaining({
        benefitId: 'latte',
        sponsorProgramId: 'shop-a',
        status: 'claimed',
      }),
    ]);
    // Its use is not charged again under `home`: the offer paid.
    const used = await t.call({
      method: 'POST',
      url: '/v1/pool/redeem',
      key: cafe,
      payload: { code: claims.json().data[0].code },
    });
    expect(used.statusCode, used.body).toBe(200);
    expect(used.json().charge).toBeNull();
  });
});

describe('offers: admin', () => {
  it('lists, changes and audits offers; stock never below what was granted', async () => {
    const o = await offer({ stock: 1 });
    await only(o.id);
    await buy(await shopper(), 9000);
    await runOffers(t.deps);
    const low = await t.call({
      method: 'PATCH',
      url: `/v1/programs/shop-a/offers/${o.id}`,
      key: adminA,
      payload: { stock: 0 },
    });
    expect(low.statusCode).toBe(409);
    expect(low.json().code).toBe('stock_below_claimed');
    const up = await t.call({
      method: 'PATCH',
      url: `/v1/programs/shop-a/offers/${o.id}`,
      key: adminA,
      payload: { stock: 10, endsAt: '2027-01-31T00:00:00Z' },
    });
    expect(up.statusCode, up.body).toBe(200);
    expect(up.json()).toMatchObject({ stock: 10, granted: 1, stockLeft: 9 });
    const audit = await t.call({ method: 'GET', url: '/v1/audit?programId=shop-a&limit=100' });
    const actions = audit.json().data.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['offer.created', 'offer.changed']));
  });

  it.each([
    [{ reward: { kind: 'cash', programId: 'gym-b' } }, 'reward.kind'],
    [{ reward: { kind: 'points', programId: 'gym-b', points: 0 } }, 'reward.points'],
    [{ reward: { kind: 'points', programId: 'solo-d', points: 10 } }, 'reward.programId'],
    [{ reward: { kind: 'points', programId: 'nowhere', points: 10 } }, 'reward.programId'],
    [
      { reward: { kind: 'tier', programId: 'gym-b', tier: 'gold', days: 30 }, costFen: 1 },
      'reward.tier',
    ],
    [{ reward: { kind: 'tier', programId: 'gym-b', tier: 'plus', days: 30 } }, 'costFen'],
    [{ reward: { kind: 'pool', benefitId: 'nothing' } }, 'reward.benefitId'],
    [{ endsAt: '2026-04-01T00:00:00Z' }, 'endsAt'],
    [{ minSpendFen: -1 }, 'minSpendFen'],
    [{ stock: 1.5 }, 'stock'],
  ])('refuses %j with 400 naming %s', async (over, path) => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/programs/shop-a/offers',
      key: adminA,
      payload: {
        name: 'x',
        minSpendFen: 100,
        reward: { kind: 'points', programId: 'gym-b', points: 10 },
        stock: 1,
        startsAt: '2026-05-01T00:00:00Z',
        endsAt: '2026-06-01T00:00:00Z',
        ...over,
      },
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().errors[0].path).toBe(path);
  });

  it("refuses a taken id, and answers another program's key 404 and a read key 403", async () => {
    const o = await offer();
    const again = await t.call({
      method: 'POST',
      url: '/v1/programs/shop-a/offers',
      key: adminA,
      payload: {
        id: o.id,
        name: 'x',
        minSpendFen: 1,
        reward: { kind: 'points', programId: 'gym-b', points: 1 },
        stock: 1,
        startsAt: '2026-05-01T00:00:00Z',
        endsAt: '2026-06-01T00:00:00Z',
      },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('offer_exists');
    for (const [method, url] of [
      ['GET', '/v1/programs/shop-a/offers'],
      ['GET', `/v1/programs/shop-a/offers/${o.id}`],
      ['GET', `/v1/programs/shop-a/offers/${o.id}/grants`],
      ['PATCH', `/v1/programs/shop-a/offers/${o.id}`],
    ] as const) {
      const res = await t.call({
        method,
        url,
        key: adminB,
        ...(method === 'PATCH' && { payload: { stock: 1 } }),
      });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
    expect(
      (await t.call({ method: 'GET', url: `/v1/programs/gym-b/offers/${o.id}`, key: adminB }))
        .statusCode,
    ).toBe(404);
    const read = await t.call({
      method: 'PATCH',
      url: `/v1/programs/shop-a/offers/${o.id}`,
      key: readA,
      payload: { stock: 1 },
    });
    expect(read.statusCode).toBe(403);
  });

  it('reconciles: offer lines equal the grants, counters equal the grants', async () => {
    await expectReconciled(t);
    const report = await t.call({ method: 'GET', url: '/v1/ledger/reconcile' });
    const names = report.json().checks.map((c: { name: string }) => c.name);
    expect(names).toEqual(
      expect.arrayContaining(['settlement_matches_offer_grants', 'offer_counters_match_grants']),
    );
  });
});
