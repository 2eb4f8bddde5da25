import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { answer } from '../http/idempotency.ts';
import { page, pageOf, pageQuery } from '../http/pagination.ts';
import { AUTH_ERRORS, bearerSecurity, problems } from '../http/schemas.ts';
import { type Role, requireCoalitionAdmin, requireProgramRole } from '../keys/keys.core.ts';
import { memberParams } from '../members/members.schemas.ts';
import { assertEnrolled, membersMergedInto } from '../members/members.service.ts';
import { pointsLedger } from './ledger.core.ts';
import {
  adjustmentBody,
  captureBody,
  historyItemSchema,
  holdBody,
  holdParams,
  holdSchema,
  lotSchema,
  pointsSchema,
  presentHold,
  reconcileSchema,
  redemptionBody,
  transferResultSchema,
} from './ledger.schemas.ts';
import * as service from './ledger.service.ts';
import { reconcile } from './reconcile.ts';

const tags = ['Points'];

/**
 * What every points route starts with: the caller's role in the program, and the member's points
 * ledger. A write gets a new command id: its retries are the Idempotency-Key's to recognise.
 */
function points(
  request: Pick<FastifyRequest, 'principal' | 'deps'> & {
    params: { programId: string; memberId: string };
  },
  role: Role,
) {
  const { programId, memberId } = request.params;
  requireProgramRole(request.principal, programId, role);
  return { ledger: pointsLedger(programId), memberId, commandId: request.deps.ids('cmd') };
}

const presentTransfer = (r: service.TransferResult) => ({
  transferId: r.transferId,
  points: r.points,
  balance: r.balance,
});
const presentHoldResult = (r: service.HoldResult) => presentHold(r.hold);

