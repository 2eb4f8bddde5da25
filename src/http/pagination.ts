import { z } from 'zod';
import { DomainError } from '../shared/errors.ts';
import { isStorable } from '../shared/text.ts';

/** `?limit=&cursor=` on every list. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).describe('Items per page, 1 to 100'),
  cursor: z.string().max(512).optional().describe('`nextCursor` from the previous page'),
});

/** Every list answers `{ data, nextCursor }`; a null cursor means the last page. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), nextCursor: z.string().nullable() });
}

/** Cursors are opaque to clients: the sort key of the last item, base64url-encoded. */
export function encodeCursor(after: string): string {
  return Buffer.from(JSON.stringify({ a: after })).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { a?: unknown };
    if (typeof value.a === 'string' && isStorable(value.a)) return value.a;
  } catch {}
  throw new DomainError('invalid_cursor', 'The cursor is not one this API returned');
}

/**
 * Fetches one page: `fetch` is asked for one item more than the limit, which tells whether a
 * next page exists without counting.
 */
export async function page<T, R>(
  query: { limit: number; cursor?: string | undefined },
  fetch: (after: string | undefined, limit: number) => Promise<T[]>,
  keyOf: (item: T) => string,
  present: (item: T) => R,
): Promise<{ data: R[]; nextCursor: string | null }> {
  const items = await fetch(decodeCursor(query.cursor), query.limit + 1);
  const more = items.length > query.limit;
  const shown = more ? items.slice(0, query.limit) : items;
  const last = shown[shown.length - 1];
  return { data: shown.map(present), nextCursor: more && last ? encodeCursor(keyOf(last)) : null };
}
