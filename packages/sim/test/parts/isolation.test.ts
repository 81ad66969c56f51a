/**
 * Isolation (packages/core/src/isolation.ts) on its own: the GC-horizon rule and the resync
 * after an isolation longer than tombstoneTtlMs, with a real store on virtual time. The host
 * answers as the cluster view and anti-entropy would: members from a list the test edits,
 * and a witness's listing and pulls served from the witness's own store (merged as
 * anti-entropy merges them).
 */
import {
  Guard,
  Isolation,
  isolationAfterMs,
  type MemberView,
  type NodeConfig,
  type PeerId,
} from '@roomring/core';
import type { RoomRecord, SyncSummaryEntry } from '@roomring/protocol';
import { type RoomStore, recordHash } from '@roomring/store';
import { describe, expect, it } from 'vitest';
import { createVirtualTime, type VirtualTime } from '../../src/index.js';
import { partConfig, runtimeOn, storeOf } from './fixtures.js';

const TTL_MS = 10_000;

/** A member as the cluster view lists it (only the fields the rule reads matter). */
function member(
  nodeId: string,
  historySinceMs: number,
  state: MemberView['state'] = 'alive',
  stateSinceMs = 0,
): MemberView {
  return {
    nodeId,
    peerId: `p${nodeId}`,
    region: 'us-east',
    weight: 1,
    incarnation: 1,
    state,
    httpUrl: '',
    p2pAddrs: [],
    roomCount: 0,
    ringChecksum: '0000000000000000',
    storeDigest: '0000000000000000',
    lastHeardMs: 0,
    stateSinceMs,
    historySinceMs,
  };
}

interface IsolationNode {
  config: NodeConfig;
  time: VirtualTime;
  store: RoomStore;
  isolation: Isolation;
  /** What the cluster view knows: members, connected peers, the last contact. */
  cluster: { members: MemberView[]; connected: Set<PeerId>; lastContactMs: number | undefined };
  /** Each witness's store, by peer; a listing of a peer in `failing` rejects. */
  witnesses: Map<PeerId, RoomStore>;
  failing: Set<PeerId>;
  calls: { listed: PeerId[]; pulled: string[][]; synced: PeerId[] };
  forgotWrites: string[];
  forgotVisible: string[];
  errors: unknown[];
}

function isolationNode(): IsolationNode {
  const time = createVirtualTime();
  const config = partConfig({ nodeId: 'a', tombstoneTtlMs: TTL_MS });
  const store = storeOf(config, time, 1);
  const cluster = {
    members: [] as MemberView[],
    connected: new Set<PeerId>(),
    lastContactMs: undefined as number | undefined,
  };
  const witnesses = new Map<PeerId, RoomStore>();
  const failing = new Set<PeerId>();
  const calls = { listed: [] as PeerId[], pulled: [] as string[][], synced: [] as PeerId[] };
  const forgotWrites: string[] = [];
  const forgotVisible: string[] = [];
  const errors: unknown[] = [];
  const guard = new Guard((caught) => errors.push(caught.error));
  const isolation: Isolation = new Isolation(config, store, runtimeOn(time, 1), guard, {
    nodeState: () => (isolation.resyncing ? 'resyncing' : 'running'),
    members: () => cluster.members,
    lastPeerContactMs: () => cluster.lastContactMs,
    isConnected: (peer) => cluster.connected.has(peer),
    memberOfPeer: (peer) => cluster.members.find((m) => m.peerId === peer),
    listPeerSids: async (peer, visit) => {
      calls.listed.push(peer);
      if (failing.has(peer)) throw new Error(`listing of ${peer} failed`);
      const witness = witnesses.get(peer)!;
      for (let bucket = 0; bucket < witness.bucketCount; bucket++) {
        const entries = new Map<string, SyncSummaryEntry>();
        for (const record of witness.recordsInBucket(bucket)) {
          const [hashHi, hashLo] = recordHash(record);
          entries.set(record.sid, { bucket, sid: record.sid, hashHi, hashLo });
        }
        visit(bucket, entries);
      }
    },
    pullNow: async (peer, wanted) => {
      calls.pulled.push(wanted.map((w) => w.sid));
      const received = new Map<string, Readonly<RoomRecord>>();
      const witness = witnesses.get(peer)!;
      for (const { bucket, sid } of wanted) {
        for (const record of witness.recordsInBucket(bucket)) {
          if (record.sid !== sid) continue;
          received.set(sid, record);
          store.merge({ ...record });
        }
      }
      return received;
    },
    syncWith: (peer) => calls.synced.push(peer),
    forgotWrite: (sid) => forgotWrites.push(sid),
    forgotVisible: (room) => forgotVisible.push(room.name),
  });
  return {
    config,
    time,
    store,
    isolation,
    cluster,
    witnesses,
    failing,
    calls,
    forgotWrites,
    forgotVisible,
    errors,
  };
}