export const ledgerRoutes: FastifyPluginAsyncZod = async (app) => {
  const base = '/programs/:programId/members/:memberId/points';

  app.get(
    base,
    {
      schema: {
        tags,
        summary: "A member's points: balance, available, pending, held, and what expires when",
        security: bearerSecurity,
        params: memberParams,
        response: { 200: pointsSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      await assertEnrolled(request.deps, programId, memberId);
      return service.balanceOf(request.deps, pointsLedger(programId), memberId);
    },
  );

  app.get(
    `${base}/history`,
    {
      schema: {
        tags,
        summary: 'Posted movements, newest first',
        security: bearerSecurity,
        params: memberParams,
        querystring: pageQuery,
        response: { 200: pageOf(historyItemSchema), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      await assertEnrolled(request.deps, programId, memberId);
      // A member's history includes that of the members merged into it.
      const members = [memberId, ...(await membersMergedInto(request.deps, memberId))];
      return page(
        request,
        (before, limit) =>
          service.historyOf(request.deps, pointsLedger(programId), members, before, limit),
        (h) => h.id,
        (h) => ({
          id: h.id,
          code: h.code,
          points: h.points,
          balanceAfter: h.balanceAfter,
          reference: h.reference,
          createdAt: h.createdAt.toISOString(),
        }),
      );
    },
  );

  app.get(
    `${base}/lots`,
    {
      schema: {
        tags,
        summary: "The member's lots: each credit, what is left of it, and when it expires",
        security: bearerSecurity,
        params: memberParams,
        response: { 200: z.object({ data: z.array(lotSchema) }), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      await assertEnrolled(request.deps, programId, memberId);
      const lots = await service.lotsOf(request.deps, pointsLedger(programId), memberId);
      return {
        data: lots.map((l) => ({
          id: l.id,
          amount: l.amount,
          remaining: l.remaining,
          expiresAt: l.expiresAt?.toISOString() ?? null,
          pendingUntil: l.pendingUntil?.toISOString() ?? null,
          usable: l.usable,
          createdAt: l.createdAt.toISOString(),
        })),
      };
    },
  );

  app.post(
    `${base}/adjustments`,
    {
      config: { idempotency: 'batch' },
      schema: {
        tags,
        summary: 'Adjust points by hand, with a reason (program admin; audited)',
        description: 'Allowed for a blocked member and in a suspended program: it is a correction.',
        security: bearerSecurity,
        params: memberParams,
        body: adjustmentBody,
        response: { 201: transferResultSchema, ...problems(...AUTH_ERRORS, 409, 422) },
      },
    },
    async (request, reply) => {
      const at = points(request, 'admin');
      const { points: n, reason } = request.body;
      return answer(request, reply, 201, presentTransfer, (attach) =>
        service.adjust(
          request.deps,
          { ...at, points: n, reason, actor: request.principal },
          attach,
        ),
      );
    },
  );

  app.post(
    `${base}/redemptions`,
    {
      config: { idempotency: 'batch' },
      schema: {
        tags,
        summary: 'Spend points in one step, soonest-expiring first (integration)',
        security: bearerSecurity,
        params: memberParams,
        body: redemptionBody,
        response: { 201: transferResultSchema, ...problems(...AUTH_ERRORS, 409, 422) },
      },
    },
    async (request, reply) => {
      const at = points(request, 'integration');
      const { points: n, reference } = request.body;
      return answer(request, reply, 201, presentTransfer, (attach) =>
        service.debit(request.deps, { ...at, points: n, code: 'redeem', reference }, attach),
      );
    },
  );

  app.post(
    `${base}/holds`,
    {
      config: { idempotency: 'batch' },
      schema: {
        tags,
        summary: 'Reserve points: capture all or part later, or release (integration)',
        security: bearerSecurity,
        params: memberParams,
        body: holdBody,
        response: { 201: holdSchema, ...problems(...AUTH_ERRORS, 409, 422) },
      },
    },
    async (request, reply) => {
      const at = points(request, 'integration');
      const { points: n, reference, expiresInSeconds } = request.body;
      return answer(request, reply, 201, presentHoldResult, (attach) =>
        service.hold(
          request.deps,
          { ...at, points: n, reference: reference ?? null, expiresInSeconds },
          attach,
        ),
      );
    },
  );

  app.get(
    `${base}/holds/:holdId`,
    {
      schema: {
        tags,
        summary: 'A hold',
        security: bearerSecurity,
        params: holdParams,
        response: { 200: holdSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, memberId, holdId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      return presentHold(
        await service.getHold(request.deps, pointsLedger(programId), memberId, holdId),
      );
    },
  );

  app.post(
    `${base}/holds/:holdId/capture`,
    {
      config: { idempotency: 'batch' },
      schema: {
        tags,
        summary: 'Capture all or part of a hold; the rest is released (integration)',
        description:
          'Refused for a member blocked since the hold was placed (403); allowed in a suspended program.',
        security: bearerSecurity,
        params: holdParams,
        body: captureBody,
        response: { 200: holdSchema, ...problems(...AUTH_ERRORS, 409, 422) },
      },
    },
    async (request, reply) => {
      const at = points(request, 'integration');
      const { holdId } = request.params;
      return answer(request, reply, 200, presentHoldResult, (attach) =>
        service.capture(
          request.deps,
          { ...at, holdId, points: request.body?.points ?? null },
          attach,
        ),
      );
    },
  );

  app.post(
    `${base}/holds/:holdId/release`,
    {
      config: { idempotency: 'batch' },
      schema: {
        tags,
        summary: 'Release a hold: its points are available again (integration)',
        description: "Always allowed while the hold is pending, whatever the member's standing.",
        security: bearerSecurity,
        params: holdParams,
        response: { 200: holdSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request, reply) => {
      const at = points(request, 'integration');
      const { holdId } = request.params;
      return answer(request, reply, 200, presentHoldResult, (attach) =>
        service.release(request.deps, { ...at, holdId }, attach),
      );
    },
  );

  app.get(
    '/ledger/reconcile',
    {
      schema: {
        tags: ['Operations'],
        summary: 'Check every ledger invariant (coalition admin)',
        security: bearerSecurity,
        response: { 200: reconcileSchema, ...problems(401, 403) },
      },
    },
    async (request) => {
      requireCoalitionAdmin(request.principal);
      return reconcile(request.deps);
    },
  );
};
