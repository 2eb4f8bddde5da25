import type { ColumnType } from 'kysely';
/** Row types of the database, as Kysely sees them. Repositories turn rows into domain types. */
export interface Database {
  programs: ProgramsTable;
  api_keys: ApiKeysTable;
  idempotency_keys: IdempotencyKeysTable;
  members: MembersTable;
  identifiers: IdentifiersTable;
  enrollments: EnrollmentsTable;
  audit_log: AuditLogTable;
  ledgers: LedgersTable;
  ledger_accounts: LedgerAccountsTable;
  ledger_commands: LedgerCommandsTable;
  ledger_transfers: LedgerTransfersTable;
  ledger_lots: LedgerLotsTable;
  ledger_lot_draws: LedgerLotDrawsTable;
  ledger_holds: LedgerHoldsTable;
  ledger_limits: LedgerLimitsTable;
  growth_policies: GrowthPoliciesTable;
  growth_events: GrowthEventsTable;
  growth_trusted: GrowthTrustedTable;
  alerts: AlertsTable;
  tier_ladders: TierLaddersTable;
  member_tiers: MemberTiersTable;
  tier_history: TierHistoryTable;
  benefit_uses: BenefitUsesTable;
  event_sequences: EventSequencesTable;
  events: EventsTable;
  earning_policies: EarningPoliciesTable;
  earning_rules: EarningRulesTable;
  earning_rule_versions: EarningRuleVersionsTable;
  purchases: PurchasesTable;
  purchase_returns: PurchaseReturnsTable;
  portal_secrets: PortalSecretsTable;
  exchange_programs: ExchangeProgramsTable;
  exchange_pairs: ExchangePairsTable;
  conversions: ConversionsTable;
  settlement_lines: SettlementLinesTable;
  settlement_periods: SettlementPeriodsTable;
  pool_benefits: PoolBenefitsTable;
  pool_member_claims: PoolMemberClaimsTable;
  pool_claims: PoolClaimsTable;
  offers: OffersTable;
  offer_member_grants: OfferMemberGrantsTable;
  offer_grants: OfferGrantsTable;
  offer_cursors: OfferCursorsTable;
  coalition_levels: CoalitionLevelsTable;
  coalition_level_rules: CoalitionLevelRulesTable;
  member_coalition_levels: MemberCoalitionLevelsTable;
  tier_match_tables: TierMatchTablesTable;
  tier_matches: TierMatchesTable;
  coupon_templates: CouponTemplatesTable;
  coupon_member_counts: CouponMemberCountsTable;
  coupons: CouponsTable;
  coupon_cursors: CouponCursorsTable;
  coupon_referral_settings: CouponReferralSettingsTable;
  coupon_share_codes: CouponShareCodesTable;
  coupon_referrals: CouponReferralsTable;
  rewards: RewardsTable;
  reward_member_counts: RewardMemberCountsTable;
  reward_orders: RewardOrdersTable;
  reward_order_items: RewardOrderItemsTable;
  daily_runs: DailyRunsTable;
  expiry_notices: ExpiryNoticesTable;
}

type Timestamp = Date;

