import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { adjust, expectReconciled, member } from '../../test/ledger-helpers.ts';
import { pointsLedger } from './ledger.core.ts';
import { credit, debit, limitsUsed, lotsOf } from './ledger.service.ts';

// Limit counters (a daily cap, a budget) and at-most debits: the ledger's own tools for the
// modules that need "no more than" under concurrency.

let t: TestContext;
beforeAll(async () => {
  t = await createTestApp();
  await t.program('lim');
});
afterAll(async () => {
  await expectReconciled(t);
  await t.close();
});

const ledger = pointsLedger('lim');
let n = 0;
const commandId = () => `test:${n++}`;

describe('limits', () => {
  it('refuses a credit over a limit whole, or credits what is left when partial', async () => {
    const m = await member(t, 'lim', '13500000001');
    const limits = [{ key: 'budget:rule-1', max: 150 }];
    const base = { ledger, memberId: m, code: 'earn' as const, reference: null, limits };
    expect(await credit(t.deps, { ...base, points: 100, commandId: commandId() })).toMatchObject({
      points: 100,
    });
    await expect(
      credit(t.deps, { ...base, points: 100, commandId: commandId() }),
    ).rejects.toMatchObject({ code: 'limit_reached' });
    const partial = await credit(t.deps, {
      ...base,
      points: 100,
      partial: true,
      commandId: commandId(),
    });
    expect(partial).toMatchObject({ points: 50, balance: 150 });
    const none = await credit(t.deps, {
      ...base,
      points: 5,
      partial: true,
      commandId: commandId(),
    });
    expect(none).toMatchObject({ points: 0, transferId: null, balance: 150 });
    expect(await limitsUsed(t.deps, ledger, ['budget:rule-1', 'other'])).toEqual(
      new Map([['budget:rule-1', 150]]),
    );
  });

  it('shares one limit between members, under concurrency', async () => {
    const members = await Promise.all([2, 3, 4, 5].map((i) => member(t, 'lim', `1350000000${i}`)));
    const limits = [{ key: 'budget:shared', max: 1000 }];
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        credit(t.deps, {
          ledger,
          memberId: members[i % 4] as string,
          points: 30,
          code: 'earn',
          reference: null,
          limits,
          partial: true,
          commandId: commandId(),
        }),
      ),
    );
    expect(results.reduce((s, r) => s + r.points, 0)).toBe(1000);
  });
});

describe('at-most debits', () => {
  it('take what there is, never below zero', async () => {
    const m = await member(t, 'lim', '13500000009');
    await adjust(t, 'lim', m, 40);
    const base = { ledger, memberId: m, code: 'adjust' as const, reference: null };
    await expect(
      debit(t.deps, { ...base, points: 50, commandId: commandId() }),
    ).rejects.toMatchObject({
      code: 'insufficient_points',
    });
    expect(
      await debit(t.deps, { ...base, points: 50, atMost: true, commandId: commandId() }),
    ).toMatchObject({
      points: 40,
      balance: 0,
    });
    expect(
      await debit(t.deps, { ...base, points: 5, atMost: true, commandId: commandId() }),
    ).toMatchObject({
      points: 0,
      transferId: null,
    });
  });
});

describe('credits in shares', () => {
  it('cut each share to what its own limits leave: one transfer, one lot of their sum', async () => {
    const m = await member(t, 'lim', '13500000010');
    const shares = (a: number, b: number) => [
      { amount: a, limits: [{ key: 'rule-a', max: 100 }] },
      { amount: b, limits: [{ key: 'rule-b', max: 1000 }] },
    ];
    const base = { ledger, memberId: m, code: 'earn' as const, reference: null, partial: true };
    const first = await credit(t.deps, {
      ...base,
      points: 150,
      shares: shares(80, 70),
      commandId: commandId(),
    });
    expect(first).toMatchObject({ points: 150, shares: [80, 70] });
    const second = await credit(t.deps, {
      ...base,
      points: 100,
      shares: shares(50, 50),
      commandId: commandId(),
    });
    // rule-a has 20 left of its 100.
    expect(second).toMatchObject({ points: 70, shares: [20, 50], balance: 220 });
    expect(await lotsOf(t.deps, ledger, m)).toHaveLength(2);
    expect(await limitsUsed(t.deps, ledger, ['rule-a', 'rule-b'])).toEqual(
      new Map([
        ['rule-a', 100],
        ['rule-b', 120],
      ]),
    );
  });
});

describe('a counter named twice', () => {
  it('counts a share once against it', async () => {
    const m = await member(t, 'lim', '13500000012');
    const limits = [
      { key: 'dup', max: 100 },
      { key: 'dup', max: 80 },
    ];
    const r = await credit(t.deps, {
      ledger,
      memberId: m,
      points: 90,
      code: 'earn',
      reference: null,
      shares: [{ amount: 90, limits }],
      partial: true,
      commandId: commandId(),
    });
    expect(r).toMatchObject({ points: 80, shares: [80] });
    expect(await limitsUsed(t.deps, ledger, ['dup'])).toEqual(new Map([['dup', 80]]));
  });
});

describe('debits from named lots', () => {
  it('take from the named lot first, pending or not; pendingOnly takes from it while pending alone', async () => {
    const m = await member(t, 'lim', '13500000011');
    await adjust(t, 'lim', m, 100);
    const pendingUntil = new Date(t.clock.now().getTime() + 7 * 86_400_000);
    const earned = await credit(t.deps, {
      ledger,
      memberId: m,
      points: 60,
      code: 'earn',
      reference: 'purchase:1',
      pendingUntil,
      commandId: commandId(),
    });
    const lot = earned.transferId as string;
    const back = { ledger, memberId: m, code: 'reverse' as const, reference: 'return:1' };
    const taken = await debit(t.deps, {
      ...back,
      to: 'issuance',
      points: 40,
      atMost: true,
      lots: { ids: [lot], pendingOnly: true },
      writeOff: true,
      commandId: commandId(),
    });
    expect(taken).toMatchObject({ points: 40, writtenOff: 0 });
    const lots = await lotsOf(t.deps, ledger, m);
    expect(lots.find((l) => l.id === lot)?.remaining).toBe(20);
    // Only 20 are still pending in that lot: the rest is written off, the other lot untouched.
    const more = await debit(t.deps, {
      ...back,
      to: 'issuance',
      points: 50,
      atMost: true,
      lots: { ids: [lot], pendingOnly: true },
      writeOff: true,
      commandId: commandId(),
    });
    expect(more).toMatchObject({ points: 20, writtenOff: 30, balance: 100 });
    // Without pendingOnly the named lot goes first, then any spendable lot; the rest written off.
    const rest = await debit(t.deps, {
      ...back,
      to: 'issuance',
      points: 130,
      atMost: true,
      lots: { ids: [lot] },
      writeOff: true,
      commandId: commandId(),
    });
    expect(rest).toMatchObject({ points: 100, writtenOff: 30, balance: 0 });
  });
});
