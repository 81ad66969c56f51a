/**
 * Maximum throughput of an HTTP POST endpoint with wrk (closed loop: each connection sends its
 * next request as soon as the previous answer arrives).
 *
 * wrk, not autocannon, because autocannon itself needs a whole core on this 2-core machine and
 * caps near 57k req/s, which hides the difference between in-memory servers; wrk measured a
 * bare node:http server at 73k-78k req/s here (PLATFORM.md, "HTTP load generation").
 *
 * Bodies come from a generated Lua script: body i = bodyPrefix + i + bodySuffix, so one target
 * can hit N existing rooms (bodyCount N) or only new rooms (huge bodyCount, fresh prefix).
 *
 * With `ratePerSec` the same script paces wrk to a fixed rate (rate.ts): its `delay()` hook
 * hands each request the next slot of a schedule, one slot every 1/rate s per thread, read
 * from the monotonic clock through LuaJIT's ffi (wrk's Lua has no clock of its own).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, parseResultLine, removeTempDir, spawnTracked } from './child.js';

export interface HttpTarget {
  /** Full URL of the POST, e.g. http://127.0.0.1:7880/twirp/livekit.RoomService/CreateRoom. */
  url: string;
  headers: Record<string, string>;
  /**
   * Request bodies: the Lua script cycles through `bodyCount` bodies built as
   * bodyPrefix + index + bodySuffix (e.g. '{"name":"room-' + i + '"}'), index from
   * startIndex, wrapping at bodyCount; bodyCount 1 = a fixed body. Use this for
   * existing rooms (cycle over N known names) and new rooms (huge bodyCount, unique prefix).
   * Request n uses index startIndex + (n mod bodyCount), so runs with startIndex 0, 10M, 20M
   * and bodyCount <= 10M never share a body.
   */
  bodyPrefix: string;
  bodySuffix: string;
  bodyCount: number;
  /** @default 0 */
  startIndex?: number;
}

export interface WrkInit {
  /** Open connections; PLATFORM.md's figures use 64. @default DEFAULT_CONNECTIONS (64) */
  connections?: number;
  /** wrk threads: 1 keeps a core for the server on 2 cores. @default DEFAULT_WRK_THREADS (1) */
  threads?: number;
  /** Whole seconds (wrk's unit); at least 1. */
  durationS: number;
  /** A response slower than this counts as a timeout. @default DEFAULT_TIMEOUT_S (2) */
  timeoutS?: number;
  /**
   * Requests per second over all threads, paced (paceScript); absent: as fast as the server
   * answers. At most PACED_RATE_MAX.
   */
  ratePerSec?: number;
}

export interface LoadResult {
  /** Responses received (any status). */
  requests: number;
  durationS: number;
  /** 2xx responses per second (responses that were neither an error status nor timed out). */
  rps: number;
  non2xx: number;
  /** Connect, read and write errors (those requests never got a response). */
  socketErrors: number;
  timeouts: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** CPU time (user + system) of the load generator itself over its whole run. */
  clientCpuMs: number;
}

export const DEFAULT_CONNECTIONS = 64;
export const DEFAULT_WRK_THREADS = 1;
export const DEFAULT_TIMEOUT_S = 2;
/** wrk's stdout is ~15 lines plus our JSON line; 64 KB leaves room for any Lua error trace. */
const WRK_OUTPUT_BYTES = 65_536;
/** Lua numbers are doubles printed with %.14g: indexes stay exact integers below 1e14. */
const BODY_INDEX_MAX = 1e14;
const RESULT_PREFIX = 'WRKJSON ';
/** One slot per 10 us per thread at most: far above what a server here answers (~80k/s). */
export const PACED_RATE_MAX = 100_000;
/**
 * How far the paced schedule may fall behind the clock, in ms. Slots that pass while every
 * connection waits for an answer are sent as soon as one is free (as open-loop clients would
 * keep arriving), but a stall longer than this drops the older slots instead of sending them
 * all in one burst afterwards.
 */
export const PACE_BACKLOG_MS = 1_000;

