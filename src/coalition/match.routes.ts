import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AUTH_ERRORS, bearerSecurity, problems } from '../http/schemas.ts';
import { requireProgramRole } from '../keys/keys.core.ts';
import { memberParams } from '../members/members.schemas.ts';
import { assertEnrolled } from '../members/members.service.ts';
import { programParams } from '../programs/programs.schemas.ts';
import {
  matchOutcomeSchema,
  matchTableBody,
  matchTableSchema,
  presentMatch,
  presentMatchTable,
} from './match.schemas.ts';
import * as service from './match.service.ts';

const tags = ['Tiers'];

export const matchRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/programs/:programId/tier-match',
    {
      schema: {
        tags,
        summary: "The program's status match table (program read)",
        description: '404 when the program offers no status match.',
        security: bearerSecurity,
        params: programParams,
        response: { 200: matchTableSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      requireProgramRole(request.principal, request.params.programId, 'read');
      return presentMatchTable(await service.getMatchTable(request.deps, request.params.programId));
    },
  );

  app.put(
    '/programs/:programId/tier-match',
    {
      schema: {
        tags,
        summary:
          'Set the status match table: coalition level → tier, tier elsewhere → tier (program admin; audited)',
        description:
          'A member new to the program starts at the highest tier a rule they meet gives, capped at maxMatchTier; ' +
          'members enrolled before the program first set its table are never matched.',
        security: bearerSecurity,
        params: programParams,
        body: matchTableBody,
        response: { 200: matchTableSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      return presentMatchTable(
        await service.setMatchTable(request.deps, programId, request.body, request.principal),
      );
    },
  );

  app.post(
    '/programs/:programId/members/:memberId/tier/match',
    {
      schema: {
        tags,
        summary: 'Match a member new to the program to a tier, within the window (integration)',
        description:
          'Never lowers a tier; a member matched already gets that match again (applied: false). ' +
          '409 match_not_new for a member enrolled before the program offered status match, ' +
          '409 match_window_closed after windowDays.',
        security: bearerSecurity,
        params: memberParams,
        response: { 200: matchOutcomeSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      await assertEnrolled(request.deps, programId, memberId);
      const out = await service.requestMatch(request.deps, programId, memberId);
      return {
        applied: out.applied,
        match: out.match && presentMatch(out.match),
        tier: {
          ...out.tier,
          since: out.tier.since.toISOString(),
          validUntil: out.tier.validUntil?.toISOString() ?? null,
        },
      };
    },
  );
};
