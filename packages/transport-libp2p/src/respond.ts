/**
 * The responder side of request/response (framing in frames.ts). One call per inbound stream:
 * bounded concurrency per protocol (busy answer past it), bounded waits (idle timer), frames
 * written as the handler produces them and only as fast as the requester reads (each write
 * waits for yamux to drain). A handler that throws becomes an ERROR frame; nothing it does can
 * crash the node.
 */

import type { Connection, Stream } from '@libp2p/interface';
import { type LengthPrefixedStream, lpStream } from '@libp2p/utils';
import type { RequestHandler } from '@roomring/core';
import { ResponseIncompleteError, TimeoutError } from './errors.js';
import { dataFrame, ErrorCode, type ErrorCodeValue, endFrame, errorFrame } from './frames.js';
import type { Libp2pTransportMetrics } from './metrics.js';
import { readBufferBytesMax } from './request.js';
import { createIdleTimer, raceSignal } from './signals.js';

export interface ResponderContext {
  readonly frameBytesMax: number;
  readonly inboundStreamsPerProtocolMax: number;
  readonly inboundStreamsPerPeerMax: number;
  readonly requestReadTimeoutMs: number;
  readonly streamWindowBytesMax: number;
  readonly streamIdleTimeoutMs: number;
  readonly metrics: Libp2pTransportMetrics;
  readonly stopSignal: AbortSignal;
  /** Requests being served, per registered protocol (our own protocol strings only). */
  readonly active: Map<string, number>;
  /** Requests being served per protocol and peer (`protocol\npeer`): at most one entry per
   *  stream being served, so bounded by inboundStreamsPerProtocolMax x protocols. */
  readonly activeByPeer: Map<string, number>;
}

/** Something the handler did wrong (threw, rejected, yielded a non-byte value). */
class HandlerFailure extends Error {
  constructor(
    readonly code: ErrorCodeValue,
    message: string,
  ) {
    super(message);
  }
}

const LENGTH_ERRORS = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError']);

/**
 * A response streamed from an async iterable gives the event loop a turn (setImmediate) once
 * it has run this long since the last one. A frame produced and written without waiting for
 * I/O resolves in microtasks, so a long stream ran as one microtask chain that held off every
 * timer and socket: serving a 1,024-bucket summary at 500k rooms (one frame every ~50 ms of
 * hashing and encoding) held the loop for 0.7-2 s, heartbeats included, and the other nodes
 * suspected this one in the middle of a fill (measured: event-loop delay up to 2.2 s, CPU
 * profile of the stall). With the turn, a stall is at most one frame's work.
 */
export const STREAM_YIELD_AFTER_MS = 10;

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

