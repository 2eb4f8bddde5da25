import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { page, pageOf, pageQuery } from '../http/pagination.ts';
import { AUTH_ERRORS, bearerSecurity, problems, timestamp } from '../http/schemas.ts';
import { requireCoalitionAdmin } from '../keys/keys.core.ts';
import { SETTLEMENT_KINDS, type SettlementLine } from './settlement.core.ts';
import * as service from './settlement.service.ts';

const tags = ['Coalition settlement'];

const period = z.string().max(7).describe('A month, YYYY-MM, in the coalition’s time zone');

const pairSchema = z
  .object({
    a: z.string().describe('A party: a program id, or "coalition"'),
    b: z.string(),
    aOwesB: z.number().int().describe('Fen'),
    bOwesA: z.number().int().describe('Fen'),
    net: z.number().int().describe('Fen: positive, a pays b; negative, b pays a'),
    lines: z.number().int(),
  })
  .meta({ id: 'SettlementPair' });

const statementSchema = z
  .object({
    period: z.string(),
    status: z.enum(['open', 'closed', 'settled']),
    closedAt: timestamp.nullable(),
    settledAt: timestamp.nullable(),
    pairs: z.array(pairSchema),
  })
  .meta({ id: 'SettlementStatement' });

const lineSchema = z
  .object({
    id: z.string(),
    kind: z.enum(SETTLEMENT_KINDS),
    sourceId: z.string().describe('The conversion, pool use or offer grant the line is for'),
    debtor: z.string(),
    creditor: z.string(),
    points: z.number().int().nullable(),
    amountFen: z.number().int(),
    memberId: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()),
    createdAt: timestamp,
  })
  .meta({ id: 'SettlementLine' });

const presentStatement = (s: service.Statement): z.infer<typeof statementSchema> => ({
  ...s,
  closedAt: s.closedAt?.toISOString() ?? null,
  settledAt: s.settledAt?.toISOString() ?? null,
});

const presentLine = (l: SettlementLine): z.infer<typeof lineSchema> => ({
  id: l.id,
  kind: l.kind,
  sourceId: l.sourceId,
  debtor: l.debtor,
  creditor: l.creditor,
  points: l.points,
  amountFen: l.amountFen,
  memberId: l.memberId,
  detail: l.detail,
  createdAt: l.createdAt.toISOString(),
});

/** A download's name: ids may hold any character, a header only some. */
const fileName = (...parts: string[]) =>
  `settlement-${parts.map((x) => x.replace(/[^A-Za-z0-9._-]/g, '_')).join('-')}.csv`;

const sendCsv = (reply: FastifyReply, name: string, csv: string) =>
  reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${name}"`)
    .send(csv);

export const settlementRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/coalition/settlements',
    {
      schema: {
        tags,
        summary:
          "A period's statement: per pair, what each owes the other and the net (a program key sees its own pairs)",
        security: bearerSecurity,
        querystring: z.object({ period }),
        response: { 200: statementSchema, ...problems(400, 401) },
      },
    },
    async (request) =>
      presentStatement(
        await service.statementOf(request.deps, request.principal, request.query.period),
      ),
  );

  app.get(
    '/coalition/settlements/:period/export.csv',
    {
      schema: {
        tags,
        summary: 'Every line of a period the key may see, as CSV (fen as integers)',
        security: bearerSecurity,
        params: z.object({ period }),
        produces: ['text/csv'],
        response: { 200: z.string(), ...problems(400, 401) },
      },
    },
    async (request, reply) => {
      const { period: p } = request.params;
      return sendCsv(
        reply,
        fileName(p),
        await service.exportCsv(request.deps, request.principal, p),
      );
    },
  );

  app.get(
    '/coalition/settlements/:period/:a/:b/export.csv',
    {
      schema: {
        tags,
        summary: 'The lines between two parties in a period, as CSV (a program key: its own pairs)',
        security: bearerSecurity,
        params: z.object({ period, a: z.string().max(200), b: z.string().max(200) }),
        produces: ['text/csv'],
        response: { 200: z.string(), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request, reply) => {
      const { period: p, a, b } = request.params;
      const csv = await service.exportCsv(request.deps, request.principal, p, { a, b });
      return sendCsv(reply, fileName(p, a, b), csv);
    },
  );

  app.get(
    '/coalition/settlements/:period/:a/:b',
    {
      schema: {
        tags,
        summary:
          'The lines between two parties in a period, either way (a program key: its own pairs)',
        security: bearerSecurity,
        params: z.object({ period, a: z.string().max(200), b: z.string().max(200) }),
        querystring: pageQuery,
        response: { 200: pageOf(lineSchema), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { period: p, a, b } = request.params;
      return page(
        request,
        (after, limit) => service.linesOf(request.deps, request.principal, p, a, b, after, limit),
        (l) => l.id,
        presentLine,
      );
    },
  );

  app.post(
    '/coalition/settlements/:period/close',
    {
      schema: {
        tags,
        summary: 'Close an ended period: its statement is frozen (coalition admin; audited)',
        security: bearerSecurity,
        params: z.object({ period }),
        response: { 200: statementSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request) => {
      requireCoalitionAdmin(request.principal);
      return presentStatement(
        await service.closePeriod(request.deps, request.principal, request.params.period),
      );
    },
  );

  app.post(
    '/coalition/settlements/:period/settle',
    {
      schema: {
        tags,
        summary: 'Mark a closed period paid (coalition admin; audited)',
        security: bearerSecurity,
        params: z.object({ period }),
        response: { 200: statementSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request) => {
      requireCoalitionAdmin(request.principal);
      return presentStatement(
        await service.markSettled(request.deps, request.principal, request.params.period),
      );
    },
  );
};
