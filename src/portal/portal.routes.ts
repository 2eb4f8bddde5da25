import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  askOf,
  conversionSchema,
  presentConversion,
  quoteSchema,
} from '../exchange/exchange.schemas.ts';
import { AUTH_ERRORS, bearerSecurity, problems } from '../http/schemas.ts';
import { requireProgramRole } from '../keys/keys.core.ts';
import { memberParams } from '../members/members.schemas.ts';
import { presentOrder } from '../orders/orders.schemas.ts';
import { claimResultSchema, presentClaim, presentClaimable } from '../pool/pool.schemas.ts';
import { presentMemberReward } from '../rewards/rewards.schemas.ts';
import { PORTAL_CONVERSIONS, type PortalClaims } from './portal.core.ts';
import {
  createPortalLinkBody,
  portalCardSchema,
  portalClaimBody,
  portalConversionsSchema,
  portalConvertBody,
  portalCouponsSchema,
  portalExchangeSchema,
  portalLinkSchema,
  portalMallSchema,
  portalOrderBody,
  portalOrderSchema,
  portalOrdersSchema,
  portalPoolSchema,
  portalQuoteBody,
  presentCard,
  presentExchange,
  presentPortalCoupons,
} from './portal.schemas.ts';
import * as service from './portal.service.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** On the portal's read routes: the member and program the link opens. */
    portal: PortalClaims;
  }
}

const tags = ['Member portal'];

/** The scheme the portal's read routes are called with (see `securitySchemes` in app.ts). */
export const portalSecurity = [{ portalToken: [] }];

/** A host header fit to put in a link: a name or address, and a port. */
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** The page's address: on the host the request came to when it named one, else a path. */
function pageUrl(request: FastifyRequest, token: string): string {
  const path = `/portal/#/t/${token}`;
  const host = request.host;
  return typeof host === 'string' && HOST.test(host)
    ? `${request.protocol}://${host}${path}`
    : path;
}

/** Making links: an integration of the program (or an admin) asks for one, with its API key. */
export const portalRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/programs/:programId/members/:memberId/portal-links',
    {
      schema: {
        tags,
        summary: "Create a signed link to the member's own page (integration)",
        description:
          'The link opens the member portal on this member in this program, and nothing else, until it expires (15 minutes by default). Hand it to the member, e.g. from the brand’s app; it is not stored and cannot be revoked, so keep it short-lived.',
        security: bearerSecurity,
        params: memberParams,
        body: createPortalLinkBody,
        response: { 201: portalLinkSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request, reply) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      const link = await service.createLink(
        request.deps,
        programId,
        memberId,
        request.body?.ttlMinutes,
      );
      return reply.code(201).send({
        url: pageUrl(request, link.token),
        token: link.token,
        expiresAt: link.expiresAt.toISOString(),
      });
    },
  );
};

/**
 * The portal's read API. Registered outside the API-key scope: these routes answer to a portal
 * link's token (`Authorization: Portal <token>`) and to nothing else, and name no member or
 * program in their path — the token says which.
 */
