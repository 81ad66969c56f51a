/**
 * Room record -> LiveKit `Room` (api-spec.md, Room mapping) and -> the admin API's room shape.
 */
import { Room, TimedVersion } from '@livekit/protocol';
import { hlcLogical, hlcWallMs, type RoomRecord } from '@roomring/protocol';

/** The record's last change: the newest of its create, settings and stats stamps. */
function lastChange(record: Readonly<RoomRecord>): number {
  return Math.max(record.createdAt, record.settingsAt, record.statsAt);
}

export function toLivekitRoom(record: Readonly<RoomRecord>): Room {
  const createdMs = hlcWallMs(record.createdAt);
  const version = lastChange(record);
  return new Room({
    sid: record.sid,
    name: record.name,
    emptyTimeout: record.emptyTimeoutS,
    departureTimeout: record.departureTimeoutS,
    maxParticipants: record.maxParticipants,
    creationTime: BigInt(Math.floor(createdMs / 1_000)),
    creationTimeMs: BigInt(createdMs),
    metadata: record.metadata,
    numParticipants: record.numParticipants,
    numPublishers: record.numPublishers,
    activeRecording: record.activeRecording,
    version: new TimedVersion({
      unixMicro: BigInt(hlcWallMs(version)) * 1_000n,
      ticks: hlcLogical(version),
    }),
  });
}

/**
 * The JSON answer of `toLivekitRoom(record)` as protobuf-es writes it for Twirp
 * (`toJson({ useProtoFieldName: true, emitDefaultValues: true })`, then JSON.stringify):
 * LiveKit's `Room` fields in field-number order, 64-bit integers as decimal strings, strings
 * escaped by JSON.stringify. Written out directly because every new room's CreateRoom answer
 * is encoded once, and protobuf-es builds the message and walks its descriptor to do it
 * (3% of a serving node's time under new-room load in a CPU profile).
 * test/room-json.test.ts holds it to protobuf-es's output.
 */
export function roomJson(record: Readonly<RoomRecord>): string {
  const createdMs = hlcWallMs(record.createdAt);
  const version = lastChange(record);
  return (
    `{"sid":${JSON.stringify(record.sid)},"name":${JSON.stringify(record.name)}` +
    `,"empty_timeout":${record.emptyTimeoutS},"max_participants":${record.maxParticipants}` +
    `,"creation_time":"${Math.floor(createdMs / 1_000)}","turn_password":"","enabled_codecs":[]` +
    `,"metadata":${JSON.stringify(record.metadata)},"num_participants":${record.numParticipants}` +
    `,"active_recording":${record.activeRecording},"num_publishers":${record.numPublishers}` +
    `,"version":{"unix_micro":"${BigInt(hlcWallMs(version)) * 1_000n}","ticks":${hlcLogical(version)}}` +
    `,"departure_timeout":${record.departureTimeoutS},"creation_time_ms":"${createdMs}"}`
  );
}

export interface AdminRoom {
  name: string;
  sid: string;
  homeRegion: string;
  owner: string | null;
  numParticipants: number;
  numPublishers: number;
  activeRecording: boolean;
  createdAtMs: number;
  metadata: string;
}

export function toAdminRoom(record: Readonly<RoomRecord>, owner: string | undefined): AdminRoom {
  return {
    name: record.name,
    sid: record.sid,
    homeRegion: record.homeRegion,
    owner: owner ?? null,
    numParticipants: record.numParticipants,
    numPublishers: record.numPublishers,
    activeRecording: record.activeRecording,
    createdAtMs: hlcWallMs(record.createdAt),
    metadata: record.metadata,
  };
}
