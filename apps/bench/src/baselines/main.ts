/**
 * Baseline server process: `--backend pg|redis --db-url URL --api-key K --api-secret S
 * [--port 0] [--pool-size 10] [--rtt-ms 0] [--statement-timeout-ms 0]
 * [--request-timeout-ms 5000] [--cache-rooms-max 1000000] [--warm-prefix P]`.
 * Listens on 127.0.0.1 only, warms the pg cache if asked, then prints `ready <port>` on
 * stdout. The pg schema must exist (ensureSchema) before the first server starts. Exit code 2
 * on a bad flag, 1 on a start failure; SIGTERM/SIGINT close it cleanly.
 */
import { parseArgs } from 'node:util';
import { BaselineConfigError } from './options.js';
import type { RoomBackend } from './room.js';

const HOST = '127.0.0.1';

const OPTIONS = {
  backend: { type: 'string' },
  port: { type: 'string' },
  'db-url': { type: 'string' },
  'pool-size': { type: 'string' },
  'rtt-ms': { type: 'string' },
  'statement-timeout-ms': { type: 'string' },
  'request-timeout-ms': { type: 'string' },
  'cache-rooms-max': { type: 'string' },
  'warm-prefix': { type: 'string' },
  'api-key': { type: 'string' },
  'api-secret': { type: 'string' },
} as const;

interface MainConfig {
  backend: 'pg' | 'redis';
  port: number;
  dbUrl: string;
  poolSize: number | undefined;
  rttMs: number | undefined;
  statementTimeoutMs: number | undefined;
  requestTimeoutMs: number | undefined;
  cacheRoomsMax: number | undefined;
  warmPrefix: string | undefined;
  apiKey: string;
  apiSecret: string;
}

function integer(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new BaselineConfigError(`--${flag} must be a whole number`);
  return Number(raw);
}

function required(flag: string, raw: string | undefined): string {
  if (raw === undefined || raw === '') throw new BaselineConfigError(`--${flag} is required`);
  return raw;
}

/** Flags -> config; throws BaselineConfigError (or parseArgs' TypeError on unknown flags). */
function parseMainArgs(args: readonly string[]): MainConfig {
  const { values } = parseArgs({ args: [...args], options: OPTIONS, strict: true });
  const backend = required('backend', values.backend);
  if (backend !== 'pg' && backend !== 'redis') {
    throw new BaselineConfigError(`--backend must be pg or redis, got ${backend}`);
  }
  if (values['warm-prefix'] !== undefined && backend !== 'pg') {
    throw new BaselineConfigError('--warm-prefix needs --backend pg (Redis has no cache)');
  }
  const port = integer('port', values.port) ?? 0;
  if (port > 65_535) throw new BaselineConfigError('--port must be at most 65535');
  return {
    backend,
    port,
    dbUrl: required('db-url', values['db-url']),
    poolSize: integer('pool-size', values['pool-size']),
    rttMs: integer('rtt-ms', values['rtt-ms']),
    statementTimeoutMs: integer('statement-timeout-ms', values['statement-timeout-ms']),
    requestTimeoutMs: integer('request-timeout-ms', values['request-timeout-ms']),
    cacheRoomsMax: integer('cache-rooms-max', values['cache-rooms-max']),
    warmPrefix: values['warm-prefix'],
    apiKey: required('api-key', values['api-key']),
    apiSecret: required('api-secret', values['api-secret']),
  };
}

async function start(config: MainConfig): Promise<void> {
  // Loaded after the flags are checked: a bad flag exits at once, not after ~5 s of imports.
  const { createPgBackend } = await import('./pg-backend.js');
  const { createRedisBackend } = await import('./redis-backend.js');
  const { buildBaselineApp } = await import('./twirp-app.js');
  let backend: RoomBackend;
  if (config.backend === 'pg') {
    const pg = await createPgBackend({
      url: config.dbUrl,
      ...(config.poolSize !== undefined ? { poolSize: config.poolSize } : {}),
      ...(config.rttMs !== undefined ? { rttMs: config.rttMs } : {}),
      ...(config.statementTimeoutMs !== undefined
        ? { statementTimeoutMs: config.statementTimeoutMs }
        : {}),
      ...(config.cacheRoomsMax !== undefined ? { cacheRoomsMax: config.cacheRoomsMax } : {}),
    });
    if (config.warmPrefix !== undefined) await pg.warmCache(config.warmPrefix);
    backend = pg;
  } else {
    if (config.poolSize !== undefined || config.cacheRoomsMax !== undefined) {
      throw new BaselineConfigError('--pool-size and --cache-rooms-max need --backend pg');
    }
    backend = await createRedisBackend({
      url: config.dbUrl,
      ...(config.rttMs !== undefined ? { rttMs: config.rttMs } : {}),
    });
  }
  const app = buildBaselineApp({
    backend,
    keys: new Map([[config.apiKey, config.apiSecret]]),
    ...(config.requestTimeoutMs !== undefined ? { requestTimeoutMs: config.requestTimeoutMs } : {}),
  });
  await app.listen({ host: HOST, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  let closing = false;
  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    void app
      .close()
      .then(() => backend.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.stdout.write(`ready ${port}\n`);
}

let config: MainConfig;
try {
  config = parseMainArgs(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`baseline: ${(error as Error).message}\n`);
  process.exit(2);
}
start(config).catch((error: unknown) => {
  process.stderr.write(`baseline: failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
