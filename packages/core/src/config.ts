/**
 * Every option of a registry node: unit in the name, default as a named constant, the
 * trade-off in the comment. `resolveConfig` validates and freezes; a bad option is a
 * ConfigError naming it. Profiles (memberlist's LAN/WAN/Local idea) give coherent sets of
 * timings; explicit options override the profile. docs/configuration.md mirrors this file.
 */
import {
  BATCH_RECORD_BYTES_MAX,
  BATCH_RECORDS_MAX,
  BUCKET_COUNT_MAX,
  FRAME_RECORD_BYTES_MAX,
  WEIGHT_MAX,
} from '@roomring/protocol';
import {
  DEFAULT_POINTS_PER_WEIGHT,
  POINTS_PER_DIGEST,
  POINTS_PER_WEIGHT_MAX,
} from '@roomring/ring';
import { ConfigError } from './errors.js';

export type ProfileName = 'lan' | 'wan' | 'local' | 'test';

export interface NodeOptions {
  // --- identity
  /** Unique, stable id of this node in the cluster (1..128 bytes). Required. */
  nodeId: string;
  /** Region this node serves; rooms created here get it as their home region. Required. */
  region: string;
  /** Capacity relative to other nodes of its region (ring points scale with it). @default 1 */
  weight: number;
  /** URL of this node's HTTP API, published in heartbeats for the admin API. @default '' */
  httpUrl: string;
  /** `host:port` of other nodes to join through; re-dialled with back-off. @default [] */
  seeds: readonly string[];
  /** Region failover order for placement; empty = regions sorted by name, wrapping. */
  failoverOrder: readonly string[];
  /** Ring points per unit of weight (every node of a cluster must use the same value: it
   *  is part of the placement function). More points balance load closer to the weights
   *  (2,048: max/mean <= 1.1 with 10 members) but cost more to build on every membership
   *  change: ~2,048 x weight / 4 md5 digests per member. @default 2048 */
  ringPointsPerWeight: number;

  // --- membership (DESIGN.md section 6, docs/protocol/membership.md)
  /** Heartbeat period. Smaller detects failures sooner but costs members x 1/interval
   *  messages per second per node. @default 1000 */
  heartbeatIntervalMs: number;
  /** Silence after which a member is suspect (stays in the rings). Must exceed two
   *  heartbeats so one lost heartbeat is harmless. @default 3000 */
  suspectAfterMs: number;
  /** Silence after which a member is dead and leaves the rings (its rooms move), once other
   *  members confirm the suspicion; unconfirmed, the suspicion period (deadAfterMs -
   *  suspectAfterMs) stretches up to SUSPICION_STRETCH_MAX times, and local health
   *  multiplies both (docs/protocol/membership.md, "Failure detector"). Longer rides out GC
   *  pauses and brief partitions; shorter fails over sooner. @default 6000 */
  deadAfterMs: number;
  /** Deadline of the dial that probes a member whose connection dropped: a refused probe
   *  declares it dead at once (a killed process); a timed-out one (a paused or overloaded
   *  process does not finish the handshake) keeps it suspect for silence to decide.
   *  @default 1000 */
  probeTimeoutMs: number;
  /** First re-dial delay for seeds and lost members; doubles per failure. @default 500 */
  redialBaseMs: number;
  /** Cap of the re-dial back-off: how long a healed partition may stay unnoticed.
   *  @default 10000 */
  redialMaxMs: number;
  /** How long a dead or left member is remembered (to refuse its stale heartbeats).
   *  @default 3600000 */
  deadMemberRetentionMs: number;
  /** Members tracked at most; heartbeats from further unknown nodes are ignored.
   *  @default 1024 */
  membersMax: number;
  /** Members (self included) up to which every node connects to every other and hears every
   *  heartbeat each interval: N - 1 connections and N heartbeats per interval per node. Past
   *  it the large-cluster policy applies (docs/protocol/membership.md): meshDegree dialled
   *  connections, heartbeats published every heartbeatIntervalMs x ceil(N / meshFullMax),
   *  and failure detection by the neighbours. @default 32 */
  meshFullMax: number;
  /** Connections each node keeps past meshFullMax, on average: its 2 ring neighbours and
   *  meshDegree - 2 chords (mesh.ts). More: more paths for gossip and a smaller diameter,
   *  more pings per interval. @default 8 */
  meshDegree: number;

