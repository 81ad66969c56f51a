/**
 * Typed errors for every operating condition the node reports to its caller. One class per
 * condition, matched by `name` (or `code`, which the HTTP layer maps to Twirp codes). Each
 * carries `retryAfterMs` where a retry can succeed.
 */
export type RegistryErrorCode =
  | 'invalid_argument'
  | 'not_found'
  | 'unavailable'
  | 'resource_exhausted'
  | 'deadline_exceeded'
  | 'failed_precondition';

export abstract class RegistryError extends Error {
  abstract readonly code: RegistryErrorCode;
}

/** The request is malformed: a name too long, a negative timeout. Changes nothing. */
export class InvalidArgumentError extends RegistryError {
  override readonly name = 'InvalidArgumentError';
  readonly code = 'invalid_argument';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
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
    readonly retryAfterMs: number,
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
    readonly retryAfterMs: number,
  ) {
    super(`${queue} is full`);
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

/** The node is not started, is stopping, or is resyncing after a long isolation. */
export class NodeNotReadyError extends RegistryError {
  override readonly name = 'NodeNotReadyError';
  readonly code = 'failed_precondition';
  constructor(
    readonly state: string,
    readonly retryAfterMs = 1_000,
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
