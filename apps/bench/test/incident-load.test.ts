/**
 * The incident load generator: pure pieces of load-core directly, and load.ts as a child
 * process (the orchestrator's contract) against tiny Twirp stub servers on 127.0.0.1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CONTROL_LINE_BYTES_MAX,
  callsDue,
  type DoneStats,
  type HttpTransport,
  LatencyReservoir,
  LineSplitter,
  type LoadConfig,
  LoadConfigError,
  mulberry32,
  parseControlLine,
  parseLoadConfig,
  percentile,
  type RecordingLine,
  type RegionLoadConfig,
  RoomChooser,
  type SecondStats,
} from '../src/incident/load-core.js';

const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const LOAD_TS = join(BENCH_DIR, 'src', 'incident', 'load.ts');
const API_KEY = 'bench-key';
const API_SECRET = 'bench-secret-of-some-length-0123456789';
const TRANSPORTS: readonly HttpTransport[] = ['fetch', 'node-http'];
const tempDir = mkdtempSync(join(tmpdir(), 'incident-load-'));

// ---------------------------------------------------------------------------------------
// Pure pieces
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// Twirp stub server
// ---------------------------------------------------------------------------------------

type StubBehaviour = 'ok' | 'hang' | 'unavailable';

interface Stub {
  url: string;
  behaviour: StubBehaviour;
  /** name -> sid of every room the stub holds. */
  readonly rooms: Map<string, string>;
  /** Names this stub created (not preloaded). */
  readonly created: Set<string>;
  /** Room names of every request received (bounded by the tests' few thousand calls). */
  readonly requestedNames: string[];
  requests: number;
  unauthorised: number;
  close(): Promise<void>;
}

const servers: Server[] = [];
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  rmSync(tempDir, { recursive: true, force: true });
});

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

async function startStub(preload: { prefix: string; count: number }[] = []): Promise<Stub> {
  const stub: Stub = {
    url: '',
    behaviour: 'ok',
    rooms: new Map(),
    created: new Set(),
    requestedNames: [],
    requests: 0,
    unauthorised: 0,
    close: async () => {},
  };
  for (const { prefix, count } of preload) {
    for (let i = 0; i < count; i++) stub.rooms.set(`${prefix}${i}`, `RM_pre${prefix}${i}`);
  }
  const hanging = new Set<ServerResponse>();
  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    stub.requests += 1;
    if (req.url !== '/twirp/livekit.RoomService/CreateRoom' || req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    if (!authorised(req.headers.authorization)) {
      stub.unauthorised += 1;
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"code":"unauthenticated","msg":"bad token"}');
      return;
    }
    const name = (JSON.parse(body) as { name: string }).name;
    stub.requestedNames.push(name);
    if (stub.behaviour === 'hang') {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    if (stub.behaviour === 'unavailable') {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"code":"unavailable","msg":"try again"}');
      return;
    }
    let sid = stub.rooms.get(name);
    if (sid === undefined) {
      sid = `RM_${stub.rooms.size}`;
      stub.rooms.set(name, sid);
      stub.created.add(name);
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ sid, name, emptyTimeout: 300, departureTimeout: 20 }));
  };
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => handle(req, res, body));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return stub;
}

// ---------------------------------------------------------------------------------------
// The child process
// ---------------------------------------------------------------------------------------

/**
 * Attempt timeout and call deadline for runs that assert every call succeeds: they check
 * the counting, not latency, and CI runs this file beside other test files on 2 cores, where
 * a stub's answer once took over the 1 s default (381 of 400 OK in one CI run).
 */
const UNHURRIED = { attemptTimeoutMs: 10_000, callDeadlineMs: 10_000 } as const;

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
    ackedPath: join(tempDir, `acked-${Math.random().toString(36).slice(2)}.tsv`),
    regions,
  };
}

