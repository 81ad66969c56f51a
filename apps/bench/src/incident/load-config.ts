/**
 * The load generator's configuration: the JSON file replay.ts writes (the contract types
 * below), its limits, and `parseLoadConfig`, which validates and freezes it.
 */
import { BlockList } from 'node:net';
import { MAX_ATTEMPTS_LIMIT } from '@roomring/client';
import { isRecord, own } from './json-object.js';

export type LoadMode = 'at-once' | 'policy';

export interface RegionLoadConfig {
  /** Region name, e.g. `us-east`; trusted config, unique. */
  name: string;
  /** The region's API root, e.g. `http://127.0.0.1:7880`; on 127.0.0.1, or on a host of
   *  @roomring/hosts (198.18.0.0/15). */
  url: string;
  /** Calls started per second by this region's clients (open loop). */
  ratePerSec: number;
  /** Existing rooms: `${prefix}${i}`, i uniform in [0, count). */
  existing: { prefix: string; count: number };
  /** Share of calls, in [0, 1], that create a new room `${newPrefix}${seq}`. */
  newFraction: number;
  newPrefix: string;
}

export interface LoadConfig {
  mode: LoadMode;
  apiKey: string;
  apiSecret: string;
  /**
   * Seeds the name choice (mulberry32, one stream per region): a run's names replay. Also
   * seeds the policy clients' back-off jitter and request ids (one stream per region).
   */
  seed: number;
  /** Stop starting calls after this; then wait for in-flight calls (bounded) and exit. */
  durationS: number;
  /**
   * Unrecorded load before the recorded `durationS`, at the same rates and in the same
   * process (so the clients' code and connections are warm too): no second line is written
   * for it, its calls are left out of every count and percentile (their new rooms still go
   * to the acked file; in policy mode a retry a warm-up call makes after it ends is counted,
   * as attempts come from the client's counters), and the first recorded second is t=1.
   * @default 0
   */
  warmupS?: number;
  /** Calls in flight beyond this are not started and are counted `shed`. */
  inFlightMax: number;
  /** at-once mode: one attempt's timeout (the API's max wait). */
  attemptTimeoutMs: number;
  /** Both modes: attempts per call, the first included (policy: retry.maxAttempts). */
  maxAttempts: number;
  /** policy mode: the per-call deadline (the client's defaultDeadlineMs). */
  callDeadlineMs: number;
  /** One line per acknowledged NEW room: `${name}\t${sid}\n`. */
  ackedPath: string;
  regions: RegionLoadConfig[];
  /**
   * HTTP client of both modes. `fetch` = the global fetch (undici), as SDK users call the
   * API. `node-http` = node:http with a keep-alive agent: measured here 3-4x cheaper per
   * request (one process, 32 concurrent: ~3-4k vs ~0.8-1.5k requests/s on this busy 2-core
   * machine), so the generator does not saturate before the server does at the replay's
   * 1,200 calls/s, let alone its retry storms. The requests on the wire are the same.
   * @default 'fetch'
   */
  transport?: HttpTransport;
}

export type HttpTransport = 'fetch' | 'node-http';
export const DEFAULT_TRANSPORT: HttpTransport = 'fetch';

/** Hard cap of `inFlightMax`: each in-flight call holds a socket (ulimit) and ~10 KiB. */
export const IN_FLIGHT_MAX_LIMIT = 100_000;
/** Regions per run: the replay uses 3; 16 leaves room without unbounded config. */
export const REGIONS_MAX = 16;
/** Largest rate per region: 100k calls/s is ~5x what this 2-core machine can send at all. */
export const RATE_PER_SEC_MAX = 100_000;
/** Longest run: one day. */
export const DURATION_S_MAX = 86_400;
/** Longest attempt timeout or call deadline accepted: 10 minutes. */
export const TIMEOUT_MS_MAX = 600_000;
/** Longest room prefix: names stay well under LiveKit's 256-byte limit with a 20-digit index. */
export const ROOM_PREFIX_CHARS_MAX = 200;
/**
 * After stopping, in-flight calls get their own bound (at-once: maxAttempts x
 * attemptTimeoutMs; policy: callDeadlineMs, plus up to maxDelayMs of back-off already
 * inside it) plus this slack for the event loop; calls still open then are counted
 * `timedOut`, so the process always exits.
 */
export const DRAIN_SLACK_MS = 2_000;

/** The config file is not a valid LoadConfig (a programmer/operator error: exit 2). */
export class LoadConfigError extends Error {
  override readonly name = 'LoadConfigError';
}

/** How long in-flight calls may take once no new call starts (see DRAIN_SLACK_MS). */
export function drainBoundMs(config: LoadConfig): number {
  const callBoundMs =
    config.mode === 'at-once'
      ? config.maxAttempts * config.attemptTimeoutMs
      : config.callDeadlineMs;
  return callBoundMs + DRAIN_SLACK_MS;
}

function num(o: Record<string, unknown>, path: string, key: string, min: number, max: number) {
  const v = own(o, key);
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new LoadConfigError(`${path}${key} must be a number in [${min}, ${max}]`);
  }
  return v;
}

function int(o: Record<string, unknown>, path: string, key: string, min: number, max: number) {
  const v = num(o, path, key, min, max);
  if (!Number.isInteger(v)) throw new LoadConfigError(`${path}${key} must be an integer`);
  return v;
}

