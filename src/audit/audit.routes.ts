import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { page, pageOf, pageQuery } from '../http/pagination.ts';
import { bearerSecurity, problems, timestamp } from '../http/schemas.ts';
import { requireProgramRole } from '../keys/keys.core.ts';
import { AUDIT_ACTIONS, type AuditEntry } from './audit.core.ts';
import { listAudit } from './audit.service.ts';

const auditEntrySchema = z
  .object({
    id: z.string(),
    at: timestamp,
    actorKeyId: z.string().nullable().describe('The API key that made the change'),
    programId: z.string().nullable(),
    memberId: z.string().nullable(),
    action: z.enum(AUDIT_ACTIONS),
    before: z.unknown(),
    after: z.unknown(),
  })
  .meta({ id: 'AuditEntry' });

const present = (e: AuditEntry) => ({ ...e, at: e.at.toISOString() });

export const auditRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/audit',
    {
      schema: {
        tags: ['Audit'],
        summary:
          'Administrative changes, newest first (coalition admin: all; program admin: its program)',
        security: bearerSecurity,
        querystring: pageQuery.extend({
          programId: z.string().max(200).optional(),
          memberId: z.string().max(200).optional(),
          action: z.enum(AUDIT_ACTIONS).optional(),
        }),
        response: { 200: pageOf(auditEntrySchema), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { principal } = request;
      const { programId, memberId, action } = request.query;
      if (principal.programId !== null)
        requireProgramRole(principal, programId ?? principal.programId, 'admin');
      return page(
        request,
        (before, limit) =>
          listAudit(request.deps, principal, { programId, memberId, action }, before, limit),
        (e) => e.id,
        present,
      );
    },
  );
};
