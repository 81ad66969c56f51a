/**
 * Request/response, as packages/core/src/transport.ts documents it: `request` yields the
 * response frames, in order, until the responder ends; it never loses a frame silently (an
 * answer either arrives whole or the iterator throws, after a prefix of it); the whole
 * exchange finishes within `timeoutMs`; past `framesMax` frames the exchange aborts; a handler
 * that throws ends the stream with an error; `signal` aborts it. And, because a hung request
 * is a leak: a connection that closes mid-stream fails the request, and `stop()` fails the
 * transport's pending requests.
 */
import { expect } from 'vitest';
import type { RequestHandler, RequestOptions } from '../../src/transport.js';
import type { TransportContractHarness } from './harness.js';
import {
  bytes,
  type ContractCase,
  expectAtDeadline,
  expectKind,
  expectNumberedPrefix,
  gate,
  holdingHandler,
  numbered,
  pair,
  readAll,
  readStream,
  settled,
  text,
  track,
} from './observe.js';

/** Ample for every exchange that must succeed; the deadline cases set their own. */
const OPTIONS = { timeoutMs: 10_000, framesMax: 10 };
/** A deadline short enough to wait for on a real clock, long enough to be well above a few
 *  loopback round trips on a loaded machine, and twice a real harness's timing slack, so a
 *  transport that waits double the deadline fails the case. */
const SHORT_TIMEOUT_MS = 500;

/** A responder streaming numbered frames of `frameBytes`, one per `paceMs`, up to `count`;
 *  `closed` turns true when its generator is finished or stopped (the transport called
 *  `return()`). */
function pacedHandler(
  h: TransportContractHarness,
  count: number,
  paceMs: number,
  frameBytes = 4,
): { handler: RequestHandler; state: { produced: number; closed: boolean } } {
  const state = { produced: 0, closed: false };
  const handler: RequestHandler = async function* () {
    try {
      for (let i = 0; i < count; i++) {
        if (paceMs > 0) await h.sleep(paceMs);
        state.produced++;
        const frame = new Uint8Array(frameBytes);
        frame.set(numbered(i));
        yield frame;
      }
    } finally {
      state.closed = true;
    }
  };
  return { handler, state };
}

/**
 * A 1,000-frame stream paced 10 ms a frame; once three frames arrived, `who` hangs up. The
 * request must fail (closed) after a gap-free prefix and the responder's generator stop.
 */
async function hangUpMidStream(
  h: TransportContractHarness,
  who: 'requester' | 'responder',
): Promise<ReturnType<typeof pacedHandler>> {
  const { client, server } = await pair(h);
  const paced = pacedHandler(h, 1_000, 10);
  server.handle('/contract/paced/1', paced.handler);
  const read = readStream(
    h,
    client.request(server.peerId, '/contract/paced/1', bytes(''), {
      timeoutMs: 60_000,
      framesMax: 1_000,
    }),
  );
  await h.until(() => read.frames.length >= 3, h.patienceMs, 'three frames');
  const hangUp = who === 'responder' ? server.hangUp(client.peerId) : client.hangUp(server.peerId);
  await settled(h, track(h, hangUp), 'hang up');
  await settled(h, read.outcome, 'request after the hang-up');
  expectKind(h, read.outcome, ['closed'], 'request after the hang-up');
  expectNumberedPrefix(read.frames, 1_000);
  await h.until(() => paced.state.closed, h.patienceMs, 'the responder stopped');
  return paced;
}

/** Frame i of the in-order case: every 10th is empty, the rest carry i and some padding. */
function orderedFrame(i: number): Uint8Array {
  if (i % 10 === 5) return new Uint8Array(0);
  const frame = new Uint8Array(4 + (i % 7) * 100).fill(i & 0xff);
  frame.set(numbered(i));
  return frame;
}

/** A request for a protocol the peer does not handle fails (remote), with `extra` options
 *  (the pipelined cases run it again with `pipelined: true`). */
