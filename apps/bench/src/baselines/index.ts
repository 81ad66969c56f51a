/**
 * Database-backed baseline servers for the benchmarks (issue #6): LiveKit's Twirp CreateRoom
 * over PostgreSQL with a per-region cache (the incident's design) or over Redis (LiveKit's
 * open-source multi-node mode).
 */
import { fileURLToPath } from 'node:url';

export {
  BackendOverloadedError,
  RequestTimeoutError,
  StatementTimeoutError,
  StoredRoomDecodeError,
} from './errors.js';
export { BaselineConfigError } from './options.js';
export {
  CACHE_ROOMS_MAX_DEFAULT,
  createPgBackend,
  ensureSchema,
  type PgBackend,
  type PgBackendInit,
  POOL_SIZE_DEFAULT,
  POOL_WAIT_MAX_DEFAULT,
  RTT_MS_DEFAULT,
  STATEMENT_TIMEOUT_MS_DEFAULT,
  seedRooms,
} from './pg-backend.js';
export {
  createRedisBackend,
  REDIS_IN_FLIGHT_MAX_DEFAULT,
  type RedisBackendInit,
  ROOM_KEY_PREFIX,
} from './redis-backend.js';
export type { BackendStats, RoomBackend, RoomCreate, StoredRoom } from './room.js';
export {
  type BaselineAppInit,
  type BaselineStats,
  buildBaselineApp,
  REQUEST_TIMEOUT_MS_DEFAULT,
} from './twirp-app.js';

/** Absolute path of the process entry; spawn it with
 *  `node --conditions=@roomring/source --import tsx <BASELINE_MAIN> --backend pg ...`. */
export const BASELINE_MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
