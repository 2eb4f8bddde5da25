import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { page, pageOf, pageQuery } from '../http/pagination.ts';
import { AUTH_ERRORS, bearerSecurity, problems } from '../http/schemas.ts';
import { requireProgramRole } from '../keys/keys.core.ts';
import { programParams } from '../programs/programs.schemas.ts';
import {
  createOfferBody,
  grantSchema,
  offerParams,
  offerSchema,
  presentGrant,
  presentOffer,
  updateOfferBody,
} from './offers.schemas.ts';
import * as service from './offers.service.ts';

const tags = ['Cross-brand offers'];

export const offersRoutes: FastifyPluginAsyncZod = async (app) => {
  const offers = '/programs/:programId/offers';

  app.post(
    offers,
    {
      schema: {
        tags,
        summary: 'Make an offer: a purchase here gives a reward at another brand (program admin)',
        description:
          'Fires for purchases recorded from now on whose amount (CNY) is at least minSpendFen and whose time is within the dates. This program owes the reward’s brand its cost in settlement.',
        security: bearerSecurity,
        params: programParams,
        body: createOfferBody,
        response: { 201: offerSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request, reply) => {
      requireProgramRole(request.principal, request.params.programId, 'admin');
      const o = await service.createOffer(
        request.deps,
        request.params.programId,
        request.body,
        request.principal,
      );
      return reply.code(201).send(presentOffer(o));
    },
  );

  app.get(
    offers,
    {
      schema: {
        tags,
        summary: "The program's offers, with stock left",
        security: bearerSecurity,
        params: programParams,
        querystring: pageQuery,
        response: { 200: pageOf(offerSchema), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      requireProgramRole(request.principal, request.params.programId, 'read');
      return page(
        request,
        (after, limit) => service.listOffers(request.deps, request.params.programId, after, limit),
        (o) => o.id,
        presentOffer,
      );
    },
  );

  app.get(
    `${offers}/:offerId`,
    {
      schema: {
        tags,
        summary: 'One offer',
        security: bearerSecurity,
        params: offerParams,
        response: { 200: offerSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, offerId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      return presentOffer(await service.getOffer(request.deps, programId, offerId));
    },
  );

  app.patch(
    `${offers}/:offerId`,
    {
      schema: {
        tags,
        summary: "Change an offer's stock, limit, dates, threshold or status (program admin)",
        security: bearerSecurity,
        params: offerParams,
        body: updateOfferBody,
        response: { 200: offerSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request) => {
      const { programId, offerId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      return presentOffer(
        await service.updateOffer(
          request.deps,
          programId,
          offerId,
          request.body,
          request.principal,
        ),
      );
    },
  );

  app.get(
    `${offers}/:offerId/grants`,
    {
      schema: {
        tags,
        summary: 'What each matching purchase got, or why it was skipped',
        security: bearerSecurity,
        params: offerParams,
        querystring: pageQuery,
        response: { 200: pageOf(grantSchema), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, offerId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      return page(
        request,
        (after, limit) => service.listGrants(request.deps, programId, offerId, after, limit),
        (g) => g.id,
        presentGrant,
      );
    },
  );
};
