/**
 * Every error a client can see has one of these stable codes. The HTTP status for each lives in
 * one map at the edge (`http/problem.ts`); modules throw `DomainError`s and never speak HTTP.
 */
export const ERROR_CODES = [
  'validation_failed',
  'invalid_json',
  'malformed_request',
  'uri_too_long',
  'headers_too_large',
  'request_timeout',
  'payload_too_large',
  'unsupported_media_type',
  'invalid_cursor',
  'unauthorized',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'conflict',
  'program_exists',
  'idempotency_key_reused',
  'identifier_conflict',
  'program_suspended',
  'member_blocked',
  'member_erased',
  'member_merged',
  'insufficient_points',
  'hold_expired',
  'hold_not_pending',
  'capture_exceeds_hold',
  'command_id_reused',
  'limit_reached',
  'growth_one_way',
  'quota_exhausted',
  'not_eligible',
  'tier_in_use',
  'purchase_conflict',
  'return_exceeds_purchase',
  'rule_exists',
  'portal_link_expired',
  'portal_link_invalid',
  'conversion_out_of_range',
  'pair_not_approved',
  'period_open',
  'idempotency_key_invalid',
  'level_in_use',
  'match_window_closed',
  'match_not_new',
  'pool_benefit_exists',
  'offer_exists',
  'out_of_stock',
  'stock_below_claimed',
  'benefit_unavailable',
  'code_already_used',
  'code_expired',
  'reward_exists',
  'stock_below_reserved',
  'reward_unavailable',
  'order_conflict',
  'order_state_invalid',
  'order_in_progress',
  'coupon_template_exists',
  'coupon_template_unavailable',
  'coupon_already_redeemed',
  'coupon_expired',
  'coupon_not_applicable',
  'rate_limited',
  'unavailable',
  'internal_error',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** A failure with a stable machine code and a message safe to show a client. */
export class DomainError extends Error {
  readonly code: ErrorCode;
  /** Extra fields for the problem body, e.g. the ids involved in a conflict. */
  readonly extensions: Record<string, unknown>;

  constructor(code: ErrorCode, detail: string, extensions: Record<string, unknown> = {}) {
    super(detail);
    this.name = 'DomainError';
    this.code = code;
    this.extensions = extensions;
  }
}

export const notFound = (what: string) => new DomainError('not_found', `${what} was not found`);
export const forbidden = (detail: string) => new DomainError('forbidden', detail);

/** A field of the request is wrong: a 400 that names it, like schema validation does. */
export function invalidField(path: string, message: string): DomainError {
  return new DomainError('validation_failed', `${path}: ${message}`, {
    errors: [{ path, message }],
  });
}
