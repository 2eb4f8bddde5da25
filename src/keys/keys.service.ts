import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { recordAudit } from '../audit/audit.service.ts';
import { API_KEY_PATTERN } from '../config.ts';
import { inTransaction } from '../db/database.ts';
import type { Deps } from '../deps.ts';
import { getProgram } from '../programs/programs.service.ts';
import { DomainError, notFound } from '../shared/errors.ts';
import type { ApiKey, Principal, Role } from './keys.core.ts';
import * as repo from './keys.repository.ts';

export function hashKey(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

function newSecret(): string {
  return `tsk_${randomBytes(24).toString('base64url')}`;
}

export interface NewKey {
  programId: string | null;
  role: Role;
  name: string;
}

/** Creates a key and returns its secret: the only time the secret exists outside the caller. */
export async function createKey(
  deps: Deps,
  input: NewKey,
  actor: Principal | null,
  secret: string = newSecret(),
): Promise<{ apiKey: ApiKey; secret: string }> {
  return inTransaction(deps.db, async (trx) => {
    if (input.programId !== null) await getProgram({ ...deps, db: trx }, input.programId);
    const apiKey: ApiKey = {
      id: deps.ids('key'),
      programId: input.programId,
      role: input.role,
      name: input.name,
      prefix: secret.slice(0, 12),
      createdAt: deps.clock.now(),
      revokedAt: null,
    };
    await repo.insertKey(trx, apiKey, hashKey(secret));
    await recordAudit(
      { ...deps, db: trx },
      { actor, action: 'api_key.created', programId: apiKey.programId, after: apiKey },
    );
    return { apiKey, secret };
  });
}

/** Resolves an `Authorization` header to the calling principal. */
export async function authenticate(deps: Deps, header: string | undefined): Promise<Principal> {
  if (!header)
    throw new DomainError('unauthorized', 'Send an API key as "Authorization: Bearer tsk_…"');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const secret = match?.[1];
  if (!secret || !API_KEY_PATTERN.test(secret)) {
    throw new DomainError('unauthorized', 'The Authorization header must be "Bearer tsk_…"');
  }
  const principal = await principalOf(deps, hashKey(secret));
  if (!principal) throw new DomainError('unauthorized', 'The API key is unknown or revoked');
  return principal;
}

/**
 * Every request authenticates, and a database round trip for it was a third of a coupon
 * validation's cost; so a process trusts a key it found for `KEY_TTL_MS` of the injected clock.
 * A revocation made by this process takes effect at once (it bumps `revocations`, and an entry
 * read before the last bump is not trusted); one made by another process, or one racing a
 * request whose lookup read the key before the revocation committed, within `KEY_TTL_MS`.
 * Unknown keys are never kept: a caller trying secrets always reaches the database.
 */
export const KEY_TTL_MS = 1_000;
/** Keys kept per database at most; past it the cache starts again empty. */
const KEY_CACHE_MAX = 10_000;
let revocations = 0;
const principals = new WeakMap<
  object,
  Map<string, { until: number; revocations: number; principal: Promise<Principal | undefined> }>
>();

function principalOf(deps: Deps, hash: Buffer): Promise<Principal | undefined> {
  let cache = principals.get(deps.db);
  if (!cache) {
    cache = new Map();
    principals.set(deps.db, cache);
  }
  const key = hash.toString('base64');
  const now = deps.clock.now().getTime();
  const hit = cache.get(key);
  if (hit && hit.until > now && hit.revocations === revocations) return hit.principal;
  if (cache.size >= KEY_CACHE_MAX) cache.clear();
  // Concurrent requests with one key share the lookup in flight.
  const entry = {
    until: now + KEY_TTL_MS,
    revocations,
    principal: repo.findPrincipalByHash(deps.db, hash),
  };
  cache.set(key, entry);
  const forget = () => {
    if (cache.get(key) === entry) cache.delete(key);
  };
  entry.principal.then((p) => {
    if (!p) forget();
  }, forget);
  return entry.principal;
}

/**
 * On the first start with an empty database, creates the coalition admin key (the preset one
 * when given) and returns its secret; otherwise returns undefined. Safe when several servers
 * start at once: an advisory lock lets one of them do it.
 */
export async function bootstrapAdminKey(deps: Deps, preset?: string): Promise<string | undefined> {
  return inTransaction(deps.db, async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext('tessera.bootstrap'))`.execute(trx);
    if (await repo.anyKeyExists(trx)) return undefined;
    const { secret } = await createKey(
      { ...deps, db: trx },
      { programId: null, role: 'admin', name: 'bootstrap admin' },
      null,
      preset,
    );
    return secret;
  });
}

/** The key the caller authenticated with: what a console signs in with, to learn its scope. */
export async function currentKey(deps: Deps, principal: Principal): Promise<ApiKey> {
  const key = await repo.findKeyById(deps.db, principal.keyId);
  // Authentication found it a moment ago; a key revoked since is no longer the caller's.
  if (!key || key.revokedAt)
    throw new DomainError('unauthorized', 'The API key is unknown or revoked');
  return key;
}

export function listProgramKeys(
  deps: Deps,
  programId: string,
  after: string | undefined,
  limit: number,
) {
  return repo.listKeys(deps.db, programId, after, limit);
}

export async function revokeProgramKey(
  deps: Deps,
  programId: string,
  keyId: string,
  actor: Principal | null,
): Promise<ApiKey> {
  revocations++;
  const key = await inTransaction(deps.db, async (trx) => {
    const revoked = await repo.revokeKey(trx, programId, keyId, deps.clock.now());
    if (revoked) {
      await recordAudit(
        { ...deps, db: trx },
        { actor, action: 'api_key.revoked', programId, after: revoked },
      );
      return revoked;
    }
    // Revoking a revoked key changes nothing, and so records nothing.
    const existing = await repo.findKey(trx, programId, keyId);
    if (!existing) throw notFound(`API key ${keyId}`);
    return existing;
  });
  // Again once committed: a lookup that read the key while the revocation was in flight is not
  // trusted either. (Inside a request's Idempotency-Key transaction the commit comes later still;
  // there the lookup is trusted for KEY_TTL_MS at most.)
  revocations++;
  return key;
}
