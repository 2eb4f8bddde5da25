import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { answer } from '../http/idempotency.ts';
import { page, pageOf, pageQuery } from '../http/pagination.ts';
import { AUTH_ERRORS, bearerSecurity, problems } from '../http/schemas.ts';
import { requireCoalitionAdmin, requireProgramRole } from '../keys/keys.core.ts';
import { programParams } from '../programs/programs.schemas.ts';
import { type Identifier, parseIdentifierParam } from './members.core.ts';
import {
  activateBody,
  activationSchema,
  blockBody,
  enrollBody,
  globalMemberParams,
  globalMemberSchema,
  identifierQuery,
  memberParams,
  memberSchema,
  presentGlobalMember,
  presentMember,
  updateMemberBody,
} from './members.schemas.ts';
import type { GlobalMemberView, MemberView } from './members.service.ts';
import * as service from './members.service.ts';
import { mergeMembers } from './merge.service.ts';

const tags = ['Members'];
const present = (v: MemberView) => presentMember(v.member, v.enrollment, v.identifiers);
const presentGlobal = (v: GlobalMemberView) =>
  presentGlobalMember(v.member, v.enrollments, v.identifiers);
/** `identifierQuery` has validated it already. */
const identifierOf = (param: string | undefined) =>
  param ? (parseIdentifierParam(param) as Identifier) : undefined;

