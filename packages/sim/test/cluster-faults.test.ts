import { RoomNotFoundError, UnavailableError } from '@roomring/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type SimCluster, simSeed } from '../src/index.js';
import { allAlive, assertConverged, FIVE_NODES, startedCluster } from './helpers.js';

let cluster: SimCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

const NODE_IDS = FIVE_NODES.map((n) => n.nodeId);

/** Runs a write, advancing virtual time; a failed write (e.g. unavailable) yields undefined. */
async function attempt<T>(c: SimCluster, write: Promise<T>): Promise<T | undefined> {
  try {
    return await c.settle(write, 10_000);
  } catch (error) {
    if (error instanceof Error && /not settled/.test(error.message)) throw error;
    return undefined;
  }
}

describe('convergence under faults', () => {
  for (const seed of [simSeed(101), simSeed(102), simSeed(103)]) {
    it(`random creates, updates, deletes and re-creates with 20% loss and duplicates converge (seed ${seed})`, async () => {
      const c = await startedCluster({
        seed,
        network: { gossipLossRate: 0.2, gossipDuplicateRate: 0.1 },
      });
      cluster = c;
      const names = Array.from({ length: 25 }, (_, i) => `room-${i}`);
      for (let op = 0; op < 150; op++) {
        const node = c.node(c.random.pick(NODE_IDS));
        const name = c.random.pick(names);
        const kind = c.random.int(10);
        if (kind < 5) void attempt(c, node.createRoom({ name }));
        else if (kind < 7) void attempt(c, node.updateRoomMetadata(name, `m${op}`));
        else if (kind < 8 && node.getRoom(name))
          node.updateRoomStats(name, { numParticipants: op % 3, numPublishers: 0 });
        else void attempt(c, node.deleteRoom(name));
        await c.advance(c.random.int(4));
      }
      c.network.setFaults({ gossipLossRate: 0, gossipDuplicateRate: 0 });
      // Anti-entropy (every 500 ms in the test profile) repairs whatever gossip lost.
      const tookMs = await c.until(() => c.converged(), 10_000);
      expect(tookMs).toBeLessThanOrEqual(10_000);
      const view = assertConverged(c);
      // Exactly one visible incarnation per name on every node.
      for (const node of c.running()) {
        for (const name of view.keys()) {
          const live = node.listRooms([name]);
          expect(live).toHaveLength(1);
        }
      }
    });
  }

  it('concurrent creates of one name in three regions end with one room, the first writer', async () => {
    const c = await startedCluster({ seed: simSeed(7) });
    cluster = c;
    const superseded: string[] = [];
    for (const node of c.running()) {
      node.on('room-superseded', (e) => superseded.push(`${node.config.nodeId}:${e.loserSid}`));
    }
    // Cut the regions apart so each creates its own incarnation, then heal.
    c.partition(['use-1', 'use-2'], ['usw-1', 'usw-2'], ['euc-1']);
    const creates = ['use-1', 'usw-1', 'euc-1'].map((id) =>
      c.node(id).createRoom({ name: 'all-hands' }, { deadlineMs: 300 }),
    );
    await c.settle(Promise.allSettled(creates));
    const incarnations = ['use-1', 'usw-1', 'euc-1'].map((id) => ({
      ...c.node(id).getRoom('all-hands')!,
    }));
    expect(new Set(incarnations.map((r) => r.sid)).size).toBe(3);
    c.heal();
    await c.until(() => allAlive(c) && c.converged(), 15_000);
    const view = assertConverged(c);
    const winner = view.get('all-hands')!;
    expect(
      c
        .node('use-1')
        .listRooms(['all-hands'])
        .map((r) => r.sid),
    ).toEqual([winner]);
    // The winner is the first writer: smallest (createdAt, creator, sid).
    const first = incarnations.sort(
      (a, b) =>
        a.createdAt - b.createdAt ||
        (a.creator < b.creator ? -1 : a.creator > b.creator ? 1 : a.sid < b.sid ? -1 : 1),
    )[0]!;
    expect(winner).toBe(first.sid);
    // Nodes that showed a loser switched to the first writer, and said so.
    await c.until(() => superseded.length >= 2, 5_000);
    expect(new Set(superseded.map((s) => s.split(':')[1])).size).toBe(2);
    expect(superseded.every((s) => !s.endsWith(winner))).toBe(true);
  });
});

describe('delete and re-create', () => {
  it('a re-create after a delete is a new room everywhere, and the old one stays deleted', async () => {
    const c = await startedCluster({ seed: simSeed(111) });
    cluster = c;
    const first = await c.settle(c.node('use-1').createRoom({ name: 'weekly', metadata: 'v1' }));
    await c.until(() => c.converged(), 2_000);
    await c.settle(c.node('usw-1').deleteRoom('weekly'));
    await c.until(() => c.running().every((n) => n.getRoom('weekly') === undefined), 2_000);
    await expect(c.settle(c.node('euc-1').deleteRoom('weekly'))).rejects.toBeInstanceOf(
      RoomNotFoundError,
    );
    const second = await c.settle(c.node('euc-1').createRoom({ name: 'weekly' }));
    expect(second.sid).not.toBe(first.sid);
    expect(second.metadata).toBe('');
    await c.until(() => c.converged(), 2_000);
    for (const node of c.running()) {
      expect(node.getRoom('weekly')?.sid).toBe(second.sid);
      const old = node.listRooms(['weekly']);
      expect(old.map((r) => r.sid)).toEqual([second.sid]);
    }
  });
});

