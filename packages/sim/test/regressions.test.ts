/**
 * Defects a review reproduced with this simulator (issue #10), one test each, named after the
 * scenario. Each failed before its fix.
 */
import {
  MEMBERSHIP_TOPIC,
  NodeNotReadyError,
  REPLICATE_PROTOCOL,
  ROOMS_TOPIC,
  RoomNotFoundError,
  UnavailableError,
} from '@roomring/core';
import { decodeMessage, encodeMessage, packHlc } from '@roomring/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { type SimCluster, simSeed } from '../src/index.js';
import { allAlive, assertConverged, FIVE_NODES, startedCluster } from './helpers.js';

let cluster: SimCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

const NODE_IDS = FIVE_NODES.map((n) => n.nodeId);

function roomCounts(c: SimCluster): number[] {
  return c.running().map((n) => n.roomCount());
}

/** A heartbeat as a forger would send it: no addresses, a made-up region. */
function forgedHeartbeat(
  c: SimCluster,
  nodeId: string,
  incarnation: number,
  state: 'alive' | 'left',
): Uint8Array {
  return encodeMessage({
    type: 'heartbeat',
    nodeId,
    region: 'nowhere',
    incarnation,
    state,
    weight: 100,
    httpUrl: '',
    p2pAddrs: [],
    roomCount: 0,
    ringChecksum: '',
    storeDigest: '',
    sentAt: packHlc(c.time.nowMs(), 0),
    seq: 1,
    historySinceMs: 0,
  });
}

describe('a lone survivor', () => {
  for (const [label, tombstoneTtlMs] of [
    ['10 s', 10_000],
    ['the default 1 h', undefined],
  ] as const) {
    it(`that served alone past tombstoneTtlMs (${label}) keeps every room, and nodes restarted empty get them all`, async () => {
      const c = await startedCluster({
        seed: simSeed(201),
        options: tombstoneTtlMs === undefined ? {} : { tombstoneTtlMs },
      });
      cluster = c;
      const ttlMs = c.node('use-1').config.tombstoneTtlMs;
      for (let i = 0; i < 20; i++) {
        await c.settle(c.node(NODE_IDS[i % NODE_IDS.length]!).createRoom({ name: `keep-${i}` }));
      }
      await c.until(() => c.converged(), 5_000);
      const survivor = 'usw-1';
      const others = NODE_IDS.filter((id) => id !== survivor);
      for (const id of others) c.crash(id);
      await c.advance(ttlMs + 2_000);
      expect(c.node(survivor).roomCount()).toBe(20);
      for (const id of others) await c.restart(id);
      await c.until(
        () => allAlive(c) && c.converged() && roomCounts(c).every((n) => n === 20),
        20_000,
      );
      const view = assertConverged(c);
      expect(view.size).toBe(20);
    });
  }
});

describe('a re-create after a delete whose gossip was lost', () => {
  it('stays visible on every node: the owner does not supersede it with the deleted room', async () => {
    const c = await startedCluster({ seed: simSeed(202) });
    cluster = c;
    // A name, a deleter D and a re-creator R such that D's replica partners include R but
    // not the owner O, so O misses the delete when D's gossip is lost.
    let plan: { name: string; owner: string; deleter: string; recreator: string } | undefined;
    for (let i = 0; plan === undefined && i < 200; i++) {
      const name = `phoenix-${i}`;
      const owner = c.node('use-1').ownerOf(name).owner!;
      for (const deleter of NODE_IDS) {
        if (deleter === owner) continue;
        const partners = c.node(deleter).ownerOf(name).partners;
        const recreator = partners.find((p) => p !== owner);
        if (!partners.includes(owner) && recreator) {
          plan = { name, owner, deleter, recreator };
          break;
        }
      }
    }
    if (!plan) throw new Error('no suitable name');
    const { name, owner, deleter, recreator } = plan;
    // The room is created by the owner's region... anywhere: its home region must be the
    // owner's, so create it at the owner.
    const first = await c.settle(c.node(owner).createRoom({ name }));
    await c.until(() => c.running().every((n) => n.getRoom(name)?.sid === first.sid), 2_000);
    const deleterPeer = c.node(deleter).peerId;
    c.network.setFilter((e) =>
      e.kind === 'gossip' && e.from === deleterPeer && e.channel === ROOMS_TOPIC
        ? 'drop'
        : 'deliver',
    );
    await c.settle(c.node(deleter).deleteRoom(name));
    c.network.setFilter(undefined);
    expect(c.node(owner).getRoom(name)?.sid).toBe(first.sid);
    expect(c.node(recreator).getRoom(name)).toBeUndefined();
    const second = await c.settle(c.node(recreator).createRoom({ name }));
    expect(second.sid).not.toBe(first.sid);
    await c.advance(3_000);
    await c.until(() => c.converged(), 10_000);
    for (const node of c.running()) expect(node.getRoom(name)?.sid).toBe(second.sid);
  });
});

