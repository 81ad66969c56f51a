/**
 * The transport contract (packages/core/test-support/transport-contract) on the simulator's
 * in-memory network, on virtual time: deadlines are asserted to the millisecond.
 */
import { Guard, type Transport } from '@roomring/core';
import {
  describeTransportContract,
  type TransportContractHarness,
} from '@roomring/core/transport-contract';
import {
  createMemoryNetwork,
  createSeededRandom,
  createVirtualTime,
  type MemoryNetworkInit,
  MemoryTransportError,
} from '../src/index.js';

/** Virtual ms `flushGossip` runs the clock: past every hop and the lazy repair window (IHAVE
 *  for 3 heartbeats of 1 s, then IWANT and the message), far below the 120 s seen-cache. */
const GOSSIP_SETTLE_MS = 10_000;
/** `until` advances the clock this far per step, so a condition is seen the ms it holds. */
const UNTIL_STEP_MS = 1;

type NetworkOptions = Omit<MemoryNetworkInit, 'time' | 'random'>;

function memoryHarness(
  seed: number,
  init: NetworkOptions = {},
  wrap: (transport: Transport) => Transport = (transport) => transport,
): TransportContractHarness {
  const time = createVirtualTime();
  const network = createMemoryNetwork({ time, random: createSeededRandom(seed), ...init });
  const transports: Transport[] = [];
  let next = 0;
  const start = async (): Promise<Transport> => {
    const transport = wrap(network.createTransport(`p${next++}`));
    transports.push(transport);
    await transport.start();
    return transport;
  };
  return {
    clock: 'virtual',
    timingSlackMs: 0,
    patienceMs: 10_000,
    async create(count) {
      const created: Transport[] = [];
      for (let i = 0; i < count; i++) created.push(await start());
      return created;
    },
    nowMs: () => time.nowMs(),
    sleep: (ms) => new Promise((resolve) => time.setTimer(ms, resolve)),
    async until(condition, withinMs, what) {
      const deadline = time.nowMs() + withinMs;
      await time.settle();
      while (!condition()) {
        if (time.nowMs() >= deadline) {
          throw new Error(`not within ${withinMs} virtual ms: ${what} (seed ${seed})`);
        }
        await time.advance(UNTIL_STEP_MS);
      }
    },
    // Subscriptions are known network-wide at once and meshes are picked on connect.
    gossipReady: async () => undefined,
    flushGossip: () => time.advance(GOSSIP_SETTLE_MS),
    refusedAddress: async () => 'memory/nobody-listens-here',
    async unresponsiveAddress() {
      // A stopped process (SIGSTOP): the kernel takes the connection, the handshake never ends.
      const hung = await start();
      network.pause(hung.peerId);
      return hung.listenAddresses()[0]!;
    },
    errorKind: (error) => (error instanceof MemoryTransportError ? error.code : undefined),
    async close() {
      for (const transport of transports) await transport.stop();
    },
  };
}

/*
 * Every case runs here: the memory network's requests race one deadline, the caller's signal
 * and the link's closing at every step, as libp2p's single deadline signal does (the contract
 * found a silent or stalled handler left a request pending forever). Known differences the
 * Transport interface promises nothing about, so the contract does not test them
 * (docs/architecture.md, "Transports"): libp2p's request() redials a known peer, the memory
 * network's answers unreachable; its gossip mesh is chosen over all connections, not per
 * topic (every node subscribes to the same topics); its response frames are not pipelined
 * (one hop each).
 */
describeTransportContract('memory network', () => memoryHarness(1));

// Duplicated hops exercise duplicate suppression on every path; jitter reorders hops.
describeTransportContract('memory network, duplicated gossip hops and 1-20 ms jitter', () =>
  memoryHarness(2, { gossipDuplicateRate: 0.5, latencyMsMin: 1, latencyMsMax: 20 }),
);

// The node sees its transport through its guard (core/src/guards.ts), which catches what
// handlers and listeners throw: the decorator must keep every promise of the contract.
describeTransportContract('memory network behind the node guard', () =>
  memoryHarness(3, {}, (transport) => new Guard(() => undefined).transport(transport)),
);