export const membersRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/programs/:programId/members',
    {
      schema: {
        tags,
        summary: 'Enroll a member: the member the identifiers name, or a new one (integration)',
        description:
          'Enrolling again is harmless: 200 with the same member. New identifiers are attached; empty ' +
          'profile fields are filled, known ones kept. Identifiers of two different members: 409 identifier_conflict.',
        security: bearerSecurity,
        params: programParams,
        body: enrollBody,
        response: { 200: memberSchema, 201: memberSchema, ...problems(...AUTH_ERRORS, 409, 422) },
      },
    },
    async (request, reply) => {
      const { programId } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      const result = await service.enroll(request.deps, programId, request.body, request.principal);
      return reply.code(result.created ? 201 : 200).send(present(result));
    },
  );

  app.get(
    '/programs/:programId/members',
    {
      schema: {
        tags,
        summary: "List a program's members, or find one by identifier",
        security: bearerSecurity,
        params: programParams,
        querystring: pageQuery.extend({ identifier: identifierQuery.optional() }),
        response: { 200: pageOf(memberSchema), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      const identifier = identifierOf(request.query.identifier);
      return page(
        request,
        (after, limit) => service.listMembers(request.deps, programId, identifier, after, limit),
        (v) => v.member.id,
        present,
      );
    },
  );

  app.get(
    '/programs/:programId/members/:memberId',
    {
      schema: {
        tags,
        summary: 'Get a member enrolled in the program',
        security: bearerSecurity,
        params: memberParams,
        response: { 200: memberSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      return present(await service.getMember(request.deps, programId, memberId));
    },
  );

  app.patch(
    '/programs/:programId/members/:memberId',
    {
      schema: {
        tags,
        summary: "Change a member's profile or this program's consents (integration; audited)",
        security: bearerSecurity,
        params: memberParams,
        body: updateMemberBody,
        response: { 200: memberSchema, ...problems(...AUTH_ERRORS, 409, 422) },
      },
    },
    async (request) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      return present(
        await service.updateMember(
          request.deps,
          programId,
          memberId,
          request.body,
          request.principal,
        ),
      );
    },
  );

  app.post(
    '/programs/:programId/members/:memberId/activate',
    {
      schema: {
        tags,
        summary:
          'Activate the membership: complete the profile, with known fields pre-filled (integration)',
        security: bearerSecurity,
        params: memberParams,
        body: activateBody,
        response: { 200: activationSchema, ...problems(...AUTH_ERRORS, 409, 422) },
      },
    },
    async (request) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      const r = await service.activate(request.deps, programId, memberId, request.body ?? {});
      return {
        member: present(r),
        activated: r.activated,
        prefilled: r.prefilled,
        missing: r.missing,
      };
    },
  );

  for (const [action, blocked] of [
    ['block', true],
    ['unblock', false],
  ] as const) {
    app.post(
      `/programs/:programId/members/:memberId/${action}`,
      {
        schema: {
          tags,
          summary: blocked
            ? 'Blacklist a member in this program: no earning, no benefits (program admin; audited)'
            : 'Lift the block (program admin; audited)',
          security: bearerSecurity,
          params: memberParams,
          body: blockBody,
          response: { 200: memberSchema, ...problems(...AUTH_ERRORS, 422) },
        },
      },
      async (request) => {
        const { programId, memberId } = request.params;
        requireProgramRole(request.principal, programId, 'admin');
        const v = await service.setBlocked(
          request.deps,
          programId,
          memberId,
          blocked,
          request.body.reason,
          request.principal,
        );
        return present(v);
      },
    );
  }

  // --- coalition admin ---

  app.get(
    '/members',
    {
      schema: {
        tags,
        summary: 'Find a member by identifier across the coalition (coalition admin)',
        security: bearerSecurity,
        querystring: z.object({
          identifier: identifierQuery,
          programId: z
            .string()
            .max(200)
            .optional()
            .describe('Needed for card_number and external_id'),
        }),
        response: { 200: pageOf(globalMemberSchema), ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      requireCoalitionAdmin(request.principal);
      const found = await service.findGlobalMembers(
        request.deps,
        identifierOf(request.query.identifier) as Identifier,
        request.query.programId,
      );
      return { data: found.map(presentGlobal), nextCursor: null };
    },
  );

  app.get(
    '/members/:memberId',
    {
      schema: {
        tags,
        summary: 'A member with every enrollment and identifier (coalition admin)',
        security: bearerSecurity,
        params: globalMemberParams,
        response: { 200: globalMemberSchema, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      requireCoalitionAdmin(request.principal);
      return presentGlobal(await service.getGlobalMember(request.deps, request.params.memberId));
    },
  );

  app.get(
    '/members/:memberId/export',
    {
      schema: {
        tags,
        summary: 'Everything held about a member, as JSON (coalition admin)',
        security: bearerSecurity,
        params: globalMemberParams,
        response: {
          200: z.object({
            exportedAt: z.string(),
            member: globalMemberSchema,
            audit: z.array(z.unknown()),
          }),
          ...problems(401, 403, 404),
        },
      },
    },
    async (request) => {
      requireCoalitionAdmin(request.principal);
      const x = await service.exportMember(
        request.deps,
        request.params.memberId,
        request.principal,
      );
      return {
        exportedAt: request.deps.clock.now().toISOString(),
        member: presentGlobal(x),
        audit: x.audit.map((e) => ({ ...e, at: e.at.toISOString() })),
      };
    },
  );

  app.post(
    '/members/:memberId/merge',
    {
      // The merge runs in a ledger batch, with the points it moves.
      config: { idempotency: 'batch' },
      schema: {
        tags,
        summary:
          'Merge a duplicate member into this one: identifiers, enrollments, points, holds (coalition admin)',
        security: bearerSecurity,
        params: globalMemberParams,
        body: z.strictObject({
          from: globalMemberParams.shape.memberId.describe(
            'The duplicate, which answers as merged from then on',
          ),
        }),
        response: { 200: globalMemberSchema, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      requireCoalitionAdmin(request.principal);
      const { memberId } = request.params;
      return answer(
        request,
        reply,
        200,
        async (_, db) =>
          presentGlobal(await service.getGlobalMember({ ...request.deps, db }, memberId)),
        (attach) =>
          mergeMembers(request.deps, memberId, request.body.from, request.principal, attach),
      );
    },
  );

  app.post(
    '/members/:memberId/erase',
    {
      schema: {
        tags,
        summary:
          "Erase a member's personal data; pseudonymous financial records stay (coalition admin)",
        security: bearerSecurity,
        params: globalMemberParams,
        response: { 200: globalMemberSchema, ...problems(401, 403, 404) },
      },
    },
    async (request) => {
      requireCoalitionAdmin(request.principal);
      return presentGlobal(
        await service.eraseMember(request.deps, request.params.memberId, request.principal),
      );
    },
  );
};
