import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { idempotencyKeyOf } from '../http/idempotency.ts';
import { page, pageOf, pageQuery } from '../http/pagination.ts';
import { AUTH_ERRORS, bearerSecurity, problems } from '../http/schemas.ts';
import { requireCoalitionAdmin, requireProgramRole } from '../keys/keys.core.ts';
import { memberParams } from '../members/members.schemas.ts';
import { assertEnrolled } from '../members/members.service.ts';
import type { CommandResult, Hold } from './ledger.core.ts';
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
 * A write's command id: from its Idempotency-Key when it has one, so that a retry after a crash
 * finds the ledger's own record of the first attempt; otherwise new.
 */
function commandId(request: FastifyRequest): string {
  const key = idempotencyKeyOf(request);
  return key !== undefined
    ? `${service.IDEMPOTENT_PREFIX}${request.principal.keyId}:${key}`
    : request.deps.ids('cmd');
}

function replayed(reply: FastifyReply, r: { replayed: boolean }): FastifyReply {
  return r.replayed ? reply.header('idempotent-replayed', 'true') : reply;
}

const transferResult = (r: CommandResult) => ({
  transferId: r.transferId as string,
  points: r.points as number,
  balance: r.balance as number,
});

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
      return service.pointsOf(request.deps, programId, memberId);
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
      return page(
        request,
        (before, limit) => service.historyOf(request.deps, programId, memberId, before, limit),
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
      const lots = await service.lotsOf(request.deps, programId, memberId);
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
      config: { ownIdempotency: true },
      schema: {
        tags,
        summary: 'Adjust points by hand, with a reason (program admin; audited)',
        security: bearerSecurity,
        params: memberParams,
        body: adjustmentBody,
        response: { 201: transferResultSchema, ...problems(...AUTH_ERRORS, 409, 422) },
      },
    },
    async (request, reply) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      const id = commandId(request);
      await service.gate(request.deps, id, programId, memberId, false);
      const r = await service.adjust(
        request.deps,
        {
          programId,
          memberId,
          points: request.body.points,
          reason: request.body.reason,
          commandId: id,
        },
        request.principal,
      );
      return replayed(reply, r).code(201).send(transferResult(r));
    },
  );

  app.post(
    `${base}/redemptions`,
    {
      config: { ownIdempotency: true },
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
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      const id = commandId(request);
      await service.gate(request.deps, id, programId, memberId, true);
      const r = await service.debit(request.deps, {
        programId,
        memberId,
        points: request.body.points,
        code: 'redeem',
        reference: request.body.reference,
        commandId: id,
      });
      return replayed(reply, r).code(201).send(transferResult(r));
    },
  );

  app.post(
    `${base}/holds`,
    {
      config: { ownIdempotency: true },
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
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      const id = commandId(request);
      await service.gate(request.deps, id, programId, memberId, true);
      const r = await service.placeHold(request.deps, {
        programId,
        memberId,
        points: request.body.points,
        reference: request.body.reference ?? null,
        expiresInSeconds: request.body.expiresInSeconds,
        commandId: id,
      });
      return replayed(reply, r)
        .code(201)
        .send(presentHold(r.hold as Hold));
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
      return presentHold(await service.getHold(request.deps, programId, memberId, holdId));
    },
  );

  app.post(
    `${base}/holds/:holdId/capture`,
    {
      config: { ownIdempotency: true },
      schema: {
        tags,
        summary: 'Capture all or part of a hold; the rest is released (integration)',
        security: bearerSecurity,
        params: holdParams,
        body: captureBody,
        response: { 200: holdSchema, ...problems(...AUTH_ERRORS, 409, 422) },
      },
    },
    async (request, reply) => {
      const { programId, memberId, holdId } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      const r = await service.captureHold(
        request.deps,
        programId,
        memberId,
        holdId,
        request.body?.points ?? null,
        commandId(request),
      );
      return replayed(reply, r).send(presentHold(r.hold as Hold));
    },
  );

  app.post(
    `${base}/holds/:holdId/release`,
    {
      config: { ownIdempotency: true },
      schema: {
        tags,
        summary: 'Release a hold: its points are available again (integration)',
        security: bearerSecurity,
        params: holdParams,
        response: { 200: holdSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request, reply) => {
      const { programId, memberId, holdId } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      const r = await service.releaseHold(
        request.deps,
        programId,
        memberId,
        holdId,
        commandId(request),
      );
      return replayed(reply, r).send(presentHold(r.hold as Hold));
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
