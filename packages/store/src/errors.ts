/**
 * Typed errors for bad local input and bad configuration.
 *
 * One class per failure kind, matched by `name` (stable across bundles and realms, unlike
 * `instanceof`), each with a stable `code` for metrics labels and error tables. Remote input
 * never throws: `merge` reports a rejection instead (see `MergeRejection`).
 */

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

/** The room name is empty, not well-formed UTF-16, or over the byte limit. */
export class InvalidRoomNameError extends RoomStoreError {
  override readonly name = 'InvalidRoomNameError';
  readonly code = 'invalid-room-name';
}

/** A room setting (timeout, participant limit, pinned node, home region) is out of range. */
export class InvalidRoomSettingsError extends RoomStoreError {
  override readonly name = 'InvalidRoomSettingsError';
  readonly code = 'invalid-room-settings';
}

/** A stats report holds a negative, fractional or out-of-range count. */
export class InvalidRoomStatsError extends RoomStoreError {
  override readonly name = 'InvalidRoomStatsError';
  readonly code = 'invalid-room-stats';
}

/** Room metadata over the metadata byte limit (or not well-formed UTF-16). */
export class MetadataTooLargeError extends RoomStoreError {
  override readonly name = 'MetadataTooLargeError';
  readonly code = 'metadata-too-large';
}

/** The name already holds `incarnationsPerNameMax` incarnations (live or tombstoned). */
export class TooManyIncarnationsError extends RoomStoreError {
  override readonly name = 'TooManyIncarnationsError';
  readonly code = 'too-many-incarnations';
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
