/**
 * The /v1/events WebSocket on a listening app over a real single node: auth by header or
 * query, refusals, the consumer bound, and the slow-consumer cut-off.
 */
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { eventually } from './helpers/server-process.js';
import { startTestServer, type TestServer } from './helpers/single-node.js';
import { sdkToken } from './helpers/tokens.js';

let s: TestServer;
let base: string;
let reader: string;

const BUFFER_BYTES_MAX = 256 * 1_024;

beforeAll(async () => {
  s = await startTestServer({ eventBufferBytesMax: BUFFER_BYTES_MAX, eventClientsMax: 3 });
  await s.app.listen({ host: '127.0.0.1', port: 0 });
  const address = s.app.server.address();
  base = `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  reader = await sdkToken({ roomList: true });
});
afterAll(async () => {
  await s?.close();
});

interface Consumer {
  ws: WebSocket;
  events: Record<string, unknown>[];
  closed: Promise<number>;
}

function connect(url: string, headers: Record<string, string> = {}): Promise<Consumer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const events: Record<string, unknown>[] = [];
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.on('message', (data) => events.push(JSON.parse(data.toString()) as Record<string, unknown>));
    ws.once('open', () => resolve({ ws, events, closed }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () =>
        reject(
          Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode, body }),
        ),
      );
    });
    ws.once('error', reject);
  });
}

async function createRoom(name: string, metadata = '') {
  const token = await sdkToken({ roomCreate: true });
  const res = await s.app.inject({
    method: 'POST',
    url: '/twirp/livekit.RoomService/CreateRoom',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ name, metadata }),
  });
  expect(res.statusCode).toBe(200);
}

describe('/v1/events', () => {
  it('streams room and ownership events to a consumer with a Bearer token', async () => {
    const c = await connect(`${base}/v1/events`, { authorization: `Bearer ${reader}` });
    await createRoom('evt-1', 'hello');
    const created = await eventually(
      async () => c.events.find((e) => e.type === 'room-created'),
      5_000,
      'room-created event',
      10,
    );
    expect(created).toMatchObject({
      type: 'room-created',
      nodeId: 'test-1',
      origin: 'local',
      room: { name: 'evt-1', metadata: 'hello', homeRegion: 'us-east', owner: 'test-1' },
    });
    expect(Math.abs((created.at as number) - Date.now())).toBeLessThan(5_000);
    await eventually(
      async () => c.events.some((e) => e.type === 'ownership-gained' && e.name === 'evt-1'),
      5_000,
      'ownership-gained event',
      10,
    );
    c.ws.close();
    await c.closed;
  });

  it('accepts ?access_token=', async () => {
    const c = await connect(`${base}/v1/events?access_token=${reader}`);
    await createRoom('evt-2');
    await eventually(
      async () => c.events.some((e) => e.type === 'room-created'),
      5_000,
      'event',
      10,
    );
    c.ws.close();
    await c.closed;
  });

  it('refuses bad, missing and under-granted tokens and other paths', async () => {
    const forged = await sdkToken({ roomList: true }, 'testkey', 'wrong-secret');
    await expect(
      connect(`${base}/v1/events`, { authorization: `Bearer ${forged}` }),
    ).rejects.toMatchObject({
      status: 401,
      body: 'invalid token: signature is invalid',
    });
    await expect(connect(`${base}/v1/events`)).rejects.toMatchObject({
      status: 401,
      body: 'missing authorization header',
    });
    await expect(connect(`${base}/v1/events?access_token=garbage`)).rejects.toMatchObject({
      status: 401,
    });
    const createOnly = await sdkToken({ roomCreate: true });
    await expect(
      connect(`${base}/v1/events`, { authorization: `Bearer ${createOnly}` }),
    ).rejects.toMatchObject({
      status: 401,
      body: '{"code":"unauthenticated","msg":"permissions denied","meta":{}}',
    });
    await expect(
      connect(`${base}/v1/nope`, { authorization: `Bearer ${reader}` }),
    ).rejects.toMatchObject({
      status: 404,
    });
  });

  it('refuses consumers past eventClientsMax with 503', async () => {
    const open = await Promise.all(
      [1, 2, 3].map(() => connect(`${base}/v1/events?access_token=${reader}`)),
    );
    await expect(connect(`${base}/v1/events?access_token=${reader}`)).rejects.toMatchObject({
      status: 503,
    });
    for (const c of open) c.ws.close();
    await Promise.all(open.map((c) => c.closed));
  });

  it('cuts a consumer that stops reading once its buffer passes the bound; others get everything', async () => {
    const fast = await connect(`${base}/v1/events?access_token=${reader}`);
    const stalled = await connect(`${base}/v1/events?access_token=${reader}`);
    const socket = (stalled.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    const metadata = 'x'.repeat(60_000);
    const count = 300; // 300 x 60 kB = 18 MB: far past the socket buffers and the bound
    for (let i = 0; i < count; i++) {
      await createRoom(`slow-${i}`, metadata);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const metric = async () =>
      (await s.app.inject({ method: 'GET', url: '/metrics' })).body.match(
        /roomring_event_stream_slow_disconnects_total (\d+)/,
      )?.[1];
    await eventually(async () => Number(await metric()) >= 1, 10_000, 'a slow-consumer cut');
    socket.resume();
    await stalled.closed;
    expect(stalled.events.length).toBeLessThan(count);
    await eventually(
      async () =>
        fast.events.filter(
          (e) =>
            e.type === 'room-created' &&
            String((e.room as { name: string }).name).startsWith('slow-'),
        ).length === count,
      10_000,
      'every event at the fast consumer',
    );
    expect(fast.ws.readyState).toBe(WebSocket.OPEN);
    fast.ws.close();
    await fast.closed;
  });
});
