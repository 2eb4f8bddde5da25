import { z } from 'zod';
import { problemSchema } from './problem.ts';

/** Problem responses for the OpenAPI document: each route lists the statuses it can answer. */
export function problems(...statuses: number[]): Record<number, typeof problemSchema> {
  return Object.fromEntries(statuses.map((s) => [s, problemSchema.describe(`Problem (${s})`)]));
}

/** The errors every authenticated route can answer. */
export const AUTH_ERRORS = [400, 401, 403, 404] as const;

export const timestamp = z.iso.datetime().describe('RFC 3339 time, UTC');

export const bearerSecurity = [{ bearerAuth: [] }];
