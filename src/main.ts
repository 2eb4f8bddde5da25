import fs from 'node:fs';
import { parseArgs } from 'node:util';
import pino, { type Logger } from 'pino';
import { buildWeb, isBuilt } from '../web/build.ts';
import { buildApp } from './app.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { announceBirthdays, runCouponIssuing } from './coupons/coupons.service.ts';
import { migrate } from './db/database.ts';
import { startEmbeddedPostgres } from './db/embedded.ts';
import { createDeps, type Deps } from './deps.ts';
import { evaluateTiers } from './growth/growth.service.ts';
import { sweepIdempotencyKeys } from './http/idempotency.ts';
import { ROLES, type Role } from './keys/keys.core.ts';
import { bootstrapAdminKey, createKey } from './keys/keys.service.ts';
import { forgetLimits, sweepExpired } from './ledger/ledger.service.ts';
import { reconcile } from './ledger/reconcile.ts';
import { runOffers } from './offers/offers.service.ts';
import { sweepOrders } from './orders/orders.service.ts';
import { importPurchases, progressBar } from './purchases/purchases.import.ts';
import { importRewards, rewardsProgressBar } from './rewards/rewards.import.ts';
import { announceExpiringPoints } from './rewards/rewards.nudges.ts';
import { systemClock } from './shared/clock.ts';
import { DomainError } from './shared/errors.ts';
import { createIdGenerator } from './shared/ids.ts';

const USAGE = `Usage: tessera <command>

Commands:
  start                 run the API server (migrates first)
  migrate               apply database migrations and exit
  keys create [--program ID] [--role admin|integration|read] [--name NAME]
                        create an API key and print it once; without --program, a coalition admin key
  expire                expire every lot and hold that is due (the server does this every minute)
  reconcile             check every ledger invariant; exits 1 if one is broken
  tiers evaluate [--program ID] [--as-of TIME]
                        evaluate tiers whose validity ended, send downgrade warnings, follow moved
                        windows (the server does this every minute); twice changes nothing
  import purchases FILE --program ID
                        import purchases from a .csv or .jsonl file (see README.md), with a
                        progress bar and a summary; a rerun skips what was imported
  import rewards FILE.csv --program ID
                        import a supplier's catalog (see README.md), with a progress bar;
                        upserts by SKU, so a rerun updates prices and stock

Configuration comes from the environment: PORT, HOST, DATABASE_URL, TESSERA_DATA_DIR,
LOG_LEVEL, TESSERA_BOOTSTRAP_KEY (see README.md).`;

interface Runtime {
  deps: Deps;
  close(): Promise<void>;
}

/** Connects to DATABASE_URL, or starts the embedded PostgreSQL, and brings the schema up to date. */
async function open(config: Config, log: Logger): Promise<Runtime> {
  let url = config.databaseUrl;
  let stopEmbedded = async () => {};
  if (!url) {
    const pg = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      onLog: (line) => log.debug({ postgres: line.trim() }, 'postgres'),
    });
    log.info({ dataDir: config.dataDir, port: pg.port }, 'embedded PostgreSQL started');
    url = pg.url();
    stopEmbedded = () => pg.stop();
  }
  const { deps, close } = createDeps(url, {
    clock: systemClock,
    ids: createIdGenerator(systemClock),
    log,
  });
  try {
    const applied = await migrate(deps.db);
    if (applied.length) log.info({ applied }, 'migrations applied');
  } catch (error) {
    await close();
    await stopEmbedded();
    throw error;
  }
  return {
    deps,
    async close() {
      await close();
      await stopEmbedded();
    },
  };
}

