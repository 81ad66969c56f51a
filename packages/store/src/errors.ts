/**
 * Typed errors for bad local input and bad configuration.
 *
 * One class per failure kind, matched by `name` (stable across bundles and realms, unlike
 * `instanceof`), each with a stable `code` for metrics labels and error tables. Remote input
 * never throws: `merge` reports a rejection instead (see `MergeRejection`).
 */
import type { CreateRoomInput, RoomStatsInput } from './validate.js';

/** Stable codes of every error the store throws. */
export type RoomStoreErrorCode =
  | 'invalid-room-name'
  | 'invalid-room-settings'
  | 'invalid-room-stats'
  | 'metadata-too-large'
  | 'too-many-incarnations'
  | 'invalid-clock-reading'
  | 'invalid-store-init'
  | 'invalid-bucket'
  | 'invalid-snapshot';

/** Base class of every error the store throws. */
export abstract class RoomStoreError extends Error {
  abstract readonly code: RoomStoreErrorCode;
}

/** A field of a local write's input: a key of `CreateRoomInput` or `RoomStatsInput`. */
export type RoomInputField = keyof CreateRoomInput | keyof RoomStatsInput;

/** Bad local input, naming the input field at fault so a caller can name its own argument. */
export abstract class InvalidRoomInputError extends RoomStoreError {
  constructor(
    readonly field: RoomInputField,
    message: string,
  ) {
    super(message);
  }
}

/** The room name is empty, not well-formed UTF-16, or over the byte limit. */
export class InvalidRoomNameError extends InvalidRoomInputError {
  override readonly name = 'InvalidRoomNameError';
  readonly code = 'invalid-room-name';
  constructor(message: string) {
    super('name', message);
  }
}

/** A room setting (timeout, participant limit, pinned node, home region) is out of range. */
export class InvalidRoomSettingsError extends InvalidRoomInputError {
  override readonly name = 'InvalidRoomSettingsError';
  readonly code = 'invalid-room-settings';
  constructor(field: Exclude<keyof CreateRoomInput, 'name' | 'metadata'>, message: string) {
    super(field, message);
  }
}

/** A stats report holds a negative, fractional or out-of-range count. */
export class InvalidRoomStatsError extends InvalidRoomInputError {
  override readonly name = 'InvalidRoomStatsError';
  readonly code = 'invalid-room-stats';
  constructor(field: keyof RoomStatsInput, message: string) {
    super(field, message);
  }
}

/** Room metadata over the metadata byte limit (or not well-formed UTF-16). */
export class MetadataTooLargeError extends InvalidRoomInputError {
  override readonly name = 'MetadataTooLargeError';
  readonly code = 'metadata-too-large';
  constructor(message: string) {
    super('metadata', message);
  }
}

/**
 * The name already holds `incarnationsPerNameMax` incarnations (live or tombstoned): a limit,
 * not bad input. It frees on its own when GC collects the name's oldest tombstone, at the
 * earliest `retryAfterMs` from the throw.
 */
export class TooManyIncarnationsError extends RoomStoreError {
  override readonly name = 'TooManyIncarnationsError';
  readonly code = 'too-many-incarnations';
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** The injected clock returned a time outside what a packed HLC stamp can hold. */
export class InvalidClockReadingError extends RoomStoreError {
  override readonly name = 'InvalidClockReadingError';
  readonly code = 'invalid-clock-reading';
}

/** A `*Init` option is out of range. */
export class InvalidStoreInitError extends RoomStoreError {
  override readonly name = 'InvalidStoreInitError';
  readonly code = 'invalid-store-init';
}

/** A bucket index outside `0 .. bucketCount - 1`. */
export class InvalidBucketError extends RoomStoreError {
  override readonly name = 'InvalidBucketError';
  readonly code = 'invalid-bucket';
}

/** Snapshot bytes that do not decode (the protocol's DecodeError is the `cause`). */
export class InvalidSnapshotError extends RoomStoreError {
  override readonly name = 'InvalidSnapshotError';
  readonly code = 'invalid-snapshot';
}