describe('the incarnation limit', () => {
  it('keeps merge commutative: 255 cycles, a create on each side of a partition, heal, one sid everywhere', async () => {
    const c = await startedCluster({ seed: simSeed(203) });
    cluster = c;
    const name = 'busy';
    for (let i = 0; i < 255; i++) {
      await c.settle(c.node('use-1').createRoom({ name }));
      await c.settle(c.node('use-1').deleteRoom(name));
    }
    await c.until(() => c.converged(), 10_000);
    expect(c.node('euc-1').status().incarnations).toBe(255);
    const left = ['use-1', 'use-2', 'usw-1'];
    const right = ['usw-2', 'euc-1'];
    c.partition(left, right);
    await c.advance(1_000);
    const a = await c.settle(c.node('use-2').createRoom({ name }));
    const b = await c.settle(c.node('euc-1').createRoom({ name }));
    expect(a.sid).not.toBe(b.sid);
    c.heal();
    await c.until(() => allAlive(c) && c.converged(), 15_000);
    const sids = new Set(c.running().map((n) => n.getRoom(name)?.sid));
    expect(sids.size).toBe(1);
    expect([a.sid, b.sid]).toContain([...sids][0]);
    const rejected = c.running().map((n) => n.status().counters.store['incarnation-limit']);
    // Nothing is re-pulled forever: the digests stayed equal over further sync rounds.
    const digest = c.node('use-1').status().storeDigest;
    await c.advance(3_000);
    expect(c.running().every((n) => n.status().storeDigest === digest)).toBe(true);
    expect(c.running().map((n) => n.status().counters.store['incarnation-limit'])).toEqual(
      rejected,
    );
  });
});

describe('membership messages', () => {
  const forged = (c: SimCluster, reporter: string, subject: string, incarnation: number) =>
    encodeMessage({
      type: 'member-suspect',
      reporter,
      subject,
      subjectIncarnation: incarnation,
      state: 'dead',
      sentAt: packHlc(c.time.nowMs(), 0),
    });

  it('one member-suspect with subjectIncarnation MAX_SAFE_INTEGER from a non-member does not silence its subject', async () => {
    const c = await startedCluster({ seed: simSeed(204) });
    cluster = c;
    const rogue = c.network.createTransport('rogue');
    await rogue.start();
    rogue.subscribe(MEMBERSHIP_TOPIC, () => 'accept');
    await c.settle(rogue.dial('memory/use-1', { timeoutMs: 100 }));
    const before = c.node('usw-1').status().counters.membership.heartbeatsSent;
    await rogue.publish(MEMBERSHIP_TOPIC, forged(c, 'rogue', 'usw-1', Number.MAX_SAFE_INTEGER));
    await c.advance(5_000);
    expect(c.node('usw-1').status().counters.membership.heartbeatsSent).toBeGreaterThan(
      before + 40,
    );
    for (const node of c.running()) {
      for (const m of node.members()) expect(m.state).toBe('alive');
    }
    expect(c.node('use-1').status().counters.gossip.membershipRejected).toBeGreaterThan(0);
  });

  it('a member that names an incarnation of another member higher than it ever published is refused', async () => {
    const c = await startedCluster({ seed: simSeed(205) });
    cluster = c;
    await c.settle(
      c
        .transport('use-1')
        .publish(MEMBERSHIP_TOPIC, forged(c, 'use-1', 'usw-1', Number.MAX_SAFE_INTEGER)),
    );
    // Also a notice whose reporter is not the member that published it.
    await c.settle(
      c.transport('use-1').publish(MEMBERSHIP_TOPIC, forged(c, 'euc-1', 'usw-2', 1_000)),
    );
    await c.advance(5_000);
    for (const node of c.running()) {
      for (const m of node.members()) expect(m.state).toBe('alive');
    }
    const victim = c.node('usw-1').members()[0]!;
    expect(victim.incarnation).toBeLessThan(Number.MAX_SAFE_INTEGER - 1);
    expect(c.node('usw-1').status().counters.gossip.membershipRejected).toBeGreaterThan(0);
  });
});

