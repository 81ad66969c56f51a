/**
 * One error class per failure kind, each with a stable `name` and `code` (STYLE.md habit 6).
 * Callers match on `code` (or `instanceof`), never on message text. Every error the transport
 * throws or rejects with is a `TransportError`; the underlying library error, when there is
 * one, is kept as `cause`.
 */
export abstract class TransportError extends Error {
  abstract override readonly name: string;
  abstract readonly code: string;
}

/** The init options are invalid (thrown by `createLibp2pTransport`). */
export class InvalidConfigError extends TransportError {
  override readonly name = 'InvalidConfigError';
  readonly code = 'ERR_INVALID_CONFIG';
}

/** A dial address or peer id string cannot be parsed. */
export class InvalidAddressError extends TransportError {
  override readonly name = 'InvalidAddressError';
  readonly code = 'ERR_INVALID_ADDRESS';
}

/** The transport is not started, or was stopped while the operation was pending. */
export class TransportStoppedError extends TransportError {
  override readonly name = 'TransportStoppedError';
  readonly code = 'ERR_TRANSPORT_STOPPED';
}

/** The peer could not be reached: dial refused, wrong cluster key, wrong peer id, no route. */
export class PeerUnreachableError extends TransportError {
  override readonly name = 'PeerUnreachableError';
  readonly code = 'ERR_PEER_UNREACHABLE';
}

/** A dial ran into its `timeoutMs` before the handshake finished: nothing definite (a
 *  stopped or overloaded process takes the TCP connection but does not answer). Its `name`
 *  is the one `@roomring/core`'s `isDialTimeout` matches, so the failure detector keeps the
 *  member suspect instead of declaring it dead (docs/protocol/membership.md, "Probes"). */
export class DialTimeoutError extends TransportError {
  override readonly name = 'DialTimeoutError';
  readonly code = 'ERR_DIAL_TIMEOUT';
}

/** The peer is reachable but has no handler for the requested protocol. */
export class ProtocolNotSupportedError extends TransportError {
  override readonly name = 'ProtocolNotSupportedError';
  readonly code = 'ERR_PROTOCOL_NOT_SUPPORTED';
}

/** The request did not complete (dial + request + every response frame) within `timeoutMs`. */
export class RequestTimeoutError extends TransportError {
  override readonly name = 'RequestTimeoutError';
  readonly code = 'ERR_REQUEST_TIMEOUT';
}

/** The caller's `AbortSignal` aborted the request. */
export class RequestAbortedError extends TransportError {
  override readonly name = 'RequestAbortedError';
  readonly code = 'ERR_REQUEST_ABORTED';
}

/** A request or response frame is larger than `frameBytesMax` (on either side). */
export class FrameTooLargeError extends TransportError {
  override readonly name = 'FrameTooLargeError';
  readonly code = 'ERR_FRAME_TOO_LARGE';
}

/** A gossip message is larger than `gossipMessageBytesMax`. */
export class MessageTooLargeError extends TransportError {
  override readonly name = 'MessageTooLargeError';
  readonly code = 'ERR_MESSAGE_TOO_LARGE';
}

/** The responder sent more than the request's `framesMax` frames. */
export class TooManyFramesError extends TransportError {
  override readonly name = 'TooManyFramesError';
  readonly code = 'ERR_TOO_MANY_FRAMES';
}

/** `requestsPendingMax` requests are already in flight; shed instead of queueing. */
export class TooManyPendingRequestsError extends TransportError {
  override readonly name = 'TooManyPendingRequestsError';
  readonly code = 'ERR_TOO_MANY_PENDING_REQUESTS';
}

/** The responder already serves `inboundStreamsPerProtocolMax` requests of this protocol. */
export class PeerBusyError extends TransportError {
  override readonly name = 'PeerBusyError';
  readonly code = 'ERR_PEER_BUSY';
}

/** The responder's handler threw or rejected; `message` carries the remote message (at most
 *  `ERROR_MESSAGE_BYTES_MAX` bytes). */
export class RemoteHandlerError extends TransportError {
  override readonly name = 'RemoteHandlerError';
  readonly code = 'ERR_REMOTE_HANDLER';
}

/** The response stream ended or was reset before the responder's end marker: the connection
 *  dropped or the responder crashed mid-answer. What was yielded before is not the whole
 *  answer. */
export class ResponseIncompleteError extends TransportError {
  override readonly name = 'ResponseIncompleteError';
  readonly code = 'ERR_RESPONSE_INCOMPLETE';
}

/** The remote sent bytes that break the request/response framing (unknown frame kind,
 *  empty frame, data after the end marker). */
export class ProtocolViolationError extends TransportError {
  override readonly name = 'ProtocolViolationError';
  readonly code = 'ERR_PROTOCOL_VIOLATION';
}

/** A bounded wait (e.g. `waitForTopicPeers`) ran out of time. */
export class TimeoutError extends TransportError {
  override readonly name = 'TimeoutError';
  readonly code = 'ERR_TIMEOUT';
}