interface LoadProcess {
  child: ChildProcess;
  seconds: SecondStats[];
  /** Second lines written before the `recording` line; undefined if none came. */
  recordingAfter(): number | undefined;
  /** Resolves with the line for second t once it arrives. */
  second(t: number): Promise<SecondStats>;
  send(cmd: unknown): void;
  /** Resolves with the done line and the exit code. */
  finished: Promise<{ done: DoneStats | undefined; code: number | null; stderr: string }>;
}

function runLoad(config: LoadConfig): LoadProcess {
  const configPath = join(tempDir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(configPath, JSON.stringify(config));
  const child = spawn(
    process.execPath,
    ['--conditions=@roomring/source', '--import', 'tsx', LOAD_TS, configPath],
    { cwd: BENCH_DIR, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  children.push(child);
  const seconds: SecondStats[] = [];
  const waiters = new Map<number, (s: SecondStats) => void>();
  let done: DoneStats | undefined;
  let recordingAfter: number | undefined;
  let stderr = '';
  let pending = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const text of lines) {
      const line = JSON.parse(text) as SecondStats | DoneStats | RecordingLine; // JSON only
      if (line.type === 'done') done = line;
      else if (line.type === 'recording') recordingAfter = seconds.length;
      else {
        seconds.push(line);
        waiters.get(line.t)?.(line);
      }
    }
  });
  const finished = new Promise<{
    done: DoneStats | undefined;
    code: number | null;
    stderr: string;
  }>((resolve) => child.on('exit', (code) => resolve({ done, code, stderr })));
  return {
    child,
    seconds,
    recordingAfter: () => recordingAfter,
    second: (t) => {
      const seen = seconds.find((s) => s.t === t);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.set(t, resolve));
    },
    send: (cmd) => child.stdin!.write(`${JSON.stringify(cmd)}\n`),
    finished,
  };
}

/** One region at 200/s for 2 s against a healthy stub holding 50 existing rooms. */
async function steadyRun(mode: LoadConfig['mode'], transport: HttpTransport): Promise<void> {
  const existing = { prefix: 'old-', count: 50 };
  const stub = await startStub([existing]);
  const config = {
    ...baseConfig(mode, [
      region({ name: 'r1', url: stub.url, ratePerSec: 200, existing, newFraction: 0.2 }),
    ]),
    transport,
    durationS: 2,
    ...UNHURRIED,
  };
  const load = runLoad(config);
  const { done, code, stderr } = await load.finished;
  expect(code, stderr).toBe(0);
  expect(done).toBeDefined();
  expect(done!.calls).toBe(400);
  expect(done!.ok).toBe(400);
  expect(done!.attempts).toBe(400);
  expect(done!.failed + done!.timedOut + done!.shed).toBe(0);
  // Run-wide percentiles cover every successful call; no failover, no after-failover p99.
  expect(done!.p50Ms).not.toBeNull();
  expect(done!.p99Ms!).toBeGreaterThanOrEqual(done!.p50Ms!);
  expect(done!.p99AfterFailoverMs).toBeNull();
  expect(stub.unauthorised).toBe(0);
  expect(load.seconds.map((s) => s.t).slice(0, 2)).toEqual([1, 2]);
  const first = load.seconds[0]!;
  expect(first.callsStarted).toBe(200); // the boundary splits the schedule exactly
  expect(load.seconds[1]!.callsStarted).toBe(200);
  expect(first.byRegion.r1!.callsStarted).toBe(first.callsStarted);
  // A second's percentiles cover the calls that succeeded in it (none when a busy machine
  // held every answer past the boundary: those count in the done line only).
  for (const s of load.seconds) {
    if (s.ok === 0) expect(s.p50Ms).toBeNull();
    else {
      expect(s.p50Ms).not.toBeNull();
      expect(s.p99Ms!).toBeGreaterThanOrEqual(s.p50Ms!);
    }
  }
  const acked = ackedNames(config.ackedPath);
  expect(acked.size).toBe(done!.ackedNew);
  expect(new Set(acked.keys())).toEqual(stub.created);
  for (const [name, sid] of acked) expect(stub.rooms.get(name)).toBe(sid);
  expect(stub.created.size).toBeGreaterThan(50); // ~20% of 400
  expect(stub.created.size).toBeLessThan(120);
}

