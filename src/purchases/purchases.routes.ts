import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { page, pageOf, pageQuery } from '../http/pagination.ts';
import { problem } from '../http/problem.ts';
import { AUTH_ERRORS, bearerSecurity, problems } from '../http/schemas.ts';
import { requireProgramRole } from '../keys/keys.core.ts';
import { memberParams } from '../members/members.schemas.ts';
import { assertEnrolled, membersMergedInto } from '../members/members.service.ts';
import { programParams } from '../programs/programs.schemas.ts';
import {
  batchBody,
  batchResultSchema,
  purchaseBody,
  purchaseParams,
  purchaseResultSchema,
  purchaseViewSchema,
  returnBody,
  returnResultSchema,
} from './purchases.schemas.ts';
import * as service from './purchases.service.ts';

const tags = ['Purchases'];

const presentView = (
  p: service.PurchaseView,
  returns: Awaited<ReturnType<typeof service.returnsOf>> = [],
) => ({
  ...p,
  occurredAt: p.occurredAt.toISOString(),
  createdAt: p.createdAt.toISOString(),
  returns: returns.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })),
});

const purchaseDetailSchema = purchaseViewSchema.extend({
  returns: z.array(returnResultSchema.extend({ reason: z.string(), createdAt: z.string() })),
});

/** 201 for a new record; 200 with `Idempotent-Replayed` for a repeat of one. */
function created<T>(reply: FastifyReply, replayed: boolean, body: T) {
  if (replayed) reply.header('idempotent-replayed', 'true');
  return reply.code(replayed ? 200 : 201).send(body);
}

export const purchasesRoutes: FastifyPluginAsyncZod = async (app) => {
  const purchases = '/programs/:programId/purchases';

  app.post(
    purchases,
    {
      // The purchase id is the idempotency key: the ledger batch records the purchase once.
      config: { idempotency: 'batch' },
      schema: {
        tags,
        summary: 'Record a purchase: it earns points and growth value (integration)',
        description:
          'The same id with the same body answers the first result (200, `Idempotent-Replayed: true`); with another body, 409 `purchase_conflict`. `enroll: true` enrolls a member an identifier does not find. The breakdown adds up to the points earned.',
        security: bearerSecurity,
        params: programParams,
        body: purchaseBody,
        response: {
          201: purchaseResultSchema,
          200: purchaseResultSchema,
          ...problems(...AUTH_ERRORS, 409, 422),
        },
      },
    },
    async (request, reply) => {
      const { programId } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      const r = await service.recordPurchase(
        request.deps,
        programId,
        request.body,
        request.principal,
      );
      return created(reply, r.replayed, r.result);
    },
  );

  app.post(
    `${purchases}/preview`,
    {
      config: { idempotency: 'batch' },
      schema: {
        tags,
        summary: 'What a purchase would earn now, writing nothing (integration)',
        description:
          'The same answer as recording it, with the rules’ budgets and caps as they stand; growth before its daily caps. A dry run for tills and rule authors.',
        security: bearerSecurity,
        params: programParams,
        body: purchaseBody,
        response: { 200: purchaseResultSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request) => {
      const { programId } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      return service.previewPurchase(request.deps, programId, request.body);
    },
  );

  app.post(
    `${purchases}/batch`,
    {
      config: { idempotency: 'batch' },
      bodyLimit: 16 * 1024 * 1024,
      schema: {
        tags,
        summary: 'Record up to 1,000 purchases, each on its own (integration)',
        description:
          'Answers 200 with one result per purchase, in order: its answer (201, or 200 with `replayed` for a repeat), or a problem with its code. One bad purchase never fails the rest.',
        security: bearerSecurity,
        params: programParams,
        body: batchBody,
        response: { 200: batchResultSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      const parsed = request.body.purchases.map((raw) => purchaseBody.safeParse(raw));
      const valid = parsed.flatMap((p) => (p.success ? [p.data] : []));
      const outcomes = await service.recordPurchases(
        request.deps,
        programId,
        valid,
        request.principal,
      );
      let k = 0;
      return {
        results: parsed.map((p) => {
          if (!p.success) {
            const errors = p.error.issues.map((i) => ({
              path: i.path.join('.'),
              message: i.message,
            }));
            const first = errors[0];
            return {
              status: 400,
              problem: problem(
                'validation_failed',
                first ? `${first.path}: ${first.message}` : 'Invalid purchase',
                { errors },
              ),
            };
          }
          const o = outcomes[k++];
          if (!o) throw new Error('a purchase of the batch has no outcome');
          if (!o.ok) {
            const body = problem(o.error.code, o.error.message, o.error.extensions);
            return { status: body.status, problem: body };
          }
          return o.value.replayed
            ? { status: 200 as const, purchase: o.value.result, replayed: true as const }
            : { status: 201 as const, purchase: o.value.result };
        }),
      };
    },
  );

  app.get(
    `${purchases}/:purchaseId`,
    {
      schema: {
        tags,
        summary:
          'A purchase: what it earned, the rule versions it used, its returns (program read)',
        security: bearerSecurity,
        params: purchaseParams,
        response: { 200: purchaseDetailSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, purchaseId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      const [view, returns] = await Promise.all([
        service.getPurchase(request.deps, programId, purchaseId),
        service.returnsOf(request.deps, programId, purchaseId),
      ]);
      return presentView(view, returns);
    },
  );

  app.post(
    `${purchases}/:purchaseId/returns`,
    {
      config: { idempotency: 'batch' },
      schema: {
        tags,
        summary:
          'Return all or part of a purchase: what it earned is taken back pro rata (integration)',
        description:
          'Points come back from the purchase’s own lot first (pending points simply go); when they were spent, the return policy decides and what is not taken back is written off and reported. Growth value follows its mode. Idempotent by return id; returning more than was bought is 409 `return_exceeds_purchase`.',
        security: bearerSecurity,
        params: purchaseParams,
        body: returnBody,
        response: {
          201: returnResultSchema,
          200: returnResultSchema,
          ...problems(...AUTH_ERRORS, 409),
        },
      },
    },
    async (request, reply) => {
      const { programId, purchaseId } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      const r = await service.returnPurchase(request.deps, programId, purchaseId, request.body);
      return created(reply, r.replayed, r.result);
    },
  );

  app.get(
    '/programs/:programId/members/:memberId/purchases',
    {
      schema: {
        tags,
        summary: "A member's purchases, newest first (program read)",
        security: bearerSecurity,
        params: memberParams,
        querystring: pageQuery,
        response: { 200: pageOf(purchaseViewSchema), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      await assertEnrolled(request.deps, programId, memberId);
      const ids = [memberId, ...(await membersMergedInto(request.deps, memberId))];
      return page(
        request,
        (after, limit) => service.memberPurchases(request.deps, programId, ids, after, limit),
        service.purchaseCursor,
        (p) => presentView(p),
      );
    },
  );
};
