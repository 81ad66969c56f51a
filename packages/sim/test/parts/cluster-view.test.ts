/**
 * ClusterView (packages/core/src/cluster-view.ts) on its own: views of several nodes over the
 * memory network on virtual time, each with its own store (for the clock and the digest its
 * heartbeat carries), ticking its membership every heartbeatIntervalMs as the registry does,
 * and a host that counts placement changes. A bare transport stands in for a node where the
 * test speaks the protocol itself. Every hop takes 1 virtual ms unless a test fixes another.
 */
import {
  ClusterView,
  Guard,
  MEMBERS_PROTOCOL,
  MEMBERSHIP_TOPIC,
  type NodeConfig,
  type NodeOptionsInput,
  type PeerId,
  PING_PROTOCOL,
  RegistryEventEmitter,
  ROOMS_TOPIC,
  type Transport,
} from '@roomring/core';
import {
  decodeMessage,
  encodeMessage,
  type HeartbeatMessage,
  type Message,
  packHlc,
  type RoomRecord,
} from '@roomring/protocol';
import type { RoomStore } from '@roomring/store';
import { describe, expect, it } from 'vitest';
import {
  createMemoryNetwork,
  createSeededRandom,
  createVirtualTime,
  type MemoryNetwork,
  type VirtualTime,
} from '../../src/index.js';
import { partConfig, runtimeOn, storeOf } from './fixtures.js';

interface ViewNode {
  config: NodeConfig;
  store: RoomStore;
  transport: Transport;
  view: ClusterView;
  /** Member events as `member-up b heartbeat`. */
  events: string[];
  placementChanges: { count: number };
  errors: unknown[];
  /** Stops the membership tick (a node whose heartbeats the test wants out of the way). */
  stopTicking(): void;
  /** Every setGossipForwarding call, as `topic on|off`. */
  forwarding: string[];
}

type Spec = { nodeId: string; region: string } & Partial<NodeOptionsInput>;

/** A node's ClusterView wired as the registry wires it; the peer of node `a` is `pa`. */
async function viewNode(
  network: MemoryNetwork,
  time: VirtualTime,
  spec: Spec,
  seed: number,
  options: { ticking?: boolean } = {},
): Promise<ViewNode> {
  const config = partConfig(spec);
  const store = storeOf(config, time, seed);
  const errors: unknown[] = [];
  const guard = new Guard((caught) => errors.push(caught.error));
  const peer = `p${spec.nodeId}`;
  const raw = network.createTransport(peer);
  const forwarding: string[] = [];
  const setForwarding = raw.setGossipForwarding.bind(raw);
  raw.setGossipForwarding = (topic, forward) => {
    forwarding.push(`${topic} ${forward ? 'on' : 'off'}`);
    setForwarding(topic, forward);
  };
  const transport = guard.transport(raw);
  const runtime = runtimeOn(time, seed);
  // A stopped (paused) node's timers wait until it continues, as in the simulator.
  runtime.timers = guard.timers({
    setTimer: (delayMs, callback) =>
      time.setTimer(delayMs, () => network.whenRunning(peer, callback)),
  });
  const emitter = new RegistryEventEmitter();
  const events: string[] = [];
  for (const name of ['member-up', 'member-suspect', 'member-dead', 'member-left'] as const) {
    emitter.on(name, ({ member, reason }) => events.push(`${name} ${member.nodeId} ${reason}`));
  }
  const placementChanges = { count: 0 };
  const view = new ClusterView(config, transport, runtime, guard, emitter, {
    hlc: store.hlc,
    selfSummary: () => ({
      roomCount: store.counts().visible,
      storeDigest: store.digest(),
      historySinceMs: 0,
    }),
    stopped: () => false,
    placementChanged: () => placementChanges.count++,
    rejoined: () => undefined,
  });
  transport.addListener({
    peerConnected: (peer) => view.peerConnected(peer, true),
    peerDisconnected: (peer) => view.peerDisconnected(peer),
  });
  view.register();
  await transport.start();
  view.adoptConnected(transport.connectedPeers());
  let ticking = options.ticking ?? true;
  const tick = (): void => {
    if (!ticking) return;
    view.membership.tick();
    runtime.timers.setTimer(config.heartbeatIntervalMs, tick);
  };
  if (ticking) runtime.timers.setTimer(0, tick);
  const stopTicking = () => {
    ticking = false;
  };
  return {
    config,
    store,
    transport,
    view,
    events,
    placementChanges,
    errors,
    stopTicking,
    forwarding,
  };
}