/** Region r1 (100/s) on stub A, r2 (50/s) on stub B; A closes after 1 s and r1 fails over. */
async function failoverRun(mode: LoadConfig['mode'], transport: HttpTransport): Promise<void> {
  const a = await startStub();
  const b = await startStub();
  const load = runLoad({
    ...baseConfig(mode, [
      region({ name: 'r1', url: a.url, ratePerSec: 100, newPrefix: 'r1-new-' }),
      region({
        name: 'r2',
        url: b.url,
        ratePerSec: 50,
        existing: { prefix: 'r2-', count: 10 },
        newPrefix: 'r2-new-',
      }),
    ]),
    transport,
    durationS: 3,
    // Refused connections fail at once; the bounds only need to outlast a busy machine.
    attemptTimeoutMs: 2_000,
    callDeadlineMs: 2_000,
  });
  await load.second(1);
  expect(a.requests).toBeGreaterThan(0); // r1 reached A before the switch
  expect(b.requestedNames.some((n) => n.startsWith('e-') || n.startsWith('r1-'))).toBe(false);
  await a.close();
  load.send({ cmd: 'failover', from: 'r1', to: 'r2' });
  const third = await load.second(3);
  const { done, code, stderr } = await load.finished;
  expect(code, stderr).toBe(0);
  // Region 1's rooms (existing `e-*`, new `r1-new-*`) now reach the second server.
  expect(b.requestedNames.filter((n) => n.startsWith('r1-new-')).length).toBeGreaterThan(5);
  expect(b.requestedNames.filter((n) => n.startsWith('e-')).length).toBeGreaterThan(50);
  // The whole third second runs after the failover: r1's calls all succeed there.
  // (How many of them end within the second depends on how busy the machine is; the
  // schedule does not.)
  expect(third.byRegion.r1!.callsStarted).toBe(100);
  expect(third.byRegion.r2!.callsStarted).toBe(50);
  expect(third.byRegion.r1!.failed + third.byRegion.r1!.timedOut).toBe(0);
  expect(third.byRegion.r2!.failed + third.byRegion.r2!.timedOut).toBe(0);
  // Only calls caught by the switch may fail: a few ms of refused connections.
  expect(done!.ok).toBeGreaterThanOrEqual(done!.calls - 20);
  expect(done!.p99AfterFailoverMs).not.toBeNull();
  expect(sum(load.seconds, 'callsStarted')).toBe(done!.calls);
}

function sum(seconds: SecondStats[], key: 'attempts' | 'callsStarted' | 'ok'): number {
  return seconds.reduce((acc, s) => acc + s[key], 0);
}

function ackedNames(path: string): Map<string, string> {
  const rows = readFileSync(path, 'utf8').split('\n').filter(Boolean);
  return new Map(rows.map((row) => row.split('\t') as [string, string]));
}

