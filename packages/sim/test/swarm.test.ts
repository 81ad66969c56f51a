/**
 * The swarm's own machinery (its CI run of 200 seeds is a separate step of .ci/run, see
 * `pnpm sim:swarm`): a few seeds run clean, a seed replays exactly, and the checker catches
 * what it is meant to catch.
 */

import { AntiEntropy, RegistryCore, resolveConfig } from '@roomring/core';
import type { RoomRecord } from '@roomring/protocol';
import { createRoomStore } from '@roomring/store';
import { describe, expect, it } from 'vitest';
import { convergenceBoundMs, runSeed } from '../src/swarm/run.js';
import { drawScenario } from '../src/swarm/scenario.js';

describe('swarm', () => {
  it('draws clusters within the issue ranges: 3-12 nodes over 1-4 regions', () => {
    const sizes = new Set<number>();
    const regions = new Set<number>();
    for (let seed = 1; seed <= 300; seed++) {
      const s = drawScenario(seed);
      expect(s.nodes.length).toBeGreaterThanOrEqual(3);
      expect(s.nodes.length).toBeLessThanOrEqual(12);
      expect(s.regions.length).toBeGreaterThanOrEqual(1);
      expect(s.regions.length).toBeLessThanOrEqual(Math.min(4, s.nodes.length));
      // Every drawn config is one the node accepts.
      expect(() => resolveConfig({ nodeId: 'x', region: 'r', ...s.options })).not.toThrow();
      sizes.add(s.nodes.length);
      regions.add(s.regions.length);
    }
    expect([...sizes].sort((a, b) => a - b)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect([...regions].sort()).toEqual([1, 2, 3, 4]);
  });

  it('runs clean the seeds the long runs found failing', async () => {
    // 10,000-seed runs: 559, 706, 759, 944, 1273, 1334, 2648 (resync after isolation), 698,
    // 1291 (checker: a first-writer loser), 725 (a tombstone past the GC horizon accepted
    // by some nodes only), 1783 (a forged heartbeat binding a member to the wrong peer),
    // 1986 (heartbeats read late after a pause hid a cut longer than the TTL), 3472 and 4411
    // (back-to-back cuts adding up past the TTL: the generator; and an ack of a deleted room),
    // 8882 (a node heard a member only through a stopped mesh peer: the simulator had no lazy
    // gossip). 1273 again once the simulator had it: an update in flight outlived the
    // tombstone of its room (collected by the delete's stamp, not the last write's). 979: a
    // resync forgot a fresh record its witness had not heard of yet. 3021: a change made
    // while cut off reached peers by IWANT after the heal, its room's tombstone collected.
    // 7431: a delete made while cut off spread after the heal and was collected before it
    // reached every node. 1799: a delete kept out of gossip because its partners were every
    // ring member, while a node declared dead but still connected (cut off one way) needed it.
    // 559 again once the swarm checked hosting: a visible room a resync forgot stayed hosted.
    // 5065: a delete kept out of gossip because its partners were every connected peer, while
    // a ring member whose links were down got it only by anti-entropy, after the tombstone's GC.
    // 8075: the lone survivor of a regional outage was killed 1.8 s after it served again, and
    // the nodes restarted empty had deferred the bucket holding its acknowledged room.
    // 7292 (the generator): a pause, then a pause and a partition, missed a delete for longer
    // than the TTL; pauses now count in a node's deaf chain, as cuts do. 2717 (the checker): a
    // node that heard nobody past the TTL saw its own unacknowledged delete undone by its resync.
    // 20716: in a large cluster, non-neighbours announced and confirmed each other's silence of
    // a node whose heartbeats only its neighbours heard (a split gossip mesh) and declared it
    // dead. 21122 (the checker): as 2717, alone because one peer was stopped and the other
    // killed. 24449: in a large cluster everyone adopted a member's forged notice of another
    // at MAX_SAFE_INTEGER, which the subject could not refute. 37814: a resync kept a room it
    // should have forgotten (the kept-after bound had maxClockOffsetMs the wrong way round).
    // 31681 (minAcks 2): a node answered CreateRoom with a room it alone held (its creator's
    // write had failed and the creator was killed), and was killed too. 40112 (the
    // generator): a restarted node counted as caught up while the only holder of a room it
    // had lost was stopped, so a second crash was drawn. 31767: a node deaf for a little
    // less than the TTL did not resync, and a room deleted meanwhile came back from it (341
    // too, once the generator changed). 3021 again, the checker: a later acknowledged delete
    // elsewhere made a node's own undone delete count as a resurrection. 9887 (the memory
    // network): a request that expired while its responder was stopped never returned the
    // responder's stream, and the node refused every sync session as overloaded. 67494 (the
    // checker): a node's unacknowledged delete made 6 ms before a cut left it alone past
    // isolationAfterMs was undone by its resync, as documented, but was not made "alone" (72462
    // too).
    const seeds = [
      341, 559, 698, 706, 725, 759, 944, 979, 1273, 1291, 1334, 1783, 1799, 1986, 2648, 2717, 3021,
      3472, 4411, 5065, 7292, 7431, 8075, 8882, 9887, 20716, 21122, 24449, 31681, 31767, 37814,
      40112, 67494, 72462,
    ];
    for (const seed of seeds) {
      const result = await runSeed(seed);
      expect(result.violation, `seed ${seed}`).toBeUndefined();
    }
  });

  it('runs seeds clean, and a seed replays exactly', async () => {
    const first = await runSeed(3);
    expect(first.violation).toBeUndefined();
    expect(first.stats.faults).toBeGreaterThan(0);
    expect(first.stats.acked).toBeGreaterThan(0);
    expect(first.stats.convergedAfterMs).toBeLessThanOrEqual(first.stats.convergenceBoundMs);
    const again = await runSeed(3, { traceAll: true });
    const replay = await runSeed(3, { traceAll: true });
    expect(replay.trace).toEqual(again.trace);
    expect(replay.stats).toEqual(again.stats);
  }, 60_000);

  it('catches a node that ignores tombstones from its peers, and one that never runs anti-entropy', async () => {
    const probe = createRoomStore({
      nodeId: 'p',
      clock: { nowMs: () => 0 },
      random: { nextUint32: () => 1 },
    });
    const storeProto = Object.getPrototypeOf(probe) as { merge: (r: RoomRecord) => unknown };
    const merge = storeProto.merge;
    storeProto.merge = function (this: unknown, record: RoomRecord) {
      if (record.deletedAt !== 0)
        return merge.call(this, { ...record, deletedAt: 0, deletedBy: '' });
      return merge.call(this, record);
    };
    try {
      const broken = await runSeed(3);
      expect(broken.ok).toBe(false);
      expect(broken.violation).toMatch(/deleted|lost|converged/);
    } finally {
      storeProto.merge = merge;
    }
    const syncWith = AntiEntropy.prototype.syncWith;
    AntiEntropy.prototype.syncWith = async () => undefined;
    try {
      // A seed whose faults lose records that only anti-entropy repairs (seed 5 was, until
      // the generator's pauses and cuts were bounded by isolationAfterMs).
      const stale = await runSeed(6);
      expect(stale.ok).toBe(false);
      expect(stale.violation).toMatch(/not converged|lost/);
    } finally {
      AntiEntropy.prototype.syncWith = syncWith;
    }
  }, 60_000);

  it("excuses a node's room shown again after its own unacknowledged delete only when a resync undid deletes (seed 67494)", async () => {
    // Seed 67494 passes because n2's resync undid its delete (deletesUndone went up); a node
    // that reported no undone delete is caught showing the room again.
    const status = RegistryCore.prototype.status;
    RegistryCore.prototype.status = function (this: RegistryCore) {
      const real = status.call(this);
      return {
        ...real,
        counters: {
          ...real.counters,
          isolation: { ...real.counters.isolation, deletesUndone: 0 },
        },
      };
    };
    try {
      const hidden = await runSeed(67494);
      expect(hidden.violation).toMatch(
        /n2-eu-central shows room-3 as .* again after it was deleted/,
      );
    } finally {
      RegistryCore.prototype.status = status;
    }
    expect((await runSeed(67494)).violation).toBeUndefined();
  }, 60_000);

  it('the convergence bound grows with the sync interval and the cluster size', () => {
    const config = resolveConfig({ nodeId: 'x', region: 'r', profile: 'test' });
    expect(convergenceBoundMs(config, 12)).toBeGreaterThan(convergenceBoundMs(config, 3));
    const slower = resolveConfig({
      nodeId: 'x',
      region: 'r',
      profile: 'test',
      syncIntervalMs: 900,
    });
    expect(convergenceBoundMs(slower, 5)).toBeGreaterThan(convergenceBoundMs(config, 5));
  });
});