export const portalCardRoutes: FastifyPluginAsyncZod = async (app) => {
  app.decorateRequest('portal', undefined as unknown as PortalClaims);
  // Before the body is read, as API keys are: an unauthenticated request learns nothing more.
  app.addHook('onRequest', async (request) => {
    request.portal = await service.authenticateLink(request.deps, request.headers.authorization);
  });

  app.get(
    '/portal/card',
    {
      schema: {
        tags,
        summary: "The member's card: points, what expires soon, tier, benefits, latest movements",
        description:
          'Called by the member portal with the link’s token. 401 `portal_link_expired` once the link has expired, 401 `portal_link_invalid` for a token that is not one of ours; 404 when the member has left the program or was erased.',
        security: portalSecurity,
        response: { 200: portalCardSchema, ...problems(401, 404) },
      },
    },
    async (request, reply) => {
      // A member's own data, opened by a bearer token: no shared cache may keep it.
      reply.header('cache-control', 'no-store');
      return presentCard(await service.cardOf(request.deps, request.portal));
    },
  );

  // The coalition, from the member's side: converting the link's program's points into another
  // program's, and the benefits pool. Every one answers for the link's member only; a conversion
  // always leaves the link's program.

  app.get(
    '/portal/exchange',
    {
      schema: {
        tags,
        summary: 'Where the member may convert their points: the approved pairs from the program',
        security: portalSecurity,
        response: { 200: portalExchangeSchema, ...problems(401, 404) },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return presentExchange(
        request.portal.memberId,
        await service.exchangeOf(request.deps, request.portal),
      );
    },
  );

  app.post(
    '/portal/conversions/quote',
    {
      schema: {
        tags,
        summary: 'What converting would move now: debited, fee, credited; writes nothing',
        security: portalSecurity,
        body: portalQuoteBody,
        response: { 200: quoteSchema, ...problems(401, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return service.quoteFor(request.deps, request.portal, {
        to: request.body.to,
        ask: askOf(request.body),
      });
    },
  );

  app.post(
    '/portal/conversions',
    {
      schema: {
        tags,
        summary: "Convert the member's points into another program's (once per requestId)",
        description:
          'The same conversion as `POST /v1/members/{memberId}/conversions`, from the link’s program. 201 when applied, 200 when the requestId was applied before (the first answer).',
        security: portalSecurity,
        body: portalConvertBody,
        response: {
          200: conversionSchema,
          201: conversionSchema,
          ...problems(401, 404, 409, 422),
        },
      },
    },
    async (request, reply) => {
      const { to, requestId } = request.body;
      const c = await service.convertFor(request.deps, request.portal, {
        to,
        ask: askOf(request.body),
        requestId,
      });
      reply.header('cache-control', 'no-store');
      return reply.code(c.replayed ? 200 : 201).send(presentConversion(c));
    },
  );

  app.get(
    '/portal/conversions',
    {
      schema: {
        tags,
        summary: "The member's latest conversions that involve the program, newest first",
        security: portalSecurity,
        response: { 200: portalConversionsSchema, ...problems(401, 404) },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const data = await service.conversionsOf(request.deps, request.portal, PORTAL_CONVERSIONS);
      return { memberId: request.portal.memberId, data: data.map(presentConversion) };
    },
  );

  app.get(
    '/portal/pool',
    {
      schema: {
        tags,
        summary: "The coalition's benefits the member may claim now, and the codes they hold",
        security: portalSecurity,
        response: { 200: portalPoolSchema, ...problems(401, 404) },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const pool = await service.poolOf(request.deps, request.portal);
      return {
        memberId: request.portal.memberId,
        claimable: pool.claimable.map(presentClaimable),
        claims: pool.claims.map((c) => ({
          ...presentClaim(c),
          benefitName: pool.names.get(c.benefitId) ?? null,
        })),
      };
    },
  );

  app.post(
    '/portal/pool/:benefitId/claim',
    {
      schema: {
        tags,
        summary: 'Claim a pool benefit: a single-use code (once per requestId)',
        description:
          '409 `out_of_stock`, `limit_reached`, `not_eligible`, `benefit_unavailable`, `member_blocked`.',
        security: portalSecurity,
        params: z.object({ benefitId: z.string().max(200) }),
        body: portalClaimBody,
        response: { 200: claimResultSchema, 201: claimResultSchema, ...problems(401, 404, 409) },
      },
    },
    async (request, reply) => {
      const r = await service.claimFor(
        request.deps,
        request.portal,
        request.params.benefitId,
        request.body.requestId,
      );
      reply.header('cache-control', 'no-store');
      return reply.code(r.replayed ? 200 : 201).send({
        ...presentClaim(r.claim),
        benefit: { name: r.benefit.name, kind: r.benefit.kind, programId: r.benefit.programId },
        replayed: r.replayed,
      });
    },
  );

  // The rewards mall from the member's side: browsing at their tier's prices, ordering with
  // points, and the coupons they hold.

  app.get(
    '/portal/rewards',
    {
      schema: {
        tags,
        summary: "What the member may order now, at their tier's prices, and what they can afford",
        security: portalSecurity,
        response: { 200: portalMallSchema, ...problems(401, 404) },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const shelf = await service.mallOf(request.deps, request.portal);
      return {
        memberId: request.portal.memberId,
        tier: shelf.tier,
        available: shelf.available,
        data: shelf.items.map((i) => ({
          ...presentMemberReward(i.reward, i.price),
          affordable: !i.reward.priceCash && i.price <= shelf.available,
        })),
      };
    },
  );

  app.post(
    '/portal/orders',
    {
      schema: {
        tags,
        summary: 'Order with points: placed and confirmed at once (once per requestId)',
        description:
          'The member confirmed on the page: their points are held and captured in one go. 400 for a reward with a cash part (ordered where cash is taken, not here); 409 `out_of_stock`, `limit_reached`, `insufficient_points`, `reward_unavailable`, `member_blocked`. 201 when ordered, 200 when the requestId ordered before.',
        security: portalSecurity,
        body: portalOrderBody,
        response: {
          200: portalOrderSchema,
          201: portalOrderSchema,
          ...problems(401, 404, 409),
        },
      },
    },
    async (request, reply) => {
      const r = await service.orderFor(request.deps, request.portal, request.body);
      reply.header('cache-control', 'no-store');
      return reply
        .code(r.replayed ? 200 : 201)
        .send({ ...presentOrder(r.order), replayed: r.replayed });
    },
  );

  app.get(
    '/portal/orders',
    {
      schema: {
        tags,
        summary: "The member's latest orders in the program, newest first",
        security: portalSecurity,
        response: { 200: portalOrdersSchema, ...problems(401, 404) },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const data = await service.ordersOf(request.deps, request.portal);
      return { memberId: request.portal.memberId, data: data.map(presentOrder) };
    },
  );

  app.get(
    '/portal/coupons',
    {
      schema: {
        tags,
        summary: "The member's coupons in the program with their codes (what a QR shows)",
        security: portalSecurity,
        response: { 200: portalCouponsSchema, ...problems(401, 404) },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const { coupons, templates } = await service.portalCouponsOf(request.deps, request.portal);
      return presentPortalCoupons(request.portal.memberId, coupons, templates);
    },
  );
};
