import path from 'node:path';
import { z } from 'zod';

/** The API key format: a `tsk_` prefix then at least 24 URL-safe characters. */
export const API_KEY_PATTERN = /^tsk_[A-Za-z0-9_-]{24,128}$/;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const envSchema = z.object({
  PORT: z
    .string()
    .regex(/^\d+$/, 'must be a whole number from 0 to 65535')
    .transform(Number)
    .refine((n) => n <= 65535, 'must be a whole number from 0 to 65535')
    .default(3000),
  HOST: z.string().min(1, 'must not be empty').default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  TESSERA_DATA_DIR: z.string().min(1, 'must not be empty').default('.tessera'),
  LOG_LEVEL: z
    .enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` })
    .default('info'),
  TESSERA_BOOTSTRAP_KEY: z
    .string()
    .regex(API_KEY_PATTERN, 'must be tsk_ followed by 24 to 128 letters, digits, _ or -')
    .optional(),
});

export interface Config {
  port: number;
  host: string;
  /** An external PostgreSQL; when absent Tessera runs an embedded one under `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  logLevel: (typeof LOG_LEVELS)[number];
  bootstrapKey: string | undefined;
}

export class ConfigError extends Error {}

/** Reads and validates the environment; a bad value throws a one-line reason naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "unset", as shells and .env files tend to produce them.
  const present = Object.fromEntries(
    Object.keys(envSchema.shape)
      .filter((name) => env[name] !== undefined && env[name] !== '')
      .map((name) => [name, env[name]]),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    const value = present[name];
    const shown =
      name === 'DATABASE_URL' || name === 'TESSERA_BOOTSTRAP_KEY' ? '' : ` (got "${value}")`;
    throw new ConfigError(
      `Invalid configuration: ${name} ${issue?.message ?? 'is invalid'}${shown}`,
    );
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.TESSERA_DATA_DIR),
    logLevel: e.LOG_LEVEL,
    bootstrapKey: e.TESSERA_BOOTSTRAP_KEY,
  };
}
