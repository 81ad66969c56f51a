/**
 * The daemon: config -> registry node -> HTTP facade. Exit codes: 0 after a graceful stop
 * (SIGTERM / SIGINT: close HTTP, leave the cluster), 1 when starting fails, 2 for a bad
 * setting (the message names it).
 */
import { createServer } from 'node:net';
import type { RegistryNode } from '@roomring/node';
import {
  HelpRequested,
  parseServerConfig,
  type ServerConfig,
  ServerConfigError,
} from './config.js';
import { createLogger } from './logger.js';

/** A second signal, or a stop that takes longer than this, exits at once. */
const SHUTDOWN_TIMEOUT_MS = 10_000;
/** LiveKit suggests secrets of at least 32 characters. */
const SECRET_CHARS_MIN = 32;

function fail(message: string, code: number): never {
  process.stderr.write(`roomring-server: ${message}\n`);
  process.exit(code);
}

function loadConfig(): Readonly<ServerConfig> {
  try {
    return parseServerConfig(process.argv.slice(2));
  } catch (error) {
    if (error instanceof HelpRequested) {
      process.stdout.write(error.output);
      process.exit(0);
    }
    if (error instanceof ServerConfigError) fail(`${error.message} (see --help)`, 2);
    throw error;
  }
}

/** A free TCP port on `host` (for --http-port 0: the URL must be known before the node
 *  starts, since heartbeats carry it). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** Fails with one line, before the node joins anyone, when `host:port` is taken (another
 *  node, often a second `roomring up`): libp2p's own error is a stack trace that advises a
 *  setting roomring does not have. Another error (no such address) is left to the start. */
async function requirePortFree(host: string, port: number, flag: string): Promise<void> {
  if (port === 0) return;
  const inUse = await new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE'));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(false)));
  });
  if (inUse) {
    fail(`${urlHost(host)}:${port} is already in use (${flag}): is another node running?`, 1);
  }
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

const config = loadConfig();
const logger = createLogger(config.logLevel, config.nodeId, config.region);

if (config.dev) {
  const banner = '!'.repeat(72);
  for (const line of [
    banner,
    'DEVELOPMENT MODE (--dev): API key "devkey" with secret "secret" and a PUBLIC, FIXED',
    'cluster key. Anyone can call this API and join this cluster. NEVER use --dev in production.',
    config.minAcks === 0
      ? 'min-acks is 0: writes are acknowledged before any other node holds them.'
      : '',
    banner,
  ]) {
    if (line) logger.warn(line);
  }
}
if (config.configIgnored.length > 0) {
  logger.warn(
    { keys: config.configIgnored },
    'livekit-server settings in the config file that roomring does not use were ignored',
  );
}
for (const [key, secret] of config.keys) {
  if (!config.dev && secret.length < SECRET_CHARS_MIN) {
    logger.warn({ key }, `API secret shorter than ${SECRET_CHARS_MIN} characters`);
  }
}

// Loaded only once the settings are good, so --help and a refused start return at once
// instead of after loading libp2p. @roomring/node comes first: it installs the
// Promise.withResolvers polyfill libp2p needs on Node 20.
const { ConfigError, createRegistryNode } = await import('@roomring/node');
const { buildApp } = await import('./app.js');
const { loadOrCreatePeerKey } = await import('./peer-key.js');
const { logOwnershipMoves } = await import('./ownership-log.js');
const { logMemberChanges } = await import('./member-log.js');

await requirePortFree(config.httpHost, config.httpPort, '--http-port');
await requirePortFree(config.p2pHost, config.p2pPort, '--p2p-port');
const httpPort = config.httpPort || (await freePort(config.httpHost));
const httpUrl = config.advertiseUrl ?? `http://${urlHost(config.httpHost)}:${httpPort}`;
if (!config.advertiseUrl && (config.httpHost === '0.0.0.0' || config.httpHost === '::')) {
  logger.warn('listening on all interfaces: set --advertise-url so peers publish a reachable URL');
}

let node: RegistryNode;
try {
  const peerKey = config.dataDir ? loadOrCreatePeerKey(config.dataDir) : undefined;
  if (peerKey?.created) logger.info({ dataDir: config.dataDir }, 'created a new peer key');
  node = createRegistryNode({
    nodeId: config.nodeId,
    region: config.region,
    clusterKey: config.clusterKey,
    p2pHost: config.p2pHost,
    p2pPort: config.p2pPort,
    ...(config.p2pAdvertise.length > 0 ? { p2pAdvertise: config.p2pAdvertise } : {}),
    seeds: config.seeds,
    profile: config.profile,
    weight: config.weight,
    httpUrl,
    defaultDeadlineMs: config.requestTimeoutMs,
    // As LiveKit: a room nobody joined (no stats report) closes after its empty_timeout, by
    // its owner, with room_finished; --unreported-room-ttl-ms or --keep-unreported-rooms
    // say otherwise.
    unreportedRoomsUseEmptyTimeout: !config.keepUnreportedRooms && config.unreportedRoomTtlMs === 0,
    unreportedRoomTtlMs: config.keepUnreportedRooms ? 0 : config.unreportedRoomTtlMs,
    ...(config.minAcks !== undefined ? { minAcks: config.minAcks } : {}),
    ...(peerKey ? { privateKey: peerKey.key } : {}),
  });
} catch (error) {
  if (error instanceof ConfigError) fail(error.message, 2);
  logger.fatal({ err: error }, 'cannot create the node');
  process.exit(1);
}

// A timer, handler or task of the node threw: caught and counted (roomring_node_events_total
// {group="errors"}); it is a bug, so it is logged at error with its context.
node.on('internal-error', ({ kind, context, error }) =>
  logger.error({ err: error, kind, context }, 'internal error caught; the node goes on'),
);
// Member transitions, with why (membership.ts MemberChangeReason): an operator's first
// question when a node was suspected is whether it fell silent or its connection dropped.
logMemberChanges(node, logger);
logOwnershipMoves(node, logger, Date.now);
node.on('listener-error', ({ event, error }) =>
  logger.error({ err: error, event }, 'an event listener threw; the node goes on'),
);

const app = buildApp({ node, config, logger });
try {
  await node.start();
  await app.listen({ host: config.httpHost, port: httpPort });
} catch (error) {
  logger.fatal({ err: error }, 'start failed');
  await node.stop().catch(() => undefined);
  process.exit(1);
}
// The one line tools wait for: at info even when --log-level is warn or error.
const startupLogger = config.logLevel === 'silent' ? logger : logger.child({}, { level: 'info' });
startupLogger.info(
  {
    event: 'listening',
    http: httpUrl,
    p2p: node.p2p.listenAddresses(),
    peerId: node.peerId,
    seeds: config.seeds,
    profile: node.config.profile,
    minAcks: node.config.minAcks,
  },
  'roomring server listening',
);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  logger.info({ signal }, 'stopping');
  setTimeout(() => {
    logger.error('stop took too long: exiting');
    process.exit(1);
  }, SHUTDOWN_TIMEOUT_MS).unref();
  try {
    await app.close();
    await node.stop();
  } catch (error) {
    logger.error({ err: error }, 'error while stopping');
    process.exit(1);
  }
  logger.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
