import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ControlledTransaction, sql } from 'kysely';
import type { Db, Trx } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import type { Deps } from '../deps.ts';
import { attachment, type BatchWriter, type Claim } from '../ledger/ledger.batch.ts';
import type { Outcome } from '../ledger/ledger.core.ts';
import { AnsweredBefore, type Attach, type Settled } from '../ledger/ledger.service.ts';
import { DomainError } from '../shared/errors.ts';
import { problem } from './problem.ts';

// Idempotency-Key, one behaviour for every write. Its record is a row of `idempotency_keys`
// (per API key and key: the request's fingerprint and the response), written in the same
// transaction as the work:
// - most routes: the transaction this hook opens for the request, which the use case joins;
// - routes whose use case runs in a ledger batch (`config: { idempotency: 'batch' }`): the
//   batch's transaction. The row is claimed there before the command applies and holds the
//   rendered response after, so that a crash cannot separate the work from its record and
//   batching still writes one statement for all of a batch's keys.
// Either way a repeat replays the stored response (same status and body, `Idempotent-Replayed:
// true`), the same key for another request is 422, concurrent repeats do the work once, 4xx
// caused by the state are remembered and 5xx are not.

/** How long a key is remembered. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

interface Open {
  trx: ControlledTransaction<Database>;
  apiKeyId: string;
  key: string;
  /** Fields removed from the stored body: secrets are shown once, never replayed. */
  redact: readonly string[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The services' dependencies for this request: its `db` is the pool, or the idempotency transaction. */
    deps: Deps;
    idempotency: Open | undefined;
  }
  interface FastifyContextConfig {
    /** Top-level response fields never stored for replay (e.g. a new API key's secret). */
    idempotencyRedact?: readonly string[];
    /**
     * `batch`: the route's use case runs in a ledger batch, and the key's row is claimed and
     * written there (`answer`) instead of in a transaction of this hook's.
     */
    idempotency?: 'batch';
  }
}

/** The request's Idempotency-Key, if it sent a valid one; an invalid one is a 400. */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const key = request.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw new DomainError(
      'idempotency_key_invalid',
      'Idempotency-Key must be 1 to 255 visible ASCII characters',
    );
  }
  return key;
}

function fingerprint(request: FastifyRequest): Buffer {
  return createHash('sha256')
    .update(`${request.method} ${request.url}\n`)
    .update(JSON.stringify(request.body ?? null))
    .digest();
}

function redacted(payload: string, fields: readonly string[]): string {
  if (fields.length === 0) return payload;
  try {
    const body = JSON.parse(payload) as Record<string, unknown>;
    for (const f of fields) delete body[f];
    return JSON.stringify(body);
  } catch {
    return payload;
  }
}

/**
 * `Idempotency-Key` on writes. The key's row is inserted in the same transaction as the work and
 * holds the response, so the work and the memory of it commit together: a crash can neither
 * lose the record of acknowledged work nor leave a record of work that did not happen. A second
 * request with the same key blocks on the row's unique index until the first commits, then
 * replays its response — two concurrent requests do the work once.
 */
export function registerIdempotency(app: FastifyInstance, deps: Deps): void {
  app.decorateRequest('idempotency', undefined);

  app.addHook('preHandler', async (request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD') return;
    const key = idempotencyKeyOf(request);
    if (key === undefined || request.routeOptions.config.idempotency === 'batch') return;
    const apiKeyId = request.principal.keyId;
    const print = fingerprint(request);
    const now = deps.clock.now();

    // Twice at most: a first request that rolled back leaves the key free for this one.
    for (let attempt = 0; attempt < 2; attempt++) {
      const trx = await deps.db.startTransaction().execute();
      try {
        const inserted = await trx
          .insertInto('idempotency_keys')
          .values({
            api_key_id: apiKeyId,
            key,
            fingerprint: print,
            status_code: 0,
            content_type: null,
            body: '',
            created_at: now,
          })
          .onConflict((oc) => oc.columns(['api_key_id', 'key']).doNothing())
          .returning('key')
          .executeTakeFirst();
        if (inserted) {
          // The use case runs after this savepoint; a 4xx rolls back to it and keeps only the answer.
          await sql`savepoint work`.execute(trx);
          request.idempotency = {
            trx,
            apiKeyId,
            key,
            redact: request.routeOptions.config.idempotencyRedact ?? [],
          };
          request.deps = { ...deps, db: trx };
          return;
        }
        await trx.rollback().execute();
      } catch (error) {
        await trx
          .rollback()
          .execute()
          .catch(() => {});
        throw error;
      }
      const stored = await findStored(deps, apiKeyId, key);
      if (stored) return replay(reply, stored, print);
    }
    throw new DomainError(
      'conflict',
      'A request with this Idempotency-Key is in progress; retry it',
    );
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const open = request.idempotency;
    if (!open) return payload;
    request.idempotency = undefined;
    const { trx } = open;
    const status = reply.statusCode;
    try {
      if (status >= 500) {
        // Not remembered: the failure was ours, and a retry should get another chance.
        await trx.rollback().execute();
        return payload;
      }
      if (status >= 400) await sql`rollback to savepoint work`.execute(trx);
      const body = typeof payload === 'string' ? payload : '';
      await trx
        .updateTable('idempotency_keys')
        .set({
          status_code: status,
          content_type: String(reply.getHeader('content-type') ?? 'application/json'),
          body: redacted(body, open.redact),
        })
        .where('api_key_id', '=', open.apiKeyId)
        .where('key', '=', open.key)
        .execute();
      await trx.commit().execute();
      return payload;
    } catch (error) {
      await trx
        .rollback()
        .execute()
        .catch(() => {});
      request.log.error({ err: error }, 'could not commit an idempotent request');
      // Nothing was committed, so the client must hear that the request did not happen.
      const failure = problem(
        'unavailable',
        'The request could not be completed; retry it with the same Idempotency-Key',
      );
      reply.code(failure.status).header('content-type', 'application/problem+json; charset=utf-8');
      return JSON.stringify({ ...failure, requestId: request.id });
    }
  });

  // A request that ends without reaching onSend (the client went away) must not hold a connection.
  app.addHook('onResponse', async (request) => {
    const open = request.idempotency;
    if (!open) return;
    request.idempotency = undefined;
    await open.trx
      .rollback()
      .execute()
      .catch(() => {});
  });
}

