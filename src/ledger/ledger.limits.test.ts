import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { adjust, expectReconciled, member } from '../../test/ledger-helpers.ts';
import { pointsLedger } from './ledger.core.ts';
import { credit, debit, limitsUsed } from './ledger.service.ts';

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
