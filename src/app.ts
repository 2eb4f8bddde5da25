import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import { sql } from 'kysely';
import { z } from 'zod';
import { auditRoutes } from './audit/audit.routes.ts';
import { coalitionRoutes } from './coalition/coalition.routes.ts';
import { couponsRoutes } from './coupons/coupons.routes.ts';
import type { Deps } from './deps.ts';
import { earningRoutes } from './earning/earning.routes.ts';
import { eventsRoutes } from './events/events.routes.ts';
import { exchangeRoutes } from './exchange/exchange.routes.ts';
import { growthRoutes } from './growth/growth.routes.ts';
import { registerAuth } from './http/auth.ts';
import { registerIdempotency } from './http/idempotency.ts';
import {
  MAX_PARAM_LENGTH,
  problem,
  rawProblemResponse,
  sendProblem,
  toProblem,
} from './http/problem.ts';
import { problems } from './http/schemas.ts';
import { registerWeb } from './http/web.ts';
import { keysRoutes } from './keys/keys.routes.ts';
import { ledgerRoutes } from './ledger/ledger.routes.ts';
import { membersRoutes } from './members/members.routes.ts';
import { metricsRoutes } from './metrics/metrics.routes.ts';
import { offersRoutes } from './offers/offers.routes.ts';
import { ordersRoutes } from './orders/orders.routes.ts';
import { poolRoutes } from './pool/pool.routes.ts';
import { portalCardRoutes, portalRoutes } from './portal/portal.routes.ts';
import { programsRoutes } from './programs/programs.routes.ts';
import { purchasesRoutes } from './purchases/purchases.routes.ts';
import { rewardsRoutes } from './rewards/rewards.routes.ts';
import { settlementRoutes } from './settlement/settlement.routes.ts';
import { DomainError, invalidField } from './shared/errors.ts';
import { isStorableValue, jsonDepth, MAX_JSON_DEPTH } from './shared/text.ts';
import { tiersRoutes } from './tiers/tiers.routes.ts';

export const VERSION = '0.1.0';
const BODY_LIMIT = 1024 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const METHODS: HTTPMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

export interface AppOptions {
  /** Extra Fastify options, e.g. `trustProxy` behind a load balancer. */
  fastify?: Omit<FastifyServerOptions, 'loggerInstance' | 'logger'>;
}

class QuietLogController extends LogController {
  constructor() {
    super({
      requestIdLogLabel: 'requestId',
      disableRequestLogging: (req) => req.url === '/health' || req.url === '/ready',
    });
  }

  override incomingRequest(): void {}
}

const isNothing = (body: unknown) =>
  body === undefined ||
  (typeof body === 'object' &&
    body !== null &&
    !Array.isArray(body) &&
    Object.keys(body).length === 0);

