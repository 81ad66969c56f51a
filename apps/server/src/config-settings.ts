/**
 * Every setting of roomring-server, once. A row gives the flag (`--a-b`), from which its
 * environment variable (`ROOMRING_A_B`) and config-file key (`aB`, also `a_b` or `a-b`)
 * follow, its kind (config-kinds.ts), default, bounds and help, and parses its value. The
 * table drives the parsing (config.ts), `--help`, and the settings table of
 * docs/configuration.md (a test fails when that table differs from `settingsMarkdown()`);
 * the type of ServerConfig is derived from it.
 */
import { hostname } from 'node:os';
import type { ProfileName } from '@roomring/node';
import { P2P_ADDRS_MAX } from '@roomring/protocol';
import {
  choice,
  clusterKey,
  hostPorts,
  integer,
  keyPairs,
  onOff,
  optionalInteger,
  requiredText,
  type Setting,
  text,
  url,
  urls,
} from './config-kinds.js';

export { ServerConfigError, type Setting, type SettingKind } from './config-kinds.js';
/** Webhook receivers one node posts to, at most: each costs a queue and deliveries. */
export const WEBHOOK_URLS_MAX = 8;
/** Heartbeats carry at most P2P_ADDRS_MAX addresses. */
export const P2P_ADVERTISE_MAX = P2P_ADDRS_MAX;

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

/** The node's profiles (packages/core `PROFILES`; a test checks both lists agree). */
export const PROFILE_NAMES = [
  'lan',
  'wan',
  'local',
  'test',
] as const satisfies readonly ProfileName[];
// Fails to compile when packages/core adds a profile this list lacks.
const PROFILES_LISTED: [Exclude<ProfileName, (typeof PROFILE_NAMES)[number]>] extends [never]
  ? true
  : never = true;
void PROFILES_LISTED;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

// ---------------------------------------------------------------------------------------
// The table. Keys are ServerConfig's fields; the order is --help's and the docs'.
// ---------------------------------------------------------------------------------------

