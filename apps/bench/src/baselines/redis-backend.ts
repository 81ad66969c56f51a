/**
 * Redis storage as LiveKit's open-source multi-node mode: no local cache, every CreateRoom
 * is one Lua script on the shared Redis (get the stored room or store the new one, atomic
 * because Redis runs a script alone). The room is one key, `room:` + name, holding the room
 * as JSON. One ioredis connection: ioredis writes each command without waiting for earlier
 * replies, so concurrent calls pipeline on that socket.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { BackendOverloadedError } from './errors.js';
import { intOption } from './options.js';
import {
  type BackendStats,
  InFlight,
  newStoredRoom,
  parseStoredRoom,
  type RoomBackend,
  type RoomCreate,
  type StoredRoom,
} from './room.js';

/** Added round trip per script, spent before sending (ms). @see PgBackendInit.rttMs */
export const REDIS_RTT_MS_DEFAULT = 0;
/** Scripts in flight before shedding: 10,000 x ~500 B of pending command and reply = 5 MB. */
export const REDIS_IN_FLIGHT_MAX_DEFAULT = 10_000;
/** Key prefix: room names are untrusted, so they never form a key on their own. */
export const ROOM_KEY_PREFIX = 'room:';

// KEYS[1] = room key, ARGV[1] = the new room's JSON. Returns the stored JSON.
const GET_OR_CREATE_LUA = `
local stored = redis.call('GET', KEYS[1])
if stored then return stored end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`;

export interface RedisBackendInit {
  /** redis://127.0.0.1:port */
  url: string;
  /** Round-trip delay added per script (ms). @default REDIS_RTT_MS_DEFAULT (0) */
  rttMs?: number;
  /** Scripts in flight before new ones are refused (unavailable).
   *  @default REDIS_IN_FLIGHT_MAX_DEFAULT (10,000) */
  inFlightMax?: number;
  /** Wall clock for new rooms' creation time. @default Date.now */
  nowMs?: () => number;
}

/** The command ioredis adds with defineCommand (EVALSHA, falling back to EVAL once). */
interface RoomScript {
  roomGetOrCreate(key: string, json: string): Promise<string>;
}

class RedisRoomBackend implements RoomBackend {
  readonly kind = 'redis';
  private readonly inFlight = new InFlight();
  private dbQueries = 0;

  constructor(
    private readonly redis: Redis & RoomScript,
    private readonly rttMs: number,
    private readonly inFlightMax: number,
    private readonly nowMs: () => number,
  ) {}

  async getOrCreate(req: Readonly<RoomCreate>): Promise<StoredRoom> {
    if (this.inFlight.size >= this.inFlightMax) {
      throw new BackendOverloadedError(this.inFlight.size, this.inFlightMax);
    }
    return this.inFlight.run(async () => {
      const candidate = newStoredRoom(req, this.nowMs());
      const json = JSON.stringify(candidate);
      if (this.rttMs > 0) await sleep(this.rttMs);
      this.dbQueries++;
      const stored = await this.redis.roomGetOrCreate(ROOM_KEY_PREFIX + req.name, json);
      // Our own JSON back means we created it: no need to parse it again.
      return stored === json ? candidate : parseStoredRoom(stored);
    });
  }

  stats(): BackendStats {
    return {
      dbQueries: this.dbQueries,
      cacheHits: 0,
      cacheRooms: 0,
      poolWaiting: this.inFlight.size,
    };
  }

  drain(): Promise<void> {
    return this.inFlight.idle();
  }

  async close(): Promise<void> {
    await this.inFlight.idle();
    await this.redis.quit();
  }
}

/** Connects and loads the script; throws if Redis cannot be reached. */
export async function createRedisBackend(init: RedisBackendInit): Promise<RoomBackend> {
  const rttMs = intOption('rttMs', init.rttMs, REDIS_RTT_MS_DEFAULT, 0, 60_000);
  const inFlightMax = intOption(
    'inFlightMax',
    init.inFlightMax,
    REDIS_IN_FLIGHT_MAX_DEFAULT,
    1,
    1_000_000,
  );
  // lazyConnect so a refused connection rejects here instead of retrying forever; one retry
  // per request at most afterwards (ioredis's default 20 would hold requests for seconds).
  const redis = new Redis(init.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {}); // reported through the failed commands; keeps the process up
  redis.defineCommand('roomGetOrCreate', { numberOfKeys: 1, lua: GET_OR_CREATE_LUA });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  return new RedisRoomBackend(
    redis as Redis & RoomScript,
    rttMs,
    inFlightMax,
    init.nowMs ?? Date.now,
  );
}
