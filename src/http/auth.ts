import type { FastifyInstance } from 'fastify';
import type { Deps } from '../deps.ts';
import type { Principal } from '../keys/keys.core.ts';
import { authenticate } from '../keys/keys.service.ts';
import { notFound } from '../shared/errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, resolved from `Authorization: Bearer tsk_…` before the body is read. */
    principal: Principal;
  }
}

/**
 * Every route registered in `app`'s scope requires an API key. A program key asking for another
 * program's path is answered 404 before its request is even validated, so that it learns nothing
 * of the other program — not even which bodies its routes would accept. (Roles are checked by
 * each route; this only keeps tenants apart.)
 */
export function registerAuth(app: FastifyInstance, deps: Deps): void {
  app.decorateRequest('principal', undefined as unknown as Principal);
  app.addHook('onRequest', async (request) => {
    request.principal = await authenticate(deps, request.headers.authorization);
  });
  app.addHook('preValidation', async (request) => {
    const { programId } = (request.params ?? {}) as { programId?: unknown };
    const own = request.principal.programId;
    if (typeof programId === 'string' && own !== null && programId !== own) {
      throw notFound(`Program ${programId}`);
    }
  });
}
