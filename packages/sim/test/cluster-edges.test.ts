import {
  MEMBERSHIP_TOPIC,
  NodeNotReadyError,
  OverloadedError,
  ROOMS_TOPIC,
  UnavailableError,
} from '@roomring/core';
import { encodeMessage, packHlc } from '@roomring/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createSimCluster, type SimCluster, simSeed } from '../src/index.js';
import { allAlive, assertConverged, startedCluster } from './helpers.js';

let cluster: SimCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

describe('GC-horizon rule', () => {
  it('a node cut off longer than the tombstone TTL resyncs instead of bringing deleted rooms back', async () => {
    const c = await startedCluster({
      seed: simSeed(71),
      options: { tombstoneTtlMs: 3_000, gcIntervalMs: 500 },
    });
    cluster = c;
    for (let i = 0; i < 20; i++) await c.settle(c.node('use-1').createRoom({ name: `old-${i}` }));
    await c.until(() => c.converged(), 3_000);
    c.partition(['euc-1'], ['use-1', 'use-2', 'usw-1', 'usw-2']);
    for (let i = 0; i < 10; i++) await c.settle(c.node('use-1').deleteRoom(`old-${i}`));
    // A stats report on an old room while cut off (its hosting media server is in that
    // region) makes it look recently changed; it must still not come back.
    c.node('euc-1').updateRoomStats('old-0', { numParticipants: 3, numPublishers: 1 });
    // The isolated node keeps writing meanwhile; its writes cannot be acknowledged.
    await expect(
      c.settle(c.node('euc-1').createRoom({ name: 'made-while-alone' }, { deadlineMs: 100 })),
    ).rejects.toBeInstanceOf(UnavailableError);
    await c.advance(6_000);
    // The majority has collected the tombstones by now.
    expect(c.node('use-1').status().tombstones).toBe(0);
    // Past the TTL alone it still answers reads, but refuses writes: any write could spread
    // a room the others deleted and collected.
    expect(c.node('euc-1').getRoom('old-0')).toBeDefined();
    await expect(c.node('euc-1').createRoom({ name: 'late' })).rejects.toBeInstanceOf(
      NodeNotReadyError,
    );
    expect(() =>
      c.node('euc-1').updateRoomStats('old-1', { numParticipants: 1, numPublishers: 0 }),
    ).toThrow(NodeNotReadyError);
    c.heal();
    await c.until(() => allAlive(c) && c.converged(), 10_000);
    const view = assertConverged(c);
    for (let i = 0; i < 10; i++) expect(view.has(`old-${i}`)).toBe(false);
    for (let i = 10; i < 20; i++) expect(view.has(`old-${i}`)).toBe(true);
    // Unacknowledged, and the witness lacks it: it may have leaked out before (a one-way
    // cut) and been deleted, so it goes with the deleted rooms.
    expect(view.has('made-while-alone')).toBe(false);
    expect(view.has('late')).toBe(false);
  });
});

describe('GC-horizon rule, every node alone', () => {
  it('two nodes each alone past the TTL keep what both hold and drop what either deleted or created unacknowledged', async () => {
    const c = await createSimCluster({
      nodes: [
        { nodeId: 'a', region: 'us-east' },
        { nodeId: 'b', region: 'eu-central' },
      ],
      seed: simSeed(72),
      options: { tombstoneTtlMs: 3_000, gcIntervalMs: 500, minAcks: 1 },
    });
    cluster = c;
    await c.startAll();
    await c.until(() => allAlive(c), 5_000);
    for (let i = 0; i < 6; i++) await c.settle(c.node('a').createRoom({ name: `shared-${i}` }));
    await c.until(() => c.converged(), 3_000);
    await c.advance(2_000);
    c.partition(['a'], ['b']);
    // Each side deletes one room and creates one while alone (unacknowledged: no partner).
    const alone = { deadlineMs: 50 };
    await c.settle(c.node('a').deleteRoom('shared-0', alone)).catch(() => undefined);
    await c.settle(c.node('b').deleteRoom('shared-1', alone)).catch(() => undefined);
    await c.settle(c.node('a').createRoom({ name: 'new-a' }, alone)).catch(() => undefined);
    await c.settle(c.node('b').createRoom({ name: 'new-b' }, alone)).catch(() => undefined);
    await c.advance(5_000);
    expect(c.node('a').status().tombstones).toBe(0);
    expect(c.node('b').status().tombstones).toBe(0);
    c.heal();
    await c.until(
      () => allAlive(c) && c.converged() && c.running().every((n) => n.nodeState() === 'running'),
      10_000,
    );
    const view = assertConverged(c);
    expect([...view.keys()].sort()).toEqual(['shared-2', 'shared-3', 'shared-4', 'shared-5']);
  });
});

