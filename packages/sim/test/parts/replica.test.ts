/**
 * Replica (packages/core/src/replica.ts) on its own: two replicas over the memory network,
 * each with a real store and a host that records what the replica tells the rest of the
 * node (arrivals, durable marks, changes), plus a bare transport that publishes hand-made
 * batches. Every hop takes 1 virtual ms.
 */
import {
  type GossipVerdict,
  type NodeConfig,
  Replica,
  ROOMS_TOPIC,
  type Transport,
} from '@roomring/core';
import { encodeMessage, type RoomRecord } from '@roomring/protocol';
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

/** Peer ids of the test: the transport of node `a` is peer `pa`, and so on. */
const MEMBERS: ReadonlyMap<string, string> = new Map([
  ['pa', 'a'],
  ['pb', 'b'],
]);

/** What the replica told its host, in order. */
interface ReplicaLog {
  arrived: string[];
  durable: string[];
  changed: [name: string, before: string | undefined, origin: 'local' | 'remote'][];
  verdicts: GossipVerdict[];
}

interface ReplicaNode {
  config: NodeConfig;
  store: RoomStore;
  replica: Replica;
  transport: Transport;
  log: ReplicaLog;
  /** Whether the node takes gossip (running or resyncing). */
  serving: { now: boolean };
  /** The member each peer is, as the cluster view knows it. */
  members: Map<string, string>;
}

