import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { adjust, expectReconciled, member, points, pointsUrl } from '../../test/ledger-helpers.ts';
import { pointsLedger } from './ledger.core.ts';
import { credit, debit } from './ledger.service.ts';

let t: TestContext;
let m: string;
beforeAll(async () => {
  t = await createTestApp();
  await t.program('guarded');
  m = await member(t, 'guarded', '13700000001');
  await adjust(t, 'guarded', m, 100);
});
afterAll(() => t.close());

describe('guards in the database', () => {
  it('refuses to let a member account fall below zero, even from raw SQL', async () => {
    await expect(
      sql`update ledger_accounts set debits_posted = credits_posted + 1 where member_id = ${m}`.execute(
        t.deps.db,
      ),
    ).rejects.toThrow(/member_never_negative/);
  });

  it('refuses to change or delete a transfer', async () => {
    await expect(sql`update ledger_transfers set amount = 1`.execute(t.deps.db)).rejects.toThrow(
      /append-only/,
    );
    await expect(sql`delete from ledger_transfers`.execute(t.deps.db)).rejects.toThrow(
      /append-only/,
    );
  });

  it('refuses non-positive amounts and transfers across ledgers', async () => {
    const accounts = (
      await sql<{ id: string; ledger: string }>`select id, ledger from ledger_accounts`.execute(
        t.deps.db,
      )
    ).rows;
    const [a, b] = accounts;
    await expect(
      sql`insert into ledger_transfers (id, command_id, ledger, debit_account_id, credit_account_id, amount, kind, code, created_at)
          values ('trf_x', 'c', ${a?.ledger}, ${a?.id}, ${b?.id}, 0, 'single', 'adjust', now())`.execute(
        t.deps.db,
      ),
    ).rejects.toThrow(/check/);
    await t.program('other');
    const o = await member(t, 'other', '13700000002');
    await adjust(t, 'other', o, 5);
    const foreign = (
      await sql<{
        id: string;
      }>`select id from ledger_accounts where ledger = 'points:other' limit 1`.execute(t.deps.db)
    ).rows[0];
    await expect(
      sql`insert into ledger_transfers (id, command_id, ledger, debit_account_id, credit_account_id, amount, kind, code, created_at)
          values ('trf_y', 'c', ${a?.ledger}, ${a?.id}, ${foreign?.id}, 1, 'single', 'adjust', now())`.execute(
        t.deps.db,
      ),
    ).rejects.toThrow(/foreign key/);
  });

  it('checks the references of every row a statement writes, and keeps what they refer to', async () => {
    const own = (
      await sql<{
        id: string;
        ledger: string;
      }>`select id, ledger from ledger_accounts where member_id = ${m}`.execute(t.deps.db)
    ).rows[0];
    const lot = (
      await sql<{ id: string }>`select id from ledger_lots where account_id = ${own?.id}`.execute(
        t.deps.db,
      )
    ).rows[0];
    const issuance = (
      await sql<{
        id: string;
      }>`select id from ledger_accounts where ledger = ${own?.ledger} and kind = 'issuance'`.execute(
        t.deps.db,
      )
    ).rows[0];
    const refused = (q: ReturnType<typeof sql>) =>
      expect(q.execute(t.deps.db)).rejects.toThrow(
        /violates a foreign key: (both accounts must be on the transfer's ledger|a draw must name)/,
      );
    // One good row and one bad row in the same statement: the statement is refused whole.
    await refused(sql`insert into ledger_transfers (id, command_id, ledger, debit_account_id, credit_account_id, amount, kind, code, created_at)
      values ('trf_ok', 'c', ${own?.ledger}, ${issuance?.id}, ${own?.id}, 1, 'single', 'adjust', now()),
             ('trf_bad', 'c', ${own?.ledger}, ${issuance?.id}, 'acc_missing', 1, 'single', 'adjust', now())`);
    await refused(sql`insert into ledger_transfers (id, command_id, ledger, debit_account_id, credit_account_id, amount, kind, pending_id, code, created_at)
      values ('trf_void', 'c', ${own?.ledger}, ${own?.id}, ${issuance?.id}, 1, 'void', 'trf_nothing', 'hold', now())`);
    // A lot on an account its transfer did not credit, and a draw from a lot that does not exist.
    await expect(
      t.deps.db.transaction().execute(async (trx) => {
        await sql`insert into ledger_transfers (id, command_id, ledger, debit_account_id, credit_account_id, amount, kind, code, created_at)
          values ('trf_new', 'c', ${own?.ledger}, ${issuance?.id}, ${own?.id}, 1, 'single', 'adjust', now())`.execute(
          trx,
        );
        await sql`insert into ledger_lots (id, account_id, amount, remaining, created_at)
          values ('trf_new', ${issuance?.id}, 1, 1, now())`.execute(trx);
      }),
    ).rejects.toThrow(/foreign key/);
    await refused(
      sql`insert into ledger_lot_draws (transfer_id, lot_id, amount) values (${lot?.id}, 'trf_none', 1)`,
    );
    for (const q of [
      sql`delete from ledger_accounts where id = ${own?.id}`,
      sql`update ledger_accounts set ledger = 'points:elsewhere' where id = ${own?.id}`,
      sql`delete from ledger_lots where id = ${lot?.id}`,
      sql`update ledger_lots set account_id = ${issuance?.id} where id = ${lot?.id}`,
    ]) {
      await expect(q.execute(t.deps.db)).rejects.toThrow(/keeps its rows/);
    }
    await expectReconciled(t);
  });
});

describe('command ids', () => {
  it('returns the first result for a repeated id, refuses it with other content, and keeps a failure failed', async () => {
    const input = {
      ledger: pointsLedger('guarded'),
      memberId: m,
      points: 10,
      code: 'redeem' as const,
      reference: 'o-1',
      commandId: 'cmd-1',
    };
    const first = await debit(t.deps, input);
    const again = await debit(t.deps, input);
    expect(first.replayed).toBe(false);
    expect(again).toEqual({ ...first, replayed: true });
    await expect(debit(t.deps, { ...input, points: 11 })).rejects.toMatchObject({
      code: 'command_id_reused',
    });
    const big = { ...input, points: 1000, commandId: 'cmd-2' };
    await expect(debit(t.deps, big)).rejects.toMatchObject({ code: 'insufficient_points' });
    await credit(t.deps, {
      ledger: pointsLedger('guarded'),
      memberId: m,
      points: 5000,
      code: 'earn',
      reference: null,
      commandId: 'cmd-3',
    });
    // Enough points now, but the request failed for the state at the time: it stays failed.
    await expect(debit(t.deps, big)).rejects.toMatchObject({ code: 'insufficient_points' });
    expect((await points(t, 'guarded', m)).balance).toBe(100 - 10 + 5000);
  });

  it('stores an Idempotency-Key with the transfer it answers: same answer, other body refused, state since ignored', async () => {
    const headers = { 'idempotency-key': 'till-3-receipt-7' };
    const payload = { points: 7, reference: 'o-7' };
    const url = `${pointsUrl('guarded', m)}/redemptions`;
    const first = await t.call({ method: 'POST', url, headers, payload });
    expect(first.statusCode).toBe(201);
    // The key's row holds the response, written by the batch that made the transfer.
    const rows = await t.deps.db
      .selectFrom('idempotency_keys')
      .select(['key', 'status_code', 'body'])
      .where('key', '=', 'till-3-receipt-7')
      .execute();
    expect(rows).toEqual([{ key: 'till-3-receipt-7', status_code: 201, body: first.body }]);
    // Blocked since: the retry still gets its first answer, and nothing is applied again.
    await t.call({
      method: 'POST',
      url: `/v1/programs/guarded/members/${m}/block`,
      payload: { reason: 'test' },
    });
    const second = await t.call({ method: 'POST', url, headers, payload });
    expect(second.statusCode).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.body).toBe(first.body);
    const other = await t.call({
      method: 'POST',
      url,
      headers,
      payload: { points: 8, reference: 'o-7' },
    });
    expect(other.statusCode).toBe(422);
    expect(other.json().code).toBe('idempotency_key_reused');
    const fresh = await t.call({
      method: 'POST',
      url,
      headers: { 'idempotency-key': 'new' },
      payload,
    });
    expect(fresh.json().code).toBe('member_blocked');
    await t.call({
      method: 'POST',
      url: `/v1/programs/guarded/members/${m}/unblock`,
      payload: { reason: 'test' },
    });
    await expectReconciled(t);
  });

  it('refuses an Idempotency-Key reused for another member or program, opening no wallet', async () => {
    const headers = { 'idempotency-key': 'till-9-receipt-1' };
    const payload = { points: 1, reference: 'o-9' };
    const redeem = (programId: string, memberId: string) =>
      t.call({
        method: 'POST',
        url: `${pointsUrl(programId, memberId)}/redemptions`,
        headers,
        payload,
      });
    expect((await redeem('guarded', m)).statusCode).toBe(201);
    await t.program('elsewhere');
    const stranger = await member(t, 'elsewhere', '13700000099'); // not enrolled in `guarded`
    for (const who of [stranger, 'mem_nobody']) {
      const res = await redeem('guarded', who);
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json().code).toBe('idempotency_key_reused');
    }
    const noProgram = await redeem('nowhere', m);
    expect(noProgram.statusCode, noProgram.body).toBe(422);
    const wallets =
      await sql`select 1 from ledger_accounts where member_id in (${stranger}, 'mem_nobody') or program_id = 'nowhere'`.execute(
        t.deps.db,
      );
    expect(wallets.rows).toEqual([]);
    await expectReconciled(t);
  });

  it('keeps points in a return window pending until it ends', async () => {
    const before = await points(t, 'guarded', m);
    await credit(t.deps, {
      ledger: pointsLedger('guarded'),
      memberId: m,
      points: 40,
      code: 'earn',
      reference: 'purchase-9',
      pendingUntil: new Date(t.clock.now().getTime() + 7 * 86_400_000),
      commandId: 'cmd-pending',
    });
    expect(await points(t, 'guarded', m)).toMatchObject({
      balance: before.balance + 40,
      pending: 40,
      available: before.available,
    });
    await expect(
      debit(t.deps, {
        ledger: pointsLedger('guarded'),
        memberId: m,
        points: before.available + 1,
        code: 'redeem',
        reference: null,
        commandId: 'cmd-p2',
      }),
    ).rejects.toMatchObject({ code: 'insufficient_points' });
    t.clock.advance(7 * 86_400_000);
    expect(await points(t, 'guarded', m)).toMatchObject({
      pending: 0,
      available: before.available + 40,
    });
    await expectReconciled(t);
  });
});