/** Builds the HTTP application around its dependencies; nothing listens until the caller says so. */
export async function buildApp(deps: Deps, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...options.fastify,
    loggerInstance: deps.log,
    bodyLimit: BODY_LIMIT,
    // One line per request, at completion; probes of /health and /ready are not logged.
    logController: new QuietLogController(),
    return503OnClosing: true,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // A path Fastify cannot decode or route (bad percent-encoding, an overlong segment) is answered
    // before any hook runs: here, in the same problem+json as everything else.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      sendProblem(reply, toProblem(error, request));
    },
    // A request Node's HTTP parser refuses never becomes a Fastify request at all.
    clientErrorHandler: (error, socket) => {
      if (socket.destroyed || (error as { code?: string }).code === 'ECONNRESET') return;
      socket.end(rawProblemResponse(error as { code?: string }, deps.ids('req')));
    },
    // A caller's own request id is kept when it is sane, so one id follows a request across systems.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : deps.ids('req');
    },
  }).withTypeProvider<ZodTypeProvider>();

  // The API speaks JSON only; anything else is 415 rather than a string the schema rejects.
  app.removeContentTypeParser('text/plain');
  // JSON nested deeper than any request needs is refused before it is parsed, so that nothing
  // (ours or a library's) walks a body a client made deep enough to exhaust the stack.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (jsonDepth(text) > MAX_JSON_DEPTH) {
      done(invalidField('body', `must not nest objects and arrays deeper than ${MAX_JSON_DEPTH}`));
      return;
    }
    parseJson(request, text, done);
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.decorateRequest('deps', undefined as unknown as Deps);
  app.addHook('onRequest', async (request, reply) => {
    request.deps = deps;
    reply.header('x-request-id', request.id);
  });

  app.setErrorHandler((error, request, reply) => sendProblem(reply, toProblem(error, request)));

  // PostgreSQL cannot store the NUL character or a lone surrogate in text or JSON; refuse them
  // here, for every route, rather than let them reach the database as a 500.
  app.addHook('preValidation', async (request) => {
    // A route that takes no body refuses one (unknown fields are refused everywhere); an empty
    // object is what some clients always send, and says nothing.
    if (!request.routeOptions.schema?.body && !isNothing(request.body)) {
      throw invalidField('body', 'this request takes no body');
    }
    const where = [
      ['body', request.body],
      ['path', request.params],
      ['query', request.query],
    ].find(([, value]) => !isStorableValue(value));
    if (where) {
      throw invalidField(
        String(where[0]),
        'must not contain the NUL character (\\u0000) or half of a surrogate pair',
      );
    }
  });

  // Fastify answers 404 for a known path with another method; we answer 405 with Allow.
  const known = FindMyWay();
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (METHODS.includes(method as HTTPMethod))
        known.on(method as HTTPMethod, route.url, () => {});
    }
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = METHODS.filter((m) => known.find(m, path));
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendProblem(
        reply,
        problem(
          'method_not_allowed',
          `${request.method} is not allowed here; use ${allowed.join(', ')}`,
        ),
      );
    }
    return sendProblem(reply, problem('not_found', `No route ${request.method} ${path}`));
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tessera API',
        version: VERSION,
        description:
          'Membership and loyalty platform. Authenticate with `Authorization: Bearer tsk_…`. ' +
          'Every write accepts `Idempotency-Key`. Errors are `application/problem+json`.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer' },
          portalToken: {
            type: 'http',
            scheme: 'portal',
            description: "A member portal link's token: `Authorization: Portal <token>`",
          },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await registerWeb(app);

  app.get(
    '/health',
    {
      schema: {
        tags: ['Operations'],
        summary: 'The process is alive',
        response: { 200: z.object({ status: z.literal('ok'), version: z.string() }) },
      },
    },
    async () => ({ status: 'ok' as const, version: VERSION }),
  );

  app.get(
    '/ready',
    {
      schema: {
        tags: ['Operations'],
        summary: 'The database is reachable',
        response: { 200: z.object({ status: z.literal('ready') }), ...problems(503) },
      },
    },
    async () => {
      try {
        await sql`select 1`.execute(deps.db);
      } catch (error) {
        deps.log.warn({ err: error }, 'database not reachable');
        throw new DomainError('unavailable', 'The database is not reachable');
      }
      return { status: 'ready' as const };
    },
  );

  await app.register(
    async (v1) => {
      registerAuth(v1, deps);
      registerIdempotency(v1, deps);
      await v1.register(programsRoutes);
      await v1.register(keysRoutes);
      await v1.register(membersRoutes);
      await v1.register(ledgerRoutes);
      await v1.register(auditRoutes);
      await v1.register(growthRoutes);
      await v1.register(tiersRoutes);
      await v1.register(coalitionRoutes);
      await v1.register(eventsRoutes);
      await v1.register(earningRoutes);
      await v1.register(purchasesRoutes);
      await v1.register(metricsRoutes);
      await v1.register(portalRoutes);
      await v1.register(exchangeRoutes);
      await v1.register(settlementRoutes);
      await v1.register(poolRoutes);
      await v1.register(offersRoutes);
      await v1.register(couponsRoutes);
      await v1.register(rewardsRoutes);
      await v1.register(ordersRoutes);
    },
    { prefix: '/v1' },
  );
  // The member portal's reads answer to a portal link's token, not an API key: outside v1's auth.
  await app.register(portalCardRoutes, { prefix: '/v1' });

  return app;
}
