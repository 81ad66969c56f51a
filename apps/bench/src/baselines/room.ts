/**
 * The room a baseline stores, the RoomBackend interface both storages implement, and the
 * pure helpers they share (new sid, defaults, mapping to LiveKit's `Room`).
 */
import { randomFillSync } from 'node:crypto';
import { Room } from '@livekit/protocol';
import { SID_ALPHABET, SID_PREFIX, SID_RANDOM_CHARS } from '@roomring/protocol';
import { StoredRoomDecodeError } from './errors.js';

/** LiveKit's defaults when CreateRoom leaves them 0 (livekit-roomservice.md, Room fields). */
export const EMPTY_TIMEOUT_S_DEFAULT = 300;
export const DEPARTURE_TIMEOUT_S_DEFAULT = 20;

/** What CreateRoom asks for, defaults applied. `name` is untrusted (1..256 UTF-8 bytes). */
export interface RoomCreate {
  name: string;
  emptyTimeoutS: number;
  departureTimeoutS: number;
  maxParticipants: number;
  metadata: string;
}

/** One stored room: a row of `rooms` (pg) or the JSON value of `room:<name>` (Redis). */
export interface StoredRoom extends RoomCreate {
  sid: string;
  createdAtMs: number;
}

/** Counters a backend adds to the server's `/stats`. */
export interface BackendStats {
  /** Get-or-create statements/scripts sent to the database (monotonic). */
  dbQueries: number;
  /** CreateRoom answered from the in-memory cache, no query (monotonic; 0 for Redis). */
  cacheHits: number;
  /** Rooms in the in-memory cache now (0 for Redis). */
  cacheRooms: number;
  /** Calls waiting for a database connection (pg) or commands in flight (Redis), now. */
  poolWaiting: number;
}

/** A storage behind the baseline server. */
export interface RoomBackend {
  readonly kind: 'pg' | 'redis';
  /** The stored room of `req.name`, or a new one (new sid) stored and returned. */
  getOrCreate(req: Readonly<RoomCreate>): Promise<StoredRoom>;
  stats(): BackendStats;
  /** Resolves when no getOrCreate call is in progress (work of timed-out requests included). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** Random words for sids, drawn 1,024 sids at a time: one randomFillSync per 1,024 creates
 *  instead of one per create (48 KiB buffer). */
const SIDS_PER_FILL = 1_024;
const words = new Uint32Array(SIDS_PER_FILL * SID_RANDOM_CHARS);
let nextWord = words.length;
const PREFIX_CODES = Array.from(SID_PREFIX, (c) => c.charCodeAt(0));
const ALPHABET_CODES = Array.from(SID_ALPHABET, (c) => c.charCodeAt(0));
const codes: number[] = [...PREFIX_CODES, ...new Array<number>(SID_RANDOM_CHARS).fill(0)];

/** `RM_` + 12 base57 characters, LiveKit's and roomring's sid format (the shortuuid
 *  alphabet; `x % 57` over 2^32 has a bias < 1e-8 per character). */
export function newSid(): string {
  if (nextWord + SID_RANDOM_CHARS > words.length) {
    randomFillSync(words);
    nextWord = 0;
  }
  for (let i = PREFIX_CODES.length; i < codes.length; i++) {
    codes[i] = ALPHABET_CODES[words[nextWord++]! % ALPHABET_CODES.length]!;
  }
  return String.fromCharCode.apply(null, codes);
}

export function newStoredRoom(req: Readonly<RoomCreate>, nowMs: number): StoredRoom {
  return {
    name: req.name,
    sid: newSid(),
    createdAtMs: nowMs,
    emptyTimeoutS: req.emptyTimeoutS,
    departureTimeoutS: req.departureTimeoutS,
    maxParticipants: req.maxParticipants,
    metadata: req.metadata,
  };
}

export function toLivekitRoom(room: Readonly<StoredRoom>): Room {
  return new Room({
    sid: room.sid,
    name: room.name,
    emptyTimeout: room.emptyTimeoutS,
    departureTimeout: room.departureTimeoutS,
    maxParticipants: room.maxParticipants,
    creationTime: BigInt(Math.floor(room.createdAtMs / 1_000)),
    creationTimeMs: BigInt(room.createdAtMs),
    metadata: room.metadata,
  });
}

function field<T>(value: unknown, type: 'string' | 'number', name: string): T {
  if (typeof value !== type) throw new StoredRoomDecodeError(`stored room: ${name} not a ${type}`);
  return value as T;
}

/** Decodes a StoredRoom from its JSON text (Redis values), checking every field's type. */
export function parseStoredRoom(json: string): StoredRoom {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new StoredRoomDecodeError('stored room: not JSON');
  }
  if (typeof value !== 'object' || value === null) {
    throw new StoredRoomDecodeError('stored room: not an object');
  }
  const v = value as Record<string, unknown>;
  return {
    name: field<string>(v.name, 'string', 'name'),
    sid: field<string>(v.sid, 'string', 'sid'),
    createdAtMs: field<number>(v.createdAtMs, 'number', 'createdAtMs'),
    emptyTimeoutS: field<number>(v.emptyTimeoutS, 'number', 'emptyTimeoutS'),
    departureTimeoutS: field<number>(v.departureTimeoutS, 'number', 'departureTimeoutS'),
    maxParticipants: field<number>(v.maxParticipants, 'number', 'maxParticipants'),
    metadata: field<string>(v.metadata, 'string', 'metadata'),
  };
}

/** Counts calls in progress and lets callers await the moment there are none. */
export class InFlight {
  private count = 0;
  private waiters: (() => void)[] = [];

  get size(): number {
    return this.count;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    this.count++;
    try {
      return await work();
    } finally {
      this.count--;
      if (this.count === 0 && this.waiters.length > 0) {
        const waiters = this.waiters;
        this.waiters = [];
        for (const wake of waiters) wake();
      }
    }
  }

  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
