/**
 * A whole cluster of registry nodes in one process: the real node logic (RegistryCore) on the
 * simulated network and virtual time. Runs are deterministic per seed; a failing test prints
 * the seed, and `SIM_SEED=<seed>` replays it exactly.
 */
import {
  createRegistryCore,
  type NodeOptions,
  type RegistryCore,
  type Timers,
  type Transport,
} from '@roomring/core';
import {
  createMemoryNetwork,
  type MemoryNetwork,
  type MemoryNetworkInit,
} from './memory-network.js';
import { createSeededRandom, type SeededRandom } from './random.js';
import { createVirtualTime, type VirtualTime } from './virtual-time.js';

export interface SimNodeSpec {
  nodeId: string;
  region: string;
  weight?: number;
}

export interface SimClusterInit {
  nodes: readonly SimNodeSpec[];
  seed: number;
  /** Options for every node (profile 'test' unless given). */
  options?: Partial<NodeOptions> & { profile?: 'lan' | 'wan' | 'local' | 'test' };
  network?: Omit<MemoryNetworkInit, 'time' | 'random'>;
  /** Per-node clock skew in ms, uniform in [-skew, +skew]. @default 20 */
  clockSkewMs?: number;
}

export interface SimCluster {
  readonly seed: number;
  readonly time: VirtualTime;
  readonly network: MemoryNetwork;
  readonly random: SeededRandom;
  node(nodeId: string): RegistryCore;
  /** The transport of a node's current generation (tests inject messages through it). */
  transport(nodeId: string): Transport;
  /** Nodes currently running. */
  running(): RegistryCore[];
  startAll(): Promise<void>;
  /** Kills a node abruptly (no leave, nothing flushed). */
  crash(nodeId: string): void;
  /** Starts a fresh node (empty store) with the same id. */
  restart(nodeId: string): Promise<RegistryCore>;
  stop(nodeId: string): Promise<void>;
  partition(...groups: string[][]): void;
  heal(): void;
  advance(ms: number): Promise<void>;
  /** Advances in steps until `predicate` holds; returns the virtual ms it took, or throws. */
  until(predicate: () => boolean, maxMs: number, stepMs?: number): Promise<number>;
  /** Advances virtual time until `promise` settles; returns its value or rethrows. */
  settle<T>(promise: Promise<T>, maxMs?: number, stepMs?: number): Promise<T>;
  /** True when every running node has the same store digest. */
  converged(): boolean;
  /** Visible sid per name at a node. */
  visible(nodeId: string): Map<string, string>;
  /** Stops a node's processing, as SIGSTOP: timers and deliveries wait for `resume`. */
  pause(nodeId: string): void;
  resume(nodeId: string): void;
  /**
   * Blocks a node's event loop for `ms` from now, as a long GC pause or a busy-wait does:
   * nothing runs meanwhile (its connections stay up), then the timers that came due fire
   * first, before anything it received, as Node runs due timers before polling its sockets.
   */
  stall(nodeId: string, ms: number): void;
  isPaused(nodeId: string): boolean;
  /** Blackholes messages from the `from` nodes to the `to` nodes; connections stay up. */
  cutOneWay(from: readonly string[], to: readonly string[]): void;
  /** Sets a node's clock offset from virtual time, in ms. */
  setClockSkew(nodeId: string, skewMs: number): void;
  clockSkew(nodeId: string): number;
  /** Whether the node's current generation crashed (and was not restarted). */
  isCrashed(nodeId: string): boolean;
  /** Stops every node and cancels timers. */
  shutdown(): Promise<void>;
}

const peerOf = (nodeId: string): string => `peer-${nodeId}`;

export function simSeed(fallback: number): number {
  const fromEnv = process.env.SIM_SEED;
  return fromEnv === undefined ? fallback : Number(fromEnv);
}

