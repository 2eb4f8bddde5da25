import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { page, pageOf, pageQuery } from '../http/pagination.ts';
import { AUTH_ERRORS, bearerSecurity, problems } from '../http/schemas.ts';
import { requireCoalitionAdmin, requireProgramRole } from '../keys/keys.core.ts';
import {
  createProgramBody,
  presentProgram,
  programParams,
  programSchema,
  updateProgramBody,
} from './programs.schemas.ts';
import * as service from './programs.service.ts';

const tags = ['Programs'];

export const programsRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/programs',
    {
      schema: {
        tags,
        summary: 'Create a program (coalition admin)',
        security: bearerSecurity,
        body: createProgramBody,
        response: { 201: programSchema, ...problems(...AUTH_ERRORS, 409, 422) },
      },
    },
    async (request, reply) => {
      requireCoalitionAdmin(request.principal);
      const program = await service.createProgram(request.deps, request.body, request.principal);
      return reply.code(201).send(presentProgram(program));
    },
  );

  app.get(
    '/programs',
    {
      schema: {
        tags,
        summary: 'List programs (a program key sees its own)',
        security: bearerSecurity,
        querystring: pageQuery,
        response: { 200: pageOf(programSchema), ...problems(400, 401) },
      },
    },
    async (request) =>
      page(
        request,
        (after, limit) => service.listPrograms(request.deps, request.principal, after, limit),
        (p) => p.id,
        presentProgram,
      ),
  );

  app.get(
    '/programs/:programId',
    {
      schema: {
        tags,
        summary: 'Get a program',
        security: bearerSecurity,
        params: programParams,
        response: { 200: programSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      requireProgramRole(request.principal, request.params.programId, 'read');
      return presentProgram(await service.getProgram(request.deps, request.params.programId));
    },
  );

  app.patch(
    '/programs/:programId',
    {
      schema: {
        tags,
        summary: "Change a program's name, points name, time zone or status (program admin)",
        security: bearerSecurity,
        params: programParams,
        body: updateProgramBody,
        response: { 200: programSchema, ...problems(...AUTH_ERRORS, 422) },
      },
    },
    async (request) => {
      requireProgramRole(request.principal, request.params.programId, 'admin');
      const program = await service.updateProgram(
        request.deps,
        request.params.programId,
        request.body,
        request.principal,
      );
      return presentProgram(program);
    },
  );
};
