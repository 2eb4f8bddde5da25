import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestContext } from '../../test/harness.ts';
import { adjust, member, points, pointsUrl } from '../../test/ledger-helpers.ts';
import type { Trx } from '../db/database.ts';
import type { Outcome } from '../ledger/ledger.core.ts';
import type { Settled } from '../ledger/ledger.service.ts';
import { DomainError } from '../shared/errors.ts';
import { answer, sweepIdempotencyKeys } from './idempotency.ts';
import { sendProblem, toProblem } from './problem.ts';

let t: TestContext;
let m: string;
beforeAll(async () => {
  t = await createTestApp();
  await t.program('shop');
  m = await member(t, 'shop', '13500000001');
  await member(t, 'shop', '13500000002');
  await adjust(t, 'shop', m, 1000);
});
afterAll(() => t.close());

const post = (url: string, payload: object, idempotencyKey: string, key?: string) =>
  t.call({
    method: 'POST',
    url,
    payload,
    headers: { 'idempotency-key': idempotencyKey },
    ...(key && { key }),
  });

const keysNamed = async (name: string) =>
  (await t.deps.db.selectFrom('api_keys').select('id').where('name', '=', name).execute()).length;

describe('Idempotency-Key', () => {
  it('replays the first response for a repeat and does the work once', async () => {
    const first = await post('/v1/programs', { id: 'idem-1', name: 'Once' }, 'k-1');
    expect(first.statusCode).toBe(201);
    t.clock.advance(5000);
    const second = await post('/v1/programs', { id: 'idem-1', name: 'Once' }, 'k-1');
    expect(second.statusCode).toBe(201);
    expect(second.body).toBe(first.body);
    expect(second.headers['idempotent-replayed']).toBe('true');
    // Without the key the same request is new work, and the program exists.
    expect(
      (
        await t.call({
          method: 'POST',
          url: '/v1/programs',
          payload: { id: 'idem-1', name: 'Once' },
        })
      ).statusCode,
    ).toBe(409);
  });

  it('refuses the same key with a different body, or on a different path, with 422', async () => {
    await post('/v1/programs', { id: 'idem-2', name: 'A' }, 'k-2');
    const other = await post('/v1/programs', { id: 'idem-2', name: 'B' }, 'k-2');
    expect(other.statusCode).toBe(422);
    expect(other.json().code).toBe('idempotency_key_reused');
    const elsewhere = await post('/v1/programs/shop/api-keys', { role: 'read' }, 'k-2');
    expect(elsewhere.statusCode).toBe(422);
    expect((await t.call({ method: 'GET', url: '/v1/programs/idem-2' })).json().name).toBe('A');
  });

  it('does the work once for concurrent requests with one key', async () => {
    const responses = await Promise.all(
      Array.from({ length: 12 }, () =>
        post('/v1/programs/shop/api-keys', { role: 'read', name: 'concurrent' }, 'k-3'),
      ),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array(12).fill(201));
    expect(await keysNamed('concurrent')).toBe(1);
    const ids = new Set(responses.map((r) => r.json().id));
    expect(ids.size).toBe(1);
    // The secret is shown once: only the request that did the work carries it.
    expect(responses.filter((r) => r.json().key !== undefined)).toHaveLength(1);
  });

  it('keeps a failure caused by the state at the time, even after the state changes', async () => {
    const missing = await t.call({
      method: 'PATCH',
      url: '/v1/programs/later',
      payload: { name: 'x' },
      headers: { 'idempotency-key': 'k-4' },
    });
    expect(missing.statusCode).toBe(404);
    await t.program('later');
    const again = await t.call({
      method: 'PATCH',
      url: '/v1/programs/later',
      payload: { name: 'x' },
      headers: { 'idempotency-key': 'k-4' },
    });
    expect(again.statusCode).toBe(404);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect((await t.call({ method: 'GET', url: '/v1/programs/later' })).json().name).toBe(
      'Program later',
    );
  });

  it('does not remember a request that failed validation', async () => {
    expect((await post('/v1/programs', { id: 'BAD', name: 'x' }, 'k-5')).statusCode).toBe(400);
    expect((await post('/v1/programs', { id: 'good-5', name: 'x' }, 'k-5')).statusCode).toBe(201);
  });

  it('scopes keys to the API key that sent them', async () => {
    const a = await t.key('shop', 'admin');
    const b = await t.key('shop', 'admin');
    expect(
      (await post('/v1/programs/shop/api-keys', { role: 'read', name: 'scoped' }, 'same', a))
        .statusCode,
    ).toBe(201);
    expect(
      (await post('/v1/programs/shop/api-keys', { role: 'read', name: 'scoped' }, 'same', b))
        .statusCode,
    ).toBe(201);
    expect(await keysNamed('scoped')).toBe(2);
  });

  it('remembers keys for 24 hours, then forgets them', async () => {
    await post('/v1/programs/shop/api-keys', { role: 'read', name: 'ttl' }, 'k-6');
    t.clock.advance(23 * 3600_000);
    await sweepIdempotencyKeys(t.deps);
    await post('/v1/programs/shop/api-keys', { role: 'read', name: 'ttl' }, 'k-6');
    expect(await keysNamed('ttl')).toBe(1);
    t.clock.advance(2 * 3600_000);
    expect(await sweepIdempotencyKeys(t.deps)).toBeGreaterThan(0);
    await post('/v1/programs/shop/api-keys', { role: 'read', name: 'ttl' }, 'k-6');
    expect(await keysNamed('ttl')).toBe(2);
  });

  it('applies to PATCH and DELETE too', async () => {
    await t.program('patch-me');
    const headers = { 'idempotency-key': 'k-7' };
    const first = await t.call({
      method: 'PATCH',
      url: '/v1/programs/patch-me',
      payload: { name: 'one' },
      headers,
    });
    t.clock.advance(1000);
    const again = await t.call({
      method: 'PATCH',
      url: '/v1/programs/patch-me',
      payload: { name: 'one' },
      headers,
    });
    expect(again.body).toBe(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    // Revoking a key: the retry gets the first answer (its revokedAt), not a second revocation.
    const key = (
      await post('/v1/programs/patch-me/api-keys', { role: 'read', name: 'rv' }, 'k-8')
    ).json().id;
    const revoke = () =>
      t.call({
        method: 'DELETE',
        url: `/v1/programs/patch-me/api-keys/${key}`,
        headers: { 'idempotency-key': 'k-9' },
      });
    const revoked = await revoke();
    expect(revoked.statusCode).toBe(200);
    t.clock.advance(1000);
    const revokedAgain = await revoke();
    expect(revokedAgain.headers['idempotent-replayed']).toBe('true');
    expect(revokedAgain.body).toBe(revoked.body);
  });
});

/**
 * One behaviour for every write route, whichever transaction its record is written in: the
 * hook's own (an enrollment) or a ledger batch's (a redemption). Each case counts the work done.
 */
const routes = [
  {
    kind: 'in the request transaction',
    url: () => '/v1/programs/shop/members',
    ok: (i: number) => ({
      identifiers: [{ type: 'email', value: `same-${i}@x.cn` }],
      channel: 'web',
    }),
    // The phones are two members': 409 identifier_conflict.
    refused: () => ({
      identifiers: [
        { type: 'phone', value: '13500000001' },
        { type: 'phone', value: '13500000002' },
      ],
      channel: 'web',
    }),
    work: async () =>
      Number(
        (
          await t.deps.db
            .selectFrom('members')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      ),
  },
  {
    kind: 'in a ledger batch',
    url: () => `${pointsUrl('shop', m)}/redemptions`,
    ok: (i: number) => ({ points: 1, reference: `order-${i}` }),
    refused: () => ({ points: 1_000_000, reference: 'too-much' }),
    work: async () => 1000 - (await points(t, 'shop', m)).balance,
  },
];

describe.each(routes)('the same rules for a write $kind', (r) => {
  let n = 0;
  const key = () => `${r.kind.replaceAll(' ', '-')}-${n++}`;
  const send = (payload: object, idempotencyKey: string) =>
    t.call({
      method: 'POST',
      url: r.url(),
      payload,
      headers: { 'idempotency-key': idempotencyKey },
    });

  it('answers concurrent repeats of one key with one piece of work and one body, marked replayed but once', async () => {
    const k = key();
    const before = await r.work();
    const responses = await Promise.all(Array.from({ length: 12 }, () => send(r.ok(n), k)));
    expect(await r.work()).toBe(before + 1);
    expect(new Set(responses.map((x) => x.body)).size).toBe(1);
    expect(responses.filter((x) => x.headers['idempotent-replayed'] !== 'true')).toHaveLength(1);
  });

  it('replays a refusal caused by the state as it was: the original body, its request id, marked replayed', async () => {
    const k = key();
    const first = await send(r.refused(), k);
    expect(first.statusCode, first.body).toBe(409);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const again = await send(r.refused(), k);
    expect(again.statusCode).toBe(409);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(first.body);
    expect(again.json().requestId).toBe(first.json().requestId);
  });

  it('refuses the key for another body, another path, or a route of the other kind', async () => {
    const k = key();
    expect((await send(r.ok(n), k)).statusCode).toBeLessThan(300);
    const before = await r.work();
    const other = routes.find((x) => x !== r) as (typeof routes)[number];
    for (const res of [
      await send(r.ok(n + 1000), k),
      await t.call({
        method: 'POST',
        url: other.url(),
        payload: other.ok(n),
        headers: { 'idempotency-key': k },
      }),
    ]) {
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json().code).toBe('idempotency_key_reused');
    }
    expect(await r.work()).toBe(before);
  });
});

describe('one key on two routes at once', () => {
  it('does the work of one of them, and refuses the other with 422', async () => {
    for (let i = 0; i < 5; i++) {
      const k = `both-${i}`;
      const [enroll, redeem] = await Promise.all(
        routes.map((r) =>
          t.call({
            method: 'POST',
            url: r.url(),
            payload: r.ok(100 + i),
            headers: { 'idempotency-key': k },
          }),
        ),
      );
      const codes = [enroll?.statusCode, redeem?.statusCode].sort();
      expect(
        codes.filter((c) => c === 422),
        `${enroll?.body} ${redeem?.body}`,
      ).toHaveLength(1);
      expect(codes.filter((c) => (c ?? 0) < 300)).toHaveLength(1);
    }
  });
});

describe('a batched answer', () => {
  it('is what was rendered for the outcome that committed, not for an attempt that rolled back', async () => {
    const applied: Outcome = { status: 'applied', result: { points: 1 } };
    const refused: Outcome = { status: 'rejected', code: 'idempotency_key_reused', detail: 'no' };
    const memo = new Map<Outcome, Settled<{ points: number }>>();
    const settle = (o: Outcome) => {
      if (!memo.has(o)) {
        memo.set(
          o,
          o.status === 'applied'
            ? { ok: true, value: { points: 1 } }
            : { ok: false, error: new DomainError(o.code, o.detail) },
        );
      }
      return memo.get(o) as Settled<{ points: number }>;
    };
    const app = Fastify();
    app.setErrorHandler((error, request, reply) => sendProblem(reply, toProblem(error, request)));
    app.decorateRequest('principal', undefined as never);
    app.decorateRequest('deps', undefined as never);
    app.addHook('onRequest', async (request) => {
      request.principal = { keyId: 'key_x', programId: null, role: 'admin' };
      request.deps = t.deps;
    });
    app.post('/x', async (request, reply) =>
      answer(
        request,
        reply,
        201,
        (r: { points: number }) => r,
        async (attach) => {
          const row = attach?.(settle)[0]?.row as {
            render: (trx: Trx, o: Outcome) => Promise<unknown>;
          };
          // The first attempt renders a success, then rolls back; the retry is refused at its claim.
          await row.render(t.deps.db as Trx, applied);
          const final = settle(refused);
          if (!final.ok) throw final.error;
          return final.value;
        },
      ),
    );
    const res = await app.inject({
      method: 'POST',
      url: '/x',
      headers: { 'idempotency-key': 'stale-1' },
      payload: {},
    });
    await app.close();
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().code).toBe('idempotency_key_reused');
  });
});
