import { createServer, type Server, type Socket } from 'node:net';
import type { Libp2p } from '@libp2p/interface';
import {
  createLibp2pTransport,
  type Libp2pTransport,
  type Libp2pTransportInit,
} from '../src/index.js';

/** Every test node listens on loopback only; nothing leaves 127.0.0.1. */
export const LOOPBACK = '127.0.0.1';

export type NodeInit = Omit<Libp2pTransportInit, 'clusterKey'>;

/** Creates and starts `count` transports on 127.0.0.1 with one cluster key. */
export async function startNodes(
  clusterKey: string,
  count: number,
  init: NodeInit = {},
): Promise<Libp2pTransport[]> {
  const nodes = Array.from({ length: count }, () =>
    createLibp2pTransport({ ...init, clusterKey, listenHost: LOOPBACK, listenPort: 0 }),
  );
  await Promise.all(nodes.map((node) => node.start()));
  return nodes;
}

export async function stopAll(nodes: readonly Libp2pTransport[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.stop()));
}

/** The libp2p node inside a started transport, for tests that reach below its API. */
export function rawNode(transport: Libp2pTransport): Libp2p {
  return (transport as unknown as { running: { node: Libp2p } }).running.node;
}

/** `127.0.0.1:<port>` of a started node, taken from its own listen address. */
export function hostPort(node: Libp2pTransport): string {
  const address = node.listenAddresses()[0];
  const match = address === undefined ? null : /^\/ip4\/([\d.]+)\/tcp\/(\d+)\//.exec(address);
  if (match === null) throw new Error(`no ip4/tcp listen address: ${address}`);
  return `${match[1]}:${match[2]}`;
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** One turn of the event loop (setImmediate), not a timed sleep: lets callbacks that were
 *  already scheduled (gossipsub forwarding after a validator returned) run first. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Collects an async iterable (a response stream). */
export async function collect(frames: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const frame of frames) out.push(frame);
  return out;
}

/** The error an async function rejects with (fails the test if it resolves). */
export async function failure(run: () => Promise<unknown>): Promise<Error> {
  try {
    await run();
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error('expected a rejection, but it resolved');
}

export const text = (value: string): Uint8Array => new TextEncoder().encode(value);
export const str = (value: Uint8Array): string => new TextDecoder().decode(value);

/** Polls `condition` every 10 ms until it holds; fails after `timeoutMs`. For state that has no
 *  event to wait on (e.g. a counter on the far side of a connection). */
export async function until(
  condition: () => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A TCP server on loopback that accepts and never says a word (a hung peer). */
export async function silentServer(): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port, sockets };
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Wires four nodes into the ring 0-1-2-3-0 and waits until each has both ring neighbours in
 * its `topic` mesh. 0 and 2 (and 1 and 3) are not connected: their messages reach each other
 * only by forwarding, over two paths each.
 */
export async function connectRing(nodes: readonly Libp2pTransport[], topic: string): Promise<void> {
  for (const [from, to] of [
    [1, 0],
    [2, 1],
    [3, 2],
    [0, 3],
  ] as const) {
    const peer = await nodes[from]!.dial(hostPort(nodes[to]!), { timeoutMs: 5_000 });
    if (peer !== nodes[to]!.peerId) throw new Error(`node ${from} dialled ${peer}, not node ${to}`);
  }
  await Promise.all(
    nodes.map((node) => node.waitForTopicPeers(topic, 2, { timeoutMs: 10_000, mesh: true })),
  );
}
