/**
 * PostgreSQL storage as the incident's design (incident-report.txt, Root Cause Analysis):
 * each region's server keeps an in-memory cache of rooms in front of ONE database shared by
 * every region. A cache hit answers from memory; a miss costs a get-or-create statement.
 * After a region fails, its clients land on a survivor whose cache lacks their rooms, so
 * every one of their CreateRoom calls becomes a query: 10x the usual DB load in the report.
 *
 * A remote shared database is imitated on loopback by `rttMs`: the delay is spent while
 * HOLDING the pool connection, so a pool of 10 at 5 ms RTT serves at most 10 / 5 ms = 2,000
 * queries/s however fast the local PostgreSQL is, the saturation a real remote one shows.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { BackendOverloadedError, StatementTimeoutError } from './errors.js';
import { intOption } from './options.js';
import {
  type BackendStats,
  DEPARTURE_TIMEOUT_S_DEFAULT,
  EMPTY_TIMEOUT_S_DEFAULT,
  InFlight,
  newSid,
  newStoredRoom,
  type RoomBackend,
  type RoomCreate,
  type StoredRoom,
} from './room.js';

/** Connections per server. 10 is node-postgres's own default and a common production pick. */
export const POOL_SIZE_DEFAULT = 10;
/** No added round trip: loopback PostgreSQL (~0.1 ms). A cross-region database is 5-70 ms. */
export const RTT_MS_DEFAULT = 0;
/** statement_timeout off (0). The incident's remediation 1 is to set it below the API's own
 *  timeout so a query the caller has given up on stops using the database. */
export const STATEMENT_TIMEOUT_MS_DEFAULT = 0;
/** Calls waiting for a connection before new ones are refused (unavailable). 10,000 waiters
 *  at 10 connections x 1 ms per query is 1 s of backlog; with rttMs 50 it is 50 s, far past
 *  any request timeout, which is the point: it bounds memory, not latency. */
export const POOL_WAIT_MAX_DEFAULT = 10_000;
/** Cached rooms per server: 1,000,000 x ~300 B = ~300 MB at most. 0 = no cache. */
export const CACHE_ROOMS_MAX_DEFAULT = 1_000_000;
/** Rows per page when warming the cache: 10,000 x ~200 B = 2 MB per result. */
export const WARM_PAGE_ROWS = 10_000;
/** Rows per INSERT in seedRooms: 5,000 x 2 arrays of ~40 B = ~400 KB of parameters. */
export const SEED_BATCH_ROWS = 5_000;

/** PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout (query_canceled). */
const SQLSTATE_QUERY_CANCELED = '57014';

export interface PgBackendInit {
  /** postgres://user@127.0.0.1:port/db, the database every region's server shares. */
  url: string;
  /** Pool connections. @default POOL_SIZE_DEFAULT (10) */
  poolSize?: number;
  /** Round-trip delay added per query while holding the connection (ms). @default 0 */
  rttMs?: number;
  /** PostgreSQL statement_timeout (ms), 0 = off. @default 0 */
  statementTimeoutMs?: number;
  /** Calls waiting for a connection before shedding. @default POOL_WAIT_MAX_DEFAULT (10,000) */
  poolWaitMax?: number;
  /** Rooms in the in-memory cache, oldest insertion evicted; 0 = no cache.
   *  @default CACHE_ROOMS_MAX_DEFAULT (1,000,000) */
  cacheRoomsMax?: number;
  /** Wall clock for new rooms' creation time. @default Date.now */
  nowMs?: () => number;
}

export interface PgBackend extends RoomBackend {
  readonly kind: 'pg';
  /** Loads every stored room whose name starts with `prefix` into the cache (up to
   *  cacheRoomsMax); returns how many. Not counted in dbQueries. */
  warmCache(prefix: string): Promise<number>;
}

const COLUMNS =
  'name, sid, created_at_ms, empty_timeout, departure_timeout, max_participants, metadata';

