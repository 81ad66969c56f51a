/**
 * The transport contract (packages/core/test-support/transport-contract) on real libp2p nodes
 * on 127.0.0.1 with ephemeral ports: wall-clock deadlines, asserted within a slack.
 */
import type { Server, Socket } from 'node:net';
import {
  describeTransportContract,
  type TransportContractHarness,
  type TransportErrorKind,
} from '@roomring/core/transport-contract';
import {
  DialTimeoutError,
  generateClusterKey,
  type Libp2pTransport,
  PeerUnreachableError,
  ProtocolNotSupportedError,
  RemoteHandlerError,
  RequestAbortedError,
  RequestTimeoutError,
  ResponseIncompleteError,
  TooManyFramesError,
  TransportStoppedError,
} from '../src/index.js';
import {
  closeServer,
  LOOPBACK,
  nextTurn,
  silentServer,
  startNodes,
  stopAll,
  str,
  text,
  until,
} from './helpers.js';

/** Every harness node subscribes to this topic; `flushGossip` publishes fences on it. */
const FENCE_TOPIC = 'contract/fence';
/** How late a deadline may fire. Measured here at load average 12 on 2 cores: 0-2.5 ms late
 *  (timer, then the rejection crossing a few awaits). 250 ms is 100x that and still half
 *  the contract's 500 ms deadlines, so a transport that waits twice the deadline fails. */
const TIMING_SLACK_MS = 250;
const PATIENCE_MS = 10_000;

const KINDS: ReadonlyArray<[new (...args: never[]) => Error, TransportErrorKind]> = [
  [PeerUnreachableError, 'unreachable'],
  [DialTimeoutError, 'timeout'],
  [RequestTimeoutError, 'timeout'],
  [RequestAbortedError, 'aborted'],
  [ResponseIncompleteError, 'closed'],
  [TransportStoppedError, 'closed'],
  [RemoteHandlerError, 'remote'],
  [ProtocolNotSupportedError, 'remote'],
  [TooManyFramesError, 'frames'],
];

function libp2pHarness(): TransportContractHarness<Libp2pTransport> {
  const key = generateClusterKey();
  const nodes: Libp2pTransport[] = [];
  const servers: Array<{ server: Server; sockets: Socket[] }> = [];
  /** Per node: `<sender>\n<round>` of every fence it received. */
  const fences = new Map<string, Set<string>>();
  let round = 0;

  /**
   * Gossipsub sends a peer everything over one outbound stream, in order. So once X has
   * a fence its neighbour N published after N's handler had seen every message of the case,
   * any copy N sent or forwarded to X before it has arrived too. Fences are 'ignore'd, so each
   * comes straight from its publisher and none is suppressed as a duplicate of a forward.
   */
  async function flushGossip(group: readonly Libp2pTransport[]): Promise<void> {
    const ids = new Set(group.map((node) => node.peerId));
    const neighbours = (node: Libp2pTransport) =>
      node.connectedPeers().filter((peer) => ids.has(peer));
    // Forwards of messages a handler just accepted are queued after the validator returns.
    await nextTurn();
    await until(
      () =>
        group.every((node) =>
          neighbours(node).every((peer) => node.topicPeers(FENCE_TOPIC).includes(peer)),
        ),
      PATIENCE_MS,
      'fence subscriptions',
    );
    round++;
    await Promise.all(group.map((node) => node.publish(FENCE_TOPIC, text(String(round)))));
    await until(
      () =>
        group.every((node) =>
          neighbours(node).every((peer) => fences.get(node.peerId)?.has(`${peer}\n${round}`)),
        ),
      PATIENCE_MS,
      `fence ${round} from every neighbour`,
    );
  }

  return {
    clock: 'real',
    timingSlackMs: TIMING_SLACK_MS,
    patienceMs: PATIENCE_MS,
    async create(count) {
      const started = await startNodes(key, count);
      for (const node of started) {
        const seen = new Set<string>();
        fences.set(node.peerId, seen);
        node.subscribe(FENCE_TOPIC, (message) => {
          seen.add(`${message.propagationSource}\n${str(message.data)}`);
          return 'ignore';
        });
      }
      nodes.push(...started);
      return started;
    },
    nowMs: () => performance.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    until,
    gossipReady: (node, topic, peers) =>
      node.waitForTopicPeers(topic, peers, { timeoutMs: PATIENCE_MS, mesh: true }),
    flushGossip,
    async refusedAddress() {
      const { server, port } = await silentServer();
      await closeServer(server);
      return `${LOOPBACK}:${port}`;
    },
    async unresponsiveAddress() {
      const silent = await silentServer();
      servers.push(silent);
      return `${LOOPBACK}:${silent.port}`;
    },
    errorKind: (error) => KINDS.find(([type]) => error instanceof type)?.[1],
    async close() {
      await stopAll(nodes);
      for (const { server, sockets } of servers) {
        for (const socket of sockets) socket.destroy();
        await closeServer(server);
      }
    },
  };
}

describeTransportContract('libp2p', libp2pHarness);
