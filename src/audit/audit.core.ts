/** Administrative changes that leave an audit row. */
export const AUDIT_ACTIONS = [
  'program.created',
  'program.updated',
  'api_key.created',
  'api_key.revoked',
  'member.profile_updated',
  'member.blocked',
  'member.unblocked',
  'member.erased',
  'member.merged',
  'points.adjusted',
  'growth.policy_set',
  'growth.trusted',
  'growth.untrusted',
  'tiers.ladder_set',
  'tier.overridden',
  'tier.invited',
  'tier.credit_set',
  'alert.acknowledged',
  'earning.rule_created',
  'earning.rule_changed',
  'earning.policy_set',
  'coalition.levels_set',
  'coalition.level_rules_set',
  'coalition.member_level_set',
  'tiers.match_table_set',
  'pool.benefit_created',
  'pool.benefit_changed',
  'rewards.created',
  'rewards.changed',
  'rewards.imported',
  'offer.created',
  'offer.changed',
  'coupon.template_created',
  'coupon.template_changed',
  'coupon.issued',
  'coupon.referral_set',
  'exchange.rate_set',
  'exchange.pair_set',
  'exchange.pair_removed',
  'settlement.closed',
  'settlement.settled',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Who did what, when, to what, with the state before and after. */
export interface AuditEntry {
  id: string;
  at: Date;
  /** The API key that made the change; null for the CLI and the system itself. */
  actorKeyId: string | null;
  programId: string | null;
  memberId: string | null;
  action: AuditAction;
  before: unknown;
  after: unknown;
}
