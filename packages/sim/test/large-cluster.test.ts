/**
 * The large-cluster policy (core/src/mesh.ts, docs/protocol/membership.md): past meshFullMax
 * members each node keeps a few mesh connections, publishes heartbeats less often, and the
 * neighbours of a member detect its failure for everyone. meshFullMax is lowered here so 16
 * nodes are a "large" cluster.
 */
import { heartbeatPublishIntervalMs, MEMBERSHIP_TOPIC, meshNeighbours } from '@roomring/core';
import { decodeMessage, encodeMessage, packHlc } from '@roomring/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createSimCluster, type SimCluster, simSeed } from '../src/index.js';

let cluster: SimCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

const N = 16;
const NODES = Array.from({ length: N }, (_, i) => ({
  nodeId: `n${i}`,
  region: ['us-east', 'us-west', 'eu-central'][i % 3]!,
}));
const OPTIONS = { meshFullMax: 4, meshDegree: 4, ringPointsPerWeight: 64 };

function aliveEverywhere(c: SimCluster, count: number): boolean {
  return c.running().every((n) => n.members().filter((m) => m.state === 'alive').length === count);
}

async function formed(seed: number): Promise<SimCluster> {
  const c = await createSimCluster({ nodes: NODES, seed, options: OPTIONS });
  await c.startAll();
  await c.until(() => aliveEverywhere(c, N), 30_000, 50);
  // Pruning of the links made while the cluster was small takes a tick or two.
  await c.advance(3_000);
  return c;
}

