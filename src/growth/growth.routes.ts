import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { answer } from '../http/idempotency.ts';
import { page, pageOf, pageQuery } from '../http/pagination.ts';
import { AUTH_ERRORS, bearerSecurity, problems } from '../http/schemas.ts';
import { requireProgramRole } from '../keys/keys.core.ts';
import { memberParams } from '../members/members.schemas.ts';
import { assertEnrolled, membersMergedInto } from '../members/members.service.ts';
import { programParams } from '../programs/programs.schemas.ts';
import {
  alertSchema,
  growthBody,
  growthEventSchema,
  growthPolicySchema,
  growthResultSchema,
  growthViewSchema,
} from './growth.schemas.ts';
import * as service from './growth.service.ts';

const tags = ['Growth value'];

const presentAlert = (a: Awaited<ReturnType<typeof service.listAlerts>>[number]) => ({
  id: a.id,
  kind: a.kind,
  memberId: a.memberId,
  day: a.day,
  data: a.data,
  createdAt: a.createdAt.toISOString(),
  acknowledgedAt: a.acknowledgedAt?.toISOString() ?? null,
  acknowledgedBy: a.acknowledgedBy,
});

export const growthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/programs/:programId/growth-policy',
    {
      schema: {
        tags,
        summary: "The program's growth policy (program read)",
        security: bearerSecurity,
        params: programParams,
        response: { 200: growthPolicySchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      requireProgramRole(request.principal, request.params.programId, 'read');
      return service.getPolicy(request.deps, request.params.programId);
    },
  );

  app.put(
    '/programs/:programId/growth-policy',
    {
      schema: {
        tags,
        summary:
          'Set the growth policy: mode, sources and daily caps, spike rule (program admin; audited)',
        description: 'A rolling window applies to growth earned after it is set.',
        security: bearerSecurity,
        params: programParams,
        body: growthPolicySchema,
        response: { 200: growthPolicySchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      requireProgramRole(request.principal, request.params.programId, 'admin');
      return service.setPolicy(
        request.deps,
        request.params.programId,
        request.body,
        request.principal,
      );
    },
  );

  const member = '/programs/:programId/members/:memberId';

  app.post(
    `${member}/growth`,
    {
      config: { idempotency: 'batch' },
      schema: {
        tags,
        summary:
          'Credit growth value from a source (what the daily caps allow), or deduct it (integration)',
        description:
          'A blocked member earns nothing (403). A deduction is refused in one_way mode (409 growth_one_way) and never takes growth below zero.',
        security: bearerSecurity,
        params: memberParams,
        body: growthBody,
        response: { 201: growthResultSchema, ...problems(...AUTH_ERRORS, 409, 422) },
      },
    },
    async (request, reply) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      // Someone else's member is not found, whatever the body says.
      await assertEnrolled(request.deps, programId, memberId);
      return answer(
        request,
        reply,
        201,
        (r: service.GrowthResult) => ({
          credited: r.credited,
          capped: r.capped,
          growth: r.growth,
          tier: r.tier,
        }),
        (attach) =>
          service.postGrowth(
            request.deps,
            { programId, memberId, ...request.body, commandId: request.deps.ids('cmd') },
            attach,
          ),
      );
    },
  );

  app.get(
    `${member}/growth`,
    {
      schema: {
        tags,
        summary: "A member's growth value, by source, and today's credits against the caps",
        security: bearerSecurity,
        params: memberParams,
        response: { 200: growthViewSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      await assertEnrolled(request.deps, programId, memberId);
      const members = [memberId, ...(await membersMergedInto(request.deps, memberId))];
      return service.growthOf(request.deps, programId, members);
    },
  );

  app.get(
    `${member}/growth/history`,
    {
      schema: {
        tags,
        summary: 'Growth movements, newest first',
        security: bearerSecurity,
        params: memberParams,
        querystring: pageQuery,
        response: { 200: pageOf(growthEventSchema), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      await assertEnrolled(request.deps, programId, memberId);
      return page(
        request,
        (before, limit) =>
          service.growthHistory(request.deps, programId, [memberId], before, limit),
        (e) => e.id,
        (e) => ({ ...e, occurredAt: e.occurredAt.toISOString() }),
      );
    },
  );

  for (const trusted of [true, false]) {
    app.route({
      method: trusted ? 'PUT' : 'DELETE',
      url: `${member}/whitelist`,
      schema: {
        tags,
        summary: trusted
          ? 'Trust a member: no growth spike alerts for them (program admin; audited)'
          : 'Stop trusting a member (program admin; audited)',
        security: bearerSecurity,
        params: memberParams,
        response: { 200: z.object({ trusted: z.boolean() }), ...problems(...AUTH_ERRORS) },
      },
      handler: async (request) => {
        const { programId, memberId } = request.params;
        requireProgramRole(request.principal, programId, 'admin');
        await assertEnrolled(request.deps, programId, memberId);
        await service.setTrusted(request.deps, programId, memberId, trusted, request.principal);
        return { trusted };
      },
    });
  }

  app.get(
    '/programs/:programId/alerts',
    {
      schema: {
        tags,
        summary: 'Alerts (growth spikes), newest first (program admin)',
        security: bearerSecurity,
        params: programParams,
        querystring: pageQuery.extend({
          open: z
            .enum(['true', 'false'])
            .transform((v) => v === 'true')
            .optional()
            .describe('true: not yet acknowledged; false: acknowledged'),
        }),
        response: { 200: pageOf(alertSchema), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      return page(
        request,
        (before, limit) =>
          service.listAlerts(request.deps, programId, request.query.open, before, limit),
        (a) => a.id,
        presentAlert,
      );
    },
  );

  app.post(
    '/programs/:programId/alerts/:alertId/acknowledge',
    {
      schema: {
        tags,
        summary: 'Acknowledge an alert (program admin; audited)',
        security: bearerSecurity,
        params: programParams.extend({ alertId: z.string().max(200) }),
        response: { 200: alertSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, alertId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      return presentAlert(
        await service.acknowledgeAlert(request.deps, programId, alertId, request.principal),
      );
    },
  );
};
