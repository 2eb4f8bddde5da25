import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
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

/** What a list's request carries: its route, path parameters and query. */
type ListRequest = Pick<FastifyRequest, 'routeOptions' | 'params'> & {
  query: { limit: number; cursor?: string | undefined } & Record<string, unknown>;
};

/**
 * Which list a request reads: its route, path parameters and filters (the query less the paging
 * fields). A cursor carries it, so that a cursor is only ever read by the list that made it.
 */
function listOf(request: ListRequest): string {
  const { cursor: _cursor, limit: _limit, ...filters } = request.query;
  return createHash('sha256')
    .update(JSON.stringify([request.routeOptions.url, request.params, filters]))
    .digest('base64url')
    .slice(0, 11);
}

/** Cursors are opaque to clients: the list they belong to and the sort key of the last item. */
export function encodeCursor(list: string, after: string): string {
  return Buffer.from(JSON.stringify({ l: list, a: after })).toString('base64url');
}

export function decodeCursor(list: string, cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as {
      l?: unknown;
      a?: unknown;
    };
    if (value.l === list && typeof value.a === 'string' && isStorable(value.a)) return value.a;
  } catch {}
  throw new DomainError('invalid_cursor', 'The cursor is not one this list returned');
}

/**
 * Fetches one page of the list `request` asks for: `fetch` is asked for one item more than the
 * limit, which tells whether a next page exists without counting.
 */
export async function page<T, R>(
  request: ListRequest,
  fetch: (after: string | undefined, limit: number) => Promise<T[]>,
  keyOf: (item: T) => string,
  present: (item: T) => R,
): Promise<{ data: R[]; nextCursor: string | null }> {
  const list = listOf(request);
  const { limit, cursor } = request.query;
  const items = await fetch(decodeCursor(list, cursor), limit + 1);
  const more = items.length > limit;
  const shown = more ? items.slice(0, limit) : items;
  const last = shown[shown.length - 1];
  return {
    data: shown.map(present),
    nextCursor: more && last ? encodeCursor(list, keyOf(last)) : null,
  };
}
