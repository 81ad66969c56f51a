/**
 * A durable write whose replicate requests reach every connected peer and every ring member
 * skips gossip (packages/core/src/write-path.ts, replicate): in a cluster of
 * replicationFanout + 1 nodes (here one node in each of three regions, minAcks 1, fanout 2)
 * each partner receives the record by its replicate request, so the publish would only bring
 * it a second time. Gossip still carries it when a partner does not confirm, while a ring
 * member is not connected, and in a larger cluster.
 */
import { REPLICATE_PROTOCOL } from '@roomring/core';
import { type SimCluster, simSeed } from '@roomring/sim';
import { afterEach, describe, expect, it } from 'vitest';
import { FIVE_NODES, startedCluster } from './helpers.js';

const THREE_REGIONS = [
  { nodeId: 'use-1', region: 'us-east' },
  { nodeId: 'usw-1', region: 'us-west' },
  { nodeId: 'euc-1', region: 'eu-central' },
];
const ROOMS = 20;

let cluster: SimCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

/** The writer's replication and write counters, and `use-1`'s creates of `prefix`-0..19. */
async function createAtWriter(c: SimCluster, prefix: string) {
  const writer = c.node('use-1');
  const before = writer.status().counters;
  const rooms = await Promise.all(
    Array.from({ length: ROOMS }, (_, i) =>
      c.settle(writer.createRoom({ name: `${prefix}-${i}` })),
    ),
  );
  return { writer, before, rooms };
}

describe('durable writes and gossip', () => {
  it('does not gossip a write every other member confirmed by replicate', async () => {
    const c = await startedCluster({ nodes: THREE_REGIONS, seed: simSeed(61) });
    cluster = c;
    const { writer, before, rooms } = await createAtWriter(c, 'quiet');
    // Acknowledged: a partner holds each; the other partner's answer follows within a hop.
    await c.advance(100);
    const after = writer.status().counters;
    expect(after.writes.writesAcked - before.writes.writesAcked).toBe(ROOMS);
    expect(after.writes.gossipWithheld - before.writes.gossipWithheld).toBe(ROOMS);
    expect(after.writes.gossipResent - before.writes.gossipResent).toBe(0);
    expect(after.replication.recordsPublished - before.replication.recordsPublished).toBe(0);
    for (const node of c.running()) {
      for (const room of rooms) expect(node.getRoom(room.name)?.sid).toBe(room.sid);
    }
  });

  it('gossips it after all when a partner does not confirm', async () => {
    const c = await startedCluster({ nodes: THREE_REGIONS, seed: simSeed(62) });
    cluster = c;
    // euc-1 never receives a replicate request; usw-1 acknowledges every write.
    const partner = c.node('euc-1').peerId;
    c.network.setFilter((event) =>
      event.kind === 'request' && event.channel === REPLICATE_PROTOCOL && event.to === partner
        ? 'drop'
        : 'deliver',
    );
    const { writer, before, rooms } = await createAtWriter(c, 'resent');
    const acked = writer.status().counters;
    expect(acked.writes.writesAcked - before.writes.writesAcked).toBe(ROOMS);
    expect(acked.writes.gossipWithheld - before.writes.gossipWithheld).toBe(ROOMS);
    for (const room of rooms) expect(c.node('euc-1').getRoom(room.name)).toBeUndefined();
    // euc-1's requests fail at the write's deadline: then the records go out by gossip.
    await c.advance(c.node('use-1').config.defaultDeadlineMs + 100);
    const after = writer.status().counters;
    expect(after.writes.partnerFailures - before.writes.partnerFailures).toBeGreaterThan(0);
    expect(after.writes.gossipResent - before.writes.gossipResent).toBe(ROOMS);
    expect(after.replication.recordsPublished - before.replication.recordsPublished).toBe(ROOMS);
    for (const room of rooms) expect(c.node('euc-1').getRoom(room.name)?.sid).toBe(room.sid);
  });

  it('gossips it to a member declared dead whose connection still stands', async () => {
    const c = await startedCluster({ nodes: THREE_REGIONS, seed: simSeed(64) });
    cluster = c;
    // euc-1 is cut off one way: the others stop hearing it and declare it dead, but it still
    // hears them (and must get every delete before its tombstone is collected).
    c.cutOneWay(['euc-1'], ['use-1', 'usw-1']);
    const dead = () =>
      c
        .node('use-1')
        .members()
        .find((m) => m.nodeId === 'euc-1')?.state;
    await c.until(() => dead() === 'dead', 10_000);
    expect(c.node('use-1').status().connectedPeers).toBeGreaterThanOrEqual(2);
    const { writer, before, rooms } = await createAtWriter(c, 'cut');
    await c.advance(100);
    const after = writer.status().counters;
    expect(after.writes.gossipWithheld - before.writes.gossipWithheld).toBe(0);
    expect(after.replication.recordsPublished - before.replication.recordsPublished).toBe(ROOMS);
    for (const room of rooms) expect(c.node('euc-1').getRoom(room.name)?.sid).toBe(room.sid);
  });

  it('gossips it while a ring member is not connected', async () => {
    const c = await startedCluster({ nodes: THREE_REGIONS, seed: simSeed(65) });
    cluster = c;
    // euc-1's links are down but it is still on the rings (not yet declared dead): a publish
    // reaches it from gossipsub's message cache once it is back, long before anti-entropy
    // would (swarm seed 5065: a delete kept from it came back after the tombstone's GC).
    c.partition(['euc-1'], ['use-1', 'usw-1']);
    const writer = c.node('use-1');
    await c.until(() => writer.status().connectedPeers === 1, 5_000);
    expect(writer.members().find((m) => m.nodeId === 'euc-1')?.state).not.toBe('dead');
    const { before } = await createAtWriter(c, 'apart');
    await c.advance(100);
    const after = writer.status().counters;
    expect(after.writes.writesAcked - before.writes.writesAcked).toBe(ROOMS);
    expect(after.writes.gossipWithheld - before.writes.gossipWithheld).toBe(0);
    expect(after.replication.recordsPublished - before.replication.recordsPublished).toBe(ROOMS);
  });

  it('gossips at once in a cluster larger than the partners', async () => {
    const c = await startedCluster({ nodes: FIVE_NODES, seed: simSeed(63) });
    cluster = c;
    const { writer, before, rooms } = await createAtWriter(c, 'loud');
    await c.advance(100);
    const after = writer.status().counters;
    expect(after.writes.gossipWithheld - before.writes.gossipWithheld).toBe(0);
    expect(after.replication.recordsPublished - before.replication.recordsPublished).toBe(ROOMS);
    for (const node of c.running()) {
      for (const room of rooms) expect(node.getRoom(room.name)?.sid).toBe(room.sid);
    }
  });
});
