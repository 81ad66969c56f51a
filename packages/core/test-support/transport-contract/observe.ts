/**
 * Helpers the contract cases share: every async operation is observed (`track`) and waited
 * for through the harness (`until`), so the same case runs on virtual time, where nothing
 * happens unless the clock is driven, and on a real network.
 */
import { expect } from 'vitest';
import type {
  GossipMessage,
  GossipVerdict,
  RequestHandler,
  Transport,
} from '../../src/transport.js';
import type { TransportContractHarness, TransportErrorKind } from './harness.js';

type Harness = TransportContractHarness;

/** Generous for a dial on loopback or in memory; the cases that time dials set their own. */
export const DIAL_TIMEOUT_MS = 5_000;
/** A real timer may fire this much before its nominal time as measured from outside. */
const EARLY_TOLERANCE_MS = 5;

export interface Outcome<T> {
  settled: boolean;
  value?: T;
  error?: unknown;
  /** `harness.nowMs()` when it settled. */
  atMs?: number;
}

/** Observes a promise without awaiting it (its rejection is never unhandled). */
export function track<T>(harness: Harness, promise: Promise<T>): Outcome<T> {
  const outcome: Outcome<T> = { settled: false };
  promise.then(
    (value) => {
      outcome.value = value;
      outcome.atMs = harness.nowMs();
      outcome.settled = true;
    },
    (error: unknown) => {
      outcome.error = error;
      outcome.atMs = harness.nowMs();
      outcome.settled = true;
    },
  );
  return outcome;
}

/** Waits (driving virtual time) until `outcome` settles, within the harness's patience. */
export async function settled<T>(
  harness: Harness,
  outcome: Outcome<T>,
  what: string,
  withinMs = harness.patienceMs,
): Promise<Outcome<T>> {
  await harness.until(() => outcome.settled, withinMs, what);
  return outcome;
}

/** The value `promise` resolves with; fails the case if it rejects or takes too long. */
export async function eventually<T>(harness: Harness, promise: Promise<T>, what: string) {
  const outcome = await settled(harness, track(harness, promise), what);
  if (outcome.error !== undefined) throw outcome.error;
  return outcome.value as T;
}

/** Asserts `outcome` rejected with a failure of one of `kinds`. */
export function expectKind(
  harness: Harness,
  outcome: Outcome<unknown>,
  kinds: readonly TransportErrorKind[],
  what: string,
): void {
  expect(outcome.settled, `${what}: settled`).toBe(true);
  expect(outcome.error, `${what}: rejected`).toBeInstanceOf(Error);
  const kind = harness.errorKind(outcome.error);
  expect(kinds, `${what}: ${String(outcome.error)} is ${kind ?? 'untyped'}`).toContain(kind);
}

/** Asserts something the transport timed happened at `timeoutMs` after `startedAtMs`:
 *  exactly on virtual time, within the harness's slack on a real clock. */
export function expectAtDeadline(
  harness: Harness,
  startedAtMs: number,
  outcome: Outcome<unknown>,
  timeoutMs: number,
  what: string,
): void {
  const elapsedMs = (outcome.atMs ?? Number.NaN) - startedAtMs;
  if (harness.clock === 'virtual') {
    expect(elapsedMs, `${what}: virtual ms after the start`).toBe(timeoutMs);
  } else {
    expect(elapsedMs, `${what}: not before the deadline`).toBeGreaterThanOrEqual(
      timeoutMs - EARLY_TOLERANCE_MS,
    );
    expect(elapsedMs, `${what}: not long after the deadline`).toBeLessThanOrEqual(
      timeoutMs + harness.timingSlackMs,
    );
  }
}

/** A response stream read to its end in the background: frames as they arrive, and how it
 *  ended. */
export interface StreamRead {
  readonly frames: Uint8Array[];
  readonly outcome: Outcome<void>;
  /** `harness.nowMs()` when reading started (the deadline's origin). */
  readonly startedAtMs: number;
}