describe('durability and failover', () => {
  it('keeps every acknowledged room on every survivor when a node crashes', async () => {
    const c = await startedCluster({ seed: simSeed(21) });
    cluster = c;
    const acked = new Map<string, string>();
    for (let i = 0; i < 200; i++) {
      const node = c.node(NODE_IDS[i % NODE_IDS.length]!);
      const room = await c.settle(node.createRoom({ name: `acked-${i}` }));
      acked.set(room.name, room.sid);
    }
    // Why each survivor changed its view of the crashed node (logged by the server).
    const reasons: string[] = [];
    for (const node of c.running()) {
      if (node.config.nodeId === 'usw-1') continue;
      for (const event of ['member-suspect', 'member-dead'] as const) {
        node.on(event, ({ member, reason }) => {
          if (member.nodeId === 'usw-1') reasons.push(`${event} ${reason}`);
        });
      }
    }
    c.crash('usw-1');
    await c.until(
      () =>
        c.running().every((n) => n.members().find((m) => m.nodeId === 'usw-1')?.state === 'dead'),
      5_000,
    );
    // A crash drops the connections, and the redial is refused: no waiting for silence.
    expect([...new Set(reasons)].sort()).toEqual([
      'member-dead probe-failed',
      'member-suspect connection-lost',
    ]);
    expect(reasons).toHaveLength(2 * (NODE_IDS.length - 1));
    await c.until(() => c.converged(), 5_000);
    for (const node of c.running()) {
      for (const [name, sid] of acked) expect(node.getRoom(name)?.sid).toBe(sid);
    }
    // Every survivor computes the same owner for every room, and never the dead node.
    const checksums = new Set(c.running().map((n) => n.status().ringChecksum));
    expect(checksums.size).toBe(1);
    for (const name of acked.keys()) {
      const owners = new Set(c.running().map((n) => n.ownerOf(name).owner));
      expect(owners.size).toBe(1);
      expect(owners.has('usw-1')).toBe(false);
    }
    // CreateRoom of those names returns the same sids.
    for (const [name, sid] of [...acked].slice(0, 20)) {
      const room = await c.settle(c.node('euc-1').createRoom({ name }));
      expect(room.sid).toBe(sid);
    }
  });

  it('batches concurrent durable writes per partner: every write acked, far fewer requests', async () => {
    const c = await startedCluster({ seed: simSeed(23) });
    cluster = c;
    const writer = c.node('use-1');
    const before = writer.status().counters.writes;
    const writes = Array.from({ length: 200 }, (_, i) =>
      c.settle(writer.createRoom({ name: `burst-${i}` })),
    );
    const rooms = await Promise.all(writes);
    const after = writer.status().counters.writes;
    expect(rooms).toHaveLength(200);
    expect(after.writesAcked - before.writesAcked).toBe(200);
    expect(after.writesUnavailable - before.writesUnavailable).toBe(0);
    // One request per write would be 200 x replicationFanout (2) = 400 (the test profile holds
    // at most 256 pending writes); pipelined batches
    // send a handful per partner.
    const sent = after.replicateRequestsSent - before.replicateRequestsSent;
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThanOrEqual(40);
    // Every acked write is held by another node already: crash the writer, nothing is lost.
    c.crash('use-1');
    await c.until(() => c.converged(), 10_000);
    for (const node of c.running()) {
      for (const room of rooms) expect(node.getRoom(room.name)?.sid).toBe(room.sid);
    }
  });

  it('answers unavailable when no partner can confirm, and the retry returns the same room', async () => {
    const c = await startedCluster({ seed: simSeed(31) });
    cluster = c;
    c.partition(['euc-1'], ['use-1', 'use-2', 'usw-1', 'usw-2']);
    await c.advance(100);
    const lonely = c.node('euc-1');
    await expect(
      c.settle(lonely.createRoom({ name: 'isolated' }, { deadlineMs: 200 })),
    ).rejects.toBeInstanceOf(UnavailableError);
    const local = lonely.getRoom('isolated');
    expect(local).toBeDefined();
    c.heal();
    await c.until(() => allAlive(c), 10_000);
    const retried = await c.settle(lonely.createRoom({ name: 'isolated' }));
    expect(retried.sid).toBe(local!.sid);
    await c.until(() => c.converged(), 5_000);
    for (const node of c.running()) expect(node.getRoom('isolated')?.sid).toBe(local!.sid);
  });

  it('with minAcks 2, answers an existing room another node created only once 2 others hold it (seed 31681)', async () => {
    const c = await startedCluster({ seed: simSeed(33), options: { minAcks: 2 } });
    cluster = c;
    // The creator and one node on its side: its write cannot be acknowledged (1 partner
    // reachable, 2 needed), but the room reaches that node by gossip.
    c.partition(['use-1', 'usw-1'], ['use-2', 'usw-2', 'euc-1']);
    await c.advance(100);
    await expect(
      c.settle(c.node('use-1').createRoom({ name: 'fragile' }, { deadlineMs: 200 })),
    ).rejects.toBeInstanceOf(UnavailableError);
    const sid = c.node('use-1').getRoom('fragile')!.sid;
    const holder = c.node('usw-1');
    await c.until(() => holder.getRoom('fragile') !== undefined, 2_000);
    c.crash('use-1');
    // The holder is alone in holding it: no answer that would acknowledge it (before the
    // fix it answered at once, and the room died with it).
    await expect(
      c.settle(holder.createRoom({ name: 'fragile' }, { deadlineMs: 200 })),
    ).rejects.toBeInstanceOf(UnavailableError);
    c.heal();
    await c.until(() => c.converged(), 10_000);
    const sentBefore = holder.status().counters.writes.replicateRequestsSent;
    const answered = await c.settle(holder.createRoom({ name: 'fragile' }));
    expect(answered.sid).toBe(sid);
    // Confirmed by its partners before the answer.
    expect(holder.status().counters.writes.replicateRequestsSent).toBeGreaterThan(sentBefore);
    // Known to be held now: the next answer is from memory, with no request.
    const sentAfter = holder.status().counters.writes.replicateRequestsSent;
    expect((await holder.createRoom({ name: 'fragile' })).sid).toBe(sid);
    expect(holder.status().counters.writes.replicateRequestsSent).toBe(sentAfter);
  });

  it('heals a partition with writes, deletes and same-name creates on both sides', async () => {
    const c = await startedCluster({ seed: simSeed(41) });
    cluster = c;
    for (let i = 0; i < 30; i++) await c.settle(c.node('use-1').createRoom({ name: `pre-${i}` }));
    await c.until(() => c.converged(), 5_000);
    c.partition(['use-1', 'usw-1', 'euc-1'], ['use-2', 'usw-2']);
    const sides = [
      ['use-1', 'usw-1', 'euc-1'],
      ['use-2', 'usw-2'],
    ];
    for (let i = 0; i < 60; i++) {
      const side = sides[i % 2]!;
      const node = c.node(c.random.pick(side));
      const op = c.random.int(3);
      if (op === 0) await attempt(c, node.createRoom({ name: `both-${i % 10}` }));
      else if (op === 1) await attempt(c, node.createRoom({ name: `side-${i}` }));
      else await attempt(c, node.deleteRoom(`pre-${i % 30}`));
    }
    await c.advance(3_000);
    c.heal();
    const healMs = await c.until(() => allAlive(c) && c.converged(), 10_000);
    expect(healMs).toBeLessThanOrEqual(10_000);
    const view = assertConverged(c);
    for (let k = 0; k < 10; k++) {
      if (view.has(`both-${k}`)) expect(c.node('usw-2').listRooms([`both-${k}`])).toHaveLength(1);
    }
  });

  it('catches up a node restarted with an empty store', async () => {
    const c = await startedCluster({ seed: simSeed(51) });
    cluster = c;
    for (let i = 0; i < 300; i++) {
      await c.settle(c.node(NODE_IDS[i % 5]!).createRoom({ name: `r-${i}` }));
    }
    c.crash('use-2');
    await c.advance(2_000);
    const fresh = await c.restart('use-2');
    expect(fresh.status().rooms).toBe(0);
    await c.until(() => c.converged() && fresh.status().rooms === 300, 10_000);
    assertConverged(c);
  });
});