/** wrk failed, or printed no result line. */
export class WrkError extends Error {
  override readonly name = 'WrkError';
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(output ? `${message}\n--- wrk output ---\n${output}` : message);
  }
}

/** A load-generator option is out of range (programmer error in the bench). */
export class LoadInitError extends Error {
  override readonly name = 'LoadInitError';
}

/** Shared checks for wrk and autocannon targets. */
export function validateTarget(target: HttpTarget): void {
  const url = new URL(target.url);
  // The bench only ever loads local servers: never another address (bench brief).
  if (url.hostname !== '127.0.0.1') {
    throw new LoadInitError(`target must be on 127.0.0.1, got ${url.hostname}`);
  }
  if (!Number.isInteger(target.bodyCount) || target.bodyCount < 1) {
    throw new LoadInitError(`bodyCount must be an integer >= 1, got ${target.bodyCount}`);
  }
  const start = target.startIndex ?? 0;
  if (!Number.isInteger(start) || start < 0 || start + target.bodyCount > BODY_INDEX_MAX) {
    throw new LoadInitError(`startIndex + bodyCount must stay below ${BODY_INDEX_MAX}`);
  }
}

/** Any JS string as a Lua string literal: bytes outside printable ASCII as \ddd escapes. */
export function luaString(value: string): string {
  let out = '"';
  for (const byte of Buffer.from(value, 'utf8')) {
    const printable = byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c;
    out += printable ? String.fromCharCode(byte) : `\\${byte.toString().padStart(3, '0')}`;
  }
  return `${out}"`;
}

/**
 * The Lua script. Thread t of T sends indexes start + t, start + t + T, ... (mod bodyCount),
 * so threads never repeat each other's bodies within one cycle.
 */
export function wrkScript(
  target: HttpTarget,
  threads: number,
  init: Pick<WrkInit, 'ratePerSec'> = {},
): string {
  const headers = [...Object.entries(target.headers)]
    .map(([name, value]) => `[${luaString(name)}] = ${luaString(value)}`)
    .join(', ');
  return `-- generated by apps/bench/src/infra/wrk.ts
local next_thread = 0
function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

local prefix = ${luaString(target.bodyPrefix)}
local suffix = ${luaString(target.bodySuffix)}
local count = ${target.bodyCount}
local start = ${target.startIndex ?? 0}
local threads = ${threads}
local headers = { ${headers} }
local sent = 0

function request()
  local i = start + (thread_index + sent * threads) % count
  sent = sent + 1
  return wrk.format("POST", nil, headers, prefix .. string.format("%d", i) .. suffix)
end

${init.ratePerSec === undefined ? '' : paceScript(init.ratePerSec / threads)}
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '${RESULT_PREFIX}{"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d,"meanUs":%.3f,' ..
    '"cpuMs":%.1f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, os.clock() * 1000))
end
`;
}

/**
 * The pacing part of the script, for one thread's share of the rate. wrk calls delay() before
 * each request of a connection and sends it that many ms later (whole ms; a fraction is cut),
 * then measures its latency from the write. So each call takes the next slot of one schedule
 * shared by the thread's connections, and waits for it rounded up: never early, at most 1 ms
 * late, and the rate holds over the run because slots are fixed in time, not spaced from the
 * previous answer.
 */
export function paceScript(ratePerThread: number): string {
  return `local ffi_ok, ffi = pcall(require, "ffi")
if not ffi_ok then error("pacing needs wrk built with LuaJIT (its ffi reads the clock)") end
ffi.cdef[[
typedef struct { long roomring_sec; long roomring_nsec; } roomring_timespec;
int clock_gettime(int clock_id, roomring_timespec *ts);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("roomring_timespec")
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.roomring_sec) * 1000 + tonumber(ts.roomring_nsec) / 1e6
end
local interval_ms = ${1000 / ratePerThread}
local backlog_ms = ${PACE_BACKLOG_MS}
local next_slot = nil

function delay()
  local now = now_ms()
  if next_slot == nil or next_slot < now - backlog_ms then next_slot = now end
  local wait = next_slot - now
  next_slot = next_slot + interval_ms
  if wait <= 0 then return 0 end
  return math.ceil(wait)
end
`;
}