  // --- replication (DESIGN.md section 7, docs/protocol/replication.md)
  /** Gossip flush period: the latency floor of the fast path. Smaller sends more, smaller
   *  messages. @default 5 */
  flushIntervalMs: number;
  /** A batch is flushed early when it holds this many records. @default 1000 */
  batchRecordsMax: number;
  /** ...or when its estimated encoded size reaches this (<= BATCH_RECORD_BYTES_MAX).
   *  @default 262144 (256 KiB) */
  batchBytesMax: number;
  /** Gossip publishes awaiting the transport; past it a batch is dropped (counted) and
   *  anti-entropy repairs the loss. @default 64 */
  publishInFlightMax: number;

  // --- anti-entropy (docs/protocol/sync.md)
  /** Period of a sync session with one random peer. Bounds how long a dropped gossip
   *  message stays missing. @default 5000 */
  syncIntervalMs: number;
  /** Deadline of each request of a sync session (one summary stream, one record pull); the
   *  digest exchange gets min(syncTimeoutMs, 4 x probeTimeoutMs). @default 30000 */
  syncTimeoutMs: number;
  /** Size bound of one sync frame, records or summaries (<= FRAME_RECORD_BYTES_MAX, 768 KiB).
   *  A frame of records is never smaller than one largest record (RECORD_BYTES_MAX, 65 KiB).
   *  @default 524288 (512 KiB) */
  syncFrameBytesMax: number;
  /** Sync sessions served at once; more are refused with `overloaded`. @default 4 */
  syncServeMax: number;
  /** Sync sessions this node runs at once; more wait for a slot. One keeps a joining node
   *  from pulling every room from every peer at once. @default 1 */
  syncOutboundMax: number;
  /** Digest buckets (power of two). More buckets send fewer records per difference but a
   *  bigger digest (8 B each). @default 4096 */
  bucketCount: number;

  // --- durable writes
  /** Other nodes that must hold a write before it is acknowledged (P4). 0 acknowledges
   *  local writes at once (single-node development only). @default 1 */
  minAcks: number;
  /** Partners a write is sent to; more than minAcks so one slow partner does not stall
   *  the write. @default minAcks + 1 */
  replicationFanout: number;
  /** Deadline used when a call gives none. @default 5000 */
  defaultDeadlineMs: number;
  /** Writes waiting for acks at once; past it writes fail fast with `OverloadedError`.
   *  @default 10000 */
  pendingWritesMax: number;
  /** Retry-After suggested when a write could not be acknowledged. @default 1000 */
  retryAfterMs: number;

  // --- store
  /** How long tombstones are kept. Half of it is the isolation after which a node resyncs
   *  instead of serving its old state (GC-horizon rule, isolationAfterMs). @default 3600000 (1 h) */
  tombstoneTtlMs: number;
  /** Remote clocks further ahead than this are rejected (counted), not adopted.
   *  @default 500 */
  maxClockOffsetMs: number;
  /** Every bucket is swept for expired tombstones once per period, in slices on each
   *  lifecycle tick (a whole 1M-room sweep at once blocks ~0.2 s). @default 60000 */
  gcIntervalMs: number;

  // --- lifecycle (docs/architecture.md, room lifecycle)
  /** Period of the owner's expiry sweep (empty/departure timeouts). @default 1000 */
  lifecycleIntervalMs: number;
  /** Rooms nobody reports stats for are removed this long after creation; 0 = never.
   *  @default 0 */
  unreportedRoomTtlMs: number;
  /** Rooms nobody reports stats for are removed `emptyTimeoutS` after creation, as LiveKit
   *  closes a room nobody joined (the HTTP server turns it on; an embedding media server
   *  that reports stats has no unreported rooms). Takes precedence over
   *  unreportedRoomTtlMs. @default false */
  unreportedRoomsUseEmptyTimeout: boolean;
  /** Rooms examined per lifecycle tick and per ownership-scan step (the ownership scan at
   *  most OWNERSHIP_SCAN_STEP_ROOMS), so a 1M-room scan never blocks the event loop for long.
   *  @default 20000 */
  scanBatchMax: number;
}

export type NodeConfig = Readonly<NodeOptions & { profile: ProfileName }>;

type Timings = Pick<
  NodeOptions,
  | 'heartbeatIntervalMs'
  | 'suspectAfterMs'
  | 'deadAfterMs'
  | 'probeTimeoutMs'
  | 'redialBaseMs'
  | 'redialMaxMs'
  | 'flushIntervalMs'
  | 'syncIntervalMs'
  | 'maxClockOffsetMs'