async function start(config: Config, log: Logger): Promise<void> {
  const runtime = await open(config, log);
  const { deps } = runtime;
  const secret = await bootstrapAdminKey(deps, config.bootstrapKey);
  if (secret && !config.bootstrapKey) {
    process.stdout.write(`\nCoalition admin key (shown once; keep it safe):\n${secret}\n\n`);
  } else if (secret) {
    log.info('coalition admin key created from TESSERA_BOOTSTRAP_KEY');
  }

  if (!isBuilt()) {
    // `npm install` builds them; a checkout started without that builds them once here.
    log.info('building the console and the portal (first start)');
    await buildWeb({ quiet: true }).catch((err) => log.warn({ err }, 'web build failed'));
  }
  const app = await buildApp(deps);
  const address = await app.listen({ port: config.port, host: config.host });
  process.stdout.write(
    `Tessera listening on ${address} (console: ${address}/console/, API docs: ${address}/docs)\n`,
  );

  const sweeper = setInterval(
    () => {
      sweepIdempotencyKeys(deps).catch((err) => log.warn({ err }, 'idempotency sweep failed'));
      forgetLimits(deps).catch((err) => log.warn({ err }, 'limit counter sweep failed'));
    },
    60 * 60 * 1000,
  );
  sweeper.unref();
  // Expiry: lots past their date go to breakage, holds past their time are voided.
  let expiring = false;
  const expirer = setInterval(() => {
    if (expiring) return;
    expiring = true;
    sweepExpired(deps)
      .then((n) => n && log.info({ accounts: n }, 'expired lots and holds swept'))
      .catch((err) => log.warn({ err }, 'expiry sweep failed'))
      // Mall orders nobody confirmed: their holds just went back; their stock goes back too.
      .then(() => sweepOrders(deps))
      .then((n) => n && log.info({ orders: n }, 'unconfirmed mall orders expired'))
      .catch((err) => log.warn({ err }, 'order sweep failed'))
      .finally(() => {
        expiring = false;
      });
  }, 60 * 1000);
  expirer.unref();
  // Tiers: validity that ended (at local midnight), warnings, windows that moved. Set-based.
  let evaluating = false;
  const evaluator = setInterval(() => {
    if (evaluating) return;
    evaluating = true;
    evaluateTiers(deps)
      .then((reports) => {
        const changed = reports.reduce((n, r) => n + r.changed + r.warned, 0);
        if (changed) log.info({ reports }, 'tiers evaluated');
      })
      .catch((err) => log.warn({ err }, 'tier evaluation failed'))
      .finally(() => {
        evaluating = false;
      });
  }, 60 * 1000);
  evaluator.unref();
  // Cross-brand offers: purchases' events after each program's cursor; safe to run twice.
  let offering = false;
  const offerer = setInterval(() => {
    if (offering) return;
    offering = true;
    runOffers(deps)
      .then((r) => (r.granted || r.skipped) && log.info({ offers: r }, 'offers fired'))
      .catch((err) => log.warn({ err }, 'offers run failed'))
      .finally(() => {
        offering = false;
      });
  }, 10 * 1000);
  offerer.unref();
  // Coupons issued on enrollment, tier upgrade and birthday: events after each program's cursor;
  // once each. Birthdays are announced first, once per program and local day.
  let couponing = false;
  const couponer = setInterval(() => {
    if (couponing) return;
    couponing = true;
    announceBirthdays(deps)
      .then((n) => n && log.info({ birthdays: n }, 'birthdays announced'))
      .catch((err) => log.warn({ err }, 'birthday announcement failed'))
      .then(() => runCouponIssuing(deps))
      .then((r) => (r.issued || r.skipped) && log.info({ coupons: r }, 'coupons issued'))
      .catch((err) => log.warn({ err }, 'coupon issuing failed'))
      .finally(() => {
        couponing = false;
      });
  }, 10 * 1000);
  couponer.unref();

  // The year-end nudge: points expiring within 30 days, told once per member and expiry day;
  // each program's run is once per local day, so checking every ten minutes costs a query each.
  let nudging = false;
  const nudger = setInterval(
    () => {
      if (nudging) return;
      nudging = true;
      announceExpiringPoints(deps)
        .then((n) => n && log.info({ notices: n }, 'expiring points announced'))
        .catch((err) => log.warn({ err }, 'expiring points announcement failed'))
        .finally(() => {
          nudging = false;
        });
    },
    10 * 60 * 1000,
  );
  nudger.unref();

  let stoppingSince = 0;
  const stop = async (signal: string) => {
    if (stoppingSince) {
      // npm forwards the terminal's Ctrl-C, so one press arrives twice; only a later one forces.
      if (Date.now() - stoppingSince < 1000) return;
      log.warn('second signal: exiting at once');
      process.exit(1);
    }
    stoppingSince = Date.now();
    log.info({ signal }, 'shutting down: draining requests');
    clearInterval(sweeper);
    clearInterval(expirer);
    clearInterval(evaluator);
    clearInterval(offerer);
    clearInterval(couponer);
    clearInterval(nudger);
    try {
      await app.close(); // stops accepting, waits for in-flight requests
      await runtime.close(); // then the pool, then the embedded database
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'unclean shutdown');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

async function migrateOnly(config: Config, log: Logger): Promise<void> {
  const runtime = await open(config, log);
  await runtime.close();
  process.stdout.write('Database is up to date\n');
}

async function expireNow(config: Config, log: Logger): Promise<void> {
  const runtime = await open(config, log);
  try {
    const accounts = await sweepExpired(runtime.deps);
    process.stdout.write(`Swept ${accounts} account(s) with expired lots or holds\n`);
    const orders = await sweepOrders(runtime.deps);
    if (orders) process.stdout.write(`Expired ${orders} unconfirmed mall order(s)\n`);
  } finally {
    await runtime.close();
  }
}

async function reconcileNow(config: Config, log: Logger): Promise<void> {
  const runtime = await open(config, log);
  let report: Awaited<ReturnType<typeof reconcile>>;
  try {
    report = await reconcile(runtime.deps);
  } finally {
    await runtime.close();
  }
  for (const c of report.checks) {
    process.stdout.write(`${c.held ? 'held  ' : 'BROKEN'}  ${c.name}: ${c.description}\n`);
    for (const row of c.offending) process.stdout.write(`        ${JSON.stringify(row)}\n`);
  }
  process.exitCode = report.ok ? 0 : 1;
}

async function tiersEvaluate(config: Config, log: Logger, args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { program: { type: 'string' }, 'as-of': { type: 'string' } },
  });
  const asOf = values['as-of'] ? new Date(values['as-of']) : undefined;
  if (asOf && Number.isNaN(asOf.getTime()))
    throw new ConfigError('--as-of must be a time such as 2027-01-01T00:00:00+08:00');
  const runtime = await open(config, log);
  try {
    const reports = await evaluateTiers(runtime.deps, { programId: values.program, asOf });
    for (const r of reports) {
      process.stdout.write(
        `${r.programId}: ${r.evaluated} evaluated, ${r.changed} changed, ${r.warned} warned\n`,
      );
    }
  } finally {
    await runtime.close();
  }
}

