import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AUTH_ERRORS, bearerSecurity, problems } from '../http/schemas.ts';
import { requireProgramRole } from '../keys/keys.core.ts';
import { programParams } from '../programs/programs.schemas.ts';
import {
  createRuleBody,
  earningPolicySchema,
  ruleParams,
  ruleSchema,
  updateRuleBody,
} from './earning.schemas.ts';
import * as service from './earning.service.ts';

const tags = ['Earning rules'];

const presentRule = (r: service.RuleView): z.infer<typeof ruleSchema> => ({
  id: r.id,
  version: r.version,
  active: r.active,
  ...r.body,
  ...(r.issued !== undefined && { issued: r.issued }),
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});

export const earningRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/programs/:programId/earning-policy',
    {
      schema: {
        tags,
        summary: "The program's return window, rounding and return policy (program read)",
        security: bearerSecurity,
        params: programParams,
        response: { 200: earningPolicySchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      requireProgramRole(request.principal, request.params.programId, 'read');
      return service.getEarningPolicy(request.deps, request.params.programId);
    },
  );

  app.put(
    '/programs/:programId/earning-policy',
    {
      schema: {
        tags,
        summary: 'Set the return window, rounding and return policy (program admin; audited)',
        security: bearerSecurity,
        params: programParams,
        body: earningPolicySchema,
        response: { 200: earningPolicySchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      requireProgramRole(request.principal, request.params.programId, 'admin');
      return service.setEarningPolicy(
        request.deps,
        request.params.programId,
        request.body,
        request.principal,
      );
    },
  );

  const rules = '/programs/:programId/earning-rules';

  app.post(
    rules,
    {
      schema: {
        tags,
        summary: 'Create an earning rule (program admin; audited)',
        description:
          'Per item the highest-priority matching rate rule gives the base; multipliers multiply it (the tier’s multiplier benefit applies by itself); bonuses add; an exclusive rule replaces the rest when it matches.',
        security: bearerSecurity,
        params: programParams,
        body: createRuleBody,
        response: { 201: ruleSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request, reply) => {
      requireProgramRole(request.principal, request.params.programId, 'admin');
      const rule = await service.createRule(
        request.deps,
        request.params.programId,
        request.body,
        request.principal,
      );
      return reply.code(201).send(presentRule(rule));
    },
  );

  app.get(
    rules,
    {
      schema: {
        tags,
        summary: "The program's earning rules, active and not (program read)",
        security: bearerSecurity,
        params: programParams,
        querystring: z.object({
          active: z.enum(['true', 'false']).optional().describe('true: only the active rules'),
        }),
        response: { 200: z.object({ data: z.array(ruleSchema) }), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      requireProgramRole(request.principal, request.params.programId, 'read');
      const list = await service.listRules(
        request.deps,
        request.params.programId,
        request.query.active === 'true',
      );
      return { data: list.map(presentRule) };
    },
  );

  app.get(
    `${rules}/:ruleId`,
    {
      schema: {
        tags,
        summary: 'One earning rule, with what its budget has issued (program read)',
        security: bearerSecurity,
        params: ruleParams,
        response: { 200: ruleSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      requireProgramRole(request.principal, request.params.programId, 'read');
      return presentRule(
        await service.getRule(request.deps, request.params.programId, request.params.ruleId),
      );
    },
  );

  app.patch(
    `${rules}/:ruleId`,
    {
      schema: {
        tags,
        summary: 'Change an earning rule: a new version (program admin; audited)',
        security: bearerSecurity,
        params: ruleParams,
        body: updateRuleBody,
        response: { 200: ruleSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, ruleId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      return presentRule(
        await service.updateRule(request.deps, programId, ruleId, request.body, request.principal),
      );
    },
  );

  app.delete(
    `${rules}/:ruleId`,
    {
      schema: {
        tags,
        summary: 'Deactivate an earning rule: a new, inactive version (program admin; audited)',
        security: bearerSecurity,
        params: ruleParams,
        response: { 200: ruleSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, ruleId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      return presentRule(
        await service.updateRule(
          request.deps,
          programId,
          ruleId,
          { active: false },
          request.principal,
        ),
      );
    },
  );
};
