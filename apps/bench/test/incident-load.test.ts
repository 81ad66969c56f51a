/**
 * The incident load generator's core, in-process: its pure pieces, and whole runs on a
 * virtual clock (@roomring/sim's createVirtualTime) against a scripted API, where the
 * schedule, every attempt's time, retries, failover and each line's statistics are exact.
 * load.ts as a process, its HTTP clients and one real-time run: incident-load-process.test.ts.
 */
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClientRandom } from '@roomring/client';
import { createVirtualTime, type VirtualTime } from '@roomring/sim';
import { describe, expect, it } from 'vitest';
import {
  CONTROL_LINE_BYTES_MAX,
  CREATE_ROOM_PATH,
  callsDue,
  type DoneStats,
  DRAIN_SLACK_MS,
  LatencyReservoir,
  LineSplitter,
  type LoadConfig,
  LoadConfigError,
  type LoadHttp,
  type LoadRun,
  type LoadRunInit,
  mulberry32,
  type PostAnswer,
  parseControlLine,
  parseLoadConfig,
  percentile,
  type RecordingLine,
  type RegionLoadConfig,
  RoomChooser,
  type SecondStats,
  startLoadRun,
  TICK_INTERVAL_MS,
} from '../src/incident/load-core.js';

const INCIDENT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'incident');
const API_KEY = 'bench-key';
const API_SECRET = 'bench-secret-of-some-length-0123456789';

function region(over: Partial<RegionLoadConfig> = {}): RegionLoadConfig {
  return {
    name: 'us-east',
    url: 'http://127.0.0.1:7880',
    ratePerSec: 100,
    existing: { prefix: 'e-', count: 10 },
    newFraction: 0.2,
    newPrefix: 'n-',
    ...over,
  };
}

function baseConfig(mode: LoadConfig['mode'], regions: RegionLoadConfig[]): LoadConfig {
  return {
    mode,
    apiKey: API_KEY,
    apiSecret: API_SECRET,
    seed: 1,
    durationS: 1,
    inFlightMax: 10_000,
    attemptTimeoutMs: 1_000,
    maxAttempts: 3,
    callDeadlineMs: 1_000,
    ackedPath: '/dev/null',
    regions,
  };
}

