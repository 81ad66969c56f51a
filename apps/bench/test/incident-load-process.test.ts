/**
 * The incident load generator against real sockets on 127.0.0.1: its two HTTP clients
 * (load-http.ts) in-process, and load.ts as the child process replay.ts runs, in one
 * real-time smoke run. The schedule, retries, failover and statistics are asserted exactly
 * on a virtual clock in incident-load.test.ts; here only what real time cannot change is.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CREATE_ROOM_PATH,
  type DoneStats,
  type HttpTransport,
  type LoadConfig,
  mulberry32,
  type RecordingLine,
  RoomChooser,
  regionSeed,
  type SecondStats,
} from '../src/incident/load-core.js';
import { createTransport } from '../src/incident/load-http.js';

const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const LOAD_TS = join(BENCH_DIR, 'src', 'incident', 'load.ts');
const API_KEY = 'bench-key';
const API_SECRET = 'bench-secret-of-some-length-0123456789';
const TRANSPORTS: readonly HttpTransport[] = ['fetch', 'node-http'];
const tempDir = mkdtempSync(join(tmpdir(), 'incident-load-'));

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

interface Stub {
  url: string;
  /** Room names of every request received, in arrival order. */
  readonly names: string[];
  /** name -> sid of every room created. */
  readonly rooms: Map<string, string>;
  unauthorised: number;
  /** Resolves once a request for `name` has arrived. */
  arrival(name: string): Promise<void>;
}

/**
 * A Twirp CreateRoom stub. The room name says how to answer: `busy-*` 503, `hang-*` never,
 * `big-*` a 2 MiB body, `empty-*` 204; anything else 200 with a Room.
 */
async function startStub(): Promise<Stub> {
  const waiting = new Map<string, () => void>();
  const stub: Stub = {
    url: '',
    names: [],
    rooms: new Map(),
    unauthorised: 0,
    arrival: (name) =>
      stub.names.includes(name)
        ? Promise.resolve()
        : new Promise((resolve) => waiting.set(name, resolve)),
  };
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      if (req.url !== CREATE_ROOM_PATH || req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      if (!authorised(req.headers.authorization)) stub.unauthorised += 1;
      const name = (JSON.parse(body) as { name: string }).name;
      stub.names.push(name);
      waiting.get(name)?.();
      if (name.startsWith('hang-')) return;
      if (name.startsWith('busy-')) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end('{"code":"unavailable","msg":"try again"}');
      } else if (name.startsWith('big-')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('x'.repeat(2 * 1024 * 1024));
      } else if (name.startsWith('empty-')) {
        res.writeHead(204).end();
      } else {
        const sid = stub.rooms.get(name) ?? `RM_${stub.rooms.size}`;
        stub.rooms.set(name, sid);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ sid, name, emptyTimeout: 300, departureTimeout: 20 }));
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return stub;
}

/** A port on 127.0.0.1 that nothing listens on (a server bound it, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function errorName(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'resolved',
    (err: unknown) => (err instanceof Error ? err.name : typeof err),
  );
}

describe('the HTTP clients (load-http.ts)', () => {
  const headers = { Authorization: 'Bearer x', 'Content-Type': 'application/json' };
  const body = (name: string) => JSON.stringify({ name });

  for (const transport of TRANSPORTS) {
    it(`${transport}: answers, statuses, TimeoutError after timeoutMs, other errors otherwise`, async () => {
      const stub = await startStub();
      const http = await createTransport(transport);
      const url = `${stub.url}${CREATE_ROOM_PATH}`;
      const ok = await http.post(url, headers, body('room-1'), 10_000);
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.text)).toMatchObject({ sid: 'RM_0', name: 'room-1' });
      expect(await http.post(url, headers, body('busy-1'), 10_000)).toEqual({
        status: 503,
        text: '{"code":"unavailable","msg":"try again"}',
      });
      // The run counts an attempt timedOut by this name, anything else failed.
      expect(await errorName(http.post(url, headers, body('hang-1'), 50))).toBe('TimeoutError');
      const refused = `http://127.0.0.1:${await closedPort()}${CREATE_ROOM_PATH}`;
      const refusedName = await errorName(http.post(refused, headers, body('room-2'), 10_000));
      expect(refusedName).not.toBe('TimeoutError');
      expect(refusedName).not.toBe('resolved');
      expect(stub.names).toEqual(['room-1', 'busy-1', 'hang-1']);
    });

    it(`${transport}: the fetch view gives packages/client a Response and honours its signal`, async () => {
      const stub = await startStub();
      const http = await createTransport(transport);
      const url = `${stub.url}${CREATE_ROOM_PATH}`;
      const init = (name: string, signal?: AbortSignal): RequestInit => ({
        method: 'POST',
        headers,
        body: body(name),
        ...(signal ? { signal } : {}),
      });
      const answer = await http.fetch(url, init('room-1'));
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toBe('application/json');
      expect(await answer.json()).toMatchObject({ sid: 'RM_0', name: 'room-1' });
      const busy = await http.fetch(url, init('busy-1'));
      expect([busy.status, await busy.text()]).toEqual([
        503,
        '{"code":"unavailable","msg":"try again"}',
      ]);
      const empty = await http.fetch(url, init('empty-1'));
      expect([empty.status, empty.body]).toEqual([204, null]);
      const controller = new AbortController();
      const hanging = errorName(http.fetch(url, init('hang-1', controller.signal)));
      await stub.arrival('hang-1');
      controller.abort();
      expect(await hanging).toBe('AbortError');
    });
  }

  it('node-http: an answer over 1 MiB fails the attempt instead of being buffered', async () => {
    const stub = await startStub();
    const http = await createTransport('node-http');
    const attempt = http.post(`${stub.url}${CREATE_ROOM_PATH}`, headers, body('big-1'), 10_000);
    await expect(attempt).rejects.toThrow(/answer over 1048576 B/);
  });
});

interface LoadProcess {
  /** Every stdout line, parsed. */
  lines: (SecondStats | DoneStats | RecordingLine)[];
  /** Resolves once the `recording` line was written. */
  recording: Promise<void>;
  send(cmd: unknown): void;
  finished: Promise<{ code: number | null; stderr: string }>;
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
  const lines: LoadProcess['lines'] = [];
  let recorded: () => void = () => undefined;
  const recording = new Promise<void>((resolve) => {
    recorded = resolve;
  });
  let stderr = '';
  let pending = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    pending += chunk;
    const texts = pending.split('\n');
    pending = texts.pop()!;
    for (const text of texts) {
      const line = JSON.parse(text) as SecondStats | DoneStats | RecordingLine; // JSON only
      lines.push(line);
      if (line.type === 'recording') recorded();
    }
  });
  const finished = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stderr })),
  );
  return {
    lines,
    recording,
    send: (cmd) => child.stdin!.write(`${JSON.stringify(cmd)}\n`),
    finished,
  };
}

