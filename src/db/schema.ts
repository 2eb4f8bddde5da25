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
  kind: 'member' | 'issuance' | 'redemption' | 'breakage' | 'adjustment';
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
