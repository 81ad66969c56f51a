/**
 * What the part-level tests share (issue #12): each part of a registry node is built on its
 * own, with a config from the `test` profile, a real store on the test's virtual clock and
 * small hosts that record what the part asks of them, instead of through a RegistryCore.
 */
import {
  type NodeConfig,
  type NodeOptionsInput,
  type Runtime,
  resolveConfig,
} from '@roomring/core';
import { createRoomStore, type RoomStore } from '@roomring/store';
import { createSeededRandom, type VirtualTime } from '../../src/index.js';

/** A node's config: the `test` profile, region us-east unless given. 64 ring points per
 *  weight (not 2,048) keep the ring rebuilds of a 9-member view cheap; placement only
 *  needs every node to use the same value. */
export function partConfig(
  options: Omit<NodeOptionsInput, 'region'> & { region?: string },
): NodeConfig {
  return resolveConfig({ region: 'us-east', profile: 'test', ringPointsPerWeight: 64, ...options });
}

/** The runtime a part takes: the virtual clock and timers, a seeded random. */
export function runtimeOn(time: VirtualTime, seed: number): Runtime {
  return { clock: time, timers: time, random: createSeededRandom(seed) };
}

/**
 * A store as the registry builds it from `config`, on the virtual clock moved by `skewMs`
 * (a node whose clock is behind creates incarnations that sort first). `seed` must differ per
 * store: two stores drawing the same sids would conflict on identity.
 */
export function storeOf(
  config: NodeConfig,
  time: VirtualTime,
  seed: number,
  skewMs = 0,
): RoomStore {
  return createRoomStore({
    nodeId: config.nodeId,
    clock: { nowMs: () => time.nowMs() + skewMs },
    random: createSeededRandom(seed),
    bucketCount: config.bucketCount,
    tombstoneTtlMs: config.tombstoneTtlMs,
    maxClockOffsetMs: config.maxClockOffsetMs,
  });
}