describe('bounds and bad input', () => {
  it('sheds writes with OverloadedError once pendingWritesMax wait for acks, changing nothing', async () => {
    // Slow links keep writes waiting for their acks.
    const c = await startedCluster({
      seed: simSeed(81),
      options: { pendingWritesMax: 4 },
      network: { latencyMsMin: 40, latencyMsMax: 40 },
    });
    cluster = c;
    const node = c.node('use-1');
    const kept = await c.settle(node.createRoom({ name: 'kept' }));
    const waiting = Array.from({ length: 4 }, (_, i) => node.createRoom({ name: `w-${i}` }));
    expect(node.status().pendingWrites).toBe(4);
    await expect(node.createRoom({ name: 'one-too-many' })).rejects.toBeInstanceOf(OverloadedError);
    // Only creates are shed: an existing room is still returned, as it is.
    expect(await node.createRoom({ name: 'kept' })).toBe(kept);
    expect(node.getRoom('one-too-many')).toBeUndefined();
    const rooms = await c.settle(Promise.all(waiting));
    expect(rooms.map((r) => r.name)).toEqual(['w-0', 'w-1', 'w-2', 'w-3']);
    expect(node.status().pendingWrites).toBe(0);
    expect(node.status().counters.writes.writesShed).toBe(1);
  });

  it('rejects malformed gossip, counts it, and keeps serving', async () => {
    const c = await startedCluster({ seed: simSeed(91) });
    cluster = c;
    await c.settle(c.node('use-1').createRoom({ name: 'before' }));
    const rogue = c.network.createTransport('rogue');
    await rogue.start();
    rogue.subscribe(ROOMS_TOPIC, () => 'accept');
    rogue.subscribe(MEMBERSHIP_TOPIC, () => 'accept');
    await c.settle(rogue.dial(c.node('use-1').members()[0]!.p2pAddrs[0]!, { timeoutMs: 100 }));
    await rogue.publish(MEMBERSHIP_TOPIC, new Uint8Array([0xc1, 0xff, 0x00]));
    await rogue.publish(ROOMS_TOPIC, new Uint8Array(64).fill(0x92));
    // A well-formed batch from a peer that is not a member is ignored.
    await rogue.publish(
      ROOMS_TOPIC,
      encodeMessage({
        type: 'room-batch',
        origin: 'rogue',
        seq: 1,
        sentAt: packHlc(c.time.nowMs(), 0),
        records: [{ ...c.node('use-1').getRoom('before')!, name: 'forged' }],
      }),
    );
    await c.advance(200);
    const target = c.node('use-1').status().counters.gossip;
    expect(target.batchesRejected + target.membershipRejected).toBeGreaterThanOrEqual(2);
    const room = await c.settle(c.node('use-1').createRoom({ name: 'still-fine' }));
    expect(room.name).toBe('still-fine');
    expect(
      c
        .node('use-1')
        .members()
        .some((m) => m.nodeId === 'rogue'),
    ).toBe(false);
    expect(c.node('use-1').getRoom('forged')).toBeUndefined();
  });

  it('a graceful stop moves ownership at once and emits member-left', async () => {
    const c = await startedCluster({ seed: simSeed(95) });
    cluster = c;
    const left: string[] = [];
    c.node('use-1').on('member-left', (e) => left.push(e.member.nodeId));
    const gained: string[] = [];
    c.node('use-1').on('ownership-gained', (e) => gained.push(e.name));
    for (let i = 0; i < 40; i++) await c.settle(c.node('use-2').createRoom({ name: `e-${i}` }));
    await c.until(() => c.converged(), 2_000);
    const ownedByUse2 = c.node('use-2').ownedRooms();
    expect(ownedByUse2.length).toBeGreaterThan(0);
    await c.stop('use-2');
    await c.until(() => left.includes('use-2'), 1_000);
    await c.until(() => ownedByUse2.every((n) => gained.includes(n)), 1_000);
    for (const name of ownedByUse2) expect(c.node('usw-1').ownerOf(name).owner).toBe('use-1');
  });
});