// One statement, one round trip: insert unless present, then return whichever row holds the
// name. Prepared once per connection (named query): parse and plan are paid once.
const GET_OR_CREATE = {
  name: 'roomring_baseline_get_or_create',
  text:
    `WITH ins AS (INSERT INTO rooms (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) ` +
    `ON CONFLICT (name) DO NOTHING RETURNING ${COLUMNS}) ` +
    `SELECT ${COLUMNS} FROM ins UNION ALL SELECT ${COLUMNS} FROM rooms WHERE name = $1 LIMIT 1`,
};

interface RoomRow {
  name: string;
  sid: string;
  /** bigint arrives as a string from node-postgres. */
  created_at_ms: string;
  empty_timeout: number;
  departure_timeout: number;
  max_participants: number;
  metadata: string;
}

function fromRow(row: RoomRow): StoredRoom {
  return {
    name: row.name,
    sid: row.sid,
    createdAtMs: Number(row.created_at_ms),
    emptyTimeoutS: row.empty_timeout,
    departureTimeoutS: row.departure_timeout,
    maxParticipants: row.max_participants,
    metadata: row.metadata,
  };
}

function isStatementTimeout(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { code?: unknown }).code === SQLSTATE_QUERY_CANCELED
  );
}

class PgRoomBackend implements PgBackend {
  readonly kind = 'pg';
  private readonly pool: pg.Pool;
  private readonly cache = new Map<string, StoredRoom>();
  private readonly inFlight = new InFlight();
  private dbQueries = 0;
  private cacheHits = 0;

  constructor(
    url: string,
    private readonly poolSize: number,
    private readonly rttMs: number,
    private readonly statementTimeoutMs: number,
    private readonly poolWaitMax: number,
    private readonly cacheRoomsMax: number,
    private readonly nowMs: () => number,
  ) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs } : {}),
    });
    // An idle connection's error (database restarted) must not crash the server: the pool
    // drops that client and the next query opens a new one.
    this.pool.on('error', () => {});
  }

  async connect(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async getOrCreate(req: Readonly<RoomCreate>): Promise<StoredRoom> {
    const cached = this.cache.get(req.name);
    if (cached) {
      this.cacheHits++;
      return cached;
    }
    // No coalescing of concurrent misses of one name: the incident's design did not, so N
    // clients retrying the same room send N queries, the amplification the report describes.
    // Calls past the pool's connections are the ones that will wait for one.
    const waiting = this.inFlight.size - this.poolSize;
    if (waiting >= this.poolWaitMax) throw new BackendOverloadedError(waiting, this.poolWaitMax);
    return this.inFlight.run(() => this.query(req));
  }

  private async query(req: Readonly<RoomCreate>): Promise<StoredRoom> {
    const candidate = newStoredRoom(req, this.nowMs());
    const values = [
      candidate.name,
      candidate.sid,
      candidate.createdAtMs,
      candidate.emptyTimeoutS,
      candidate.departureTimeoutS,
      candidate.maxParticipants,
      candidate.metadata,
    ];
    const client = await this.pool.connect();
    let room: StoredRoom | undefined;
    try {
      if (this.rttMs > 0) await sleep(this.rttMs);
      // Twice at most: when another server inserts the name after this statement's snapshot
      // was taken, ON CONFLICT waits for it and does nothing, and the SELECT (same snapshot)
      // misses the row. A second statement takes a new snapshot and sees it.
      for (let attempt = 0; attempt < 2 && room === undefined; attempt++) {
        this.dbQueries++;
        const result = await client.query<RoomRow>({ ...GET_OR_CREATE, values });
        const row = result.rows[0];
        if (row) room = fromRow(row);
      }
    } catch (error) {
      if (isStatementTimeout(error)) throw new StatementTimeoutError(this.statementTimeoutMs);
      throw error;
    } finally {
      client.release();
    }
    if (room === undefined) throw new Error(`get-or-create of a room returned no row twice`);
    this.remember(room);
    return room;
  }

  private remember(room: StoredRoom): void {
    if (this.cacheRoomsMax === 0) return;
    if (this.cache.size >= this.cacheRoomsMax && !this.cache.has(room.name)) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(room.name, room);
  }

  async warmCache(prefix: string): Promise<number> {
    if (this.cacheRoomsMax === 0) return 0;
    let loaded = 0;
    let after = '';
    // Keyset pages in name order: the primary key index serves `name > $2 ORDER BY name`.
    while (loaded < this.cacheRoomsMax) {
      const result = await this.pool.query<RoomRow>(
        `SELECT ${COLUMNS} FROM rooms WHERE name > $2 AND starts_with(name, $1) ` +
          `ORDER BY name LIMIT $3`,
        [prefix, after, Math.min(WARM_PAGE_ROWS, this.cacheRoomsMax - loaded)],
      );
      for (const row of result.rows) this.remember(fromRow(row));
      loaded += result.rows.length;
      const last = result.rows.at(-1);
      if (last === undefined || result.rows.length < WARM_PAGE_ROWS) break;
      after = last.name;
    }
    return loaded;
  }

  stats(): BackendStats {
    return {
      dbQueries: this.dbQueries,
      cacheHits: this.cacheHits,
      cacheRooms: this.cache.size,
      poolWaiting: this.pool.waitingCount,
    };
  }

  drain(): Promise<void> {
    return this.inFlight.idle();
  }

  async close(): Promise<void> {
    await this.inFlight.idle();
    await this.pool.end();
  }
}

