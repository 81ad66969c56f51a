/**
 * The requester side of request/response (framing in frames.ts): open a stream, write one
 * frame, yield response frames until END. Back-pressure: the stream is paused while the
 * caller holds a frame, so yamux stops granting window and the responder's writes wait.
 */

import type { Libp2p, PeerId, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { type LengthPrefixedStream, lpStream } from '@libp2p/utils';
import type { RequestOptions } from '@roomring/core';
import {
  FrameTooLargeError,
  InvalidAddressError,
  PeerUnreachableError,
  ProtocolNotSupportedError,
  ResponseIncompleteError,
  TooManyFramesError,
  TooManyPendingRequestsError,
  TransportError,
} from './errors.js';
import { decodeResponseFrame, FRAME_HEADER_BYTES } from './frames.js';
import type { Libp2pTransportMetrics } from './metrics.js';
import { createDeadline } from './signals.js';

/** After END, the responder's half-close normally follows within a millisecond; a responder
 *  that never closes gets its stream reset after this, so streams cannot leak. */
const STREAM_CLOSE_GRACE_MS = 5_000;

export interface RequestContext {
  readonly node: Libp2p;
  readonly frameBytesMax: number;
  readonly requestsPendingMax: number;
  readonly streamWindowBytesMax: number;
  readonly metrics: Libp2pTransportMetrics;
  readonly stopSignal: AbortSignal;
}

/** Bytes one lpStream may buffer: a whole frame plus what the sender may have in flight
 *  (one flow-control window) when the stream is paused. */
export function readBufferBytesMax(frameBytesMax: number, streamWindowBytesMax: number): number {
  return frameBytesMax + FRAME_HEADER_BYTES + 2 * streamWindowBytesMax;
}

export function parsePeerId(peer: string): PeerId {
  try {
    return peerIdFromString(peer);
  } catch (cause) {
    throw new InvalidAddressError(`invalid peer id: ${String(peer)}`, { cause });
  }
}

const LENGTH_ERRORS = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError']);

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

/** Maps what libp2p throws while opening the stream. */
export function openError(error: unknown, peer: string, protocol: string): Error {
  if (error instanceof TransportError) return error;
  const name = errorName(error);
  if (name === 'UnsupportedProtocolError') {
    return new ProtocolNotSupportedError(`${peer} does not serve ${protocol}`, { cause: error });
  }
  if (name === 'TooManyOutboundProtocolStreamsError') {
    return new TooManyPendingRequestsError(`too many ${protocol} streams to ${peer}`, {
      cause: error,
    });
  }
  return new PeerUnreachableError(`cannot open ${protocol} to ${peer}: ${String(error)}`, {
    cause: error,
  });
}

/** Maps what libp2p throws once the stream is open. */
function exchangeError(error: unknown, peer: string, protocol: string): Error {
  if (error instanceof TransportError) return error;
  if (LENGTH_ERRORS.has(errorName(error))) {
    return new FrameTooLargeError(`${peer} sent a ${protocol} frame over the limit`, {
      cause: error,
    });
  }
  return new ResponseIncompleteError(
    `${protocol} answer from ${peer} cut short: ${String(error)}`,
    {
      cause: error,
    },
  );
}

/** Lets data flow while we wait for a frame; pauses when the caller gets it. */
async function readFrame(
  lp: LengthPrefixedStream<Stream>,
  stream: Stream,
  signal: AbortSignal,
): Promise<Uint8Array> {
  if (stream.readStatus === 'paused') stream.resume();
  const frame = await lp.read({ signal });
  if (stream.readStatus === 'readable') stream.pause();
  return frame.subarray();
}

/** Resets the stream unless the responder half-closes soon after END. */
function closeWhenRemoteDone(stream: Stream): void {
  if (stream.status !== 'open') return;
  const timer = setTimeout(() => {
    if (stream.status === 'open')
      stream.abort(new ResponseIncompleteError('responder did not close'));
  }, STREAM_CLOSE_GRACE_MS);
  timer.unref?.();
  stream.addEventListener('close', () => clearTimeout(timer), { once: true });
}

export function validateOptions(options: RequestOptions): void {
  if (!(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) {
    throw new RangeError(`timeoutMs must be a positive number, got ${options.timeoutMs}`);
  }
  if (!(Number.isInteger(options.framesMax) && options.framesMax >= 1)) {
    throw new RangeError(`framesMax must be a positive integer, got ${options.framesMax}`);
  }
}

/** The requester's limits, checked before anything is sent: the frame's size and
 *  `requestsPendingMax`. Counts the request as started and pending when admitted (the caller
 *  decrements `requestsPending` when it ends). */
export function admitRequest(
  ctx: Pick<RequestContext, 'frameBytesMax' | 'requestsPendingMax' | 'metrics'>,
  frame: Uint8Array,
): void {
  const { metrics } = ctx;
  if (frame.byteLength > ctx.frameBytesMax) {
    metrics.framesTooLarge++;
    throw new FrameTooLargeError(
      `request of ${frame.byteLength} B > frameBytesMax ${ctx.frameBytesMax}`,
    );
  }
  if (metrics.requestsPending >= ctx.requestsPendingMax) {
    metrics.requestsShed++;
    throw new TooManyPendingRequestsError(`${ctx.requestsPendingMax} requests already pending`);
  }
  metrics.requestsStarted++;
  metrics.requestsPending++;
}

/** One request; see `Transport.request`. `getContext` throws when the transport is stopped. */
export async function* runRequest(
  getContext: () => RequestContext,
  peer: string,
  protocol: string,
  frame: Uint8Array,
  options: RequestOptions,
): AsyncGenerator<Uint8Array, void, undefined> {
  const ctx = getContext();
  validateOptions(options);
  const peerId = parsePeerId(peer);
  const { metrics } = ctx;
  admitRequest(ctx, frame);
  const deadline = createDeadline(
    options.timeoutMs,
    `${protocol} request to ${peer}`,
    options.signal,
    ctx.stopSignal,
  );
  const { signal } = deadline;
  let stream: Stream | undefined;
  let completed = false;
  try {
    try {
      // libp2p caps outbound streams per connection and protocol (64 unless this node also
      // handles the protocol); requestsPendingMax is the real bound, so lift libp2p's to it.
      stream = await ctx.node.dialProtocol(peerId, protocol, {
        signal,
        maxOutboundStreams: ctx.requestsPendingMax,
      });
    } catch (error) {
      throw signal.aborted ? signal.reason : openError(error, peer, protocol);
    }
    const opened = stream;
    const lp = lpStream(opened, {
      maxDataLength: ctx.frameBytesMax + FRAME_HEADER_BYTES,
      maxBufferSize: readBufferBytesMax(ctx.frameBytesMax, ctx.streamWindowBytesMax),
    });
    // Write while reading: a responder may answer (e.g. busy, too large) before it has read
    // the whole request, and a blocked write must not hide that answer.
    const sent = (async () => {
      await lp.write(frame, { signal });
      await opened.close({ signal });
    })();
    sent.catch(() => {});
    let frames = 0;
    while (true) {
      let raw: Uint8Array;
      try {
        raw = await readFrame(lp, opened, signal);
      } catch (error) {
        throw signal.aborted ? signal.reason : exchangeError(error, peer, protocol);
      }
      const decoded = decodeResponseFrame(raw);
      if (decoded.kind === 'error') throw decoded.error;
      if (decoded.kind === 'end') break;
      frames++;
      if (frames > options.framesMax) {
        throw new TooManyFramesError(
          `${protocol} answer from ${peer} exceeds ${options.framesMax} frames`,
        );
      }
      yield decoded.payload;
      if (signal.aborted) throw signal.reason;
    }
    try {
      await sent;
    } catch (error) {
      throw signal.aborted ? signal.reason : exchangeError(error, peer, protocol);
    }
    completed = true;
    metrics.requestsSucceeded++;
  } catch (error) {
    const mapped = error instanceof TransportError ? error : exchangeError(error, peer, protocol);
    metrics.requestsFailed++;
    if (mapped instanceof FrameTooLargeError) metrics.framesTooLarge++;
    throw mapped;
  } finally {
    // A caller that stops iterating early lands here without an error: neither succeeded nor
    // failed; its stream is reset so the responder stops producing.
    deadline.dispose();
    metrics.requestsPending--;
    if (stream !== undefined) {
      if (completed) closeWhenRemoteDone(stream);
      else if (stream.status === 'open')
        stream.abort(new ResponseIncompleteError('request ended early'));
    }
  }
}
