import { z } from 'zod';
import { timestamp } from '../http/schemas.ts';
import { type ApiKey, ROLES } from './keys.core.ts';

export const apiKeySchema = z
  .object({
    id: z.string(),
    programId: z.string().nullable().describe('null for a coalition key'),
    role: z.enum(ROLES),
    name: z.string(),
    prefix: z.string().describe('The first characters of the key, to tell keys apart'),
    createdAt: timestamp,
    revokedAt: timestamp.nullable(),
  })
  .meta({ id: 'ApiKey' });

export const createdApiKeySchema = apiKeySchema
  .extend({
    key: z
      .string()
      .optional()
      .describe(
        'The secret, shown only in this response (absent when an Idempotency-Key replays it)',
      ),
  })
  .meta({ id: 'CreatedApiKey' });

export const createKeyBody = z
  .strictObject({
    role: z
      .enum(ROLES)
      .describe(
        'admin configures the program; integration makes till and shop writes; read only reads',
      ),
    name: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .optional()
      .describe('What the key is for, e.g. "POS store 12"'),
  })
  .meta({ id: 'CreateApiKey' });

export const keyParams = z.object({ programId: z.string().max(200), keyId: z.string().max(200) });

export function presentKey(k: ApiKey): z.infer<typeof apiKeySchema> {
  return {
    ...k,
    createdAt: k.createdAt.toISOString(),
    revokedAt: k.revokedAt?.toISOString() ?? null,
  };
}