/**
 * The import commands' common part: `FILE --program ID`, a progress bar (one line redrawn on a
 * terminal; in a log, a line every tenth of the file), and the summary with up to 20 refused lines
 * (exit 1 if any line was refused).
 */
async function importFile<
  P,
  S extends { refused: { line: number; code: string; detail: string }[] },
>(
  config: Config,
  log: Logger,
  args: string[],
  how: {
    usage: string;
    run: (
      deps: Deps,
      programId: string,
      file: string,
      progress: (done: number, total: number, state: P) => void,
    ) => Promise<S>;
    bar: (done: number, total: number, state: P, began: number) => string;
    /** The summary's first line, after "N … read in T s: ". */
    summary: (summary: S, secs: number) => string;
    /** What names a refused line besides its number (a purchase id, a SKU). */
    label: (refused: S['refused'][number]) => string | undefined;
  },
): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { program: { type: 'string' } },
  });
  const file = positionals[0];
  if (!file || !values.program) throw new ConfigError(`usage: ${how.usage}`);
  if (!fs.existsSync(file)) throw new ConfigError(`no file ${file}`);
  const runtime = await open(config, log);
  try {
    const began = performance.now();
    const tty = process.stderr.isTTY;
    let shown = 0;
    const summary = await how.run(runtime.deps, values.program, file, (done, total, state) => {
      if (tty) process.stderr.write(`\r${how.bar(done, total, state, began)}`);
      else if (done === total || done - shown >= total / 10) {
        shown = done;
        process.stderr.write(`${how.bar(done, total, state, began)}\n`);
      }
    });
    if (tty) process.stderr.write('\n');
    process.stdout.write(`${how.summary(summary, (performance.now() - began) / 1000)}\n`);
    for (const r of summary.refused.slice(0, 20)) {
      const label = how.label(r);
      process.stdout.write(
        `  line ${r.line}${label ? ` (${label})` : ''}: ${r.code}: ${r.detail}\n`,
      );
    }
    if (summary.refused.length > 20)
      process.stdout.write(`  … and ${summary.refused.length - 20} more\n`);
    process.exitCode = summary.refused.length ? 1 : 0;
  } finally {
    await runtime.close();
  }
}