describe('batches sized by what is really encoded', () => {
  it('17 rooms whose metadata grows to 64 KiB before the flush: every write acknowledged, nothing dropped from gossip', async () => {
    const c = await startedCluster({ seed: simSeed(206), options: { profile: 'lan' } });
    cluster = c;
    const node = c.node('use-1');
    const big = 'x'.repeat(64 * 1024);
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 17; i++) writes.push(node.createRoom({ name: `fat-${i}` }));
    for (let i = 0; i < 17; i++) writes.push(node.updateRoomMetadata(`fat-${i}`, big));
    const outcomes = await c.settle(Promise.allSettled(writes), 20_000);
    const failed = outcomes.filter((o) => o.status === 'rejected');
    expect(failed.map((f) => String((f as PromiseRejectedResult).reason))).toEqual([]);
    expect(node.status().counters.replication.publishErrors).toBe(0);
    expect(node.status().counters.replication.recordsDropped).toBe(0);
    await c.until(
      () =>
        c
          .running()
          .every(
            (n) => n.listRooms().filter((r) => r.metadata.length === big.length).length === 17,
          ),
      10_000,
    );
  });
});

describe('a retried delete', () => {
  it('confirms the delete when the partner crashed between acking the create and receiving the delete', async () => {
    const c = await startedCluster({
      seed: simSeed(207),
      options: { replicationFanout: 1, minAcks: 1 },
      network: { latencyMsMin: 2, latencyMsMax: 2 },
    });
    cluster = c;
    const writer = c.node('use-1');
    const name = 'short-lived';
    const partner = writer.ownerOf(name).partners[0]!;
    const partnerPeer = c.node(partner).peerId;
    let crashed = false;
    c.network.setFilter((e) => {
      if (!crashed && e.kind === 'response' && e.from === partnerPeer) {
        const ack = decodeMessage(e.data);
        if (ack.ok && ack.message.type === 'replicate-ack' && e.channel === REPLICATE_PROTOCOL) {
          crashed = true;
          // After the ack reaches the writer (2 ms), before the delete's request arrives.
          c.time.setTimer(2.5, () => c.crash(partner));
        }
      }
      return 'deliver';
    });
    const create = writer.createRoom({ name });
    await c.advance(3);
    const firstDelete = writer.deleteRoom(name).then(
      () => 'ok',
      (error: unknown) => error,
    );
    await c.settle(create);
    const outcome = await c.settle(firstDelete);
    expect(crashed).toBe(true);
    expect(outcome).toBeInstanceOf(UnavailableError);
    await c.until(
      () => writer.members().find((m) => m.nodeId === partner)?.state === 'dead',
      5_000,
    );
    const retry = await c.settle(
      writer.deleteRoom(name).then(
        () => 'ok',
        (error: unknown) => error,
      ),
    );
    expect(retry).not.toBeInstanceOf(RoomNotFoundError);
    expect(retry).toBe('ok');
  });
});