describe('a large cluster', () => {
  it('the mesh relation is symmetric and connected', () => {
    const ids = Array.from({ length: 200 }, (_, i) => `node-${i}`);
    const neighbours = new Map(ids.map((id) => [id, meshNeighbours(id, ids, 8)]));
    for (const [id, set] of neighbours) {
      for (const other of set)
        expect(neighbours.get(other)!.has(id), `${id} - ${other}`).toBe(true);
    }
    const degrees = [...neighbours.values()].map((s) => s.size);
    const mean = degrees.reduce((a, b) => a + b, 0) / degrees.length;
    expect(mean).toBeGreaterThan(6);
    expect(mean).toBeLessThan(10);
    // Connected: everyone reachable from node-0.
    const seen = new Set(['node-0']);
    const queue = ['node-0'];
    while (queue.length > 0) {
      for (const next of neighbours.get(queue.shift()!)!) {
        if (!seen.has(next)) {
          seen.add(next);
          queue.push(next);
        }
      }
    }
    expect(seen.size).toBe(200);
  });

  it('forms with a few connections per node, knows every member, and spreads a write to all', async () => {
    const c = await formed(simSeed(301));
    cluster = c;
    const degrees = c.running().map((n) => n.status().connectedPeers);
    expect(Math.max(...degrees)).toBeLessThan(N - 1);
    expect(degrees.reduce((a, b) => a + b, 0) / N).toBeLessThanOrEqual(OPTIONS.meshDegree + 2);
    const pruned = c
      .running()
      .reduce((s, n) => s + n.status().counters.membership.connectionsPruned, 0);
    expect(pruned).toBeGreaterThan(0);
    const room = await c.settle(c.node('n7').createRoom({ name: 'wide' }));
    const took = await c.until(
      () => c.running().every((n) => n.getRoom('wide')?.sid === room.sid),
      2_000,
      1,
    );
    expect(took).toBeLessThan(200);
    // The pruning settles: no link is closed and redialled over and over.
    const before = c.running().map((n) => n.status().counters.membership.connectionsPruned);
    await c.advance(5_000);
    const after = c.running().map((n) => n.status().counters.membership.connectionsPruned);
    expect(after).toEqual(before);
    expect(aliveEverywhere(c, N)).toBe(true);
  });

  it('a crashed node is declared dead by everyone, through its neighbours', async () => {
    const c = await formed(simSeed(302));
    cluster = c;
    c.crash('n5');
    const deadAfterMs = c.node('n0').config.deadAfterMs;
    const took = await c.until(
      () => c.running().every((n) => n.members().find((m) => m.nodeId === 'n5')?.state === 'dead'),
      10 * deadAfterMs,
    );
    expect(took).toBeLessThanOrEqual(3 * deadAfterMs);
    const adopted = c
      .running()
      .reduce((s, n) => s + n.status().counters.membership.suspicionsAdopted, 0);
    expect(adopted).toBeGreaterThan(0);
    // Nobody else was declared dead. (The mesh reshapes around the gap: a link that two
    // nodes briefly disagree about may raise a suspicion, refuted at once, that moves nothing.)
    const deaths: string[] = [];
    for (const node of c.running()) {
      node.on('member-dead', (e) => deaths.push(`${node.config.nodeId} -> ${e.member.nodeId}`));
    }
    await c.until(
      () =>
        c
          .running()
          .every((n) => n.members().every((m) => m.nodeId === 'n5' || m.state === 'alive')),
      5 * deadAfterMs,
    );
    await c.advance(3_000);
    expect(deaths).toEqual([]);
  });

  it('a member whose heartbeats reach non-neighbours late is not declared dead by them (swarm seed 20716)', async () => {
    // Gossipsub's mesh can split, with lazy repair (a gossip heartbeat, 1 s) the only way
    // across: then a member's heartbeats reach only its neighbours for a while. Modelled
    // here by dropping every relay of n5's heartbeats, until well past the silence at which
    // non-neighbours suspect it, though not past the longest suspicion period.
    const c = await formed(simSeed(308));
    cluster = c;
    const config = c.node('n0').config;
    const ids = NODES.map((n) => n.nodeId);
    const neighbours = meshNeighbours('n5', ids, config.meshDegree);
    const others = ids.filter((id) => id !== 'n5' && !neighbours.has(id));
    expect(others.length).toBeGreaterThan(8);
    const n5 = c.node('n5').peerId;
    c.network.setFilter((event) => {
      if (event.kind !== 'gossip' || event.from === n5 || event.to === n5) return 'deliver';
      const decoded = decodeMessage(event.data);
      return decoded.ok && decoded.message.type === 'heartbeat' && decoded.message.nodeId === 'n5'
        ? 'drop'
        : 'deliver';
    });
    const deaths: string[] = [];
    for (const node of c.running()) {
      node.on('member-dead', (e) => deaths.push(`${node.config.nodeId} -> ${e.member.nodeId}`));
    }
    const suspectAtMs = 3 * heartbeatPublishIntervalMs(config, N) + config.suspectAfterMs;
    const suspicionMs = config.deadAfterMs - config.suspectAfterMs;
    const stateOfN5 = (id: string) =>
      c
        .node(id)
        .members()
        .find((m) => m.nodeId === 'n5')?.state;
    // The non-neighbours suspect it on their own...
    await c.until(() => others.every((id) => stateOfN5(id) === 'suspect'), 2 * suspectAtMs);
    // ...and keep quiet about it: its neighbours, who hear it, suspect nothing, and n5 has
    // nothing to refute.
    await c.advance(2 * suspicionMs);
    expect(deaths).toEqual([]);
    for (const id of neighbours) expect(stateOfN5(id)).toBe('alive');
    expect(c.node('n5').status().counters.membership.refutations).toBe(0);
    // Relayed again (the mesh repaired): alive everywhere, and nobody was declared dead.
    c.network.setFilter(undefined);
    await c.until(() => aliveEverywhere(c, N), 10 * config.deadAfterMs);
    expect(deaths).toEqual([]);
  });

  it("a member's notice of an incarnation ahead of the subject's is not adopted (swarm seed 24449)", async () => {
    const c = await formed(simSeed(310));
    cluster = c;
    const deaths: string[] = [];
    for (const node of c.running()) {
      node.on('member-dead', (e) => deaths.push(`${node.config.nodeId} -> ${e.member.nodeId}`));
    }
    const adopted = () =>
      c.running().reduce((s, n) => s + n.status().counters.membership.suspicionsAdopted, 0);
    const before = adopted();
    // n3 (a buggy or hostile member, signing as itself) says n9 is dead at MAX_SAFE_INTEGER:
    // n9 refuses it, so it cannot refute it.
    const forged = encodeMessage({
      type: 'member-suspect',
      reporter: 'n3',
      subject: 'n9',
      subjectIncarnation: Number.MAX_SAFE_INTEGER,
      state: 'dead',
      sentAt: packHlc(c.time.nowMs(), 0),
    });
    await c.transport('n3').publish(MEMBERSHIP_TOPIC, forged);
    await c.advance(5 * c.node('n0').config.deadAfterMs);
    expect(adopted()).toBe(before);
    expect(deaths).toEqual([]);
    expect(aliveEverywhere(c, N)).toBe(true);
  });

  it('a dropped link to a live neighbour raises a suspicion its probe lifts at once', async () => {
    const c = await formed(simSeed(306));
    cluster = c;
    const a = c.node('n0');
    // One of a's mesh neighbours it is connected to: a drop a's view cares about.
    const ids = c.running().map((n) => n.config.nodeId);
    const neighbours = meshNeighbours(
      'n0',
      ids.filter((id) => id !== 'n0'),
      OPTIONS.meshDegree,
    );
    const linked = new Set(c.network.mesh(a.peerId));
    const b = c.running().find((n) => neighbours.has(n.config.nodeId) && linked.has(n.peerId))!;
    expect(b).toBeDefined();
    const seen: string[] = [];
    a.on('member-suspect', (e) => seen.push(`suspect ${e.member.nodeId} ${e.reason}`));
    a.on('member-up', (e) => seen.push(`up ${e.member.nodeId} ${e.reason}`));
    a.on('member-dead', (e) => seen.push(`dead ${e.member.nodeId} ${e.reason}`));
    c.network.disconnect(a.peerId, b.peerId);
    const stateOfB = () => a.members().find((m) => m.nodeId === b.config.nodeId)?.state;
    expect(stateOfB()).toBe('suspect');
    // b's next gossip heartbeat is up to heartbeatIntervalMs x ceil(16 / 4) = 4 s away: the
    // probe's dial, not the heartbeat, brings it back.
    const took = await c.until(() => stateOfB() === 'alive', 10_000, 10);
    expect(took).toBeLessThan(a.config.heartbeatIntervalMs);
    expect(seen).toEqual([
      `suspect ${b.config.nodeId} connection-lost`,
      `up ${b.config.nodeId} probe-succeeded`,
    ]);
  });

  it('a stopped node is suspected and declared dead; when it continues it refutes and is back', async () => {
    const c = await formed(simSeed(303));
    cluster = c;
    c.pause('n9');
    await c.until(
      () =>
        c
          .running()
          .filter((n) => n.config.nodeId !== 'n9')
          .every((n) => n.members().find((m) => m.nodeId === 'n9')?.state === 'dead'),
      20_000,
    );
    c.resume('n9');
    await c.until(() => aliveEverywhere(c, N), 20_000);
    for (const node of c.running()) {
      for (const m of node.members()) expect(m.state).toBe('alive');
    }
  });

  it('a node joining learns every member from its seed at once', async () => {
    const c = await formed(simSeed(304));
    cluster = c;
    c.crash('n12');
    await c.advance(2_000);
    const again = await c.restart('n12');
    // Heartbeats come every ceil(16 / 4) = 4 intervals; the member list is faster.
    await c.until(() => again.members().filter((m) => m.state === 'alive').length === N, 1_000, 10);
    expect(again.status().counters.membership.membersRelayed).toBeGreaterThan(0);
  });
});
