/**
 * Encoded CreateRoom answers, reused while the room is unchanged.
 *
 * Most CreateRoom calls find a room that exists (the incident's load was mostly that), and
 * building the LiveKit `Room` message and encoding it (~6 us of ~80 us per call, measured on
 * the bench machine) would give the same bytes every time. The store hands out live records
 * that change in place, so an entry remembers the stamps that any visible field depends on
 * (settings group, stats group, tombstone) and is rebuilt when one moved.
 *
 * Bounded by generations rather than a strict LRU: rooms answered since the last rotation
 * are in `current`, the generation before in `previous`; a room found in `previous` moves to
 * `current`, and when `current` holds ANSWER_CACHE_ROOMS_MAX rooms it becomes `previous` and
 * the old `previous` is dropped whole. A room answered at least once per
 * ANSWER_CACHE_ROOMS_MAX other rooms stays cached (as with an LRU of that size), and at most
 * twice that many are held (~400 B of JSON + ~250 B of protobuf each: ~13 MB). No call
 * deletes from the front of a Map or iterates one. The Map-ordered LRU this replaces did both
 * on every miss, and V8 walks over the deleted slots at the front of a Map's table until it is
 * rebuilt: 5-7 us per miss at 10,000 rooms against 0.4-0.5 us now (micro-benchmark), 3% of a
 * serving node's time under new-room load in a CPU profile.
 */
import type { Message } from '@bufbuild/protobuf';
import type { RoomRecord } from '@roomring/protocol';
import { roomJson, toLivekitRoom } from './room-mapping.js';
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
  private current = new Map<Readonly<RoomRecord>, Entry>();
  private previous = new Map<Readonly<RoomRecord>, Entry>();
  /** Rooms per generation: ANSWER_CACHE_ROOMS_MAX unless a test says otherwise. */
  constructor(private readonly generationMax = ANSWER_CACHE_ROOMS_MAX) {}

  /** The encoded `Room` answer for `room` in `codec`, from the cache when still current. */
  answer(room: Readonly<RoomRecord>, codec: Codec): Buffer {
    let entry = this.current.get(room);
    let place = false;
    if (entry === undefined) {
      // Not answered in this generation: from the previous one, or new.
      entry = this.previous.get(room);
      if (entry !== undefined) this.previous.delete(room);
      if (this.current.size >= this.generationMax) {
        this.previous = this.current;
        this.current = new Map();
      }
      place = true;
    }
    if (
      entry === undefined ||
      entry.settingsAt !== room.settingsAt ||
      entry.statsAt !== room.statsAt ||
      entry.deletedAt !== room.deletedAt
    ) {
      entry = { settingsAt: room.settingsAt, statsAt: room.statsAt, deletedAt: room.deletedAt };
      place = true;
    }
    if (place) this.current.set(room, entry);
    const cached = codec === 'json' ? entry.json : entry.protobuf;
    if (cached) return cached;
    const bytes =
      codec === 'json' ? Buffer.from(roomJson(room)) : encodeAnswer(toLivekitRoom(room), codec);
    if (codec === 'json') entry.json = bytes;
    else entry.protobuf = bytes;
    return bytes;
  }

  /** Rooms cached now, at most twice the generation size. */
  get size(): number {
    return this.current.size + this.previous.size;
  }
}
