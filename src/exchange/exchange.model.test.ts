import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { expectReconciled, member, points } from '../../test/ledger-helpers.ts';
import { pointsLedger } from '../ledger/ledger.core.ts';
import { credit, debit } from '../ledger/ledger.service.ts';
import { valueFen } from '../settlement/settlement.core.ts';
import type { DomainError } from '../shared/errors.ts';
import { type ExchangeRate, type PairTerms, quote } from './exchange.core.ts';

// Random conversions, fees, limits, earning and returns across three programs, against a model:
// every ledger balances, each member's balances are the model's, no conversion creates value by
// rounding, and what the brands owe each other is the model's to the fen.

const PROGRAMS = ['p-tea', 'p-air', 'p-mall'] as const;
type Program = (typeof PROGRAMS)[number];

let t: TestContext;
let runs = 0;
/** Outcomes seen, so that the test shows it reached each branch. */
const seen = new Map<string, number>();
const saw = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);
const rates = new Map<Program, ExchangeRate>();
const pairs = new Map<string, PairTerms>();

beforeAll(async () => {
  t = await createTestApp();
  t.clock.set('2026-11-02T02:00:00Z');
  const perHub: Record<Program, number> = { 'p-tea': 7, 'p-air': 3, 'p-mall': 100 };
  const value: Record<Program, number> = { 'p-tea': 1.25, 'p-air': 9, 'p-mall': 0.0333 };
  for (const id of PROGRAMS) {
    await t.program(id);
    const res = await t.call({
      method: 'PUT',
      url: `/v1/coalition/exchange/programs/${id}`,
      payload: { pointsPerHubUnit: perHub[id], pointValueFen: value[id] },
    });
    expect(res.statusCode, res.body).toBe(200);
    rates.set(id, {
      programId: id,
      pointsPerHubUnit: perHub[id],
      pointValueE4: Math.round(value[id] * 10_000),
    });
  }
  let n = 0;
  for (const from of PROGRAMS) {
    for (const to of PROGRAMS) {
      if (from === to) continue;
      n++;
      const terms = {
        feePercent: [0, 1.5, 3, 10, 0.01, 7][n - 1] as number,
        feeMinimum: n % 2 ? 0 : 3,
        minPoints: n,
        maxPoints: 250 + n * 30,
        dailyLimit: 300 + n * 10,
      };
      const res = await t.call({
        method: 'PUT',
        url: `/v1/coalition/exchange/pairs/${from}/${to}`,
        payload: terms,
      });
      expect(res.statusCode, res.body).toBe(200);
      pairs.set(`${from}>${to}`, {
        fromProgramId: from,
        toProgramId: to,
        feeBp: Math.round(terms.feePercent * 100),
        feeMinimum: terms.feeMinimum,
        minPoints: terms.minPoints,
        maxPoints: terms.maxPoints,
        dailyLimit: terms.dailyLimit,
      });
    }
  }
});

afterAll(async () => {
  await expectReconciled(t);
  await t.close();
});

type Op =
  | { type: 'earn'; program: Program; points: number }
  | { type: 'return'; program: Program; points: number }
  | {
      type: 'convert';
      from: Program;
      to: Program;
      ask: { points: number } | { receive: number };
      /** The same conversion asked for again at once (new references): where limits bite. */
      times: number;
    }
  | { type: 'repeat' }
  | { type: 'nextDay' };

