import type { GossipMessage as GossipMessageLike } from '@roomring/core';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateClusterKey, type Libp2pTransport, MessageTooLargeError } from '../src/index.js';
import {
  connectRing,
  deferred,
  failure,
  hostPort,
  nextTurn,
  startNodes,
  stopAll,
  str,
  text,
} from './helpers.js';

const TOPIC = 'roomring/rooms/v1';
const DIAL = { timeoutMs: 5_000 };
const WAIT = { timeoutMs: 10_000 };

describe('gossip across a ring of 4 nodes dialled by host:port', () => {
  const key = generateClusterKey();
  let nodes: Libp2pTransport[] = [];
  /** received[i] = messages node i's handler saw, in order. */
  const received: GossipMessageLike[][] = [[], [], [], []];
  const waiters: Array<{ node: number; count: number; done: () => void }> = [];

  function onMessage(index: number, message: GossipMessageLike) {
    received[index]!.push(message);
    for (const waiter of waiters) {
      if (waiter.node === index && received[index]!.length >= waiter.count) waiter.done();
    }
  }

  function untilReceived(index: number, count: number): Promise<void> {
    if (received[index]!.length >= count) return Promise.resolve();
    const done = deferred();
    waiters.push({ node: index, count, done: () => done.resolve() });
    return done.promise;
  }

  beforeAll(async () => {
    nodes = await startNodes(key, 4);
    nodes.forEach((node, i) => {
      node.subscribe(TOPIC, (message) => {
        onMessage(i, message);
        return 'accept';
      });
    });
    // Duplicates are guaranteed to reach the gossip layer: each message travels two paths.
    await connectRing(nodes, TOPIC);
  });

  afterAll(async () => {
    await stopAll(nodes);
  });

  it('delivers every message exactly once to every other node, with the signed origin', async () => {
    const perNode = 5;
    for (let k = 0; k < perNode; k++) {
      await Promise.all(nodes.map((node, i) => node.publish(TOPIC, text(`m:${i}:${k}`))));
    }
    const expected = (nodes.length - 1) * perNode;
    await Promise.all(nodes.map((_, i) => untilReceived(i, expected)));
    // Fence: once a node has everything, it publishes a fence. A stream delivers in order, so
    // when a node has every neighbour's fence, any duplicate its neighbours forwarded before
    // their fence has already arrived (and would be in `received`).
    await nextTurn();
    await Promise.all(nodes.map((node, i) => node.publish(TOPIC, text(`fence:${i}`))));
    await Promise.all(nodes.map((_, i) => untilReceived(i, expected + nodes.length - 1)));

    const ids = nodes.map((node) => node.peerId);
    nodes.forEach((_, i) => {
      const counts = new Map<string, number>();
      for (const message of received[i]!) {
        const body = str(message.data);
        counts.set(body, (counts.get(body) ?? 0) + 1);
        const publisher = Number(body.split(':')[1]);
        expect(publisher).not.toBe(i); // emitSelf is off
        expect(message.origin).toBe(ids[publisher]);
        expect(message.topic).toBe(TOPIC);
        // Forwarded by a ring neighbour; the opposite node can only arrive forwarded.
        const neighbours = [ids[(i + 1) % 4], ids[(i + 3) % 4]];
        expect(neighbours).toContain(message.propagationSource);
        if (publisher === (i + 2) % 4) expect(message.propagationSource).not.toBe(message.origin);
      }
      expect(counts.size).toBe(expected + nodes.length - 1);
      expect([...counts.values()].every((count) => count === 1)).toBe(true);
    });
  });

  it('reports the peers a publish was sent to', async () => {
    // floodPublish: a node's own message goes to every subscribed neighbour.
    const result = await nodes[0]!.publish(TOPIC, text('x:0:recipients'));
    expect(result.recipients).toBe(2);
  });
});

