/**
 * The server's configuration: command-line flags, `ROOMRING_*` environment variables and an
 * optional JSON file (`--config`), validated into one frozen `ServerConfig`. Precedence:
 * flag > environment > file > default. A bad value throws `ServerConfigError` naming the
 * setting; main.ts prints it and exits with status 2.
 */
import { hostname } from 'node:os';
import { P2P_ADDRS_MAX, ROOM_METADATA_BYTES_MAX } from '@roomring/protocol';
import { Command, CommanderError, Option } from 'commander';
import { ConfigFileError, readConfigFile } from './config-file.js';
import { versionLine } from './version.js';

/** Webhook receivers one node posts to, at most: each costs a queue and deliveries. */
export const WEBHOOK_URLS_MAX = 8;

export type ProfileName = 'lan' | 'wan' | 'local' | 'test';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Defaults, one named constant each (units last). */
export const HTTP_HOST_DEFAULT = '127.0.0.1';
export const HTTP_PORT_DEFAULT = 7880;
export const P2P_PORT_DEFAULT = 7900;
/** LiveKit's server SDKs time out after 10 s; 5 s leaves them room to see our answer. */
export const REQUEST_TIMEOUT_MS_DEFAULT = 5_000;
/** A caller may ask for more time than the default, up to this: it holds an admission slot
 *  that long at most. */
export const REQUEST_TIMEOUT_MS_MAX = 60_000;
/** In-memory answers take ~0.1 ms and writes one replica round trip (~1-2 ms): 256 at once
 *  keep 2 cores busy without letting a stalled partner pin thousands of sockets. */
export const MAX_IN_FLIGHT_DEFAULT = 256;
/** 4 x maxInFlight: about 4 service times of backlog before shedding. */
export const QUEUE_MAX_DEFAULT = 1_024;
/** Twirp bodies: a CreateRoom with 64 KiB metadata is < 400 KiB even fully \u-escaped. */
export const BODY_BYTES_MAX_DEFAULT = 1_048_576;
/** Buffered bytes per event-stream consumer before it is disconnected (~3,000 events). */
export const EVENT_BUFFER_BYTES_MAX_DEFAULT = 1_048_576;
/** Event-stream connections at once: 256 x 1 MiB bounds their buffers to 256 MiB. */
export const EVENT_CLIENTS_MAX_DEFAULT = 256;
/** Webhooks waiting for delivery; past it new ones are dropped (counted). */
export const WEBHOOK_QUEUE_MAX_DEFAULT = 1_024;
/** ListRooms without names answers at most this many rooms (~300 B each in JSON: 3 MB). */
export const LIST_ROOMS_MAX_DEFAULT = 10_000;
/** Fixed development cluster key (`--dev` only): never use it in production. */
export const DEV_CLUSTER_KEY = 'de7de7de7de7de7de7de7de7de7de7de7de7de7de7de7de7de7de7de7de7de7d';
export const DEV_KEYS: ReadonlyMap<string, string> = new Map([['devkey', 'secret']]);

const PROFILES: readonly ProfileName[] = ['lan', 'wan', 'local', 'test'];
const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];
const CLUSTER_KEY_PATTERN = /^[0-9a-fA-F]{64}$/;

export interface ServerConfig {
  region: string;
  nodeId: string;
  httpHost: string;
  /** 0 picks a free port at start. */
  httpPort: number;
  /** URL other nodes and tools use to reach this API; default http://<http-host>:<port>. */
  advertiseUrl: string | undefined;
  p2pHost: string;
  p2pPort: number;
  /** `host:port` addresses other nodes dial instead of the listen addresses (NAT,
   *  containers); empty = the listen addresses, routable first. */
  p2pAdvertise: readonly string[];
  seeds: readonly string[];
  /** API key -> secret. A Map: keys arrive in untrusted tokens (PLATFORM.md). */
  keys: ReadonlyMap<string, string>;
  clusterKey: string;
  dataDir: string | undefined;
  logLevel: LogLevel;
  dev: boolean;
  profile: ProfileName;
  minAcks: number | undefined;
  weight: number;
  requestTimeoutMs: number;
  maxInFlight: number;
  queueMax: number;
  bodyBytesMax: number;
  metadataBytesMax: number;
  listRoomsMax: number;
  eventBufferBytesMax: number;
  eventClientsMax: number;
  /** Every URL gets every webhook (at most WEBHOOK_URLS_MAX). */
  webhookUrls: readonly string[];
  webhookKey: string | undefined;
  webhookQueueMax: number;
  /** Rooms no stats report reached: closed after this long (ms); 0 = after their
   *  empty_timeout, as LiveKit closes a room nobody joined. */
  unreportedRoomTtlMs: number;
  /** Rooms no stats report reached are never closed (the node's own default). */
  keepUnreportedRooms: boolean;
  /** livekit-server config keys the --config file held and roomring ignores (warned at start). */
  configIgnored: readonly string[];
}

