import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { answer } from '../http/idempotency.ts';
import { page, pageOf, pageQuery } from '../http/pagination.ts';
import { AUTH_ERRORS, bearerSecurity, problems } from '../http/schemas.ts';
import { requireCoalitionAdmin } from '../keys/keys.core.ts';
import { globalMemberParams } from '../members/members.schemas.ts';
import {
  askOf,
  conversionBody,
  conversionSchema,
  pairBody,
  pairParams,
  pairSchema,
  presentConversion,
  presentPair,
  presentRate,
  quoteBody,
  quoteSchema,
  rateBody,
  rateParams,
  rateSchema,
  toRate,
  toTerms,
} from './exchange.schemas.ts';
import * as service from './exchange.service.ts';

const tags = ['Coalition exchange'];

export const exchangeRoutes: FastifyPluginAsyncZod = async (app) => {
  app.put(
    '/coalition/exchange/programs/:programId',
    {
      schema: {
        tags,
        summary:
          "Put a program in the exchange: its rate to the hub unit and its points' worth (coalition admin; audited)",
        security: bearerSecurity,
        params: rateParams,
        body: rateBody,
        response: { 200: rateSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      requireCoalitionAdmin(request.principal);
      const rate = toRate(request.params.programId, request.body);
      return presentRate(await service.setRate(request.deps, rate, request.principal));
    },
  );

  app.get(
    '/coalition/exchange/programs',
    {
      schema: {
        tags,
        summary:
          'The programs in the exchange, with their rates (a program key: its own and its partners’)',
        security: bearerSecurity,
        response: { 200: z.object({ data: z.array(rateSchema) }), ...problems(401) },
      },
    },
    async (request) => ({
      data: (await service.listRates(request.deps, request.principal)).map(presentRate),
    }),
  );

  app.put(
    '/coalition/exchange/pairs/:from/:to',
    {
      schema: {
        tags,
        summary:
          'Approve exchanging points of one program into another, with fee and limits (coalition admin; audited)',
        security: bearerSecurity,
        params: pairParams,
        body: pairBody,
        response: { 200: pairSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request) => {
      requireCoalitionAdmin(request.principal);
      const { from, to } = request.params;
      const terms = toTerms(from, to, request.body);
      return presentPair(await service.setPair(request.deps, terms, request.principal));
    },
  );

  app.delete(
    '/coalition/exchange/pairs/:from/:to',
    {
      schema: {
        tags,
        summary: 'Withdraw a pair’s approval (coalition admin; audited)',
        security: bearerSecurity,
        params: pairParams,
        response: { 204: z.null(), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request, reply) => {
      requireCoalitionAdmin(request.principal);
      const { from, to } = request.params;
      await service.removePair(request.deps, from, to, request.principal);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/coalition/exchange/pairs',
    {
      schema: {
        tags,
        summary: 'Approved pairs (a program key sees those of its program)',
        security: bearerSecurity,
        response: { 200: z.object({ data: z.array(pairSchema) }), ...problems(401) },
      },
    },
    async (request) => ({
      data: (await service.listPairs(request.deps, request.principal)).map(presentPair),
    }),
  );

  app.post(
    '/members/:memberId/conversions/quote',
    {
      schema: {
        tags,
        summary:
          'What a conversion would move now; writes nothing (a key of `from`, or the coalition)',
        security: bearerSecurity,
        params: globalMemberParams,
        body: quoteBody,
        response: { 200: quoteSchema, ...problems(...AUTH_ERRORS, 409, 422) },
      },
    },
    async (request) => {
      const { from, to } = request.body;
      return service.quoteConversion(request.deps, request.principal, request.params.memberId, {
        from,
        to,
        ask: askOf(request.body),
      });
    },
  );

  app.post(
    '/members/:memberId/conversions',
    {
      config: { idempotency: 'batch' },
      schema: {
        tags,
        summary:
          'Convert points of one program into another at the unified standard (a key of `from`, or the coalition)',
        description:
          'Both ledgers move in one command, or neither. The member receives the floor of what the points buy and pays exactly what buys it, plus the fee. Applied once per `from` and `reference`.',
        security: bearerSecurity,
        params: globalMemberParams,
        body: conversionBody,
        response: { 201: conversionSchema, ...problems(...AUTH_ERRORS, 409, 422) },
      },
    },
    async (request, reply) => {
      const { from, to, reference } = request.body;
      const input = { from, to, reference, ask: askOf(request.body) };
      return answer(
        request,
        reply,
        201,
        async (v: service.ConversionView, db) =>
          presentConversion(await service.firstApplied(db, v)),
        (attach) =>
          service.convert(request.deps, request.principal, request.params.memberId, input, attach),
      );
    },
  );

  app.get(
    '/members/:memberId/conversions',
    {
      schema: {
        tags,
        summary:
          "A member's conversions, newest first (a program key sees those its program is on)",
        security: bearerSecurity,
        params: globalMemberParams,
        querystring: pageQuery,
        response: { 200: pageOf(conversionSchema), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) =>
      page(
        request,
        (after, limit) =>
          service.listConversions(
            request.deps,
            request.principal,
            request.params.memberId,
            after,
            limit,
          ),
        (c) => c.conversionId,
        presentConversion,
      ),
  );
};