describe('found by the swarm', () => {
  it('seed 1: a delete at a node that never saw a concurrent create of the name ends that one too', async () => {
    const c = await startedCluster({ seed: simSeed(209) });
    cluster = c;
    const a = ['use-1', 'use-2', 'euc-1'];
    const b = ['usw-1', 'usw-2'];
    c.partition(a, b);
    const first = await c.settle(c.node('use-1').createRoom({ name: 'twice' }));
    await c.advance(5);
    const second = await c.settle(c.node('usw-1').createRoom({ name: 'twice' }));
    // Heal, but side a never hears of side b's incarnation (its room gossip and its answers
    // to sync requests are lost); side b pulls from side a normally.
    const bPeers = new Set(b.map((id) => c.node(id).peerId));
    c.network.setFilter((e) =>
      bPeers.has(e.from) &&
      ((e.kind === 'gossip' && e.channel === ROOMS_TOPIC) ||
        (e.kind === 'response' && e.channel !== REPLICATE_PROTOCOL))
        ? 'drop'
        : 'deliver',
    );
    c.heal();
    await c.until(() => c.node('usw-2').getRoom('twice')?.sid === first.sid, 5_000);
    expect(
      c
        .node('euc-1')
        .listRooms(['twice'])
        .map((r) => r.sid),
    ).toEqual([first.sid]);
    // Side a deletes the room it knows, acknowledged; then everything flows again.
    await c.settle(c.node('euc-1').deleteRoom('twice'));
    c.network.setFilter(undefined);
    await c.advance(3_000);
    await c.until(() => allAlive(c) && c.converged(), 10_000);
    for (const node of c.running()) {
      expect(node.getRoom('twice'), `${node.config.nodeId} shows ${second.sid}`).toBeUndefined();
    }
  });
});

describe('found by the swarm (2)', () => {
  it('seed 4: anti-entropy carries a room with 64 KiB of metadata when syncFrameBytesMax is smaller than one record', async () => {
    // The test profile's syncFrameBytesMax is 16 KiB; one such record is ~65 KiB.
    const c = await startedCluster({ seed: simSeed(210) });
    cluster = c;
    expect(c.node('euc-1').config.syncFrameBytesMax).toBeLessThan(65_000);
    c.partition(['euc-1'], ['use-1', 'use-2', 'usw-1', 'usw-2']);
    await c.settle(c.node('use-1').createRoom({ name: 'big', metadata: 'x'.repeat(64 * 1024) }));
    await c.advance(500);
    c.heal();
    await c.until(() => allAlive(c) && c.converged(), 10_000);
    expect(c.node('euc-1').getRoom('big')?.metadata.length).toBe(64 * 1024);
  });
});

describe('no exception escapes', () => {
  it('a node whose timers, gossip handler, request handlers and listeners throw keeps serving and converges', async () => {
    const c = await startedCluster({ seed: simSeed(208) });
    cluster = c;
    const victim = c.node('usw-1');
    const caught: string[] = [];
    victim.on('internal-error', (e) => caught.push(e.kind));
    // Break the victim's store from the inside: merges of remote records (gossip handler,
    // replicate and sync handlers), the lifecycle's GC sweep (a timer), and its ownership
    // bookkeeping on every connection event (a listener).
    const internals = victim as unknown as {
      store: { merge: (...a: unknown[]) => unknown; gc: (...a: unknown[]) => unknown };
      cluster: { membership: { peerDisconnected: (...a: unknown[]) => unknown } };
    };
    const original = {
      merge: internals.store.merge,
      gc: internals.store.gc,
      peerDisconnected: internals.cluster.membership.peerDisconnected,
    };
    internals.store.merge = () => {
      throw new Error('merge broke');
    };
    internals.store.gc = () => {
      throw new Error('gc broke');
    };
    internals.cluster.membership.peerDisconnected = () => {
      throw new Error('listener broke');
    };
    for (let i = 0; i < 10; i++) {
      await c.settle(c.node('use-1').createRoom({ name: `while-broken-${i}` })).catch(() => {});
    }
    // A connection drop reaches the broken listener.
    c.partition(['usw-1'], ['euc-1']);
    await c.advance(2_000);
    c.heal();
    // The victim itself still answers its API meanwhile.
    const own = await c.settle(victim.createRoom({ name: 'made-by-victim' }));
    expect(own.name).toBe('made-by-victim');
    const errors = victim.status().counters.errors;
    expect(errors.timer).toBeGreaterThan(0);
    expect(errors['gossip-handler']).toBeGreaterThan(0);
    expect(errors.listener).toBeGreaterThan(0);
    expect(caught.length).toBeGreaterThan(0);
    internals.store.merge = original.merge;
    internals.store.gc = original.gc;
    internals.cluster.membership.peerDisconnected = original.peerDisconnected;
    await c.until(() => allAlive(c) && c.converged(), 15_000);
    expect(victim.roomCount()).toBe(11);
  });
});

