import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { page, pageOf, pageQuery } from '../http/pagination.ts';
import { AUTH_ERRORS, bearerSecurity, problems } from '../http/schemas.ts';
import { programParams } from '../programs/programs.schemas.ts';
import { getProgram } from '../programs/programs.service.ts';
import { requireProgramRole } from './keys.core.ts';
import {
  apiKeySchema,
  createdApiKeySchema,
  createKeyBody,
  keyParams,
  presentKey,
} from './keys.schemas.ts';
import * as service from './keys.service.ts';

const tags = ['API keys'];

export const keysRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/programs/:programId/api-keys',
    {
      // The secret is shown once: a replayed creation answers without it.
      config: { idempotencyRedact: ['key'] },
      schema: {
        tags,
        summary: 'Create a program key (coalition admin or program admin)',
        security: bearerSecurity,
        params: programParams,
        body: createKeyBody,
        response: { 201: createdApiKeySchema, ...problems(...AUTH_ERRORS, 422) },
      },
    },
    async (request, reply) => {
      const { programId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      const { role, name } = request.body;
      const { apiKey, secret } = await service.createKey(
        request.deps,
        {
          programId,
          role,
          name: name ?? `${role} key`,
        },
        request.principal,
      );
      return reply.code(201).send({ ...presentKey(apiKey), key: secret });
    },
  );

  app.get(
    '/api-keys/current',
    {
      schema: {
        tags,
        summary: 'The key this request is made with: its program (null for the coalition) and role',
        security: bearerSecurity,
        response: { 200: apiKeySchema, ...problems(401) },
      },
    },
    async (request) => presentKey(await service.currentKey(request.deps, request.principal)),
  );

  app.get(
    '/programs/:programId/api-keys',
    {
      schema: {
        tags,
        summary: "List a program's keys, revoked ones included (program admin)",
        security: bearerSecurity,
        params: programParams,
        querystring: pageQuery,
        response: { 200: pageOf(apiKeySchema), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      await getProgram(request.deps, programId);
      return page(
        request,
        (after, limit) => service.listProgramKeys(request.deps, programId, after, limit),
        (k) => k.id,
        presentKey,
      );
    },
  );

  app.delete(
    '/programs/:programId/api-keys/:keyId',
    {
      schema: {
        tags,
        summary: 'Revoke a key: it stops working at once (program admin)',
        security: bearerSecurity,
        params: keyParams,
        response: { 200: apiKeySchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, keyId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      return presentKey(
        await service.revokeProgramKey(request.deps, programId, keyId, request.principal),
      );
    },
  );
};
