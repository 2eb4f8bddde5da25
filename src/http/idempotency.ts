import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ControlledTransaction, sql } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Deps } from '../deps.ts';
import { DomainError } from '../shared/errors.ts';
import { problem } from './problem.ts';

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
     * The route's use case keeps its own durable record of each request by key (the ledger's
     * command log, written in the same transaction as its transfers), so this layer stands aside.
     */
    ownIdempotency?: boolean;
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
    if (key === undefined || request.routeOptions.config.ownIdempotency) return;
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

function findStored(deps: Deps, apiKeyId: string, key: string) {
  return deps.db
    .selectFrom('idempotency_keys')
    .select(['fingerprint', 'status_code', 'content_type', 'body'])
    .where('api_key_id', '=', apiKeyId)
    .where('key', '=', key)
    .executeTakeFirst();
}

type Stored = NonNullable<Awaited<ReturnType<typeof findStored>>>;

function replay(reply: FastifyReply, stored: Stored, print: Buffer) {
  if (!stored.fingerprint.equals(print)) {
    throw new DomainError(
      'idempotency_key_reused',
      'This Idempotency-Key was used for a different request; use a new key for a new request',
    );
  }
  return reply
    .code(stored.status_code)
    .header('content-type', stored.content_type ?? 'application/json')
    .header('idempotent-replayed', 'true')
    .send(stored.body);
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