describe('found by the swarm (3)', () => {
  it('seed 10: a member cannot take over another member with a forged heartbeat', async () => {
    const c = await startedCluster({ seed: simSeed(211) });
    cluster = c;
    const victim = c.node('usw-2').members()[0]!;
    await c.settle(
      c
        .transport('use-1')
        .publish(MEMBERSHIP_TOPIC, forgedHeartbeat(c, 'usw-2', victim.incarnation + 10, 'left')),
    );
    await c.advance(3_000);
    for (const node of c.running()) {
      const seen = node.members().find((m) => m.nodeId === 'usw-2')!;
      expect(seen.state, node.config.nodeId).toBe('alive');
      expect(seen.region).toBe('us-west');
    }
    expect(c.node('euc-1').status().counters.membership.impostorsRejected).toBeGreaterThan(0);
  });
});

describe('found by the swarm (4)', () => {
  it('seed 44: an incarnation hidden by a delete it raced with never comes back after the tombstones are collected', async () => {
    const c = await startedCluster({
      seed: simSeed(212),
      options: { tombstoneTtlMs: 3_000, gcIntervalMs: 200 },
    });
    cluster = c;
    // euc-1's clock runs ahead, so its GC sweeps the name first.
    c.setClockSkew('euc-1', 200);
    c.partition(['usw-2'], ['use-1', 'use-2', 'usw-1', 'euc-1']);
    const early = await c.settle(c.node('use-1').createRoom({ name: 'raced' }));
    await c.advance(20);
    // The cut-off node creates the name too (unacknowledged), after use-1's room...
    await c
      .settle(c.node('usw-2').createRoom({ name: 'raced' }, { deadlineMs: 50 }))
      .catch(() => undefined);
    const hidden = c.node('usw-2').getRoom('raced')!.sid;
    await c.advance(20);
    // ...and the majority deletes the name it knows, after that.
    await c.settle(c.node('use-1').deleteRoom('raced'));
    c.heal();
    await c.until(() => allAlive(c) && c.converged(), 5_000);
    for (let t = 0; t < 6_000; t += 100) {
      await c.advance(100);
      for (const node of c.running()) {
        expect(node.getRoom('raced')?.sid, `${node.config.nodeId} at +${t} ms`).toBeUndefined();
      }
    }
    expect(early.sid).not.toBe(hidden);
    expect(c.running().every((n) => n.status().incarnations === 0)).toBe(true);
  });
});

describe('found by the swarm (5)', () => {
  it('seed 77: a tombstone only some peers hold reaches the others within a few sync intervals', async () => {
    const c = await startedCluster({ seed: simSeed(213) });
    cluster = c;
    await c.settle(c.node('use-1').createRoom({ name: 'half' }));
    await c.until(() => c.converged(), 2_000);
    // The delete reaches use-2 and usw-1 only (gossip to the others lost, no durable write
    // to them); from then on only anti-entropy can carry it.
    const holders = new Set(['use-1', 'use-2', 'usw-1'].map((id) => c.node(id).peerId));
    c.network.setFilter((e) =>
      e.kind === 'gossip' && e.channel === ROOMS_TOPIC && !holders.has(e.to) ? 'drop' : 'deliver',
    );
    await c.settle(c.node('use-1').deleteRoom('half'));
    await c.advance(50);
    c.network.setFilter(undefined);
    const syncMs = c.node('use-1').config.syncIntervalMs;
    const took = await c.until(() => c.running().every((n) => !n.getRoom('half')), 12 * syncMs);
    expect(took).toBeLessThanOrEqual(12 * syncMs);
  });
});