interface WrkJson {
  requests: number;
  durationUs: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
  meanUs: number;
  /** os.clock(): the wrk process's CPU time, all threads. */
  cpuMs: number;
}

const WRK_JSON_FIELDS: readonly (keyof WrkJson)[] = [
  'requests',
  'durationUs',
  'connect',
  'read',
  'write',
  'status',
  'timeout',
  'p50Us',
  'p90Us',
  'p99Us',
  'maxUs',
  'meanUs',
  'cpuMs',
];

/** Parses the result line of `wrkScript`'s done(); undefined if absent or malformed. */
export function parseWrkOutput(stdout: string): LoadResult | undefined {
  const raw = parseResultLine(stdout, RESULT_PREFIX, WRK_JSON_FIELDS);
  if (raw === undefined) return undefined;
  const json = raw as unknown as WrkJson;
  const durationS = json.durationUs / 1e6;
  // wrk counts a response as completed (in `requests`) even when its status is >= 400
  // (errors.status) or it arrived after --timeout (errors.timeout); connect/read/write errors
  // are requests that never completed, so they are not in `requests` to subtract.
  const ok = json.requests - json.status - json.timeout;
  return {
    requests: json.requests,
    durationS,
    rps: durationS > 0 ? ok / durationS : 0,
    non2xx: json.status,
    socketErrors: json.connect + json.read + json.write,
    timeouts: json.timeout,
    latencyMs: {
      p50: json.p50Us / 1000,
      p90: json.p90Us / 1000,
      p99: json.p99Us / 1000,
      max: json.maxUs / 1000,
      mean: json.meanUs / 1000,
    },
    clientCpuMs: json.cpuMs,
  };
}

/** Runs wrk against `target` for `init.durationS` and returns its counts and latencies. */
export async function runWrk(target: HttpTarget, init: WrkInit): Promise<LoadResult> {
  validateTarget(target);
  const connections = init.connections ?? DEFAULT_CONNECTIONS;
  const threads = init.threads ?? DEFAULT_WRK_THREADS;
  const timeoutS = init.timeoutS ?? DEFAULT_TIMEOUT_S;
  if (!Number.isInteger(init.durationS) || init.durationS < 1) {
    throw new LoadInitError(`durationS must be a whole number >= 1, got ${init.durationS}`);
  }
  if (!Number.isInteger(threads) || threads < 1 || !Number.isInteger(connections)) {
    throw new LoadInitError('threads and connections must be integers >= 1');
  }
  if (connections < threads) {
    throw new LoadInitError(`connections (${connections}) must be >= threads (${threads})`);
  }
  if (!Number.isInteger(timeoutS) || timeoutS < 1) {
    throw new LoadInitError(`timeoutS must be a whole number >= 1, got ${timeoutS}`);
  }
  const rate = init.ratePerSec;
  if (
    rate !== undefined &&
    !(Number.isInteger(rate) && rate >= threads && rate <= PACED_RATE_MAX)
  ) {
    throw new LoadInitError(
      `ratePerSec must be an integer in threads (${threads})..${PACED_RATE_MAX}, got ${rate}`,
    );
  }
  const dir = await makeTempDir('roomring-bench-wrk-');
  try {
    const script = join(dir, 'post.lua');
    await writeFile(script, wrkScript(target, threads, init));
    const run = spawnTracked(
      'wrk',
      [
        '-t',
        String(threads),
        '-c',
        String(connections),
        '-d',
        `${init.durationS}s`,
        '--timeout',
        `${timeoutS}s`,
        '-s',
        script,
        target.url,
      ],
      { tailBytes: WRK_OUTPUT_BYTES },
    );
    const exit = await run.exited;
    if (exit.code !== 0) {
      throw new WrkError(`wrk failed (code ${exit.code}, signal ${exit.signal})`, run.tail());
    }
    const result = parseWrkOutput(run.stdoutTail());
    if (!result) throw new WrkError('wrk printed no result line', run.tail());
    return result;
  } finally {
    await removeTempDir(dir);
  }
}