export interface ProgramsTable {
  id: string;
  name: string;
  points_name: string;
  timezone: string;
  status: 'active' | 'suspended';
  points_expiry: ColumnType<ExpiryPolicyJson, string | undefined, string>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type ExpiryPolicyJson =
  | { kind: 'never' }
  | { kind: 'rolling'; days: number }
  | { kind: 'period_end'; period: 'month' | 'quarter' | 'year'; afterDays: number }
  | { kind: 'months'; months: number };

export interface ApiKeysTable {
  id: string;
  program_id: string | null;
  role: 'admin' | 'integration' | 'read';
  name: string;
  prefix: string;
  hash: Buffer;
  created_at: Timestamp;
  revoked_at: Date | null;
}

export interface IdempotencyKeysTable {
  api_key_id: string;
  key: string;
  fingerprint: Buffer;
  status_code: number;
  content_type: string | null;
  body: string;
  created_at: Timestamp;
}

export interface MembersTable {
  id: string;
  status: 'active' | 'erased' | 'merged';
  name: string | null;
  /** YYYY-MM-DD: dates are read as strings, never shifted by a time zone. */
  birthday: string | null;
  gender: 'female' | 'male' | 'other' | 'undisclosed' | null;
  address: ColumnType<AddressJson | null, string | null, string | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
  erased_at: Date | null;
  merged_into: string | null;
}

export interface AddressJson {
  country?: string;
  province?: string;
  city?: string;
  district?: string;
  line?: string;
  postalCode?: string;
}

export interface IdentifiersTable {
  type: 'phone' | 'email' | 'wechat_openid' | 'alipay_user_id' | 'card_number' | 'external_id';
  scope: string;
  value: string;
  member_id: string;
  created_at: Timestamp;
}

export interface EnrollmentsTable {
  program_id: string;
  member_id: string;
  enrolled_at: Timestamp;
  channel: 'pos' | 'app' | 'web' | 'payment' | 'import';
  status: 'active' | 'blocked';
  blocked_reason: string | null;
  blocked_at: Date | null;
  activated_at: Date | null;
  consents: ColumnType<Record<string, boolean>, string | undefined, string>;
}

export interface AuditLogTable {
  id: string;
  at: Timestamp;
  actor_key_id: string | null;
  program_id: string | null;
  member_id: string | null;
  action: string;
  before: ColumnType<unknown, string | null, string | null>;
  after: ColumnType<unknown, string | null, string | null>;
}

/** bigint columns arrive as strings; the ledger parses them (points stay far below 2^53). */
type Int8 = ColumnType<string, number | string, number | string>;

export interface LedgersTable {
  id: string;
  program_id: string;
  expiry: ColumnType<ExpiryPolicyJson, string | undefined, string>;
  timezone: string;
  status: 'active' | 'suspended';
  created_at: Timestamp;
}

export interface LedgerAccountsTable {
  id: string;
  ledger: string;
  program_id: string;
  kind: 'member' | 'issuance' | 'redemption' | 'breakage' | 'adjustment' | 'exchange' | 'fee';
  member_id: string | null;
  debits_pending: Int8;
  debits_posted: Int8;
  credits_pending: Int8;
  credits_posted: Int8;
  created_at: Timestamp;
}

export interface LedgerCommandsTable {
  id: string;
  fingerprint: Buffer;
  status: 'applied' | 'rejected';
  error_code: string | null;
  result: ColumnType<unknown, string, never>;
  created_at: Timestamp;
}

export interface LedgerTransfersTable {
  id: string;
  command_id: string;
  ledger: string;
  debit_account_id: string;
  credit_account_id: string;
  amount: Int8;
  kind: 'single' | 'pending' | 'post' | 'void';
  pending_id: string | null;
  pending_amount: Int8 | null;
  code: string;
  reference: string | null;
  debit_balance_after: Int8 | null;
  credit_balance_after: Int8 | null;
  created_at: Timestamp;
}

export interface LedgerLotsTable {
  id: string;
  account_id: string;
  amount: Int8;
  remaining: Int8;
  expires_at: Date | null;
  pending_until: Date | null;
  created_at: Timestamp;
}

export interface LedgerLotDrawsTable {
  transfer_id: string;
  lot_id: string;
  amount: Int8;
}

export interface LedgerHoldsTable {
  id: string;
  program_id: string;
  member_id: string;
  account_id: string;
  pending_transfer_id: string;
  amount: Int8;
  status: 'pending' | 'captured' | 'released' | 'expired';
  captured: Int8 | null;
  reference: string | null;
  expires_at: Date;
  created_at: Timestamp;
  resolved_at: Date | null;
}

export interface LedgerLimitsTable {
  ledger: string;
  key: string;
  used: Int8;
  forget_after: Date | null;
}

export interface GrowthPoliciesTable {
  program_id: string;
  policy: ColumnType<unknown, string, string>;
  updated_at: Timestamp;
}

export interface GrowthEventsTable {
  id: string;
  program_id: string;
  member_id: string;
  command_id: string;
  source: string;
  requested: Int8;
  value: Int8;
  reference: string;
  /** YYYY-MM-DD in the program's time zone. */
  day: ColumnType<string, string, string>;
  occurred_at: Timestamp;
  tier: string | null;
  tier_changed: boolean;
}

export interface GrowthTrustedTable {
  program_id: string;
  member_id: string;
  added_at: Timestamp;
}

export interface AlertsTable {
  id: string;
  program_id: string;
  member_id: string | null;
  kind: string;
  day: ColumnType<string, string, string>;
  data: ColumnType<unknown, string, string>;
  created_at: Timestamp;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
}

export interface TierLaddersTable {
  program_id: string;
  ladder: ColumnType<unknown, string, string>;
  version: number;
  updated_at: Timestamp;
  evaluated_at: Date | null;
}

export interface MemberTiersTable {
  program_id: string;
  member_id: string;
  tier: string;
  since: Timestamp;
  valid_until: Date | null;
  overridden: boolean;
  basis: Int8;
  credit: number | null;
  warned_for: Date | null;
  updated_at: Timestamp;
}

export interface TierHistoryTable {
  id: string;
  program_id: string;
  member_id: string;
  from_tier: string | null;
  to_tier: string;
  why: 'upgrade' | 'downgrade' | 'renewal' | 'invite' | 'override' | 'merge' | 'match' | 'ladder';
  valid_until: Date | null;
  reason: string | null;
  at: Timestamp;
}

export interface BenefitUsesTable {
  id: string;
  program_id: string;
  member_id: string;
  benefit: string;
  period: string;
  reference: string;
  used_at: Timestamp;
}

export interface EventSequencesTable {
  program_id: string;
  last: Int8;
}

export interface EventsTable {
  id: string;
  program_id: string;
  sequence: Int8;
  type: string;
  member_id: string | null;
  occurred_at: Timestamp;
  data: ColumnType<unknown, string, string>;
}

export interface EarningPoliciesTable {
  program_id: string;
  pending_days: number;
  rounding: 'floor' | 'round' | 'ceil';
  return_policy: 'within_balance' | 'only_pending';
  updated_at: Timestamp;
}

type JsonColumn<T> = ColumnType<T, string, string>;

export interface EarningRulesTable {
  program_id: string;
  id: string;
  version: number;
  active: boolean;
  /** The rule as written: name, priority, exclusive, conditions, effect, limits. */
  body: JsonColumn<unknown>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface EarningRuleVersionsTable {
  program_id: string;
  rule_id: string;
  version: number;
  active: boolean;
  body: JsonColumn<unknown>;
  created_at: Timestamp;
}

export interface PurchasesTable {
  program_id: string;
  id: string;
  member_id: string;
  fingerprint: Buffer;
  amount: Int8;
  currency: string;
  occurred_at: Timestamp;
  store: string | null;
  channel: string | null;
  payment_method: string | null;
  items: ColumnType<unknown, string | null, string | null>;
  weights: JsonColumn<number[]>;
  rules: JsonColumn<{ id: string; version: number }[]>;
  points: Int8;
  growth: Int8;
  lot_id: string | null;
  pending_until: Timestamp | null;
  result: JsonColumn<unknown>;
  returned: JsonColumn<{ quantities: number[]; amount: number }>;
  points_returned: ColumnType<string, number | undefined, number | string>;
  growth_returned: ColumnType<string, number | undefined, number | string>;
  return_seq: ColumnType<number, number | undefined, number>;
  created_at: Timestamp;
}

export interface PurchaseReturnsTable {
  program_id: string;
  id: string;
  purchase_id: string;
  member_id: string;
  fingerprint: Buffer;
  items: ColumnType<unknown, string | null, string | null>;
  amount: Int8;
  reason: string;
  points: Int8;
  written_off: Int8;
  growth: Int8;
  result: JsonColumn<unknown>;
  created_at: Timestamp;
}

/** The key the member portal's links are signed with (HMAC-SHA256), one per purpose. */
export interface PortalSecretsTable {
  id: string;
  secret: Buffer;
  created_at: Timestamp;
}

/** A program in the coalition's exchange: its rate to the hub unit and its points' worth. */
export interface ExchangeProgramsTable {
  program_id: string;
  points_per_hub_unit: Int8;
  point_value_e4: Int8;
  updated_at: Timestamp;
}

/** A direction of exchange the coalition approved, with its fee and limits in points of "from". */
export interface ExchangePairsTable {
  from_program_id: string;
  to_program_id: string;
  fee_bp: number;
  fee_minimum: Int8;
  min_points: Int8;
  max_points: Int8;
  daily_limit: Int8;
  updated_at: Timestamp;
}

/** An applied conversion, with the rates it used. */
export interface ConversionsTable {
  id: string;
  command_id: string;
  member_id: string;
  from_program_id: string;
  to_program_id: string;
  reference: string;
  converted: Int8;
  fee: Int8;
  credited: Int8;
  from_points_per_hub_unit: Int8;
  to_points_per_hub_unit: Int8;
  from_point_value_e4: Int8;
  to_point_value_e4: Int8;
  created_at: Timestamp;
}

/** What one party (a program id or 'coalition') owes another for one business row. */
export interface SettlementLinesTable {
  id: string;
  kind: 'conversion' | 'fee' | 'pool' | 'offer';
  source_id: string;
  period: string;
  debtor: string;
  creditor: string;
  points: Int8 | null;
  amount_fen: Int8;
  member_id: string | null;
  detail: JsonColumn<Record<string, unknown>>;
  created_at: Timestamp;
}

/** A closed period's frozen statement. */
export interface SettlementPeriodsTable {
  period: string;
  status: 'closed' | 'settled';
  statement: JsonColumn<unknown>;
  closed_at: Timestamp;
  settled_at: Timestamp | null;
}

/** A level of the coalition (the payment platform's member levels); higher rank is higher. */
export interface CoalitionLevelsTable {
  code: string;
  name: string;
  rank: number;
  updated_at: Timestamp;
}

/** A member holding at least `tier_at_least` in `program_id` has `level`. */
export interface CoalitionLevelRulesTable {
  position: number;
  level: string;
  program_id: string;
  tier_at_least: string;
  updated_at: Timestamp;
}

/** The level the coalition's integration set for a member. */
export interface MemberCoalitionLevelsTable {
  member_id: string;
  level: string;
  source: string;
  valid_until: Date | null;
  set_at: Timestamp;
  updated_at: Timestamp;
}

/** A program's status match table. */
export interface TierMatchTablesTable {
  program_id: string;
  max_match_tier: string;
  window_days: number;
  rules: ColumnType<unknown, string, string>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** The status match a member had in a program (at most one). */
export interface TierMatchesTable {
  program_id: string;
  member_id: string;
  tier: string;
  rule: ColumnType<unknown, string, string>;
  matched_at: Timestamp;
}

// --- the benefits pool (0012) and cross-brand offers (0013) ---

export interface PoolBenefitsTable {
  id: string;
  program_id: string;
  name: string;
  kind: 'lounge' | 'fast_track' | 'voucher' | 'membership' | 'other';
  stock: number;
  claimed: ColumnType<number, number | undefined, number>;
  used: ColumnType<number, number | undefined, number>;
  valid_from: Timestamp | null;
  valid_until: Timestamp | null;
  cost_fen: Int8;
  per_member_limit: number;
  eligibility: JsonColumn<unknown>;
  charge_to: 'contributor' | 'home';
  code_valid_days: number | null;
  status: 'active' | 'paused' | 'closed';
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface PoolMemberClaimsTable {
  benefit_id: string;
  member_id: string;
  claimed: number;
}

export interface PoolClaimsTable {
  id: string;
  benefit_id: string;
  member_id: string;
  reference: string | null;
  code: string;
  status: 'claimed' | 'used';
  expires_at: Timestamp | null;
  sponsor_program_id: string | null;
  claimed_at: Timestamp;
  used_at: Timestamp | null;
  used_by_key: string | null;
  charge_debtor: string | null;
  charge_creditor: string | null;
  charge_fen: Int8 | null;
}

export interface OffersTable {
  id: string;
  program_id: string;
  name: string;
  min_spend_fen: Int8;
  reward: JsonColumn<unknown>;
  reward_program_id: string;
  stock: number;
  granted: ColumnType<number, number | undefined, number>;
  per_member_limit: number;
  starts_at: Timestamp;
  ends_at: Timestamp;
  cost_fen: Int8 | null;
  status: 'active' | 'paused';
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface OfferMemberGrantsTable {
  offer_id: string;
  member_id: string;
  granted: number;
}

export interface OfferGrantsTable {
  offer_id: string;
  purchase_id: string;
  id: string;
  member_id: string;
  status: 'reserved' | 'granted' | 'skipped';
  reason: string | null;
  detail: ColumnType<unknown, string | undefined, string>;
  debtor: string | null;
  creditor: string | null;
  points: Int8 | null;
  amount_fen: Int8 | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface OfferCursorsTable {
  program_id: string;
  last_sequence: Int8;
  updated_at: Timestamp;
}

// --- coupons (0016) ---

export interface CouponTemplatesTable {
  id: string;
  program_id: string;
  name: string;
  kind: 'amount_off' | 'percent_off' | 'gift' | 'free_shipping';
  amount_off_fen: Int8 | null;
  percent_off: number | null;
  cap_fen: Int8 | null;
  gift: string | null;
  valid_from: Timestamp | null;
  valid_until: Timestamp | null;
  valid_days: number | null;
  stock: number | null;
  issued: ColumnType<number, number | undefined, number>;
  /** Units reserved by mall orders placed and not yet confirmed. */
  reserved: ColumnType<number, number | undefined, number>;
  per_member_limit: number | null;
  conditions: JsonColumn<unknown>;
  issue_on: 'enrollment' | 'tier_upgrade' | 'birthday' | null;
  issue_on_tier: string | null;
  status: 'active' | 'paused' | 'closed';
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CouponMemberCountsTable {
  template_id: string;
  member_id: string;
  issued: number;
  /** Coupons reserved for the member by mall orders placed and not yet confirmed. */
  reserved: ColumnType<number, number | undefined, number>;
}

export interface CouponsTable {
  id: string;
  template_id: string;
  program_id: string;
  member_id: string;
  reference: string;
  code: string;
  status: 'issued' | 'redeemed';
  valid_from: Timestamp | null;
  expires_at: Timestamp | null;
  issued_at: Timestamp;
  redeemed_at: Timestamp | null;
  purchase_id: string | null;
  discount_fen: Int8 | null;
}

export interface CouponCursorsTable {
  program_id: string;
  last_sequence: Int8;
  updated_at: Timestamp;
}

// --- rewards mall (0017) ---

export interface RewardsTable {
  id: string;
  program_id: string;
  sku: string;
  name: string;
  kind: 'goods' | 'voucher' | 'coupon' | 'membership';
  price_points: number;
  price_cash: Int8 | null;
  supplier_cost: Int8 | null;
  tier_prices: JsonColumn<unknown>;
  stock: number | null;
  reserved: ColumnType<number, number | undefined, number>;
  per_member_limit: number | null;
  limit_period: 'day' | 'month' | 'year' | null;
  starts_at: Timestamp | null;
  ends_at: Timestamp | null;
  on_shelf: boolean;
  supplier: string | null;
  category: string | null;
  image_url: string | null;
  /** A coupon or voucher reward: the coupon template it issues at confirmation. */
  coupon_template_id: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface RewardMemberCountsTable {
  reward_id: string;
  member_id: string;
  period: string;
  count: number;
}

export interface RewardOrdersTable {
  program_id: string;
  id: string;
  member_id: string;
  status: 'placed' | 'confirmed' | 'shipped' | 'completed' | 'cancelled' | 'expired';
  fingerprint: string;
  points: number;
  cash_fen: Int8;
  cash_paid: ColumnType<boolean, boolean | undefined, boolean>;
  hold_id: string | null;
  address: JsonColumn<unknown> | null;
  carrier: string | null;
  tracking: string | null;
  refund_transfer_id: string | null;
  placed_at: Timestamp;
  expires_at: Timestamp;
  confirmed_at: Timestamp | null;
  shipped_at: Timestamp | null;
  completed_at: Timestamp | null;
  cancelled_at: Timestamp | null;
}

export interface RewardOrderItemsTable {
  program_id: string;
  order_id: string;
  line: number;
  reward_id: string;
  sku: string;
  name: string;
  supplier: string | null;
  quantity: number;
  unit_points: number;
  unit_cash: Int8;
  unit_cost: Int8;
  period: string | null;
  coupon_template_id: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface CouponReferralSettingsTable {
  program_id: string;
  referee_template_id: string;
  referrer_template_id: string;
  updated_at: Timestamp;
}

export interface CouponShareCodesTable {
  program_id: string;
  member_id: string;
  code: string;
  created_at: Timestamp;
}

export interface CouponReferralsTable {
  program_id: string;
  referee_id: string;
  referrer_id: string;
  status: 'pending' | 'rewarded' | 'refused';
  created_at: Timestamp;
  settled_at: Timestamp | null;
}

/** A daily job's run for a program's local day (`events.daily.ts`): once each. */
export interface DailyRunsTable {
  job: string;
  program_id: string;
  day: ColumnType<string, string, string>;
  count: number;
  ran_at: Timestamp;
}

/** A member told of points expiring at the end of a local day (`points.expiring`): once each. */
export interface ExpiryNoticesTable {
  program_id: string;
  member_id: string;
  expires_on: ColumnType<string, string, string>;
  points: ColumnType<string, number, number>;
  noticed_at: Timestamp;
}
