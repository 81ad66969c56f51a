/**
 * How a node dials its seeds and members (issue 11), on real libp2p in this process: a seed
 * list that names the node itself, a member whose first advertised address does not reach it,
 * and a mesh that outlives its seed. Every dial goes to 127.0.0.1; the node that listens on
 * 0.0.0.0 is alone and dials only its own loopback.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistryNode, generateClusterKey, type RegistryNode } from '../src/index.js';
import { eventually } from '../src/testing/processes.js';

const CLUSTER_KEY = generateClusterKey();
let nodes: RegistryNode[] = [];
/** Every address each node's membership dialled, in order. */
const dialled = new Map<RegistryNode, string[]>();

afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  nodes = [];
  dialled.clear();
});

/** A loopback port that was free a moment ago (bound, then released): dialling it is
 *  refused until something listens there. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error()),
      );
    });
  });
}

async function start(
  nodeId: string,
  options: Partial<Parameters<typeof createRegistryNode>[0]> = {},
): Promise<RegistryNode> {
  const node = createRegistryNode({
    nodeId,
    region: 'r1',
    clusterKey: CLUSTER_KEY,
    p2pHost: '127.0.0.1',
    p2pPort: 0,
    profile: 'test',
    minAcks: 0,
    ...options,
  });
  // Record the dials (the real dial still runs): which addresses membership tries is the
  // behaviour under test.
  const dials: string[] = [];
  const dial = node.p2p.dial.bind(node.p2p);
  node.p2p.dial = (address, dialOptions) => {
    dials.push(address);
    return dial(address, dialOptions);
  };
  dialled.set(node, dials);
  nodes.push(node);
  await node.start();
  return node;
}

const membership = (n: RegistryNode) => n.status().counters.membership;
const alive = (n: RegistryNode) => n.members().filter((m, i) => i > 0 && m.state === 'alive');

/** Heartbeat ticks of `node` (100 ms each in the test profile): real time passing, counted
 *  by the node itself instead of slept. */
async function ticks(node: RegistryNode, count: number): Promise<void> {
  const until = membership(node).heartbeatsSent + count;
  await eventually(async () => membership(node).heartbeatsSent >= until, 10_000, `${count} ticks`);
}

describe('seeds', { timeout: 30_000 }, () => {
  it('a seed that is this node by its advertised address is never dialled', async () => {
    const port = await freePort();
    const node = await start('self-1', { p2pPort: port, seeds: [`127.0.0.1:${port}`] });
    await ticks(node, 10);
    expect(dialled.get(node)).toEqual([]);
    expect(membership(node).dialsFailed).toBe(0);
    expect(node.p2p.connectedPeers()).toEqual([]);
  });

  it('a seed that reaches this node by another address is recognised once, not retried', async () => {
    // Listening on 0.0.0.0 the node advertises its interface addresses (loopback only when
    // it has no other), so its own 127.0.0.1 seed may not match one: the dial finds out.
    const port = await freePort();
    const node = await start('self-2', {
      p2pHost: '0.0.0.0',
      p2pPort: port,
      seeds: [`127.0.0.1:${port}`],
    });
    await ticks(node, 10);
    expect(dialled.get(node)).toEqual([`127.0.0.1:${port}`]);
    expect(membership(node).dialsFailed).toBe(0);
    expect(node.p2p.connectedPeers()).toEqual([]);
  });

  it('a seed list naming this node and another joins the other, without failed dials', async () => {
    const other = await start('other');
    const port = await freePort();
    const otherPort = other.p2p.listenAddresses()[0]!.split('/tcp/')[1]!.split('/')[0];
    const node = await start('self-3', {
      p2pPort: port,
      seeds: [`127.0.0.1:${port}`, `127.0.0.1:${otherPort}`],
    });
    await eventually(
      async () => alive(node).length === 1 && alive(other).length === 1,
      10_000,
      'joined',
    );
    await ticks(node, 5);
    expect(dialled.get(node)).toEqual([`127.0.0.1:${otherPort}`]);
    expect(membership(node).dialsFailed).toBe(0);
  });
});

