import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseAutocannonOutput,
  RATE_TOLERANCE,
  runAtRate,
  runAutocannonAtRate,
} from '../src/infra/rate.js';
import {
  ensureTools,
  freePort,
  type ServiceHandle,
  ServiceStartError,
  startPostgres,
  startRedis,
} from '../src/infra/services.js';
import {
  type HttpTarget,
  LoadInitError,
  luaString,
  PACED_RATE_MAX,
  parseWrkOutput,
  runWrk,
} from '../src/infra/wrk.js';

// On a fresh machine (as root) this installs PostgreSQL, Redis and wrk from Debian first.
beforeAll(() => ensureTools(['postgres', 'redis', 'wrk']), 600_000);

/** Resolves true when something accepts TCP connections on 127.0.0.1:port. */
function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const started: ServiceHandle[] = [];
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
});

describe('ensureTools', () => {
  it('finds postgres, redis and wrk installed here without running apt', async () => {
    const lines: string[] = [];
    await ensureTools(['postgres', 'redis', 'wrk'], (line) => lines.push(line));
    expect(lines).toEqual([]);
  });
});

describe('startPostgres', () => {
  it('serves SQL on 127.0.0.1 and stop() closes the port and deletes its dir', async () => {
    const service = await startPostgres({ maxConnections: 20 });
    started.push(service);
    expect(service.url).toBe(`postgres://postgres@127.0.0.1:${service.port}/bench`);
    const client = new pg.Client({ connectionString: service.url });
    await client.connect();
    let dataDir: string;
    try {
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await client.query('CREATE TABLE rooms (name text PRIMARY KEY, sid text NOT NULL)');
      await client.query('INSERT INTO rooms VALUES ($1, $2)', ['__proto__', 'RM_1']);
      expect((await client.query('SELECT sid FROM rooms')).rows).toEqual([{ sid: 'RM_1' }]);
      expect((await client.query('SHOW max_connections')).rows).toEqual([
        { max_connections: '20' },
      ]);
      // Durability defaults are kept on purpose (services.ts).
      expect((await client.query('SHOW fsync')).rows).toEqual([{ fsync: 'on' }]);
      dataDir = (await client.query<{ data_directory: string }>('SHOW data_directory')).rows[0]!
        .data_directory;
    } finally {
      await client.end();
    }
    expect(existsSync(dataDir)).toBe(true);
    await service.stop();
    expect(await portOpen(service.port)).toBe(false);
    expect(processAlive(service.pid)).toBe(false);
    expect(existsSync(dirname(dataDir))).toBe(false);
  });
});

