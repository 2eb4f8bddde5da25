import type { FastifyInstance } from 'fastify';
import type { Deps } from '../deps.ts';
import type { Principal } from '../keys/keys.core.ts';
import { authenticate } from '../keys/keys.service.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, resolved from `Authorization: Bearer tsk_…` before the body is read. */
    principal: Principal;
  }
}

/** Every route registered in `app`'s scope requires an API key. */
export function registerAuth(app: FastifyInstance, deps: Deps): void {
  app.decorateRequest('principal', undefined as unknown as Principal);
  app.addHook('onRequest', async (request) => {
    request.principal = await authenticate(deps, request.headers.authorization);
  });
}
