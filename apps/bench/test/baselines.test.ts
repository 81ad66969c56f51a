import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname } from 'node:path';
import { Room } from '@livekit/protocol';
import { signJwt } from '@roomring/server';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BASELINE_MAIN,
  type BaselineStats,
  buildBaselineApp,
  createPgBackend,
  createRedisBackend,
  ensureSchema,
  type PgBackend,
  type PgBackendInit,
  type RoomBackend,
  seedRooms,
} from '../src/baselines/index.js';
import {
  ensureTools,
  type ServiceHandle,
  startPostgres,
  startRedis,
} from '../src/infra/services.js';

const KEY = 'bench-key';
const SECRET = 'bench-secret-0123456789abcdef0123456789';
const KEYS = new Map([[KEY, SECRET]]);
const PATH = '/twirp/livekit.RoomService/CreateRoom';

function token(video: Record<string, unknown> = { roomCreate: true }, secret = SECRET): string {
  const nowS = Math.floor(Date.now() / 1_000);
  return signJwt({ iss: KEY, nbf: nowS, exp: nowS + 600, video }, secret);
}

let postgres: ServiceHandle;
let redis: ServiceHandle;
let db: pg.Client;
const closers: (() => Promise<unknown>)[] = [];

// On a fresh machine (as root) this installs PostgreSQL and Redis from Debian first.
beforeAll(() => ensureTools(['postgres', 'redis']), 600_000);

beforeAll(async () => {
  [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  await ensureSchema(postgres.url);
  db = new pg.Client({ connectionString: postgres.url });
  await db.connect();
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await db?.end().catch(() => {});
  await Promise.all([postgres?.stop(), redis?.stop()]);
});

interface Server {
  app: FastifyInstance;
  backend: RoomBackend;
}

async function pgServer(init: Partial<PgBackendInit> = {}, requestTimeoutMs?: number) {
  const backend: PgBackend = await createPgBackend({ url: postgres.url, ...init });
  const app = buildBaselineApp({
    backend,
    keys: KEYS,
    ...(requestTimeoutMs !== undefined ? { requestTimeoutMs } : {}),
  });
  closers.push(async () => {
    await app.close();
    await backend.close();
  });
  return { app, backend };
}

async function create(server: Server, name: string, auth = `Bearer ${token()}`) {
  const res = await server.app.inject({
    method: 'POST',
    url: PATH,
    headers: { 'content-type': 'application/json', authorization: auth },
    payload: JSON.stringify({ name }),
  });
  return { status: res.statusCode, type: res.headers['content-type'], body: res.body };
}

async function sidOf(server: Server, name: string): Promise<string> {
  const res = await create(server, name);
  expect(res.status, res.body).toBe(200);
  return (JSON.parse(res.body) as { sid: string }).sid;
}

async function stats(server: Server): Promise<BaselineStats> {
  return (await server.app.inject({ method: 'GET', url: '/stats' })).json<BaselineStats>();
}

async function rows(name: string): Promise<{ sid: string }[]> {
  return (await db.query<{ sid: string }>('SELECT sid FROM rooms WHERE name = $1', [name])).rows;
}

describe('pg baseline', () => {
  it('get-or-create: same sid twice, one row, second call a cache hit with no query', async () => {
    const server = await pgServer();
    const first = await sidOf(server, 'twice');
    expect(first).toMatch(/^RM_[2-9A-HJ-NP-Za-km-z]{12}$/);
    expect((await stats(server)).dbQueries).toBe(1);
    expect(await sidOf(server, 'twice')).toBe(first);
    expect(await rows('twice')).toEqual([{ sid: first }]);
    const s = await stats(server);
    expect(s).toMatchObject({ requests: 2, dbQueries: 1, cacheHits: 1, cacheRooms: 1 });
  });

  it('two regions sharing the database, each with its own cache, give the same sid', async () => {
    const east = await pgServer();
    const west = await pgServer();
    const sid = await sidOf(east, 'shared');
    expect(await sidOf(west, 'shared')).toBe(sid);
    // West's cache did not know the room: its answer cost a query.
    expect((await stats(west)).dbQueries).toBe(1);
    expect(await rows('shared')).toHaveLength(1);
  });

  it('rttMs is spent holding the connection: 2 misses on a pool of 1 at 50 ms take >= 100 ms', async () => {
    const server = await pgServer({ poolSize: 1, rttMs: 50 });
    const started = performance.now();
    const answers = await Promise.all([create(server, 'rtt-a'), create(server, 'rtt-b')]);
    const elapsedMs = performance.now() - started;
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    // Node timers may fire up to 1 ms early; two in series must still be ~100 ms.
    expect(elapsedMs).toBeGreaterThanOrEqual(98);
  });

  it('sheds past poolWaitMax with unavailable 503', async () => {
    const server = await pgServer({ poolSize: 1, rttMs: 50, poolWaitMax: 0 });
    const [a, b] = await Promise.all([create(server, 'shed-a'), create(server, 'shed-b')]);
    expect([a.status, b.status].sort()).toEqual([200, 503]);
    const refused = a.status === 503 ? a : b;
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'unavailable' });
    expect((await stats(server)).errors).toBe(1);
  });

  it('timeout shorter than rttMs: 408 deadline_exceeded, yet the room is created and cached', async () => {
    const server = await pgServer({ rttMs: 150 }, 20);
    const res = await create(server, 'late');
    expect(res.status).toBe(408);
    expect(res.type).toBe('application/json');
    expect(JSON.parse(res.body)).toMatchObject({ code: 'deadline_exceeded' });
    expect((await stats(server)).timeouts).toBe(1);
    await server.backend.drain();
    const stored = await rows('late');
    expect(stored).toHaveLength(1);
    // The next call is answered from the cache the timed-out work filled: same sid, no query.
    expect(await sidOf(server, 'late')).toBe(stored[0]!.sid);
    expect(await stats(server)).toMatchObject({ dbQueries: 1, cacheHits: 1 });
  });

  it('the cache keeps cacheRoomsMax rooms, evicting the oldest insertion', async () => {
    const server = await pgServer({ cacheRoomsMax: 2 });
    for (const name of ['evict-1', 'evict-2', 'evict-3']) await sidOf(server, name);
    expect((await stats(server)).cacheRooms).toBe(2);
    await sidOf(server, 'evict-3'); // still cached
    expect((await stats(server)).dbQueries).toBe(3);
    await sidOf(server, 'evict-1'); // evicted: a query again
    expect((await stats(server)).dbQueries).toBe(4);
  });

  it('warmCache loads only the rooms whose name starts with the prefix (literally)', async () => {
    const names = ['warm_a1', 'warm_a2', 'warmXa3', 'other'];
    expect(await seedRooms(postgres.url, names)).toBe(4);
    expect(await seedRooms(postgres.url, names)).toBe(0); // already there
    const server = await pgServer();
    const backend = server.backend as PgBackend;
    // '_' is a LIKE wildcard; the prefix must not match warmXa3.
    expect(await backend.warmCache('warm_')).toBe(2);
    expect((await stats(server)).cacheRooms).toBe(2);
    expect(await sidOf(server, 'warm_a1')).toBe((await rows('warm_a1'))[0]!.sid);
    expect((await stats(server)).dbQueries).toBe(0);
    await sidOf(server, 'warmXa3');
    expect((await stats(server)).dbQueries).toBe(1);
  });

  it('refuses bad tokens, missing grants and bad names without writing a row', async () => {
    const server = await pgServer();
    const badToken = await create(
      server,
      'auth-x',
      `Bearer ${token({ roomCreate: true }, 'wrong')}`,
    );
    expect(badToken.status).toBe(401);
    expect(badToken.type).toBe('text/plain; charset=utf-8');
    const noHeader = await create(server, 'auth-x', '');
    expect(noHeader.status).toBe(401);
    // roomring's and livekit-server's answer to a token without the grant.
    const noGrant = await create(server, 'auth-x', `Bearer ${token({ roomList: true })}`);
    expect(noGrant.status).toBe(401);
    expect(noGrant.type).toBe('application/json');
    expect(JSON.parse(noGrant.body)).toMatchObject({
      code: 'unauthenticated',
      msg: 'permissions denied',
    });
    for (const name of ['', 'é'.repeat(129)]) {
      const bad = await create(server, name);
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.body)).toMatchObject({ code: 'invalid_argument' });
    }
    expect(await rows('auth-x')).toHaveLength(0);
    expect(await rows('é'.repeat(129))).toHaveLength(0);
    expect(await stats(server)).toMatchObject({ requests: 5, dbQueries: 0, cacheRooms: 0 });
  });
});

