/**
 * Transport.setGossipForwarding (gossip-forwarding.ts): a topic's accepted messages are
 * delivered but not forwarded.
 *
 * A ring of 4 nodes, 0 - 1 - 2 - 3 - 0: node 2 is not connected to node 0, so a message of
 * node 0's reaches it only forwarded (by 1 or 3). Every peer of a ring node is in its mesh,
 * so gossip's lazy repair (IHAVE goes to peers outside the mesh) does not reach node 2
 * either: in roomring, anti-entropy repairs what a node without forwarding did not get.
 */
import type { GossipMessage } from '@roomring/core';
import { afterEach, expect, it } from 'vitest';
import { generateClusterKey, type Libp2pTransport } from '../src/index.js';
import { connectRing, deferred, rawNode, startNodes, stopAll, str, text } from './helpers.js';

const TOPIC = 'roomring/rooms/1';

let nodes: Libp2pTransport[] = [];
afterEach(async () => {
  await stopAll(nodes);
  nodes = [];
});

interface Ring {
  nodes: Libp2pTransport[];
  /** Resolves when node `index` has delivered a message with body `body`. */
  delivered(index: number, body: string): Promise<GossipMessage>;
}

async function ring(forward: boolean): Promise<Ring> {
  // A 200 ms gossip heartbeat: the lazy repair (IHAVE each heartbeat) within a second.
  nodes = await startNodes(generateClusterKey(), 4, { gossipHeartbeatIntervalMs: 200 });
  const seen = nodes.map(() => new Map<string, GossipMessage>());
  const waiters: Array<{ index: number; body: string; resolve: (m: GossipMessage) => void }> = [];
  nodes.forEach((node, i) => {
    node.setGossipForwarding(TOPIC, forward);
    node.subscribe(TOPIC, (message) => {
      const body = str(message.data);
      seen[i]!.set(body, message);
      for (const w of waiters) if (w.index === i && w.body === body) w.resolve(message);
      return 'accept';
    });
  });
  await connectRing(nodes, TOPIC);
  return {
    nodes,
    delivered(index, body) {
      const known = seen[index]!.get(body);
      if (known) return Promise.resolve(known);
      const done = deferred<GossipMessage>();
      waiters.push({ index, body, resolve: done.resolve });
      return done.promise;
    },
  };
}

it('with forwarding off, each neighbour gets exactly one copy and nothing is forwarded', async () => {
  const r = await ring(false);
  const before = r.nodes.map((n) => n.metrics().gossipReceived);
  await r.nodes[0]!.publish(TOPIC, text('m'));
  await Promise.all([r.delivered(1, 'm'), r.delivered(3, 'm')]);
  // Fences: nodes 1 and 3 publish after they have m; a forward of m to node 2 would have gone
  // out on the same stream before their fence, so once node 2 has both fences, it would have m.
  await r.nodes[1]!.publish(TOPIC, text('fence-1'));
  await r.nodes[3]!.publish(TOPIC, text('fence-3'));
  await Promise.all([r.delivered(2, 'fence-1'), r.delivered(2, 'fence-3')]);
  await r.nodes[2]!.publish(TOPIC, text('fence-2'));
  await Promise.all([r.delivered(1, 'fence-2'), r.delivered(3, 'fence-2')]);
  expect(r.nodes[2]!.metrics().gossipAccepted).toBe(2);
  expect(r.nodes[2]!.metrics().gossipReceived - before[2]!).toBe(2);
  // Nodes 1 and 3: m once (from 0) and node 2's fence once (from 2), nothing forwarded.
  for (const i of [1, 3]) expect(r.nodes[i]!.metrics().gossipReceived - before[i]!).toBe(2);
});

it('with forwarding on, the far node gets the message forwarded and neighbours get copies', async () => {
  const r = await ring(true);
  const [n0, n1, , n3] = r.nodes;
  const before = r.nodes.map((n) => n.metrics().gossipReceived);
  await n0!.publish(TOPIC, text('m'));
  const far = await r.delivered(2, 'm');
  expect([n1!.peerId, n3!.peerId]).toContain(far.propagationSource);
  await r.nodes[2]!.publish(TOPIC, text('fence'));
  await Promise.all([r.delivered(1, 'fence'), r.delivered(3, 'fence')]);
  // Node 2 forwarded m to its other mesh neighbour: at least one of 1 and 3 got a second copy.
  const copies = [1, 3].map((i) => r.nodes[i]!.metrics().gossipReceived - before[i]!);
  expect(Math.max(...copies)).toBeGreaterThanOrEqual(3);
});

/** Counts the IDONTWANT control messages `node` receives (gossipsub's handler for them). */
function countIDontWants(node: Libp2pTransport): { count: number } {
  const raw = rawNode(node);
  const pubsub = raw.services.pubsub as unknown as {
    handleIdontwant(id: string, idontwant: unknown[]): void;
  };
  const counter = { count: 0 };
  const original = pubsub.handleIdontwant.bind(pubsub);
  pubsub.handleIdontwant = (id, idontwant) => {
    counter.count += idontwant.length;
    original(id, idontwant);
  };
  return counter;
}

it('IDONTWANT follows the switch: none is sent for a topic nobody forwards', async () => {
  // gossipsub sends IDONTWANT for received messages of 512 B or more.
  const big = (label: string) => text(label.padEnd(1_024, '.'));
  for (const forward of [false, true]) {
    const r = await ring(forward);
    const counters = r.nodes.map(countIDontWants);
    await r.nodes[0]!.publish(TOPIC, big('m'));
    await Promise.all([1, 3].map((i) => r.delivered(i, str(big('m')))));
    // Fences after m on every link: each IDONTWANT for m went out before them.
    for (const i of [1, 3]) await r.nodes[i]!.publish(TOPIC, text(`fence-${i}`));
    await Promise.all(
      [0, 2].flatMap((i) => [r.delivered(i, 'fence-1'), r.delivered(i, 'fence-3')]),
    );
    const received = counters.reduce((sum, c) => sum + c.count, 0);
    if (forward) expect(received).toBeGreaterThan(0);
    else expect(received).toBe(0);
    await stopAll(r.nodes);
    nodes = [];
  }
});

it('forwarding can be turned off and on again at run time, per topic', async () => {
  const r = await ring(true);
  for (const n of r.nodes) n.setGossipForwarding(TOPIC, false);
  for (const n of r.nodes) n.setGossipForwarding('another/topic', false);
  for (const n of r.nodes) n.setGossipForwarding(TOPIC, true);
  const before = r.nodes.map((n) => n.metrics().gossipReceived);
  await r.nodes[0]!.publish(TOPIC, text('again'));
  await r.delivered(2, 'again');
  await r.nodes[2]!.publish(TOPIC, text('fence'));
  await Promise.all([r.delivered(1, 'fence'), r.delivered(3, 'fence')]);
  const copies = [1, 3].map((i) => r.nodes[i]!.metrics().gossipReceived - before[i]!);
  expect(Math.max(...copies)).toBeGreaterThanOrEqual(3);
  expect(() => r.nodes[0]!.setGossipForwarding('', false)).toThrow(/topic/);
});
