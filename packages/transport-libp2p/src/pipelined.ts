/**
 * Pipelined request/response: many single-answer requests to one peer share one long-lived
 * stream per protocol, instead of opening a stream for each (request.ts / respond.ts).
 *
 * Why: a stream costs far more than the bytes it carries. Opening one is a yamux SYN, a
 * multistream-select round (protocol id out, echo back), a logger and an abort signal per
 * side, a peer-store update, and half-closes both ways: about ten small noise-encrypted
 * socket writes per request. Measured with five node processes on 2 cores at 1,000
 * acknowledged creates/s (~170 replicate requests/s): the creating process spent 5.2-6.2 s
 * of CPU per 10 s against 2.4-3.8 s with no acknowledged writes, and profiles put the
 * difference in stream setup (writeBuffer 13% vs 6% of its time, peer store, logger setup).
 *
 * Wire, on a stream opened for `protocol + PIPELINED_SUFFIX`; both directions carry frames
 *
 *   [length:u32 BE][id:u32 BE][body]          length = 4 + body bytes
 *
 *   requester -> responder: body = the request bytes (at most frameBytesMax);
 *   responder -> requester: body = one response frame of frames.ts, DATA (the answer) or
 *     ERROR; never END: a pipelined answer is exactly one frame.
 *
 * Answers come back in completion order, matched by id. Each request has its own deadline on
 * the requester; a late answer is dropped. The responder counts each request being served
 * against the same per-protocol and per-peer limits as a stream, and answers busy past them.
 * A malformed frame (length over the limit, shorter than an id, END) resets the session;
 * every request pending on it fails, and the next request opens a new one.
 *
 * Only handlers that answer with one frame (a Promise) can be pipelined; a streaming handler
 * answers a pipelined request with a handler error. Callers opt in per request
 * (`RequestOptions.pipelined`).
 */

import { setMaxListeners } from 'node:events';
import type { Connection, Stream } from '@libp2p/interface';
import type { RequestHandler } from '@roomring/core';
import {
  FrameTooLargeError,
  ProtocolViolationError,
  RequestAbortedError,
  RequestTimeoutError,
  ResponseIncompleteError,
  TransportError,
} from './errors.js';
import {
  dataFrame,
  decodeResponseFrame,
  ErrorCode,
  errorFrame,
  FRAME_HEADER_BYTES,
} from './frames.js';
import { admitRequest, openError, parsePeerId, type RequestContext } from './request.js';
import {
  claimServingSlot,
  describe,
  isPromiseLike,
  type ResponderContext,
  releaseServingSlot,
} from './respond.js';
import { raceSignal } from './signals.js';

/** Appended to a request protocol to name its pipelined variant. */
export const PIPELINED_SUFFIX = '/pipelined';
/** Bytes in front of every frame body: length and id. */
const PREFIX_BYTES = 8;
const ID_BYTES = 4;
/** A requester closes a session after this long without a request pending (the responder's
 *  own idle limit, streamIdleTimeoutMs, is longer, so the requester normally ends it). */
export const SESSION_IDLE_CLOSE_MS = 10_000;
/** Pipelined sessions per connection and protocol, either direction: a requester keeps one;
 *  a few more cover a session being replaced while the old one closes. */
export const SESSIONS_PER_CONNECTION_MAX = 4;

/** `[length][id][body]`, in one buffer: one send, one encryption, one socket write. */
export function encodeFrame(id: number, body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(PREFIX_BYTES + body.byteLength);
  const view = new DataView(frame.buffer);
  view.setUint32(0, ID_BYTES + body.byteLength);
  view.setUint32(4, id);
  frame.set(body, PREFIX_BYTES);
  return frame;
}

function toBytes(data: Uint8Array | { subarray(): Uint8Array }): Uint8Array {
  return data instanceof Uint8Array ? data : data.subarray();
}

/**
 * Splits a byte stream into frames. Holds at most one incomplete frame (the length is checked
 * before its body is waited for), so what it buffers is bounded by `lengthMax`.
 */
