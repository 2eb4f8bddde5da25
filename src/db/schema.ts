/** Row types of the database, as Kysely sees them. Repositories turn rows into domain types. */
export interface Database {
  programs: ProgramsTable;
  api_keys: ApiKeysTable;
  idempotency_keys: IdempotencyKeysTable;
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
