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
}

type Timestamp = Date;

export interface ProgramsTable {
  id: string;
  name: string;
  points_name: string;
  timezone: string;
  status: 'active' | 'suspended';
  created_at: Timestamp;
  updated_at: Timestamp;
}

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