describe('found by the swarm (6)', () => {
  it('seeds 77, 118, 163: a sync session with a stopped peer does not hold up anti-entropy with the others', async () => {
    const c = await startedCluster({ seed: simSeed(214) });
    cluster = c;
    const x = c.node('usw-1');
    // x's only outbound session slot goes to a peer that has just stopped (SIGSTOP).
    c.pause('use-2');
    const stuck = x.syncWith('use-2').catch(() => undefined);
    // A room x misses by gossip and by the durable write: only anti-entropy can bring it.
    const xPeer = x.peerId;
    c.network.setFilter((e) =>
      e.to === xPeer &&
      ((e.kind === 'gossip' && e.channel === ROOMS_TOPIC) ||
        (e.kind === 'request' && e.channel === REPLICATE_PROTOCOL))
        ? 'drop'
        : 'deliver',
    );
    await c.settle(c.node('use-1').createRoom({ name: 'behind-a-stuck-session' }));
    await c.advance(50); // the gossip batch flushes after the ack
    expect(x.getRoom('behind-a-stuck-session')).toBeUndefined();
    c.network.setFilter(undefined);
    const { syncTimeoutMs, probeTimeoutMs } = x.config;
    expect(syncTimeoutMs).toBeGreaterThan(4 * probeTimeoutMs);
    const took = await c.until(
      () => x.getRoom('behind-a-stuck-session') !== undefined,
      syncTimeoutMs,
    );
    // The digest exchange with the stopped peer gives up after 4 x probeTimeoutMs, not
    // syncTimeoutMs; then the next session (with a live peer) repairs.
    expect(took).toBeLessThan(syncTimeoutMs);
    c.resume('use-2');
    await c.settle(stuck);
  });
});

