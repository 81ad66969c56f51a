/**
 * LiveKit's `Room` message as this client returns it: camelCase, int64 as numbers, every
 * field present (proto defaults filled in). Parsed from snake_case or camelCase JSON.
 */
import {
  asArray,
  asObject,
  type JsonObject,
  pick,
  readBool,
  readInt,
  readString,
} from './json-fields.js';

/** LiveKit's TimedVersion of a room's last change. */
export interface RoomVersion {
  unixMicro: number;
  ticks: number;
}

export interface Room {
  /** `RM_` + 12 base57 characters. */
  sid: string;
  name: string;
  /** Seconds a room may stay empty before it is removed. */
  emptyTimeout: number;
  /** Seconds after the last participant leaves before the room is removed. */
  departureTimeout: number;
  /** 0 = unlimited. */
  maxParticipants: number;
  /** Unix seconds. */
  creationTime: number;
  /** Unix milliseconds. */
  creationTimeMs: number;
  metadata: string;
  numParticipants: number;
  numPublishers: number;
  activeRecording: boolean;
  /** Present when the server sends one. */
  version?: RoomVersion;
}

export function parseRoom(value: unknown): Room {
  const o = asObject(value, 'room');
  const room: Room = {
    sid: readString(o, 'sid'),
    name: readString(o, 'name'),
    emptyTimeout: readInt(o, 'emptyTimeout', 'empty_timeout'),
    departureTimeout: readInt(o, 'departureTimeout', 'departure_timeout'),
    maxParticipants: readInt(o, 'maxParticipants', 'max_participants'),
    creationTime: readInt(o, 'creationTime', 'creation_time'),
    creationTimeMs: readInt(o, 'creationTimeMs', 'creation_time_ms'),
    metadata: readString(o, 'metadata'),
    numParticipants: readInt(o, 'numParticipants', 'num_participants'),
    numPublishers: readInt(o, 'numPublishers', 'num_publishers'),
    activeRecording: readBool(o, 'activeRecording', 'active_recording'),
  };
  const version = pick(o, 'version');
  if (version !== undefined && version !== null) room.version = parseVersion(version);
  return room;
}

function parseVersion(value: unknown): RoomVersion {
  const v: JsonObject = asObject(value, 'room.version');
  return { unixMicro: readInt(v, 'unixMicro', 'unix_micro'), ticks: readInt(v, 'ticks') };
}

/** ListRoomsResponse: `{ rooms: Room[] }` (absent = none). */
export function parseRoomList(value: unknown): Room[] {
  const o = asObject(value, 'ListRoomsResponse');
  const rooms = pick(o, 'rooms');
  if (rooms === undefined || rooms === null) return [];
  return asArray(rooms, 'rooms').map(parseRoom);
}