describe('load-core pure pieces', () => {
  it('percentile is nearest-rank and null when empty', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    expect(percentile(sorted, 0.5)).toBe(50);
    expect(percentile(sorted, 0.99)).toBe(99);
    expect(percentile(sorted, 1)).toBe(100);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([1, 2, 3], 0.5)).toBe(2);
  });

  it('callsDue follows rate x elapsed with no drift and catches up after a late tick', () => {
    expect(callsDue(200, 0, 0)).toBe(0);
    expect(callsDue(200, 10, 0)).toBe(2);
    expect(callsDue(200, 15, 2)).toBe(1); // floor(3) - 2
    expect(callsDue(200, 2000, 3)).toBe(397); // a 2 s stall: all owed calls at once
    expect(callsDue(0.3, 1000 / 0.3, 0)).toBe(1); // float error absorbed
    expect(callsDue(100, 5, 10)).toBe(0); // never negative
    // 10 ms ticks with jitter: the total after 1 s is exact whatever the tick times.
    let started = 0;
    let t = 0;
    const jitter = mulberry32(1);
    while (t < 1000) {
      t = Math.min(1000, t + 5 + jitter() * 20);
      started += callsDue(333, t, started);
    }
    expect(started).toBe(333);
  });

  it('name choice is seeded, mixes new and existing rooms and numbers new rooms in order', () => {
    const a = new RoomChooser(region(), mulberry32(42));
    const b = new RoomChooser(region(), mulberry32(42));
    const namesA = Array.from({ length: 1000 }, () => a.next());
    const namesB = Array.from({ length: 1000 }, () => b.next());
    expect(namesA).toEqual(namesB);
    const fresh = namesA.filter((c) => c.isNew).map((c) => c.name);
    expect(fresh.length).toBeGreaterThan(150);
    expect(fresh.length).toBeLessThan(250);
    expect(fresh.slice(0, 3)).toEqual(['n-0', 'n-1', 'n-2']);
    const existing = namesA.filter((c) => !c.isNew).map((c) => c.name);
    expect(new Set(existing)).toEqual(new Set(Array.from({ length: 10 }, (_, i) => `e-${i}`)));
    const other = new RoomChooser(region(), mulberry32(43));
    expect(Array.from({ length: 50 }, () => other.next())).not.toEqual(namesA.slice(0, 50));
    const onlyNew = new RoomChooser(
      region({ existing: { prefix: 'e-', count: 0 } }),
      mulberry32(1),
    );
    expect(onlyNew.next()).toEqual({ name: 'n-0', isNew: true });
  });

  it('the latency reservoir keeps at most its capacity and stays representative', () => {
    const reservoir = new LatencyReservoir(1000, mulberry32(7));
    for (let i = 1; i <= 100_000; i++) reservoir.add(i);
    const { p50Ms, p99Ms } = reservoir.takePercentiles();
    expect(p50Ms).toBeGreaterThan(45_000);
    expect(p50Ms).toBeLessThan(55_000);
    expect(p99Ms).toBeGreaterThan(97_000);
    expect(reservoir.takePercentiles()).toEqual({ p50Ms: null, p99Ms: null });
    reservoir.add(3);
    reservoir.add(1);
    reservoir.add(2);
    expect(reservoir.takePercentiles()).toEqual({ p50Ms: 2, p99Ms: 3 });
  });

  it('control lines: split with a bounded buffer, parsed strictly', () => {
    const splitter = new LineSplitter(CONTROL_LINE_BYTES_MAX);
    expect(splitter.push('{"cmd":"st')).toEqual({ lines: [], dropped: 0 });
    expect(splitter.push('op"}\n{"cmd":"failover","from":"a","to":"b"}\n')).toEqual({
      lines: ['{"cmd":"stop"}', '{"cmd":"failover","from":"a","to":"b"}'],
      dropped: 0,
    });
    const long = splitter.push(`${'x'.repeat(CONTROL_LINE_BYTES_MAX + 1)}`);
    expect(long.dropped).toBe(1);
    expect(splitter.push('yyy\nok\n')).toEqual({ lines: ['ok'], dropped: 0 });
    expect(parseControlLine('{"cmd":"stop"}')).toEqual({ cmd: 'stop' });
    expect(parseControlLine('{"cmd":"failover","from":"a","to":"b"}')).toEqual({
      cmd: 'failover',
      from: 'a',
      to: 'b',
    });
    expect(parseControlLine('  ')).toBeUndefined();
    expect(() => parseControlLine('{"cmd":"failover","from":"a"}')).toThrow(/from.*to/);
    expect(() => parseControlLine('{"cmd":"reboot"}')).toThrow(/unknown command/);
    expect(() => parseControlLine('nope')).toThrow(/not JSON/);
  });

  it('config validation names the field and refuses addresses other than 127.0.0.1 and the hosts', () => {
    const good = baseConfig('at-once', [region()]);
    expect(parseLoadConfig(JSON.parse(JSON.stringify(good))).regions[0]!.url).toBe(
      'http://127.0.0.1:7880',
    );
    const bad = (over: Record<string, unknown>): unknown => ({ ...good, ...over });
    expect(() => parseLoadConfig(bad({ mode: 'fast' }))).toThrow(LoadConfigError);
    expect(() => parseLoadConfig(bad({ inFlightMax: 0 }))).toThrow(/inFlightMax/);
    expect(() => parseLoadConfig(bad({ maxAttempts: 11 }))).toThrow(/maxAttempts/);
    for (const url of ['http://10.0.0.1:7880', 'http://198.20.0.1:7880', 'http://localhost:7880']) {
      expect(() => parseLoadConfig(bad({ regions: [region({ url })] })), url).toThrow(
        /127\.0\.0\.1/,
      );
    }
    // The hosts of @roomring/hosts (bench:incident -- --hosts) are in 198.18.0.0/15.
    expect(
      parseLoadConfig(bad({ regions: [region({ url: 'http://198.19.1.2:7880' })] })).regions[0]!
        .url,
    ).toBe('http://198.19.1.2:7880');
    expect(() => parseLoadConfig(bad({ regions: [region(), region()] }))).toThrow(/unique/);
    expect(() => parseLoadConfig(bad({ regions: [region({ newFraction: 1.5 })] }))).toThrow(
      /regions\[0\]\.newFraction/,
    );
  });
});

