import type { Db } from '../db/database.ts';
import type { ApiKeysTable } from '../db/schema.ts';
import type { ApiKey, Principal } from './keys.core.ts';

type Row = Pick<
  ApiKeysTable,
  'id' | 'program_id' | 'role' | 'name' | 'prefix' | 'created_at' | 'revoked_at'
>;

const columns = ['id', 'program_id', 'role', 'name', 'prefix', 'created_at', 'revoked_at'] as const;

function toApiKey(row: Row): ApiKey {
  return {
    id: row.id,
    programId: row.program_id,
    role: row.role,
    name: row.name,
    prefix: row.prefix,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

export async function insertKey(db: Db, key: ApiKey, hash: Buffer): Promise<void> {
  await db
    .insertInto('api_keys')
    .values({
      id: key.id,
      program_id: key.programId,
      role: key.role,
      name: key.name,
      prefix: key.prefix,
      hash,
      created_at: key.createdAt,
      revoked_at: null,
    })
    .execute();
}

export async function findPrincipalByHash(db: Db, hash: Buffer): Promise<Principal | undefined> {
  const row = await db
    .selectFrom('api_keys')
    .select(['id', 'program_id', 'role'])
    .where('hash', '=', hash)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return row && { keyId: row.id, programId: row.program_id, role: row.role };
}

export async function findKey(
  db: Db,
  programId: string,
  keyId: string,
): Promise<ApiKey | undefined> {
  const row = await db
    .selectFrom('api_keys')
    .select(columns)
    .where('id', '=', keyId)
    .where('program_id', '=', programId)
    .executeTakeFirst();
  return row && toApiKey(row);
}

/** A key by id, whichever program (or the coalition) it belongs to. */
export async function findKeyById(db: Db, keyId: string): Promise<ApiKey | undefined> {
  const row = await db
    .selectFrom('api_keys')
    .select(columns)
    .where('id', '=', keyId)
    .executeTakeFirst();
  return row && toApiKey(row);
}

export async function listKeys(
  db: Db,
  programId: string,
  after: string | undefined,
  limit: number,
): Promise<ApiKey[]> {
  let query = db.selectFrom('api_keys').select(columns).where('program_id', '=', programId);
  if (after) query = query.where('id', '>', after);
  const rows = await query.orderBy('id').limit(limit).execute();
  return rows.map(toApiKey);
}

/** Marks a key revoked; undefined when there is no such key or it was revoked already. */
export async function revokeKey(
  db: Db,
  programId: string,
  keyId: string,
  at: Date,
): Promise<ApiKey | undefined> {
  const row = await db
    .updateTable('api_keys')
    .set({ revoked_at: at })
    .where('id', '=', keyId)
    .where('program_id', '=', programId)
    .where('revoked_at', 'is', null)
    .returning(columns)
    .executeTakeFirst();
  return row && toApiKey(row);
}

export async function anyKeyExists(db: Db): Promise<boolean> {
  const row = await db.selectFrom('api_keys').select('id').limit(1).executeTakeFirst();
  return row !== undefined;
}