/** A setting is missing or out of range. `setting` is the flag name without dashes. */
export class ServerConfigError extends Error {
  override readonly name = 'ServerConfigError';
  readonly code = 'ERR_SERVER_CONFIG';
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`invalid setting --${setting}: ${message}`);
  }
}

/** Asked for --help or --version: print `output` and exit 0. */
export class HelpRequested extends Error {
  override readonly name = 'HelpRequested';
  constructor(readonly output: string) {
    super('help requested');
  }
}

interface FlagSpec {
  flag: string;
  /** Placeholder of the value in --help. */
  arg?: string;
  description: string;
  defaultText?: string;
  boolean?: boolean;
}

/** Every flag; `--a-b <value>` reads env ROOMRING_A_B and file key `aB`. */
const FLAGS: readonly FlagSpec[] = [
  { flag: 'region', arg: 'region', description: 'region this node serves (required)' },
  { flag: 'node-id', arg: 'id', description: 'unique node id', defaultText: 'the host name' },
  {
    flag: 'http-host',
    arg: 'addr',
    description: 'HTTP listen address',
    defaultText: HTTP_HOST_DEFAULT,
  },
  {
    flag: 'http-port',
    arg: 'port',
    description: 'HTTP port (0 = a free one)',
    defaultText: String(HTTP_PORT_DEFAULT),
  },
  {
    flag: 'advertise-url',
    arg: 'url',
    description: "this API's URL as other nodes see it",
    defaultText: 'http://<http-host>:<http-port>',
  },
  {
    flag: 'p2p-host',
    arg: 'addr',
    description: 'cluster transport listen address',
    defaultText: 'http-host',
  },
  {
    flag: 'p2p-port',
    arg: 'port',
    description: 'cluster transport port (0 = a free one)',
    defaultText: String(P2P_PORT_DEFAULT),
  },
  {
    flag: 'p2p-advertise',
    arg: 'host:port,...',
    description: 'cluster address(es) other nodes dial, for NAT or containers (at most 16)',
    defaultText: 'the listen addresses, routable first, loopback only if alone',
  },
  {
    flag: 'seeds',
    arg: 'host:port,...',
    description: 'p2p addresses of other nodes to join through',
    defaultText: 'none',
  },
  {
    flag: 'keys',
    arg: 'key:secret,...',
    description: 'API key:secret,... pairs (required without --dev; LIVEKIT_KEYS also read)',
    defaultText: '--dev: devkey:secret',
  },
  {
    flag: 'cluster-key',
    arg: 'hex',
    description: '64 hex chars shared by every node (required without --dev)',
  },
  {
    flag: 'data-dir',
    arg: 'dir',
    description:
      'directory for the libp2p identity file peer-key, so the peer id survives restarts; created if missing',
    defaultText: 'none: a new peer id per start',
  },
  {
    flag: 'log-level',
    arg: 'level',
    description: LOG_LEVELS.join('|'),
    defaultText: 'info',
  },
  {
    flag: 'dev',
    description:
      'development mode: devkey:secret, a fixed cluster key, profile local, min-acks 0 without seeds',
    boolean: true,
  },
  {
    flag: 'profile',
    arg: 'name',
    description: PROFILES.join('|'),
    defaultText: 'lan (--dev: local)',
  },
  {
    flag: 'min-acks',
    arg: 'n',
    description: 'other nodes that must hold a write before it is acknowledged',
    defaultText: '1 (--dev without seeds: 0)',
  },
  {
    flag: 'weight',
    arg: 'n',
    description: 'capacity relative to the region (1..100)',
    defaultText: '1',
  },
  {
    flag: 'request-timeout-ms',
    arg: 'ms',
    description: `deadline of a request without X-Twirp-Timeout-Ms (max ${REQUEST_TIMEOUT_MS_MAX})`,
    defaultText: String(REQUEST_TIMEOUT_MS_DEFAULT),
  },
  {
    flag: 'max-in-flight',
    arg: 'n',
    description: 'requests served at once',
    defaultText: String(MAX_IN_FLIGHT_DEFAULT),
  },
  {
    flag: 'queue-max',
    arg: 'n',
    description: 'requests waiting for a slot; past it 429',
    defaultText: String(QUEUE_MAX_DEFAULT),
  },
  {
    flag: 'body-bytes-max',
    arg: 'bytes',
    description: 'request body limit',
    defaultText: String(BODY_BYTES_MAX_DEFAULT),
  },
  {
    flag: 'list-rooms-max',
    arg: 'n',
    description: 'rooms one ListRooms (no names) returns at most',
    defaultText: String(LIST_ROOMS_MAX_DEFAULT),
  },
  {
    flag: 'event-buffer-bytes-max',
    arg: 'bytes',
    description: 'buffered bytes per /v1/events consumer before it is disconnected',
    defaultText: String(EVENT_BUFFER_BYTES_MAX_DEFAULT),
  },
  {
    flag: 'event-clients-max',
    arg: 'n',
    description: '/v1/events connections at once',
    defaultText: String(EVENT_CLIENTS_MAX_DEFAULT),
  },
  {
    flag: 'webhook-url',
    arg: 'url,...',
    description: `POST room_started / room_finished webhooks to each of these (at most ${WEBHOOK_URLS_MAX})`,
  },
  {
    flag: 'webhook-key',
    arg: 'key',
    description: 'API key whose secret signs webhooks',
    defaultText: 'the first key',
  },
  {
    flag: 'webhook-queue-max',
    arg: 'n',
    description: 'webhooks waiting for delivery; past it dropped (counted)',
    defaultText: String(WEBHOOK_QUEUE_MAX_DEFAULT),
  },
  {
    flag: 'unreported-room-ttl-ms',
    arg: 'ms',
    description:
      'a room nobody reports stats for closes this long after creation, instead of after its empty_timeout',
    defaultText: '0: its empty_timeout, as LiveKit',
  },
  {
    flag: 'keep-unreported-rooms',
    description:
      'never close a room nobody reports stats for (media servers report; the API alone does not)',
    boolean: true,
  },
];