/** Opens the pool and checks the database answers; throws if it cannot connect. */
export async function createPgBackend(init: PgBackendInit): Promise<PgBackend> {
  const backend = new PgRoomBackend(
    init.url,
    intOption('poolSize', init.poolSize, POOL_SIZE_DEFAULT, 1, 1_000),
    intOption('rttMs', init.rttMs, RTT_MS_DEFAULT, 0, 60_000),
    intOption(
      'statementTimeoutMs',
      init.statementTimeoutMs,
      STATEMENT_TIMEOUT_MS_DEFAULT,
      0,
      3_600_000,
    ),
    intOption('poolWaitMax', init.poolWaitMax, POOL_WAIT_MAX_DEFAULT, 0, 1_000_000),
    intOption('cacheRoomsMax', init.cacheRoomsMax, CACHE_ROOMS_MAX_DEFAULT, 0, 100_000_000),
    init.nowMs ?? Date.now,
  );
  try {
    await backend.connect();
  } catch (error) {
    await backend.close().catch(() => {});
    throw error;
  }
  return backend;
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates the `rooms` table if absent. Run once before starting servers: concurrent
 *  CREATE TABLE IF NOT EXISTS from several processes can still collide in the catalog. */
export async function ensureSchema(url: string): Promise<void> {
  await withClient(url, (client) =>
    client.query(
      `CREATE TABLE IF NOT EXISTS rooms (
        name text PRIMARY KEY,
        sid text NOT NULL,
        created_at_ms bigint NOT NULL,
        empty_timeout int NOT NULL,
        departure_timeout int NOT NULL,
        max_participants int NOT NULL,
        metadata text NOT NULL
      )`,
    ),
  );
}

/** Inserts a room for each name not stored yet (LiveKit defaults, new sids), SEED_BATCH_ROWS
 *  per statement through unnest; returns how many rows were inserted. */
export async function seedRooms(
  url: string,
  names: readonly string[],
  nowMs: () => number = Date.now,
): Promise<number> {
  return withClient(url, async (client) => {
    let inserted = 0;
    for (let start = 0; start < names.length; start += SEED_BATCH_ROWS) {
      const batch = names.slice(start, start + SEED_BATCH_ROWS);
      const sids = batch.map(() => newSid());
      const result = await client.query(
        `INSERT INTO rooms (${COLUMNS})
         SELECT n, s, $3, $4, $5, 0, '' FROM unnest($1::text[], $2::text[]) AS t(n, s)
         ON CONFLICT (name) DO NOTHING`,
        [batch, sids, nowMs(), EMPTY_TIMEOUT_S_DEFAULT, DEPARTURE_TIMEOUT_S_DEFAULT],
      );
      inserted += result.rowCount ?? 0;
    }
    return inserted;
  });
}