function findStored(deps: Pick<Deps, 'db'>, apiKeyId: string, key: string) {
  return deps.db
    .selectFrom('idempotency_keys')
    .select(['fingerprint', 'status_code', 'content_type', 'body'])
    .where('api_key_id', '=', apiKeyId)
    .where('key', '=', key)
    .executeTakeFirst();
}

type Stored = NonNullable<Awaited<ReturnType<typeof findStored>>>;

function replay(reply: FastifyReply, stored: Stored, print: Buffer) {
  if (!stored.fingerprint.equals(print))
    throw new DomainError('idempotency_key_reused', KEY_REUSED);
  return reply
    .code(stored.status_code)
    .header('content-type', stored.content_type ?? 'application/json')
    .header('idempotent-replayed', 'true')
    .send(stored.body);
}

// --- routes whose use case runs in a ledger batch ---

/** A response as stored and sent. */
interface Rendered {
  status: number;
  contentType: string;
  body: string;
}

interface KeyRow {
  apiKeyId: string;
  key: string;
  fingerprint: Buffer;
  createdAt: Date;
  /** The response to the command's outcome; may read, in the batch, what other writers wrote. */
  render: (trx: Trx, outcome: Outcome) => Promise<Rendered>;
}

const keyOf = (r: { apiKeyId: string; key: string }) => `${r.apiKeyId} ${r.key}`;

/**
 * Idempotency-Keys of a ledger batch. Claims first, before the ledger locks anything (keys come
 * first in the lock order), in key order: a key already stored — or claimed by an earlier
 * request of the same batch — answers `answered` when the request is the same and `refused`
 * when it is not. After the commands apply, each claimed row gets its response.
 */
const batchKeys: BatchWriter<KeyRow> = {
  name: 'idempotency',
  stage: 'answers',
  async claim(trx, rows) {
    // The first row of each key claims it; the rest of the batch's rows compare with that one.
    const first = new Map<string, KeyRow>();
    for (const r of rows) if (!first.has(keyOf(r))) first.set(keyOf(r), r);
    const claimers = [...first.values()].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
    const { rows: inserted } = await sql<{ api_key_id: string; key: string }>`
      insert into idempotency_keys (api_key_id, key, fingerprint, status_code, content_type, body, created_at)
      select k, v, f, 0, null, '', c
      from unnest(${claimers.map((r) => r.apiKeyId)}::text[], ${claimers.map((r) => r.key)}::text[],
                  ${claimers.map((r) => r.fingerprint)}::bytea[], ${claimers.map((r) => r.createdAt)}::timestamptz[])
           with ordinality as x(k, v, f, c, n)
      order by n
      on conflict (api_key_id, key) do nothing
      returning api_key_id, key`.execute(trx);
    const won = new Set(inserted.map((r) => keyOf({ apiKeyId: r.api_key_id, key: r.key })));
    const lost = claimers.filter((r) => !won.has(keyOf(r)));
    const stored = new Map<string, Buffer>();
    if (lost.length > 0) {
      // Keys seen before (retries): their fingerprints, in one statement.
      const { rows: found } = await sql<{ api_key_id: string; key: string; fingerprint: Buffer }>`
        select k.api_key_id, k.key, k.fingerprint from idempotency_keys k
        join unnest(${lost.map((r) => r.apiKeyId)}::text[], ${lost.map((r) => r.key)}::text[])
          as v(api_key_id, key) on k.api_key_id = v.api_key_id and k.key = v.key`.execute(trx);
      for (const f of found)
        stored.set(keyOf({ apiKeyId: f.api_key_id, key: f.key }), f.fingerprint);
    }
    return rows.map((r): Claim => {
      const k = keyOf(r);
      const owner = won.has(k) ? first.get(k) : undefined;
      if (owner === r) return { status: 'claimed' };
      const print = owner?.fingerprint ?? stored.get(k);
      if (print?.equals(r.fingerprint)) return { status: 'answered' };
      return {
        status: 'refused',
        code: 'idempotency_key_reused',
        detail: KEY_REUSED,
      };
    });
  },
  async write(trx, rows) {
    const done = await Promise.all(
      rows.map(async ({ row, outcome }) => ({ row, r: await row.render(trx, outcome) })),
    );
    await sql`
      update idempotency_keys k set status_code = v.status, content_type = v.content_type, body = v.body
      from unnest(${done.map(({ row }) => row.apiKeyId)}::text[], ${done.map(({ row }) => row.key)}::text[],
                  ${done.map(({ r }) => r.status)}::int[], ${done.map(({ r }) => r.contentType)}::text[],
                  ${done.map(({ r }) => r.body)}::text[]) as v(api_key_id, key, status, content_type, body)
      where k.api_key_id = v.api_key_id and k.key = v.key`.execute(trx);
  },
};