function camel(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export function envName(flag: string): string {
  return `ROOMRING_${flag.toUpperCase().replace(/-/g, '_')}`;
}

function buildCommand(): Command {
  const program = new Command('roomring-server')
    .description('roomring node: LiveKit-compatible RoomService, admin API and event stream')
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
    .allowExcessArguments(false)
    .option('--config <file>', 'YAML or JSON file of settings (flag names, or livekit-server keys)')
    .option('--version', 'print the version and exit');
  for (const spec of FLAGS) {
    const suffix = spec.defaultText !== undefined ? ` (default: ${spec.defaultText})` : '';
    const option = new Option(
      spec.boolean ? `--${spec.flag}` : `--${spec.flag} <${spec.arg ?? 'value'}>`,
      `${spec.description}${suffix} [env ${envName(spec.flag)}]`,
    );
    program.addOption(option);
  }
  return program;
}

/** The --help text (also printed by main.ts for `--help`). */
export function helpText(): string {
  return buildCommand().helpInformation();
}

type Raw = Map<string, unknown>;

function readFile(path: string): { raw: Raw; ignored: string[] } {
  try {
    const { settings, ignored } = readConfigFile(path, new Set(FLAGS.map((f) => f.flag)));
    return { raw: settings, ignored };
  } catch (error) {
    if (error instanceof ConfigFileError) throw new ServerConfigError('config', error.message);
    throw error;
  }
}

function text(raw: Raw, flag: string): string | undefined {
  const value = raw.get(flag);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return value.join(',');
  if (typeof value !== 'string') throw new ServerConfigError(flag, 'must be a string');
  return value;
}

function integer(raw: Raw, flag: string, fallback: number, min: number, max: number): number {
  const value = text(raw, flag);
  if (value === undefined || value === '') return fallback;
  if (!/^\d+$/.test(value.trim())) {
    throw new ServerConfigError(flag, `must be an integer, got "${value}"`);
  }
  const n = Number(value.trim());
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ServerConfigError(flag, `must be between ${min} and ${max}, got ${value}`);
  }
  return n;
}

function oneOf<T extends string>(raw: Raw, flag: string, allowed: readonly T[], fallback: T): T {
  const value = text(raw, flag);
  if (value === undefined || value === '') return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ServerConfigError(flag, `must be one of ${allowed.join(', ')}, got "${value}"`);
  }
  return value as T;
}

