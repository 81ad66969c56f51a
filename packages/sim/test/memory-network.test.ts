import type { GossipMessage } from '@roomring/core';
import { describe, expect, it } from 'vitest';
import {
  createMemoryNetwork,
  createSeededRandom,
  createVirtualTime,
  MemoryTransportError,
} from '../src/index.js';

async function cluster(n: number, faults: { loss?: number; dup?: number } = {}) {
  const time = createVirtualTime();
  const network = createMemoryNetwork({
    time,
    random: createSeededRandom(7),
    gossipLossRate: faults.loss ?? 0,
    gossipDuplicateRate: faults.dup ?? 0,
  });
  const peers = Array.from({ length: n }, (_, i) => network.createTransport(`p${i}`));
  const received = peers.map(() => [] as GossipMessage[]);
  for (const [i, t] of peers.entries()) {
    await t.start();
    t.subscribe('rooms', (m) => {
      received[i]!.push(m);
      return 'accept';
    });
  }
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) void peers[i]!.dial(`memory/p${j}`, { timeoutMs: 100 });
  }
  await time.advance(10);
  return { time, network, peers, received };
}

describe('virtual time', () => {
  it('fires timers in due order and only when advanced', async () => {
    const time = createVirtualTime(1000);
    const fired: string[] = [];
    time.setTimer(20, () => fired.push('b'));
    time.setTimer(10, () => fired.push('a'));
    const cancel = time.setTimer(15, () => fired.push('cancelled'));
    time.setTimer(20, () => fired.push('c'));
    cancel();
    await time.advance(19);
    expect(fired).toEqual(['a']);
    await time.advance(1);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(time.nowMs()).toBe(1020);
    expect(time.pending()).toBe(0);
  });
});