describe('members', { timeout: 30_000 }, () => {
  it('are dialled at their next advertised address when one fails, and keep their mesh without the seed', async () => {
    const seed = await start('seed');
    const seedAddress = seed.p2p.listenAddresses()[0]!;
    // B advertises a refused address first, then its real one.
    const [bPort, refused, cRefused] = await Promise.all([freePort(), freePort(), freePort()]);
    const b = await start('b', {
      p2pPort: bPort,
      p2pAdvertise: [`127.0.0.1:${refused}`, `127.0.0.1:${bPort}`],
      seeds: [seedAddress],
    });
    // C advertises only a refused address: B can never dial C, so a B-C connection is C's
    // dial of B, which must get past B's first address.
    const c = await start('c', { p2pAdvertise: [`127.0.0.1:${cRefused}`], seeds: [seedAddress] });
    await eventually(
      async () => c.p2p.connectedPeers().includes(b.peerId) || undefined,
      10_000,
      'C connected to B',
    );
    expect(b.p2p.listenAddresses()[0]).toBe(`/ip4/127.0.0.1/tcp/${refused}/p2p/${b.peerId}`);
    const cDialsOfB = dialled.get(c)!.filter((a) => a.endsWith(b.peerId));
    expect(cDialsOfB.slice(0, 2)).toEqual(b.p2p.listenAddresses());

    // The seed leaves; B and C stay connected and alive to each other.
    await seed.stop();
    nodes = nodes.filter((n) => n !== seed);
    await ticks(c, 10); // 1 s: past suspectAfterMs (350) and deadAfterMs (700) of the test profile
    expect(c.p2p.connectedPeers()).toEqual([b.peerId]);
    expect(alive(c).map((m) => m.nodeId)).toEqual(['b']);
    expect(alive(b).map((m) => m.nodeId)).toEqual(['c']);
  });
});

describe('large clusters on real libp2p', { timeout: 60_000 }, () => {
  it('a joining node gets the member list from its seed; pruning keeps only mesh neighbours', async () => {
    // meshFullMax 3 makes 6 nodes a "large" cluster (docs/protocol/membership.md).
    const large = { meshFullMax: 3, meshDegree: 3 };
    const seed = await start('l0', large);
    const seedAddress = seed.p2p.listenAddresses()[0]!;
    const others: RegistryNode[] = [];
    for (let i = 1; i < 6; i++)
      others.push(await start(`l${i}`, { ...large, seeds: [seedAddress] }));
    const all = [seed, ...others];
    await eventually(
      async () => all.every((n) => alive(n).length === 5) || undefined,
      30_000,
      'every node sees the 5 others alive',
    );
    // The later joiners learnt members from a list over /roomring/members/1.
    const relayed = others.reduce((sum, n) => sum + membership(n).membersRelayed, 0);
    expect(relayed).toBeGreaterThan(0);
    // Links to non-neighbours are closed, and the mesh stays: after a few ticks every node
    // has at least two connections, they are fewer than a full mesh's, and every node sees
    // every member alive, all at one moment. (A single snapshot right after the ticks once
    // caught a node with one link on a loaded machine: a neighbour's link between its drop
    // and the redial, which is not what this asserts.)
    await ticks(seed, 20);
    expect(all.reduce((sum, n) => sum + membership(n).connectionsPruned, 0)).toBeGreaterThan(0);
    await eventually(
      async () => {
        const connections = all.map((n) => n.p2p.connectedPeers().length);
        const total = connections.reduce((a, b) => a + b, 0);
        const everyoneAlive = all.every((n) => alive(n).length === 5);
        if (Math.min(...connections) >= 2 && total < 6 * 5 && everyoneAlive) return true;
        throw new Error(`connections ${connections.join(', ')}; everyone alive: ${everyoneAlive}`);
      },
      15_000,
      'a partial mesh of at least 2 links per node, everyone alive',
    );
    // A write made anywhere reaches everyone over the partial mesh.
    await seed.createRoom({ name: 'over-the-mesh' });
    await eventually(
      async () => all.every((n) => n.getRoom('over-the-mesh')) || undefined,
      10_000,
      'the room everywhere',
    );
  });
});
