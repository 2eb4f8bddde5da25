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
  | { kind: 'period_end'; period: 'month' | 'quarter' | 'year'; afterDays: number };

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