>;

/** Each profile with the reason for it. */
export const PROFILES: Readonly<Record<ProfileName, Readonly<Partial<NodeOptions>>>> = {
  /** One data centre or regions on a fast backbone: the defaults. */
  lan: {},
  /** Regions over the public internet: ~100 ms RTTs and lossier links, so slower failure
   *  detection (fewer false deaths) and more clock slack. */
  wan: {
    heartbeatIntervalMs: 2_000,
    suspectAfterMs: 8_000,
    deadAfterMs: 15_000,
    probeTimeoutMs: 3_000,
    redialMaxMs: 30_000,
    flushIntervalMs: 10,
    syncIntervalMs: 10_000,
    maxClockOffsetMs: 1_000,
  } satisfies Partial<Timings>,
  /** Every node on one machine (development, `pnpm start`): fast detection is cheap. */
  local: {
    heartbeatIntervalMs: 500,
    suspectAfterMs: 1_500,
    deadAfterMs: 3_000,
    probeTimeoutMs: 500,
    redialBaseMs: 200,
    redialMaxMs: 2_000,
    flushIntervalMs: 2,
    syncIntervalMs: 2_000,
  } satisfies Partial<Timings>,
  /** Tiny limits and fast timers so tests hit every bound quickly. */
  test: {
    heartbeatIntervalMs: 100,
    suspectAfterMs: 350,
    deadAfterMs: 700,
    probeTimeoutMs: 200,
    redialBaseMs: 50,
    redialMaxMs: 500,
    flushIntervalMs: 2,
    batchRecordsMax: 64,
    batchBytesMax: 16_384,
    publishInFlightMax: 8,
    syncIntervalMs: 500,
    syncTimeoutMs: 5_000,
    syncFrameBytesMax: 16_384,
    syncServeMax: 2,
    bucketCount: 64,
    defaultDeadlineMs: 2_000,
    pendingWritesMax: 256,
    retryAfterMs: 100,
    gcIntervalMs: 1_000,
    lifecycleIntervalMs: 100,
    scanBatchMax: 500,
  },
};

export const DEFAULTS: Readonly<Omit<NodeOptions, 'nodeId' | 'region' | 'replicationFanout'>> = {
  weight: 1,
  ringPointsPerWeight: DEFAULT_POINTS_PER_WEIGHT,
  httpUrl: '',
  seeds: [],
  failoverOrder: [],
  heartbeatIntervalMs: 1_000,
  suspectAfterMs: 3_000,
  deadAfterMs: 6_000,
  probeTimeoutMs: 1_000,
  redialBaseMs: 500,
  redialMaxMs: 10_000,
  deadMemberRetentionMs: 3_600_000,
  membersMax: 1_024,
  meshFullMax: 32,
  meshDegree: 8,
  flushIntervalMs: 5,
  batchRecordsMax: 1_000,
  batchBytesMax: 262_144,
  publishInFlightMax: 64,
  syncIntervalMs: 5_000,
  syncTimeoutMs: 30_000,
  syncFrameBytesMax: 524_288,
  syncServeMax: 4,
  syncOutboundMax: 1,
  bucketCount: 4_096,
  minAcks: 1,
  defaultDeadlineMs: 5_000,
  pendingWritesMax: 10_000,
  retryAfterMs: 1_000,
  tombstoneTtlMs: 3_600_000,
  maxClockOffsetMs: 500,
  gcIntervalMs: 60_000,
  lifecycleIntervalMs: 1_000,
  unreportedRoomTtlMs: 0,
  unreportedRoomsUseEmptyTimeout: false,
  scanBatchMax: 20_000,
};

export type NodeOptionsInput = Partial<NodeOptions> &
  Pick<NodeOptions, 'nodeId' | 'region'> & { profile?: ProfileName };

const utf8 = new TextEncoder();

function positiveInteger(options: NodeOptions, key: keyof NodeOptions, min = 1): void {
  const value = options[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(key, `must be an integer >= ${min}, got ${String(value)}`);
  }
}

function identifier(options: NodeOptions, key: 'nodeId' | 'region', maxBytes: number): void {
  const value = options[key];
  if (typeof value !== 'string' || value.length === 0) {
    throw new ConfigError(key, 'is required');
  }
  if (utf8.encode(value).length > maxBytes) {
    throw new ConfigError(key, `must be at most ${maxBytes} UTF-8 bytes`);
  }
}

