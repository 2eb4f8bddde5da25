import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { adjust, expectReconciled, member, points } from '../../test/ledger-helpers.ts';
import { pointsLedger } from './ledger.core.ts';
import { credit, debit, type LinkedPartInput, linked } from './ledger.service.ts';

// Linked commands: credits and debits, here on two brands' points, that all apply or none.

let t: TestContext;
let a: string;
let b: string;
beforeAll(async () => {
  t = await createTestApp();
  await t.program('tea');
  await t.program('cake');
  a = await member(t, 'tea', '13600000001');
  b = await member(t, 'cake', '13600000001'); // the same person, enrolled in both
  await adjust(t, 'tea', a, 500);
});
afterAll(async () => {
  await expectReconciled(t);
  await t.close();
});

/** Converts `from` points of tea into `to` points of cake, credit first when `creditFirst`. */
const conversion = (from: number, to: number, creditFirst = false): LinkedPartInput[] => {
  const parts: LinkedPartInput[] = [
    {
      type: 'debit',
      ledger: pointsLedger('tea'),
      memberId: a,
      points: from,
      code: 'redeem',
      reference: 'x',
    },
    {
      type: 'credit',
      ledger: pointsLedger('cake'),
      memberId: b,
      points: to,
      code: 'earn',
      reference: 'x',
    },
  ];
  return creditFirst ? parts.reverse() : parts;
};

const transfersOf = async (commandId: string) =>
  (
    await sql<{
      ledger: string;
      amount: string;
    }>`select ledger, amount from ledger_transfers where command_id = ${commandId} order by ledger`.execute(
      t.deps.db,
    )
  ).rows;

describe('linked commands', () => {
  it('moves points between two brands in one command, each transfer on its own ledger', async () => {
    expect(a).toBe(b);
    const r = await linked(t.deps, { commandId: 'conv-1', parts: conversion(200, 100) });
    expect(r.parts).toMatchObject([
      { points: 200, balance: 300 },
      { points: 100, balance: 100 },
    ]);
    expect(await points(t, 'tea', a)).toMatchObject({ balance: 300, available: 300 });
    expect(await points(t, 'cake', b)).toMatchObject({ balance: 100, available: 100 });
    expect(await transfersOf('conv-1')).toEqual([
      { ledger: 'points:cake', amount: '100' },
      { ledger: 'points:tea', amount: '200' },
    ]);
    await expectReconciled(t);
  });

  it('applies none of its parts when one cannot apply, whichever comes first', async () => {
    for (const [id, creditFirst] of [
      ['conv-2', false],
      ['conv-3', true],
    ] as const) {
      await expect(
        linked(t.deps, { commandId: id, parts: conversion(10_000, 50, creditFirst) }),
      ).rejects.toMatchObject({
        code: 'insufficient_points',
        message: expect.stringContaining(`Part ${creditFirst ? 2 : 1} of 2`),
      });
      expect(await points(t, 'tea', a)).toMatchObject({ balance: 300 });
      expect(await points(t, 'cake', b)).toMatchObject({ balance: 100 });
      expect(await transfersOf(id)).toEqual([]);
    }
    // Two debits of one member that fit alone but not together: the second sees the first.
    await expect(
      linked(t.deps, {
        commandId: 'conv-4',
        parts: [conversion(200, 1)[0], conversion(200, 1)[0]] as LinkedPartInput[],
      }),
    ).rejects.toMatchObject({ code: 'insufficient_points' });
    expect(await points(t, 'tea', a)).toMatchObject({ balance: 300 });
    await expectReconciled(t);
  });

  it('answers a repeated id with the first outcome, and refuses the id for other content', async () => {
    const first = await linked(t.deps, { commandId: 'conv-5', parts: conversion(10, 5) });
    const again = await linked(t.deps, { commandId: 'conv-5', parts: conversion(10, 5) });
    expect(again).toEqual({ ...first, replayed: true });
    await expect(
      linked(t.deps, { commandId: 'conv-5', parts: conversion(11, 5) }),
    ).rejects.toMatchObject({ code: 'command_id_reused' });
    // A refusal stays a refusal, even once the points are there.
    await expect(
      linked(t.deps, { commandId: 'conv-6', parts: conversion(1_000, 5) }),
    ).rejects.toMatchObject({ code: 'insufficient_points' });
    await adjust(t, 'tea', a, 1_000);
    await expect(
      linked(t.deps, { commandId: 'conv-6', parts: conversion(1_000, 5) }),
    ).rejects.toMatchObject({ code: 'insufficient_points' });
    expect(await points(t, 'tea', a)).toMatchObject({ balance: 1_290 });
    expect(await points(t, 'cake', b)).toMatchObject({ balance: 105 });
  });

  it('fails alone in a batch: its neighbours apply', async () => {
    const before = await points(t, 'tea', a);
    const results = await Promise.allSettled([
      debit(t.deps, {
        ledger: pointsLedger('tea'),
        memberId: a,
        points: 1,
        code: 'redeem',
        reference: null,
        commandId: 'n-1',
      }),
      linked(t.deps, { commandId: 'conv-7', parts: conversion(1_000_000, 1, true) }),
      credit(t.deps, {
        ledger: pointsLedger('cake'),
        memberId: b,
        points: 2,
        code: 'earn',
        reference: null,
        commandId: 'n-2',
      }),
      linked(t.deps, { commandId: 'conv-8', parts: conversion(3, 3) }),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    expect(await points(t, 'tea', a)).toMatchObject({ balance: before.balance - 4 });
    expect(await points(t, 'cake', b)).toMatchObject({ balance: 110 });
    await expectReconciled(t);
  });

  it('records an empty command once, and refuses parts that are not positive whole points', async () => {
    expect(await linked(t.deps, { commandId: 'conv-9', parts: [] })).toEqual({
      parts: [],
      replayed: false,
    });
    expect(await linked(t.deps, { commandId: 'conv-9', parts: [] })).toEqual({
      parts: [],
      replayed: true,
    });
    await expect(
      linked(t.deps, { commandId: 'conv-10', parts: conversion(0, 1) }),
    ).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringContaining('parts.0.points'),
    });
  });
});
