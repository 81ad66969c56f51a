/**
 * The incident replay's load generator: open-loop CreateRoom calls from the API clients of
 * several regions, in one of two client behaviours, with per-second statistics.
 *
 * - `at-once`: the incident's clients (/work/shared/incident-report.txt). Every attempt has
 *   its own timeout; a timeout, a network error, 5xx, 429 or 408 is retried IMMEDIATELY, with
 *   no delay and no budget, up to maxAttempts: a total outage multiplies the load by that.
 * - `policy`: packages/client's `createRoomringClient`, one per region (full-jitter back-off,
 *   ~10% retry budget, one deadline per call).
 *
 * Open loop: calls start at a fixed rate whatever the answers, as real users keep arriving.
 * A 10 ms tick starts `floor(rate x elapsed) - started` calls per region, so the schedule
 * never drifts and catches up when the event loop was late. Failover (as DNS/GSLB would do)
 * re-points a region's clients at another region's URL; every later attempt, retries of
 * calls already in flight included, goes there.
 *
 * Clock, interval timer, fetch and the output sinks are injected (STYLE.md habit 3): only
 * load.ts touches process, stdin/stdout and files. Pure helpers (PRNG, name choice,
 * schedule maths, percentiles, config and command parsing) are exported for unit tests.
 */
import { BlockList } from 'node:net';
import {
  createRoomringClient,
  type FetchLike,
  MAX_ATTEMPTS_LIMIT,
  mintAccessToken,
  type RoomringClient,
  RoomringError,
} from '@roomring/client';

// ---------------------------------------------------------------------------------------
// Contract types (the orchestrator, replay.ts, reads and writes exactly these)
// ---------------------------------------------------------------------------------------

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
  /** Seeds the name choice (mulberry32, one stream per region): a run's names replay. */
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

export interface RegionSecondStats {
  callsStarted: number;
  ok: number;
  failed: number;
  timedOut: number;
  attempts: number;
}

/** One stdout line per elapsed second. */
export interface SecondStats {
  type: 'second';
  /** Seconds since start: 1, 2, ... */
  t: number;
  callsStarted: number;
  attempts: number;
  ok: number;
  failed: number;
  timedOut: number;
  shed: number;
  /** Of calls that completed OK in this second (start to answer, retries included). */
  p50Ms: number | null;
  p99Ms: number | null;
  inFlight: number;
  /** Keyed by the clients' HOME region (failover does not move the key). */
  byRegion: Record<string, RegionSecondStats>;
}

/** The last stdout line. `calls` excludes shed calls (they never started). */
export interface DoneStats {
  type: 'done';
  calls: number;
  attempts: number;
  ok: number;
  failed: number;
  timedOut: number;
  shed: number;
  ackedNew: number;
  /** Percentiles of every call that succeeded in the run (start -> answer, retries included). */
  p50Ms: number | null;
  p99Ms: number | null;
  /** p99 of the calls that succeeded after the first failover command; null without one. */
  p99AfterFailoverMs: number | null;
}

/** Written once when the warm-up ends (warmupS > 0): recorded seconds follow. */
export interface RecordingLine {
  type: 'recording';
}

export type ControlCommand = { cmd: 'failover'; from: string; to: string } | { cmd: 'stop' };

// ---------------------------------------------------------------------------------------
// Limits and defaults
// ---------------------------------------------------------------------------------------

/** Scheduling tick: at 10,000 calls/s a tick starts ~100 calls, a batch the loop absorbs. */
export const TICK_INTERVAL_MS = 10;
/**
 * Latencies kept per second for percentiles (reservoir sampling beyond): 20k x 8 B = 160 KiB
 * and a sort of ~2 ms per second. The incident's 3 regions x ~1k calls/s stay far below, so
 * percentiles are exact there.
 */
export const LATENCY_SAMPLES_PER_SECOND_MAX = 20_000;

/** Latencies kept for the run-wide percentiles of the done line (8 B each: 1.6 MB); the
 *  replay's ~90k successful calls are all kept, a longer run is sampled uniformly. */
