import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { IdGenerator } from '../shared/ids.ts';
import {
  type BatchOutcome,
  RetryBatch,
  runBatch,
  type StandingReader,
  type Submitted,
} from './ledger.batch.ts';
import type { SystemKind } from './ledger.core.ts';

interface Waiting {
  item: Submitted;
  resolve: (o: BatchOutcome) => void;
  reject: (e: unknown) => void;
}

export interface EngineOptions {
  /** The members module's: locks members' rows and reads their standing, in the batch. */
  standings: StandingReader;
  /** Most commands in one transaction. */
  maxBatch?: number;
  /** Batches in flight at once. One by default: on a small machine more only split the queue into smaller batches. */
  workers?: number;
}

// Errors after which the same batch can simply run again.
const RETRYABLE = new Set(['40001', '40P01', '23505']);

/**
 * Groups the commands that arrive while a batch is being written into the next batch: one
 * transaction, set-based SQL, durable commit, then every caller hears its own outcome. One
 * command's rejection never fails its neighbours; a batch that fails as a whole is split until
 * the command at fault is alone.
 */
export class LedgerEngine {
  readonly #db: Db;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #log: FastifyBaseLogger;
  readonly #maxBatch: number;
  readonly #workers: number;
  readonly #standings: StandingReader;
  readonly #queue: Waiting[] = [];
  /** System accounts per ledger, once a batch that read or made them has committed. */
  readonly #system = new Map<string, Map<SystemKind, string>>();
  #running = 0;
  /** Counters for benchmarks and logs: batches written, commands in them, ms spent writing. */
  readonly stats = { batches: 0, commands: 0, ms: 0 };
  #idle: (() => void)[] = [];

  constructor(
    db: Db,
    clock: Clock,
    ids: IdGenerator,
    log: FastifyBaseLogger,
    options: EngineOptions,
  ) {
    this.#db = db;
    this.#clock = clock;
    this.#ids = ids;
    this.#log = log;
    this.#standings = options.standings;
    this.#maxBatch = options.maxBatch ?? 1000;
    this.#workers = options.workers ?? 1;
  }

  /** Queues a command for the next batch; resolves once that batch has committed (or failed). */
  submit(item: Submitted): Promise<BatchOutcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#pump();
    });
  }

  /** Resolves when every submitted command has been written. */
  drain(): Promise<void> {
    if (this.#running === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #pump(): void {
    while (this.#running < this.#workers && this.#queue.length > 0) {
      this.#running++;
      void this.#work();
    }
  }

  async #work(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        // One turn of the event loop first: callers answered by the last batch usually send their
        // next command straight away, and it should ride in this batch, not wait for the next.
        await new Promise((resolve) => setImmediate(resolve));
        const batch = this.#queue.splice(0, this.#take());
        // Another worker may have taken everything during that turn.
        if (batch.length > 0) await this.#process(batch);
      }
    } finally {
      this.#running--;
      if (this.#running === 0 && this.#queue.length === 0)
        for (const f of this.#idle.splice(0)) f();
    }
  }

  /**
   * How many queued commands the next batch takes: up to the limit, but a merge runs alone — it
   * changes who the members are, which the other commands' checks were made against.
   */
  #take(): number {
    const isMerge = (w: Waiting | undefined) => w?.item.command.type === 'merge';
    if (isMerge(this.#queue[0])) return 1;
    const next = this.#queue.findIndex(isMerge);
    return Math.min(this.#maxBatch, next === -1 ? this.#queue.length : next);
  }

  async #process(batch: Waiting[], attempt = 0): Promise<void> {
    const began = performance.now();
    try {
      const now = this.#clock.now();
      const { outcomes, systemAccounts } = await this.#db.transaction().execute((trx) =>
        runBatch(
          trx,
          batch.map((w) => w.item),
          { now, ids: this.#ids, standings: this.#standings, systemAccounts: this.#system },
        ),
      );
      for (const [ledger, kinds] of systemAccounts) this.#system.set(ledger, kinds);
      this.stats.batches++;
      this.stats.commands += batch.length;
      this.stats.ms += performance.now() - began;
      for (const [i, w] of batch.entries()) w.resolve(outcomes[i] as BatchOutcome);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if ((error instanceof RetryBatch || (code && RETRYABLE.has(code))) && attempt < 5) {
        return this.#process(batch, attempt + 1);
      }
      if (batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        await this.#process(batch.slice(0, half));
        await this.#process(batch.slice(half));
        return;
      }
      this.#log.error({ err: error, command: batch[0]?.item.command.id }, 'ledger command failed');
      batch[0]?.reject(error);
    }
  }
}
