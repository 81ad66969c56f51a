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