describe('memory network', () => {
  it('delivers each gossip message exactly once to every subscriber, despite duplicates', async () => {
    const { time, peers, received } = await cluster(4, { dup: 0.5 });
    for (const p of peers) expect(p.connectedPeers()).toHaveLength(3);
    await peers[0]!.publish('rooms', new Uint8Array([1, 2, 3]));
    await time.advance(50);
    expect(received[0]).toHaveLength(0);
    for (let i = 1; i < 4; i++) {
      expect(received[i]).toHaveLength(1);
      expect(received[i]![0]!.origin).toBe('p0');
    }
  });

  it('loses gossip at the configured rate, but forwarding repairs part of it', async () => {
    const { time, peers, received, network } = await cluster(5, { loss: 0.3 });
    for (let k = 0; k < 200; k++) await peers[k % 5]!.publish('rooms', new Uint8Array([k]));
    await time.advance(100);
    const delivered = received.reduce((sum, r) => sum + r.length, 0);
    expect(network.stats().gossipLost).toBeGreaterThan(0);
    // Every message has 4 receivers; forwarding over the mesh makes most of them arrive.
    expect(delivered).toBeGreaterThan(200 * 4 * 0.8);
    expect(delivered).toBeLessThanOrEqual(200 * 4);
  });

  it('repairs what the mesh did not forward with IHAVE/IWANT at the next gossip heartbeat', async () => {
    // A chain p0 - p1 - p2 with no mesh: p1 takes p0's publish (a direct link) but forwards
    // nothing, so p2 gets it only from p1's lazy gossip; a stopped p1 advertises on resume.
    const chain = async (lazyDegree: number) => {
      const time = createVirtualTime(1_000_000);
      const network = createMemoryNetwork({
        time,
        random: createSeededRandom(3),
        meshDegree: 0,
        lazyDegree,
        latencyMsMin: 5,
        latencyMsMax: 5,
      });
      const peers = ['p0', 'p1', 'p2'].map((id) => network.createTransport(id));
      const arrivals: number[] = [];
      for (const [i, t] of peers.entries()) {
        await t.start();
        t.subscribe('rooms', () => {
          if (i === 2) arrivals.push(time.nowMs());
          return 'accept';
        });
      }
      void peers[0]!.dial('memory/p1', { timeoutMs: 100 });
      void peers[1]!.dial('memory/p2', { timeoutMs: 100 });
      await time.advance(20);
      return { time, network, peers, arrivals };
    };

    const lazy = await chain(2);
    const sentAt = lazy.time.nowMs();
    await lazy.peers[0]!.publish('rooms', new Uint8Array([1]));
    await lazy.time.advance(2_000);
    // p1's heartbeat within 1 s, then IHAVE, IWANT and the message: 3 hops of 5 ms.
    expect(lazy.arrivals).toHaveLength(1);
    expect(lazy.arrivals[0]! - sentAt).toBeGreaterThan(15);
    expect(lazy.arrivals[0]! - sentAt).toBeLessThanOrEqual(5 + 1_000 + 15);
    expect(lazy.network.stats().gossipRepaired).toBe(1);
    // Advertised again for two more heartbeats, but never delivered twice.
    await lazy.time.advance(5_000);
    expect(lazy.arrivals).toHaveLength(1);
    expect(lazy.time.pending()).toBe(0);

    const paused = await chain(2);
    await paused.peers[0]!.publish('rooms', new Uint8Array([1]));
    await paused.time.advance(10);
    paused.network.pause('p1');
    await paused.time.advance(3_000);
    expect(paused.arrivals).toHaveLength(0);
    paused.network.resume('p1');
    const resumedAt = paused.time.nowMs();
    await paused.time.advance(100);
    expect(paused.arrivals).toHaveLength(1);
    expect(paused.arrivals[0]! - resumedAt).toBeLessThanOrEqual(15);

    const none = await chain(0);
    await none.peers[0]!.publish('rooms', new Uint8Array([1]));
    await none.time.advance(5_000);
    expect(none.arrivals).toHaveLength(0);
    expect(none.network.stats().gossipRepaired).toBe(0);
  });

  it('keeps no mesh above meshDegreeHigh: a hub forwards to at most 4, lazy repair reaches the rest', async () => {
    // A star: 20 leaves joined through one hub. Without gossipsub's D_hi each leaf grafts the
    // hub (its only connection) and the hub forwards every leaf's message to all 19 others.
    const time = createVirtualTime(1_000_000);
    const network = createMemoryNetwork({ time, random: createSeededRandom(5) });
    const hub = network.createTransport('hub');
    const leaves = Array.from({ length: 20 }, (_, i) => network.createTransport(`leaf${i}`));
    const received = new Map<string, number>();
    for (const t of [hub, ...leaves]) {
      await t.start();
      t.subscribe('rooms', () => {
        received.set(t.peerId, (received.get(t.peerId) ?? 0) + 1);
        return 'accept';
      });
    }
    for (const leaf of leaves) void leaf.dial('memory/hub', { timeoutMs: 100 });
    await time.advance(20);
    expect(hub.connectedPeers()).toHaveLength(20);
    const before = network.traffic('hub').messagesOut;
    await leaves[0]!.publish('rooms', new Uint8Array([1]));
    await time.advance(20);
    // The hub's mesh: at most 4 peers, one of them possibly the sender.
    const forwarded = network.traffic('hub').messagesOut - before;
    expect(forwarded).toBeGreaterThan(0);
    expect(forwarded).toBeLessThanOrEqual(4);
    expect(received.get('hub')).toBe(1);
    expect([...received.keys()].filter((k) => k !== 'hub').length).toBe(forwarded);
    // IHAVE to 2 non-mesh peers per gossip heartbeat, 3 heartbeats: 6 more leaves at most.
    await time.advance(5_000);
    const reached = [...received.keys()].filter((k) => k !== 'hub').length;
    expect(reached).toBeGreaterThan(forwarded);
    expect(reached).toBeLessThanOrEqual(forwarded + 6);
    expect(network.stats().gossipRepaired).toBe(reached - forwarded);
  });

  it('partitions drop connections and refuse dials until healed', async () => {
    const { time, peers, network } = await cluster(4);
    const disconnects: string[] = [];
    peers[0]!.addListener({ peerDisconnected: (p) => disconnects.push(p) });
    network.partition(['p0', 'p1'], ['p2', 'p3']);
    expect(disconnects.sort()).toEqual(['p2', 'p3']);
    expect(peers[0]!.connectedPeers()).toEqual(['p1']);
    const dial = peers[0]!.dial('memory/p2', { timeoutMs: 100 }).catch((e: unknown) => e);
    await time.advance(10);
    expect(await dial).toBeInstanceOf(MemoryTransportError);
    network.heal();
    const redial = peers[0]!.dial('memory/p2', { timeoutMs: 100 });
    await time.advance(10);
    await expect(redial).resolves.toBe('p2');
  });

  it('streams response frames in order and enforces framesMax and deadlines', async () => {
    const { time, peers } = await cluster(2);
    peers[1]!.handle('/sync', async function* (request) {
      for (let i = 0; i < request[0]!; i++) yield new Uint8Array([i]);
    });
    const collect = async (count: number, framesMax: number, timeoutMs = 10_000) => {
      const out: number[] = [];
      const run = (async () => {
        for await (const f of peers[0]!.request('p1', '/sync', new Uint8Array([count]), {
          timeoutMs,
          framesMax,
        })) {
          out.push(f[0]!);
        }
      })();
      // Observe the outcome before advancing time, so a rejection is never unhandled.
      const outcome = run.then(
        () => ({ frames: out, error: undefined }),
        (error: unknown) => ({ frames: out, error }),
      );
      await time.advance(2_000);
      return outcome;
    };
    expect(await collect(20, 100)).toEqual({
      frames: Array.from({ length: 20 }, (_, i) => i),
      error: undefined,
    });
    expect((await collect(20, 5)).error).toMatchObject({ code: 'frames' });
    const late = await collect(50, 100, 30);
    expect(late.error).toMatchObject({ code: 'timeout' });
    expect(late.frames.length).toBeGreaterThan(0);
  });

  it("returns a stopped responder's stream when the request expires, once it continues (seed 9887)", async () => {
    const { time, network, peers } = await cluster(2);
    const log: string[] = [];
    peers[1]!.handle('/sync', async function* () {
      try {
        for (let i = 0; i < 10; i++) {
          log.push(`frame ${i}`);
          yield new Uint8Array([i]);
        }
      } finally {
        log.push('cleanup');
      }
    });
    const frames: number[] = [];
    const run = (async () => {
      for await (const f of peers[0]!.request('p1', '/sync', new Uint8Array([1]), {
        timeoutMs: 100,
        framesMax: 100,
      })) {
        frames.push(f[0]!);
        // Stopped after its first frame: the rest is not produced until it continues.
        if (frames.length === 1) network.pause('p1');
      }
    })();
    const outcome = run.then(
      () => undefined,
      (error: unknown) => error,
    );
    await time.advance(500);
    expect(await outcome).toMatchObject({ code: 'timeout' });
    expect(frames).toEqual([0]);
    network.resume('p1');
    await time.advance(100);
    // The responder's iterator was returned: its cleanup ran (the anti-entropy responder's
    // count of sessions served comes down here), and it produced nothing more.
    expect(log.at(-1)).toBe('cleanup');
    expect(log.filter((l) => l.startsWith('frame')).length).toBeLessThanOrEqual(2);
  });
});
