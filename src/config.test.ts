import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('has defaults for everything', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      logLevel: 'info',
      bootstrapKey: undefined,
    });
    expect(c.dataDir).toMatch(/\.tessera$/);
  });

  it('reads every variable', () => {
    const c = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgres://u:p@db:5432/tessera',
      TESSERA_DATA_DIR: '/var/lib/tessera',
      LOG_LEVEL: 'debug',
      TESSERA_BOOTSTRAP_KEY: 'tsk_abcdefghijklmnopqrstuvwxyz012345',
    });
    expect(c).toEqual({
      port: 8080,
      host: '0.0.0.0',
      databaseUrl: 'postgres://u:p@db:5432/tessera',
      dataDir: '/var/lib/tessera',
      logLevel: 'debug',
      bootstrapKey: 'tsk_abcdefghijklmnopqrstuvwxyz012345',
    });
  });

  it.each([
    [
      { PORT: 'abc' },
      /^Invalid configuration: PORT must be a whole number from 0 to 65535 \(got "abc"\)$/,
    ],
    [{ PORT: '70000' }, /^Invalid configuration: PORT /],
    [{ LOG_LEVEL: 'loud' }, /^Invalid configuration: LOG_LEVEL must be one of fatal, error/],
    [
      { DATABASE_URL: 'mysql://x' },
      /^Invalid configuration: DATABASE_URL must be a postgres:\/\/ /,
    ],
    [
      { TESSERA_BOOTSTRAP_KEY: 'secret' },
      /^Invalid configuration: TESSERA_BOOTSTRAP_KEY must be tsk_/,
    ],
  ])('refuses %j with a one-line reason naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('never echoes a secret value', () => {
    expect(() => loadConfig({ TESSERA_BOOTSTRAP_KEY: 'tsk_short' })).toThrow(/^(?!.*tsk_short)/);
  });
});