export function unsupportedProtocolCase(
  title: string,
  extra: Partial<RequestOptions>,
): ContractCase {
  return {
    title,
    async run(h) {
      const { client, server } = await pair(h);
      const read = await readAll(
        h,
        client.request(server.peerId, '/contract/none/1', bytes(''), { ...OPTIONS, ...extra }),
        'unhandled protocol',
      );
      expectKind(h, read.outcome, ['remote'], 'unhandled protocol');
      expect(read.frames).toEqual([]);
    },
  };
}

/** stop() fails the requester's pending requests (closed), made with `extra` options. */
export function stopFailsPendingCase(title: string, extra: Partial<RequestOptions>): ContractCase {
  return {
    title,
    async run(h) {
      const { client, server } = await pair(h);
      const never = holdingHandler();
      try {
        server.handle('/contract/never/1', never.handler);
        const read = readStream(
          h,
          client.request(server.peerId, '/contract/never/1', bytes(''), {
            timeoutMs: 60_000,
            framesMax: 1,
            ...extra,
          }),
        );
        await h.until(() => never.entered() === 1, h.patienceMs, 'the handler runs');
        await settled(h, track(h, client.stop()), 'requester stops');
        await settled(h, read.outcome, 'pending request after stop');
        expectKind(h, read.outcome, ['closed'], 'pending request after stop');
      } finally {
        never.release();
      }
    },
  };
}