describe('the load core keeps clock, timers and randomness injected', () => {
  it('no module of the core reads a clock, sets a timer or draws Math.random itself', () => {
    // Only the process (load.ts) and its HTTP clients (load-http.ts) touch the real world.
    const adapters = new Set(['load.ts', 'load-http.ts', 'replay.ts']);
    const core = readdirSync(INCIDENT_DIR).filter((f) => f.endsWith('.ts') && !adapters.has(f));
    expect(core).toContain('load-run.ts');
    const forbidden =
      /\b(Date\.now\s*\(|new Date\s*\(\s*\)|setTimeout\s*\(|setInterval\s*\(|setImmediate\s*\(|Math\.random\s*\(|performance\.now\s*\()/;
    for (const file of core) {
      const offending = readFileSync(join(INCIDENT_DIR, file), 'utf8')
        .split('\n')
        .filter((line) => forbidden.test(line));
      expect(offending, file).toEqual([]);
    }
  });
});

// ---------------------------------------------------------------------------------------
// Runs on a virtual clock against a scripted API
// ---------------------------------------------------------------------------------------

/** What the scripted API does with one request. */
type Reply =
  /** An answer `afterMs` after the request (at-once: a timeout if that is too late). */
  | { status: number; afterMs: number }
  /** A network error `afterMs` after the request, as a refused connection. */
  | { refusedAfterMs: number }
  /** No answer: the attempt's timeout (at-once) or the call's deadline (policy) ends it. */
  | 'hang'
  /** Not even a timeout ends an at-once attempt: only the run's drain bound does. */
  | 'never';

interface ApiRequest {
  /** Virtual ms since the run started. */
  atMs: number;
  /** The API root it went to: the region URL, before or after a failover. */
  root: string;
  /** The room name in the body. */
  name: string;
}

function timeoutError(): Error {
  return Object.assign(new Error('attempt timed out'), { name: 'TimeoutError' });
}

function abortError(): Error {
  return Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
}

function refusedError(): Error {
  const cause = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  return new TypeError('fetch failed', { cause });
}

/** True when the bearer token is an HS256 JWT signed with API_SECRET granting roomCreate. */
function authorised(header: string | undefined): boolean {
  const token = header?.startsWith('Bearer ') ? header.slice(7) : '';
  const [head, payload, signature] = token.split('.');
  if (head === undefined || payload === undefined || signature === undefined) return false;
  const expected = createHmac('sha256', API_SECRET).update(`${head}.${payload}`).digest();
  if (!expected.equals(Buffer.from(signature, 'base64url'))) return false;
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
    iss?: string;
    video?: { roomCreate?: boolean };
  };
  return claims.iss === API_KEY && claims.video?.roomCreate === true;
}

function answerBody(status: number, name: string): string {
  if (status >= 200 && status < 300) return JSON.stringify({ sid: `RM_${name}`, name });
  const code = status === 503 ? 'unavailable' : status === 429 ? 'resource_exhausted' : 'internal';
  return JSON.stringify({ code, msg: code });
}

/** A CreateRoom API on virtual time: records each request, answers as `reply` says. */
class ScriptedApi {
  readonly requests: ApiRequest[] = [];
  unauthorised = 0;
  readonly http: LoadHttp;

  constructor(vt: VirtualTime, startMs: number, reply: (req: ApiRequest, index: number) => Reply) {
    const receive = (url: string, body: unknown, authorization: string | undefined) => {
      expect(url.endsWith(CREATE_ROOM_PATH), url).toBe(true);
      if (!authorised(authorization)) this.unauthorised += 1;
      const req: ApiRequest = {
        atMs: vt.nowMs() - startMs,
        root: url.slice(0, -CREATE_ROOM_PATH.length),
        name: (JSON.parse(String(body)) as { name: string }).name,
      };
      this.requests.push(req);
      return { req, reply: reply(req, this.requests.length - 1) };
    };
    this.http = {
      post: (url, headers, body, timeoutMs) => {
        const { req, reply } = receive(url, body, headers.Authorization);
        return new Promise<PostAnswer>((resolve, reject) => {
          if (reply === 'never') return;
          if (reply === 'hang' || ('status' in reply && reply.afterMs >= timeoutMs)) {
            vt.setTimer(timeoutMs, () => reject(timeoutError()));
          } else if ('refusedAfterMs' in reply) {
            vt.setTimer(reply.refusedAfterMs, () => reject(refusedError()));
          } else {
            const text = answerBody(reply.status, req.name);
            vt.setTimer(reply.afterMs, () => resolve({ status: reply.status, text }));
          }
        });
      },
      fetch: (url, init) => {
        const headers = init.headers as Record<string, string>;
        const { req, reply } = receive(url, init.body, headers.Authorization);
        return new Promise<Response>((resolve, reject) => {
          const signal = init.signal ?? undefined;
          let cancel: () => void = () => undefined;
          const onAbort = (): void => {
            cancel();
            reject(abortError());
          };
          signal?.addEventListener('abort', onAbort, { once: true });
          const settle = (fn: () => void) => () => {
            signal?.removeEventListener('abort', onAbort);
            fn();
          };
          if (reply === 'hang' || reply === 'never') return;
          if ('refusedAfterMs' in reply) {
            cancel = vt.setTimer(
              reply.refusedAfterMs,
              settle(() => reject(refusedError())),
            );
            return;
          }
          const response = () =>
            new Response(answerBody(reply.status, req.name), {
              status: reply.status,
              headers: { 'content-type': 'application/json' },
            });
          cancel = vt.setTimer(
            reply.afterMs,
            settle(() => resolve(response())),
          );
        });
      },
    };
  }

  /** Request times of each name, in order. */
  timesByName(): Map<string, number[]> {
    const byName = new Map<string, number[]>();
    for (const req of this.requests) {
      const times = byName.get(req.name) ?? [];
      times.push(req.atMs);
      byName.set(req.name, times);
    }
    return byName;
  }
}

interface VirtualRun {
  vt: VirtualTime;
  api: ScriptedApi;
  run: LoadRun;
  lines: (SecondStats | DoneStats | RecordingLine)[];
  /** Acknowledged new rooms, in order. */
  acked: string[];
  logs: string[];
  /** Advances virtual time to `atMs` since the run started. */
  advanceTo(atMs: number): Promise<void>;
  /** Advances tick by tick until the done line; returns it and when it came. */
  finish(limitMs?: number): Promise<{ done: DoneStats; atMs: number }>;
}

function startVirtualRun(
  config: LoadConfig,
  reply: (req: ApiRequest, index: number) => Reply,
  over: (vt: VirtualTime) => Partial<LoadRunInit> = () => ({}),
): VirtualRun {
  const vt = createVirtualTime();
  const startMs = vt.nowMs();
  const api = new ScriptedApi(vt, startMs, reply);
  const lines: VirtualRun['lines'] = [];
  const acked: string[] = [];
  const logs: string[] = [];
  const run = startLoadRun({
    config,
    clock: vt,
    wallClock: vt,
    timers: vt,
    http: api.http,
    emit: (line) => lines.push(line),
    ack: (name, sid) => {
      expect(sid).toBe(`RM_${name}`);
      acked.push(name);
    },
    log: (message) => logs.push(message),
    ...over(vt),
  });
  let done: { done: DoneStats; atMs: number } | undefined;
  void run.done.then((line) => {
    done = { done: line, atMs: vt.nowMs() - startMs };
  });
  return {
    vt,
    api,
    run,
    lines,
    acked,
    logs,
    advanceTo: (atMs) => vt.advance(startMs + atMs - vt.nowMs()),
    async finish(limitMs = 120_000) {
      while (done === undefined) {
        if (vt.nowMs() - startMs > limitMs) throw new Error(`no done line by ${limitMs} ms`);
        await vt.advance(TICK_INTERVAL_MS);
      }
      expect(lines.at(-1)).toEqual(done.done);
      return done;
    },
  };
}

function seconds(run: VirtualRun): SecondStats[] {
  return run.lines.filter((l): l is SecondStats => l.type === 'second');
}

/** The open-loop schedule written out: floor(rate x t / 1000) calls by tick t. */
function tickSchedule(ratePerSec: number, untilMs: number, firstTickMs = TICK_INTERVAL_MS) {
  const times: number[] = [];
  for (let t = firstTickMs; t <= untilMs; t += TICK_INTERVAL_MS) {
    while (times.length < Math.floor((ratePerSec * t) / 1000)) times.push(t);
  }
  return times;
}

/** nextUint32 always 2^31: every full-jitter back-off is half its cap, floor((cap + 1) / 2). */
const HALF_RANDOM: ClientRandom = { nextUint32: () => 0x8000_0000 };

/** Only new rooms: each call's name (`n-<seq>`) is unique, so requests group by call. */
const ONLY_NEW = { existing: { prefix: 'e-', count: 0 }, newFraction: 1 } as const;

describe('a run on a virtual clock', () => {
  it('starts exactly floor(rate x t) calls by each 10 ms tick, and each line is exact', async () => {
    // 250/s: 2 or 3 calls a tick. Answers take 1..9 ms (cycling), so none lands on a tick.
    const config = { ...baseConfig('at-once', [region({ ratePerSec: 250 })]), durationS: 2 };
    const v = startVirtualRun(config, (_req, i) => ({ status: 200, afterMs: 1 + (i % 9) }));
    const { done, atMs } = await v.finish();
    const times = v.api.requests.map((r) => r.atMs);
    expect(times.slice(0, 8)).toEqual([10, 10, 20, 20, 20, 30, 30, 40]);
    expect(times).toEqual(tickSchedule(250, 2_000));
    expect(times).toHaveLength(500);
    expect(v.api.unauthorised).toBe(0);
    // Second 1 ends at the tick of 1000 ms, after that tick's 3 calls started: the 247
    // calls of ticks 10..990 answered within it, latencies 1..9 (1..4 x28, 5..9 x27).
    const [first, second] = seconds(v);
    expect(first).toEqual({
      type: 'second',
      t: 1,
      callsStarted: 250,
      attempts: 250,
      ok: 247,
      failed: 0,
      timedOut: 0,
      shed: 0,
      p50Ms: 5,
      p99Ms: 9,
      inFlight: 3,
      byRegion: {
        'us-east': { callsStarted: 250, ok: 247, failed: 0, timedOut: 0, attempts: 250 },
      },
    });
    expect(second).toMatchObject({ t: 2, callsStarted: 250, attempts: 250, ok: 250 });
    expect(second!.inFlight).toBe(3); // the 2000 ms tick's calls
    expect(seconds(v)).toHaveLength(2);
    // The last 3 answers come by 2009 ms; the 2010 ms tick finds nothing in flight.
    expect(atMs).toBe(2_010);
    expect(done).toEqual({
      type: 'done',
      calls: 500,
      attempts: 500,
      ok: 500,
      failed: 0,
      timedOut: 0,
      shed: 0,
      ackedNew: v.acked.length,
      p50Ms: 5,
      p99Ms: 9,
      p99AfterFailoverMs: null,
    });
    // The acknowledged new rooms are exactly the new names asked for (in answer order).
    const asked = v.api.requests.map((r) => r.name).filter((n) => n.startsWith('n-'));
    expect([...v.acked].sort()).toEqual([...asked].sort());
    expect(asked.slice(0, 3)).toEqual(['n-0', 'n-1', 'n-2']);
  });

  it('after a late tick, starts every call it owes at once; the seconds stay exact', async () => {
    // The 50th tick (due at 500 ms) fires 37 ms late, as after an event-loop stall.
    const config = { ...baseConfig('at-once', [region({ ratePerSec: 100 })]), durationS: 2 };
    let armed = 0;
    const v = startVirtualRun(
      config,
      () => ({ status: 200, afterMs: 3 }),
      (vt) => ({
        timers: {
          setTimer(delayMs, fn) {
            armed += 1;
            return vt.setTimer(armed === 50 ? delayMs + 37 : delayMs, fn);
          },
        },
      }),
    );
    await v.finish();
    const times = v.api.requests.map((r) => r.atMs);
    const expected = [
      ...Array.from({ length: 49 }, (_, i) => 10 * (i + 1)), // calls 1..49 on time
      537,
      537,
      537,
      537, // calls 50..53, owed at 500..530, all at the late tick
      ...Array.from({ length: 147 }, (_, i) => 547 + 10 * i), // 54..200, 7 ms after
    ];
    expect(times).toEqual(expected);
    // The 1000 ms boundary is seen at the 1007 ms tick: the call owed at 1000 ms is started
    // (and counted) in second 1 before its line.
    expect(seconds(v).map((s) => s.callsStarted)).toEqual([100, 100]);
  });

  it('a tick late past the end starts the calls owed, then writes the seconds it missed', async () => {
    // The 199th tick (due at 1990 ms) fires at 4990 ms, as in a process the machine starved.
    const config = { ...baseConfig('at-once', [region({ ratePerSec: 100 })]), durationS: 2 };
    let armed = 0;
    const v = startVirtualRun(
      config,
      () => ({ status: 200, afterMs: 3 }),
      (vt) => ({
        timers: {
          setTimer(delayMs, fn) {
            armed += 1;
            return vt.setTimer(armed === 199 ? delayMs + 3_000 : delayMs, fn);
          },
        },
      }),
    );
    const { done, atMs } = await v.finish();
    expect(v.api.requests.map((r) => r.atMs).slice(-3)).toEqual([1_980, 4_990, 4_990]);
    // [t, callsStarted, ok, inFlight]: the late tick ends seconds 2..4 at once, the calls owed
    // by 2000 ms counted in second 2; their answers (4993 ms) fall in second 5, which the
    // next tick (5000 ms) ends before the done line.
    expect(seconds(v).map((s) => [s.t, s.callsStarted, s.ok, s.inFlight])).toEqual([
      [1, 100, 99, 1],
      [2, 100, 99, 2],
      [3, 0, 0, 2],
      [4, 0, 0, 2],
      [5, 0, 2, 0],
    ]);
    expect(atMs).toBe(5_000);
    expect(done).toMatchObject({ calls: 200, ok: 200 });
  });

  it('at-once: retries at once, up to maxAttempts, at exactly the answer times', async () => {
    // 503 after 2 ms to a call's first two attempts, 200 to its third.
    const config = baseConfig('at-once', [region({ ratePerSec: 100, ...ONLY_NEW })]);
    const attemptsOf = new Map<string, number>();
    const v = startVirtualRun(config, (req) => {
      const n = (attemptsOf.get(req.name) ?? 0) + 1;
      attemptsOf.set(req.name, n);
      return { status: n < 3 ? 503 : 200, afterMs: 2 };
    });
    const { done } = await v.finish();
    const byName = v.api.timesByName();
    expect(byName.size).toBe(100);
    for (const [name, times] of byName) {
      const startMs = 10 * (Number(name.slice(2)) + 1); // n-0 at 10 ms, n-1 at 20 ms, ...
      expect(times, name).toEqual([startMs, startMs + 2, startMs + 4]);
    }
    // Second 1 ends at the 1000 ms tick: the call started there has sent 1 attempt of 3.
    expect(seconds(v)[0]).toMatchObject({ callsStarted: 100, attempts: 298, ok: 99, inFlight: 1 });
    expect(done).toMatchObject({ calls: 100, attempts: 300, ok: 100, failed: 0, timedOut: 0 });
    expect(done).toMatchObject({ p50Ms: 6, p99Ms: 6 }); // 3 attempts of 2 ms
    expect(v.acked).toHaveLength(100);
  });

  it('at-once vs a hanging API: every attempt times out, maxAttempts per call', async () => {
    const config = {
      ...baseConfig('at-once', [region({ ratePerSec: 10, ...ONLY_NEW })]),
      attemptTimeoutMs: 100,
    };
    const v = startVirtualRun(config, () => 'hang');
    const { done } = await v.finish();
    for (const [name, times] of v.api.timesByName()) {
      const startMs = 100 * (Number(name.slice(2)) + 1);
      expect(times, name).toEqual([startMs, startMs + 100, startMs + 200]);
    }
    expect(done).toMatchObject({ calls: 10, attempts: 30, ok: 0, failed: 0, timedOut: 10 });
    expect(done).toMatchObject({ p50Ms: null, p99Ms: null });
    expect(v.acked).toEqual([]);
  });

  it('policy: retries after full-jitter back-off, at exactly the drawn delays', async () => {
    // HALF_RANDOM: retry k waits floor((min(2000, 50 x 2^k) + 1) / 2) = 25, then 50 ms. Five
    // calls fail 3 times each: 10 retries, within the budget's 10 per window.
    const config = baseConfig('policy', [region({ ratePerSec: 5, ...ONLY_NEW })]);
    const v = startVirtualRun(
      config,
      () => ({ status: 503, afterMs: 2 }),
      () => ({ clientRandom: () => HALF_RANDOM }),
    );
    const { done } = await v.finish();
    const byName = v.api.timesByName();
    expect(byName.size).toBe(5);
    for (const [name, times] of byName) {
      const startMs = 200 * (Number(name.slice(2)) + 1);
      expect(times, name).toEqual([startMs, startMs + 2 + 25, startMs + 2 + 25 + 2 + 50]);
    }
    expect(done).toMatchObject({ calls: 5, attempts: 15, ok: 0, failed: 5, timedOut: 0 });
  });

  it('policy: the retry budget refuses retries past 10% of calls + 10 per window', async () => {
    // Calls at 100, 200, ... 1000 ms each fail at once (503 after 2 ms). A retry is allowed
    // while retries + 1 <= 0.1 x calls + 10: calls 1..5 retry twice (10 retries), calls
    // 6..9 not at all (11 > 10.6..10.9), call 10 once more (11 <= 11), then no more.
    const config = baseConfig('policy', [region({ ratePerSec: 10, ...ONLY_NEW })]);
    const v = startVirtualRun(
      config,
      () => ({ status: 503, afterMs: 2 }),
      () => ({ clientRandom: () => HALF_RANDOM }),
    );
    const { done } = await v.finish();
    const attemptsPerCall = [...v.api.timesByName().values()].map((times) => times.length);
    expect(attemptsPerCall).toEqual([3, 3, 3, 3, 3, 1, 1, 1, 1, 2]);
    expect(done).toMatchObject({ calls: 10, attempts: 21, failed: 10 });
  });

  it('policy: a seed replays the same jitter, another seed draws other delays', async () => {
    const timeline = async (seed: number) => {
      const config = { ...baseConfig('policy', [region({ ratePerSec: 5, ...ONLY_NEW })]), seed };
      const v = startVirtualRun(config, () => ({ status: 503, afterMs: 2 }));
      await v.finish();
      return v.api.requests.map((r) => `${r.name}@${r.atMs}`);
    };
    const [a, b, c] = await Promise.all([timeline(7), timeline(7), timeline(8)]);
    expect(a).toEqual(b);
    expect(a).toHaveLength(15);
    expect(c).not.toEqual(a);
  });

  it('policy vs a hanging API: each call ends at its deadline, after one attempt', async () => {
    const config = {
      ...baseConfig('policy', [region({ ratePerSec: 10, ...ONLY_NEW })]),
      callDeadlineMs: 300,
    };
    const v = startVirtualRun(config, () => 'hang');
    const { done, atMs } = await v.finish();
    expect(v.api.requests.map((r) => r.atMs)).toEqual(tickSchedule(10, 1_000));
    expect(done).toMatchObject({ calls: 10, attempts: 10, ok: 0, failed: 0, timedOut: 10 });
    // The last call (1000 ms) is aborted at 1300 ms; the next tick after it sees none left.
    expect(atMs).toBe(1_310);
  });

  it('failover: later attempts, retries of calls in flight too, go to the new region', async () => {
    // r1's API refuses connections; r2's answers in 3 ms. Failover r1 -> r2 at 1000 ms.
    const r1 = region({ name: 'r1', url: 'http://127.0.0.1:1001', ratePerSec: 100, ...ONLY_NEW });
    const r2 = region({
      name: 'r2',
      url: 'http://127.0.0.1:1002',
      ratePerSec: 50,
      existing: { prefix: 'r2-', count: 10 },
      newFraction: 0,
    });
    const config = { ...baseConfig('at-once', [r1, r2]), durationS: 2 };
    const v = startVirtualRun(config, (req) =>
      req.root === r1.url ? { refusedAfterMs: 1 } : { status: 200, afterMs: 3 },
    );
    await v.advanceTo(1_000);
    v.run.command({ cmd: 'failover', from: 'r1', to: 'r2' });
    const { done } = await v.finish();
    // r1's calls 10..990 ms failed 3 times at A (t, t+1, t+2). The call of 1000 ms sent its
    // first attempt to A before the command, its retry (1001 ms) to B, which answered.
    const r1Requests = v.api.requests.filter((r) => r.name.startsWith('n-'));
    expect(r1Requests.filter((r) => r.root === r1.url).map((r) => r.atMs)).toEqual(
      tickSchedule(100, 1_000)
        .flatMap((t) => [t, t + 1, t + 2])
        .slice(0, -2),
    );
    expect(r1Requests.filter((r) => r.root === r2.url).map((r) => r.atMs)).toEqual([
      1_001,
      ...tickSchedule(100, 2_000).slice(100),
    ]);
    expect(v.logs).toContain(`failover r1 -> r2: now ${r2.url}`);
    const [first, second] = seconds(v);
    expect(first!.byRegion).toEqual({
      r1: { callsStarted: 100, ok: 0, failed: 99, timedOut: 0, attempts: 298 },
      r2: { callsStarted: 50, ok: 49, failed: 0, timedOut: 0, attempts: 50 },
    });
    expect(second!.byRegion).toEqual({
      r1: { callsStarted: 100, ok: 100, failed: 0, timedOut: 0, attempts: 101 },
      r2: { callsStarted: 50, ok: 50, failed: 0, timedOut: 0, attempts: 50 },
    });
    // After the command: 151 answers in 3 ms and the moved call's in 4 ms.
    expect(done).toMatchObject({
      calls: 300,
      attempts: 499,
      ok: 201,
      failed: 99,
      p99AfterFailoverMs: 3,
    });
  });

  it('failover in policy mode: a retry waiting out its back-off goes to the new region', async () => {
    const r1 = region({ name: 'r1', url: 'http://127.0.0.1:1001', ratePerSec: 1, ...ONLY_NEW });
    const r2 = region({ name: 'r2', url: 'http://127.0.0.1:1002', ratePerSec: 0 });
    const v = startVirtualRun(
      baseConfig('policy', [r1, r2]),
      (req) => (req.root === r1.url ? { status: 503, afterMs: 2 } : { status: 200, afterMs: 3 }),
      () => ({ clientRandom: () => HALF_RANDOM }),
    );
    // The one call starts at 1000 ms, fails at 1002 ms and waits 25 ms: fail over meanwhile.
    await v.advanceTo(1_010);
    v.run.command({ cmd: 'failover', from: 'r1', to: 'r2' });
    const { done } = await v.finish();
    expect(v.api.requests).toEqual([
      { atMs: 1_000, root: r1.url, name: 'n-0' },
      { atMs: 1_027, root: r2.url, name: 'n-0' },
    ]);
    expect(done).toMatchObject({ calls: 1, attempts: 2, ok: 1, p50Ms: 30, p99AfterFailoverMs: 30 });
    expect(v.acked).toEqual(['n-0']);
  });

  it('warm-up: unrecorded calls, a recording line, then seconds from t=1', async () => {
    const config = {
      ...baseConfig('at-once', [region({ ratePerSec: 100, ...ONLY_NEW })]),
      warmupS: 1,
      durationS: 1,
    };
    const v = startVirtualRun(config, () => ({ status: 200, afterMs: 3 }));
    const { done } = await v.finish();
    expect(v.lines.map((l) => l.type)).toEqual(['recording', 'second', 'done']);
    // The 1000 ms tick's call is the warm-up's last; recorded calls start at 1010 ms.
    expect(seconds(v)[0]).toMatchObject({ t: 1, callsStarted: 100, attempts: 100, ok: 99 });
    expect(done).toMatchObject({ calls: 100, attempts: 100, ok: 100, ackedNew: 200 });
    // Every acknowledged new room is in the acked list, the warm-up's included.
    expect(v.acked).toEqual(Array.from({ length: 200 }, (_, i) => `n-${i}`));
  });

  it('sheds calls past inFlightMax, and counts calls still open at the drain bound timedOut', async () => {
    // An API that never answers and at-once attempts that never time out: only the drain
    // bound (maxAttempts x attemptTimeoutMs + DRAIN_SLACK_MS after the stop) ends the run.
    const config = { ...baseConfig('at-once', [region({ ratePerSec: 100 })]), inFlightMax: 5 };
    const v = startVirtualRun(config, () => 'never');
    const { done, atMs } = await v.finish();
    expect(v.api.requests.map((r) => r.atMs)).toEqual([10, 20, 30, 40, 50]);
    expect(seconds(v)[0]).toMatchObject({ callsStarted: 5, attempts: 5, shed: 95, inFlight: 5 });
    expect(atMs).toBe(1_000 + 3 * 1_000 + DRAIN_SLACK_MS);
    expect(done).toMatchObject({ calls: 5, attempts: 5, shed: 95, timedOut: 5, ok: 0 });
    expect(v.logs).toContain('5 calls still in flight past the drain bound: timedOut');
  });

  it('stop ends call starts at once; a failover to an unknown region is ignored', async () => {
    const config = { ...baseConfig('at-once', [region({ ratePerSec: 100 })]), durationS: 10 };
    const v = startVirtualRun(config, () => ({ status: 200, afterMs: 3 }));
    await v.advanceTo(505);
    v.run.command({ cmd: 'failover', from: 'us-east', to: 'mars' });
    v.run.command({ cmd: 'stop' });
    const { done, atMs } = await v.finish();
    expect(v.logs).toEqual([
      'failover ignored: unknown region in {"cmd":"failover","from":"us-east","to":"mars"}',
    ]);
    expect(v.api.requests).toHaveLength(50);
    expect(v.api.requests.every((r) => r.root === 'http://127.0.0.1:7880')).toBe(true);
    expect(atMs).toBe(510);
    expect(seconds(v)).toEqual([]);
    expect(done).toMatchObject({ calls: 50, ok: 50, p99AfterFailoverMs: null });
  });
});