export class FrameReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  /** `lengthMax`: the largest `length` field accepted (id + body). */
  constructor(private readonly lengthMax: number) {}

  /** Appends `chunk`; returns every frame now complete as `{ id, body }`. Throws
   *  ProtocolViolationError or FrameTooLargeError for a frame that can never be valid. */
  push(chunk: Uint8Array): { id: number; body: Uint8Array }[] {
    if (chunk.byteLength > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.byteLength;
    }
    const frames: { id: number; body: Uint8Array }[] = [];
    while (this.buffered >= 4) {
      const head = this.peek(4);
      const length = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
      if (length < ID_BYTES) throw new ProtocolViolationError(`frame of ${length} B has no id`);
      if (length > this.lengthMax) {
        throw new FrameTooLargeError(`frame of ${length} B > ${this.lengthMax} B`);
      }
      if (this.buffered < 4 + length) break;
      const frame = this.take(4 + length);
      const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
      frames.push({ id: view.getUint32(4), body: frame.subarray(PREFIX_BYTES) });
    }
    return frames;
  }

  /** The first `bytes` buffered bytes (a copy only when they span chunks). */
  private peek(bytes: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.byteLength >= bytes) return first.subarray(0, bytes);
    const out = new Uint8Array(bytes);
    let filled = 0;
    for (const chunk of this.chunks) {
      const part = chunk.subarray(0, bytes - filled);
      out.set(part, filled);
      filled += part.byteLength;
      if (filled === bytes) break;
    }
    return out;
  }

  /** Removes and returns the first `bytes` buffered bytes. */
  private take(bytes: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.byteLength >= bytes) {
      const out = first.subarray(0, bytes);
      if (first.byteLength === bytes) this.chunks.shift();
      else this.chunks[0] = first.subarray(bytes);
      this.buffered -= bytes;
      return out;
    }
    const out = new Uint8Array(bytes);
    let filled = 0;
    while (filled < bytes) {
      const chunk = this.chunks[0]!;
      const want = bytes - filled;
      if (chunk.byteLength <= want) {
        out.set(chunk, filled);
        filled += chunk.byteLength;
        this.chunks.shift();
      } else {
        out.set(chunk.subarray(0, want), filled);
        this.chunks[0] = chunk.subarray(want);
        filled = bytes;
      }
    }
    this.buffered -= bytes;
    return out;
  }
}

/** Sends `frame`; when the stream's write buffer is full, pauses reading until it drains, so
 *  a peer that sends without reading cannot make us buffer answers without bound. */