describe('found by the swarm (7): a node back from longer than the TTL alone', () => {
  const ttl = { tombstoneTtlMs: 3_000, gcIntervalMs: 200 };
  const everyoneElse = (id: string) => NODE_IDS.filter((n) => n !== id);

  /**
   * Checks every 50 ms for `ms` that no running node shows `name`, except `stale` until it
   * has resynced (it answers reads from its old state until then, as during the cut).
   */
  async function neverShown(c: SimCluster, name: string, ms: number, stale: string): Promise<void> {
    let resynced = false;
    for (let t = 0; t < ms; t += 50) {
      await c.advance(50);
      const x = c.node(stale);
      resynced ||= x.status().counters.isolation.isolationsEnded > 0 && x.nodeState() === 'running';
      for (const node of c.running()) {
        if (node === x && !resynced) continue;
        expect(node.getRoom(name)?.sid, `${node.config.nodeId} at +${t} ms`).toBeUndefined();
      }
    }
    expect(resynced).toBe(true);
  }

  it('seed 559: a room created just before the cut-off and deleted meanwhile does not come back', async () => {
    const c = await startedCluster({ seed: simSeed(215), options: ttl });
    cluster = c;
    await c.settle(c.node('euc-1').createRoom({ name: 'fresh' }));
    await c.advance(20);
    // Cut off right after the create: well inside the margin the old rule kept.
    c.partition(['euc-1'], everyoneElse('euc-1'));
    await c.settle(c.node('use-1').deleteRoom('fresh'));
    await c.advance(5_000);
    expect(c.node('use-1').status().tombstones).toBe(0);
    expect(c.node('euc-1').getRoom('fresh')).toBeDefined();
    c.heal();
    await neverShown(c, 'fresh', 4_000, 'euc-1');
    expect(c.node('euc-1').status().counters.isolation.recordsForgotten).toBeGreaterThan(0);
  });

  it('seed 706: an unacknowledged create that leaked out through a one-way cut and was deleted does not come back, and no retry confirms it', async () => {
    const c = await startedCluster({ seed: simSeed(216), options: ttl });
    cluster = c;
    const x = c.node('euc-1');
    // x can send but hears nothing: it soon takes every other member for dead.
    c.cutOneWay(everyoneElse('euc-1'), ['euc-1']);
    await c.until(
      () => x.members().every((m) => m.nodeId === 'euc-1' || m.state === 'dead'),
      3_000,
    );
    await expect(
      c.settle(x.createRoom({ name: 'leaked' }, { deadlineMs: 100 })),
    ).rejects.toBeInstanceOf(UnavailableError);
    // Its gossip got out: the others hold the room, and delete it (acknowledged).
    await c.until(() => c.node('use-1').getRoom('leaked') !== undefined, 1_000);
    await c.settle(c.node('use-1').deleteRoom('leaked'));
    await c.advance(4_000);
    expect(c.node('use-1').status().tombstones).toBe(0);
    c.heal();
    await c.until(() => x.nodeState() === 'resyncing', 2_000);
    // The client retries its create while x resyncs: refused, not confirmed from stale state.
    await expect(x.createRoom({ name: 'leaked' })).rejects.toBeInstanceOf(NodeNotReadyError);
    await c.until(() => x.nodeState() === 'running', 5_000);
    await neverShown(c, 'leaked', 4_000, 'euc-1');
  });

  it('seed 759: a delete the witness still holds, about to be collected, reaches the node at once', async () => {
    const c = await startedCluster({ seed: simSeed(217), options: ttl });
    cluster = c;
    await c.settle(c.node('use-1').createRoom({ name: 'doomed' }));
    await c.until(() => c.converged(), 2_000);
    c.partition(['euc-1'], everyoneElse('euc-1'));
    await c.advance(1_500);
    await c.settle(c.node('use-1').deleteRoom('doomed'));
    // Back 400 ms before the others collect the tombstone (and before x's own horizon
    // passes it): alone for longer than the TTL, so x resyncs, and the witness still lists
    // the sid. Waiting for the next sync session would be too late.
    await c.advance(ttl.tombstoneTtlMs - 400);
    c.heal();
    await neverShown(c, 'doomed', 4_000, 'euc-1');
    expect(c.node('euc-1').status().counters.isolation.isolationsEnded).toBe(1);
  });

  it('seed 31767: a node deaf for a little less than the TTL resyncs, and a room deleted meanwhile stays deleted', async () => {
    const c = await startedCluster({ seed: simSeed(221), options: ttl });
    cluster = c;
    await c.settle(c.node('use-1').createRoom({ name: 'doomed' }));
    await c.until(() => c.converged(), 2_000);
    // x hears nothing (the others still hear it), and the room is deleted at once.
    c.cutOneWay(everyoneElse('euc-1'), ['euc-1']);
    await c.settle(c.node('use-1').deleteRoom('doomed'));
    // Back 200 ms before the others collect the tombstone: less than the TTL, more than
    // isolationAfterMs (half of it). Counted from the whole TTL it did not resync, the
    // tombstone was collected before anti-entropy brought it, and x's live copy spread back.
    await c.advance(ttl.tombstoneTtlMs - 200);
    c.heal();
    await neverShown(c, 'doomed', 4_000, 'euc-1');
    expect(c.node('euc-1').status().counters.isolation.isolationsEnded).toBe(1);
  });

  it('seed 2648: cut off again before it resynced, the node waits for a witness instead of taking its own state as the truth', async () => {
    const c = await startedCluster({ seed: simSeed(218), options: ttl });
    cluster = c;
    await c.settle(c.node('use-1').createRoom({ name: 'doomed' }));
    await c.until(() => c.converged(), 2_000);
    c.partition(['euc-1'], everyoneElse('euc-1'));
    await c.advance(500);
    await c.settle(c.node('use-1').deleteRoom('doomed'));
    await c.advance(ttl.tombstoneTtlMs + 1_000);
    // Back for a moment (it rejoins and starts its resync), then cut off again before the
    // resync runs: no member is reachable to compare with, but its peers are not dead.
    c.heal();
    await c.until(() => c.node('euc-1').nodeState() === 'resyncing', 2_000, 10);
    c.partition(['euc-1'], everyoneElse('euc-1'));
    const x = c.node('euc-1');
    await c.advance(x.config.suspectAfterMs + 200);
    expect(x.nodeState()).toBe('resyncing');
    expect(x.status().counters.isolation.isolationsAuthoritative).toBe(0);
    c.heal();
    await neverShown(c, 'doomed', 4_000, 'euc-1');
  });

  it('seed 1986: heartbeats read late after a pause do not hide the cut that followed', async () => {
    const c = await startedCluster({ seed: simSeed(220), options: ttl });
    cluster = c;
    await c.settle(c.node('use-1').createRoom({ name: 'doomed' }));
    await c.until(() => c.converged(), 2_000);
    // Stopped, euc-1 reads nothing; the heartbeats sent to it before the cut wait for it.
    c.pause('euc-1');
    await c.advance(300);
    c.partition(['euc-1'], everyoneElse('euc-1'));
    await c.advance(2_000);
    c.resume('euc-1');
    await c.settle(c.node('use-1').deleteRoom('doomed'));
    // Cut off for longer than the TTL since it last heard from anyone, though it read those
    // heartbeats only 1.5 s ago: it must know it is cut off (writes refused, then a resync).
    await c.advance(ttl.tombstoneTtlMs - 1_500);
    const x = c.node('euc-1');
    await expect(x.createRoom({ name: 'another' })).rejects.toBeInstanceOf(NodeNotReadyError);
    await c.advance(1_000);
    c.heal();
    await neverShown(c, 'doomed', 4_000, 'euc-1');
    expect(x.status().counters.isolation.isolationsEnded).toBe(1);
  });
});