describe('gossip on a line A - B - C', () => {
  const key = generateClusterKey();
  let nodes: Libp2pTransport[] = [];
  afterEach(async () => {
    await stopAll(nodes);
    nodes = [];
  });

  async function line(
    handlers: Array<(message: GossipMessageLike) => 'accept' | 'ignore' | 'reject'>,
  ): Promise<Libp2pTransport[]> {
    nodes = await startNodes(key, 3);
    nodes.forEach((node, i) => {
      node.subscribe(TOPIC, handlers[i]!);
    });
    await nodes[0]!.dial(hostPort(nodes[1]!), DIAL);
    await nodes[2]!.dial(hostPort(nodes[1]!), DIAL);
    await nodes[1]!.waitForTopicPeers(TOPIC, 2, { ...WAIT, mesh: true });
    await nodes[0]!.waitForTopicPeers(TOPIC, 1, { ...WAIT, mesh: true });
    await nodes[2]!.waitForTopicPeers(TOPIC, 1, { ...WAIT, mesh: true });
    return nodes;
  }

  it("a validator's reject stops forwarding, accept forwards", async () => {
    const atB: string[] = [];
    const atC: GossipMessageLike[] = [];
    const cGotGood = deferred();
    const cGotFence = deferred();
    const [a, b] = await line([
      () => 'accept',
      (message) => {
        atB.push(str(message.data));
        return str(message.data).startsWith('bad') ? 'reject' : 'accept';
      },
      (message) => {
        atC.push(message);
        if (str(message.data) === 'good') cGotGood.resolve();
        if (str(message.data) === 'fence') cGotFence.resolve();
        return 'accept';
      },
    ]);
    await a!.publish(TOPIC, text('bad'));
    await a!.publish(TOPIC, text('good'));
    await cGotGood.promise;
    // B saw both; its forward of anything it accepted precedes its own fence on the stream.
    expect(atB).toEqual(['bad', 'good']);
    await nextTurn();
    await b!.publish(TOPIC, text('fence'));
    await cGotFence.promise;
    expect(atC.map((message) => str(message.data))).toEqual(['good', 'fence']);
    const good = atC[0]!;
    expect(good.origin).toBe(a!.peerId);
    expect(good.propagationSource).toBe(b!.peerId);
    expect(b!.metrics().gossipRejected).toBe(1);
    expect(b!.metrics().gossipAccepted).toBe(1);
  });

  it('a handler that throws ignores the message and the node keeps running', async () => {
    const atC: string[] = [];
    const cGotLater = deferred();
    let throws = true;
    const [a, b] = await line([
      () => 'accept',
      () => {
        if (throws) {
          throws = false;
          throw new Error('handler bug');
        }
        return 'accept';
      },
      (message) => {
        atC.push(str(message.data));
        if (str(message.data) === 'later') cGotLater.resolve();
        return 'accept';
      },
    ]);
    await a!.publish(TOPIC, text('first'));
    await a!.publish(TOPIC, text('later'));
    await cGotLater.promise;
    expect(atC).toEqual(['later']);
    expect(b!.metrics().gossipHandlerErrors).toBe(1);
  });

  it('rejects a message over gossipMessageBytesMax before any handler sees it', async () => {
    nodes = await startNodes(key, 1); // sender with the default 1 MiB limit
    const [small] = await startNodes(key, 1, { gossipMessageBytesMax: 64 * 1024 });
    nodes.push(small!);
    const [big] = nodes;
    const seen: number[] = [];
    const gotSmall = deferred();
    big!.subscribe(TOPIC, () => 'accept');
    small!.subscribe(TOPIC, (message) => {
      seen.push(message.data.byteLength);
      gotSmall.resolve();
      return 'accept';
    });
    await small!.dial(hostPort(big!), DIAL);
    await big!.waitForTopicPeers(TOPIC, 1, WAIT);
    await big!.publish(TOPIC, new Uint8Array(100 * 1024));
    await big!.publish(TOPIC, new Uint8Array(10));
    await gotSmall.promise;
    expect(seen).toEqual([10]);
    expect(small!.metrics().gossipTooLarge).toBe(1);
    // And the local side refuses to publish over its own limit.
    const error = await failure(() => small!.publish(TOPIC, new Uint8Array(64 * 1024 + 1)));
    expect(error).toBeInstanceOf(MessageTooLargeError);
  });

  it('delivers arbitrary payloads byte for byte (property, 25 runs)', async () => {
    nodes = await startNodes(key, 2);
    const [a, b] = nodes;
    let pending: ((message: GossipMessageLike) => void) | undefined;
    b!.subscribe(TOPIC, (message) => {
      pending?.(message);
      return 'accept';
    });
    a!.subscribe(TOPIC, () => 'accept');
    await b!.dial(hostPort(a!), DIAL);
    await a!.waitForTopicPeers(TOPIC, 1, WAIT);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 4096 }), async (payload) => {
        const got = new Promise<GossipMessageLike>((resolve) => {
          pending = resolve;
        });
        await a!.publish(TOPIC, payload);
        const message = await got;
        expect(message.origin).toBe(a!.peerId);
        expect(Array.from(message.data)).toEqual(Array.from(payload));
      }),
      { numRuns: 25, seed: 20_250_101 },
    );
  });
});