function send(stream: Stream, frame: Uint8Array): void {
  if (stream.writeStatus !== 'writable') {
    throw new ResponseIncompleteError(`session no longer writable (${stream.writeStatus})`);
  }
  if (stream.send(frame)) return;
  if (stream.readStatus === 'readable') stream.pause();
  stream.onDrain().then(
    () => {
      if (stream.readStatus === 'paused') stream.resume();
    },
    () => {},
  );
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

// -- requester ------------------------------------------------------------------------------

/** What the requester needs of the stream requester's context (the same limits and counters). */
export type PipelinedContext = Pick<
  RequestContext,
  'node' | 'frameBytesMax' | 'requestsPendingMax' | 'metrics' | 'stopSignal'
>;

interface Waiter {
  resolve(answer: Uint8Array): void;
  reject(error: Error): void;
}

/** One long-lived stream to one peer for one protocol, carrying many requests. */
class Session {
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;
  private readonly reader: FrameReader;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private ended = false;

  constructor(
    private readonly stream: Stream,
    frameBytesMax: number,
    private readonly what: string,
    private readonly idleCloseMs: number,
    private readonly onEnd: () => void,
  ) {
    this.reader = new FrameReader(ID_BYTES + FRAME_HEADER_BYTES + frameBytesMax);
    stream.addEventListener('message', (event) => this.onMessage(toBytes(event.data)));
    stream.addEventListener('remoteCloseWrite', () =>
      this.end(new ResponseIncompleteError(`${what}: the responder closed the session`)),
    );
    stream.addEventListener('close', (event) =>
      this.end(
        new ResponseIncompleteError(
          `${what}: session closed${event.error ? `: ${String(event.error)}` : ''}`,
        ),
      ),
    );
    this.armIdle();
  }

  /** Sends one request; resolves with its answer's payload. `timeoutMs` and `signal` bound
   *  only this request: the session stays open for the others. */
  call(frame: Uint8Array, timeoutMs: number, signal: AbortSignal | undefined): Promise<Uint8Array> {
    if (this.ended) {
      return Promise.reject(new ResponseIncompleteError(`${this.what}: session ended`));
    }
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffff_ffff ? 1 : this.nextId + 1;
    return new Promise<Uint8Array>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(id);
        if (this.waiters.size === 0) this.armIdle();
      };
      const onAbort = (): void => {
        done();
        reject(new RequestAbortedError(`${this.what} aborted by the caller`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new RequestTimeoutError(`${this.what} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(id, {
        resolve: (answer) => {
          done();
          resolve(answer);
        },
        reject: (error) => {
          done();
          reject(error);
        },
      });
      if (signal?.aborted === true) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      clearTimeout(this.idleTimer);
      try {
        send(this.stream, encodeFrame(id, frame));
      } catch (error) {
        this.end(new ResponseIncompleteError(`${this.what}: ${String(error)}`, { cause: error }));
      }
    });
  }

  /** Ends the session: every pending request fails with `reason`, the stream is closed. */
  end(reason: Error): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.idleTimer);
    this.onEnd();
    for (const waiter of [...this.waiters.values()]) waiter.reject(reason);
    if (this.stream.status === 'open') this.stream.abort(reason);
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    if (this.ended) return;
    this.idleTimer = setTimeout(() => {
      if (this.waiters.size > 0 || this.ended) return;
      this.ended = true;
      this.onEnd();
      this.stream.close().catch(() => this.stream.abort(new Error('idle session close failed')));
    }, this.idleCloseMs);
    this.idleTimer.unref?.();
  }

  private onMessage(chunk: Uint8Array): void {
    let frames: { id: number; body: Uint8Array }[];
    try {
      frames = this.reader.push(chunk);
    } catch (error) {
      this.end(error instanceof TransportError ? error : asError(error));
      return;
    }
    for (const { id, body } of frames) {
      const waiter = this.waiters.get(id);
      const decoded = decodeResponseFrame(body);
      if (decoded.kind === 'end') {
        this.end(new ProtocolViolationError(`${this.what}: END frame in a pipelined session`));
        return;
      }
      if (waiter === undefined) continue; // its caller gave up (deadline or abort)
      if (decoded.kind === 'error') waiter.reject(decoded.error);
      else waiter.resolve(decoded.payload);
    }
  }
}

/** The requester side: one session per peer and protocol, opened on first use. */
export class PipelinedRequester {
  private readonly sessions = new Map<string, Promise<Session>>();

  constructor(
    private readonly ctx: PipelinedContext,
    private readonly idleCloseMs = SESSION_IDLE_CLOSE_MS,
  ) {
    ctx.stopSignal.addEventListener(
      'abort',
      () => {
        for (const opening of this.sessions.values()) {
          opening.then(
            (session) => session.end(asError(ctx.stopSignal.reason)),
            () => {},
          );
        }
        this.sessions.clear();
      },
      { once: true },
    );
  }

  /** Sessions open or opening (a gauge for tests and metrics). */
  sessionCount(): number {
    return this.sessions.size;
  }

  async request(
    peer: string,
    protocol: string,
    frame: Uint8Array,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<Uint8Array> {
    const { ctx } = this;
    const { metrics } = ctx;
    if (ctx.stopSignal.aborted) throw ctx.stopSignal.reason;
    admitRequest(ctx, frame);
    const startedAt = performance.now();
    try {
      const session = await this.session(peer, protocol, timeoutMs, signal);
      const left = timeoutMs - (performance.now() - startedAt);
      if (left <= 0) {
        throw new RequestTimeoutError(
          `${protocol} request to ${peer} timed out after ${timeoutMs} ms`,
        );
      }
      const answer = await session.call(frame, left, signal);
      metrics.requestsSucceeded++;
      return answer;
    } catch (error) {
      metrics.requestsFailed++;
      if (error instanceof FrameTooLargeError) metrics.framesTooLarge++;
      throw error;
    } finally {
      metrics.requestsPending--;
    }
  }

  /** The open session to `peer` for `protocol`, or a new one (the peer id is parsed only
   *  then: requests on an open session cost no parsing). */
  private session(
    peer: string,
    protocol: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<Session> {
    const key = `${protocol}\n${peer}`;
    const existing = this.sessions.get(key);
    if (existing !== undefined) return existing;
    const what = `${protocol} session to ${peer}`;
    // Only forget it while the map still points at this session (not at a newer one).
    const forget = (): void => {
      if (this.sessions.get(key) === opening) this.sessions.delete(key);
    };
    const opening: Promise<Session> = (async () => {
      const peerId = parsePeerId(peer);
      const signals = [AbortSignal.timeout(timeoutMs), this.ctx.stopSignal];
      if (signal) signals.push(signal);
      const openSignal = AbortSignal.any(signals);
      let stream: Stream;
      try {
        stream = await this.ctx.node.dialProtocol(peerId, protocol + PIPELINED_SUFFIX, {
          signal: openSignal,
          maxOutboundStreams: SESSIONS_PER_CONNECTION_MAX,
        });
      } catch (error) {
        if (this.ctx.stopSignal.aborted) throw this.ctx.stopSignal.reason;
        if (signal?.aborted) throw new RequestAbortedError(`${what} aborted by the caller`);
        if (openSignal.aborted) {
          throw new RequestTimeoutError(`${what} not open after ${timeoutMs} ms`);
        }
        throw openError(error, peer, protocol);
      }
      return new Session(stream, this.ctx.frameBytesMax, what, this.idleCloseMs, forget);
    })();
    this.sessions.set(key, opening);
    opening.catch(forget);
    return opening;
  }
}

// -- responder ------------------------------------------------------------------------------

/** What a pipelined session needs of the responder's context (shared with streams, so the
 *  per-protocol and per-peer counts cover both). */
export type PipelinedResponderContext = Pick<
  ResponderContext,
  | 'frameBytesMax'
  | 'inboundStreamsPerProtocolMax'
  | 'inboundStreamsPerPeerMax'
  | 'streamIdleTimeoutMs'
  | 'metrics'
  | 'stopSignal'
  | 'active'
  | 'activeByPeer'
>;

/**
 * Serves one pipelined session: every request on it is handled as it arrives and answered
 * when its handler settles. Never rejects and never throws into libp2p: a malformed frame
 * resets the session, a handler failure becomes that request's ERROR frame.
 */
export function servePipelined(
  stream: Stream,
  connection: Connection,
  protocol: string,
  handler: () => RequestHandler | undefined,
  ctx: PipelinedResponderContext,
): void {
  const { metrics } = ctx;
  const from = connection.remotePeer.toString();
  const reader = new FrameReader(ID_BYTES + ctx.frameBytesMax);
  /** Aborted when the session closes: handlers still running are no longer waited for. */
  const closed = new AbortController();
  // One listener per request being served, bounded by inboundStreamsPerPeerMax: not a leak.
  setMaxListeners(Number.POSITIVE_INFINITY, closed.signal);
  let inFlight = 0;
  let requesterDone = false;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;

  const armIdle = (): void => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (inFlight === 0 && stream.status === 'open') {
        stream.abort(new ResponseIncompleteError(`session idle for ${ctx.streamIdleTimeoutMs} ms`));
      }
    }, ctx.streamIdleTimeoutMs);
    idleTimer.unref?.();
  };
  const closeIfDone = (): void => {
    if (requesterDone && inFlight === 0 && stream.writeStatus === 'writable') {
      stream.close().catch((error: unknown) => stream.abort(asError(error)));
    }
  };
  const answer = (id: number, body: Uint8Array): void => {
    try {
      send(stream, encodeFrame(id, body));
    } catch (error) {
      if (stream.status === 'open') stream.abort(asError(error));
    }
  };

  const serveOne = async (id: number, request: Uint8Array): Promise<void> => {
    const busy = claimServingSlot(ctx, protocol, from);
    if (busy !== undefined) {
      answer(id, errorFrame(ErrorCode.busy, busy));
      return;
    }
    inFlight++;
    clearTimeout(idleTimer);
    metrics.responsesStarted++;
    metrics.responsesActive++;
    try {
      const current = handler();
      if (current === undefined) throw new Error(`no handler for ${protocol}`);
      const result = current(request, from);
      if (!isPromiseLike(result)) {
        throw new Error('handler did not answer with a single frame (a Promise)');
      }
      // The handler keeps running if the session closes; we stop waiting for it.
      const frame: unknown = await raceSignal(result, closed.signal);
      if (!(frame instanceof Uint8Array)) {
        throw new Error('handler produced a non-Uint8Array frame');
      }
      if (frame.byteLength > ctx.frameBytesMax) {
        metrics.framesTooLarge++;
        const why = `response frame of ${frame.byteLength} B > frameBytesMax ${ctx.frameBytesMax}`;
        answer(id, errorFrame(ErrorCode.frameTooLarge, why));
      } else {
        answer(id, dataFrame(frame));
      }
      metrics.responsesCompleted++;
    } catch (error) {
      if (closed.signal.aborted) {
        metrics.responsesFailed++;
      } else {
        metrics.responseHandlerErrors++;
        metrics.responsesCompleted++;
        answer(id, errorFrame(ErrorCode.handler, describe(error)));
      }
    } finally {
      metrics.responsesActive--;
      releaseServingSlot(ctx, protocol, from);
      inFlight--;
      if (inFlight === 0) armIdle();
      closeIfDone();
    }
  };

  stream.addEventListener('message', (event) => {
    let frames: { id: number; body: Uint8Array }[];
    try {
      frames = reader.push(toBytes(event.data));
    } catch (error) {
      if (error instanceof FrameTooLargeError) metrics.framesTooLarge++;
      stream.abort(asError(error));
      return;
    }
    for (const { id, body } of frames) void serveOne(id, body);
  });
  stream.addEventListener('remoteCloseWrite', () => {
    requesterDone = true;
    closeIfDone();
  });
  const onStop = (): void => {
    if (stream.status === 'open') stream.abort(asError(ctx.stopSignal.reason));
  };
  ctx.stopSignal.addEventListener('abort', onStop, { once: true });
  stream.addEventListener(
    'close',
    () => {
      clearTimeout(idleTimer);
      ctx.stopSignal.removeEventListener('abort', onStop);
      closed.abort(new ResponseIncompleteError('session closed'));
    },
    { once: true },
  );
  armIdle();
}
