/**
 * What one swarm seed runs: a cluster shape and timing knobs drawn within their documented
 * ranges (docs/configuration.md), from the seed alone, so `--seed N` rebuilds it exactly.
 */
import type { NodeOptions } from '@roomring/core';
import { ROOM_METADATA_BYTES_MAX } from '@roomring/protocol';
import type { SimNodeSpec } from '../cluster.js';
import { createSeededRandom, type SeededRandom } from '../random.js';

export interface Scenario {
  seed: number;
  nodes: SimNodeSpec[];
  regions: string[];
  options: Partial<NodeOptions> & { profile: 'test' };
  /** Per-node clock offset at start, ms, within +-0.4 x maxClockOffsetMs. */
  clockSkewsMs: Map<string, number>;
  latencyMsMin: number;
  latencyMsMax: number;
  /** Virtual ms of workload and faults before everything heals. */
  activeMs: number;
  /** Room names the workload uses (small, so names collide and get re-created). */
  names: string[];
  /** Per step: chance of an API call, of a fault starting. */
  opChance: number;
  faultChance: number;
}

const REGION_NAMES = ['us-east', 'us-west', 'eu-central', 'ap-south'];

/** A draw in [min, max], integers. */
function between(random: SeededRandom, min: number, max: number): number {
  return min + random.int(max - min + 1);
}

export function drawScenario(seed: number, limits?: { nodesMax?: number }): Scenario {
  const random = createSeededRandom(seed ^ 0x5eed_5a1f);
  const nodeCount = between(random, 3, Math.max(3, limits?.nodesMax ?? 12));
  const regionCount = between(random, 1, Math.min(4, nodeCount));
  const regions = REGION_NAMES.slice(0, regionCount);
  const nodes: SimNodeSpec[] = [];
  for (let i = 0; i < nodeCount; i++) {
    // Every region gets at least one node; the rest land anywhere.
    const region = i < regionCount ? regions[i]! : random.pick(regions);
    nodes.push({ nodeId: `n${i}-${region}`, region, weight: between(random, 1, 4) });
  }

  const heartbeatIntervalMs = between(random, 50, 200);
  const suspectAfterMs = heartbeatIntervalMs * between(random, 3, 5);
  const deadAfterMs = suspectAfterMs * between(random, 2, 3);
  // A quarter of the seeds collect tombstones quickly, so isolations outlast the TTL and the
  // GC-horizon rule runs; their TTL still follows docs/configuration.md (at least 12 sync
  // intervals + 2 sync timeouts: time for a delete to reach everyone while faults last).
  const shortTtl = random.chance(0.25);
  const syncIntervalMs = shortTtl ? between(random, 200, 500) : between(random, 200, 1_000);
  const syncTimeoutMs = shortTtl ? between(random, 1_000, 2_000) : between(random, 2_000, 5_000);
  const maxClockOffsetMs = between(random, 200, 1_000);
  const minAcks = nodeCount >= 5 && random.chance(0.3) ? 2 : 1;
  const replicationFanout = Math.min(nodeCount - 1, minAcks + between(random, 0, 2));
  const tombstoneTtlMs = shortTtl
    ? 12 * syncIntervalMs + 2 * syncTimeoutMs + between(random, 0, 3_000)
    : 60_000;
  const options: Scenario['options'] = {
    profile: 'test',
    heartbeatIntervalMs,
    suspectAfterMs,
    deadAfterMs,
    probeTimeoutMs: between(random, 100, 400),
    redialBaseMs: between(random, 20, 100),
    redialMaxMs: between(random, 300, 1_000),
    flushIntervalMs: between(random, 1, 10),
    batchRecordsMax: between(random, 16, 256),
    batchBytesMax: between(random, 4_096, 65_536),
    publishInFlightMax: between(random, 4, 64),
    syncIntervalMs,
    syncTimeoutMs,
    syncFrameBytesMax: between(random, 16_384, 131_072),
    bucketCount: random.pick([16, 64, 256]),
    minAcks,
    replicationFanout,
    defaultDeadlineMs: between(random, 500, 3_000),
    pendingWritesMax: between(random, 32, 512),
    retryAfterMs: 100,
    tombstoneTtlMs,
    maxClockOffsetMs,
    gcIntervalMs: between(random, 500, 2_000),
    lifecycleIntervalMs: between(random, 50, 200),
    // Fewer ring points than the default (2,048) keep the rebuild on every membership change
    // cheap enough for thousands of seeds; placement logic is the same at any count.
    ringPointsPerWeight: random.pick([32, 64, 128, 256]),
    // A quarter of the larger clusters run the large-cluster policy (mesh.ts): a few mesh
    // links per node, slower heartbeats, failure detection by the neighbours.
    ...(nodeCount >= 6 && random.chance(0.25)
      ? { meshFullMax: between(random, 3, 5), meshDegree: between(random, 3, 5) }
      : {}),
  };
  const clockSkewsMs = new Map<string, number>();
  for (const node of nodes) {
    clockSkewsMs.set(node.nodeId, Math.round((random.next() * 2 - 1) * 0.4 * maxClockOffsetMs));
  }
  const latencyMsMin = between(random, 1, 3);
  const nameCount = between(random, 4, 30);
  return {
    seed,
    nodes,
    regions,
    options,
    clockSkewsMs,
    latencyMsMin,
    latencyMsMax: latencyMsMin + between(random, 0, 8),
    // Long enough, with a short TTL, for a single node's isolation to outlast it.
    activeMs: shortTtl
      ? tombstoneTtlMs + between(random, 2_000, 6_000)
      : between(random, 4_000, 12_000),
    names: Array.from({ length: nameCount }, (_, i) => `room-${i}`),
    opChance: 0.2 + random.next() * 0.6,
    faultChance: 0.01 + random.next() * 0.04,
  };
}

/** Metadata sizes the workload writes: mostly small, sometimes at the limit. */
export function drawMetadata(random: SeededRandom, tag: string): string {
  const roll = random.next();
  if (roll < 0.8) return `${tag}`;
  if (roll < 0.95) return `${tag}:`.padEnd(between(random, 1_000, 20_000), 'm');
  return `${tag}:`.padEnd(ROOM_METADATA_BYTES_MAX, 'M');
}

export { between };
