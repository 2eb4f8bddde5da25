import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { page, pageOf, pageQuery } from '../http/pagination.ts';
import { AUTH_ERRORS, bearerSecurity, problems } from '../http/schemas.ts';
import {
  type Principal,
  type Role,
  requireCoalitionAdmin,
  requireProgramRole,
} from '../keys/keys.core.ts';
import { assertMemberVisible } from '../members/members.service.ts';
import { programParams } from '../programs/programs.schemas.ts';
import {
  benefitSchema,
  claimableSchema,
  claimBody,
  claimResultSchema,
  claimSchema,
  createBenefitBody,
  memberClaimParams,
  memberPoolParams,
  presentBenefit,
  presentClaim,
  presentClaimable,
  programBenefitParams,
  redeemBody,
  redemptionSchema,
  updateBenefitBody,
} from './pool.schemas.ts';
import * as service from './pool.service.ts';

const tags = ['Benefits pool'];

/** A program key acts with its role in its own program; a coalition key is admin everywhere. */
function requireRole(p: Principal, need: Role): void {
  if (p.programId !== null) requireProgramRole(p, p.programId, need);
}

export const poolRoutes: FastifyPluginAsyncZod = async (app) => {
  const benefits = '/programs/:programId/pool-benefits';

  app.post(
    benefits,
    {
      schema: {
        tags,
        summary: 'Contribute a benefit to the pool (program admin or coalition admin)',
        security: bearerSecurity,
        params: programParams,
        body: createBenefitBody,
        response: { 201: benefitSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request, reply) => {
      requireProgramRole(request.principal, request.params.programId, 'admin');
      const b = await service.contributeBenefit(
        request.deps,
        request.params.programId,
        request.body,
        request.principal,
      );
      return reply.code(201).send(presentBenefit(b));
    },
  );

  app.get(
    benefits,
    {
      schema: {
        tags,
        summary: "A contributor's benefits, with stock left and claimed and used counts",
        security: bearerSecurity,
        params: programParams,
        querystring: pageQuery,
        response: { 200: pageOf(benefitSchema), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      requireProgramRole(request.principal, request.params.programId, 'read');
      return page(
        request,
        (after, limit) =>
          service.listBenefits(request.deps, request.params.programId, after, limit),
        (b) => b.id,
        presentBenefit,
      );
    },
  );

  app.get(
    `${benefits}/:benefitId`,
    {
      schema: {
        tags,
        summary: 'One contributed benefit',
        security: bearerSecurity,
        params: programBenefitParams,
        response: { 200: benefitSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, benefitId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      return presentBenefit(await service.getBenefit(request.deps, programId, benefitId));
    },
  );

  app.patch(
    `${benefits}/:benefitId`,
    {
      schema: {
        tags,
        summary: "Change a benefit's stock, validity, limit or status (program admin)",
        security: bearerSecurity,
        params: programBenefitParams,
        body: updateBenefitBody,
        response: { 200: benefitSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request) => {
      const { programId, benefitId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      const b = await service.updateBenefit(
        request.deps,
        programId,
        benefitId,
        request.body,
        request.principal,
      );
      return presentBenefit(b);
    },
  );

  app.get(
    '/pool/benefits',
    {
      schema: {
        tags,
        summary: 'Every benefit in the pool, with stock (coalition admin)',
        security: bearerSecurity,
        querystring: pageQuery,
        response: { 200: pageOf(benefitSchema), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      requireCoalitionAdmin(request.principal);
      return page(
        request,
        (after, limit) => service.listBenefits(request.deps, null, after, limit),
        (b) => b.id,
        presentBenefit,
      );
    },
  );

  app.get(
    '/members/:memberId/pool',
    {
      schema: {
        tags,
        summary: 'What the member may claim now (coalition key, or a key of a program they are in)',
        security: bearerSecurity,
        params: memberPoolParams,
        response: {
          200: z.object({ data: z.array(claimableSchema) }),
          ...problems(...AUTH_ERRORS),
        },
      },
    },
    async (request) => {
      const { memberId } = request.params;
      requireRole(request.principal, 'read');
      await assertMemberVisible(request.deps, request.principal, memberId);
      const data = await service.claimableFor(request.deps, memberId);
      return { data: data.map(presentClaimable) };
    },
  );

  app.get(
    '/members/:memberId/pool/claims',
    {
      schema: {
        tags,
        summary: "The member's pool claims and their codes, newest first",
        security: bearerSecurity,
        params: memberPoolParams,
        querystring: pageQuery,
        response: { 200: pageOf(claimSchema), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { memberId } = request.params;
      requireRole(request.principal, 'read');
      await assertMemberVisible(request.deps, request.principal, memberId);
      return page(
        request,
        (before, limit) => service.claimsOf(request.deps, memberId, before, limit),
        (c) => c.id,
        presentClaim,
      );
    },
  );

  app.post(
    '/members/:memberId/pool/:benefitId/claim',
    {
      schema: {
        tags,
        summary: 'Claim a benefit for the member: a single-use code',
        description:
          'Idempotent with `Idempotency-Key` or a `reference`. 409 `out_of_stock`, `limit_reached`, `not_eligible`, `benefit_unavailable`, `member_blocked`.',
        security: bearerSecurity,
        params: memberClaimParams,
        body: claimBody,
        response: {
          200: claimResultSchema,
          201: claimResultSchema,
          ...problems(...AUTH_ERRORS, 409),
        },
      },
    },
    async (request, reply) => {
      const { memberId, benefitId } = request.params;
      requireRole(request.principal, 'integration');
      await assertMemberVisible(request.deps, request.principal, memberId);
      const r = await service.claimBenefit(request.deps, memberId, benefitId, {
        reference: request.body?.reference,
      });
      return reply.code(r.replayed ? 200 : 201).send({
        ...presentClaim(r.claim),
        benefit: { name: r.benefit.name, kind: r.benefit.kind, programId: r.benefit.programId },
        replayed: r.replayed,
      });
    },
  );

  app.post(
    '/pool/redeem',
    {
      schema: {
        tags,
        summary: 'Use a code, once (a key of the contributing program)',
        description:
          '404 for a code unknown or of another program; 409 `code_already_used` or `code_expired`.',
        security: bearerSecurity,
        body: redeemBody,
        response: { 200: redemptionSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request) => {
      requireRole(request.principal, 'integration');
      const { claim, benefit } = await service.redeemCode(
        request.deps,
        request.principal.programId,
        request.body.code,
        request.principal,
      );
      return {
        claimId: claim.id,
        benefitId: benefit.id,
        benefit: benefit.name,
        memberId: claim.memberId,
        usedAt: (claim.usedAt as Date).toISOString(),
        charge: claim.charge,
      };
    },
  );
};