export function describe(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return (
    value != null &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

export function isPromiseLike(value: unknown): value is PromiseLike<Uint8Array> {
  return value != null && typeof (value as { then?: unknown }).then === 'function';
}

class Exchange {
  private readonly controller = new AbortController();
  private readonly idle;
  private readonly lp: LengthPrefixedStream<Stream>;

  constructor(
    private readonly stream: Stream,
    private readonly ctx: ResponderContext,
  ) {
    this.idle = createIdleTimer(
      ctx.streamIdleTimeoutMs,
      this.controller,
      (ms) => new TimeoutError(`stream idle for ${ms} ms`),
    );
    this.lp = lpStream(stream, {
      maxDataLength: ctx.frameBytesMax,
      maxBufferSize: readBufferBytesMax(ctx.frameBytesMax, ctx.streamWindowBytesMax),
    });
    // Ending the exchange resets the stream, which also fails a write waiting for drain.
    // (Writes take no signal: the library's drain wait adds an abort listener per call and
    // never removes it, which would grow with every frame of a long answer.)
    this.controller.signal.addEventListener(
      'abort',
      () => {
        if (stream.status === 'open') stream.abort(asError(this.controller.signal.reason));
      },
      { once: true },
    );
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  abort(reason: Error): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  dispose(): void {
    this.idle.disarm();
  }

  /** Reads the request frame, within requestReadTimeoutMs: a requester writes it as soon as
   *  the stream opens, so a stream that stays silent is not given streamIdleTimeoutMs of a
   *  serving slot. */
  async readRequest(): Promise<Uint8Array> {
    this.idle.arm(this.ctx.requestReadTimeoutMs);
    try {
      return (await this.lp.read({ signal: this.signal })).subarray();
    } finally {
      this.idle.disarm();
    }
  }

  async write(frame: Uint8Array): Promise<void> {
    this.idle.arm();
    try {
      await this.lp.write(frame);
    } finally {
      this.idle.disarm();
    }
  }

  /** Half-closes once the last frame is flushed, within the idle limit. */
  private async closeWrite(): Promise<void> {
    this.idle.arm();
    try {
      await this.stream.close();
    } finally {
      this.idle.disarm();
    }
  }

  /** Ends the answer with an ERROR frame, drops whatever the requester still sends, closes. */
  async fail(code: ErrorCodeValue, message: string): Promise<void> {
    await this.write(errorFrame(code, message));
    await this.stream.closeRead();
    await this.closeWrite();
  }

  async finish(): Promise<void> {
    await this.write(endFrame());
    await this.closeWrite();
  }

  /** Writes one handler frame after checking it; a bad frame is the handler's failure. */
  async writeData(chunk: unknown): Promise<void> {
    if (!(chunk instanceof Uint8Array)) {
      throw new HandlerFailure(ErrorCode.handler, 'handler produced a non-Uint8Array frame');
    }
    if (chunk.byteLength > this.ctx.frameBytesMax) {
      this.ctx.metrics.framesTooLarge++;
      throw new HandlerFailure(
        ErrorCode.frameTooLarge,
        `response frame of ${chunk.byteLength} B > frameBytesMax ${this.ctx.frameBytesMax}`,
      );
    }
    await this.write(dataFrame(chunk));
  }

  /** Streams an async iterable's frames; stops the iterator if the exchange ends early. */
  async writeAll(frames: AsyncIterable<Uint8Array>): Promise<void> {
    let iterator: AsyncIterator<Uint8Array>;
    try {
      iterator = frames[Symbol.asyncIterator]();
    } catch (error) {
      throw new HandlerFailure(ErrorCode.handler, describe(error));
    }
    let done = false;
    let turnAt = performance.now();
    try {
      while (true) {
        if (performance.now() - turnAt >= STREAM_YIELD_AFTER_MS) {
          await nextTurn();
          turnAt = performance.now();
        }
        let step: IteratorResult<Uint8Array>;
        try {
          step = await raceSignal(iterator.next(), this.signal);
        } catch (error) {
          if (this.signal.aborted) throw this.signal.reason;
          done = true; // a throwing iterator is finished; do not call return() on it
          throw new HandlerFailure(ErrorCode.handler, describe(error));
        }
        if (step.done === true) {
          done = true;
          return;
        }
        await this.writeData(step.value);
      }
    } finally {
      if (!done) {
        try {
          Promise.resolve(iterator.return?.()).catch(() => {});
        } catch {
          // A return() that throws synchronously changes nothing here.
        }
      }
    }
  }
}

async function answer(
  exchange: Exchange,
  handler: RequestHandler,
  from: string,
  ctx: ResponderContext,
): Promise<void> {
  let request: Uint8Array;
  try {
    request = await exchange.readRequest();
  } catch (error) {
    if (error instanceof Error && LENGTH_ERRORS.has(error.name)) {
      ctx.metrics.framesTooLarge++;
      await exchange.fail(
        ErrorCode.frameTooLarge,
        `request over frameBytesMax ${ctx.frameBytesMax}`,
      );
      return;
    }
    throw error;
  }
  try {
    let result: ReturnType<RequestHandler>;
    try {
      result = handler(request, from);
    } catch (error) {
      throw new HandlerFailure(ErrorCode.handler, describe(error));
    }
    if (isAsyncIterable(result)) {
      await exchange.writeAll(result);
    } else if (isPromiseLike(result)) {
      let frame: Uint8Array;
      try {
        frame = await raceSignal(result, exchange.signal);
      } catch (error) {
        if (exchange.signal.aborted) throw exchange.signal.reason;
        throw new HandlerFailure(ErrorCode.handler, describe(error));
      }
      await exchange.writeData(frame);
    } else {
      throw new HandlerFailure(
        ErrorCode.handler,
        'handler returned neither a Promise nor an AsyncIterable',
      );
    }
  } catch (error) {
    if (!(error instanceof HandlerFailure)) throw error;
    if (error.code === ErrorCode.handler) ctx.metrics.responseHandlerErrors++;
    await exchange.fail(error.code, error.message);
    return;
  }
  await exchange.finish();
}

/**
 * Serves one inbound stream. Never rejects: every failure ends in an ERROR frame or a reset
 * stream, and a counter.
 */
export async function serveStream(
  stream: Stream,
  connection: Connection,
  protocol: string,
  handler: RequestHandler,
  ctx: ResponderContext,
): Promise<void> {
  const { metrics } = ctx;
  const exchange = new Exchange(stream, ctx);
  const from = connection.remotePeer.toString();
  const busy = claimServingSlot(ctx, protocol, from);
  if (busy !== undefined) {
    try {
      await exchange.fail(ErrorCode.busy, busy);
    } catch (error) {
      stream.abort(asError(error));
    } finally {
      exchange.dispose();
    }
    return;
  }
  metrics.responsesStarted++;
  metrics.responsesActive++;
  const onClose = () =>
    exchange.abort(new ResponseIncompleteError('stream closed by the requester'));
  const onStop = () => exchange.abort(ctx.stopSignal.reason);
  stream.addEventListener('close', onClose);
  ctx.stopSignal.addEventListener('abort', onStop, { once: true });
  try {
    await answer(exchange, handler, from, ctx);
    metrics.responsesCompleted++;
  } catch (error) {
    metrics.responsesFailed++;
    if (stream.status === 'open') stream.abort(asError(error));
  } finally {
    exchange.dispose();
    stream.removeEventListener('close', onClose);
    ctx.stopSignal.removeEventListener('abort', onStop);
    metrics.responsesActive--;
    releaseServingSlot(ctx, protocol, from);
  }
}

type SlotContext = Pick<
  ResponderContext,
  | 'active'
  | 'activeByPeer'
  | 'inboundStreamsPerProtocolMax'
  | 'inboundStreamsPerPeerMax'
  | 'metrics'
>;

function add(map: Map<string, number>, key: string, by: number): void {
  const value = (map.get(key) ?? 0) + by;
  if (value <= 0) map.delete(key);
  else map.set(key, value);
}

/**
 * Takes one of `protocol`'s serving slots for a request from `from`, or says why not (the
 * busy answer's text; counted in `responsesShed`). Per peer too: one peer that opens streams
 * and never writes cannot hold every slot of a protocol (replicate, sync) from the others.
 * Streams and pipelined requests share the slots. Give it back with releaseServingSlot.
 */
export function claimServingSlot(
  ctx: SlotContext,
  protocol: string,
  from: string,
): string | undefined {
  const active = ctx.active.get(protocol) ?? 0;
  const peerKey = `${protocol}\n${from}`;
  const fromPeer = ctx.activeByPeer.get(peerKey) ?? 0;
  if (fromPeer >= ctx.inboundStreamsPerPeerMax) {
    ctx.metrics.responsesShed++;
    return `serving ${fromPeer} ${protocol} requests from this peer, the limit`;
  }
  if (active >= ctx.inboundStreamsPerProtocolMax) {
    ctx.metrics.responsesShed++;
    return `serving ${active} ${protocol} requests, the limit`;
  }
  add(ctx.active, protocol, 1);
  add(ctx.activeByPeer, peerKey, 1);
  return undefined;
}

export function releaseServingSlot(ctx: SlotContext, protocol: string, from: string): void {
  add(ctx.active, protocol, -1);
  add(ctx.activeByPeer, `${protocol}\n${from}`, -1);
}
