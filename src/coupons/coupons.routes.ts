import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { page, pageOf, pageQuery } from '../http/pagination.ts';
import { AUTH_ERRORS, bearerSecurity, problems } from '../http/schemas.ts';
import { requireProgramRole } from '../keys/keys.core.ts';
import { programParams } from '../programs/programs.schemas.ts';
import {
  couponSchema,
  createTemplateBody,
  issueBody,
  issueResultSchema,
  memberCouponParams,
  presentCoupon,
  presentTemplate,
  redeemBody,
  redemptionSchema,
  referBody,
  referralResultSchema,
  referralSettingsBody,
  referralSettingsSchema,
  shareCodeSchema,
  templateParams,
  templateSchema,
  updateTemplateBody,
  validateBody,
  validationSchema,
} from './coupons.schemas.ts';
import * as service from './coupons.service.ts';

const tags = ['Coupons'];

export const couponsRoutes: FastifyPluginAsyncZod = async (app) => {
  const templates = '/programs/:programId/coupon-templates';

  app.post(
    templates,
    {
      schema: {
        tags,
        summary: 'Create a coupon template (program admin)',
        security: bearerSecurity,
        params: programParams,
        body: createTemplateBody,
        response: { 201: templateSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request, reply) => {
      const { programId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      const t = await service.createTemplate(
        request.deps,
        programId,
        request.body,
        request.principal,
      );
      return reply.code(201).send(presentTemplate(t));
    },
  );

  app.get(
    templates,
    {
      schema: {
        tags,
        summary: "The program's coupon templates, with issued and redeemed counts (program admin)",
        security: bearerSecurity,
        params: programParams,
        querystring: pageQuery,
        response: { 200: pageOf(templateSchema), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      return page(
        request,
        (after, limit) => service.listTemplates(request.deps, programId, after, limit),
        (t) => t.id,
        presentTemplate,
      );
    },
  );

  app.get(
    `${templates}/:templateId`,
    {
      schema: {
        tags,
        summary: 'One coupon template (program admin)',
        security: bearerSecurity,
        params: templateParams,
        response: { 200: templateSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, templateId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      return presentTemplate(await service.getTemplate(request.deps, programId, templateId));
    },
  );

  app.patch(
    `${templates}/:templateId`,
    {
      schema: {
        tags,
        summary: "Change a template's status, stock, validity or limit (program admin)",
        security: bearerSecurity,
        params: templateParams,
        body: updateTemplateBody,
        response: { 200: templateSchema, ...problems(...AUTH_ERRORS, 409) },
      },
    },
    async (request) => {
      const { programId, templateId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      const t = await service.updateTemplate(
        request.deps,
        programId,
        templateId,
        request.body,
        request.principal,
      );
      return presentTemplate(t);
    },
  );

  app.post(
    `${templates}/:templateId/issue`,
    {
      schema: {
        tags,
        summary: 'Issue a coupon to each member listed, all or none (integration)',
        description:
          'Idempotent by `reference`. 409 `out_of_stock`, `limit_reached`, `coupon_template_unavailable`.',
        security: bearerSecurity,
        params: templateParams,
        body: issueBody,
        response: {
          200: issueResultSchema,
          201: issueResultSchema,
          ...problems(...AUTH_ERRORS, 409),
        },
      },
    },
    async (request, reply) => {
      const { programId, templateId } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      const r = await service.issueCoupons(
        request.deps,
        programId,
        templateId,
        request.body,
        request.principal,
      );
      return reply
        .code(r.replayed ? 200 : 201)
        .send({ data: r.coupons.map(presentCoupon), replayed: r.replayed });
    },
  );

  app.get(
    '/programs/:programId/members/:memberId/coupons',
    {
      schema: {
        tags,
        summary: "A member's coupons and their codes, newest first (program read)",
        security: bearerSecurity,
        params: memberCouponParams,
        querystring: pageQuery,
        response: { 200: pageOf(couponSchema), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      return page(
        request,
        (before, limit) => service.couponsOf(request.deps, programId, memberId, before, limit),
        (c) => c.id,
        presentCoupon,
      );
    },
  );

  app.post(
    '/programs/:programId/coupons/validate',
    {
      schema: {
        tags,
        summary: 'Whether a code applies to a purchase, and its discount in fen; writes nothing',
        description: '404 for a code malformed, unknown or of another program.',
        security: bearerSecurity,
        params: programParams,
        body: validateBody,
        response: { 200: validationSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      const v = await service.validateCoupon(request.deps, programId, request.body);
      return {
        valid: v.valid,
        discount: v.discount,
        ...(v.reason !== undefined && { reason: v.reason }),
        kind: v.template.kind,
        gift: v.template.gift,
        templateId: v.template.id,
      };
    },
  );

  app.post(
    '/programs/:programId/coupons/redeem',
    {
      schema: {
        tags,
        summary: 'Redeem (核销) a code on a purchase, once (integration)',
        description:
          'Idempotent for the same purchase. 409 `coupon_already_redeemed`, `coupon_expired`, `coupon_not_applicable` (with `reason`). A return of the purchase puts the coupon back.',
        security: bearerSecurity,
        params: programParams,
        body: redeemBody,
        response: {
          200: redemptionSchema,
          201: redemptionSchema,
          ...problems(...AUTH_ERRORS, 409),
        },
      },
    },
    async (request, reply) => {
      const { programId } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      const r = await service.redeemCoupon(request.deps, programId, request.body);
      return reply.code(r.replayed ? 200 : 201).send({
        ...presentCoupon(r.coupon),
        discount: r.coupon.discountFen ?? 0,
        kind: r.template.kind,
        gift: r.template.gift,
        replayed: r.replayed,
      });
    },
  );

  const presentSettings = (s: Awaited<ReturnType<typeof service.getReferralProgram>>) => ({
    programId: s.programId,
    refereeTemplateId: s.refereeTemplateId,
    referrerTemplateId: s.referrerTemplateId,
    updatedAt: s.updatedAt.toISOString(),
  });

  app.put(
    '/programs/:programId/referral',
    {
      schema: {
        tags,
        summary: 'Set the referral: what a new member and their referrer earn (program admin)',
        security: bearerSecurity,
        params: programParams,
        body: referralSettingsBody,
        response: { 200: referralSettingsSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      const s = await service.setReferralProgram(
        request.deps,
        programId,
        request.body,
        request.principal,
      );
      return presentSettings(s);
    },
  );

  app.get(
    '/programs/:programId/referral',
    {
      schema: {
        tags,
        summary: "The program's referral settings (program admin)",
        security: bearerSecurity,
        params: programParams,
        response: { 200: referralSettingsSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId } = request.params;
      requireProgramRole(request.principal, programId, 'admin');
      return presentSettings(await service.getReferralProgram(request.deps, programId));
    },
  );

  app.get(
    '/programs/:programId/members/:memberId/share-code',
    {
      schema: {
        tags,
        summary: "The member's share code, made on first asking (integration)",
        security: bearerSecurity,
        params: memberCouponParams,
        response: { 200: shareCodeSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      return { memberId, code: await service.shareCode(request.deps, programId, memberId) };
    },
  );

  app.post(
    '/programs/:programId/members/:memberId/referral',
    {
      schema: {
        tags,
        summary: 'A new member enrolled with a share code: they earn the referee coupon',
        description:
          'The referrer earns theirs on this member’s first purchase. A repeat answers the first (200). 409 `not_eligible` (no referral, own code, referred by another, bought before).',
        security: bearerSecurity,
        params: memberCouponParams,
        body: referBody,
        response: {
          200: referralResultSchema,
          201: referralResultSchema,
          ...problems(...AUTH_ERRORS, 409),
        },
      },
    },
    async (request, reply) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      const r = await service.referMember(request.deps, programId, memberId, request.body);
      return reply.code(r.replayed ? 200 : 201).send({
        referrerId: r.referrerId,
        data: r.coupons.map(presentCoupon),
        replayed: r.replayed,
      });
    },
  );
};
