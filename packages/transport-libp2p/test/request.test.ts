import { peerIdFromString } from '@libp2p/peer-id';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ERROR_MESSAGE_BYTES_MAX,
  FrameTooLargeError,
  generateClusterKey,
  type Libp2pTransport,
  PeerBusyError,
  ProtocolNotSupportedError,
  RemoteHandlerError,
  RequestAbortedError,
  RequestTimeoutError,
  ResponseIncompleteError,
  TooManyFramesError,
  TooManyPendingRequestsError,
} from '../src/index.js';
import {
  collect,
  type Deferred,
  deferred,
  failure,
  hostPort,
  rawNode,
  startNodes,
  stopAll,
  str,
  text,
  until,
} from './helpers.js';

const KIB = 1024;
const FRAME_BYTES_MAX = 64 * KIB;
const OPTIONS = { timeoutMs: 10_000, framesMax: 10 };
const DIAL = { timeoutMs: 5_000 };

function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value);
  return bytes;
}
const readU32 = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(0);
function countRequest(count: number, frameBytes: number): Uint8Array {
  const request = new Uint8Array(8);
  request.set(u32(count));
  request.set(u32(frameBytes), 4);
  return request;
}

describe('request/response between two nodes', () => {
  const key = generateClusterKey();
  let server: Libp2pTransport;
  let client: Libp2pTransport;
  /** Handlers that must never answer wait on this; it is released in afterAll. */
  const never = deferred<Uint8Array>();
  let stopped: Deferred<number> | undefined;

  beforeAll(async () => {
    const started = await startNodes(key, 2, { frameBytesMax: FRAME_BYTES_MAX });
    server = started[0]!;
    client = started[1]!;
    server.handle('/test/echo/1', async (request) => request);
    server.handle('/test/count/1', async function* (request) {
      // request = [count:u32][frameBytes:u32]; frame i starts with i as u32.
      const count = readU32(request);
      const frameBytes = readU32(request.subarray(4));
      let i = 0;
      try {
        for (; i < count; i++) {
          const frame = new Uint8Array(frameBytes);
          frame.set(u32(i));
          yield frame;
        }
      } finally {
        stopped?.resolve(i);
      }
    });
    server.handle('/test/sized/1', async (request) => new Uint8Array(readU32(request)));
    server.handle('/test/throw/1', async (request) => {
      throw new Error(str(request));
    });
    server.handle('/test/throw-sync/1', () => {
      throw new Error('synchronous failure');
    });
    server.handle('/test/throw-mid/1', async function* () {
      yield text('one');
      yield text('two');
      yield text('three');
      throw new Error('failed after three frames');
    });
    server.handle('/test/never/1', () => never.promise);
    server.handle('/test/busy/1', async function* () {
      // 200 frames, each after 2 ms of synchronous work; a timer armed at the start records
      // how many frames were out when it could run.
      let produced = 0;
      let timerAt = -1;
      setTimeout(() => {
        timerAt = produced;
      }, 0);
      for (; produced < 200; produced++) {
        const until = performance.now() + 2;
        while (performance.now() < until) {
          // busy: a frame's worth of hashing and encoding
        }
        yield u32(produced);
      }
      yield u32(timerAt);
    });
    server.handle('/test/shape/1', async function* (request) {
      // Property test: request = [frameCount:u8][payload]; frame i = payload[0..i % (len+1)]
      const count = request[0] ?? 0;
      const payload = request.subarray(1);
      for (let i = 0; i < count; i++) yield payload.subarray(0, i % (payload.byteLength + 1));
    });
    expect(await client.dial(hostPort(server), DIAL)).toBe(server.peerId);
  });

  afterAll(async () => {
    never.resolve(new Uint8Array(0));
    await stopAll([server, client]);
  });

  it('answers a single frame', async () => {
    const frames = await collect(
      client.request(server.peerId, '/test/echo/1', text('ping'), OPTIONS),
    );
    expect(frames.map(str)).toEqual(['ping']);
  });

  it('a long stream gives the event loop a turn every STREAM_YIELD_AFTER_MS: timers run while it streams', async () => {
    const frames = await collect(
      client.request(server.peerId, '/test/busy/1', text(''), { ...OPTIONS, framesMax: 201 }),
    );
    expect(frames).toHaveLength(201);
    const timerAt = readU32(frames[200]!);
    // Without the turn the 200 frames (~400 ms) ran as one microtask chain and the timer ran
    // after the last; with it, within ~STREAM_YIELD_AFTER_MS of work (a few frames).
    expect(timerAt).toBeLessThan(50);
  });

  it('streams 1,000 frames in order', async () => {
    const frames = await collect(
      client.request(server.peerId, '/test/count/1', countRequest(1_000, 4), {
        ...OPTIONS,
        framesMax: 1_000,
      }),
    );
    expect(frames.map(readU32)).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
  });

  it('aborts past framesMax and stops the responder', async () => {
    stopped = deferred<number>();
    // 5,000 frames of 16 KiB (80 MiB): flow control keeps the responder a few MiB ahead at
    // most, so it is still producing when the requester gives up after 10 frames.
    const count = 5_000;
    const error = await failure(() =>
      collect(
        client.request(server.peerId, '/test/count/1', countRequest(count, 16 * KIB), {
          ...OPTIONS,
          framesMax: 10,
        }),
      ),
    );
    expect(error).toBeInstanceOf(TooManyFramesError);
    // The reset reaches the responder, which returns the handler's iterator early.
    expect(await stopped.promise).toBeLessThan(count);
    stopped = undefined;
  });

  it('accepts a frame of exactly frameBytesMax both ways', async () => {
    const [frame] = await collect(
      client.request(
        server.peerId,
        '/test/echo/1',
        new Uint8Array(FRAME_BYTES_MAX).fill(7),
        OPTIONS,
      ),
    );
    expect(frame!.byteLength).toBe(FRAME_BYTES_MAX);
    expect(frame!.every((byte) => byte === 7)).toBe(true);
  });

  it('refuses a request frame over frameBytesMax before sending it', async () => {
    const error = await failure(() =>
      collect(
        client.request(server.peerId, '/test/echo/1', new Uint8Array(FRAME_BYTES_MAX + 1), OPTIONS),
      ),
    );
    expect(error).toBeInstanceOf(FrameTooLargeError);
  });

  it('gives FrameTooLargeError when the handler produces a frame over the limit', async () => {
    const error = await failure(() =>
      collect(client.request(server.peerId, '/test/sized/1', u32(FRAME_BYTES_MAX + 1), OPTIONS)),
    );
    expect(error).toBeInstanceOf(FrameTooLargeError);
    expect(server.metrics().framesTooLarge).toBeGreaterThanOrEqual(1);
  });

  it('turns a throwing handler into RemoteHandlerError and keeps serving', async () => {
    const before = server.metrics().responseHandlerErrors;
    const rejected = await failure(() =>
      collect(client.request(server.peerId, '/test/throw/1', text('no such room'), OPTIONS)),
    );
    expect(rejected).toBeInstanceOf(RemoteHandlerError);
    expect(rejected.message).toBe('no such room');
    const sync = await failure(() =>
      collect(client.request(server.peerId, '/test/throw-sync/1', text(''), OPTIONS)),
    );
    expect(sync).toBeInstanceOf(RemoteHandlerError);
    expect(sync.message).toBe('synchronous failure');
    // Frames produced before the failure are delivered, then the error.
    const seen: string[] = [];
    const mid = await failure(async () => {
      for await (const frame of client.request(
        server.peerId,
        '/test/throw-mid/1',
        text(''),
        OPTIONS,
      )) {
        seen.push(str(frame));
      }
    });
    expect(seen).toEqual(['one', 'two', 'three']);
    expect(mid).toBeInstanceOf(RemoteHandlerError);
    expect(server.metrics().responseHandlerErrors - before).toBe(3);
    // The node still answers.
    const frames = await collect(
      client.request(server.peerId, '/test/echo/1', text('alive'), OPTIONS),
    );
    expect(frames.map(str)).toEqual(['alive']);
  });

  it('gives RequestTimeoutError for a slow handler, within the timeout', async () => {
    const timeoutMs = 300;
    const started = performance.now();
    const error = await failure(() =>
      collect(
        client.request(server.peerId, '/test/never/1', text(''), { timeoutMs, framesMax: 1 }),
      ),
    );
    const elapsedMs = performance.now() - started;
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(elapsedMs).toBeGreaterThanOrEqual(timeoutMs - 5);
    // Generous upper bound for a loaded 2-core machine; the point is "not the 10 s default".
    expect(elapsedMs).toBeLessThan(timeoutMs + 2_000);
  });

  it("gives RequestAbortedError when the caller's signal aborts", async () => {
    const controller = new AbortController();
    const iterator = client
      .request(server.peerId, '/test/never/1', text(''), { ...OPTIONS, signal: controller.signal })
      [Symbol.asyncIterator]();
    const pending = iterator.next();
    controller.abort();
    const error = await failure(() => pending);
    expect(error).toBeInstanceOf(RequestAbortedError);
  });

  it('gives ProtocolNotSupportedError for a protocol nobody serves', async () => {
    const error = await failure(() =>
      collect(client.request(server.peerId, '/test/none/1', text(''), OPTIONS)),
    );
    expect(error).toBeInstanceOf(ProtocolNotSupportedError);
  });

  it('carries any handler error message, cut to ERROR_MESSAGE_BYTES_MAX (property, 25 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 700 }),
        async (message) => {
          const error = await failure(() =>
            collect(client.request(server.peerId, '/test/throw/1', text(message), OPTIONS)),
          );
          expect(error).toBeInstanceOf(RemoteHandlerError);
          const received = text(error.message);
          expect(received.byteLength).toBeLessThanOrEqual(ERROR_MESSAGE_BYTES_MAX);
          if (text(message).byteLength <= ERROR_MESSAGE_BYTES_MAX)
            expect(error.message).toBe(message);
          else expect(message.startsWith(error.message)).toBe(true);
        },
      ),
      { numRuns: 25, seed: 424_242 },
    );
  });

  it('returns exactly the frames the handler produced (property, 25 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 40 }),
        fc.uint8Array({ maxLength: 2_048 }),
        async (count, payload) => {
          const request = new Uint8Array(1 + payload.byteLength);
          request[0] = count;
          request.set(payload, 1);
          const frames = await collect(
            client.request(server.peerId, '/test/shape/1', request, { ...OPTIONS, framesMax: 40 }),
          );
          expect(frames.map((frame) => Array.from(frame))).toEqual(
            Array.from({ length: count }, (_, i) =>
              Array.from(payload.subarray(0, i % (payload.byteLength + 1))),
            ),
          );
        },
      ),
      { numRuns: 25, seed: 7_777 },
    );
  });
});