/**
 * Silence from every member after which a node counts as cut off: it refuses writes and
 * sync, and resyncs on its first contact (GC-horizon rule, docs/protocol/sync.md). Half the
 * tombstone TTL, not all of it: what the others deleted while it was away must still reach
 * it by anti-entropy before they collect the tombstone, so after a silence just under this
 * a node has at least half the TTL (>= ~6 sync intervals + a sync timeout, by the TTL's
 * documented floor) to get it. Counted from the whole TTL, a node deaf 6.3 s with a 6.4 s
 * TTL came back without a resync, the others collected a tombstone 330 ms later, and its
 * live copy of the room spread back (swarm seed 31767).
 */
export function isolationAfterMs(config: Pick<NodeConfig, 'tombstoneTtlMs'>): number {
  return Math.floor(config.tombstoneTtlMs / 2);
}

/** Merges profile, defaults and options; validates; returns a frozen config. */
export function resolveConfig(input: NodeOptionsInput): NodeConfig {
  const profile = input.profile ?? 'lan';
  if (!(profile in PROFILES)) throw new ConfigError('profile', `unknown profile ${profile}`);
  const defined = Object.fromEntries(
    Object.entries(input).filter(([, v]) => v !== undefined),
  ) as NodeOptionsInput;
  const merged = { ...DEFAULTS, ...PROFILES[profile], ...defined } as NodeOptions;
  merged.replicationFanout = input.replicationFanout ?? Math.max(merged.minAcks + 1, 1);

  identifier(merged, 'nodeId', 128);
  identifier(merged, 'region', 64);
  for (const key of Object.keys(DEFAULTS) as (keyof NodeOptions)[]) {
    if (typeof DEFAULTS[key as keyof typeof DEFAULTS] === 'number') {
      positiveInteger(merged, key, key === 'minAcks' || key === 'unreportedRoomTtlMs' ? 0 : 1);
    }
  }
  positiveInteger(merged, 'replicationFanout', merged.minAcks);
  if (merged.suspectAfterMs < 2 * merged.heartbeatIntervalMs) {
    throw new ConfigError('suspectAfterMs', 'must be at least two heartbeat intervals');
  }
  if (merged.deadAfterMs <= merged.suspectAfterMs) {
    throw new ConfigError('deadAfterMs', 'must be greater than suspectAfterMs');
  }
  if (merged.meshFullMax < 2) throw new ConfigError('meshFullMax', 'must be at least 2');
  if (typeof merged.unreportedRoomsUseEmptyTimeout !== 'boolean') {
    throw new ConfigError('unreportedRoomsUseEmptyTimeout', 'must be true or false');
  }
  if (merged.redialMaxMs < merged.redialBaseMs) {
    throw new ConfigError('redialMaxMs', 'must be at least redialBaseMs');
  }
  const atMost = (key: keyof NodeOptions, max: number, why: string): void => {
    if ((merged[key] as number) > max)
      throw new ConfigError(key, `must be at most ${max} (${why})`);
  };
  atMost('weight', WEIGHT_MAX, 'WEIGHT_MAX');
  atMost('ringPointsPerWeight', POINTS_PER_WEIGHT_MAX, 'POINTS_PER_WEIGHT_MAX');
  if (merged.ringPointsPerWeight % POINTS_PER_DIGEST !== 0) {
    throw new ConfigError('ringPointsPerWeight', `must be a multiple of ${POINTS_PER_DIGEST}`);
  }
  atMost('batchRecordsMax', BATCH_RECORDS_MAX, 'BATCH_RECORDS_MAX');
  atMost('batchBytesMax', BATCH_RECORD_BYTES_MAX, 'BATCH_RECORD_BYTES_MAX');
  atMost('syncFrameBytesMax', FRAME_RECORD_BYTES_MAX, 'FRAME_RECORD_BYTES_MAX');
  atMost('bucketCount', BUCKET_COUNT_MAX, 'BUCKET_COUNT_MAX');
  if ((merged.bucketCount & (merged.bucketCount - 1)) !== 0) {
    throw new ConfigError('bucketCount', 'must be a power of two');
  }
  if (!Array.isArray(merged.seeds) || merged.seeds.some((s) => typeof s !== 'string' || !s)) {
    throw new ConfigError('seeds', 'must be a list of host:port strings');
  }
  return Object.freeze({
    ...merged,
    seeds: Object.freeze([...merged.seeds]),
    failoverOrder: Object.freeze([...merged.failoverOrder]),
    profile,
  });
}