describe('publish with no peers', () => {
  let nodes: Libp2pTransport[] = [];
  afterEach(async () => {
    await stopAll(nodes);
    nodes = [];
  });

  it('resolves with recipients 0, subscribed or not', async () => {
    nodes = await startNodes(generateClusterKey(), 1);
    const [node] = nodes;
    expect(await node!.publish('nobody-listens', text('hello'))).toEqual({ recipients: 0 });
    node!.subscribe(TOPIC, () => 'accept');
    expect(await node!.publish(TOPIC, text('hello'))).toEqual({ recipients: 0 });
    expect(node!.metrics().gossipPublished).toBe(2);
  });
});

describe('gossip link watchdog', () => {
  let nodes: Libp2pTransport[] = [];
  afterEach(async () => {
    await stopAll(nodes);
    nodes = [];
  });

  it('hangs up a peer whose gossip stream overflowed, so membership can redial it', async () => {
    const key = generateClusterKey();
    // A tiny per-peer queue and the smallest window: a burst overflows the queue at once.
    const [sender] = await startNodes(key, 1, {
      gossipOutboundBufferBytesMax: 64 * 1024,
      streamWindowBytesMax: 256 * 1024,
      gossipHeartbeatIntervalMs: 100,
    });
    const [receiver] = await startNodes(key, 1, { gossipHeartbeatIntervalMs: 100 });
    nodes = [sender!, receiver!];
    sender!.subscribe(TOPIC, () => 'accept');
    receiver!.subscribe(TOPIC, () => 'accept');
    const disconnected = deferred<string>();
    receiver!.addListener({ peerDisconnected: (peer) => disconnected.resolve(peer) });
    await receiver!.dial(hostPort(sender!), DIAL);
    await sender!.waitForTopicPeers(TOPIC, 1, WAIT);
    // 40 x 60 KiB queued within one tick: far past the 256 KiB window plus the 64 KiB queue.
    const results = await Promise.all(
      Array.from({ length: 40 }, () => sender!.publish(TOPIC, new Uint8Array(60 * 1024))),
    );
    expect(results.at(-1)).toEqual({ recipients: 0 }); // the stream was aborted midway
    expect(sender!.topicPeers(TOPIC)).toEqual([]);
    // The watchdog notices within GOSSIP_LINK_GRACE_HEARTBEATS (5 x 100 ms) and hangs up.
    expect(await disconnected.promise).toBe(sender!.peerId);
    expect(sender!.metrics().gossipLinksReset).toBe(1);
  });
});
