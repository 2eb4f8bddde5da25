import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { page, pageOf, pageQuery } from '../http/pagination.ts';
import { AUTH_ERRORS, bearerSecurity, problems } from '../http/schemas.ts';
import { requireProgramRole } from '../keys/keys.core.ts';
import { programParams } from '../programs/programs.schemas.ts';
import {
  confirmOrderBody,
  memberOrderParams,
  orderParams,
  orderResultSchema,
  orderSchema,
  placeOrderBody,
  presentOrder,
  presentStatement,
  shipOrderBody,
  statementParams,
  statementSchema,
  supplierOrdersQuery,
  supplierParams,
} from './orders.schemas.ts';
import * as service from './orders.service.ts';

const tags = ['Rewards mall'];

const result = (r: service.OrderResult) => ({ ...presentOrder(r.order), replayed: r.replayed });

export const ordersRoutes: FastifyPluginAsyncZod = async (app) => {
  const orders = '/programs/:programId/members/:memberId/orders';

  app.post(
    orders,
    {
      // The order id is the idempotency key: the ledger batch, not a request transaction, writes.
      config: { idempotency: 'batch' },
      schema: {
        tags,
        summary: 'Place an order: stock reserved, then points held',
        description:
          'Refused whole, with nothing changed: 409 `out_of_stock`, `limit_reached`, `insufficient_points`, `reward_unavailable`. A repeat of the id answers the same order (200); the id for another request is 409 `order_conflict`; a repeat while the first is still holding the points (or after it crashed, until the minute sweep expires it) is 409 `order_in_progress`. A coupon or voucher line reserves its coupons, issued at confirmation.',
        security: bearerSecurity,
        params: memberOrderParams,
        body: placeOrderBody,
        response: {
          200: orderResultSchema,
          201: orderResultSchema,
          ...problems(...AUTH_ERRORS, 409),
        },
      },
    },
    async (request, reply) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'integration');
      const r = await service.placeOrder(request.deps, programId, memberId, request.body);
      return reply.code(r.replayed ? 200 : 201).send(result(r));
    },
  );

  app.get(
    orders,
    {
      schema: {
        tags,
        summary: "A member's orders, newest first",
        security: bearerSecurity,
        params: memberOrderParams,
        querystring: pageQuery,
        response: { 200: pageOf(orderSchema), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, memberId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      return page(
        request,
        (before, limit) => service.memberOrders(request.deps, programId, memberId, before, limit),
        (o) => o.id,
        presentOrder,
      );
    },
  );

  app.get(
    `${orders}/:orderId`,
    {
      schema: {
        tags,
        summary: 'One order',
        security: bearerSecurity,
        params: orderParams,
        response: { 200: orderSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, memberId, orderId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      return presentOrder(await service.getOrder(request.deps, programId, memberId, orderId));
    },
  );

  const action = (
    path: string,
    summary: string,
    description: string,
    run: (
      request: { deps: Parameters<typeof service.confirmOrder>[0] },
      p: { programId: string; memberId: string; orderId: string },
      body: unknown,
    ) => Promise<service.OrderResult>,
    body = confirmOrderBody as typeof confirmOrderBody | typeof shipOrderBody,
  ) =>
    app.post(
      `${orders}/:orderId/${path}`,
      {
        // Confirm and cancel move points in a ledger batch; ship and complete are plain updates,
        // whose Idempotency-Key the request's transaction records.
        config: ['confirm', 'cancel'].includes(path) ? { idempotency: 'batch' as const } : {},
        schema: {
          tags,
          summary,
          description,
          security: bearerSecurity,
          params: orderParams,
          body,
          response: { 200: orderResultSchema, ...problems(...AUTH_ERRORS, 409) },
        },
      },
      async (request) => {
        requireProgramRole(request.principal, request.params.programId, 'integration');
        return result(await run(request, request.params, request.body));
      },
    );

  action(
    'confirm',
    'Confirm an order: its points captured (and its cash part marked paid)',
    'Send `{ "cashPaid": true }` for an order with a cash part. Coupon and voucher lines issue their coupons to the member in the same transaction. 409 `hold_expired` past the hold, `order_state_invalid` once cancelled or expired, `order_in_progress` while its points are not held yet. A repeat answers the order.',
    (r, p, body) =>
      service.confirmOrder(r.deps, p.programId, p.memberId, p.orderId, {
        cashPaid: (body as { cashPaid?: boolean } | null | undefined)?.cashPaid,
      }),
  );
  action(
    'ship',
    'Ship a confirmed order, with its carrier and tracking number',
    '409 `order_state_invalid` unless confirmed. A repeat answers the order.',
    (r, p, body) =>
      service.shipOrder(
        r.deps,
        p.programId,
        p.memberId,
        p.orderId,
        body as { carrier: string; tracking: string },
      ),
    shipOrderBody,
  );
  action(
    'complete',
    'Complete an order: shipped and received, or confirmed with nothing to ship',
    '409 `order_state_invalid` unless confirmed or shipped. A repeat answers the order.',
    (r, p) => service.completeOrder(r.deps, p.programId, p.memberId, p.orderId),
  );
  action(
    'cancel',
    'Cancel an order: points and stock back (after confirmation, a refund credit)',
    'After confirmation the points are credited back and the order’s coupons withdrawn; 409 `order_state_invalid` once shipped or once one of its coupons was redeemed, `order_in_progress` while its points are not held yet. A repeat, or an order that expired, answers the order.',
    (r, p) => service.cancelOrder(r.deps, p.programId, p.memberId, p.orderId),
  );

  app.get(
    '/programs/:programId/orders',
    {
      schema: {
        tags,
        summary: "The program's orders, every member's, by status (`confirmed`: what to ship)",
        security: bearerSecurity,
        params: programParams,
        querystring: pageQuery.extend(supplierOrdersQuery.shape),
        response: { 200: pageOf(orderSchema), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      return page(
        request,
        (after, limit) =>
          service.programOrders(request.deps, programId, request.query.status, after, limit),
        (o) => o.id,
        presentOrder,
      );
    },
  );

  app.get(
    '/programs/:programId/suppliers/:supplier/orders',
    {
      schema: {
        tags,
        summary: "Orders with a supplier's items, by status (`confirmed`: what to ship)",
        security: bearerSecurity,
        params: supplierParams,
        querystring: pageQuery.extend(supplierOrdersQuery.shape),
        response: { 200: pageOf(orderSchema), ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, supplier } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      return page(
        request,
        (after, limit) =>
          service.supplierOrders(
            request.deps,
            programId,
            supplier,
            request.query.status,
            after,
            limit,
          ),
        (o) => o.id,
        (o) => presentOrder({ ...o, items: o.items.filter((i) => i.supplier === supplier) }),
      );
    },
  );

  app.get(
    '/programs/:programId/suppliers/:supplier/statements/:month',
    {
      schema: {
        tags,
        summary: "A supplier's monthly statement: what the program owes for the orders fulfilled",
        security: bearerSecurity,
        params: statementParams,
        response: { 200: statementSchema, ...problems(...AUTH_ERRORS) },
      },
    },
    async (request) => {
      const { programId, supplier, month } = request.params;
      requireProgramRole(request.principal, programId, 'read');
      return presentStatement(
        await service.supplierStatement(request.deps, programId, supplier, month),
      );
    },
  );
};