export const REQUEST_CASES = {
  'request-single-frame': {
    title:
      "request: a one-frame answer arrives; the handler sees the request bytes and the requester's peer id",
    async run(h) {
      const { client, server } = await pair(h);
      const seen: Array<{ request: string; from: string }> = [];
      server.handle('/contract/echo/1', async (request, from) => {
        seen.push({ request: text(request), from });
        return bytes(`echo:${text(request)}`);
      });
      const read = await readAll(
        h,
        client.request(server.peerId, '/contract/echo/1', bytes('ping'), OPTIONS),
        'echo',
      );
      expect(read.outcome.error).toBeUndefined();
      expect(read.frames.map(text)).toEqual(['echo:ping']);
      expect(seen).toEqual([{ request: 'ping', from: client.peerId }]);
    },
  },

  'request-stream-in-order': {
    title: 'request: a streamed answer arrives whole and in order (200 frames, empty ones too)',
    async run(h) {
      const { client, server } = await pair(h);
      const count = 200;
      server.handle('/contract/stream/1', async function* () {
        for (let i = 0; i < count; i++) yield orderedFrame(i);
      });
      const read = await readAll(
        h,
        client.request(server.peerId, '/contract/stream/1', bytes(''), {
          ...OPTIONS,
          framesMax: count,
        }),
        `${count} frames`,
      );
      expect(read.outcome.error).toBeUndefined();
      expect(read.frames.map((frame) => Array.from(frame))).toEqual(
        Array.from({ length: count }, (_, i) => Array.from(orderedFrame(i))),
      );
    },
  },

  'request-handler-errors': {
    title:
      'request: a handler that throws or rejects fails the request (remote) after the frames it produced, and the responder keeps serving',
    async run(h) {
      const { client, server } = await pair(h);
      server.handle('/contract/reject/1', async () => {
        throw new Error('no such room');
      });
      server.handle('/contract/throw/1', () => {
        throw new Error('synchronous failure');
      });
      server.handle('/contract/throw-mid/1', async function* () {
        for (let i = 0; i < 3; i++) yield numbered(i);
        throw new Error('failed after three frames');
      });
      server.handle('/contract/echo/1', async (request) => request);
      for (const protocol of ['/contract/reject/1', '/contract/throw/1', '/contract/throw-mid/1']) {
        const read = await readAll(
          h,
          client.request(server.peerId, protocol, bytes(''), OPTIONS),
          protocol,
        );
        expectKind(h, read.outcome, ['remote'], protocol);
        expectNumberedPrefix(read.frames, 3);
      }
      const again = await readAll(
        h,
        client.request(server.peerId, '/contract/echo/1', bytes('alive'), OPTIONS),
        'echo after failures',
      );
      expect(again.frames.map(text)).toEqual(['alive']);
    },
  },

  'request-unsupported-protocol': unsupportedProtocolCase(
    'request: a protocol the peer does not handle fails the request (remote)',
    {},
  ),

  'request-unknown-peer': {
    title:
      'request: a peer never connected to, at no known address, fails the request (unreachable) before its timeout',
    async run(h) {
      const [client, stranger] = await h.create(2);
      stranger!.handle('/contract/echo/1', async (request) => request);
      const read = await readAll(
        h,
        client!.request(stranger!.peerId, '/contract/echo/1', bytes(''), OPTIONS),
        'request to a stranger',
      );
      expectKind(h, read.outcome, ['unreachable'], 'request to a stranger');
      expect(read.outcome.atMs! - read.startedAtMs).toBeLessThan(OPTIONS.timeoutMs);
    },
  },

  'request-frames-max': {
    title:
      'request: framesMax frames pass; one more aborts the exchange (frames) after a prefix, and stops the responder',
    async run(h) {
      const { client, server } = await pair(h);
      const framesMax = 5;
      const exact = pacedHandler(h, framesMax, 0);
      server.handle('/contract/exact/1', exact.handler);
      // 16 KiB frames: a real transport's flow-control window (MiBs) holds a few hundred, so
      // the responder is still producing when the requester gives up.
      const endless = pacedHandler(h, Number.MAX_SAFE_INTEGER, 0, 16 * 1024);
      server.handle('/contract/endless/1', endless.handler);
      const options = { ...OPTIONS, framesMax };

      const fits = await readAll(
        h,
        client.request(server.peerId, '/contract/exact/1', bytes(''), options),
        'exactly framesMax',
      );
      expect(fits.outcome.error).toBeUndefined();
      expect(fits.frames.map((frame) => Array.from(frame))).toEqual(
        Array.from({ length: framesMax }, (_, i) => Array.from(numbered(i))),
      );

      const over = await readAll(
        h,
        client.request(server.peerId, '/contract/endless/1', bytes(''), options),
        'past framesMax',
      );
      expectKind(h, over.outcome, ['frames'], 'past framesMax');
      expectNumberedPrefix(over.frames, framesMax);
      await h.until(() => endless.state.closed, h.patienceMs, 'the responder stopped');
    },
  },

  'deadline-silent-responder': {
    title:
      'deadline: a responder that never answers, or stalls mid-stream, fails the request (timeout) at timeoutMs',
    async run(h) {
      const { client, server } = await pair(h);
      const never = holdingHandler();
      try {
        server.handle('/contract/never/1', never.handler);
        server.handle('/contract/stall/1', async function* () {
          yield numbered(0);
          yield numbered(1);
          await never.released;
        });
        const options = { timeoutMs: SHORT_TIMEOUT_MS, framesMax: 10 };
        const silent = readStream(
          h,
          client.request(server.peerId, '/contract/never/1', bytes(''), options),
        );
        const stalled = readStream(
          h,
          client.request(server.peerId, '/contract/stall/1', bytes(''), options),
        );
        await settled(h, silent.outcome, 'silent responder');
        await settled(h, stalled.outcome, 'stalled responder');
        expectKind(h, silent.outcome, ['timeout'], 'silent responder');
        expectKind(h, stalled.outcome, ['timeout'], 'stalled responder');
        expectAtDeadline(h, silent.startedAtMs, silent.outcome, SHORT_TIMEOUT_MS, 'silent');
        expectAtDeadline(h, stalled.startedAtMs, stalled.outcome, SHORT_TIMEOUT_MS, 'stalled');
        expect(silent.frames).toEqual([]);
        expect(stalled.frames.map((frame) => Array.from(frame))).toEqual([
          Array.from(numbered(0)),
          Array.from(numbered(1)),
        ]);
      } finally {
        never.release();
      }
    },
  },

  'deadline-slow-stream': {
    title:
      'deadline: a stream whose frames each come promptly but whose whole answer takes longer fails (timeout) at timeoutMs, and stops the responder',
    async run(h) {
      const { client, server } = await pair(h);
      // A frame every 40 ms: 100 frames would take 4 s, the deadline is 500 ms.
      const slow = pacedHandler(h, 100, 40);
      server.handle('/contract/slow/1', slow.handler);
      const read = readStream(
        h,
        client.request(server.peerId, '/contract/slow/1', bytes(''), {
          timeoutMs: SHORT_TIMEOUT_MS,
          framesMax: 100,
        }),
      );
      await settled(h, read.outcome, 'slow stream');
      expectKind(h, read.outcome, ['timeout'], 'slow stream');
      expectAtDeadline(h, read.startedAtMs, read.outcome, SHORT_TIMEOUT_MS, 'slow stream');
      expectNumberedPrefix(read.frames, 100);
      await h.until(() => slow.state.closed, h.patienceMs, 'the responder stopped');
      expect(slow.state.produced).toBeLessThan(100);
    },
  },

  'request-abort-signal': {
    title: "request: the caller's signal fails a pending request (aborted) when it aborts",
    async run(h) {
      const { client, server } = await pair(h);
      const never = holdingHandler();
      try {
        server.handle('/contract/never/1', never.handler);
        const controller = new AbortController();
        const read = readStream(
          h,
          client.request(server.peerId, '/contract/never/1', bytes(''), {
            ...OPTIONS,
            signal: controller.signal,
          }),
        );
        await h.until(() => never.entered() === 1, h.patienceMs, 'the handler runs');
        const abortedAtMs = h.nowMs();
        controller.abort();
        await settled(h, read.outcome, 'aborted request');
        expectKind(h, read.outcome, ['aborted'], 'aborted request');
        expectAtDeadline(h, abortedAtMs, read.outcome, 0, 'abort');
      } finally {
        never.release();
      }
    },
  },

  'disconnect-responder-hangs-up': {
    title:
      'disconnect: the responder hanging up mid-stream fails the request (closed) after a prefix, and stops the responder',
    async run(h) {
      const paced = await hangUpMidStream(h, 'responder');
      expect(paced.state.produced).toBeLessThan(1_000);
    },
  },

  'disconnect-requester-hangs-up': {
    title: 'disconnect: the requester hanging up mid-stream fails its own request (closed)',
    async run(h) {
      await hangUpMidStream(h, 'requester');
    },
  },

  'disconnect-responder-stops-while-handler-waits': {
    title:
      'disconnect: the responder stopping mid-stream fails the request (closed), even while its handler waits',
    async run(h) {
      const { client, server } = await pair(h);
      const hold = gate();
      try {
        server.handle('/contract/hold/1', async function* () {
          yield numbered(0);
          yield numbered(1);
          await hold.promise;
          yield numbered(2);
        });
        const read = readStream(
          h,
          client.request(server.peerId, '/contract/hold/1', bytes(''), {
            timeoutMs: 60_000,
            framesMax: 10,
          }),
        );
        await h.until(() => read.frames.length >= 2, h.patienceMs, 'two frames');
        await settled(h, track(h, server.stop()), 'responder stops');
        await settled(h, read.outcome, 'request after the responder stopped');
        expectKind(h, read.outcome, ['closed'], 'request after the responder stopped');
        expectNumberedPrefix(read.frames, 2);
      } finally {
        hold.open();
      }
    },
  },

  'stop-fails-pending-requests': stopFailsPendingCase(
    "stop: stop() fails the transport's pending requests (closed) instead of leaving them",
    {},
  ),
} as const satisfies Record<string, ContractCase>;