describe('found by the swarm (8)', () => {
  it('seed 1783: a heartbeat for a member the receiver does not know yet, at an impossible incarnation or saying it left, binds nothing', async () => {
    // In the swarm a member forged such a heartbeat for another one to a node restarted with
    // an empty member list: taken, it bound that node id to the forger's peer at
    // MAX_SAFE_INTEGER, so neither the real member nor the forger was ever seen again.
    const c = await startedCluster({ seed: simSeed(219) });
    cluster = c;
    const rogue = c.network.createTransport('rogue');
    await rogue.start();
    rogue.subscribe(MEMBERSHIP_TOPIC, () => 'accept');
    await c.settle(rogue.dial('memory/use-1', { timeoutMs: 100 }));
    await rogue.publish(
      MEMBERSHIP_TOPIC,
      forgedHeartbeat(c, 'ghost', Number.MAX_SAFE_INTEGER, 'left'),
    );
    await rogue.publish(
      MEMBERSHIP_TOPIC,
      forgedHeartbeat(c, 'ghost-2', Number.MAX_SAFE_INTEGER, 'alive'),
    );
    await rogue.publish(MEMBERSHIP_TOPIC, forgedHeartbeat(c, 'ghost-3', c.time.nowMs(), 'left'));
    await c.advance(1_000);
    for (const node of c.running()) {
      expect(
        node
          .members()
          .map((m) => m.nodeId)
          .sort(),
        node.config.nodeId,
      ).toEqual([...NODE_IDS].sort());
    }
    expect(c.node('use-1').status().counters.membership.impostorsRejected).toBeGreaterThan(0);
    // The same peer can still join under a plausible incarnation, as any new node does.
    await rogue.publish(MEMBERSHIP_TOPIC, forgedHeartbeat(c, 'ghost-4', c.time.nowMs(), 'alive'));
    await c.advance(200);
    expect(
      c
        .node('use-1')
        .members()
        .some((m) => m.nodeId === 'ghost-4'),
    ).toBe(true);
  });

  it('seed 4411: a partner that holds a room deleted does not acknowledge a write of it live', async () => {
    // In the swarm a node cut off from the delete answered CreateRoom with the deleted room,
    // acknowledged by a partner that held its tombstone.
    const c = await startedCluster({ seed: simSeed(221) });
    cluster = c;
    // A copy: the store updates the record it returned in place.
    const room = { ...(await c.settle(c.node('use-1').createRoom({ name: 'gone' }))) };
    await c.until(() => c.converged(), 2_000);
    await c.settle(c.node('use-1').deleteRoom('gone'));
    await c.until(() => c.converged(), 2_000);
    const ask = async (record: typeof room): Promise<number> => {
      const frames = c.transport('euc-1').request(
        c.node('usw-1').peerId,
        REPLICATE_PROTOCOL,
        encodeMessage({
          type: 'replicate',
          requestId: 7,
          origin: 'euc-1',
          sentAt: packHlc(c.time.nowMs(), 0),
          records: [{ ...record }],
        }),
        { timeoutMs: 1_000, framesMax: 1 },
      );
      const answer = (async () => {
        for await (const frame of frames) {
          const decoded = decodeMessage(frame);
          if (decoded.ok && decoded.message.type === 'replicate-ack') return decoded.message.stored;
        }
        return -1;
      })();
      return c.settle(answer);
    };
    // The live record as the writer held it before the delete: held, but deleted, there.
    expect(await ask(room)).toBe(0);
    // The partner shows no room, and a room it holds live is still acknowledged.
    expect(c.node('usw-1').status().rooms).toBe(0);
    const live = { ...(await c.settle(c.node('use-1').createRoom({ name: 'kept' }))) };
    await c.until(() => c.node('usw-1').getRoom('kept') !== undefined, 2_000);
    expect(await ask(live)).toBe(1);
  });
});