/** Cut off since `cutOffAtMs`; contact again now: what the membership tells the node. */
function rejoin(node: IsolationNode, cutOffAtMs: number): void {
  node.cluster.lastContactMs = node.time.nowMs();
  node.isolation.rejoined(cutOffAtMs);
}

describe('Isolation', () => {
  it('isolatedTooLong past isolationAfterMs (half the TTL) without contact; then serves neither records nor summaries', async () => {
    const node = isolationNode();
    const { time, isolation, cluster } = node;
    const serving = () => [
      isolation.isolatedTooLong(),
      isolation.canServeSync(),
      isolation.canServeSummaries(),
    ];
    // Never heard of anyone: a node alone from the start is not cut off from anything.
    expect(serving()).toEqual([false, true, true]);
    cluster.lastContactMs = time.nowMs();
    expect(isolationAfterMs(node.config)).toBe(TTL_MS / 2);
    await time.advance(TTL_MS / 2);
    expect(serving()).toEqual([false, true, true]);
    await time.advance(1);
    expect(serving()).toEqual([true, false, false]);
    // Contact again: resyncing, it lists what it holds but serves no records yet.
    rejoin(node, cluster.lastContactMs);
    expect(isolation.resyncing).toBe(true);
    expect(serving()).toEqual([false, false, true]);
  });

  it('is the authority when no member can have seen a delete it missed', async () => {
    const node = isolationNode();
    const { time, store, isolation, cluster, calls } = node;
    const kept = store.getOrCreate({ name: 'kept', homeRegion: 'us-east' }).room;
    const cutOffAtMs = time.nowMs();
    await time.advance(TTL_MS + 5_000);
    const rejoinedAtMs = time.nowMs();
    cluster.members = [
      // Restarted empty while this node was alone: its history starts after the cut-off.
      member('b', rejoinedAtMs - 1_000),
      // Held history from before, but was dead before the rejoin: gone, not a witness.
      member('c', cutOffAtMs - 60_000, 'dead', rejoinedAtMs - 1),
    ];
    cluster.connected = new Set(['pb', 'pc']);
    rejoin(node, cutOffAtMs);
    await time.advance(node.config.suspectAfterMs - 1);
    expect(isolation.resyncing).toBe(true);
    await time.advance(1);
    expect(isolation.resyncing).toBe(false);
    expect(isolation.counters).toMatchObject({
      isolationsEnded: 1,
      isolationsAuthoritative: 1,
      recordsForgotten: 0,
    });
    // It lists and pulls nothing, and starts a session with every live connected member,
    // which pulls what only this node holds (the dead one is not asked).
    expect(calls).toEqual({ listed: [], pulled: [], synced: ['pb'] });
    expect(store.get('kept')?.sid).toBe(kept.sid);
  });

  it('resyncs with the connected witness of oldest history: forgets what it lacks from before the kept-after horizon, keeps arrived rooms, undoes own deletes', async () => {
    const node = isolationNode();
    const { config, time, store, isolation, cluster, calls } = node;
    const startMs = time.nowMs();
    const cutOffAtMs = startMs + 1_000;
    const rejoinAtMs = startMs + 20_000;
    // Created after this, a room cannot lie behind a tombstone the witness collected (the
    // resync runs suspectAfterMs after the rejoin): now - tombstoneTtlMs + maxClockOffsetMs,
    // since the witness's clock may be ahead of ours (swarm seed 37814: with
    // "- maxClockOffsetMs" a room deleted and collected elsewhere was kept and came back).
    const keptAfterMs = rejoinAtMs + config.suspectAfterMs - TTL_MS + config.maxClockOffsetMs;
    const witness = storeOf(partConfig({ nodeId: 'w', tombstoneTtlMs: TTL_MS }), time, 2);
    const peer = storeOf(partConfig({ nodeId: 'p', tombstoneTtlMs: TTL_MS }), time, 3);
    const create = (name: string) => store.getOrCreate({ name, homeRegion: 'us-east' }).room;
    const gone = create('gone'); // deleted and collected at the witness meanwhile
    const shared = create('shared');
    const undone = create('undone'); // deleted here while cut off
    witness.merge({ ...shared });
    witness.merge({ ...undone });
    const arrived = peer.getOrCreate({ name: 'arrived', homeRegion: 'us-east' }).room;
    cluster.lastContactMs = cutOffAtMs;
    await time.advance(startMs + 5_000 - time.nowMs());
    store.delete('undone');
    // Rooms this node created while cut off, one ms either side of the kept-after horizon.
    await time.advance(keptAfterMs - 1 - time.nowMs());
    const edgeOld = create('edge-old');
    await time.advance(1);
    const edgeNew = create('edge-new');
    await time.advance(rejoinAtMs - time.nowMs());
    cluster.members = [
      member('w1', startMs - 5_000),
      member('w2', startMs - 9_000),
      member('far', startMs - 20_000), // the oldest history, but not connected
      member('new', startMs + 19_000), // restarted since the cut-off: no witness
    ];
    cluster.connected = new Set(['pw1', 'pw2', 'pnew']);
    node.witnesses.set('pw2', witness);
    rejoin(node, cutOffAtMs);
    // A peer sends a room during the resync: a peer holds it, so it stays.
    store.merge({ ...arrived });
    isolation.noteArrival(arrived.sid);
    await time.advance(config.suspectAfterMs);
    await time.settle();

    expect(isolation.resyncing).toBe(false);
    expect(calls.listed).toEqual(['pw2']);
    expect(calls.pulled).toEqual([[undone.sid]]);
    expect(calls.synced).toEqual(['pw2']);
    // Forgotten bucket by bucket during the listing, then the own deletes undone.
    expect(node.forgotWrites.slice(0, -1).sort()).toEqual([edgeOld.sid, gone.sid].sort());
    expect(node.forgotWrites.at(-1)).toBe(undone.sid);
    expect([...node.forgotVisible].sort()).toEqual(['edge-old', 'gone']);
    expect(isolation.counters).toMatchObject({
      isolationsEnded: 1,
      isolationsAuthoritative: 0,
      recordsForgotten: 2,
      deletesUndone: 1,
      resyncFailures: 0,
    });
    const visible = [...store.visibleRooms()].map((r) => `${r.name} ${r.sid}`).sort();
    expect(visible).toEqual(
      [
        `arrived ${arrived.sid}`,
        `edge-new ${edgeNew.sid}`,
        `shared ${shared.sid}`,
        `undone ${undone.sid}`, // the witness's live version, taken instead of the delete
      ].sort(),
    );
    expect(store.counts()).toMatchObject({ incarnations: 4, tombstones: 0 });
    expect(node.errors).toEqual([]);
  });

  it('retries while no witness is connected, and with the next witness when a listing fails', async () => {
    const node = isolationNode();
    const { time, isolation, cluster, calls, config } = node;
    const cutOffAtMs = time.nowMs();
    await time.advance(TTL_MS + 1_000);
    const rejoinedAtMs = time.nowMs();
    // b was declared dead only after the rejoin (a new partition): still a witness to wait for.
    cluster.members = [
      member('b', cutOffAtMs - 1_000, 'dead', rejoinedAtMs + 10),
      member('c', cutOffAtMs - 2_000),
    ];
    rejoin(node, cutOffAtMs);
    await time.advance(config.suspectAfterMs);
    expect(isolation.counters.resyncFailures).toBe(1);
    await time.advance(config.syncIntervalMs);
    expect(isolation.counters.resyncFailures).toBe(2);
    expect(isolation.resyncing).toBe(true);
    expect(isolation.counters.isolationsAuthoritative).toBe(0);

    // c and d reachable; c (oldest history) fails its listing, so the next attempt asks d.
    cluster.members.push(member('d', cutOffAtMs - 500));
    cluster.connected = new Set(['pc', 'pd']);
    node.failing.add('pc');
    node.witnesses.set('pd', storeOf(partConfig({ nodeId: 'd' }), time, 4));
    await time.advance(config.syncIntervalMs);
    expect(calls.listed).toEqual(['pc']);
    expect(isolation.counters.resyncFailures).toBe(3);
    await time.advance(config.syncIntervalMs);
    expect(calls.listed).toEqual(['pc', 'pd']);
    expect(isolation.resyncing).toBe(false);
    expect(calls.synced).toEqual(['pd']);
    expect(isolation.counters).toMatchObject({ isolationsEnded: 1, resyncFailures: 3 });
  });

  it('sessionCompleted: a complete pull from a peer with older history lowers historySinceMs', () => {
    const node = isolationNode();
    const { isolation, cluster } = node;
    isolation.historySinceMs = 50_000;
    cluster.members = [member('old', 20_000), member('young', 70_000)];
    isolation.sessionCompleted('pold', false);
    expect(isolation.historySinceMs).toBe(50_000);
    isolation.sessionCompleted('pyoung', true);
    expect(isolation.historySinceMs).toBe(50_000);
    isolation.sessionCompleted('pstranger', true);
    expect(isolation.historySinceMs).toBe(50_000);
    isolation.sessionCompleted('pold', true);
    expect(isolation.historySinceMs).toBe(20_000);
  });
});
