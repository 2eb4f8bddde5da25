import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AUTH_ERRORS, bearerSecurity, problems } from '../http/schemas.ts';
import { requireCoalitionAdmin } from '../keys/keys.core.ts';
import {
  levelRulesBody,
  levelRulesSchema,
  levelsBody,
  levelsSchema,
  memberLevelBody,
  memberLevelParams,
  memberLevelSchema,
  presentMemberLevel,
} from './coalition.schemas.ts';
import * as service from './coalition.service.ts';
import { matchRoutes } from './match.routes.ts';

const tags = ['Coalition'];

export const coalitionRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/coalition/levels',
    {
      schema: {
        tags,
        summary: "The coalition's member levels, highest first (any key)",
        security: bearerSecurity,
        response: { 200: levelsSchema, ...problems(401) },
      },
    },
    async (request) => ({ data: await service.listLevels(request.deps) }),
  );

  app.put(
    '/coalition/levels',
    {
      schema: {
        tags,
        summary: "Set the coalition's member levels (coalition admin; audited)",
        description:
          'The whole list. A level that members hold, a rule derives or a status match names cannot be removed (409 level_in_use).',
        security: bearerSecurity,
        body: levelsBody,
        response: { 200: levelsSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request) => {
      requireCoalitionAdmin(request.principal);
      return { data: await service.setLevels(request.deps, request.body, request.principal) };
    },
  );

  app.get(
    '/coalition/level-rules',
    {
      schema: {
        tags,
        summary: 'The rules that derive a member’s level from their tiers (coalition admin)',
        security: bearerSecurity,
        response: { 200: levelRulesSchema, ...problems(401, 403) },
      },
    },
    async (request) => {
      requireCoalitionAdmin(request.principal);
      return { data: await service.listLevelRules(request.deps) };
    },
  );

  app.put(
    '/coalition/level-rules',
    {
      schema: {
        tags,
        summary:
          'Set the rules that derive a member’s level from their tiers (coalition admin; audited)',
        security: bearerSecurity,
        body: levelRulesBody,
        response: { 200: levelRulesSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      requireCoalitionAdmin(request.principal);
      return { data: await service.setLevelRules(request.deps, request.body, request.principal) };
    },
  );

  app.get(
    '/members/:memberId/coalition-level',
    {
      schema: {
        tags,
        summary:
          "A member's coalition level (the coalition, or a key of a program the member is enrolled in)",
        description:
          'A program key sees the level that counts; the coalition also sees the level set and the level derived.',
        security: bearerSecurity,
        params: memberLevelParams,
        response: { 200: memberLevelSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { principal } = request;
      const view = await service.getMemberLevel(request.deps, request.params.memberId, principal);
      return presentMemberLevel(view, principal.programId === null);
    },
  );

  app.put(
    '/members/:memberId/coalition-level',
    {
      schema: {
        tags,
        summary: "Set a member's coalition level (the coalition admin's integration; audited)",
        description:
          'Setting what is set already changes nothing. 400 for a level the coalition has not defined.',
        security: bearerSecurity,
        params: memberLevelParams,
        body: memberLevelBody,
        response: { 200: memberLevelSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request) => {
      requireCoalitionAdmin(request.principal);
      const { level, source, validUntil } = request.body;
      const view = await service.setMemberLevel(
        request.deps,
        request.params.memberId,
        { level, source, validUntil: validUntil ? new Date(validUntil) : null },
        request.principal,
      );
      return presentMemberLevel(view, true);
    },
  );

  await app.register(matchRoutes);
};
