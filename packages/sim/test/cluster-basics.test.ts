import type { SimCluster } from '@roomring/sim';
import { afterEach, describe, expect, it } from 'vitest';
import { assertConverged, startedCluster } from './helpers.js';

let cluster: SimCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

describe('a five-node cluster on the simulated network', () => {
  it('forms membership and agrees on the ring', async () => {
    cluster = await startedCluster({ seed: 1 });
    const checksums = new Set(cluster.running().map((n) => n.status().ringChecksum));
    expect(checksums.size).toBe(1);
    for (const node of cluster.running()) expect(node.members()).toHaveLength(5);
  });

  it('makes rooms created at every node visible at every node', async () => {
    cluster = await startedCluster({ seed: 2 });
    const created = new Map<string, string>();
    for (const node of cluster.running()) {
      for (let i = 0; i < 20; i++) {
        const name = `${node.config.nodeId}-room-${i}`;
        const room = await cluster.settle(node.createRoom({ name }));
        expect(room.homeRegion).toBe(node.config.region);
        created.set(name, room.sid);
      }
    }
    await cluster.until(() => cluster!.converged(), 5_000);
    const view = assertConverged(cluster);
    expect(view).toEqual(created);
  });

  it('answers a create of an existing room from memory with the same sid', async () => {
    cluster = await startedCluster({ seed: 3 });
    const a = cluster.node('use-1');
    const b = cluster.node('euc-1');
    const room = await cluster.settle(a.createRoom({ name: 'standup', metadata: 'v1' }));
    await cluster.until(() => b.getRoom('standup') !== undefined, 2_000);
    const sentBefore = b.status().counters.writes.replicateRequestsSent;
    const again = await b.createRoom({ name: 'standup', metadata: 'ignored' });
    expect(again.sid).toBe(room.sid);
    expect(again.metadata).toBe('v1');
    // minAcks 1: the sender holds it and so does b; nothing to confirm.
    expect(b.status().counters.writes.replicateRequestsSent).toBe(sentBefore);
  });
});
