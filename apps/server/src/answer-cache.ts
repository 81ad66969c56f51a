/**
 * Encoded CreateRoom answers, reused while the room is unchanged.
 *
 * Most CreateRoom calls find a room that exists (the incident's load was mostly that), and
 * building the LiveKit `Room` message and encoding it (~6 us of ~80 us per call, measured on
 * the bench machine) would give the same bytes every time. The store hands out live records
 * that change in place, so an entry remembers the stamps that any visible field depends on
 * (settings group, stats group, tombstone) and is rebuilt when one moved. Bounded:
 * ANSWER_CACHE_ROOMS_MAX rooms (~400 B of JSON + ~250 B of protobuf each, ~6.5 MB), least
 * recently used evicted first.
 */
import type { Message } from '@bufbuild/protobuf';
import type { RoomRecord } from '@roomring/protocol';
import { toLivekitRoom } from './room-mapping.js';
import type { Codec } from './twirp.js';

export const ANSWER_CACHE_ROOMS_MAX = 10_000;

interface Entry {
  settingsAt: number;
  statsAt: number;
  deletedAt: number;
  json?: Buffer;
  protobuf?: Buffer;
}

/** A Twirp answer body: binary protobuf, or LiveKit's JSON (proto field names, defaults). */
export function encodeAnswer(message: Message, codec: Codec): Buffer {
  if (codec === 'protobuf') return Buffer.from(message.toBinary());
  return Buffer.from(
    JSON.stringify(message.toJson({ useProtoFieldName: true, emitDefaultValues: true })),
  );
}

export class AnswerCache {
  private readonly entries = new Map<Readonly<RoomRecord>, Entry>();

  constructor(private readonly roomsMax = ANSWER_CACHE_ROOMS_MAX) {}

  /** The encoded `Room` answer for `room` in `codec`, from the cache when still current. */
  answer(room: Readonly<RoomRecord>, codec: Codec): Buffer {
    let entry = this.entries.get(room);
    if (
      entry === undefined ||
      entry.settingsAt !== room.settingsAt ||
      entry.statsAt !== room.statsAt ||
      entry.deletedAt !== room.deletedAt
    ) {
      entry = { settingsAt: room.settingsAt, statsAt: room.statsAt, deletedAt: room.deletedAt };
    }
    // Re-insert: Map iteration order is insertion order, so the first key is the LRU one.
    this.entries.delete(room);
    this.entries.set(room, entry);
    if (this.entries.size > this.roomsMax) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    const cached = codec === 'json' ? entry.json : entry.protobuf;
    if (cached) return cached;
    const bytes = encodeAnswer(toLivekitRoom(room), codec);
    if (codec === 'json') entry.json = bytes;
    else entry.protobuf = bytes;
    return bytes;
  }

  get size(): number {
    return this.entries.size;
  }
}
