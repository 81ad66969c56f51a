/**
 * Real database services for the baselines: a throw-away PostgreSQL and Redis, each in its own
 * temp dir, listening on 127.0.0.1 only, on a private port, stopped and deleted afterwards.
 *
 * Binaries come from Debian packages (`postgresql`, `redis-server`, `wrk`); `ensureTools`
 * installs a missing one with apt when we are root. Every child is tracked and SIGKILLed from a
 * process 'exit' hook, so a crashed or interrupted bench never leaves a database running.
 */
import { constants as fsConstants } from 'node:fs';
import { access, chown, readdir, readFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import pg from 'pg';
import {
  makeTempDir,
  removeTempDir,
  type SpawnInit,
  spawnTracked,
  stopChild,
  type Tracked,
} from './child.js';

export interface ServiceHandle {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Stops the service, waits for it to exit and deletes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

export type Tool = 'postgres' | 'redis' | 'wrk';

/** PostgreSQL's own default; the baseline pool uses 10, so 100 leaves room for several pools. */
export const DEFAULT_MAX_CONNECTIONS = 100;
/** initdb + first start take ~1-3 s here; 30 s only trips on a broken install. */
export const READY_TIMEOUT_MS = 30_000;
/** Interval between readiness probes: a failed local connect costs well under 1 ms. */
export const READY_POLL_MS = 50;
/** Binaries run through apt-installed packages; the key is our tool name. */
const APT_PACKAGES: ReadonlyMap<Tool, string> = new Map([
  ['postgres', 'postgresql'],
  ['redis', 'redis-server'],
  ['wrk', 'wrk'],
]);
/** Debian puts server binaries outside PATH, one dir per major version. */
const DEBIAN_PG_ROOT = '/usr/lib/postgresql';

/** A required binary is missing and could not be installed. */
export class ToolMissingError extends Error {
  override readonly name = 'ToolMissingError';
  constructor(
    readonly tool: string,
    message: string,
  ) {
    super(message);
  }
}

/** A service failed to start, or did not become ready within READY_TIMEOUT_MS. */
export class ServiceStartError extends Error {
  override readonly name = 'ServiceStartError';
  constructor(
    readonly service: string,
    message: string,
    readonly stderrTail: string,
  ) {
    super(stderrTail ? `${message}\n--- last output ---\n${stderrTail}` : message);
  }
}

// ---------------------------------------------------------------------------------------------
// Start helpers

/** Runs a command to completion; throws ServiceStartError with its output on failure. */
async function runToEnd(
  service: string,
  command: string,
  args: readonly string[],
  init: SpawnInit = {},
): Promise<string> {
  const run = spawnTracked(command, args, init);
  const exit = await run.exited;
  if (exit.code !== 0) {
    throw new ServiceStartError(
      service,
      `${command} ${args.join(' ')} failed (code ${exit.code}, signal ${exit.signal})`,
      run.tail(),
    );
  }
  return run.tail();
}

/** Polls `probe` until it resolves true; fails fast if the process exits, bounded by timeout. */
async function waitReady(
  service: string,
  run: Tracked,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (run.hasExited()) {
      throw new ServiceStartError(service, `${service} exited during start`, run.tail());
    }
    if (await probe()) return;
    if (Date.now() > deadline) {
      throw new ServiceStartError(
        service,
        `${service} not ready after ${READY_TIMEOUT_MS} ms`,
        run.tail(),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
}

// ---------------------------------------------------------------------------------------------
// Tools

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function onPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && (await isExecutable(join(dir, name)))) return join(dir, name);
  }
  return undefined;
}

/** `postgres`/`initdb` from the highest /usr/lib/postgresql/<major>/bin, else PATH. */
async function findPgBinary(name: 'postgres' | 'initdb'): Promise<string | undefined> {
  let majors: number[] = [];
  try {
    majors = (await readdir(DEBIAN_PG_ROOT))
      .map(Number)
      .filter((n) => Number.isInteger(n))
      .sort((a, b) => b - a);
  } catch {
    // not a Debian layout
  }
  for (const major of majors) {
    const path = join(DEBIAN_PG_ROOT, String(major), 'bin', name);
    if (await isExecutable(path)) return path;
  }
  return onPath(name);
}

async function toolPresent(tool: Tool): Promise<boolean> {
  switch (tool) {
    case 'postgres':
      return (
        (await findPgBinary('postgres')) !== undefined &&
        (await findPgBinary('initdb')) !== undefined
      );
    case 'redis':
      return (await onPath('redis-server')) !== undefined;
    case 'wrk':
      return (await onPath('wrk')) !== undefined;
  }
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

let aptUpdated: Promise<unknown> | undefined;

/**
 * Ensures the tools exist; if one is missing and we are root, runs `apt-get update` (once per
 * process) and `apt-get install -y --no-install-recommends` of the Debian packages
 * (postgresql, redis-server, wrk); not root -> throws ToolMissingError naming the apt command.
 */
export async function ensureTools(
  tools: readonly Tool[],
  log: (line: string) => void = () => {},
): Promise<void> {
  const missing: Tool[] = [];
  for (const tool of tools) if (!(await toolPresent(tool))) missing.push(tool);
  if (missing.length === 0) return;
  const packages = missing.map((tool) => APT_PACKAGES.get(tool)!);
  const command = `apt-get install -y --no-install-recommends ${packages.join(' ')}`;
  if (!isRoot()) {
    throw new ToolMissingError(
      missing.join(','),
      `missing ${missing.join(', ')}: run as root: apt-get update && ${command}`,
    );
  }
  log(`installing ${packages.join(' ')} with apt-get`);
  aptUpdated ??= runToEnd('apt', 'apt-get', ['update']);
  await aptUpdated;
  await runToEnd('apt', 'apt-get', ['install', '-y', '--no-install-recommends', ...packages]);
  for (const tool of missing) {
    if (!(await toolPresent(tool))) {
      throw new ToolMissingError(tool, `${tool} still missing after: ${command}`);
    }
  }
}

/** Binds port 0 on 127.0.0.1, closes, returns the port (racy in theory, fine on one host). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

export interface PostgresInit {
  /** TCP port on 127.0.0.1. @default a free port (freePort()) */
  port?: number;
  /** Server max_connections. @default DEFAULT_MAX_CONNECTIONS (100) */
  maxConnections?: number;
  /** Progress lines (initdb, start, ready). @default no logging */
  log?: (line: string) => void;
}

/** uid/gid of the `postgres` system user, from /etc/passwd (Debian's package creates it). */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  for (const line of passwd.split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name === 'postgres' && uid !== undefined && gid !== undefined) {
      return { uid: Number(uid), gid: Number(gid) };
    }
  }
  throw new ToolMissingError(
    'postgres',
    'running as root but there is no `postgres` user (postgres refuses to run as root); ' +
      'install the Debian package postgresql, which creates it',
  );
}