export function readStream(harness: Harness, frames: AsyncIterable<Uint8Array>): StreamRead {
  const received: Uint8Array[] = [];
  const startedAtMs = harness.nowMs();
  const done = (async () => {
    for await (const frame of frames) received.push(frame);
  })();
  return { frames: received, outcome: track(harness, done), startedAtMs };
}

/** A stream read to its end: the frames, or the failure (with the frames before it). */
export async function readAll(
  harness: Harness,
  frames: AsyncIterable<Uint8Array>,
  what: string,
): Promise<StreamRead> {
  const read = readStream(harness, frames);
  await settled(harness, read.outcome, what);
  return read;
}

/** Creates a requester and a responder, connected (requester dialled). */
export async function pair(harness: Harness): Promise<{ client: Transport; server: Transport }> {
  const [server, client] = await harness.create(2);
  await connect(harness, client!, server!);
  return { client: client!, server: server! };
}

/** `a` dials `b` at its first listen address; resolves once both list the other. */
export async function connect(harness: Harness, a: Transport, b: Transport): Promise<void> {
  const address = b.listenAddresses()[0];
  expect(address, `${b.peerId} listens`).toBeTypeOf('string');
  const peer = await eventually(
    harness,
    a.dial(address!, { timeoutMs: DIAL_TIMEOUT_MS }),
    `${a.peerId} dials ${b.peerId}`,
  );
  expect(peer).toBe(b.peerId);
  await harness.until(
    () => a.connectedPeers().includes(b.peerId) && b.connectedPeers().includes(a.peerId),
    harness.patienceMs,
    `${a.peerId} and ${b.peerId} connected both ways`,
  );
}

/** Subscribes `node` to `topic`; returns the list its handler fills, in arrival order. */
export function inbox(
  node: Transport,
  topic: string,
  verdict: (message: GossipMessage) => GossipVerdict = () => 'accept',
): GossipMessage[] {
  const received: GossipMessage[] = [];
  node.subscribe(topic, (message) => {
    received.push(message);
    return verdict(message);
  });
  return received;
}

/** Records a transport's listener events as `+peer` / `-peer`, in order. */
export function connectionEvents(node: Transport): string[] {
  const events: string[] = [];
  node.addListener({
    peerConnected: (peer) => events.push(`+${peer}`),
    peerDisconnected: (peer) => events.push(`-${peer}`),
  });
  return events;
}

export interface Gate {
  readonly promise: Promise<void>;
  open(): void;
}

/** A promise the case resolves when it chooses (a handler that waits for it hangs until). */
export function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** A handler that answers nothing until `release()`; `entered()` counts the requests it holds. */
export interface HoldingHandler {
  readonly handler: RequestHandler;
  /** Resolves at `release()` (for other handlers of the case that must hang as long). */
  readonly released: Promise<void>;
  entered(): number;
  release(): void;
}

export function holdingHandler(): HoldingHandler {
  const released = gate();
  let entered = 0;
  return {
    handler: async () => {
      entered++;
      await released.promise;
      return bytes('too late');
    },
    released: released.promise,
    entered: () => entered,
    release: () => released.open(),
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const bytes = (value: string): Uint8Array => encoder.encode(value);
export const text = (value: Uint8Array): string => decoder.decode(value);

/** Frame `i` of a numbered stream: `i` as 4 big-endian bytes. */
export function numbered(i: number): Uint8Array {
  const frame = new Uint8Array(4);
  new DataView(frame.buffer).setUint32(0, i);
  return frame;
}

export function numberOf(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0);
}

/** Asserts `frames` are frames 0..k-1 of a numbered stream (nothing lost, nothing out of
 *  order) for some k <= `most`. */
export function expectNumberedPrefix(frames: readonly Uint8Array[], most: number): void {
  expect(frames.length).toBeLessThanOrEqual(most);
  expect(frames.map(numberOf)).toEqual(Array.from({ length: frames.length }, (_, i) => i));
}

/** One case of the contract: a title for the test runner and the body, given a fresh harness. */
export interface ContractCase {
  readonly title: string;
  run(harness: Harness): Promise<void>;
}