export const RUN_LATENCY_SAMPLES_MAX = 200_000;
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
/** Longest stdin control line; a longer one is dropped whole (commands are ~60 bytes). */
export const CONTROL_LINE_BYTES_MAX = 4_096;
/**
 * After stopping, in-flight calls get their own bound (at-once: maxAttempts x
 * attemptTimeoutMs; policy: callDeadlineMs, plus up to maxDelayMs of back-off already
 * inside it) plus this slack for the event loop; calls still open then are counted
 * `timedOut`, so the process always exits.
 */
export const DRAIN_SLACK_MS = 2_000;
/**
 * at-once clients reuse one token for this long (TTL 600 s, nbf back-dated 30 s): minting
 * costs ~5 us of HMAC, ~5% of a core at 10k calls/s that the generator must not spend.
 * policy clients mint per call, as packages/client does.
 */
export const TOKEN_REUSE_MS = 60_000;

export const CREATE_ROOM_PATH = '/twirp/livekit.RoomService/CreateRoom';

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/** The config file is not a valid LoadConfig (a programmer/operator error: exit 2). */
export class LoadConfigError extends Error {
  override readonly name = 'LoadConfigError';
}

/** A stdin control line is not a known command; the line is ignored (logged). */
export class ControlCommandError extends Error {
  override readonly name = 'ControlCommandError';
}

// ---------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1); plenty for name choice. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * The seed of region `index`'s stream: one stream per region keeps each region's name
 * sequence independent of how the regions' calls interleave.
 */
export function regionSeed(seed: number, index: number): number {
  return (seed + Math.imul(index + 1, 0x9e3779b9)) >>> 0;
}

export interface RoomChoice {
  name: string;
  isNew: boolean;
}

/** Picks each call's room: new with probability newFraction, else a uniform existing one. */
export class RoomChooser {
  readonly #region: RegionLoadConfig;
  readonly #random: () => number;
  #newSeq = 0;

  constructor(region: RegionLoadConfig, random: () => number) {
    this.#region = region;
    this.#random = random;
  }

  next(): RoomChoice {
    const { existing, newFraction, newPrefix } = this.#region;
    // Both draws are always made, so the stream advances the same whatever is chosen.
    const roll = this.#random();
    const pick = this.#random();
    if (existing.count === 0 || roll < newFraction) {
      const name = `${newPrefix}${this.#newSeq}`;
      this.#newSeq += 1;
      return { name, isNew: true };
    }
    return { name: `${existing.prefix}${Math.floor(pick * existing.count)}`, isNew: false };
  }
}

/**
 * Calls to start now so that `started` reaches floor(ratePerSec x elapsedMs / 1000): no
 * drift (the target is a function of elapsed time, not of ticks), catch-up after a late
 * tick. The 1e-9 absorbs float error (0.3 x 1000 / 1000 = 0.30000000000000004).
 */
export function callsDue(ratePerSec: number, elapsedMs: number, started: number): number {
  const target = Math.floor((ratePerSec * elapsedMs) / 1000 + 1e-9);
  return Math.max(0, target - started);
}

/** Nearest-rank percentile (q in (0, 1]) of ascending values; null when empty. */
export function percentile(sorted: ArrayLike<number>, q: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const rank = Math.ceil(q * n);
  return sorted[Math.min(n - 1, Math.max(0, rank - 1))]!;
}

/**
 * Latencies of a period (a second, or the whole run): all up to `capacity`, then a uniform sample
 * (Vitter's algorithm R), so memory stays bounded whatever the rate.
 */
export class LatencyReservoir {
  readonly #capacity: number;
  readonly #random: () => number;
  readonly #samples: Float64Array;
  #kept = 0;
  #seen = 0;

  constructor(capacity: number, random: () => number) {
    this.#capacity = capacity;
    this.#random = random;
    this.#samples = new Float64Array(capacity);
  }