function newNetwork(latencyMs = 1) {
  const time = createVirtualTime();
  const network = createMemoryNetwork({
    time,
    random: createSeededRandom(31),
    latencyMsMin: latencyMs,
    latencyMsMax: latencyMs,
  });
  return { time, network };
}

/** Every view sees every other member alive. */
function formed(nodes: readonly ViewNode[]): boolean {
  return nodes.every(
    (n) => n.view.membership.list().filter((m) => m.state === 'alive').length === nodes.length - 1,
  );
}

/** Starts the nodes; each dials the first (its seed); the rest comes from membership. */
async function formCluster(time: VirtualTime, network: MemoryNetwork, specs: readonly Spec[]) {
  const nodes: ViewNode[] = [];
  for (const [i, spec] of specs.entries()) nodes.push(await viewNode(network, time, spec, i + 1));
  for (const node of nodes.slice(1)) void node.transport.dial('memory/pa', { timeoutMs: 200 });
  for (let ms = 0; ms < 2_000 && !formed(nodes); ms += 10) await time.advance(10);
  expect(formed(nodes)).toBe(true);
  return nodes;
}

/** A room record as a store holds it, for the placement questions. */
function roomNamed(store: RoomStore, name: string, homeRegion: string, pinnedNode?: string) {
  return store.getOrCreate({ name, homeRegion, ...(pinnedNode ? { pinnedNode } : {}) }).room;
}

/** A heartbeat of a node the test plays itself (no addresses: nobody dials it). */
function heartbeatOf(nodeId: string, region: string, nowMs: number): HeartbeatMessage {
  return {
    type: 'heartbeat',
    nodeId,
    region,
    incarnation: nowMs,
    state: 'alive',
    weight: 1,
    httpUrl: '',
    p2pAddrs: [],
    roomCount: 0,
    ringChecksum: '',
    storeDigest: '',
    sentAt: packHlc(nowMs, 0),
    seq: 0,
    historySinceMs: nowMs,
  };
}

/** Every frame of one request, decoded. */
async function ask(
  transport: Transport,
  peer: PeerId,
  protocol: string,
  frame: Uint8Array,
  time: VirtualTime,
): Promise<Message[]> {
  const frames: Message[] = [];
  const done = (async () => {
    for await (const data of transport.request(peer, protocol, frame, {
      timeoutMs: 1_000,
      framesMax: 100,
    })) {
      const decoded = decodeMessage(data);
      if (decoded.ok) frames.push(decoded.message);
    }
  })();
  await time.advance(20);
  await done;
  return frames;
}

const THREE = [
  { nodeId: 'a', region: 'us-east' },
  { nodeId: 'b', region: 'us-east' },
  { nodeId: 'c', region: 'us-west' },
] as const;

