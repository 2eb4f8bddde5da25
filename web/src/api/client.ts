import createClient from 'openapi-fetch';
import type { paths } from './schema';

export type Paths = paths;
export type ApiClient = ReturnType<typeof createClient<paths>>;

/** A problem+json answer, as the API sends every error. */
export interface Problem {
  status: number;
  code?: string;
  title?: string;
  detail?: string;
}

/** An API client that sends `authorization()` with every request (e.g. "Bearer tsk_…"). */
export function apiClient(authorization: () => string | null): ApiClient {
  const client = createClient<paths>({ baseUrl: globalThis.location?.origin ?? '' });
  client.use({
    onRequest({ request }) {
      const value = authorization();
      if (value) request.headers.set('authorization', value);
      return request;
    },
  });
  return client;
}

/** The data of an answer, or throws its problem (for TanStack Query, which shows the error). */
export function unwrap<T>(answer: { data?: T; error?: unknown; response: Response }): T {
  if (answer.error !== undefined || answer.data === undefined) {
    const problem = (answer.error ?? {}) as Partial<Problem>;
    throw Object.assign(new Error(problem.detail ?? problem.title ?? answer.response.statusText), {
      problem: { ...problem, status: answer.response.status },
    });
  }
  return answer.data;
}

/** The problem behind an error thrown by `unwrap`, if it was one. */
export const problemOf = (error: unknown): Problem | undefined =>
  (error as { problem?: Problem } | null)?.problem;