describe('redis baseline', () => {
  let server: Server;

  beforeAll(async () => {
    const backend = await createRedisBackend({ url: redis.url });
    const app = buildBaselineApp({ backend, keys: KEYS });
    closers.push(async () => {
      await app.close();
      await backend.close();
    });
    server = { app, backend };
  });

  it('get-or-create: same sid twice, every call one script', async () => {
    const sid = await sidOf(server, 'r-twice');
    expect(await sidOf(server, 'r-twice')).toBe(sid);
    expect(await stats(server)).toMatchObject({ dbQueries: 2, cacheHits: 0, cacheRooms: 0 });
  });

  it('answers a protobuf request in protobuf', async () => {
    const sid = await sidOf(server, 'r-proto');
    const res = await server.app.inject({
      method: 'POST',
      url: PATH,
      headers: { 'content-type': 'application/protobuf', authorization: `Bearer ${token()}` },
      payload: Buffer.from(
        new (await import('@livekit/protocol')).CreateRoomRequest({ name: 'r-proto' }).toBinary(),
      ),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/protobuf');
    const room = Room.fromBinary(res.rawPayload);
    expect(room.name).toBe('r-proto');
    expect(room.sid).toBe(sid);
    expect(room.emptyTimeout).toBe(300);
  });
});

describe('main.ts', () => {
  const tsxArgs = (args: string[]): string[] => [
    '--conditions=@roomring/source',
    '--import',
    'tsx',
    BASELINE_MAIN,
    ...args,
  ];
  const spawnMain = (args: string[]): ChildProcess =>
    spawn(process.execPath, tsxArgs(args), {
      cwd: dirname(BASELINE_MAIN),
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  it('serves CreateRoom over Redis after printing ready <port>', async () => {
    const child = spawnMain([
      '--backend',
      'redis',
      '--db-url',
      redis.url,
      '--api-key',
      KEY,
      '--api-secret',
      SECRET,
    ]);
    closers.push(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /^ready (\d+)$/m.exec(out);
        if (match) resolve(Number(match[1]));
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    const res = await fetch(`http://127.0.0.1:${port}${PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token()}` },
      body: JSON.stringify({ name: 'via-main' }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { name: string }).name).toBe('via-main');
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });

  it('exits 2 on an unknown flag', async () => {
    const child = spawnMain(['--backend', 'redis', '--bogus', '1']);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
    expect(stderr).toMatch(/bogus/);
  });
});
