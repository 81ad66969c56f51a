/**
 * The Twirp front over real sockets (twirp.test.ts drives the same code through app.inject):
 * the listening server answers RoomService calls itself, bodies are bounded as they arrive,
 * and a client that leaves gives its admission place back.
 */
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { type AddressInfo, createConnection } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/single-node.js';
import { ALL_GRANTS, sdkToken } from './helpers/tokens.js';

const CREATE = '/twirp/livekit.RoomService/CreateRoom';

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function listen(overrides: Parameters<typeof startTestServer>[0] = {}): Promise<number> {
  server = await startTestServer(overrides);
  await server.app.listen({ host: '127.0.0.1', port: 0 });
  return (server.app.server.address() as AddressInfo).port;
}

function answerOf(res: IncomingMessage): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () =>
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      }),
    );
    res.on('error', reject);
  });
}

/** POST with `body` written in the given pieces (chunked when no Content-Length is given). */
async function post(
  port: number,
  path: string,
  headers: Record<string, string>,
  pieces: readonly (string | Buffer)[],
): Promise<Answer> {
  const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers });
  const answered = once(req, 'response') as Promise<[IncomingMessage]>;
  for (const piece of pieces) req.write(piece);
  req.end();
  const [res] = await answered;
  return answerOf(res);
}

async function metric(port: number, line: RegExp): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const match = line.exec(await res.text());
  return match ? Number(match[1]) : undefined;
}

/** Polls /metrics until the gauge reads `value` (the server's state, seen from outside). */
async function gaugeReaches(port: number, name: string, value: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    if ((await metric(port, new RegExp(`^${name} (\\d+)$`, 'm'))) === value) return;
    if (Date.now() > deadline) throw new Error(`${name} never reached ${value}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('Twirp front (real sockets)', () => {
  it('answers CreateRoom with one exact Content-Length and counts it under /twirp', async () => {
    const port = await listen();
    const token = await sdkToken(ALL_GRANTS);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    // The body in three pieces: the front reads it as it arrives.
    const first = await post(port, CREATE, headers, ['{"na', 'me":"front-', 'room"}']);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('application/json');
    expect(Number(first.headers['content-length'])).toBe(Buffer.byteLength(first.body));
    const room = JSON.parse(first.body) as { name: string; sid: string };
    expect(room.name).toBe('front-room');
    const again = await post(port, CREATE, headers, ['{"name":"front-room"}']);
    expect((JSON.parse(again.body) as { sid: string }).sid).toBe(room.sid);
    expect(
      await metric(
        port,
        /^roomring_http_requests_total\{method="CreateRoom",route="\/twirp",code="200"\} (\d+)$/m,
      ),
    ).toBe(2);
  });

  it('refuses a body past bodyBytesMax, declared or streamed, and closes that connection', async () => {
    const port = await listen({ bodyBytesMax: 64 });
    const token = await sdkToken(ALL_GRANTS);
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const padding = 'x'.repeat(100);
    for (const [headers, pieces] of [
      // Declared: refused before a byte of it is read.
      [{ ...auth, 'content-length': '112' }, [`{"name":"${padding}"}`]],
      // Chunked: refused once 64 bytes have arrived.
      [auth, ['{"name":"', padding, '"}']],
    ] as const) {
      const answer = await post(port, CREATE, headers, pieces);
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body)).toEqual({
        code: 'invalid_argument',
        msg: 'request body is too large',
        meta: { argument: 'body' },
      });
      expect(answer.headers.connection).toBe('close');
    }
    // Within the bound the same call works.
    const ok = await post(port, CREATE, auth, ['{"name":"small"}']);
    expect(ok.status).toBe(200);
    expect(server!.node.getRoom('small')).toBeDefined();
    expect(server!.node.getRoom('x'.repeat(100))).toBeUndefined();
  });

  it('reads a body that came with its head in one read, and one that comes later as it arrives', async () => {
    const port = await listen();
    const token = await sdkToken(ALL_GRANTS);
    // Head and body in one write: one read on the server, the body taken from its buffer.
    const body = '{"name":"one-read","metadata":"m"}';
    const socket = createConnection({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.write(
      `POST ${CREATE} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
    await once(socket, 'end');
    const raw = Buffer.concat(chunks).toString('utf8');
    expect(raw.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({
      name: 'one-read',
      metadata: 'm',
    });
    // The rest of a body sent after the server took the request: read as it arrives.
    const [head, rest] = ['{"name":', '"later-room"}'];
    const headers = {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'content-length': String(head.length + rest.length),
    };
    const req = httpRequest({ host: '127.0.0.1', port, path: CREATE, method: 'POST', headers });
    const answered = once(req, 'response') as Promise<[IncomingMessage]>;
    req.write(head);
    await gaugeReaches(port, 'roomring_http_in_flight', 1);
    req.end(rest);
    const [res] = await answered;
    const later = await answerOf(res);
    expect(later.status).toBe(200);
    expect(JSON.parse(later.body)).toMatchObject({ name: 'later-room' });
  });

  it('a client that leaves mid-body or while queued gives its slot and place back', async () => {
    // A deadline far past the test's patience: only the departure can free the place.
    const port = await listen({ maxInFlight: 1, queueMax: 4, requestTimeoutMs: 60_000 });
    const token = await sdkToken(ALL_GRANTS);
    const headers = {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'content-length': '40',
    };
    // A holds the only slot: its body never completes.
    const a = httpRequest({ host: '127.0.0.1', port, path: CREATE, method: 'POST', headers });
    a.on('error', () => {});
    a.write('{"name":');
    await gaugeReaches(port, 'roomring_http_in_flight', 1);
    // B waits for the slot.
    const b = httpRequest({ host: '127.0.0.1', port, path: CREATE, method: 'POST', headers });
    b.on('error', () => {});
    b.write('{"name":');
    await gaugeReaches(port, 'roomring_http_queued', 1);
    b.destroy();
    await gaugeReaches(port, 'roomring_http_queued', 0);
    a.destroy();
    await gaugeReaches(port, 'roomring_http_in_flight', 0);
    // The slot is free again: the next request is served at once.
    const whole = await post(
      port,
      CREATE,
      { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ['{"name":"after"}'],
    );
    expect(whole.status).toBe(200);
  });
});
