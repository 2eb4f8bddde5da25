import type { Db } from '../db/database.ts';

/** The secret kept under `id`, if one was made. */
export async function findSecret(db: Db, id: string): Promise<Buffer | undefined> {
  const row = await db
    .selectFrom('portal_secrets')
    .select('secret')
    .where('id', '=', id)
    .executeTakeFirst();
  return row?.secret;
}

/** Keeps `secret` under `id` unless one is kept already (then the first one stays). */
export async function insertSecret(db: Db, id: string, secret: Buffer, at: Date): Promise<void> {
  await db
    .insertInto('portal_secrets')
    .values({ id, secret, created_at: at })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}
