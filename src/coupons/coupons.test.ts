import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { expectReconciled, member } from '../../test/ledger-helpers.ts';
import type {
  couponSchema,
  createTemplateBody,
  issueResultSchema,
  redemptionSchema,
  templateSchema,
} from './coupons.schemas.ts';

let t: TestContext;
let adminA: string;
let readA: string;
let integrationA: string;
let adminB: string;
let integrationB: string;

type NewTemplate = z.input<typeof createTemplateBody>;
type Template = z.infer<typeof templateSchema>;
type Coupon = z.infer<typeof couponSchema>;
type Issued = z.infer<typeof issueResultSchema>;
type Redemption = z.infer<typeof redemptionSchema>;

beforeAll(async () => {
  t = await createTestApp();
  for (const p of ['shop', 'other']) await t.program(p);
  adminA = await t.key('shop', 'admin');
  readA = await t.key('shop', 'read');
  integrationA = await t.key('shop', 'integration');
  adminB = await t.key('other', 'admin');
  integrationB = await t.key('other', 'integration');
  const ladder = {
    basis: 'growth',
    evaluation: 'immediate',
    tiers: [
      { code: 'member', name: 'Member', threshold: 0 },
      { code: 'gold', name: 'Gold', threshold: 500 },
    ],
  };
  const res = await t.call({ method: 'PUT', url: '/v1/programs/shop/tiers', payload: ladder });
  expect(res.statusCode, res.body).toBe(200);
});
afterAll(() => t.close());

const templatesUrl = (p = 'shop') => `/v1/programs/${p}/coupon-templates`;
let seq = 0;
let phone = 13900000000;
const newMember = (programId = 'shop') => member(t, programId, String(++phone));