/** The transport with every verdict of its rooms handler recorded. */
function recordingVerdicts(inner: Transport, verdicts: GossipVerdict[]): Transport {
  return new Proxy(inner, {
    get(target, key) {
      if (key === 'subscribe') {
        return (topic: string, handler: Parameters<Transport['subscribe']>[1]) =>
          target.subscribe(topic, (message) => {
            const verdict = handler(message);
            verdicts.push(verdict);
            return verdict;
          });
      }
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function replicaNode(
  network: MemoryNetwork,
  time: VirtualTime,
  nodeId: string,
  seed: number,
  tombstoneTtlMs?: number,
): ReplicaNode {
  const config = partConfig({ nodeId, ...(tombstoneTtlMs ? { tombstoneTtlMs } : {}) });
  const store = storeOf(config, time, seed);
  const log: ReplicaLog = { arrived: [], durable: [], changed: [], verdicts: [] };
  const transport = recordingVerdicts(network.createTransport(`p${nodeId}`), log.verdicts);
  const serving = { now: true };
  const members = new Map(MEMBERS);
  const replica = new Replica(config, store, runtimeOn(time, seed), transport, {
    nodeIdOfPeer: (peer) => members.get(peer),
    serving: () => serving.now,
    arrived: (sid) => log.arrived.push(sid),
    markDurable: (sid) => log.durable.push(sid),
    changed: (name, before, origin) => log.changed.push([name, before, origin]),
  });
  replica.register();
  return { config, store, replica, transport, log, serving, members };
}

/** Replicas `a` and `b` and a bare transport `px`, all connected to each other. */
async function twoReplicas(tombstoneTtlMs?: number) {
  const time = createVirtualTime();
  const network = createMemoryNetwork({
    time,
    random: createSeededRandom(21),
    latencyMsMin: 1,
    latencyMsMax: 1,
  });
  const a = replicaNode(network, time, 'a', 1, tombstoneTtlMs);
  const b = replicaNode(network, time, 'b', 2, tombstoneTtlMs);
  const x = network.createTransport('px');
  for (const t of [a.transport, b.transport, x]) await t.start();
  void a.transport.dial('memory/pb', { timeoutMs: 100 });
  void x.dial('memory/pa', { timeoutMs: 100 });
  void x.dial('memory/pb', { timeoutMs: 100 });
  await time.advance(5);
  let seq = 0;
  /** Publishes a room batch from `px` claiming `origin`. */
  const publishBatch = async (origin: string, records: readonly Readonly<RoomRecord>[]) => {
    const data = encodeMessage({
      type: 'room-batch',
      origin,
      seq: seq++,
      sentAt: a.store.hlc.now(),
      records: records.map((r) => ({ ...r })),
    });
    await x.publish(ROOMS_TOPIC, data);
    await time.advance(5);
  };
  return { time, network, a, b, x, publishBatch };
}

describe('Replica', () => {
  it('sends local changes in one gossip batch per flush, merged by a member', async () => {
    const { time, a, b } = await twoReplicas();
    const r1 = a.store.getOrCreate({ name: 'r1', homeRegion: 'us-east' }).room;
    a.replica.localChange(r1, undefined, true);
    const r2 = a.store.getOrCreate({ name: 'r2', homeRegion: 'us-east' }).room;
    a.replica.localChange(r2, undefined, false);
    const stats = a.store.updateStats('r2', {
      numParticipants: 1,
      numPublishers: 1,
      activeRecording: false,
    })!;
    a.replica.localChange(stats, r2.sid, false);
    expect(a.log.durable).toEqual([r1.sid]);
    expect(a.log.changed).toEqual([
      ['r1', undefined, 'local'],
      ['r2', undefined, 'local'],
      ['r2', r2.sid, 'local'],
    ]);
    // Coalesced by sid until the flush (flushIntervalMs = 2 in the test profile).
    expect(a.replica.replicator.pending()).toBe(2);
    expect(b.store.counts().incarnations).toBe(0);
    await time.advance(a.config.flushIntervalMs + 1);
    expect(a.replica.replicator.counters).toMatchObject({
      batchesPublished: 1,
      recordsPublished: 2,
    });
    expect(b.replica.counters).toMatchObject({ batchesReceived: 1, recordsMerged: 2 });
    expect(b.log.verdicts).toEqual(['accept']);
    expect(b.log.arrived).toEqual([r1.sid, r2.sid]);
    expect(b.log.changed).toEqual([
      ['r1', undefined, 'remote'],
      ['r2', undefined, 'remote'],
    ]);
    expect(b.store.get('r2')?.numParticipants).toBe(1);
    // Nothing is confirmed by gossip: the receiving side marks nothing durable.
    expect(b.log.durable).toEqual([]);
  });

  it('takes a batch only from a member speaking for itself, and only while serving', async () => {
    const { a, b, publishBatch } = await twoReplicas();
    const room = b.store.getOrCreate({ name: 'r', homeRegion: 'us-east' }).room;
    // px is no member (yet): ignored, not held against it; the batch stays unmerged.
    await publishBatch('b', [room]);
    // px is member b but the batch claims to come from c: rejected.
    a.members.set('px', 'b');
    a.members.delete('pb');
    await publishBatch('c', [room]);
    // From b, but the node does not take gossip now (stopping): ignored.
    a.serving.now = false;
    await publishBatch('b', [room]);
    expect(a.log.verdicts).toEqual(['ignore', 'reject', 'ignore']);
    expect(a.replica.counters).toMatchObject({ batchesReceived: 0, batchesRejected: 1 });
    expect(a.store.counts().incarnations).toBe(0);
    a.serving.now = true;
    await publishBatch('b', [room]);
    expect(a.log.verdicts).toEqual(['ignore', 'reject', 'ignore', 'accept']);
    expect(a.replica.counters).toMatchObject({
      batchesReceived: 1,
      batchesRejected: 1,
      recordsMerged: 1,
    });
    expect(a.store.get('r')?.sid).toBe(room.sid);
    expect(a.log.arrived).toEqual([room.sid]);
  });

  it('refuses live records it does not hold that were created before the GC horizon', async () => {
    const TTL_MS = 60_000;
    const { time, a, b, publishBatch } = await twoReplicas(TTL_MS);
    a.members.set('px', 'b');
    const old = b.store.getOrCreate({ name: 'old', homeRegion: 'us-east' }).room;
    const held = b.store.getOrCreate({ name: 'held', homeRegion: 'us-east' }).room;
    const ended = b.store.getOrCreate({ name: 'ended', homeRegion: 'us-east' }).room;
    a.store.merge({ ...held });
    await time.advance(TTL_MS + 1_000);
    // Past the horizon now: a change to a held room, a tombstone of an old one, a new room.
    const heldChanged = b.store.updateMetadata('held', 'v2')!;
    const tombstone = b.store.delete('ended')[0]!;
    const fresh = b.store.getOrCreate({ name: 'fresh', homeRegion: 'us-east' }).room;
    a.log.arrived.length = 0;
    await publishBatch('b', [old, heldChanged, tombstone, fresh]);
    expect(a.replica.counters).toMatchObject({
      batchesReceived: 1,
      staleUnknownRefused: 1,
      recordsMerged: 3,
      recordsRejected: 0,
    });
    expect(a.store.incarnations('old')).toEqual([]);
    expect(a.store.get('held')?.metadata).toBe('v2');
    expect(a.store.incarnations('ended').map((r) => [r.sid, r.deletedAt !== 0])).toEqual([
      [ended.sid, true],
    ]);
    expect(a.store.get('fresh')?.sid).toBe(fresh.sid);
    expect(a.log.arrived).toEqual([held.sid, ended.sid, fresh.sid]);
  });

  it('recentTombstones: those of the name every peer still accepts (GC horizon plus clock slack)', async () => {
    const TTL_MS = 60_000;
    const { time, a } = await twoReplicas(TTL_MS);
    const create = () => a.store.getOrCreate({ name: 'r', homeRegion: 'us-east' }).room;
    const first = create();
    a.store.delete('r');
    // A name with one incarnation has no earlier one for a re-create to carry.
    expect(a.replica.recentTombstones('r')).toEqual([]);
    const second = create();
    expect(a.replica.recentTombstones('r').map((r) => r.sid)).toEqual([first.sid]);
    // The delete is kept while it is newer than the horizon (now - TTL) plus twice
    // maxClockOffsetMs: a peer whose clock runs ahead by that much refuses it after that.
    const margin = 2 * a.config.maxClockOffsetMs;
    await time.advance(TTL_MS - margin);
    expect(a.replica.recentTombstones('r').map((r) => r.sid)).toEqual([first.sid]);
    await time.advance(1);
    expect(a.replica.recentTombstones('r')).toEqual([]);
    expect(a.store.get('r')?.sid).toBe(second.sid);
  });

  it('a delete sends every tombstone it wrote, marks only the visible one durable', async () => {
    const { time, a, b } = await twoReplicas();
    // b's incarnation of `r` is older (created first), so it is the visible one at both.
    const theirs = b.store.getOrCreate({ name: 'r', homeRegion: 'us-east' }).room;
    await time.advance(10);
    const mine = a.store.getOrCreate({ name: 'r', homeRegion: 'us-east' }).room;
    a.store.merge({ ...theirs });
    expect(a.store.get('r')?.sid).toBe(theirs.sid);
    const deleted = a.store.delete('r');
    expect(deleted.map((r) => r.sid)).toEqual([theirs.sid, mine.sid]);
    a.replica.localDelete(deleted, theirs.sid, true);
    expect(a.log.durable).toEqual([theirs.sid]);
    expect(a.log.changed).toEqual([['r', theirs.sid, 'local']]);
    expect(a.replica.replicator.pending()).toBe(2);
    await time.advance(a.config.flushIntervalMs + 1);
    // The other incarnations' tombstones go first, the visible room's last. At b the first
    // one's delete horizon already ends b's own incarnation, so the second changes nothing.
    expect(b.log.arrived).toEqual([mine.sid, theirs.sid]);
    expect(b.log.changed).toEqual([['r', theirs.sid, 'remote']]);
    expect(b.replica.counters).toMatchObject({ batchesReceived: 1, recordsMerged: 1 });
    expect(b.store.get('r')).toBeUndefined();
    expect(b.store.incarnations('r').every((r) => r.deletedAt !== 0)).toBe(true);
  });
});