const program = fc.constantFrom(...PROGRAMS);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant('earn' as const),
      program,
      points: fc.integer({ min: 1, max: 1500 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('return' as const),
      program,
      points: fc.integer({ min: 1, max: 300 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc
      .record({
        from: program,
        to: program,
        ask: fc.oneof(
          fc.record({ points: fc.integer({ min: 100, max: 450 }) }),
          fc.record({ receive: fc.integer({ min: 1, max: 150 }) }),
        ),
        times: fc.integer({ min: 1, max: 3 }),
      })
      .filter((c) => c.from !== c.to)
      .map((c) => ({ type: 'convert' as const, ...c })),
  },
  { weight: 1, arbitrary: fc.constant({ type: 'repeat' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'nextDay' as const }) },
);

describe('conversions against a model', () => {
  it('keep every balance, limit and settlement line exactly where the model says', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 30 }), async (ops) => {
        const run = runs++;
        const phone = `1390000${String(run).padStart(4, '0')}`;
        const m = await member(t, 'p-tea', phone);
        await member(t, 'p-air', phone);
        await member(t, 'p-mall', phone);
        const balance = new Map<Program, number>(PROGRAMS.map((p) => [p, 0]));
        for (const p of PROGRAMS) {
          await credit(t.deps, {
            ledger: pointsLedger(p),
            memberId: m,
            points: 400,
            code: 'earn',
            reference: 'seed',
            commandId: `seed-${run}-${p}`,
          });
          balance.set(p, 400);
        }
        const used = new Map<string, number>();
        const owed = new Map<string, number>(); // debtor>creditor → fen
        let day = 0;
        let last: { body: object; status: number; json: unknown } | undefined;
        let seq = 0;
        for (const o of ops.flatMap((x) =>
          x.type === 'convert' ? Array<Op>(x.times).fill(x) : [x],
        )) {
          const ref = `r${run}-${seq++}`;
          if (o.type === 'earn') {
            await credit(t.deps, {
              ledger: pointsLedger(o.program),
              memberId: m,
              points: o.points,
              code: 'earn',
              reference: ref,
              commandId: ref,
            });
            balance.set(o.program, (balance.get(o.program) ?? 0) + o.points);
          } else if (o.type === 'return') {
            // A return takes back what it can of the earned points.
            const r = await debit(t.deps, {
              ledger: pointsLedger(o.program),
              memberId: m,
              points: o.points,
              code: 'reverse',
              reference: ref,
              commandId: ref,
              to: 'issuance',
              atMost: true,
            });
            balance.set(o.program, (balance.get(o.program) ?? 0) - r.points);
          } else if (o.type === 'nextDay') {
            day++;
            t.clock.set(new Date(t.clock.now().getTime() + 86_400_000));
          } else if (o.type === 'repeat') {
            if (!last) continue;
            const res = await t.call({
              method: 'POST',
              url: `/v1/members/${m}/conversions`,
              payload: last.body,
            });
            // A repeat applies nothing and answers as the first time did.
            expect(res.statusCode).toBe(last.status);
            if (last.status === 201) expect(res.json()).toEqual(last.json);
          } else {
            const pair = pairs.get(`${o.from}>${o.to}`) as PairTerms;
            const from = rates.get(o.from) as ExchangeRate;
            const to = rates.get(o.to) as ExchangeRate;
            const body = { from: o.from, to: o.to, ...o.ask, reference: ref };
            const res = await t.call({
              method: 'POST',
              url: `/v1/members/${m}/conversions`,
              payload: body,
            });
            last = { body, status: res.statusCode, json: res.json() };
            let q: ReturnType<typeof quote>;
            try {
              q = quote(from, to, pair, o.ask);
            } catch (e) {
              expect((e as DomainError).code).toBe('conversion_out_of_range');
              expect(res.statusCode).toBe(422);
              saw('out of range');
              continue;
            }
            const key = `${o.from}>${o.to}|${day}`;
            const have = balance.get(o.from) ?? 0;
            if (have < q.debited) {
              expect(res.json().code, res.body).toBe('insufficient_points');
              saw('insufficient');
              continue;
            }
            if ((used.get(key) ?? 0) + q.converted > pair.dailyLimit) {
              expect(res.json().code, res.body).toBe('limit_reached');
              saw('limit');
              continue;
            }
            expect(res.statusCode, res.body).toBe(201);
            expect(res.json()).toMatchObject({
              converted: q.converted,
              fee: q.fee,
              credited: q.credited,
            });
            // No value created: what arrives is worth at most what left, in hub units.
            expect(q.credited * from.pointsPerHubUnit).toBeLessThanOrEqual(
              q.converted * to.pointsPerHubUnit,
            );
            saw('converted');
            used.set(key, (used.get(key) ?? 0) + q.converted);
            balance.set(o.from, have - q.debited);
            balance.set(o.to, (balance.get(o.to) ?? 0) + q.credited);
            const add = (debtor: string, creditor: string, fen: number) =>
              owed.set(`${debtor}>${creditor}`, (owed.get(`${debtor}>${creditor}`) ?? 0) + fen);
            add(o.from, o.to, valueFen(q.credited, to.pointValueE4));
            add(o.from, 'coalition', valueFen(q.fee, from.pointValueE4));
          }
        }
        for (const p of PROGRAMS) {
          expect((await points(t, p, m)).balance, p).toBe(balance.get(p));
        }
        const { rows } = await sql<{ debtor: string; creditor: string; fen: string }>`
          select debtor, creditor, sum(amount_fen) as fen from settlement_lines
          where member_id = ${m} group by debtor, creditor`.execute(t.deps.db);
        const lines = new Map(rows.map((r) => [`${r.debtor}>${r.creditor}`, Number(r.fen)]));
        expect(lines).toEqual(new Map([...owed].filter(([, fen]) => fen > 0)));
      }),
      { numRuns: 30 },
    );
    for (const what of ['converted', 'insufficient', 'limit', 'out of range']) {
      expect(seen.get(what) ?? 0, `${what}: ${JSON.stringify([...seen])}`).toBeGreaterThan(2);
    }
    await expectReconciled(t);
  }, 120_000);
});