export const SETTINGS = {
  region: requiredText({
    flag: 'region',
    arg: 'region',
    help: 'region this node serves; rooms created here get it as home region',
  }),
  nodeId: text({
    flag: 'node-id',
    arg: 'id',
    help: 'unique, stable node id (it names the node on the rings)',
    fallback: () => hostname(),
    defaultText: 'the host name',
  }),
  httpHost: text({
    flag: 'http-host',
    arg: 'addr',
    help: 'HTTP listen address',
    fallback: HTTP_HOST_DEFAULT,
  }),
  httpPort: integer({
    flag: 'http-port',
    arg: 'port',
    help: 'HTTP port; 0 picks a free one',
    fallback: HTTP_PORT_DEFAULT,
    min: 0,
    max: 65_535,
  }),
  advertiseUrl: url({
    flag: 'advertise-url',
    arg: 'url',
    help: "this API's URL as published to other nodes (set it when listening on 0.0.0.0)",
    defaultText: 'http://<http-host>:<http-port>',
  }),
  p2pHost: text({
    flag: 'p2p-host',
    arg: 'addr',
    help: 'cluster transport (libp2p) listen address',
    defaultText: 'the --http-host value',
  }),
  p2pPort: integer({
    flag: 'p2p-port',
    arg: 'port',
    help: 'cluster transport port; 0 picks a free one',
    fallback: P2P_PORT_DEFAULT,
    min: 0,
    max: 65_535,
  }),
  p2pAdvertise: hostPorts({
    flag: 'p2p-advertise',
    arg: 'host:port,...',
    help: 'cluster addresses other nodes dial instead of the listen addresses, for NAT and containers',
    defaultText: 'the listen addresses, routable first, loopback only if alone',
    max: P2P_ADVERTISE_MAX,
  }),
  seeds: hostPorts({
    flag: 'seeds',
    arg: 'host:port,...',
    help: "other nodes' p2p addresses to join through; re-dialled with back-off",
    defaultText: 'none',
  }),
  keys: keyPairs({
    flag: 'keys',
    arg: 'key:secret,...',
    help: 'API key pairs for access tokens; a secret may contain ":". livekit-server\'s LIVEKIT_KEYS (one "key: secret" per line) is read when ROOMRING_KEYS is not set',
    defaultText: 'required (--dev: devkey:secret)',
  }),
  clusterKey: clusterKey({
    flag: 'cluster-key',
    arg: 'hex',
    help: '64 hex characters shared by every node; nodes with another key cannot connect',
    defaultText: 'required (--dev: a fixed public key)',
  }),
  dataDir: text({
    flag: 'data-dir',
    arg: 'dir',
    help: 'directory for the libp2p identity file peer-key (mode 0600), so the peer id survives restarts; created if missing',
    defaultText: 'none: a new peer id per start',
  }),
  logLevel: choice({
    flag: 'log-level',
    arg: 'level',
    help: 'log level (pino JSON on stdout)',
    choices: LOG_LEVELS,
    fallback: 'info',
  }),
  dev: onOff({
    flag: 'dev',
    help: 'development mode: devkey:secret, a fixed public cluster key, profile local, min-acks 0 without seeds; logs a loud warning',
  }),
  profile: choice({
    flag: 'profile',
    arg: 'name',
    help: 'node timing profile (docs/configuration.md, Profiles)',
    choices: PROFILE_NAMES,
    defaultText: 'lan (--dev: local)',
  }),
  minAcks: optionalInteger({
    flag: 'min-acks',
    arg: 'n',
    help: 'other nodes that must hold a write before it is acknowledged',
    defaultText: '1 (--dev without seeds: 0)',
    min: 0,
    max: 16,
  }),
  weight: integer({
    flag: 'weight',
    arg: 'n',
    help: "capacity relative to the region's other nodes",
    fallback: 1,
    min: 1,
    max: 100,
  }),
  requestTimeoutMs: integer({
    flag: 'request-timeout-ms',
    arg: 'ms',
    help: `deadline of a request without X-Twirp-Timeout-Ms; a header may ask for up to ${REQUEST_TIMEOUT_MS_MAX}`,
    fallback: REQUEST_TIMEOUT_MS_DEFAULT,
    min: 1,
    max: REQUEST_TIMEOUT_MS_MAX,
  }),
  maxInFlight: integer({
    flag: 'max-in-flight',
    arg: 'n',
    help: 'requests served at once',
    fallback: MAX_IN_FLIGHT_DEFAULT,
    min: 1,
    max: 65_536,
  }),
  queueMax: integer({
    flag: 'queue-max',
    arg: 'n',
    help: 'requests waiting for a slot; more are shed with 429',
    fallback: QUEUE_MAX_DEFAULT,
    min: 0,
    max: 1_048_576,
  }),
  bodyBytesMax: integer({
    flag: 'body-bytes-max',
    arg: 'bytes',
    help: 'request body limit (Twirp and admin)',
    fallback: BODY_BYTES_MAX_DEFAULT,
    min: 1_024,
    max: 64 * 1_048_576,
  }),
  listRoomsMax: integer({
    flag: 'list-rooms-max',
    arg: 'n',
    help: 'rooms one ListRooms without names returns; a cut answer has the header X-Roomring-Truncated',
    fallback: LIST_ROOMS_MAX_DEFAULT,
    min: 1,
    max: 1_000_000,
  }),
  eventBufferBytesMax: integer({
    flag: 'event-buffer-bytes-max',
    arg: 'bytes',
    help: 'unsent bytes a /v1/events consumer may have before it is disconnected',
    fallback: EVENT_BUFFER_BYTES_MAX_DEFAULT,
    min: 1_024,
    max: 1_073_741_824,
  }),
  eventClientsMax: integer({
    flag: 'event-clients-max',
    arg: 'n',
    help: '/v1/events connections at once; more get 503',
    fallback: EVENT_CLIENTS_MAX_DEFAULT,
    min: 0,
    max: 65_536,
  }),
  webhookUrls: urls({
    flag: 'webhook-url',
    arg: 'url,...',
    help: 'where room_started / room_finished webhooks are POSTed, each URL with its own queue',
    defaultText: 'none (no webhooks)',
    max: WEBHOOK_URLS_MAX,
  }),
  webhookKey: text({
    flag: 'webhook-key',
    arg: 'key',
    help: 'the API key (one of --keys) whose secret signs webhooks',
    defaultText: 'the first of --keys',
  }),
  webhookQueueMax: integer({
    flag: 'webhook-queue-max',
    arg: 'n',
    help: 'webhooks waiting for delivery; newer ones are dropped (counted) when full',
    fallback: WEBHOOK_QUEUE_MAX_DEFAULT,
    min: 1,
    max: 1_048_576,
  }),
  unreportedRoomTtlMs: integer({
    flag: 'unreported-room-ttl-ms',
    arg: 'ms',
    help: 'a room no stats report reached closes this long after creation, instead of after its empty_timeout',
    fallback: 0,
    defaultText: "0: the room's empty_timeout, as LiveKit",
    min: 0,
    max: 366 * 86_400_000,
  }),
  keepUnreportedRooms: onOff({
    flag: 'keep-unreported-rooms',
    help: 'never close a room no stats report reached (for media servers that do not report)',
  }),
} as const;

/** Each setting's value as parsed, before the rules between settings (config.ts) apply. */
export type SettingValues = {
  -readonly [K in keyof typeof SETTINGS]: ReturnType<(typeof SETTINGS)[K]['parse']>;
};

/** The rows in table order. */
export const SETTING_ROWS: readonly Setting<unknown>[] = Object.values(SETTINGS);

/** The environment variable of `flag`: `--a-b` reads ROOMRING_A_B. */
export function envName(flag: string): string {
  return `ROOMRING_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** The config-file key of `flag` in camelCase (`a_b` and `a-b` are read too). */
export function fileKey(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
