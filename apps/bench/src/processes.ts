/**
 * Processes the HTTP and incident benches start: the bare node:http ceiling, the baseline
 * servers, and helpers to fill targets with rooms through their own API.
 *
 * Every child is recorded and SIGKILLed when the bench process exits, so an interrupted run
 * leaves nothing listening.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEV_API_KEY, DEV_API_SECRET, LOCAL_NODE_RUNTIME_ARGS } from '@roomring/cli';
import { signJwt } from '@roomring/server';
import { BASELINE_MAIN } from './baselines/index.js';

/** The local cluster's development credentials, given to the baselines too, so one token
 *  works against every target (same auth everywhere). */
export const BENCH_API_KEY = DEV_API_KEY;
export const BENCH_API_SECRET = DEV_API_SECRET;
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
/** Concurrent requests of a fill: enough to keep a server busy on 2 cores, few enough that a
 *  durable create (one replica round trip) is not refused by admission control (256 in flight). */
export const FILL_CONCURRENCY = 32;

const here = dirname(fileURLToPath(import.meta.url));
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Node arguments that run a TypeScript entry of this workspace from source. */
export function tsEntry(path: string): string[] {
  return ['--conditions=@roomring/source', '--import', 'tsx', path];
}

export interface Spawned {
  readonly url: string;
  readonly process: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Spawns `node args`, resolves once it prints `ready <port>` on stdout. With the runtime flags
 * roomring's local nodes run with (one V8 helper thread): every server under test shares the
 * cores on the same terms.
 */
export async function spawnReady(args: readonly string[], name: string): Promise<Spawned> {
  const child = spawn(process.execPath, [...LOCAL_NODE_RUNTIME_ARGS, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} not ready within ${READY_TIMEOUT_MS} ms:\n${stderr}`));
    }, READY_TIMEOUT_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /ready (\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited while starting (${signal ?? code}):\n${stderr}`));
    });
  });
  child.stdout?.resume();
  return {
    url: `http://127.0.0.1:${port}`,
    process: child,
    stop: (signal: NodeJS.Signals = 'SIGTERM') => stopChild(child, signal),
  };
}

export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      children.delete(child);
      return resolve();
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      children.delete(child);
      resolve();
    });
    child.kill(signal);
  });
}

/** The ceiling: a bare node:http server answering `body` to every request. */
export function spawnCeiling(body: string): Promise<Spawned> {
  return spawnReady([join(here, 'ceiling-server.mjs'), body], 'ceiling');
}

/** The fastify floor: fastify with roomring's body parser answering `body`, nothing else. */
export function spawnFastifyFloor(body: string): Promise<Spawned> {
  return spawnReady([join(here, 'fastify-floor.mjs'), body], 'fastify floor');
}

export interface BaselineArgs {
  backend: 'pg' | 'redis';
  dbUrl: string;
  poolSize?: number;
  rttMs?: number;
  requestTimeoutMs?: number;
  cacheRoomsMax?: number;
  warmPrefix?: string;
}

export function spawnBaseline(args: BaselineArgs, name: string): Promise<Spawned> {
  const flags = [
    '--backend',
    args.backend,
    '--port',
    '0',
    '--db-url',
    args.dbUrl,
    '--api-key',
    BENCH_API_KEY,
    '--api-secret',
    BENCH_API_SECRET,
  ];
  if (args.poolSize !== undefined) flags.push('--pool-size', String(args.poolSize));
  if (args.rttMs !== undefined) flags.push('--rtt-ms', String(args.rttMs));
  if (args.requestTimeoutMs !== undefined) {
    flags.push('--request-timeout-ms', String(args.requestTimeoutMs));
  }
  if (args.cacheRoomsMax !== undefined) flags.push('--cache-rooms-max', String(args.cacheRoomsMax));
  if (args.warmPrefix !== undefined) flags.push('--warm-prefix', args.warmPrefix);
  return spawnReady([...tsEntry(BASELINE_MAIN), ...flags], name);
}

/** A token every target accepts (the ceiling ignores it): create, list and admin rooms. */
export function benchToken(validForS = 6 * 3_600): string {
  const nowS = Math.floor(Date.now() / 1_000);
  return signJwt(
    {
      iss: BENCH_API_KEY,
      nbf: nowS - 60,
      exp: nowS + validForS,
      video: { roomCreate: true, roomList: true, roomAdmin: true },
    },
    BENCH_API_SECRET,
  );
}

export const CREATE_ROOM_PATH = '/twirp/livekit.RoomService/CreateRoom';

/** One CreateRoom; throws on anything but 200. Returns the answer's text. */
export async function createRoom(baseUrl: string, token: string, name: string): Promise<string> {
  const response = await fetch(`${baseUrl}${CREATE_ROOM_PATH}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (response.status !== 200) {
    throw new Error(`CreateRoom ${name} at ${baseUrl}: HTTP ${response.status} ${text}`);
  }
  return text;
}

/** Creates `names` at `baseUrl` with FILL_CONCURRENCY requests in flight; a refused request
 *  (429/503 under load) is retried after a short pause, anything else fails the fill. */
export async function fillRooms(
  baseUrl: string,
  token: string,
  names: readonly string[],
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const name = names[next++]!;
      for (let attempt = 1; ; attempt++) {
        try {
          await createRoom(baseUrl, token, name);
          break;
        } catch (error) {
          if (attempt >= 5 || !/HTTP (429|503)/.test(String(error))) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: FILL_CONCURRENCY }, worker));
}

/** `${prefix}0` .. `${prefix}${count - 1}`. */
export function roomNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}
