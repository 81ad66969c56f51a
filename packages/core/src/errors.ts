/**
 * Typed errors for every operating condition the node reports to its caller: one class per
 * condition, matched by `name`. Its `code` keys the one error table (`ERROR_TABLE`, from
 * @roomring/api-errors, shown in docs/api.md "Error mapping"), which says what the HTTP
 * server answers and what the client retries. An error gives the table only its `code`,
 * `message`, `argument` (the request field at fault) and `retryAfterMs` (when a retry can
 * succeed): every RegistryError has all four.
 */
import type { RegistryErrorCode } from '@roomring/api-errors';
import {
  InvalidRoomInputError,
  type RoomInputField,
  type RoomStoreError,
  TooManyIncarnationsError,
} from '@roomring/store';

export {
  type ClientRetry,
  ERROR_TABLE,
  type ErrorTableRow,
  errorRowOf,
  type RegistryErrorCode,
} from '@roomring/api-errors';

export abstract class RegistryError extends Error {
  abstract readonly code: RegistryErrorCode;
  /** The request field at fault (`invalid_argument`); undefined otherwise. */
  readonly argument: string | undefined = undefined;
  /** Ms before a retry can succeed (the answer's Retry-After); undefined when none can. */
  readonly retryAfterMs: number | undefined = undefined;
}

/** The request is malformed: a name too long, a negative timeout. Changes nothing. */
export class InvalidArgumentError extends RegistryError {
  override readonly name = 'InvalidArgumentError';
  readonly code = 'invalid_argument';
  override readonly argument: string;
  constructor(
    /** The request field at fault; the same as `argument`. */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.argument = field;
  }
}

export class RoomNotFoundError extends RegistryError {
  override readonly name = 'RoomNotFoundError';
  readonly code = 'not_found';
  constructor(readonly room: string) {
    super('requested room does not exist');
  }
}

/**
 * The write was applied locally but fewer than `minAcks` other nodes confirmed holding it
 * within the deadline. It may still spread (gossip, anti-entropy); a retry is idempotent.
 */
export class UnavailableError extends RegistryError {
  override readonly name = 'UnavailableError';
  readonly code = 'unavailable';
  constructor(
    message: string,
    override readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** A bounded queue of this node is full; nothing was changed. */
export class OverloadedError extends RegistryError {
  override readonly name = 'OverloadedError';
  readonly code = 'resource_exhausted';
  constructor(
    readonly queue: string,
    override readonly retryAfterMs: number,
  ) {
    super(`${queue} is full`);
  }
}

/**
 * A limit that frees on its own is spent (a room name re-created `incarnationsPerNameMax`
 * times within `tombstoneTtlMs`); nothing was changed. Unlike bad input, the same request
 * can succeed later: `retryAfterMs` says when at the earliest.
 */
export class LimitExceededError extends RegistryError {
  override readonly name = 'LimitExceededError';
  readonly code = 'resource_exhausted';
  constructor(
    /** The option that sets the limit, e.g. `incarnationsPerNameMax`. */
    readonly limit: string,
    message: string,
    override readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** The caller's deadline had already passed (or left too little to do anything). */
export class DeadlineExceededError extends RegistryError {
  override readonly name = 'DeadlineExceededError';
  readonly code = 'deadline_exceeded';
  constructor(message = 'deadline exceeded') {
    super(message);
  }
}

/**
 * The node is not started, is stopping, or is resyncing after a long isolation; nothing was
 * changed. `unavailable`, not `failed_precondition`: the state passes without the caller
 * doing anything, so a retry (here later, or at another node) can succeed.
 */
export class NodeNotReadyError extends RegistryError {
  override readonly name = 'NodeNotReadyError';
  readonly code = 'unavailable';
  constructor(
    readonly state: string,
    override readonly retryAfterMs = 1_000,
  ) {
    super(`node is ${state}`);
  }
}

/** A configuration option is missing or out of range; thrown at construction. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`invalid option ${option}: ${message}`);
  }
}

/**
 * The argument of the node's API that carries each store input field: the field names of
 * `CreateRoomRequest` (the store's `homeRegion` is the request's `region`) and `RoomStats`.
 */
export const NODE_ARGUMENT_OF_STORE_FIELD: Readonly<Record<RoomInputField, string>> = Object.freeze(
  {
    name: 'name',
    homeRegion: 'region',
    emptyTimeoutS: 'emptyTimeoutS',
    departureTimeoutS: 'departureTimeoutS',
    maxParticipants: 'maxParticipants',
    metadata: 'metadata',
    pinnedNode: 'pinnedNode',
    numParticipants: 'numParticipants',
    numPublishers: 'numPublishers',
    activeRecording: 'activeRecording',
  },
);

/**
 * The error the node throws for an error its store threw on a local write:
 * - bad input (InvalidRoomNameError, MetadataTooLargeError, InvalidRoomSettingsError,
 *   InvalidRoomStatsError) -> InvalidArgumentError naming the request argument
 *   (`argumentOf[error.field]`: `name`, `metadata`, `emptyTimeoutS`, `region`, ...);
 * - a limit that frees on its own (TooManyIncarnationsError) -> LimitExceededError
 *   (`resource_exhausted`, with the store's `retryAfterMs`);
 * - anything else (a broken injected clock, a bad option or snapshot) is the node's own
 *   fault, not the caller's: returned unchanged, so the server answers `internal`.
 * Nothing was changed in any case: the store validates before it writes.
 */
export function fromStoreError(
  error: RoomStoreError,
  argumentOf: Readonly<Record<RoomInputField, string>> = NODE_ARGUMENT_OF_STORE_FIELD,
): RegistryError | RoomStoreError {
  if (error instanceof InvalidRoomInputError) {
    return new InvalidArgumentError(argumentOf[error.field], error.message);
  }
  if (error instanceof TooManyIncarnationsError) {
    return new LimitExceededError('incarnationsPerNameMax', error.message, error.retryAfterMs);
  }
  return error;
}