async function pgAccepts(port: number): Promise<boolean> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'postgres',
    connectionTimeoutMillis: 1000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * initdb into a fresh temp dir, start postgres on 127.0.0.1:port (unix socket in that dir),
 * trust auth, wait until it accepts connections, create database `bench`.
 *
 * Durability settings (fsync, synchronous_commit, full_page_writes) keep PostgreSQL's defaults
 * on purpose: the baseline is what users would deploy, and turning fsync off would flatter it.
 *
 * As root, initdb and postgres run as the `postgres` user through spawn's uid/gid rather than
 * `runuser -u postgres --`: runuser (su) stays as the parent and turns our SIGINT into SIGTERM
 * (postgres' "smart" shutdown, which waits for clients) and a SIGKILL of it orphans postgres.
 * With uid/gid the pid we hold is the postmaster's own, so signals mean what they say.
 */
export async function startPostgres(init: PostgresInit = {}): Promise<ServiceHandle> {
  const log = init.log ?? (() => {});
  const maxConnections = init.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const postgresBin = await findPgBinary('postgres');
  const initdbBin = await findPgBinary('initdb');
  if (!postgresBin || !initdbBin) {
    throw new ToolMissingError('postgres', 'postgres/initdb not found: ensureTools(["postgres"])');
  }
  const port = init.port ?? (await freePort());
  const user = isRoot() ? await postgresUser() : undefined;
  const dir = await makeTempDir('roomring-bench-pg-');
  const dataDir = join(dir, 'data');
  const asUser: SpawnInit = { cwd: dir, ...(user ?? {}) };
  let run: Tracked | undefined;
  try {
    if (user) await chown(dir, user.uid, user.gid);
    log(`postgres: initdb ${dataDir}`);
    // --no-sync only skips initdb's final flush of the template files (~1 s here); the
    // running server keeps fsync=on.
    await runToEnd(
      'postgres',
      initdbBin,
      ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
      asUser,
    );
    run = spawnTracked(
      postgresBin,
      [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `unix_socket_directories=${dir}`,
        '-c',
        `max_connections=${maxConnections}`,
      ],
      asUser,
    );
    const server = run;
    await waitReady('postgres', server, () => pgAccepts(port));
    const admin = new pg.Client({
      host: '127.0.0.1',
      port,
      user: 'postgres',
      database: 'postgres',
    });
    await admin.connect();
    try {
      await admin.query('CREATE DATABASE bench');
    } finally {
      await admin.end();
    }
    log(`postgres: ready on 127.0.0.1:${port} (pid ${server.child.pid})`);
  } catch (err) {
    if (run) await stopChild(run, 'SIGKILL');
    await removeTempDir(dir);
    throw err;
  }
  const server = run;
  let stopping: Promise<void> | undefined;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/bench`,
    port,
    pid: server.child.pid ?? -1,
    stop: () => {
      // SIGINT = postgres "fast" shutdown: aborts open sessions instead of waiting for them.
      stopping ??= stopChild(server, 'SIGINT').then(() => removeTempDir(dir));
      return stopping;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Redis

export interface RedisInit {
  /** TCP port on 127.0.0.1. @default a free port (freePort()) */
  port?: number;
}

/** One raw PING on a fresh socket; true on `+PONG`. */
function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}

/**
 * redis-server on 127.0.0.1:port, no persistence (`--save ''`, `--appendonly no`) as LiveKit's
 * multi-node mode uses it for ephemeral room state; ready when PING answers.
 */
export async function startRedis(init: RedisInit = {}): Promise<ServiceHandle> {
  const redisBin = await onPath('redis-server');
  if (!redisBin)
    throw new ToolMissingError('redis', 'redis-server not found: ensureTools(["redis"])');
  const port = init.port ?? (await freePort());
  const dir = await makeTempDir('roomring-bench-redis-');
  const run = spawnTracked(
    redisBin,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
      '--daemonize',
      'no',
    ],
    { cwd: dir },
  );
  try {
    await waitReady('redis', run, () => redisPing(port));
  } catch (err) {
    await stopChild(run, 'SIGKILL');
    await removeTempDir(dir);
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: run.child.pid ?? -1,
    stop: () => {
      // SIGTERM = SHUTDOWN; with no save points configured it writes nothing.
      stopping ??= stopChild(run, 'SIGTERM').then(() => removeTempDir(dir));
      return stopping;
    },
  };
}
