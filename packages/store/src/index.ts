export type { Clock, Random } from './clock.js';
export {
  InvalidBucketError,
  InvalidClockReadingError,
  InvalidRoomInputError,
  InvalidRoomNameError,
  InvalidRoomSettingsError,
  InvalidRoomStatsError,
  InvalidSnapshotError,
  InvalidStoreInitError,
  MetadataTooLargeError,
  type RoomInputField,
  RoomStoreError,
  type RoomStoreErrorCode,
  TooManyIncarnationsError,
} from './errors.js';
export {
  createHybridLogicalClock,
  DEFAULT_MAX_CLOCK_OFFSET_MS,
  type HybridLogicalClock,
  type HybridLogicalClockInit,
} from './hybrid-logical-clock.js';
export { bucketOfName, cellOfHash, roomNameHash32 } from './name-hash.js';
export { recordHash } from './record-hash.js';
export {
  createRoomStore,
  type GetOrCreateResult,
  type MergeOutcome,
  type MergeOutcomeKind,
  type MergeRejection,
  type MergeRejectionCounts,
  type RoomStore,
  type StoreCounts,
  type StoredRoom,
} from './room-store.js';
export type { SnapshotLoadResult } from './snapshot.js';
export {
  DEFAULT_BUCKET_COUNT,
  DEFAULT_INCARNATIONS_PER_NAME_MAX,
  DEFAULT_INTERNED_STRINGS_MAX,
  DEFAULT_TOMBSTONE_TTL_MS,
  type RoomStoreConfig,
  type RoomStoreInit,
} from './store-config.js';
export {
  type CreateRoomInput,
  DEFAULT_DEPARTURE_TIMEOUT_S,
  DEFAULT_EMPTY_TIMEOUT_S,
  type RoomSettingsInput,
  type RoomStatsInput,
} from './validate.js';