const importPurchasesNow = (config: Config, log: Logger, args: string[]) =>
  importFile(config, log, args, {
    usage: 'tessera import purchases FILE (.csv | .jsonl) --program ID',
    run: importPurchases,
    bar: progressBar,
    summary: (s, secs) =>
      `${s.read} purchases read in ${secs.toFixed(1)} s: ${s.imported} imported ` +
      `(${s.points} points earned), ${s.skipped} already imported, ${s.refused.length} refused`,
    label: (r) => r.id,
  });

const importRewardsNow = (config: Config, log: Logger, args: string[]) =>
  importFile(config, log, args, {
    usage: 'tessera import rewards FILE.csv --program ID',
    run: importRewards,
    bar: rewardsProgressBar,
    summary: (s, secs) =>
      `${s.read} rewards read in ${secs.toFixed(1)} s: ${s.created} created, ` +
      `${s.updated} updated, ${s.refused.length} refused`,
    label: (r) => r.sku,
  });

async function keysCreate(config: Config, log: Logger, args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { program: { type: 'string' }, role: { type: 'string' }, name: { type: 'string' } },
  });
  const role = (values.role ?? 'admin') as Role;
  if (!ROLES.includes(role)) throw new ConfigError(`--role must be one of ${ROLES.join(', ')}`);
  if (!values.program && role !== 'admin')
    throw new ConfigError('a coalition key (no --program) must have role admin');
  const runtime = await open(config, log);
  try {
    const { apiKey, secret } = await createKey(
      runtime.deps,
      {
        programId: values.program ?? null,
        role,
        name: values.name ?? (values.program ? `${role} key` : 'coalition admin'),
      },
      null,
    );
    process.stderr.write(
      `Created ${apiKey.id} (${apiKey.programId ?? 'coalition'}, ${apiKey.role}); the key is shown once:\n`,
    );
    process.stdout.write(`${secret}\n`);
  } finally {
    await runtime.close();
  }
}

export async function main(argv: string[]): Promise<void> {
  const [command, sub, ...rest] = argv;
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const interactive = command !== 'start';
  const log = pino({ level: interactive && config.logLevel === 'info' ? 'warn' : config.logLevel });
  try {
    if (command === 'start') return await start(config, log);
    if (command === 'migrate') return await migrateOnly(config, log);
    if (command === 'keys' && sub === 'create') return await keysCreate(config, log, rest);
    if (command === 'expire') return await expireNow(config, log);
    if (command === 'reconcile') return await reconcileNow(config, log);
    if (command === 'tiers' && sub === 'evaluate') return await tiersEvaluate(config, log, rest);
    if (command === 'import' && sub === 'purchases')
      return await importPurchasesNow(config, log, rest);
    if (command === 'import' && sub === 'rewards') return await importRewardsNow(config, log, rest);
    process.stderr.write(`${USAGE}\n`);
    process.exit(command === undefined || command === 'help' || command === '--help' ? 0 : 2);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof DomainError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    log.fatal({ err: error }, 'tessera failed');
    process.stderr.write(`tessera: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
