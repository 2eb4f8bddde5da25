import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DomainError, type ErrorCode } from '../shared/errors.ts';

/** HTTP status for each error code: the only place codes meet statuses. */
const STATUS: Record<ErrorCode, number> = {
  validation_failed: 400,
  invalid_json: 400,
  malformed_request: 400,
  uri_too_long: 414,
  headers_too_large: 431,
  request_timeout: 408,
  invalid_cursor: 400,
  idempotency_key_invalid: 400,
  unauthorized: 401,
  portal_link_expired: 401,
  portal_link_invalid: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  program_exists: 409,
  identifier_conflict: 409,
  program_suspended: 409,
  member_erased: 409,
  member_blocked: 403,
  member_merged: 409,
  insufficient_points: 409,
  hold_expired: 409,
  hold_not_pending: 409,
  capture_exceeds_hold: 422,
  command_id_reused: 422,
  limit_reached: 409,
  growth_one_way: 409,
  quota_exhausted: 409,
  not_eligible: 409,
  tier_in_use: 409,
  purchase_conflict: 409,
  return_exceeds_purchase: 409,
  rule_exists: 409,
  conversion_out_of_range: 422,
  pair_not_approved: 409,
  period_open: 409,
  level_in_use: 409,
  match_window_closed: 409,
  match_not_new: 409,
  pool_benefit_exists: 409,
  offer_exists: 409,
  out_of_stock: 409,
  stock_below_claimed: 409,
  reward_exists: 409,
  stock_below_reserved: 409,
  reward_unavailable: 409,
  order_conflict: 409,
  order_state_invalid: 409,
  order_in_progress: 409,
  benefit_unavailable: 409,
  code_already_used: 409,
  code_expired: 409,
  coupon_template_exists: 409,
  coupon_template_unavailable: 409,
  coupon_already_redeemed: 409,
  coupon_expired: 409,
  coupon_not_applicable: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  idempotency_key_reused: 422,
  rate_limited: 429,
  internal_error: 500,
  unavailable: 503,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The one error body (RFC 9457), documented in the OpenAPI document. */
export const problemSchema = z
  .object({
    type: z.string().describe('A URI naming the kind of problem'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().describe('What went wrong, for a person'),
    code: z.string().describe('Stable machine code, e.g. `not_found` or `insufficient_points`'),
    requestId: z.string().optional(),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('For validation_failed: each offending field'),
  })
  .catchall(z.unknown())
  .meta({ id: 'Problem' });

export type Problem = z.infer<typeof problemSchema>;

export function problem(
  code: ErrorCode,
  detail: string,
  extensions: Record<string, unknown> = {},
): Problem {
  const status = STATUS[code];
  return {
    type: `https://tessera.dev/problems/${code.replaceAll('_', '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    ...extensions,
  };
}

export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  return reply
    .code(body.status)
    .header('content-type', 'application/problem+json; charset=utf-8')
    .send(JSON.stringify({ ...body, requestId: reply.request.id }));
}

/** Path segments longer than this are refused (414) before routing; ids are at most 200. */
export const MAX_PARAM_LENGTH = 1000;

/**
 * What a connection hears when Node cannot parse its request at all (a header too large or with a
 * control character, a timeout): there is no Fastify request, so the whole HTTP answer is written
 * here, as problem+json with a request id like every other answer, and the connection closes.
 */
export function rawProblemResponse(error: { code?: string }, requestId: string): string {
  const p =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? problem('headers_too_large', 'The request line and headers are larger than 16 KiB')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? problem('request_timeout', 'The request was not received in time')
        : problem('malformed_request', 'The request is not valid HTTP/1.1');
  const body = JSON.stringify({ ...p, requestId });
  return [
    `HTTP/1.1 ${p.status} ${p.title}`,
    'Content-Type: application/problem+json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-Id: ${requestId}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

function fieldPath(parts: string[], where: string): string {
  return parts.length ? parts.join('.') : where;
}

/** PostgreSQL errors that mean "try again" rather than "bug". */
const RETRYABLE_SQLSTATES = new Set([
  '40001',
  '40P01',
  '55P03',
  '57P01',
  '57P03',
  '53300',
  '08006',
  '08001',
]);

/** Turns anything thrown into a problem; unknown errors become a 500 that reveals nothing. */
export function toProblem(error: unknown, request: FastifyRequest): Problem {
  if (error instanceof DomainError) return problem(error.code, error.message, error.extensions);

  const err = error as FastifyError & { code?: string };
  if (hasZodFastifySchemaValidationErrors(err)) {
    const where = err.validationContext ?? 'body';
    const errors = err.validation.map((v) => ({
      path: fieldPath(v.instancePath.split('/').filter(Boolean), where),
      message: v.message ?? 'is invalid',
    }));
    const first = errors[0];
    const detail = first
      ? `${where === 'body' ? '' : `${where} `}${first.path}: ${first.message}`
      : 'Invalid request';
    return problem('validation_failed', detail, { errors });
  }
  if (isResponseSerializationError(err)) {
    request.log.error({ err, issues: err.cause.issues }, 'response does not match its schema');
    return problem('internal_error', 'An unexpected error occurred');
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problem('payload_too_large', 'The request body is larger than 1 MiB');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problem('unsupported_media_type', 'Send the request body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return problem('invalid_json', 'The request body is empty; send a JSON object');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return problem('invalid_json', 'The request body is not valid JSON');
    case 'FST_ERR_VALIDATION':
      return problem('validation_failed', err.message);
    case 'FST_ERR_BAD_URL':
      return problem('malformed_request', 'The path is not valid percent-encoded UTF-8');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return problem(
        'uri_too_long',
        `A path segment is longer than ${MAX_PARAM_LENGTH} characters`,
      );
  }
  if (err instanceof SyntaxError && err.statusCode === 400) {
    return problem('invalid_json', 'The request body is not valid JSON');
  }
  if (typeof err.code === 'string' && RETRYABLE_SQLSTATES.has(err.code)) {
    request.log.warn({ err }, 'database busy or unreachable');
    return problem('unavailable', 'The service is busy; retry the request');
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    // A client error raised by Fastify or a plugin that has no code of ours.
    const code: ErrorCode =
      err.statusCode === 404
        ? 'not_found'
        : err.statusCode === 415
          ? 'unsupported_media_type'
          : 'validation_failed';
    return problem(code, err.message);
  }
  request.log.error({ err }, 'unexpected error');
  return problem('internal_error', 'An unexpected error occurred');
}