describe('room lifecycle', () => {
  it('the owner removes a room empty past its departure timeout, everywhere', async () => {
    const c = await startedCluster({ seed: simSeed(61) });
    cluster = c;
    const room = await c.settle(
      c.node('use-1').createRoom({ name: 'meeting', emptyTimeoutS: 60, departureTimeoutS: 2 }),
    );
    const owner = c.node(c.node('use-1').ownerOf('meeting').owner!);
    await c.until(() => owner.getRoom('meeting') !== undefined, 2_000);
    owner.updateRoomStats('meeting', { numParticipants: 3, numPublishers: 1 });
    await c.advance(5_000);
    expect(owner.getRoom('meeting')?.sid).toBe(room.sid);
    owner.updateRoomStats('meeting', { numParticipants: 0, numPublishers: 0 });
    await c.advance(1_500);
    expect(owner.getRoom('meeting')).toBeDefined();
    await c.until(() => c.running().every((n) => n.getRoom('meeting') === undefined), 3_000);
  });

  it('keeps a room nobody reports on', async () => {
    const c = await startedCluster({ seed: simSeed(62) });
    cluster = c;
    await c.settle(c.node('use-1').createRoom({ name: 'quiet', emptyTimeoutS: 1 }));
    await c.advance(5_000);
    for (const node of c.running()) expect(node.getRoom('quiet')).toBeDefined();
  });
});
