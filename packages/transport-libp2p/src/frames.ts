/**
 * Request/response framing on one libp2p stream (one stream per request):
 *
 *   requester -> responder: one length-prefixed frame, the request bytes; then half-close.
 *   responder -> requester: length-prefixed frames, each `[kind:u8][payload]`:
 *     DATA  (0): one response frame, payload = `frameBytesMax` bytes at most;
 *     END   (1): the answer is complete, empty payload; then the responder half-closes;
 *     ERROR (2): `[code:u8][utf-8 message]`, ends the answer.
 *
 * The explicit END marker is what lets the requester tell a complete answer from a stream that
 * died halfway (a sync stream cut at frame 400 of 1,000 must not look like a short answer).
 * Length prefixes are unsigned varints (`lpStream` from `@libp2p/utils`).
 */
import {
  FrameTooLargeError,
  PeerBusyError,
  ProtocolViolationError,
  RemoteHandlerError,
} from './errors.js';

/** The kind byte in front of every response frame. */
export const FRAME_HEADER_BYTES = 1;
/** Remote error messages are cut to this many bytes: enough for a reason, never a dump. */
export const ERROR_MESSAGE_BYTES_MAX = 1024;

export const FrameKind = { data: 0, end: 1, error: 2 } as const;

/** Why a responder ended an answer with ERROR. Stable wire values. */
export const ErrorCode = {
  handler: 1,
  frameTooLarge: 2,
  busy: 3,
  badRequest: 4,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

const END_FRAME = Uint8Array.of(FrameKind.end);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Header + payload. Copies the payload once; a frame is written whole anyway. */
export function dataFrame(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength);
  frame[0] = FrameKind.data;
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

export function endFrame(): Uint8Array {
  return END_FRAME;
}

/** Cuts `text` to at most `bytesMax` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, bytesMax: number): Uint8Array {
  const encoded = encoder.encode(text);
  if (encoded.byteLength <= bytesMax) return encoded;
  let end = bytesMax;
  // Back up over continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && ((encoded[end] ?? 0) & 0xc0) === 0x80) end--;
  return encoded.subarray(0, end);
}

export function errorFrame(code: ErrorCodeValue, message: string): Uint8Array {
  const text = truncateUtf8(message, ERROR_MESSAGE_BYTES_MAX);
  const frame = new Uint8Array(2 + text.byteLength);
  frame[0] = FrameKind.error;
  frame[1] = code;
  frame.set(text, 2);
  return frame;
}

export type ResponseFrame =
  | { kind: 'data'; payload: Uint8Array }
  | { kind: 'end' }
  | { kind: 'error'; error: Error };

/** The error a requester raises for an ERROR frame. */
export function remoteError(code: number, message: string): Error {
  switch (code) {
    case ErrorCode.handler:
      return new RemoteHandlerError(message);
    case ErrorCode.frameTooLarge:
      return new FrameTooLargeError(`responder: ${message}`);
    case ErrorCode.busy:
      return new PeerBusyError(message);
    case ErrorCode.badRequest:
      return new ProtocolViolationError(`responder: ${message}`);
    default:
      return new ProtocolViolationError(`unknown error code ${code}: ${message}`);
  }
}

/** Decodes one response frame (without its length prefix). Never throws: a malformed frame
 *  decodes to a `ProtocolViolationError`. */
export function decodeResponseFrame(frame: Uint8Array): ResponseFrame {
  const kind = frame[0];
  if (kind === FrameKind.data) return { kind: 'data', payload: frame.subarray(FRAME_HEADER_BYTES) };
  if (kind === FrameKind.end) {
    if (frame.byteLength !== FRAME_HEADER_BYTES) {
      return { kind: 'error', error: new ProtocolViolationError('END frame with a payload') };
    }
    return { kind: 'end' };
  }
  if (kind === FrameKind.error && frame.byteLength >= 2) {
    const message = decoder.decode(frame.subarray(2, 2 + ERROR_MESSAGE_BYTES_MAX));
    return { kind: 'error', error: remoteError(frame[1] ?? 0, message) };
  }
  const what = kind === undefined ? 'empty frame' : `unknown frame kind ${kind}`;
  return { kind: 'error', error: new ProtocolViolationError(what) };
}
