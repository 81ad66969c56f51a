/**
 * Pipelined requests on real libp2p nodes (src/pipelined.ts): what the transport contract
 * cannot see, because it is about the shared stream itself: that requests really share one
 * stream, that its framing survives any split of the bytes, that the per-peer limit and the
 * frame limits apply per request, that a malformed or oversized frame costs only the session
 * that sent it, and that an idle session is closed.
 */
import type { Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FrameTooLargeError,
  generateClusterKey,
  type Libp2pTransport,
  PeerBusyError,
  ProtocolViolationError,
  RemoteHandlerError,
} from '../src/index.js';
import { emptyMetrics } from '../src/metrics.js';
import {
  encodeFrame,
  FrameReader,
  PIPELINED_SUFFIX,
  PipelinedRequester,
} from '../src/pipelined.js';
import {
  collect,
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
const OPTIONS = { timeoutMs: 10_000, framesMax: 1, pipelined: true };
const DIAL = { timeoutMs: 5_000 };
const PROTOCOL = '/test/echo/1';

/** Streams of `protocol` on `from`'s connections to `to`, open now. */
function openStreams(from: Libp2pTransport, to: Libp2pTransport, protocol: string): Stream[] {
  return rawNode(from)
    .getConnections(peerIdFromString(to.peerId))
    .flatMap((connection) => connection.streams)
    .filter((stream) => stream.protocol === protocol && stream.status === 'open');
}

describe('pipelined frames', () => {
  it('decode the same frames however the bytes are split', () => {
    const frame = fc.record({
      id: fc.integer({ min: 0, max: 0xffff_ffff }),
      body: fc.uint8Array({ maxLength: 300 }),
    });
    fc.assert(
      fc.property(
        fc.array(frame, { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (frames, cuts) => {
          const bytes = Buffer.concat(frames.map((f) => encodeFrame(f.id, f.body)));
          const points = [
            ...new Set(cuts.map((c) => (bytes.byteLength === 0 ? 0 : c % bytes.byteLength))),
          ].sort((a, b) => a - b);
          const reader = new FrameReader(4 + 300);
          const decoded: { id: number; body: number[] }[] = [];
          let from = 0;
          for (const to of [...points, bytes.byteLength]) {
            for (const f of reader.push(new Uint8Array(bytes.subarray(from, to)))) {
              decoded.push({ id: f.id, body: Array.from(f.body) });
            }
            from = to;
          }
          expect(decoded).toEqual(frames.map((f) => ({ id: f.id, body: Array.from(f.body) })));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuse a length without an id, and a length over the limit before its body arrives', () => {
    expect(() => new FrameReader(100).push(Uint8Array.of(0, 0, 0, 3, 1, 2, 3))).toThrow(
      ProtocolViolationError,
    );
    // Only the 4-byte length has arrived: it is refused at once, nothing is buffered for it.
    expect(() => new FrameReader(100).push(Uint8Array.of(0, 0, 0, 105))).toThrow(
      FrameTooLargeError,
    );
    expect(() => new FrameReader(100).push(Uint8Array.of(0xff, 0xff, 0xff, 0xff))).toThrow(
      FrameTooLargeError,
    );
  });
});

describe('pipelined requests between two nodes', () => {
  const key = generateClusterKey();
  let nodes: Libp2pTransport[] = [];

  afterEach(async () => {
    await stopAll(nodes);
    nodes = [];
  });

  async function pair(init: Parameters<typeof startNodes>[2] = {}) {
    nodes = await startNodes(key, 2, init);
    const [server, client] = nodes as [Libp2pTransport, Libp2pTransport];
    server.handle(PROTOCOL, async (request) => request);
    await client.dial(hostPort(server), DIAL);
    return { server, client };
  }

  it('share one stream: 200 requests, 8 at a time, on a single pipelined stream', async () => {
    const { server, client } = await pair();
    for (let round = 0; round < 25; round++) {
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          collect(client.request(server.peerId, PROTOCOL, text(`${round}:${i}`), OPTIONS)),
        ),
      );
      expect(answers.map((frames) => frames.map(str))).toEqual(
        Array.from({ length: 8 }, (_, i) => [`${round}:${i}`]),
      );
    }
    expect(openStreams(client, server, PROTOCOL + PIPELINED_SUFFIX)).toHaveLength(1);
    expect(openStreams(client, server, PROTOCOL)).toHaveLength(0);
    expect(server.metrics().responsesCompleted).toBe(200);
    expect(client.metrics()).toMatchObject({
      requestsStarted: 200,
      requestsSucceeded: 200,
      requestsPending: 0,
    });
  });

  it("count each request against the responder's per-peer limit, and answer busy past it", async () => {
    const { server, client } = await pair({ inboundStreamsPerPeerMax: 2 });
    const release = deferred<Uint8Array>();
    server.handle('/test/held/1', () => release.promise);
    const held = [0, 1].map(() =>
      collect(client.request(server.peerId, '/test/held/1', text(''), OPTIONS)),
    );
    await until(() => server.metrics().responsesActive === 2, 10_000, 'two requests held');
    const error = await failure(() =>
      collect(client.request(server.peerId, '/test/held/1', text(''), OPTIONS)),
    );
    expect(error).toBeInstanceOf(PeerBusyError);
    expect(server.metrics().responsesShed).toBe(1);
    release.resolve(text('done'));
    expect((await Promise.all(held)).map((frames) => frames.map(str))).toEqual([
      ['done'],
      ['done'],
    ]);
  });

  it('fail only the request whose answer is too large, or whose handler streams', async () => {
    const { server, client } = await pair({ frameBytesMax: 4 * KIB });
    server.handle('/test/sized/1', async (request) => new Uint8Array(Number(str(request))));
    server.handle('/test/stream/1', async function* () {
      yield text('one');
    });
    const tooLarge = await failure(() =>
      collect(client.request(server.peerId, '/test/sized/1', text(String(4 * KIB + 1)), OPTIONS)),
    );
    expect(tooLarge).toBeInstanceOf(FrameTooLargeError);
    const streaming = await failure(() =>
      collect(client.request(server.peerId, '/test/stream/1', text(''), OPTIONS)),
    );
    expect(streaming).toBeInstanceOf(RemoteHandlerError);
    const fits = await collect(
      client.request(server.peerId, '/test/sized/1', text(String(4 * KIB)), OPTIONS),
    );
    expect(fits[0]?.byteLength).toBe(4 * KIB);
    // A request over frameBytesMax is refused before it is sent.
    const bigRequest = await failure(() =>
      collect(client.request(server.peerId, PROTOCOL, new Uint8Array(4 * KIB + 1), OPTIONS)),
    );
    expect(bigRequest).toBeInstanceOf(FrameTooLargeError);
    expect(openStreams(client, server, `/test/sized/1${PIPELINED_SUFFIX}`)).toHaveLength(1);
  });

  it('reset the session of a peer that sends a malformed or oversized frame, and serve others', async () => {
    const { server, client } = await pair({ frameBytesMax: 4 * KIB });
    const raw = rawNode(client);
    const serverId = peerIdFromString(server.peerId);
    const framesTooLargeBefore = server.metrics().framesTooLarge;
    for (const bad of [Uint8Array.of(0, 0, 0, 2, 7, 7), Uint8Array.of(0x7f, 0xff, 0xff, 0xff)]) {
      const stream = await raw.dialProtocol(serverId, PROTOCOL + PIPELINED_SUFFIX);
      const closed = new Promise<void>((resolve) =>
        stream.addEventListener('close', () => resolve(), { once: true }),
      );
      stream.send(bad);
      await closed;
      expect(stream.status).not.toBe('open');
    }
    expect(server.metrics().framesTooLarge).toBe(framesTooLargeBefore + 1);
    const answer = await collect(client.request(server.peerId, PROTOCOL, text('fine'), OPTIONS));
    expect(answer.map(str)).toEqual(['fine']);
  });

  it('close an idle session, and open a new one for the next request', async () => {
    const { server, client } = await pair();
    const metrics = emptyMetrics();
    const stop = new AbortController();
    const requester = new PipelinedRequester(
      {
        node: rawNode(client),
        frameBytesMax: 64 * KIB,
        requestsPendingMax: 16,
        metrics,
        stopSignal: stop.signal,
      },
      200,
    );
    const protocol = PROTOCOL + PIPELINED_SUFFIX;
    try {
      expect(
        str(await requester.request(server.peerId, PROTOCOL, text('a'), 5_000, undefined)),
      ).toBe('a');
      expect(requester.sessionCount()).toBe(1);
      await until(() => requester.sessionCount() === 0, 10_000, 'the idle session to close');
      await until(
        () => openStreams(client, server, protocol).length === 0,
        10_000,
        'stream closed',
      );
      expect(
        str(await requester.request(server.peerId, PROTOCOL, text('b'), 5_000, undefined)),
      ).toBe('b');
      expect(requester.sessionCount()).toBe(1);
      expect(openStreams(client, server, protocol)).toHaveLength(1);
      expect(metrics).toMatchObject({
        requestsStarted: 2,
        requestsSucceeded: 2,
        requestsPending: 0,
      });
    } finally {
      stop.abort(new Error('test over'));
    }
  });
});