describe('load.ts as a child process', () => {
  it('steady: 200/s for 2 s, all OK, one attempt each, acked = created (modes x transports)', async () => {
    await Promise.all(
      (['at-once', 'policy'] as const).flatMap((mode) =>
        TRANSPORTS.map((transport) => steadyRun(mode, transport)),
      ),
    );
  });

  it('warm-up: its second is not written, its calls are not counted, its new rooms are acked', async () => {
    const existing = { prefix: 'old-', count: 50 };
    const stub = await startStub([existing]);
    const config = {
      ...baseConfig('at-once', [
        region({ name: 'r1', url: stub.url, ratePerSec: 200, existing, newFraction: 0.2 }),
      ]),
      transport: 'node-http' as const,
      warmupS: 1,
      durationS: 2,
      ...UNHURRIED,
    };
    const load = runLoad(config);
    const { done, code, stderr } = await load.finished;
    expect(code, stderr).toBe(0);
    expect(load.recordingAfter()).toBe(0); // no second line before recording starts
    expect(load.seconds.map((s) => s.t).slice(0, 2)).toEqual([1, 2]);
    expect(done!.calls).toBe(400); // the 200 warm-up calls are not counted
    expect(done!.attempts).toBe(400);
    expect(done!.ok).toBe(400);
    // The acked file holds the new rooms of all 600 calls, warm-up included.
    const acked = ackedNames(config.ackedPath);
    expect(new Set(acked.keys())).toEqual(stub.created);
    expect(acked.size).toBe(done!.ackedNew);
    expect(stub.created.size).toBeGreaterThan(80); // ~20% of 600
  });

  it('vs a hanging server: at-once times out maxAttempts times per call, policy ~once', async () => {
    const stub = await startStub();
    stub.behaviour = 'hang';
    const r1 = region({ name: 'r1', url: stub.url, ratePerSec: 100 });
    const atOnce = TRANSPORTS.map(
      (transport) =>
        runLoad({
          ...baseConfig('at-once', [r1]),
          transport,
          attemptTimeoutMs: 100,
          maxAttempts: 3,
        }).finished,
    );
    const policy = TRANSPORTS.map(
      (transport) =>
        runLoad({ ...baseConfig('policy', [r1]), transport, callDeadlineMs: 300, maxAttempts: 3 })
          .finished,
    );
    for (const { done, code, stderr } of await Promise.all(atOnce)) {
      expect(code, stderr).toBe(0);
      expect(done!.calls).toBe(100);
      expect(done!.timedOut).toBe(100);
      expect(done!.ok + done!.failed).toBe(0);
      expect(done!.attempts).toBe(300);
    }
    for (const { done, code, stderr } of await Promise.all(policy)) {
      expect(code, stderr).toBe(0);
      expect(done!.calls).toBe(100);
      expect(done!.timedOut).toBe(100);
      expect(done!.attempts / done!.calls).toBeLessThanOrEqual(1.2);
    }
  });

  it('503s: at-once retries every call maxAttempts times, policy stays within its budget', async () => {
    const stub = await startStub();
    stub.behaviour = 'unavailable';
    const r1 = region({ name: 'r1', url: stub.url, ratePerSec: 200 });
    // The status handling is the transport's caller's: node-http only (steady covers fetch).
    const [atOnce, policy] = await Promise.all([
      runLoad({
        ...baseConfig('at-once', [r1]),
        ...UNHURRIED,
        transport: 'node-http',
        maxAttempts: 3,
      }).finished,
      runLoad({
        ...baseConfig('policy', [r1]),
        ...UNHURRIED,
        transport: 'node-http',
        maxAttempts: 3,
      }).finished,
    ]);
    for (const { done, code, stderr } of [atOnce, policy]) {
      expect(code, stderr).toBe(0);
      expect(done!.ok).toBe(0);
      expect(done!.failed).toBe(200);
      expect(done!.timedOut).toBe(0);
    }
    expect(atOnce.done!.attempts).toBe(600); // every call, 3 attempts, no delay
    // Budget: 10% of calls + 10 per window = at most 30 retries for 200 calls.
    expect(policy.done!.attempts).toBeGreaterThan(200);
    expect(policy.done!.attempts).toBeLessThanOrEqual(230);
  });

  for (const mode of ['at-once', 'policy'] as const) {
    it(`${mode} failover: after the first region dies, its clients succeed at the second`, async () => {
      // The route swap is the same code for both transports in policy mode: fetch only.
      const transports = mode === 'at-once' ? TRANSPORTS : (['fetch'] as const);
      await Promise.all(transports.map((transport) => failoverRun(mode, transport)));
    });
  }
});