const KEY_REUSED =
  'This Idempotency-Key was used for a different request; use a new key for a new request';

/**
 * Answers a route whose use case runs in a ledger batch (`config: { idempotency: 'batch' }`).
 * Without an Idempotency-Key it runs the use case and presents the result. With one, the key's
 * row is attached to the command: claimed in the batch, and written there with the response
 * rendered from the outcome — which is then sent byte for byte as stored, so that the first
 * answer and every replay are the same. `present` may read (with the batch's `db`) what the use
 * case's own rows wrote.
 */
export async function answer<R>(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  present: (result: R, db: Db) => unknown | Promise<unknown>,
  run: (attach?: Attach<R>) => Promise<R>,
): Promise<FastifyReply> {
  const key = idempotencyKeyOf(request);
  if (key === undefined) {
    const result = await run();
    return reply.code(status).send(await present(result, request.deps.db));
  }
  const apiKeyId = request.principal.keyId;
  const print = fingerprint(request);
  // What the batch rendered, for which outcome: an attempt that rolled back may have rendered
  // too, and only the rendering of the outcome that committed is the answer.
  let last: { settled: Settled<R>; rendered: Rendered } | undefined;
  const attach: Attach<R> = (settle) => [
    attachment(batchKeys, {
      apiKeyId,
      key,
      fingerprint: print,
      createdAt: request.deps.clock.now(),
      render: async (trx, outcome) => {
        const settled = settle(outcome);
        last = {
          settled,
          rendered: await render(request, settled, status, (r) => present(r, trx)),
        };
        return last.rendered;
      },
    }),
  ];
  let committed: Settled<R>;
  try {
    committed = { ok: true, value: await run(attach) };
  } catch (error) {
    if (error instanceof AnsweredBefore) {
      const stored = await findStored(request.deps, apiKeyId, key);
      if (stored?.status_code) return replay(reply, stored, print);
      throw new DomainError(
        'conflict',
        'A request with this Idempotency-Key is in progress; retry it',
      );
    }
    // A failure of ours, or a refusal before the batch, was not stored and answers as usual.
    if (!(error instanceof DomainError)) throw error;
    committed = { ok: false, error };
  }
  const own =
    last &&
    (committed.ok
      ? last.settled.ok && last.settled.value === committed.value
      : !last.settled.ok && last.settled.error === committed.error);
  if (!last || !own) {
    if (!committed.ok) throw committed.error;
    throw new Error('a batched answer was not rendered for the outcome that committed');
  }
  return reply
    .code(last.rendered.status)
    .header('content-type', last.rendered.contentType)
    .send(last.rendered.body);
}

async function render<R>(
  request: FastifyRequest,
  settled: Settled<R>,
  status: number,
  present: (r: R) => unknown | Promise<unknown>,
): Promise<Rendered> {
  if (settled.ok) {
    return {
      status,
      contentType: 'application/json; charset=utf-8',
      body: JSON.stringify(await present(settled.value)),
    };
  }
  const p = problem(settled.error.code, settled.error.message, settled.error.extensions);
  return {
    status: p.status,
    contentType: 'application/problem+json; charset=utf-8',
    body: JSON.stringify({ ...p, requestId: request.id }),
  };
}

/** Forgets keys older than the retention period. */
export async function sweepIdempotencyKeys(deps: Deps): Promise<number> {
  const before = new Date(deps.clock.now().getTime() - IDEMPOTENCY_TTL_MS);
  const result = await deps.db
    .deleteFrom('idempotency_keys')
    .where('created_at', '<', before)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Erasure: stored responses that mention `text` (a member id) are deleted, with the personal data in them. */
export async function forgetResponsesMentioning(
  deps: Pick<Deps, 'db'>,
  text: string,
): Promise<void> {
  await deps.db
    .deleteFrom('idempotency_keys')
    .where('body', 'like', `%${text.replace(/[\\%_]/g, '\\$&')}%`)
    .execute();
}
