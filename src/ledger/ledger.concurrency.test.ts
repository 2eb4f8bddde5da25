import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { adjust, expectReconciled, member, points, pointsUrl } from '../../test/ledger-helpers.ts';
import { pointsLedger } from './ledger.core.ts';
import { debit } from './ledger.service.ts';

let t: TestContext;
let key: string;
beforeAll(async () => {
  t = await createTestApp();
  await t.program('shop');
  key = await t.key('shop', 'integration');
});
afterAll(() => t.close());

function tally(codes: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const c of codes) counts[c] = (counts[c] ?? 0) + 1;
  return counts;
}

describe('many clients on one account', () => {
  it('lets exactly 100 of 200 concurrent redemptions of 10 through a balance of 1,000', async () => {
    const m = await member(t, 'shop', '13900000001');
    await adjust(t, 'shop', m, 1000);
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        t.call({
          method: 'POST',
          url: `${pointsUrl('shop', m)}/redemptions`,
          key,
          payload: { points: 10, reference: `r-${i}` },
        }),
      ),
    );
    expect(tally(responses.map((r) => r.statusCode))).toEqual({ 201: 100, 409: 100 });
    expect(
      responses
        .filter((r) => r.statusCode === 409)
        .every((r) => r.json().code === 'insufficient_points'),
    ).toBe(true);
    expect(await points(t, 'shop', m)).toMatchObject({ balance: 0, available: 0 });
    await expectReconciled(t);
  });

  it('lets exactly 100 of 200 concurrent holds of 10 through, then captures and releases them concurrently', async () => {
    const m = await member(t, 'shop', '13900000002');
    await adjust(t, 'shop', m, 1000);
    const holds = await Promise.all(
      Array.from({ length: 200 }, () =>
        t.call({
          method: 'POST',
          url: `${pointsUrl('shop', m)}/holds`,
          key,
          payload: { points: 10 },
        }),
      ),
    );
    expect(tally(holds.map((r) => r.statusCode))).toEqual({ 201: 100, 409: 100 });
    expect(await points(t, 'shop', m)).toMatchObject({ balance: 1000, held: 1000, available: 0 });
    const ids = holds.filter((r) => r.statusCode === 201).map((r) => r.json().id as string);
    // Every hold is asked to capture twice and release once, all at the same time: each resolves once.
    const actions = ids.flatMap((id, i) => [
      t.call({
        method: 'POST',
        url: `${pointsUrl('shop', m)}/holds/${id}/capture`,
        key,
        payload: { points: i % 2 ? 10 : 4 },
      }),
      t.call({
        method: 'POST',
        url: `${pointsUrl('shop', m)}/holds/${id}/capture`,
        key,
        payload: { points: i % 2 ? 10 : 4 },
      }),
      t.call({ method: 'POST', url: `${pointsUrl('shop', m)}/holds/${id}/release`, key }),
    ]);
    const results = await Promise.all(actions);
    expect(tally(results.map((r) => r.statusCode))).toEqual({ 200: 100, 409: 200 });
    let captured = 0;
    for (const id of ids) {
      const h = (
        await t.call({ method: 'GET', url: `${pointsUrl('shop', m)}/holds/${id}` })
      ).json();
      if (h.status === 'captured') captured += h.captured;
      else expect(h.status).toBe('released');
    }
    expect(await points(t, 'shop', m)).toMatchObject({
      balance: 1000 - captured,
      held: 0,
      available: 1000 - captured,
    });
    await expectReconciled(t);
  });

  it('does the work once for concurrent retries with one Idempotency-Key', async () => {
    const m = await member(t, 'shop', '13900000003');
    await adjust(t, 'shop', m, 100);
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.call({
          method: 'POST',
          url: `${pointsUrl('shop', m)}/redemptions`,
          key,
          headers: { 'idempotency-key': 'till-7-receipt-42' },
          payload: { points: 30, reference: 'receipt-42' },
        }),
      ),
    );
    expect(responses.every((r) => r.statusCode === 201)).toBe(true);
    expect(new Set(responses.map((r) => r.json().transferId)).size).toBe(1);
    expect(await points(t, 'shop', m)).toMatchObject({ balance: 70 });
  });
});

describe('a batch that waits for another writer', () => {
  it('sees the lots that writer added once it has the account (lots are read after the lock)', async () => {
    const m = await member(t, 'shop', '13900000009');
    await adjust(t, 'shop', m, 10);
    const ids = (
      await sql<{ member: string; issuance: string }>`
        select (select id from ledger_accounts where member_id = ${m}) as member,
               (select id from ledger_accounts where ledger = 'points:shop' and kind = 'issuance') as issuance`.execute(
        t.deps.db,
      )
    ).rows[0] as { member: string; issuance: string };
    let spent: ReturnType<typeof debit> | undefined;
    // Another writer (another server, say) holds the account while it credits 50 points.
    await t.deps.db.transaction().execute(async (trx) => {
      await sql`select 1 from ledger_accounts where id = ${ids.member} for no key update`.execute(
        trx,
      );
      // 60 points asked for: only there once the other writer commits.
      spent = debit(t.deps, {
        ledger: pointsLedger('shop'),
        memberId: m,
        points: 60,
        code: 'redeem',
        reference: null,
        commandId: 'waits-1',
      });
      // Wait until the ledger's batch is waiting for this lock (in this test's database only).
      for (let i = 0; ; i++) {
        const waiting = await sql<{ n: number }>`
          select count(*)::int as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`.execute(t.deps.db);
        if ((waiting.rows[0]?.n ?? 0) > 0) break;
        if (i === 500) throw new Error('the ledger batch never waited for the lock');
        await new Promise((r) => setTimeout(r, 10));
      }
      await sql`insert into ledger_transfers (id, command_id, ledger, debit_account_id, credit_account_id, amount, kind, code, credit_balance_after, created_at)
        values ('trf_other_writer', 'other', 'points:shop', ${ids.issuance}, ${ids.member}, 50, 'single', 'adjust', 60, ${t.clock.now()})`.execute(
        trx,
      );
      await sql`insert into ledger_lots (id, account_id, amount, remaining, created_at)
        values ('trf_other_writer', ${ids.member}, 50, 50, ${t.clock.now()})`.execute(trx);
      await sql`update ledger_accounts set credits_posted = credits_posted + 50 where id = ${ids.member}`.execute(
        trx,
      );
      await sql`update ledger_accounts set debits_posted = debits_posted + 50 where id = ${ids.issuance}`.execute(
        trx,
      );
    });
    expect(await spent).toMatchObject({ points: 60, balance: 0 });
    expect(await points(t, 'shop', m)).toMatchObject({ balance: 0, available: 0 });
    await expectReconciled(t);
  });
});