export async function createSimCluster(init: SimClusterInit): Promise<SimCluster> {
  const time = createVirtualTime();
  const random = createSeededRandom(init.seed);
  const network = createMemoryNetwork({ time, random, ...init.network });
  const skewMax = init.clockSkewMs ?? 20;
  const nodes = new Map<string, RegistryCore>();
  const generation = new Map<string, number>();
  const transportsByNode = new Map<string, Transport>();
  const specs = new Map(init.nodes.map((s) => [s.nodeId, s]));
  const first = init.nodes[0]?.nodeId;
  /** Peer ids of crashed node generations. */
  const crashed = new Set<string>();

  const skews = new Map<string, number>();

  // A stopped (paused) process runs no timer: one that comes due waits for `resume`, then
  // fires, late, as Node's timers do after SIGCONT.
  const timersFor = (owner: () => boolean, peer: string): Timers => ({
    setTimer: (delayMs, callback) =>
      time.setTimer(delayMs, () => {
        if (!owner()) return;
        network.whenRunning(
          peer,
          () => {
            if (owner()) callback();
          },
          'timer',
        );
      }),
  });

  function build(spec: SimNodeSpec): RegistryCore {
    const gen = (generation.get(spec.nodeId) ?? 0) + 1;
    generation.set(spec.nodeId, gen);
    if (!skews.has(spec.nodeId)) {
      skews.set(spec.nodeId, Math.round((random.next() * 2 - 1) * skewMax));
    }
    const nodeId = spec.nodeId;
    const nodeRandom = createSeededRandom(random.nextUint32());
    const peerId = gen === 1 ? peerOf(spec.nodeId) : `${peerOf(spec.nodeId)}-${gen}`;
    // The address stays the node's across restarts, as a host's ip:port does.
    const transport = network.createTransport(peerId, { address: spec.nodeId });
    transportsByNode.set(spec.nodeId, transport);
    const alive = (): boolean => generation.get(spec.nodeId) === gen && !crashed.has(peerId);
    const core = createRegistryCore({
      options: {
        profile: 'test',
        ...init.options,
        nodeId: spec.nodeId,
        region: spec.region,
        weight: spec.weight ?? 1,
        seeds: first && first !== spec.nodeId ? [`memory/${first}`] : [],
      },
      transport,
      runtime: {
        clock: { nowMs: () => time.nowMs() + (skews.get(nodeId) ?? 0) },
        timers: timersFor(alive, peerId),
        random: nodeRandom,
      },
    });
    nodes.set(spec.nodeId, core);
    return core;
  }
  for (const spec of init.nodes) build(spec);

  const cluster: SimCluster = {
    seed: init.seed,
    time,
    network,
    random,
    node(nodeId) {
      const node = nodes.get(nodeId);
      if (!node) throw new Error(`no node ${nodeId}`);
      return node;
    },
    transport(nodeId) {
      const transport = transportsByNode.get(nodeId);
      if (!transport) throw new Error(`no node ${nodeId}`);
      return transport;
    },
    running: () =>
      [...nodes.values()].filter(
        (n) =>
          !crashed.has(peerIdOf(n)) &&
          (n.nodeState() === 'running' || n.nodeState() === 'resyncing'),
      ),
    async startAll() {
      for (const node of nodes.values()) await node.start();
    },
    crash(nodeId) {
      const peer = peerIdOf(cluster.node(nodeId));
      // The process is gone: its timers never fire again (timersFor checks `crashed`) and
      // its connections drop at once, as with SIGKILL.
      crashed.add(peer);
      network.crash(peer);
    },
    async restart(nodeId) {
      const spec = specs.get(nodeId);
      if (!spec) throw new Error(`no node ${nodeId}`);
      const node = build(spec);
      await node.start();
      return node;
    },
    async stop(nodeId) {
      await cluster.settle(cluster.node(nodeId).stop());
    },
    partition(...groups) {
      network.partition(...groups.map((g) => g.map((id) => peerIdOf(cluster.node(id)))));
    },
    heal() {
      network.heal();
    },
    advance: (ms) => time.advance(ms),
    async until(predicate, maxMs, stepMs = 50) {
      let waited = 0;
      while (!predicate()) {
        if (waited >= maxMs) {
          throw new Error(
            `condition not reached within ${maxMs} virtual ms (replay: SIM_SEED=${init.seed})`,
          );
        }
        await time.advance(stepMs);
        waited += stepMs;
      }
      return waited;
    },
    async settle(promise, maxMs = 10_000, stepMs = 1) {
      let done = false;
      const observed = promise.then(
        (value) => {
          done = true;
          return { ok: true as const, value };
        },
        (error: unknown) => {
          done = true;
          return { ok: false as const, error };
        },
      );
      await time.settle();
      let waited = 0;
      while (!done) {
        if (waited >= maxMs) {
          throw new Error(
            `promise not settled within ${maxMs} virtual ms (replay: SIM_SEED=${init.seed})`,
          );
        }
        await time.advance(stepMs);
        waited += stepMs;
      }
      const outcome = await observed;
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    },
    pause(nodeId) {
      network.pause(peerIdOf(cluster.node(nodeId)));
    },
    resume(nodeId) {
      network.resume(peerIdOf(cluster.node(nodeId)));
    },
    isPaused: (nodeId) => network.isPaused(peerIdOf(cluster.node(nodeId))),
    stall(nodeId, ms) {
      const peer = peerIdOf(cluster.node(nodeId));
      if (network.isPaused(peer)) throw new Error(`${nodeId} is already paused`);
      network.pause(peer);
      time.setTimer(ms, () => network.resume(peer, 'timers-first'));
    },
    cutOneWay(from, to) {
      network.cutOneWay(
        from.map((id) => peerIdOf(cluster.node(id))),
        to.map((id) => peerIdOf(cluster.node(id))),
      );
    },
    setClockSkew(nodeId, skewMs) {
      skews.set(nodeId, skewMs);
    },
    clockSkew: (nodeId) => skews.get(nodeId) ?? 0,
    isCrashed: (nodeId) => crashed.has(peerIdOf(cluster.node(nodeId))),
    converged() {
      const digests = new Set(cluster.running().map((n) => n.status().storeDigest));
      return digests.size === 1;
    },
    visible(nodeId) {
      const out = new Map<string, string>();
      for (const room of cluster.node(nodeId).listRooms()) out.set(room.name, room.sid);
      return out;
    },
    async shutdown() {
      const stopping = [...nodes.values()]
        .filter((node) => !crashed.has(peerIdOf(node)))
        .map((node) => node.stop());
      await cluster.settle(Promise.all(stopping));
    },
  };
  return cluster;
}

function peerIdOf(node: RegistryCore): string {
  return node.peerId;
}
