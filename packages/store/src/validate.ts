/**
 * Checks of local input (typed errors) and cheap invariants of remote records (a boolean:
 * remote input never throws). Remote records were already schema-validated by the protocol
 * decoder; the checks here are the ones the merge rule itself relies on.
 */
import {
  DEPARTURE_TIMEOUT_S_MAX,
  EMPTY_TIMEOUT_S_MAX,
  MAX_PARTICIPANTS_MAX,
  NODE_ID_BYTES_MAX,
  PARTICIPANTS_MAX,
  REGION_BYTES_MAX,
  ROOM_METADATA_BYTES_MAX,
  ROOM_NAME_BYTES_MAX,
  type RoomRecord,
  utf8ByteLength,
} from '@roomring/protocol';
import {
  InvalidRoomNameError,
  InvalidRoomSettingsError,
  InvalidRoomStatsError,
  MetadataTooLargeError,
} from './errors.js';

/** Settings a create may give; omitted ones take LiveKit's defaults. */
export interface RoomSettingsInput {
  /** Seconds a room may stay empty before its owner removes it. @default 300 */
  emptyTimeoutS?: number;
  /** Seconds after the last participant leaves before removal. @default 20 */
  departureTimeoutS?: number;
  /** 0 = unlimited. @default 0 */
  maxParticipants?: number;
  /** At most 64 KiB of UTF-8. @default '' */
  metadata?: string;
  /** LiveKit's `node_id`: pin placement to this node while it is alive. @default '' */
  pinnedNode?: string;
}

export interface CreateRoomInput extends RoomSettingsInput {
  /** 1..256 UTF-8 bytes, any characters. Untrusted. */
  name: string;
  /** Region whose ring places the room: the creating node's region or the request's. */
  homeRegion: string;
}

/** A hosting node's report of a room's live stats. */
export interface RoomStatsInput {
  numParticipants: number;
  numPublishers: number;
  activeRecording: boolean;
}

/** LiveKit's CreateRoom defaults (livekit-server config `room.empty_timeout` etc.). */
export const DEFAULT_EMPTY_TIMEOUT_S = 300;
export const DEFAULT_DEPARTURE_TIMEOUT_S = 20;

function isUint(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;
}

export function checkRoomName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidRoomNameError('room name must be a non-empty string');
  }
  const bytes = utf8ByteLength(name);
  if (bytes < 0) throw new InvalidRoomNameError('room name holds a lone UTF-16 surrogate');
  if (bytes > ROOM_NAME_BYTES_MAX) {
    throw new InvalidRoomNameError(
      `room name is ${bytes} UTF-8 bytes; the limit is ${ROOM_NAME_BYTES_MAX}`,
    );
  }
}

export function checkMetadata(metadata: unknown): asserts metadata is string {
  if (typeof metadata !== 'string') throw new MetadataTooLargeError('metadata must be a string');
  const bytes = utf8ByteLength(metadata);
  if (bytes < 0) throw new MetadataTooLargeError('metadata holds a lone UTF-16 surrogate');
  if (bytes > ROOM_METADATA_BYTES_MAX) {
    throw new MetadataTooLargeError(
      `metadata is ${bytes} UTF-8 bytes; the limit is ${ROOM_METADATA_BYTES_MAX}`,
    );
  }
}

function checkIdLike(
  value: unknown,
  field: 'homeRegion' | 'pinnedNode',
  max: number,
  allowEmpty: boolean,
): void {
  if (typeof value !== 'string') {
    throw new InvalidRoomSettingsError(field, `${field} must be a string`);
  }
  if (value === '' && !allowEmpty) throw new InvalidRoomSettingsError(field, `${field} is empty`);
  const bytes = utf8ByteLength(value);
  if (bytes < 0 || bytes > max) {
    throw new InvalidRoomSettingsError(
      field,
      `${field} must be well-formed and at most ${max} bytes`,
    );
  }
}

/** Throws a typed error for the first invalid field of a create's input (name excluded). */
export function checkCreateSettings(input: CreateRoomInput): void {
  checkIdLike(input.homeRegion, 'homeRegion', REGION_BYTES_MAX, false);
  if (input.emptyTimeoutS !== undefined && !isUint(input.emptyTimeoutS, EMPTY_TIMEOUT_S_MAX)) {
    throw new InvalidRoomSettingsError(
      'emptyTimeoutS',
      `emptyTimeoutS must be an integer in 0..${EMPTY_TIMEOUT_S_MAX}, got ${input.emptyTimeoutS}`,
    );
  }
  if (
    input.departureTimeoutS !== undefined &&
    !isUint(input.departureTimeoutS, DEPARTURE_TIMEOUT_S_MAX)
  ) {
    throw new InvalidRoomSettingsError(
      'departureTimeoutS',
      `departureTimeoutS must be an integer in 0..${DEPARTURE_TIMEOUT_S_MAX}, got ${input.departureTimeoutS}`,
    );
  }
  if (input.maxParticipants !== undefined && !isUint(input.maxParticipants, MAX_PARTICIPANTS_MAX)) {
    throw new InvalidRoomSettingsError(
      'maxParticipants',
      `maxParticipants must be an integer in 0..${MAX_PARTICIPANTS_MAX}, got ${input.maxParticipants}`,
    );
  }
  if (input.metadata !== undefined) checkMetadata(input.metadata);
  if (input.pinnedNode !== undefined) {
    checkIdLike(input.pinnedNode, 'pinnedNode', NODE_ID_BYTES_MAX, true);
  }
}

export function checkStats(stats: RoomStatsInput): void {
  if (!isUint(stats.numParticipants, PARTICIPANTS_MAX)) {
    throw new InvalidRoomStatsError(
      'numParticipants',
      `numParticipants must be an integer in 0..${PARTICIPANTS_MAX}, got ${stats.numParticipants}`,
    );
  }
  if (!isUint(stats.numPublishers, PARTICIPANTS_MAX)) {
    throw new InvalidRoomStatsError(
      'numPublishers',
      `numPublishers must be an integer in 0..${PARTICIPANTS_MAX}, got ${stats.numPublishers}`,
    );
  }
  if (typeof stats.activeRecording !== 'boolean') {
    throw new InvalidRoomStatsError('activeRecording', 'activeRecording must be a boolean');
  }
}

function isStamp(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

/** A version stamp is 0 with no writer ('never written') or a later stamp with a writer. */
function isVersion(at: number, by: string, createdAt: number): boolean {
  return isStamp(at) && (at === 0 ? by === '' : by !== '' && at >= createdAt);
}

/**
 * Invariants of a remote record the merge relies on: stamps are non-negative safe integers;
 * the record was created (createdAt > 0, creator set); every later write (settings, stats,
 * tombstone) carries a stamp no earlier than the create, because its writer had seen the
 * create and HLC stamps only grow; a stamp and its writer are set together.
 */
export function isPlausibleRecord(record: RoomRecord): boolean {
  return (
    isStamp(record.createdAt) &&
    record.createdAt > 0 &&
    record.creator !== '' &&
    record.name !== '' &&
    isVersion(record.settingsAt, record.settingsBy, record.createdAt) &&
    isVersion(record.statsAt, record.statsBy, record.createdAt) &&
    isVersion(record.deletedAt, record.deletedBy, record.createdAt)
  );
}
