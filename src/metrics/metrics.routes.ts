import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AUTH_ERRORS, bearerSecurity, problems } from '../http/schemas.ts';
import { requireProgramRole } from '../keys/keys.core.ts';
import { programParams } from '../programs/programs.schemas.ts';
import { metricsQuery, metricsSchema, presentMetrics } from './metrics.schemas.ts';
import * as service from './metrics.service.ts';

export const metricsRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/programs/:programId/metrics',
    {
      schema: {
        tags: ['Metrics'],
        summary:
          "A program's dashboard: daily enrollments and points, the liability, tiers, top rules",
        description:
          "Days are local days in the program's time zone; by default the last 30, today included; " +
          'at most 366. Any key of the program may read it.',
        security: bearerSecurity,
        params: programParams,
        querystring: metricsQuery,
        response: { 200: metricsSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      return presentMetrics(await service.programMetrics(request.deps, programId, request.query));
    },
  );
};