function str(o: Record<string, unknown>, path: string, key: string, maxChars: number) {
  const v = own(o, key);
  if (typeof v !== 'string' || v.length > maxChars) {
    throw new LoadConfigError(`${path}${key} must be a string of at most ${maxChars} chars`);
  }
  return v;
}

function nonEmpty(o: Record<string, unknown>, path: string, key: string, maxChars: number) {
  const v = str(o, path, key, maxChars);
  if (v === '') throw new LoadConfigError(`${path}${key} must not be empty`);
  return v;
}

/** Where the load may go: this machine, and the benchmarking range (RFC 2544) that only the
 *  network namespaces of @roomring/hosts use (`bench:incident -- --hosts`). */
const LOAD_TARGETS = new BlockList();
LOAD_TARGETS.addAddress('127.0.0.1', 'ipv4');
LOAD_TARGETS.addSubnet('198.18.0.0', 15, 'ipv4');

/**
 * `http://<address>:port[/prefix]` without a trailing slash (the form packages/client
 * normalises its baseUrl to, so the policy-mode fetch wrapper can swap the prefix). Only
 * 127.0.0.1 or 198.18.0.0/15 (the hosts harness): this tool generates overload and must never
 * aim it at another address.
 */
export function normaliseRegionUrl(raw: string, path: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LoadConfigError(`${path}url is not a URL`);
  }
  if (
    url.protocol !== 'http:' ||
    !/^\d+\.\d+\.\d+\.\d+$/.test(url.hostname) ||
    !LOAD_TARGETS.check(url.hostname, 'ipv4')
  ) {
    throw new LoadConfigError(
      `${path}url must be http://127.0.0.1:<port> or a 198.18.0.0/15 host, got ${raw}`,
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw new LoadConfigError(`${path}url must have no query or fragment`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function parseRegion(value: unknown, index: number): RegionLoadConfig {
  const path = `regions[${index}].`;
  if (!isRecord(value)) throw new LoadConfigError(`regions[${index}] must be an object`);
  const existing = own(value, 'existing');
  if (!isRecord(existing)) throw new LoadConfigError(`${path}existing must be an object`);
  return Object.freeze({
    name: nonEmpty(value, path, 'name', 64),
    url: normaliseRegionUrl(str(value, path, 'url', 200), path),
    ratePerSec: num(value, path, 'ratePerSec', 0, RATE_PER_SEC_MAX),
    existing: Object.freeze({
      prefix: str(existing, `${path}existing.`, 'prefix', ROOM_PREFIX_CHARS_MAX),
      count: int(existing, `${path}existing.`, 'count', 0, 1_000_000_000),
    }),
    newFraction: num(value, path, 'newFraction', 0, 1),
    newPrefix: nonEmpty(value, path, 'newPrefix', ROOM_PREFIX_CHARS_MAX),
  });
}

function parseTransport(value: unknown): HttpTransport {
  if (value === undefined) return DEFAULT_TRANSPORT;
  if (value === 'fetch' || value === 'node-http') return value;
  throw new LoadConfigError('transport must be "fetch" or "node-http"');
}

/** Validates and freezes a parsed config file; throws LoadConfigError naming the field. */
export function parseLoadConfig(value: unknown): LoadConfig {
  if (!isRecord(value)) throw new LoadConfigError('config must be a JSON object');
  const mode = own(value, 'mode');
  if (mode !== 'at-once' && mode !== 'policy') {
    throw new LoadConfigError('mode must be "at-once" or "policy"');
  }
  const rawRegions = own(value, 'regions');
  if (!Array.isArray(rawRegions) || rawRegions.length === 0 || rawRegions.length > REGIONS_MAX) {
    throw new LoadConfigError(`regions must be an array of 1..${REGIONS_MAX} regions`);
  }
  const regions = rawRegions.map(parseRegion);
  const names = new Set(regions.map((r) => r.name));
  if (names.size !== regions.length) throw new LoadConfigError('region names must be unique');
  return Object.freeze({
    mode,
    apiKey: nonEmpty(value, '', 'apiKey', 256),
    apiSecret: nonEmpty(value, '', 'apiSecret', 1024),
    seed: int(value, '', 'seed', 0, 2 ** 32 - 1),
    durationS: num(value, '', 'durationS', 0.001, DURATION_S_MAX),
    warmupS: own(value, 'warmupS') === undefined ? 0 : int(value, '', 'warmupS', 0, DURATION_S_MAX),
    inFlightMax: int(value, '', 'inFlightMax', 1, IN_FLIGHT_MAX_LIMIT),
    attemptTimeoutMs: num(value, '', 'attemptTimeoutMs', 1, TIMEOUT_MS_MAX),
    maxAttempts: int(value, '', 'maxAttempts', 1, MAX_ATTEMPTS_LIMIT),
    callDeadlineMs: num(value, '', 'callDeadlineMs', 1, TIMEOUT_MS_MAX),
    ackedPath: nonEmpty(value, '', 'ackedPath', 4096),
    regions: Object.freeze(regions) as RegionLoadConfig[],
    transport: parseTransport(own(value, 'transport')),
  });
}