function list(raw: Raw, flag: string): string[] {
  const value = text(raw, flag);
  if (value === undefined) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Heartbeats carry at most P2P_ADDRS_MAX addresses. */
const P2P_ADVERTISE_MAX = P2P_ADDRS_MAX;

/** A list of `host:port` (`[ipv6]:port`) for `flag`, each port 1..65535. */
function hostPorts(raw: Raw, flag: string): string[] {
  const entries = list(raw, flag);
  for (const entry of entries) {
    const match = /^(?:\[[0-9a-fA-F:.]+\]|[^:/[\]\s]+):(\d{1,5})$/.exec(entry);
    if (!match || Number(match[1]) < 1 || Number(match[1]) > 65_535) {
      throw new ServerConfigError(flag, `"${entry}" is not host:port`);
    }
  }
  return entries;
}

function parseAdvertise(raw: Raw): string[] {
  const advertise = hostPorts(raw, 'p2p-advertise');
  if (advertise.length > P2P_ADVERTISE_MAX) {
    throw new ServerConfigError('p2p-advertise', `at most ${P2P_ADVERTISE_MAX} addresses`);
  }
  return advertise;
}

/** `key:secret,...`; also livekit-server's LIVEKIT_KEYS shape, one `key: secret` per line. */
function parseKeys(raw: Raw): Map<string, string> {
  const keys = new Map<string, string>();
  const pairs = (text(raw, 'keys') ?? '')
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const pair of pairs) {
    const colon = pair.indexOf(':');
    const key = colon > 0 ? pair.slice(0, colon).trim() : '';
    const secret = colon > 0 ? pair.slice(colon + 1).trim() : '';
    if (!key || !secret) throw new ServerConfigError('keys', 'each entry must be key:secret');
    if (keys.has(key)) throw new ServerConfigError('keys', `key ${key} is given twice`);
    keys.set(key, secret);
  }
  return keys;
}

function parseUrls(raw: Raw, flag: string): string[] {
  const urls = list(raw, flag).map((value) => checkUrl(flag, value));
  if (urls.length > WEBHOOK_URLS_MAX) {
    throw new ServerConfigError(flag, `at most ${WEBHOOK_URLS_MAX} URLs`);
  }
  if (new Set(urls).size !== urls.length) throw new ServerConfigError(flag, 'a URL is given twice');
  return urls;
}

function parseUrl(raw: Raw, flag: string): string | undefined {
  const value = text(raw, flag);
  if (value === undefined || value === '') return undefined;
  return checkUrl(flag, value);
}

