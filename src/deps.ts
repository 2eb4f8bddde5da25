import type { FastifyBaseLogger } from 'fastify';
import type { Db } from './db/database.ts';
import type { Clock } from './shared/clock.ts';
import type { IdGenerator } from './shared/ids.ts';

/** What services need from the outside world; tests pass a fresh database, a manual clock and predictable ids. */
export interface Deps {
  db: Db;
  clock: Clock;
  ids: IdGenerator;
  log: FastifyBaseLogger;
}
