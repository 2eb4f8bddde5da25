import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { bearerSecurity, problems, timestamp } from '../http/schemas.ts';
import { requireProgramRole } from '../keys/keys.core.ts';
import { programParams } from '../programs/programs.schemas.ts';
import { EVENT_TYPES, listEvents } from './events.service.ts';

const eventSchema = z
  .object({
    id: z.string(),
    sequence: z
      .number()
      .int()
      .describe("The event's number in its program: 1, 2, 3… in commit order"),
    type: z.enum(EVENT_TYPES),
    programId: z.string(),
    memberId: z.string().nullable(),
    occurredAt: timestamp,
    data: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'DomainEvent' });

export const eventsRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/programs/:programId/events',
    {
      schema: {
        tags: ['Events'],
        summary: "A program's domain events in order (program read)",
        description:
          'Tier changes, downgrade warnings, growth spikes and benefit uses, written with the change they report. Read forward with `after` = the last `sequence` seen: no event is ever skipped.',
        security: bearerSecurity,
        params: programParams,
        querystring: z.object({
          type: z.enum(EVENT_TYPES).optional(),
          memberId: z.string().max(200).optional(),
          after: z.coerce
            .number()
            .int()
            .min(0)
            .optional()
            .describe('Only events after this sequence'),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
        response: {
          200: z.object({
            data: z.array(eventSchema),
            next: z
              .number()
              .int()
              .nullable()
              .describe('`after` for the next page; null: caught up'),
          }),
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const { programId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      const { limit, ...filter } = request.query;
      const events = await listEvents(request.deps.db, programId, filter, limit);
      const last = events[events.length - 1];
      return {
        data: events.map((e) => ({ ...e, occurredAt: e.occurredAt.toISOString() })),
        next: events.length === limit && last ? last.sequence : null,
      };
    },
  );
};