async function template(over: Partial<NewTemplate> = {}, key = adminA): Promise<Template> {
  const res = await t.call({
    method: 'POST',
    url: templatesUrl(),
    key,
    payload: {
      id: `tpl-${++seq}`,
      name: '¥10 off',
      kind: 'amount_off',
      amountOffFen: 1000,
      ...over,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

function issue(templateId: string, memberIds: string[], reference: string, key = integrationA) {
  return t.call({
    method: 'POST',
    url: `${templatesUrl()}/${templateId}/issue`,
    key,
    payload: { memberIds, reference },
  });
}

async function issued(templateId: string, memberId: string): Promise<Coupon> {
  const res = await issue(templateId, [memberId], `ref-${++seq}`);
  expect(res.statusCode, res.body).toBe(201);
  const [c] = (res.json() as Issued).data;
  if (!c) throw new Error('no coupon');
  return c;
}

const purchase = (amount: number, extra: object = {}) => ({ amount, ...extra });

function validate(code: string, body: object, key = integrationA, programId = 'shop') {
  return t.call({
    method: 'POST',
    url: `/v1/programs/${programId}/coupons/validate`,
    key,
    payload: { code, ...body },
  });
}

function redeem(code: string, purchaseId: string, body: object = {}, key = integrationA) {
  return t.call({
    method: 'POST',
    url: '/v1/programs/shop/coupons/redeem',
    key,
    payload: { code, purchaseId, purchase: purchase(10_000), ...body },
  });
}

async function auditActions() {
  const res = await t.call({ method: 'GET', url: '/v1/audit?programId=shop&limit=100' });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().data.map((e: { action: string }) => e.action) as string[];
}

async function templateCount() {
  const r = await t.deps.db
    .selectFrom('coupon_templates')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

describe('coupon templates', () => {
  it('creates each kind, lists them with counts, changes one, and audits', async () => {
    const amount = await template({ stock: 100, perMemberLimit: 2, validDays: 30 });
    expect(amount).toMatchObject({
      kind: 'amount_off',
      amountOffFen: 1000,
      stock: 100,
      issued: 0,
      redeemed: 0,
      status: 'active',
    });
    const percent = await template({
      name: '20% off',
      kind: 'percent_off',
      amountOffFen: undefined,
      percentOff: 20,
      capFen: 5000,
      conditions: { minSpendFen: 10_000, stores: ['s1'], categories: ['food'], tiers: ['gold'] },
      validFrom: '2026-06-01T00:00:00Z',
      validUntil: '2026-12-31T00:00:00Z',
    });
    expect(percent).toMatchObject({ percentOff: 20, capFen: 5000, stock: null });
    await template({ kind: 'gift', amountOffFen: undefined, gift: 'A cup of coffee' });
    await template({ kind: 'free_shipping', amountOffFen: undefined });
    const m = await newMember();
    await issued(amount.id, m);
    const list = await t.call({ method: 'GET', url: templatesUrl(), key: adminA });
    expect(list.statusCode, list.body).toBe(200);
    const shown = (list.json().data as Template[]).find((x) => x.id === amount.id);
    expect(shown).toMatchObject({ issued: 1, redeemed: 0 });
    const patched = await t.call({
      method: 'PATCH',
      url: `${templatesUrl()}/${amount.id}`,
      key: adminA,
      payload: { stock: 50, status: 'paused', validUntil: '2027-01-01T00:00:00Z' },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ stock: 50, status: 'paused', issued: 1 });
    const below = await t.call({
      method: 'PATCH',
      url: `${templatesUrl()}/${amount.id}`,
      key: adminA,
      payload: { stock: 0 },
    });
    expect(below.statusCode).toBe(409);
    expect(below.json().code).toBe('stock_below_claimed');
    for (const payload of [
      {},
      { stock: -1 },
      { status: 'gone' },
      { validUntil: '2026-05-01T00:00:00Z', validFrom: '2026-06-01T00:00:00Z' },
    ]) {
      const bad = await t.call({
        method: 'PATCH',
        url: `${templatesUrl()}/${amount.id}`,
        key: adminA,
        payload,
      });
      expect(bad.statusCode, JSON.stringify(payload)).toBe(400);
      expect(bad.headers['content-type']).toContain('application/problem+json');
    }
    const unchanged = await t.call({
      method: 'GET',
      url: `${templatesUrl()}/${amount.id}`,
      key: adminA,
    });
    expect(unchanged.json()).toMatchObject({ stock: 50, status: 'paused', validFrom: null });
    const paused = await issue(amount.id, [m], 'after-pause');
    expect(paused.statusCode).toBe(409);
    expect(paused.json().code).toBe('coupon_template_unavailable');
    expect(await auditActions()).toEqual(
      expect.arrayContaining([
        'coupon.template_created',
        'coupon.template_changed',
        'coupon.issued',
      ]),
    );
  });

  it.each([
    [{ name: '' }, 'name'],
    [{ kind: 'cashback' }, 'kind'],
    [{ amountOffFen: undefined }, 'amountOffFen'],
    [{ amountOffFen: 1.5 }, 'amountOffFen'],
    [{ kind: 'percent_off', percentOff: 120 }, 'percentOff'],
    [{ kind: 'gift', amountOffFen: undefined, capFen: 100 }, 'capFen'],
    [{ stock: -1 }, 'stock'],
    [{ perMemberLimit: 0 }, 'perMemberLimit'],
    [{ conditions: { minSpendFen: -5 } }, 'conditions'],
    [{ conditions: { tiers: ['diamond'] } }, 'conditions.tiers'],
    [{ issueOnTier: 'gold' }, 'issueOnTier'],
    [{ validFrom: '2026-07-01T00:00:00Z', validUntil: '2026-06-01T00:00:00Z' }, 'validUntil'],
  ])('refuses %j with a 400 naming %s, creating nothing', async (over, field) => {
    const before = await templateCount();
    const res = await t.call({
      method: 'POST',
      url: templatesUrl(),
      key: adminA,
      payload: { name: 'x', kind: 'amount_off', amountOffFen: 100, ...over },
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(JSON.stringify(res.json().errors)).toContain(field);
    expect(await templateCount()).toBe(before);
  });

  it('needs the admin role, and hides one program’s templates from another', async () => {
    const tpl = await template();
    const asRead = await t.call({ method: 'GET', url: templatesUrl(), key: readA });
    expect(asRead.statusCode).toBe(403);
    for (const [method, url, payload] of [
      ['GET', `${templatesUrl()}/${tpl.id}`, undefined],
      ['PATCH', `${templatesUrl()}/${tpl.id}`, { status: 'closed' }],
      ['GET', templatesUrl(), undefined],
    ] as const) {
      const res = await t.call({ method, url, key: adminB, ...(payload && { payload }) });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
    // Through its own program's path, another program's template is not found either.
    const res = await t.call({
      method: 'GET',
      url: `${templatesUrl('other')}/${tpl.id}`,
      key: adminB,
    });
    expect(res.statusCode).toBe(404);
    const dup = await t.call({
      method: 'POST',
      url: templatesUrl(),
      key: adminA,
      payload: { id: tpl.id, name: 'again', kind: 'gift' },
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('coupon_template_exists');
  });
});

describe('issuing', () => {
  it('issues to a list, once per reference, with unique checked codes', async () => {
    const tpl = await template({ stock: 10, validDays: 7 });
    const members = [await newMember(), await newMember(), await newMember()];
    const res = await issue(tpl.id, members, 'campaign-1');
    expect(res.statusCode, res.body).toBe(201);
    const body = res.json() as Issued;
    expect(body.data).toHaveLength(3);
    expect(new Set(body.data.map((c) => c.code)).size).toBe(3);
    for (const c of body.data) {
      expect(c.code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
      expect(c.expiresAt).toBe('2026-06-08T00:00:00.000Z');
      expect(c.status).toBe('issued');
    }
    const again = await issue(tpl.id, members, 'campaign-1');
    expect(again.statusCode).toBe(200);
    expect((again.json() as Issued).replayed).toBe(true);
    expect((again.json() as Issued).data.map((c) => c.code).sort()).toEqual(
      body.data.map((c) => c.code).sort(),
    );
    const list = await t.call({
      method: 'GET',
      url: `/v1/programs/shop/members/${members[0]}/coupons`,
      key: readA,
    });
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json().data.map((c: Coupon) => c.templateId)).toEqual([tpl.id]);
    const shown = await t.call({ method: 'GET', url: `${templatesUrl()}/${tpl.id}`, key: adminA });
    expect(shown.json()).toMatchObject({ issued: 3 });
  });

  it('refuses a whole list past the stock or a member’s limit, issuing nothing', async () => {
    const tpl = await template({ stock: 2, perMemberLimit: 1 });
    const [a, b, c] = [await newMember(), await newMember(), await newMember()];
    const tooMany = await issue(tpl.id, [a, b, c], 'three');
    expect(tooMany.statusCode, tooMany.body).toBe(409);
    expect(tooMany.json().code).toBe('out_of_stock');
    expect(await issue(tpl.id, [a], 'one').then((r) => r.statusCode)).toBe(201);
    const twice = await issue(tpl.id, [a, b], 'two');
    expect(twice.statusCode, twice.body).toBe(409);
    expect(twice.json().code).toBe('limit_reached');
    const shown = await t.call({ method: 'GET', url: `${templatesUrl()}/${tpl.id}`, key: adminA });
    expect(shown.json()).toMatchObject({ issued: 1 });
    const stranger = await issue(tpl.id, ['mem_nobody'], 'x');
    expect(stranger.statusCode).toBe(404);
    const bad = await t.call({
      method: 'POST',
      url: `${templatesUrl()}/${tpl.id}/issue`,
      key: integrationA,
      payload: { memberIds: [], reference: 'x' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
  });

  it('never oversells under concurrent issues', async () => {
    const tpl = await template({ stock: 5 });
    const members = await Promise.all(Array.from({ length: 20 }, () => newMember()));
    const results = await Promise.all(members.map((m, i) => issue(tpl.id, [m], `race-${i}`)));
    const codes = results.map((r) => r.statusCode);
    expect(codes.filter((s) => s === 201)).toHaveLength(5);
    expect(codes.filter((s) => s === 409)).toHaveLength(15);
    const shown = await t.call({ method: 'GET', url: `${templatesUrl()}/${tpl.id}`, key: adminA });
    expect(shown.json()).toMatchObject({ issued: 5 });
  });

  it('keeps other programs out', async () => {
    const tpl = await template();
    const m = await newMember();
    expect((await issue(tpl.id, [m], 'x', integrationB)).statusCode).toBe(404);
    const mine = await t.call({
      method: 'GET',
      url: `/v1/programs/shop/members/${m}/coupons`,
      key: integrationB,
    });
    expect(mine.statusCode).toBe(404);
    // A member of another program cannot be given this program's coupon.
    const outsider = await newMember('other');
    expect((await issue(tpl.id, [outsider], 'y')).statusCode).toBe(404);
  });

  it('gives 20,000 codes with no duplicate, which a unique index enforces', async () => {
    const tpl = await template({ name: 'bulk' });
    const members: string[] = [];
    for (let i = 0; i < 10; i++) {
      members.push(...(await Promise.all(Array.from({ length: 50 }, () => newMember()))));
    }
    for (let round = 0; round < 40; round += 4) {
      const res = await Promise.all(
        [0, 1, 2, 3].map((k) => issue(tpl.id, members, `bulk-${round + k}`)),
      );
      for (const r of res) expect(r.statusCode, r.body).toBe(201);
    }
    const row = await t.deps.db
      .selectFrom('coupons')
      .select((eb) => [
        eb.fn.countAll<string>().as('n'),
        eb.fn.count<string>('code').distinct().as('codes'),
      ])
      .where('template_id', '=', tpl.id)
      .executeTakeFirstOrThrow();
    expect(Number(row.n)).toBe(20_000);
    expect(Number(row.codes)).toBe(20_000);
    const one = await t.deps.db
      .selectFrom('coupons')
      .select(['code', 'template_id', 'program_id', 'member_id'])
      .where('template_id', '=', tpl.id)
      .executeTakeFirstOrThrow();
    await expect(
      t.deps.db
        .insertInto('coupons')
        .values({
          id: 'cpn_dup',
          template_id: one.template_id,
          program_id: one.program_id,
          member_id: one.member_id,
          reference: 'dup',
          code: one.code,
          status: 'issued',
          issued_at: new Date(),
        })
        .execute(),
    ).rejects.toMatchObject({ code: '23505', constraint: 'coupons_code_key' });
  }, 120_000);
});

describe('at the till', () => {
  it('validates each kind without writing: discount in fen', async () => {
    const m = await newMember();
    const amount = await issued((await template({ amountOffFen: 3000 })).id, m);
    const percent = await issued(
      (
        await template({
          kind: 'percent_off',
          amountOffFen: undefined,
          percentOff: 15,
          capFen: 2000,
        })
      ).id,
      m,
    );
    const gift = await issued(
      (await template({ kind: 'gift', amountOffFen: undefined, gift: 'Tote bag' })).id,
      m,
    );
    const cases: [string, number, object][] = [
      [amount.code, 10_000, { valid: true, discount: 3000 }],
      [amount.code, 2000, { valid: true, discount: 2000 }],
      [percent.code, 10_000, { valid: true, discount: 1500 }],
      [percent.code, 999, { valid: true, discount: 149 }],
      [percent.code, 50_000, { valid: true, discount: 2000 }],
      [gift.code, 100, { valid: true, discount: 0, gift: 'Tote bag', kind: 'gift' }],
    ];
    for (const [code, amt, want] of cases) {
      const res = await validate(code, { memberId: m, purchase: purchase(amt) });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json(), `${code} ${amt}`).toMatchObject(want);
    }
    // Typed by hand: lower case, spaces for dashes.
    const typed = await validate(amount.code.toLowerCase().replaceAll('-', ' '), {
      purchase: purchase(100),
    });
    expect(typed.json()).toMatchObject({ valid: true, discount: 100 });
    const list = await t.call({
      method: 'GET',
      url: `/v1/programs/shop/members/${m}/coupons`,
      key: readA,
    });
    expect(list.json().data.every((c: Coupon) => c.status === 'issued')).toBe(true);
  });

  it('says why a coupon does not apply', async () => {
    const m = await newMember();
    const other = await newMember();
    const tpl = await template({
      kind: 'percent_off',
      amountOffFen: undefined,
      percentOff: 10,
      conditions: { minSpendFen: 5000, stores: ['s1'], categories: ['food'] },
    });
    const c = await issued(tpl.id, m);
    const food = (amount: number) => [{ category: 'food', amount }];
    const cases: [object, object][] = [
      [{ purchase: purchase(9000, { store: 's2', items: food(9000) }) }, { reason: 'store' }],
      [{ purchase: purchase(9000, { store: 's1' }) }, { reason: 'category' }],
      [
        { purchase: purchase(9000, { store: 's1', items: [{ category: 'toys', amount: 9000 }] }) },
        { reason: 'category' },
      ],
      [
        {
          purchase: purchase(9000, {
            store: 's1',
            items: [...food(4000), { category: 'toys', amount: 5000 }],
          }),
        },
        { reason: 'min_spend' },
      ],
      [
        { memberId: other, purchase: purchase(9000, { store: 's1', items: food(9000) }) },
        { reason: 'wrong_member' },
      ],
      [
        {
          purchase: purchase(9000, {
            store: 's1',
            items: [...food(6000), { category: 'toys', amount: 3000 }],
          }),
        },
        { valid: true, discount: 600 },
      ],
    ];
    for (const [body, want] of cases) {
      const res = await validate(c.code, body);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json(), JSON.stringify(body)).toMatchObject({
        ...('reason' in want && { valid: false, discount: 0 }),
        ...want,
      });
    }
    const gold = await template({ conditions: { tiers: ['gold'] } });
    const g = await issued(gold.id, m);
    expect((await validate(g.code, { purchase: purchase(100) })).json()).toMatchObject({
      valid: false,
      reason: 'tier',
    });
    const setTier = await t.call({
      method: 'PUT',
      url: `/v1/programs/shop/members/${m}/tier`,
      payload: { code: 'gold', reason: 'test' },
    });
    expect(setTier.statusCode, setTier.body).toBe(200);
    expect((await validate(g.code, { purchase: purchase(100) })).json()).toMatchObject({
      valid: true,
      discount: 100,
    });
    const notYet = await issued((await template({ validFrom: '2026-07-01T00:00:00Z' })).id, m);
    expect((await validate(notYet.code, { purchase: purchase(100) })).json()).toMatchObject({
      valid: false,
      reason: 'not_yet_valid',
    });
    const refused = await redeem(notYet.code, 'P-NY');
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({
      code: 'coupon_not_applicable',
      reason: 'not_yet_valid',
    });
  });

  it('refuses codes that are malformed, unknown or another program’s with 404', async () => {
    const m = await newMember();
    const c = await issued((await template()).id, m);
    const typo = c.code.slice(0, -1) + (c.code.endsWith('0') ? '1' : '0');
    for (const code of [typo, '0000-0000-0000-0000', 'nonsense']) {
      expect((await validate(code, { purchase: purchase(100) })).statusCode, code).toBe(404);
    }
    expect(
      (await validate(c.code, { purchase: purchase(100) }, integrationB, 'other')).statusCode,
    ).toBe(404);
    expect((await validate(c.code, { purchase: purchase(100) }, integrationB)).statusCode).toBe(
      404,
    );
    const bad = await validate(c.code, { purchase: { amount: -1 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
  });

  it('answers codes validated at the same moment each with its own coupon', async () => {
    // Codes asked for in the same turn are read in one statement: every caller still gets the
    // answer for its own code, program and purchase.
    const m = await newMember();
    const amount = await issued((await template({ amountOffFen: 3000 })).id, m);
    const percent = await issued(
      (await template({ kind: 'percent_off', amountOffFen: undefined, percentOff: 10 })).id,
      m,
    );
    const redeemed = await issued((await template()).id, m);
    expect((await redeem(redeemed.code, 'P-moment')).statusCode).toBe(201);
    const cases: [Promise<{ statusCode: number; json(): unknown }>, number, object?][] = [
      [validate(amount.code, { purchase: purchase(10_000) }), 200, { discount: 3000 }],
      [validate(amount.code, { purchase: purchase(1000) }), 200, { discount: 1000 }],
      [validate(percent.code, { purchase: purchase(10_000) }), 200, { discount: 1000 }],
      [validate(redeemed.code, { purchase: purchase(100) }), 200, { reason: 'redeemed' }],
      [validate('0000-0000-0000-0000', { purchase: purchase(100) }), 404],
      [validate(amount.code, { purchase: purchase(100) }, integrationB, 'other'), 404],
      [validate(percent.code, { memberId: m, purchase: purchase(500) }), 200, { discount: 50 }],
    ];
    const answers = await Promise.all(cases.map(([res]) => res));
    answers.forEach((res, i) => {
      const [, status, want] = cases[i] ?? [];
      expect(res.statusCode, `case ${i}`).toBe(status);
      if (want) expect(res.json(), `case ${i}`).toMatchObject(want);
    });
  });

  it('redeems once, replays for the same purchase, and refuses the rest', async () => {
    const m = await newMember();
    const tpl = await template({ amountOffFen: 2000, validDays: 10 });
    const c = await issued(tpl.id, m);
    const first = await redeem(c.code, 'P-1', { memberId: m });
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json() as Redemption).toMatchObject({
      status: 'redeemed',
      purchaseId: 'P-1',
      discount: 2000,
      replayed: false,
    });
    const again = await redeem(c.code, 'P-1');
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ replayed: true, discount: 2000 });
    const other = await redeem(c.code, 'P-2');
    expect(other.statusCode).toBe(409);
    expect(other.json().code).toBe('coupon_already_redeemed');
    const v = await validate(c.code, { purchase: purchase(100) });
    expect(v.json()).toMatchObject({ valid: false, reason: 'redeemed' });
    const shown = await t.call({ method: 'GET', url: `${templatesUrl()}/${tpl.id}`, key: adminA });
    expect(shown.json()).toMatchObject({ issued: 1, redeemed: 1 });

    const late = await issued(tpl.id, m);
    const start = t.clock.now();
    t.clock.advance(11 * 24 * 60 * 60 * 1000);
    try {
      const expired = await redeem(late.code, 'P-3');
      expect(expired.statusCode).toBe(409);
      expect(expired.json().code).toBe('coupon_expired');
    } finally {
      t.clock.set(start);
    }
    const wrong = await redeem(late.code, 'P-4', { memberId: 'mem_someone' });
    expect(wrong.statusCode).toBe(409);
    expect(wrong.json()).toMatchObject({ code: 'coupon_not_applicable', reason: 'wrong_member' });
    expect((await redeem(late.code, 'P-5', {}, integrationB)).statusCode).toBe(404);
    const unused = await t.deps.db
      .selectFrom('coupons')
      .select('status')
      .where('code', '=', late.code)
      .executeTakeFirstOrThrow();
    expect(unused.status).toBe('issued');
  });

  it('lets exactly one of 50 concurrent redemptions through', async () => {
    const m = await newMember();
    const c = await issued((await template()).id, m);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => redeem(c.code, `P-race-${i}`)),
    );
    const ok = results.filter((r) => r.statusCode === 201);
    expect(ok).toHaveLength(1);
    for (const r of results) {
      if (r.statusCode !== 201) expect(r.json().code).toBe('coupon_already_redeemed');
    }
  });

  it('puts a coupon back when its purchase is returned whole, not in part', async () => {
    const m = await newMember();
    const c = await issued((await template({ amountOffFen: 500 })).id, m);
    const part = await t.call({
      method: 'POST',
      url: '/v1/programs/shop/purchases',
      payload: {
        id: 'SALE-0',
        member: { id: m },
        amount: 9500,
        currency: 'CNY',
        occurredAt: t.clock.now().toISOString(),
      },
    });
    expect(part.statusCode, part.body).toBe(201);
    expect((await redeem(c.code, 'SALE-0')).statusCode).toBe(201);
    const partly = await t.call({
      method: 'POST',
      url: '/v1/programs/shop/purchases/SALE-0/returns',
      payload: { id: 'RET-0', amount: 1000, reason: 'one item' },
    });
    expect(partly.statusCode, partly.body).toBe(201);
    expect((await validate(c.code, { purchase: purchase(1000) })).json()).toMatchObject({
      valid: false,
      reason: 'redeemed',
    });
    const rest = await t.call({
      method: 'POST',
      url: '/v1/programs/shop/purchases/SALE-0/returns',
      payload: { id: 'RET-0b', reason: 'the rest' },
    });
    expect(rest.statusCode, rest.body).toBe(201);
    expect((await validate(c.code, { purchase: purchase(1000) })).json()).toMatchObject({
      valid: true,
    });
    const bought = await t.call({
      method: 'POST',
      url: '/v1/programs/shop/purchases',
      payload: {
        id: 'SALE-1',
        member: { id: m },
        amount: 9500,
        currency: 'CNY',
        occurredAt: t.clock.now().toISOString(),
      },
    });
    expect(bought.statusCode, bought.body).toBe(201);
    expect((await redeem(c.code, 'SALE-1')).statusCode).toBe(201);
    const ret = () =>
      t.call({
        method: 'POST',
        url: '/v1/programs/shop/purchases/SALE-1/returns',
        payload: { id: 'RET-1', reason: 'changed mind' },
      });
    const r1 = await ret();
    expect(r1.statusCode, r1.body).toBe(201);
    const v = await validate(c.code, { purchase: purchase(1000) });
    expect(v.json()).toMatchObject({ valid: true, discount: 500 });
    // Used again on a new purchase, a replay of the old return leaves it redeemed.
    expect((await redeem(c.code, 'SALE-2')).statusCode).toBe(201);
    const r2 = await ret();
    expect(r2.statusCode, r2.body).toBeLessThan(300);
    const after = await validate(c.code, { purchase: purchase(1000) });
    expect(after.json()).toMatchObject({ valid: false, reason: 'redeemed' });
  });
});

describe('after all of it', () => {
  it('reconciles: issued counts equal the coupons', async () => {
    await expectReconciled(t);
  });
});