function checkUrl(flag: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ServerConfigError(flag, `"${value}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ServerConfigError(flag, 'must be an http:// or https:// URL');
  }
  return value.replace(/\/+$/, '');
}

/**
 * Parses `argv` (without node and script, e.g. `process.argv.slice(2)`) and `env`.
 * Throws ServerConfigError for a bad setting and HelpRequested for --help.
 */
export function parseServerConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): Readonly<ServerConfig> {
  const program = buildCommand();
  // `pnpm run start -- --flag` passes the `--` through; it ends nothing here.
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  try {
    program.parse(args, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.help') {
        throw new HelpRequested(program.helpInformation());
      }
      const flag = /'--?([a-z0-9-]+)/.exec(error.message)?.[1] ?? 'arguments';
      throw new ServerConfigError(flag, error.message.replace(/^error: /, ''));
    }
    throw error;
  }
  const options = program.opts<Record<string, unknown>>();
  if (options.version === true) throw new HelpRequested(versionLine('roomring-server'));
  const configPath = (options.config as string | undefined) ?? env.ROOMRING_CONFIG;
  const file = configPath ? readFile(configPath) : { raw: new Map(), ignored: [] };
  const raw: Raw = file.raw;
  for (const spec of FLAGS) {
    // livekit-server's LIVEKIT_KEYS works too (ROOMRING_KEYS wins when both are set).
    const fromEnv =
      env[envName(spec.flag)] ?? (spec.flag === 'keys' ? env.LIVEKIT_KEYS : undefined);
    const value = options[camel(spec.flag)] ?? fromEnv;
    if (value !== undefined) raw.set(spec.flag, value);
  }
  const config = resolve(raw);
  return file.ignored.length > 0
    ? Object.freeze({ ...config, configIgnored: file.ignored })
    : config;
}

function boolean(raw: Raw, flag: string): boolean {
  const value = raw.get(flag);
  if (value === undefined || value === false || value === 'false' || value === '0') return false;
  if (value === true || value === 'true' || value === '1' || value === '') return true;
  throw new ServerConfigError(flag, 'must be true or false');
}

function resolve(raw: Raw): Readonly<ServerConfig> {
  const dev = boolean(raw, 'dev');
  const region = text(raw, 'region');
  if (!region) throw new ServerConfigError('region', 'is required');
  const nodeId = text(raw, 'node-id') || hostname();
  const keys = parseKeys(raw);
  if (keys.size === 0) {
    if (!dev) throw new ServerConfigError('keys', 'is required (key:secret,...) without --dev');
    for (const [key, secret] of DEV_KEYS) keys.set(key, secret);
  }
  let clusterKey = text(raw, 'cluster-key');
  if (!clusterKey) {
    if (!dev)
      throw new ServerConfigError('cluster-key', 'is required (64 hex chars) without --dev');
    clusterKey = DEV_CLUSTER_KEY;
  }
  if (!CLUSTER_KEY_PATTERN.test(clusterKey)) {
    throw new ServerConfigError('cluster-key', 'must be 64 hex characters (32 bytes)');
  }
  const seeds = hostPorts(raw, 'seeds');
  const httpHost = text(raw, 'http-host') || HTTP_HOST_DEFAULT;
  const webhookKey = text(raw, 'webhook-key') || undefined;
  if (webhookKey !== undefined && !keys.has(webhookKey)) {
    throw new ServerConfigError('webhook-key', `${webhookKey} is not one of --keys`);
  }
  const minAcksText = text(raw, 'min-acks');
  return Object.freeze({
    region,
    nodeId,
    httpHost,
    httpPort: integer(raw, 'http-port', HTTP_PORT_DEFAULT, 0, 65_535),
    advertiseUrl: parseUrl(raw, 'advertise-url'),
    p2pHost: text(raw, 'p2p-host') || httpHost,
    p2pPort: integer(raw, 'p2p-port', P2P_PORT_DEFAULT, 0, 65_535),
    p2pAdvertise: Object.freeze(parseAdvertise(raw)),
    seeds: Object.freeze(seeds),
    keys,
    clusterKey,
    dataDir: text(raw, 'data-dir') || undefined,
    logLevel: oneOf(raw, 'log-level', LOG_LEVELS, 'info'),
    dev,
    profile: oneOf(raw, 'profile', PROFILES, dev ? 'local' : 'lan'),
    minAcks:
      minAcksText !== undefined && minAcksText !== ''
        ? integer(raw, 'min-acks', 1, 0, 16)
        : dev && seeds.length === 0
          ? 0
          : undefined,
    weight: integer(raw, 'weight', 1, 1, 100),
    requestTimeoutMs: integer(
      raw,
      'request-timeout-ms',
      REQUEST_TIMEOUT_MS_DEFAULT,
      1,
      REQUEST_TIMEOUT_MS_MAX,
    ),
    maxInFlight: integer(raw, 'max-in-flight', MAX_IN_FLIGHT_DEFAULT, 1, 65_536),
    queueMax: integer(raw, 'queue-max', QUEUE_MAX_DEFAULT, 0, 1_048_576),
    bodyBytesMax: integer(raw, 'body-bytes-max', BODY_BYTES_MAX_DEFAULT, 1_024, 64 * 1_048_576),
    metadataBytesMax: ROOM_METADATA_BYTES_MAX,
    listRoomsMax: integer(raw, 'list-rooms-max', LIST_ROOMS_MAX_DEFAULT, 1, 1_000_000),
    eventBufferBytesMax: integer(
      raw,
      'event-buffer-bytes-max',
      EVENT_BUFFER_BYTES_MAX_DEFAULT,
      1_024,
      1_073_741_824,
    ),
    eventClientsMax: integer(raw, 'event-clients-max', EVENT_CLIENTS_MAX_DEFAULT, 0, 65_536),
    webhookUrls: parseUrls(raw, 'webhook-url'),
    webhookKey: webhookKey ?? keys.keys().next().value,
    webhookQueueMax: integer(raw, 'webhook-queue-max', WEBHOOK_QUEUE_MAX_DEFAULT, 1, 1_048_576),
    unreportedRoomTtlMs: integer(raw, 'unreported-room-ttl-ms', 0, 0, 366 * 86_400_000),
    keepUnreportedRooms: boolean(raw, 'keep-unreported-rooms'),
    configIgnored: [],
  });
}

/** Config for tests and embedding: defaults with `overrides` applied, validated. */
export function serverConfig(overrides: Partial<ServerConfig> & { region: string }): ServerConfig {
  const base = resolve(
    new Map<string, unknown>([
      ['region', overrides.region],
      ['dev', true],
      ['node-id', overrides.nodeId ?? 'node-1'],
    ]),
  );
  return Object.freeze({ ...base, ...overrides });
}

/** Names of every flag, for the README drift test. */
export const FLAG_NAMES: readonly string[] = ['config', ...FLAGS.map((f) => f.flag)];
