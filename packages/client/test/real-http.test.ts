/**
 * The real fetch path (undici) against a real node:http server on 127.0.0.1, real clock and
 * timers. The one wait is the server's own 1 s Retry-After, which is what is being proved.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRoomringClient,
  RoomringDeadlineExceededError,
  RoomringNetworkError,
} from '../src/index.js';
import { roomJson } from './fake-env.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  atMs: number;
}

const servers: Server[] = [];

async function listen(
  answer: (seen: Seen, index: number, res: import('node:http').ServerResponse) => void,
): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    // Recorded when the headers arrive, so a request the client later aborts is still seen.
    const s: Seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: '',
      atMs: performance.now(),
    };
    const index = seen.push(s) - 1;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      s.body = Buffer.concat(chunks).toString('utf8');
      answer(s, index, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, server };
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

describe('real node:http server on 127.0.0.1', () => {
  it('503 + Retry-After: 1, then 200: the client waits >= 1 s and returns the room', async () => {
    const { url, seen } = await listen((_s, i, res) => {
      if (i === 0) {
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
        res.end(JSON.stringify({ code: 'unavailable', msg: 'replicas did not ack', meta: {} }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(roomJson('standup')));
    });
    const client = createRoomringClient({ baseUrl: url, apiKey: 'devkey', apiSecret: 'secret' });
    const room = await client.createRoom({ name: 'standup' }, { deadlineMs: 10_000 });

    expect(room).toMatchObject({
      name: 'standup',
      sid: 'RM_abcdefghijkm',
      creationTime: 1_767_225_600,
    });
    expect(seen).toHaveLength(2);
    expect(seen[1]!.atMs - seen[0]!.atMs).toBeGreaterThanOrEqual(995); // timer granularity
    for (const s of seen) {
      expect(s.method).toBe('POST');
      expect(s.url).toBe('/twirp/livekit.RoomService/CreateRoom');
      expect(s.headers['content-type']).toBe('application/json');
      expect(JSON.parse(s.body)).toEqual({ name: 'standup' });
      const [h, p, sig] = (s.headers.authorization ?? '').replace(/^Bearer /, '').split('.');
      expect(createHmac('sha256', 'secret').update(`${h}.${p}`).digest('base64url')).toBe(sig);
    }
    const left = seen.map((s) => Number(s.headers['x-twirp-timeout-ms']));
    expect(left[0]).toBeLessThanOrEqual(10_000);
    expect(left[0]! - left[1]!).toBeGreaterThanOrEqual(990);
    expect(client.counters()).toMatchObject({ calls: 1, attempts: 2, retries: 1, succeeded: 1 });
  });

  it('a refused connection is a RoomringNetworkError with beforeSend, so even DeleteRoom retries', async () => {
    const { url, server } = await listen(() => {});
    await new Promise((r) => server.close(r)); // the port is now closed: ECONNREFUSED
    const client = createRoomringClient({
      baseUrl: url,
      apiKey: 'devkey',
      apiSecret: 'secret',
      retry: { maxAttempts: 2 },
    });
    const err = await client.deleteRoom('a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RoomringNetworkError);
    expect((err as RoomringNetworkError).systemCode).toBe('ECONNREFUSED');
    expect((err as RoomringNetworkError).beforeSend).toBe(true);
    expect((err as RoomringNetworkError).attempts).toBe(2);
    expect((err as RoomringNetworkError).retryStop).toBe('max-attempts');
  });

  it('a server that never answers is cut off at the deadline by the AbortController', async () => {
    const { url, seen } = await listen(() => {}); // never responds
    const client = createRoomringClient({ baseUrl: url, apiKey: 'devkey', apiSecret: 'secret' });
    const started = performance.now();
    const err = await client.status({ deadlineMs: 1_000 }).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(RoomringDeadlineExceededError);
    expect((err as RoomringDeadlineExceededError).attempts).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(995);
    expect(elapsed).toBeLessThan(10_000); // generous: a loaded 2-core machine
    expect(seen).toHaveLength(1);
    // What is left of the deadline when the attempt leaves: 1000 ms, or a few less when the
    // clock ticked between the call and its attempt (seen: 999 on a loaded machine).
    const sentTimeoutMs = Number(seen[0]!.headers['x-twirp-timeout-ms']);
    expect(sentTimeoutMs).toBeGreaterThan(900);
    expect(sentTimeoutMs).toBeLessThanOrEqual(1_000);
  });
});