describe('ClusterView', () => {
  it('forms one view of three members: one event and one ring rebuild per member, equal rings and owners', async () => {
    const { time, network } = newNetwork();
    const nodes = await formCluster(time, network, THREE);
    await time.advance(1_000);
    for (const node of nodes) {
      const others = THREE.map((s) => s.nodeId).filter((id) => id !== node.config.nodeId);
      expect(node.events.sort()).toEqual(
        others.map((id) => expect.stringMatching(`^member-up ${id} `)),
      );
      expect(node.placementChanges.count).toBe(2);
      expect(node.view.connectedCount()).toBe(2);
      expect(
        node.view
          .ring()
          .members()
          .map((m) => m.nodeId),
      ).toEqual(['a', 'b', 'c']);
      expect(node.errors).toEqual([]);
    }
    const [a, b, c] = nodes as [ViewNode, ViewNode, ViewNode];
    expect(new Set(nodes.map((n) => n.view.ring().checksum())).size).toBe(1);
    // Every node places every room on the same owner: a us-west room on c (the region's only
    // member), a us-east room on a or b, a pinned room on its pinned node.
    const owners = (room: Readonly<RoomRecord>) => nodes.map((n) => n.view.ownerOfRoom(room));
    for (let i = 0; i < 20; i++) {
      expect(owners(roomNamed(a.store, `west-${i}`, 'us-west'))).toEqual(['c', 'c', 'c']);
      const east = owners(roomNamed(a.store, `east-${i}`, 'us-east'));
      expect(new Set(east).size).toBe(1);
      expect(['a', 'b']).toContain(east[0]);
    }
    expect(owners(roomNamed(a.store, 'pinned', 'us-west', 'b'))).toEqual(['b', 'b', 'b']);
    // ownsRoom is each node's own side of the same answer.
    for (const name of ['west-0', 'east-0', 'east-1', 'east-2', 'pinned']) {
      const room = a.store.get(name)!;
      const expected = owners(room).map((owner, i) => owner === ['a', 'b', 'c'][i]);
      expect(nodes.map((n) => n.view.ownsRoom(room))).toEqual(expected);
      expect(expected.filter(Boolean)).toHaveLength(1);
    }
    expect(a.view.memberOfPeer('pc')?.nodeId).toBe('c');
    expect(
      b.view
        .connectedAliveMembers()
        .map((m) => m.nodeId)
        .sort(),
    ).toEqual(['a', 'c']);
    expect(c.view.members({ roomCount: 0, storeDigest: '', historySinceMs: 0 })[0]?.nodeId).toBe(
      'c',
    );
  });

  it('partnersFor: the ring preference list with unconnected members skipped, else connected alive members of other regions first', async () => {
    const { time, network } = newNetwork();
    const specs = [
      { nodeId: 'a', region: 'us-east' },
      { nodeId: 'e1', region: 'us-east' },
      { nodeId: 'e2', region: 'us-east' },
      { nodeId: 'e3', region: 'us-east' },
      { nodeId: 'e4', region: 'us-east' },
      { nodeId: 'e5', region: 'us-east' },
      { nodeId: 'w1', region: 'us-west' },
      { nodeId: 'w2', region: 'us-west' },
      { nodeId: 'w3', region: 'us-west' },
      { nodeId: 'u1', region: 'eu-central' },
    ];
    const nodes = await formCluster(time, network, specs);
    const a = nodes[0]!;
    const regionOf = new Map(specs.map((s) => [s.nodeId, s.region]));
    const peerOf = (nodeId: string) => `p${nodeId}`;
    // partnersFor(name, 2) reads the ring's first 2 + 4 partners: the owner in each other
    // region (one of the w's, u1), then four of a's own region. Left out: one us-east
    // member and two us-west ones.
    const name = 'room-1';
    const preferred = a.view.ring().replicaPartners(name, 'a', 6);
    const rest = specs.map((s) => s.nodeId).filter((id) => id !== 'a' && !preferred.includes(id));
    const same = rest.find((id) => regionOf.get(id) === 'us-east')!;
    const [silent, other] = rest.filter((id) => regionOf.get(id) === 'us-west');
    expect([same, silent, other].every(Boolean)).toBe(true);
    expect(a.view.partnersFor(name, 2)).toEqual(preferred.slice(0, 2).map(peerOf));

    // One of the left-out members stops (SIGSTOP): still connected, suspect after 350 ms.
    network.pause(peerOf(silent!));
    await time.advance(a.config.suspectAfterMs + 50);
    expect(a.view.membership.get(silent!)?.state).toBe('suspect');
    expect(a.view.isConnected(peerOf(silent!))).toBe(true);

    // The first partner unreachable: suspect, still on the ring, but skipped.
    network.partition(['pa'], [peerOf(preferred[0]!)]);
    expect(a.view.membership.get(preferred[0]!)?.state).toBe('suspect');
    expect(
      a.view
        .ring()
        .members()
        .map((m) => m.nodeId),
    ).toContain(preferred[0]);
    expect(a.view.partnersFor(name, 2)).toEqual(preferred.slice(1, 3).map(peerOf));

    // None of the six preferred reachable: the connected alive members, other regions first;
    // the suspect one is no partner.
    network.partition(['pa'], preferred.map(peerOf));
    expect(a.view.partnersFor(name, 2)).toEqual([peerOf(other!), peerOf(same)]);
    // Asked for 3, it reads the ring's first 3 + 4: that list now reaches the fifth us-east
    // member, which then comes first; the other, found only among the rest, after it.
    expect(a.view.ring().replicaPartners(name, 'a', 7)).toContain(same);
    expect(a.view.partnersFor(name, 3)).toEqual([peerOf(same), peerOf(other!)]);
    expect(a.errors).toEqual([]);
  });

  it('a joining node learns every member from the first peer it reaches (member list)', async () => {
    const { time, network } = newNetwork();
    // `a` (the node formCluster's others dial) and `c` form a cluster; `j` joins through a.
    const [a, c] = (await formCluster(time, network, [
      { nodeId: 'a', region: 'us-east' },
      { nodeId: 'c', region: 'us-west' },
    ])) as [ViewNode, ViewNode];
    // Quiet heartbeats, so what the joiner learns comes from the member list alone.
    a.stopTicking();
    c.stopTicking();
    const joiner = await viewNode(network, time, { nodeId: 'j', region: 'eu-central' }, 9, {
      ticking: false,
    });
    void joiner.transport.dial('memory/pa', { timeoutMs: 200 });
    await time.advance(20);
    expect(joiner.view.counters.memberListsFetched).toBe(1);
    expect(joiner.view.membership.counters.membersRelayed).toBe(1);
    expect(joiner.events).toEqual(['member-up a heartbeat', 'member-up c relayed']);
    expect(
      joiner.view
        .ring()
        .members()
        .map((m) => m.nodeId),
    ).toEqual(['a', 'c', 'j']);
    // The member asked took the joiner's heartbeat (the request) as its own news of it.
    expect(a.events.at(-1)).toBe('member-up j heartbeat');
    expect(joiner.view.ring().checksum()).toBe(a.view.ring().checksum());

    // A request that is not a heartbeat is refused, and counted.
    const x = network.createTransport('px');
    await x.start();
    void x.dial('memory/pa', { timeoutMs: 200 });
    await time.advance(5);
    const rejectedBefore = a.view.counters.membershipRejected;
    const answer = await ask(x, 'pa', MEMBERS_PROTOCOL, new Uint8Array([1, 2, 3]), time);
    expect(answer).toEqual([expect.objectContaining({ type: 'rpc-error', code: 'bad-request' })]);
    expect(a.view.counters.membershipRejected).toBe(rejectedBefore + 1);
  });

  it("answers a ping with its own heartbeat after taking the asker's", async () => {
    const { time, network } = newNetwork();
    const a = await viewNode(network, time, { nodeId: 'a', region: 'us-east' }, 1);
    const x = network.createTransport('px');
    await x.start();
    void x.dial('memory/pa', { timeoutMs: 200 });
    await time.advance(5);
    const euRoom = roomNamed(a.store, 'eu-room', 'eu-central');
    // No member in eu-central: the room fails over to the only ring, a's.
    expect(a.view.ownerOfRoom(euRoom)).toBe('a');
    const changesBefore = a.placementChanges.count;

    const ping = encodeMessage(heartbeatOf('x', 'eu-central', time.nowMs()));
    const answer = await ask(x, 'pa', PING_PROTOCOL, ping, time);
    expect(answer).toEqual([
      expect.objectContaining({ type: 'heartbeat', nodeId: 'a', region: 'us-east' }),
    ]);
    expect(a.events).toEqual(['member-up x heartbeat']);
    expect(a.view.memberOfPeer('px')?.nodeId).toBe('x');
    expect(
      a.view
        .ring()
        .members()
        .map((m) => m.nodeId),
    ).toEqual(['a', 'x']);
    expect(a.placementChanges.count).toBe(changesBefore + 1);
    expect(a.view.ownerOfRoom(euRoom)).toBe('x');

    const rejectedBefore = a.view.counters.membershipRejected;
    const refused = await ask(x, 'pa', PING_PROTOCOL, new Uint8Array([0xc1]), time);
    expect(refused).toEqual([expect.objectContaining({ type: 'rpc-error', code: 'bad-request' })]);
    expect(a.view.counters.membershipRejected).toBe(rejectedBefore + 1);
    expect(a.errors).toEqual([]);
  });

  it('past meshFullMax, ring changes within 100 ms are applied in one rebuild', async () => {
    const HOP_MS = 5;
    const { time, network } = newNetwork(HOP_MS);
    const a = await viewNode(network, time, { nodeId: 'a', region: 'us-east', meshFullMax: 2 }, 1, {
      ticking: false,
    });
    const xs = ['x1', 'x2', 'x3'].map((id) => network.createTransport(`p${id}`));
    for (const x of xs) {
      await x.start();
      void x.dial('memory/pa', { timeoutMs: 200 });
    }
    await time.advance(20);
    const announce = async (i: number) => {
      const heartbeat = heartbeatOf(`x${i + 1}`, 'us-west', time.nowMs());
      await xs[i]!.publish(MEMBERSHIP_TOPIC, encodeMessage(heartbeat));
    };
    const ringSize = () => a.view.ring().members().length;
    // Two members: not past meshFullMax yet, so the rings are rebuilt at once.
    await announce(0);
    await time.advance(HOP_MS);
    expect([ringSize(), a.placementChanges.count]).toEqual([2, 1]);
    // Three, then four: one rebuild, 100 ms after the first of them arrived.
    const firstArrivalMs = time.nowMs() + HOP_MS;
    await announce(1);
    await time.advance(HOP_MS + 10);
    await announce(2);
    await time.advance(HOP_MS);
    expect(a.view.membership.list().map((m) => m.nodeId)).toEqual(['x1', 'x2', 'x3']);
    expect([ringSize(), a.placementChanges.count]).toEqual([2, 1]);
    await time.advance(firstArrivalMs + 99 - time.nowMs());
    expect([ringSize(), a.placementChanges.count]).toEqual([2, 1]);
    await time.advance(1);
    expect([ringSize(), a.placementChanges.count]).toEqual([4, 2]);
    expect(a.events).toEqual([
      'member-up x1 heartbeat',
      'member-up x2 heartbeat',
      'member-up x3 heartbeat',
    ]);
  });
  it('forwards room batches over the gossip mesh only while the cluster is past meshFullMax', async () => {
    const HOP_MS = 5;
    const { time, network } = newNetwork(HOP_MS);
    const a = await viewNode(network, time, { nodeId: 'a', region: 'us-east', meshFullMax: 2 }, 1, {
      ticking: false,
    });
    // Alone: small, so off from the start.
    expect(a.forwarding).toEqual([`${ROOMS_TOPIC} off`]);
    const xs = ['x1', 'x2'].map((id) => network.createTransport(`p${id}`));
    for (const x of xs) {
      await x.start();
      void x.dial('memory/pa', { timeoutMs: 200 });
    }
    await time.advance(20);
    const announce = async (i: number, state: 'alive' | 'left' = 'alive') => {
      const heartbeat = { ...heartbeatOf(`x${i + 1}`, 'us-west', time.nowMs()), state };
      await xs[i]!.publish(MEMBERSHIP_TOPIC, encodeMessage(heartbeat));
      await time.advance(HOP_MS);
    };
    await announce(0);
    expect(a.forwarding).toEqual([`${ROOMS_TOPIC} off`]);
    // Three members > meshFullMax 2: large, on; back to two when one leaves: off again.
    await announce(1);
    expect(a.forwarding).toEqual([`${ROOMS_TOPIC} off`, `${ROOMS_TOPIC} on`]);
    await announce(1, 'left');
    expect(a.forwarding).toEqual([`${ROOMS_TOPIC} off`, `${ROOMS_TOPIC} on`, `${ROOMS_TOPIC} off`]);
  });
});
