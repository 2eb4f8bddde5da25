import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { setMemberCredit } from '../growth/growth.service.ts';
import { page, pageOf, pageQuery } from '../http/pagination.ts';
import { AUTH_ERRORS, bearerSecurity, problems } from '../http/schemas.ts';
import { requireProgramRole } from '../keys/keys.core.ts';
import { memberParams } from '../members/members.schemas.ts';
import { assertEnrolled, membersMergedInto } from '../members/members.service.ts';
import { programParams } from '../programs/programs.schemas.ts';
import {
  benefitUseSchema,
  benefitViewSchema,
  ladderPreviewSchema,
  ladderSchema,
  overrideBody,
  tierChangeSchema,
  tierViewSchema,
} from './tiers.schemas.ts';
import type { BenefitUse, TierView } from './tiers.service.ts';
import * as service from './tiers.service.ts';

const tags = ['Tiers'];

const presentTier = (t: TierView) => ({
  ...t,
  since: t.since.toISOString(),
  validUntil: t.validUntil?.toISOString() ?? null,
});

const presentUse = (u: BenefitUse) => ({
  id: u.id,
  benefit: u.benefit,
  period: u.period,
  left: u.left,
  usedAt: u.usedAt.toISOString(),
});

export const tiersRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/programs/:programId/tiers',
    {
      schema: {
        tags,
        summary: "The program's tier ladder (program read)",
        security: bearerSecurity,
        params: programParams,
        response: { 200: ladderSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      requireProgramRole(request.principal, request.params.programId, 'read');
      return service.getLadder(request.deps, request.params.programId);
    },
  );

  app.post(
    '/programs/:programId/tiers/preview',
    {
      schema: {
        tags,
        summary:
          'How many members would sit in each tier of a ladder, before saving it; writes nothing (program read)',
        security: bearerSecurity,
        params: programParams,
        body: ladderSchema,
        response: { 200: ladderPreviewSchema, ...problems(...AUTH_ERRORS, 422) },
      },
    },
    async (request) => {
      requireProgramRole(request.principal, request.params.programId, 'read');
      return service.previewLadder(request.deps, request.params.programId, request.body);
    },
  );

  app.put(
    '/programs/:programId/tiers',
    {
      schema: {
        tags,
        summary:
          'Set the tier ladder; members are evaluated by it at once (program admin; audited)',
        description:
          'No member loses a tier that is still valid. A tier members hold cannot be removed (409 tier_in_use).',
        security: bearerSecurity,
        params: programParams,
        body: ladderSchema,
        response: { 200: ladderSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request) => {
      requireProgramRole(request.principal, request.params.programId, 'admin');
      return service.setLadder(
        request.deps,
        request.params.programId,
        request.body,
        request.principal,
      );
    },
  );

  app.get(
    '/programs/:programId/tiers/:code/eligible',
    {
      schema: {
        tags,
        summary: 'Members eligible for an invite-only tier, by member id (program admin)',
        security: bearerSecurity,
        params: programParams.extend({ code: z.string().max(40) }),
        querystring: pageQuery,
        response: {
          200: pageOf(
            z.object({ memberId: z.string(), tier: z.string(), basis: z.number().int() }),
          ),
          ...problems(...AUTH_ERRORS),
        },
      },
    },
    async (request) => {
      const { programId, code } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      return page(
        request,
        (after, limit) => service.eligibleFor(request.deps, programId, code, after, limit),
        (m) => m.memberId,
        (m) => m,
      );
    },
  );

  const member = '/programs/:programId/members/:memberId';

  app.get(
    `${member}/tier`,
    {
      schema: {
        tags,
        summary: "A member's tier: since, until, basis, what the next tier needs, invitations open",
        security: bearerSecurity,
        params: memberParams,
        response: { 200: tierViewSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      await assertEnrolled(request.deps, programId, memberId);
      return presentTier(await service.tierOf(request.deps, programId, memberId));
    },
  );

  app.put(
    `${member}/tier`,
    {
      schema: {
        tags,
        summary: 'Override a member’s tier, with a reason (program admin; audited)',
        description: 'Evaluation leaves the tier alone until validUntil.',
        security: bearerSecurity,
        params: memberParams,
        body: overrideBody,
        response: { 200: tierViewSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      await assertEnrolled(request.deps, programId, memberId);
      const { code, reason, validUntil } = request.body;
      return presentTier(
        await service.overrideTier(
          request.deps,
          programId,
          memberId,
          { code, reason, validUntil: validUntil ? new Date(validUntil) : null },
          request.principal,
        ),
      );
    },
  );

  app.post(
    `${member}/tier/invite`,
    {
      schema: {
        tags,
        summary: 'Invite an eligible member to an invite-only tier (program admin; audited)',
        security: bearerSecurity,
        params: memberParams,
        body: z.strictObject({ code: z.string().max(40) }),
        response: { 200: tierViewSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      await assertEnrolled(request.deps, programId, memberId);
      return presentTier(
        await service.inviteToTier(
          request.deps,
          programId,
          memberId,
          request.body.code,
          request.principal,
        ),
      );
    },
  );

  app.get(
    `${member}/tier/history`,
    {
      schema: {
        tags,
        summary: "A member's tier changes, newest first",
        security: bearerSecurity,
        params: memberParams,
        querystring: pageQuery,
        response: { 200: pageOf(tierChangeSchema), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      await assertEnrolled(request.deps, programId, memberId);
      const members = [memberId, ...(await membersMergedInto(request.deps, memberId))];
      return page(
        request,
        (before, limit) => service.tierHistory(request.deps, programId, members, before, limit),
        (h) => h.id,
        (h) => ({
          ...h,
          validUntil: h.validUntil?.toISOString() ?? null,
          at: h.at.toISOString(),
        }),
      );
    },
  );

  app.put(
    `${member}/credit`,
    {
      schema: {
        tags,
        summary:
          "Set a member's credit factor, 0–1000, which a score may weigh (program admin; audited)",
        security: bearerSecurity,
        params: memberParams,
        body: z.strictObject({ credit: z.number().int().min(0).max(1000) }),
        response: { 200: tierViewSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      await assertEnrolled(request.deps, programId, memberId);
      return presentTier(
        await setMemberCredit(
          request.deps,
          programId,
          memberId,
          request.body.credit,
          request.principal,
        ),
      );
    },
  );

  app.get(
    `${member}/benefits`,
    {
      schema: {
        tags,
        summary: 'What the member has now, with the quota left this period',
        security: bearerSecurity,
        params: memberParams,
        response: {
          200: z.object({ data: z.array(benefitViewSchema) }),
          ...problems(...AUTH_ERRORS),
        },
      },
    },
    async (request) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      await assertEnrolled(request.deps, programId, memberId);
      return { data: await service.benefitsFor(request.deps, programId, memberId) };
    },
  );

  app.post(
    `${member}/benefits/:code/use`,
    {
      schema: {
        tags,
        summary: 'Use one of a quota benefit (integration)',
        description:
          '409 quota_exhausted when none is left this period. The same reference answers the first use.',
        security: bearerSecurity,
        params: memberParams.extend({ code: z.string().max(40) }),
        body: z.strictObject({ reference: z.string().trim().min(1).max(200) }),
        response: {
          201: benefitUseSchema,
          200: benefitUseSchema,
          ...problems(...AUTH_ERRORS, 409),
        },
      },
    },
    async (request, reply) => {
      const { programId, memberId, code } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      await assertEnrolled(request.deps, programId, memberId);
      const use = await service.useBenefit(
        request.deps,
        programId,
        memberId,
        code,
        request.body.reference,
      );
      return reply.code(use.replayed ? 200 : 201).send(presentUse(use));
    },
  );
};