describe('request limits', () => {
  const key = generateClusterKey();
  let nodes: Libp2pTransport[] = [];
  let release: Deferred<Uint8Array> | undefined;
  afterEach(async () => {
    release?.resolve(new Uint8Array(0));
    await stopAll(nodes);
    nodes = [];
  });

  it('answers PeerBusyError past inboundStreamsPerProtocolMax', async () => {
    nodes = await startNodes(key, 2, { inboundStreamsPerProtocolMax: 2 });
    const [server, client] = nodes as [Libp2pTransport, Libp2pTransport];
    release = deferred<Uint8Array>();
    let entered = 0;
    const twoEntered = deferred();
    server.handle('/test/hold/1', () => {
      entered++;
      if (entered === 2) twoEntered.resolve();
      return release!.promise;
    });
    await client.dial(hostPort(server), DIAL);
    const held = [0, 1].map(() =>
      collect(client!.request(server!.peerId, '/test/hold/1', text(''), OPTIONS)),
    );
    await twoEntered.promise;
    const error = await failure(() =>
      collect(client!.request(server!.peerId, '/test/hold/1', text(''), OPTIONS)),
    );
    expect(error).toBeInstanceOf(PeerBusyError);
    expect(server!.metrics().responsesShed).toBe(1);
    release.resolve(text('done'));
    expect((await Promise.all(held)).map((frames) => frames.map(str))).toEqual([
      ['done'],
      ['done'],
    ]);
  });

  it('one peer holding silent streams cannot take every slot of a protocol from the others', async () => {
    nodes = await startNodes(key, 3, {
      inboundStreamsPerProtocolMax: 12,
      inboundStreamsPerPeerMax: 4,
      requestReadTimeoutMs: 300,
    });
    const [server, hog, other] = nodes as [Libp2pTransport, Libp2pTransport, Libp2pTransport];
    server.handle('/test/echo/1', async (request) => request);
    await hog.dial(hostPort(server), DIAL);
    await other.dial(hostPort(server), DIAL);
    // The hog opens 12 streams (the whole protocol limit) and never writes a request.
    const raw = rawNode(hog);
    const silent = await Promise.all(
      Array.from({ length: 12 }, () =>
        raw.dialProtocol(peerIdFromString(server.peerId), '/test/echo/1'),
      ),
    );
    await until(() => server.metrics().responsesShed >= 8, 10_000, '8 streams shed');
    expect(server.metrics().responsesShed).toBe(8);
    // Everyone else is still served while the hog's 4 streams wait for their request.
    const answer = await collect(other.request(server.peerId, '/test/echo/1', text('hi'), OPTIONS));
    expect(answer.map(str)).toEqual(['hi']);
    // The hog's silent streams give their slots back after requestReadTimeoutMs.
    await until(() => server.metrics().responsesFailed >= 4, 10_000, 'silent streams released');
    const again = await collect(hog.request(server.peerId, '/test/echo/1', text('ok'), OPTIONS));
    expect(again.map(str)).toEqual(['ok']);
    for (const stream of silent) stream.abort(new Error('done'));
  });

  it('sheds requests past requestsPendingMax at once', async () => {
    nodes = await startNodes(key, 2, { requestsPendingMax: 2 });
    const [server, client] = nodes as [Libp2pTransport, Libp2pTransport];
    release = deferred<Uint8Array>();
    server.handle('/test/hold/1', () => release!.promise);
    await client.dial(hostPort(server), DIAL);
    const iterators = [0, 1].map(() =>
      client!.request(server!.peerId, '/test/hold/1', text(''), OPTIONS)[Symbol.asyncIterator](),
    );
    const held = iterators.map((iterator) => iterator.next());
    expect(client!.metrics().requestsPending).toBe(2);
    const error = await failure(() =>
      collect(client!.request(server!.peerId, '/test/hold/1', text(''), OPTIONS)),
    );
    expect(error).toBeInstanceOf(TooManyPendingRequestsError);
    expect(client!.metrics().requestsShed).toBe(1);
    release.resolve(text('done'));
    expect((await Promise.all(held)).map((step) => step.done)).toEqual([false, false]);
    await Promise.all(iterators.map((iterator) => iterator.return?.()));
    expect(client!.metrics().requestsPending).toBe(0);
  });

  it('applies back-pressure: a responder cannot run ahead of a slow reader', async () => {
    // Smallest window (256 KiB) and 64 KiB frames: without back-pressure the responder would
    // push all 16 MiB while the reader holds frame 0.
    nodes = await startNodes(key, 2, { streamWindowBytesMax: 256 * KIB });
    const [server, client] = nodes as [Libp2pTransport, Libp2pTransport];
    const frameBytes = 64 * KIB;
    const frameCount = 256;
    let produced = 0;
    server.handle('/test/bulk/1', async function* () {
      for (let i = 0; i < frameCount; i++) {
        produced++;
        yield new Uint8Array(frameBytes).fill(i & 0xff);
      }
    });
    server.handle('/test/echo/1', async (request) => request);
    await client.dial(hostPort(server), DIAL);
    const iterator = client!
      .request(server!.peerId, '/test/bulk/1', text(''), {
        timeoutMs: 20_000,
        framesMax: frameCount,
      })
      [Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value?.[0]).toBe(0);
    // While frame 0 is held, run 30 echo round trips on the same connection: plenty of event
    // loop turns and socket reads for an unthrottled responder to race ahead.
    for (let i = 0; i < 30; i++) {
      await collect(client!.request(server!.peerId, '/test/echo/1', text('tick'), OPTIONS));
    }
    // In flight at most: the paused stream's buffer (2 windows) + the reader's buffer (a frame
    // and 2 windows) + one frame being written: (512 + 64 + 512) KiB / 64 KiB + 2 = 19.
    expect(produced).toBeLessThanOrEqual(19);
    let received = 1;
    for (let step = await iterator.next(); step.done !== true; step = await iterator.next()) {
      expect(step.value[0]).toBe(received & 0xff);
      received++;
    }
    expect(received).toBe(frameCount);
    expect(produced).toBe(frameCount);
  });

  it('a responder resets a stream whose reader stalls past streamIdleTimeoutMs', async () => {
    nodes = await startNodes(key, 2, { streamWindowBytesMax: 256 * KIB, streamIdleTimeoutMs: 200 });
    const [server, client] = nodes as [Libp2pTransport, Libp2pTransport];
    server.handle('/test/bulk/1', async function* () {
      for (let i = 0; i < 256; i++) yield new Uint8Array(64 * KIB);
    });
    await client.dial(hostPort(server), DIAL);
    const iterator = client
      .request(server.peerId, '/test/bulk/1', text(''), { timeoutMs: 20_000, framesMax: 256 })
      [Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    // Hold frame 0: the responder's next write waits for drain, then gives up after 200 ms.
    await until(() => server.metrics().responsesFailed === 1, 10_000, 'the responder to give up');
    const error = await failure(async () => {
      for (let step = await iterator.next(); step.done !== true; step = await iterator.next()) {}
    });
    expect(error).toBeInstanceOf(ResponseIncompleteError);
  });
});
