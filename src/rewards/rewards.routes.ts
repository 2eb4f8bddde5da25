import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { page, pageOf, pageQuery } from '../http/pagination.ts';
import { AUTH_ERRORS, bearerSecurity, problems } from '../http/schemas.ts';
import { requireProgramRole } from '../keys/keys.core.ts';
import { programParams } from '../programs/programs.schemas.ts';
import { importRewardsCsv } from './rewards.import.ts';
import {
  createRewardBody,
  memberParams,
  memberRewardsQuery,
  memberRewardsSchema,
  presentMemberReward,
  presentReward,
  rewardImportBody,
  rewardImportSchema,
  rewardListQuery,
  rewardParams,
  rewardSchema,
  updateRewardBody,
} from './rewards.schemas.ts';
import type { MemberShelf } from './rewards.service.ts';
import * as service from './rewards.service.ts';

const tags = ['Rewards mall'];

export const rewardsRoutes: FastifyPluginAsyncZod = async (app) => {
  const rewards = '/programs/:programId/rewards';

  app.post(
    rewards,
    {
      schema: {
        tags,
        summary: 'Add a reward to the catalog (program admin)',
        description: '409 `reward_exists` for a SKU the program has already.',
        security: bearerSecurity,
        params: programParams,
        body: createRewardBody,
        response: { 201: rewardSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request, reply) => {
      requireProgramRole(request.principal, request.params.programId, 'admin');
      const r = await service.createReward(
        request.deps,
        request.params.programId,
        request.body,
        request.principal,
      );
      return reply.code(201).send(presentReward(r));
    },
  );

  app.get(
    rewards,
    {
      schema: {
        tags,
        summary: "The program's catalog, with stock left, by category or shelf state",
        security: bearerSecurity,
        params: programParams,
        querystring: pageQuery.extend(rewardListQuery.shape),
        response: { 200: pageOf(rewardSchema), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      const { category, onShelf } = request.query;
      return page(
        request,
        (after, limit) =>
          service.listRewards(request.deps, programId, { category, onShelf }, after, limit),
        (r) => r.id,
        presentReward,
      );
    },
  );

  app.get(
    `${rewards}/:rewardId`,
    {
      schema: {
        tags,
        summary: 'One reward',
        security: bearerSecurity,
        params: rewardParams,
        response: { 200: rewardSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, rewardId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      return presentReward(await service.getReward(request.deps, programId, rewardId));
    },
  );

  app.patch(
    `${rewards}/:rewardId`,
    {
      schema: {
        tags,
        summary: "Change a reward's prices, stock, limit, window or shelf state (program admin)",
        description: '409 `stock_below_reserved` for a stock below what orders reserved.',
        security: bearerSecurity,
        params: rewardParams,
        body: updateRewardBody,
        response: { 200: rewardSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request) => {
      const { programId, rewardId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      const r = await service.updateReward(
        request.deps,
        programId,
        rewardId,
        request.body,
        request.principal,
      );
      return presentReward(r);
    },
  );

  app.get(
    '/programs/:programId/members/:memberId/rewards',
    {
      schema: {
        tags,
        summary: "What the member may order now, at their tier's prices",
        description:
          "`affordable=true`: only what the member's available points pay for, the dearest first (one page).",
        security: bearerSecurity,
        params: memberParams,
        querystring: pageQuery.extend(memberRewardsQuery.shape),
        response: { 200: memberRewardsSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      const { category, affordable } = request.query;
      let shelf: MemberShelf | undefined;
      const listed = await page(
        request,
        async (after, limit) => {
          shelf = await service.shelfFor(request.deps, programId, memberId, {
            category,
            affordable,
            ...(after && { after }),
            limit,
          });
          return shelf.items;
        },
        (i) => i.reward.id,
        (i) => presentMemberReward(i.reward, i.price),
      );
      const { tier, available } = shelf as MemberShelf;
      // Ranked by price, the affordable list is one page: a cursor by id would not continue it.
      return { tier, available, ...listed, ...(affordable && { nextCursor: null }) };
    },
  );

  app.post(
    `${rewards}/import`,
    {
      // The CSV rides in JSON, whose escaping can double its size: room for some 10,000 SKUs.
      bodyLimit: 16 * 1024 * 1024,
      schema: {
        tags,
        summary: "Import a supplier's catalog CSV, upserted by SKU (program admin)",
        description:
          'The CSV `tessera import rewards` reads, sent as `{ "csv": "…" }`. A refused line is listed with its line number and the rest go on; a header without `sku, name, kind, pricePoints` is 400. For a larger file, use the CLI.',
        security: bearerSecurity,
        params: programParams,
        body: rewardImportBody,
        response: { 200: rewardImportSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      return importRewardsCsv(request.deps, programId, request.body.csv, request.principal);
    },
  );
};