  add(valueMs: number): void {
    this.#seen += 1;
    if (this.#kept < this.#capacity) {
      this.#samples[this.#kept] = valueMs;
      this.#kept += 1;
      return;
    }
    const slot = Math.floor(this.#random() * this.#seen);
    if (slot < this.#capacity) this.#samples[slot] = valueMs;
  }

  /** p50 and p99 of what was added since the last call, then empties. */
  takePercentiles(): { p50Ms: number | null; p99Ms: number | null } {
    const sorted = this.#samples.slice(0, this.#kept).sort();
    this.#kept = 0;
    this.#seen = 0;
    return { p50Ms: round2(percentile(sorted, 0.5)), p99Ms: round2(percentile(sorted, 0.99)) };
  }
}

function round2(v: number | null): number | null {
  return v === null ? null : Math.round(v * 100) / 100;
}

/** at-once: statuses worth an immediate retry (overload and gateway errors, timeouts). */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/**
 * Splits stdin into lines with a bounded buffer: a line longer than CONTROL_LINE_BYTES_MAX
 * is dropped whole (reported once), so a runaway writer cannot grow memory.
 */
export class LineSplitter {
  readonly #maxChars: number;
  #buffer = '';
  #discarding = false;

  constructor(maxChars: number = CONTROL_LINE_BYTES_MAX) {
    this.#maxChars = maxChars;
  }

  /** Complete lines in `chunk` (without '\n') and how many over-long lines were dropped. */
  push(chunk: string): { lines: string[]; dropped: number } {
    const lines: string[] = [];
    let dropped = 0;
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', from);
      const piece = chunk.slice(from, nl === -1 ? undefined : nl);
      if (!this.#discarding) {
        this.#buffer += piece;
        if (this.#buffer.length > this.#maxChars) {
          this.#buffer = '';
          this.#discarding = true;
          dropped += 1;
        }
      }
      if (nl === -1) return { lines, dropped };
      if (!this.#discarding) lines.push(this.#buffer);
      this.#buffer = '';
      this.#discarding = false;
      from = nl + 1;
    }
  }
}

/** Parses one stdin line; empty lines are undefined; unknown shapes throw ControlCommandError. */
export function parseControlLine(line: string): ControlCommand | undefined {
  const text = line.trim();
  if (text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ControlCommandError(`control line is not JSON: ${text.slice(0, 100)}`);
  }
  if (!isRecord(value)) throw new ControlCommandError('control line is not a JSON object');
  const cmd = own(value, 'cmd');
  if (cmd === 'stop') return { cmd: 'stop' };
  if (cmd === 'failover') {
    const from = own(value, 'from');
    const to = own(value, 'to');
    if (typeof from !== 'string' || typeof to !== 'string') {
      throw new ControlCommandError('failover needs string "from" and "to"');
    }
    return { cmd: 'failover', from, to };
  }
  throw new ControlCommandError(`unknown command ${JSON.stringify(cmd)}`);
}

// ---------------------------------------------------------------------------------------
// Config validation
// ---------------------------------------------------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Own properties only: a config cannot smuggle values in through `__proto__`. */
function own(o: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
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

function parseTransport(value: unknown): HttpTransport {
  if (value === undefined) return DEFAULT_TRANSPORT;
  if (value === 'fetch' || value === 'node-http') return value;
  throw new LoadConfigError('transport must be "fetch" or "node-http"');
}

/** How long in-flight calls may take once no new call starts (see DRAIN_SLACK_MS). */
export function drainBoundMs(config: LoadConfig): number {
  const callBoundMs =
    config.mode === 'at-once'
      ? config.maxAttempts * config.attemptTimeoutMs
      : config.callDeadlineMs;
  return callBoundMs + DRAIN_SLACK_MS;
}

// ---------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------

export interface LoadRunInit {
  config: LoadConfig;
  /** Monotonic milliseconds (load.ts: performance.now). */
  nowMs: () => number;
  /** Wall clock, unix ms: token `nbf`/`exp` only (load.ts: Date.now). */
  unixNowMs: () => number;
  /** Repeating timer; returns its canceller (load.ts: setInterval / clearInterval). */
  setInterval: (fn: () => void, everyMs: number) => () => void;
  /** The HTTP client of both modes (load.ts builds it from config.transport). */
  http: LoadHttp;
  /** Receives each per-second line, then the done line. */
  emit: (line: SecondStats | DoneStats | RecordingLine) => void;
  /** An acknowledged NEW room (load.ts appends `${name}\t${sid}\n` to ackedPath). */
  ack: (name: string, sid: string) => void;
  /** Diagnostics (stderr). */
  log: (message: string) => void;
}

/** An answer as at-once clients need it. */
export interface PostAnswer {
  status: number;
  text: string;
}

/** The two views of one HTTP client the run needs; load.ts adapts fetch or node:http. */
export interface LoadHttp {
  /**
   * One POST of an at-once attempt. Rejects with an error named `TimeoutError` once
   * `timeoutMs` has passed (answer or body not complete), with any other error on a
   * network failure.
   */
  post(
    url: string,
    headers: Record<string, string>,
    body: string,
    timeoutMs: number,
  ): Promise<PostAnswer>;
  /** For packages/client (policy mode), which enforces its own deadline via init.signal. */
  fetch: FetchLike;
}

export interface LoadRun {
  /** Applies a stdin command: failover re-points, stop ends call starts now. */
  command(cmd: ControlCommand): void;
  /** Resolves with the done line (already emitted) once in-flight calls have drained. */
  readonly done: Promise<DoneStats>;
}

type CallOutcome = { kind: 'ok'; sid: string } | { kind: 'failed' } | { kind: 'timedOut' };

function zeroCounts(): RegionSecondStats {
  return { callsStarted: 0, ok: 0, failed: 0, timedOut: 0, attempts: 0 };
}

interface RegionState {
  readonly config: RegionLoadConfig;
  readonly chooser: RoomChooser;
  /** Calls scheduled so far: started + shed (the open-loop schedule's position). */
  scheduled: number;
  /** Current target root: the region's own URL until a failover re-points it. */
  route: string;
  /** policy mode only; set right after the state exists (its fetch reads `route`). */
  client: RoomringClient | undefined;
  /** policy mode: client.counters().attempts at the last second boundary. */
  attemptsSeen: number;
  second: RegionSecondStats;
}

/** Starts the run at once; the first second line comes ~1 s later. */
export function startLoadRun(init: LoadRunInit): LoadRun {
  const { config, nowMs, emit, ack, log } = init;
  const fetchImpl = init.http.fetch;
  const startMs = nowMs();
  const warmupS = config.warmupS ?? 0;
  const durationMs = (warmupS + config.durationS) * 1000;
  let recording = warmupS === 0;
  const regions = new Map<string, RegionState>();
  config.regions.forEach((region, index) => {
    const state: RegionState = {
      config: region,
      chooser: new RoomChooser(region, mulberry32(regionSeed(config.seed, index))),
      scheduled: 0,
      route: region.url,
      client: undefined,
      attemptsSeen: 0,
      second: zeroCounts(),
    };
    state.client = policyClient(state);
    regions.set(region.name, state);
  });

  const totals = { calls: 0, attempts: 0, ok: 0, failed: 0, timedOut: 0, shed: 0, ackedNew: 0 };
  const latencies = new LatencyReservoir(
    LATENCY_SAMPLES_PER_SECOND_MAX,
    mulberry32(regionSeed(config.seed, REGIONS_MAX)),
  );
  const runLatencies = new LatencyReservoir(
    RUN_LATENCY_SAMPLES_MAX,
    mulberry32(regionSeed(config.seed, REGIONS_MAX + 1)),
  );
  let afterFailover: LatencyReservoir | undefined;
  let secondShed = 0;
  let inFlight = 0;
  let nextSecond = 1;
  let stoppedAtMs: number | undefined;
  let finished = false;
  let token = { value: '', mintedAtMs: Number.NEGATIVE_INFINITY };

  let resolveDone!: (done: DoneStats) => void;
  const done = new Promise<DoneStats>((resolve) => {
    resolveDone = resolve;
  });

  function policyClient(state: RegionState): RoomringClient | undefined {
    if (config.mode !== 'policy') return undefined;
    const base = state.config.url;
    // The client keeps its baseUrl; this wrapper swaps the root for the region's CURRENT
    // route on every attempt, so a failover reaches retries of calls already in flight.
    const routed: FetchLike = (url, req) =>
      fetchImpl(url.startsWith(base) ? `${state.route}${url.slice(base.length)}` : url, req);
    return createRoomringClient({
      baseUrl: base,
      apiKey: config.apiKey,
      apiSecret: config.apiSecret,
      defaultDeadlineMs: config.callDeadlineMs,
      retry: { maxAttempts: config.maxAttempts },
      fetch: routed,
    });
  }

  function atOnceHeaders(): Record<string, string> {
    const now = init.unixNowMs();
    if (now - token.mintedAtMs > TOKEN_REUSE_MS) {
      token = {
        value: mintAccessToken(config.apiKey, config.apiSecret, { roomCreate: true }, now),
        mintedAtMs: now,
      };
    }
    return { Authorization: `Bearer ${token.value}`, 'Content-Type': 'application/json' };
  }

  async function callAtOnce(
    state: RegionState,
    name: string,
    recorded: boolean,
  ): Promise<CallOutcome> {
    const body = JSON.stringify({ name });
    let last: CallOutcome = { kind: 'failed' };
    for (let attempt = 1; attempt <= config.maxAttempts; attempt++) {
      if (recorded) {
        state.second.attempts += 1;
        totals.attempts += 1;
      }
      try {
        // state.route is read per attempt: a failover redirects the retries too.
        const response = await init.http.post(
          `${state.route}${CREATE_ROOM_PATH}`,
          atOnceHeaders(),
          body,
          config.attemptTimeoutMs,
        );
        if (response.status >= 200 && response.status < 300) {
          const sid = roomSid(response.text);
          return sid === undefined ? { kind: 'failed' } : { kind: 'ok', sid };
        }
        last = response.status === 408 ? { kind: 'timedOut' } : { kind: 'failed' };
        if (!isRetryableStatus(response.status)) return last;
      } catch (err) {
        last = isTimeoutError(err) ? { kind: 'timedOut' } : { kind: 'failed' };
      }
    }
    return last;
  }

  async function callPolicy(client: RoomringClient, name: string): Promise<CallOutcome> {
    try {
      const room = await client.createRoom({ name });
      return { kind: 'ok', sid: room.sid };
    } catch (err) {
      if (err instanceof RoomringError) {
        // The local deadline and the server's 408 are both `deadline_exceeded`.
        return err.code === 'deadline_exceeded' ? { kind: 'timedOut' } : { kind: 'failed' };
      }
      log(`unexpected error from the client: ${String(err)}`);
      return { kind: 'failed' };
    }
  }

  function startCall(state: RegionState): void {
    if (inFlight >= config.inFlightMax) {
      if (recording) {
        totals.shed += 1;
        secondShed += 1;
      }
      return;
    }
    const { name, isNew } = state.chooser.next();
    const recorded = recording;
    inFlight += 1;
    if (recorded) {
      totals.calls += 1;
      state.second.callsStarted += 1;
    }
    const callStartMs = nowMs();
    const call = state.client ? callPolicy(state.client, name) : callAtOnce(state, name, recorded);
    void call.then((outcome) => {
      // A call ending after the drain bound was already counted timedOut by finish(), and
      // the acked file may be closed: it changes nothing any more.
      if (finished) return;
      inFlight -= 1;
      if (!recorded) {
        // A warm-up call: only its acknowledged new room matters (the lost-room check).
        if (outcome.kind === 'ok' && isNew) {
          totals.ackedNew += 1;
          ack(name, outcome.sid);
        }
        return;
      }
      // Counted at completion, in whatever second that is.
      if (outcome.kind === 'ok') {
        state.second.ok += 1;
        totals.ok += 1;
        const latencyMs = nowMs() - callStartMs;
        latencies.add(latencyMs);
        runLatencies.add(latencyMs);
        afterFailover?.add(latencyMs);
        if (isNew) {
          totals.ackedNew += 1;
          ack(name, outcome.sid);
        }
      } else if (outcome.kind === 'timedOut') {
        state.second.timedOut += 1;
        totals.timedOut += 1;
      } else {
        state.second.failed += 1;
        totals.failed += 1;
      }
    });
  }

  function emitSecond(t: number): void {
    if (t <= warmupS) {
      // A warm-up second: read and drop its counts, then start recording after the last.
      for (const state of regions.values()) {
        if (state.client) state.attemptsSeen = state.client.counters().attempts;
        state.second = zeroCounts();
      }
      latencies.takePercentiles();
      secondShed = 0;
      if (t === warmupS) {
        recording = true;
        emit({ type: 'recording' });
      }
      return;
    }
    emitRecordedSecond(t - warmupS);
  }

  function emitRecordedSecond(t: number): void {
    const byRegion = new Map<string, RegionSecondStats>();
    const line: SecondStats = {
      type: 'second',
      t,
      callsStarted: 0,
      attempts: 0,
      ok: 0,
      failed: 0,
      timedOut: 0,
      shed: secondShed,
      p50Ms: null,
      p99Ms: null,
      inFlight,
      byRegion: {},
    };
    for (const [name, state] of regions) {
      const counts = state.second;
      if (state.client) {
        const attempts = state.client.counters().attempts;
        counts.attempts = attempts - state.attemptsSeen;
        totals.attempts += counts.attempts;
        state.attemptsSeen = attempts;
      }
      line.callsStarted += counts.callsStarted;
      line.attempts += counts.attempts;
      line.ok += counts.ok;
      line.failed += counts.failed;
      line.timedOut += counts.timedOut;
      byRegion.set(name, counts);
      state.second = zeroCounts();
    }
    const { p50Ms, p99Ms } = latencies.takePercentiles();
    line.p50Ms = p50Ms;
    line.p99Ms = p99Ms;
    line.byRegion = Object.fromEntries(byRegion);
    secondShed = 0;
    emit(line);
  }

  function finish(): void {
    finished = true;
    cancelTick();
    // Attempts made since the last second line (policy counters are read at boundaries).
    for (const state of regions.values()) {
      if (state.client) totals.attempts += state.client.counters().attempts - state.attemptsSeen;
    }
    if (inFlight > 0) log(`${inFlight} calls still in flight past the drain bound: timedOut`);
    const run = runLatencies.takePercentiles();
    const line: DoneStats = {
      type: 'done',
      ...totals,
      timedOut: totals.timedOut + inFlight,
      p50Ms: run.p50Ms,
      p99Ms: run.p99Ms,
      p99AfterFailoverMs: afterFailover?.takePercentiles().p99Ms ?? null,
    };
    emit(line);
    resolveDone(line);
  }

  function stop(atMs: number): void {
    if (stoppedAtMs === undefined) stoppedAtMs = atMs;
  }

  /** Starts every call due by `untilMs` (capped at the run's duration). */
  function startDue(untilMs: number): void {
    if (stoppedAtMs !== undefined) return;
    const scheduleMs = Math.min(untilMs, durationMs);
    for (const state of regions.values()) {
      const due = callsDue(state.config.ratePerSec, scheduleMs, state.scheduled);
      state.scheduled += due;
      for (let i = 0; i < due; i++) startCall(state);
    }
    if (untilMs >= durationMs) stop(untilMs);
  }

  function tick(): void {
    const elapsedMs = nowMs() - startMs;
    // Calls due before a second's boundary are started, and counted, in that second even
    // when the tick comes late: callsStarted per second is exactly the rate unless shed.
    while (elapsedMs >= nextSecond * 1000) {
      startDue(nextSecond * 1000);
      emitSecond(nextSecond);
      nextSecond += 1;
    }
    startDue(elapsedMs);
    if (stoppedAtMs !== undefined) {
      if (inFlight === 0 || elapsedMs - stoppedAtMs >= drainBoundMs(config)) finish();
    }
  }

  const cancelTick = init.setInterval(tick, TICK_INTERVAL_MS);

  return {
    command(cmd) {
      if (cmd.cmd === 'stop') {
        stop(nowMs() - startMs);
        return;
      }
      const from = regions.get(cmd.from);
      const to = regions.get(cmd.to);
      if (from === undefined || to === undefined) {
        log(`failover ignored: unknown region in ${JSON.stringify(cmd)}`);
        return;
      }
      afterFailover ??= new LatencyReservoir(
        RUN_LATENCY_SAMPLES_MAX,
        mulberry32(regionSeed(config.seed, REGIONS_MAX + 2)),
      );
      // Every region routed to `from` (itself, or one failed over to it earlier) follows.
      const deadRoute = from.route;
      for (const state of regions.values()) if (state.route === deadRoute) state.route = to.route;
      log(`failover ${cmd.from} -> ${cmd.to}: now ${to.route}`);
    },
    done,
  };
}

/** The `sid` of a Room JSON answer, or undefined when the body is not one. */
function roomSid(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const sid = own(value, 'sid');
  return typeof sid === 'string' && sid !== '' ? sid : undefined;
}

/** AbortSignal.timeout aborts with a DOMException named TimeoutError; node-http mimics it. */
function isTimeoutError(err: unknown): boolean {
  return err instanceof Error && err.name === 'TimeoutError';
}