/**
 * r1 (100/s, new rooms only) on stub A and r2 (50/s) on stub B for 1 s of warm-up and 2 s
 * recorded; r1 fails over to B when the recording line arrives.
 */
async function smokeRun(mode: LoadConfig['mode'], transport: HttpTransport): Promise<void> {
  const [a, b] = await Promise.all([startStub(), startStub()]);
  const r1 = {
    name: 'r1',
    url: a.url,
    ratePerSec: 100,
    existing: { prefix: 'e-', count: 0 },
    newFraction: 1,
    newPrefix: 'r1-new-',
  };
  const r2 = { ...r1, name: 'r2', url: b.url, ratePerSec: 50, newPrefix: 'r2-new-' };
  const config: LoadConfig = {
    mode,
    transport,
    apiKey: API_KEY,
    apiSecret: API_SECRET,
    seed: 1,
    warmupS: 1,
    durationS: 2,
    inFlightMax: 10_000,
    // Every call must succeed: bounds far above what a busy machine's answers take.
    attemptTimeoutMs: 10_000,
    maxAttempts: 3,
    callDeadlineMs: 10_000,
    ackedPath: join(tempDir, `acked-${mode}-${transport}.tsv`),
    regions: [r1, r2],
  };
  const load = runLoad(config);
  await load.recording;
  load.send({ cmd: 'failover', from: 'r1', to: 'r2' });
  const { code, stderr } = await load.finished;
  expect(code, stderr).toBe(0);
  expect(stderr).toContain(`failover r1 -> r2: now ${b.url}`);

  // The lines: recording, one per recorded second, done. Seconds 1 and 2 start exactly the
  // schedule's calls; a process the machine starved past the end also writes the seconds
  // it missed while draining (no call starts in them).
  expect(load.lines[0]).toEqual({ type: 'recording' });
  expect(load.lines.at(-1)!.type).toBe('done');
  const recorded = load.lines.filter((l): l is SecondStats => l.type === 'second');
  expect(recorded.map((s) => s.t)).toEqual(recorded.map((_, i) => i + 1));
  expect(recorded.length).toBeGreaterThanOrEqual(2);
  expect(load.lines).toHaveLength(recorded.length + 2);
  for (const second of recorded) {
    const started = second.t <= 2 ? [100, 50] : [0, 0];
    expect([second.byRegion.r1!.callsStarted, second.byRegion.r2!.callsStarted]).toEqual(started);
  }
  const done = load.lines.at(-1) as DoneStats;
  expect(done).toMatchObject({ calls: 300, attempts: 300, ok: 300, failed: 0, timedOut: 0 });
  expect(done.p99Ms!).toBeGreaterThanOrEqual(done.p50Ms!);
  expect(a.unauthorised + b.unauthorised).toBe(0);

  // r1's 300 calls, in schedule order, went to A up to the failover and to B from then on:
  // the first k names at A, the rest at B; k is at least the warm-up's 100 (the command is
  // sent after the recording line), and how many more depends on when the child reads it
  // (incident-load.test.ts pins it on a virtual clock).
  const chooser = new RoomChooser(r1, mulberry32(regionSeed(config.seed, 0)));
  const r1Names = Array.from({ length: 300 }, () => chooser.next().name);
  expect(r1Names[0]).toBe('r1-new-0');
  const atA = r1Names.filter((n) => a.names.includes(n));
  const k = atA.length;
  expect(atA).toEqual(r1Names.slice(0, k));
  expect(k).toBeGreaterThanOrEqual(100);
  expect(b.names.filter((n) => n.startsWith('r1-')).sort()).toEqual(r1Names.slice(k).sort());

  // The acked file holds every new room, the warm-up's too, with the sid that created it.
  const acked = readFileSync(config.ackedPath, 'utf8').split('\n').filter(Boolean);
  expect(acked).toHaveLength(done.ackedNew);
  expect(done.ackedNew).toBe(450);
  for (const row of acked) {
    const [name, sid] = row.split('\t') as [string, string];
    expect(a.rooms.get(name) ?? b.rooms.get(name), name).toBe(sid);
  }
}

describe('load.ts as a child process (real time)', () => {
  it('smoke: warm-up, failover on stdin, exact seconds, acked = created (both modes)', async () => {
    // One mode per transport: the other pairs differ only in code the tests above cover.
    await Promise.all([smokeRun('at-once', 'node-http'), smokeRun('policy', 'fetch')]);
  });
});