describe('start failures', () => {
  it('throws ServiceStartError with the server output when the port is taken', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const address = holder.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const error = await startRedis({ port }).then(
        (service) => {
          started.push(service);
          return undefined;
        },
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(ServiceStartError);
      expect((error as ServiceStartError).stderrTail).toMatch(/address already in use/i);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});

describe('startRedis', () => {
  it('answers SET/GET and stop() closes the port and deletes its dir', async () => {
    const service = await startRedis({ port: await freePort() });
    started.push(service);
    const redis = new Redis(service.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await redis.connect();
    let dir: string;
    try {
      await redis.set('room:__proto__', 'RM_1');
      expect(await redis.get('room:__proto__')).toBe('RM_1');
      const config = await redis.config('GET', 'dir');
      dir = String((config as string[])[1]);
    } finally {
      redis.disconnect();
    }
    expect(existsSync(dir)).toBe(true);
    await service.stop();
    expect(await portOpen(service.port)).toBe(false);
    expect(processAlive(service.pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('load generators', () => {
  const BODY_COUNT = 10;
  /** Every body received, counted by text. */
  const received = new Map<string, number>();
  let server: Server;
  let okSent = 0;
  let url = '';

  beforeAll(async () => {
    // 200 for even room indexes, 500 for odd ones.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        received.set(body, (received.get(body) ?? 0) + 1);
        const index = Number(/room-(\d+)"/.exec(body)?.[1] ?? '1');
        const status = index % 2 === 0 ? 200 : 500;
        if (status === 200) okSent += 1;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end('{"name":"ok"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    url = `http://127.0.0.1:${port}/twirp/livekit.RoomService/CreateRoom`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const target = (init: Partial<HttpTarget>): HttpTarget => ({
    url,
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer t"o\\k' },
    bodyPrefix: '{"name":"room-',
    bodySuffix: '"}',
    bodyCount: BODY_COUNT,
    ...init,
  });

  it('runWrk cycles through exactly bodyCount bodies and counts only 2xx in rps', async () => {
    received.clear();
    okSent = 0;
    const result = await runWrk(target({ startIndex: 4 }), { durationS: 1, connections: 16 });
    expect(result.requests).toBeGreaterThan(100);
    const names = [...received.keys()].sort();
    expect(names).toHaveLength(BODY_COUNT);
    expect(names).toEqual(
      Array.from({ length: BODY_COUNT }, (_, i) => `{"name":"room-${4 + i}"}`).sort(),
    );
    // Strict cycling: each body within one cycle's worth of in-flight requests of the others.
    const counts = [...received.values()];
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(16 + 1);
    expect(result.non2xx / result.requests).toBeGreaterThan(0.45);
    expect(result.non2xx / result.requests).toBeLessThan(0.55);
    const okCounted = result.rps * result.durationS;
    expect(okCounted).toBeCloseTo(result.requests - result.non2xx - result.timeouts, 3);
    expect(okCounted).toBeLessThanOrEqual(okSent);
    expect(result.rps).toBeLessThan((0.6 * result.requests) / result.durationS);
    expect(result.socketErrors).toBe(0);
    expect(result.latencyMs.p50).toBeGreaterThan(0);
    expect(result.latencyMs.p99).toBeGreaterThanOrEqual(result.latencyMs.p50);
    expect(result.latencyMs.max).toBeGreaterThanOrEqual(result.latencyMs.p99);
  });

  it('runWrk with threads > 1 still sends each body of the cycle', async () => {
    received.clear();
    const result = await runWrk(target({ bodyCount: 4 }), { durationS: 1, threads: 2 });
    expect(result.requests).toBeGreaterThan(0);
    expect([...received.keys()].sort()).toEqual([0, 1, 2, 3].map((i) => `{"name":"room-${i}"}`));
  });

  it('runAtRate (real time, smoke): wrk sends no request before its slot, and reports p99', async () => {
    received.clear();
    const started = performance.now();
    const result = await runAtRate(target({ bodyCount: 2, startIndex: 0 }), {
      ratePerSec: 500,
      durationS: 2,
      connections: 16,
    });
    const elapsedS = (performance.now() - started) / 1000;
    const sent =
      (received.get('{"name":"room-0"}') ?? 0) + (received.get('{"name":"room-1"}') ?? 0);
    // Slots are 2 ms apart from wrk's first request and a request never leaves before its slot,
    // so however late the machine runs wrk, it sends at most one slot per 2 ms of its life (the
    // call's whole wall time bounds it) plus the first; unpaced, this stub answers thousands
    // per second. How close it comes to 1,000 is the machine's business; what the wrapper
    // computes (rps of 2xx only, rateMet) is asserted against the result itself.
    expect(sent).toBeLessThanOrEqual(Math.floor(500 * elapsedS) + 1);
    expect(sent).toBeGreaterThanOrEqual(result.requests);
    expect(sent).toBeLessThanOrEqual(result.requests + 16);
    expect(result.non2xx).toBeGreaterThan(0); // room-1 answers 500
    expect(result.rps).toBeCloseTo(
      (result.requests - result.non2xx - result.timeouts) / result.durationS,
      6,
    );
    expect(result.rateMet).toBe(Math.abs(result.rps - 500) <= 500 * RATE_TOLERANCE);
    expect(result.targetRatePerSec).toBe(500);
    expect(result.latencyMs.p99).toBeGreaterThanOrEqual(result.latencyMs.p50);
    expect(result.clientCpuMs).toBeGreaterThan(0);
    expect(result.clientCpuMs).toBeLessThan(elapsedS * 2 * 1000);
  });

  it('runAutocannonAtRate (real time, smoke): paces under its budget ceiling and reports p99', async () => {
    received.clear();
    const started = performance.now();
    const result = await runAutocannonAtRate(target({ bodyCount: 1, startIndex: 0 }), {
      ratePerSec: 500,
      durationS: 2,
      connections: 16,
    });
    const elapsedS = (performance.now() - started) / 1000;
    expect([...received.keys()]).toEqual(['{"name":"room-0"}']);
    const sent = received.get('{"name":"room-0"}')!;
    // Pacing is autocannon's: each connection may send its share of the rate per 1 s
    // interval, the budget renewed by a timer that fires at most once per elapsed second of
    // the child's life, which the call's whole wall time bounds: at most one budget of 500
    // per whole second of it, plus the first (unpaced, this stub answers thousands per
    // second). A 2 s run usually lives under 3 s; a busy CI run sent 1,614, so one of its
    // runs lived past 3 s (the old bound, 3 budgets, assumed it never would). How close it
    // comes to 1,000 is the machine's business: busy CI runs got 840 and 1,154. What the
    // wrapper computes from the result (rps, rateMet, the error split) is asserted exactly
    // below, from fixed lines.
    expect(sent).toBeLessThanOrEqual(500 * (Math.floor(elapsedS) + 1));
    expect(result.requests).toBeGreaterThan(0);
    expect(result.rateMet).toBe(Math.abs(result.rps - 500) <= 500 * RATE_TOLERANCE);
    expect(result.targetRatePerSec).toBe(500);
    // Every answer counted was sent to the server; at most one per connection still in flight.
    expect(sent).toBeGreaterThanOrEqual(result.requests);
    expect(sent).toBeLessThanOrEqual(result.requests + 16);
    expect(result.non2xx).toBe(0);
    expect(result.latencyMs.p99).toBeGreaterThanOrEqual(result.latencyMs.p50);
    expect(Number.isFinite(result.latencyMs.p99)).toBe(true);
    expect(result.clientCpuMs).toBeGreaterThan(0);
  });

  it('parseAutocannonOutput: 2xx per second, rateMet within 10%, timeouts apart from errors', () => {
    const line = (over: Record<string, number>) =>
      `warming up\nACJSON ${JSON.stringify({
        requests: 1_000,
        durationS: 2,
        ok: 990,
        non2xx: 4,
        errors: 6,
        timeouts: 2,
        p50: 1.5,
        p90: 3,
        p99: 9,
        max: 20,
        mean: 2,
        cpuMs: 812.5,
        ...over,
      })}\n`;
    expect(parseAutocannonOutput(line({}), 500)).toEqual({
      requests: 1_000,
      durationS: 2,
      rps: 495,
      non2xx: 4,
      socketErrors: 4,
      timeouts: 2,
      latencyMs: { p50: 1.5, p90: 3, p99: 9, max: 20, mean: 2 },
      clientCpuMs: 812.5,
      targetRatePerSec: 500,
      rateMet: true,
    });
    // 10% either side of 500/s is met, one request more or less is not.
    expect(parseAutocannonOutput(line({ ok: 900 }), 500)!.rateMet).toBe(true);
    expect(parseAutocannonOutput(line({ ok: 898 }), 500)!.rateMet).toBe(false);
    expect(parseAutocannonOutput(line({ ok: 1_100 }), 500)!.rateMet).toBe(true);
    expect(parseAutocannonOutput(line({ ok: 1_102 }), 500)!.rateMet).toBe(false);
    expect(parseAutocannonOutput(line({ durationS: 0 }), 500)!.rps).toBe(0);
    expect(parseAutocannonOutput('no result line\n', 500)).toBeUndefined();
    expect(parseAutocannonOutput('ACJSON {"requests":"many"}\n', 500)).toBeUndefined();
  });

  it('rejects targets off 127.0.0.1 and bad options before spawning anything', async () => {
    await expect(
      runWrk(target({ url: 'http://10.0.0.1:80/x' }), { durationS: 1 }),
    ).rejects.toBeInstanceOf(LoadInitError);
    await expect(runWrk(target({ bodyCount: 0 }), { durationS: 1 })).rejects.toBeInstanceOf(
      LoadInitError,
    );
    await expect(runWrk(target({}), { durationS: 0.5 })).rejects.toBeInstanceOf(LoadInitError);
    for (const ratePerSec of [0, 1.5, PACED_RATE_MAX + 1]) {
      await expect(runWrk(target({}), { durationS: 1, ratePerSec })).rejects.toBeInstanceOf(
        LoadInitError,
      );
    }
    // A thread's share of the rate is at least one request per second.
    await expect(
      runWrk(target({}), { durationS: 1, threads: 2, ratePerSec: 1 }),
    ).rejects.toBeInstanceOf(LoadInitError);
  });

  it('parseWrkOutput: 2xx per second, errors apart, the client CPU from os.clock()', () => {
    const line = `Running 2s test\nWRKJSON ${JSON.stringify({
      requests: 1_000,
      durationUs: 2_000_000,
      connect: 1,
      read: 2,
      write: 3,
      status: 10,
      timeout: 4,
      p50Us: 1_500,
      p90Us: 3_000,
      p99Us: 9_000,
      maxUs: 20_000,
      meanUs: 2_000,
      cpuMs: 250.5,
    })}\n`;
    expect(parseWrkOutput(line)).toEqual({
      requests: 1_000,
      durationS: 2,
      rps: 493,
      non2xx: 10,
      socketErrors: 6,
      timeouts: 4,
      latencyMs: { p50: 1.5, p90: 3, p99: 9, max: 20, mean: 2 },
      clientCpuMs: 250.5,
    });
    expect(parseWrkOutput(line.replace(',"cpuMs":250.5', ''))).toBeUndefined();
  });

  it('luaString escapes quotes, backslashes and non-ASCII bytes', () => {
    expect(luaString('a"b\\c')).toBe('"a\\034b\\092c"');
    expect(luaString('é\n')).toBe('"\\195\\169\\010"');
  });
});
