/**
 * DurableWrites (packages/core/src/durable-writes.ts) on its own: a writer and two partners,
 * each a DurableWrites over the memory network with a real store. Every hop takes exactly
 * 5 virtual ms, so a replicate round trip takes 10 ms and each test can say what happens at
 * which millisecond.
 */
import {
  CONFIRMED_MAX,
  DurableWrites,
  OverloadedError,
  type Transport,
  UNACKED_MAX,
  UnavailableError,
} from '@roomring/core';
import type { RoomStore } from '@roomring/store';
import { describe, expect, it } from 'vitest';
import {
  createMemoryNetwork,
  createSeededRandom,
  createVirtualTime,
  type MemoryNetwork,
  type VirtualTime,
} from '../../src/index.js';
import { partConfig, storeOf } from './fixtures.js';

const HOP_MS = 5;
const DEADLINE_MS = 2_000;

interface DurableNode {
  store: RoomStore;
  transport: Transport;
  durable: DurableWrites;
}

/** A node's DurableWrites with the host the registry gives it: partners from `route`, writes
 *  accepted from `members` only, merged into its own store. */
function durableNode(
  network: MemoryNetwork,
  time: VirtualTime,
  nodeId: string,
  seed: number,
  members: readonly string[],
  route: { partners: string[] } = { partners: [] },
  options: { minAcks?: number; confirmedMax?: number; pendingWritesMax?: number } = {},
): DurableNode {
  const config = partConfig({
    nodeId,
    minAcks: options.minAcks ?? 1,
    ...(options.pendingWritesMax === undefined
      ? {}
      : { pendingWritesMax: options.pendingWritesMax }),
  });
  const store = storeOf(config, time, seed);
  const transport = network.createTransport(nodeId);
  const durable = new DurableWrites(
    config,
    transport,
    {
      nowMs: () => time.nowMs(),
      stamp: () => store.hlc.now(),
      partnersFor: (_name, count) => route.partners.slice(0, count),
      isMember: (peer) => members.includes(peer),
      mergeRemote: (record) => store.merge(record).kind !== 'rejected',
      incarnation: (name, sid) => store.incarnations(name).find((r) => r.sid === sid),
      // No gossip here: every write goes by replicate requests alone.
      reachesEveryPeer: () => false,
      withholdGossip: () => [],
      gossip: () => {},
    },
    options.confirmedMax ?? CONFIRMED_MAX,
  );
  durable.register();
  return { store, transport, durable };
}

/** Writer `a` (partners from `route`), partners `b` and `c` that know `a` as a member
 *  (or no one, with `strangers`), all connected. */
async function writerAndPartners(
  options: {
    strangers?: boolean;
    minAcks?: number;
    confirmedMax?: number;
    pendingWritesMax?: number;
  } = {},
) {
  const time = createVirtualTime();
  const network = createMemoryNetwork({
    time,
    random: createSeededRandom(12),
    latencyMsMin: HOP_MS,
    latencyMsMax: HOP_MS,
  });
  const route = { partners: ['b'] };
  const partnerMembers = options.strangers ? [] : ['a'];
  const a = durableNode(network, time, 'a', 1, ['b', 'c'], route, options);
  const b = durableNode(network, time, 'b', 2, partnerMembers);
  const c = durableNode(network, time, 'c', 3, partnerMembers);
  for (const node of [a, b, c]) await node.transport.start();
  void a.transport.dial('memory/b', { timeoutMs: 100 });
  void a.transport.dial('memory/c', { timeoutMs: 100 });
  await time.advance(2 * HOP_MS);
  return { time, network, route, a, b, c };
}

/** How a confirm call ended, without an unhandled rejection while the test waits. */
function outcomeOf(confirm: Promise<void>): Promise<'confirmed' | unknown> {
  return confirm.then(
    () => 'confirmed',
    (error: unknown) => error,
  );
}

describe('DurableWrites', () => {
  it('confirms a write once a partner holds it: one request, one round trip', async () => {
    const { time, a, b } = await writerAndPartners();
    const room = a.store.getOrCreate({ name: 'r', homeRegion: 'us-east' }).room;
    a.durable.mark(room.sid);
    expect(a.durable.isUnacked(room.sid)).toBe(true);
    const startMs = time.nowMs();
    const confirmedAt = a.durable.confirm([room], startMs + DEADLINE_MS).then(() => time.nowMs());
    expect(a.durable.pendingWrites()).toBe(1);
    await time.advance(50);
    expect(await confirmedAt).toBe(startMs + 2 * HOP_MS);
    expect(a.durable.isUnacked(room.sid)).toBe(false);
    expect(a.durable.pendingWrites()).toBe(0);
    expect(b.store.get('r')?.sid).toBe(room.sid);
    expect(b.durable.counters.replicateRequestsServed).toBe(1);
    // Confirmed already: a retry returns at once, without asking a partner again.
    await a.durable.confirm([room], time.nowMs() + DEADLINE_MS);
    expect(a.durable.counters.replicateRequestsSent).toBe(1);
    expect(a.durable.counters.writesAcked).toBe(1);
  });

  it('sends the writes of one turn to a partner in one request, and later ones in the next', async () => {
    const { time, a, b } = await writerAndPartners();
    const confirmAll = (names: string[]) =>
      names.map((name) => {
        const room = a.store.getOrCreate({ name, homeRegion: 'us-east' }).room;
        a.durable.mark(room.sid);
        return a.durable.confirm([room], time.nowMs() + DEADLINE_MS).then(() => time.nowMs());
      });
    const startMs = time.nowMs();
    const first = confirmAll(['r1', 'r2', 'r3', 'r4', 'r5']);
    await time.advance(1);
    const second = confirmAll(['r6', 'r7']);
    await time.advance(50);
    // All five of the first turn went in the first request (acked after one round trip),
    // the two of the next turn in a second request sent at 1 ms.
    expect(await Promise.all(first)).toEqual(Array(5).fill(startMs + 2 * HOP_MS));
    expect(await Promise.all(second)).toEqual(Array(2).fill(startMs + 1 + 2 * HOP_MS));
    expect(a.durable.counters.replicateRequestsSent).toBe(2);
    expect(b.durable.counters.replicateRequestsServed).toBe(2);
    expect(a.durable.counters.writesAcked).toBe(7);
  });

  it("keeps a later write's entry when an earlier write of the same sid is confirmed", async () => {
    // The create is sent at 0 ms; the delete of the same room 3 ms later. The partner takes
    // the create at 5 ms and answers, stops at 6 ms (the delete arrives at 8 ms and is never
    // handled), and is gone at 11 ms, after its ack of the create arrived at 10 ms. The
    // create's confirmation must not clear the delete's entry: the delete's retry must find
    // it and confirm it at another partner (a cleared entry made deleteRoom answer
    // not_found for a delete it had applied).
    const { time, network, route, a, b, c } = await writerAndPartners();
    const room = a.store.getOrCreate({ name: 'r', homeRegion: 'us-east' }).room;
    const created = { ...room };
    a.durable.mark(room.sid);
    const createOutcome = outcomeOf(a.durable.confirm([created], time.nowMs() + DEADLINE_MS));
    await time.advance(3);
    const deleted = a.store.delete('r');
    expect(deleted.map((r) => r.sid)).toEqual([room.sid]);
    a.durable.mark(room.sid);
    const deleteOutcome = outcomeOf(a.durable.confirm(deleted, time.nowMs() + DEADLINE_MS));
    await time.advance(3);
    network.pause('b');
    await time.advance(5);
    expect(await createOutcome).toBe('confirmed');
    expect(a.durable.isUnacked(room.sid)).toBe(true);
    network.crash('b');
    await time.settle();
    expect(await deleteOutcome).toBeInstanceOf(UnavailableError);
    expect(a.durable.isUnacked(room.sid)).toBe(true);
    expect(b.store.get('r')?.sid).toBe(room.sid);

    // The retry, as deleteRoom makes it: the name's tombstones, the unconfirmed one first.
    route.partners = ['c'];
    const tombstones = a.store.incarnations('r').filter((r) => r.deletedAt !== 0);
    const retried = tombstones.find((r) => a.durable.isUnacked(r.sid));
    expect(retried?.sid).toBe(room.sid);
    const retryOutcome = outcomeOf(a.durable.confirm(tombstones, time.nowMs() + DEADLINE_MS));
    await time.advance(2 * HOP_MS);
    expect(await retryOutcome).toBe('confirmed');
    expect(a.durable.isUnacked(room.sid)).toBe(false);
    expect(c.store.get('r')).toBeUndefined();
    expect(c.store.incarnations('r').map((r) => [r.sid, r.deletedAt !== 0])).toEqual([
      [room.sid, true],
    ]);
    expect(a.durable.counters.writesAcked).toBe(2);
    expect(a.durable.counters.writesUnavailable).toBe(1);
  });

  it('is not acknowledged by a partner that holds the room deleted (holdsAsSent)', async () => {
    const { time, a, b } = await writerAndPartners();
    const room = a.store.getOrCreate({ name: 'r', homeRegion: 'us-east' }).room;
    // The delete reached the partner, not the writer (made elsewhere, or lost on its way).
    b.store.merge({ ...room });
    b.store.delete('r');
    a.durable.mark(room.sid);
    const outcome = outcomeOf(a.durable.confirm([{ ...room }], time.nowMs() + DEADLINE_MS));
    await time.advance(2 * HOP_MS);
    expect(await outcome).toBeInstanceOf(UnavailableError);
    // The partner answered (it took the request), storing nothing it could vouch for.
    expect(b.durable.counters.replicateRequestsServed).toBe(1);
    expect(b.store.incarnations('r').map((r) => r.deletedAt !== 0)).toEqual([true]);
    expect(a.durable.isUnacked(room.sid)).toBe(true);
    expect(a.durable.counters.writesUnavailable).toBe(1);

    // The tombstone itself is acknowledged: the partner holds the incarnation as final.
    const tombstone = { ...b.store.incarnations('r')[0]! };
    a.store.merge(tombstone);
    a.durable.mark(room.sid);
    const deleteOutcome = outcomeOf(a.durable.confirm([tombstone], time.nowMs() + DEADLINE_MS));
    await time.advance(2 * HOP_MS);
    expect(await deleteOutcome).toBe('confirmed');
    expect(a.durable.isUnacked(room.sid)).toBe(false);
  });

  it('refuses replicate requests from a node that is not a member', async () => {
    const { time, a, b } = await writerAndPartners({ strangers: true });
    const room = a.store.getOrCreate({ name: 'r', homeRegion: 'us-east' }).room;
    a.durable.mark(room.sid);
    const outcome = outcomeOf(a.durable.confirm([room], time.nowMs() + DEADLINE_MS));
    await time.advance(2 * HOP_MS);
    expect(await outcome).toBeInstanceOf(UnavailableError);
    expect(b.durable.counters.replicateRequestsRejected).toBe(1);
    expect(b.durable.counters.replicateRequestsServed).toBe(0);
    expect(b.store.counts().incarnations).toBe(0);
  });

  it(`remembers at most UNACKED_MAX (${UNACKED_MAX}) unconfirmed writes, oldest forgotten first`, async () => {
    const { time, a } = await writerAndPartners();
    const sid = (i: number): string => `RM_${String(i).padStart(12, '0')}`;
    for (let i = 0; i < UNACKED_MAX; i++) a.durable.mark(sid(i));
    expect(a.durable.unackedEvicted).toBe(0);
    // Marked again, the oldest write becomes the newest: the next one in line goes instead.
    a.durable.mark(sid(0));
    a.durable.mark(sid(UNACKED_MAX));
    a.durable.mark(sid(UNACKED_MAX + 1));
    expect(a.durable.unackedEvicted).toBe(2);
    expect([0, 1, 2, 3, UNACKED_MAX + 1].map((i) => a.durable.isUnacked(sid(i)))).toEqual([
      true,
      false,
      false,
      true,
      true,
    ]);
    // A retry of a forgotten write returns at once: nothing is sent.
    const forgotten = { ...a.store.getOrCreate({ name: 'r', homeRegion: 'us-east' }).room };
    await a.durable.confirm([{ ...forgotten, sid: sid(1) }], time.nowMs() + DEADLINE_MS);
    expect(a.durable.counters.replicateRequestsSent).toBe(0);
  });

  it('with minAcks 1, answers an existing room received from another node without a request', async () => {
    const { a, b } = await writerAndPartners();
    const room = b.store.getOrCreate({ name: 'r', homeRegion: 'us-east' }).room;
    a.store.merge({ ...room });
    // Its sender holds it and so does a: one other already.
    expect(a.durable.mustConfirmExisting(room.sid)).toBe(false);
  });

  it('with minAcks 2, confirms an existing room once, sharing one confirmation between concurrent answers', async () => {
    const { time, network, route, a, b, c } = await writerAndPartners({ minAcks: 2 });
    route.partners = ['b', 'c'];
    // Created at b, received by a; c lacks it.
    const room = b.store.getOrCreate({ name: 'r', homeRegion: 'us-east' }).room;
    a.store.merge({ ...room });
    const held = a.store.get('r')!;
    expect(a.durable.mustConfirmExisting(room.sid)).toBe(true);

    // c is stopped: 1 ack of 2, no answer.
    network.pause('c');
    const refused = outcomeOf(a.durable.confirmExisting([held], time.nowMs() + 100));
    await time.advance(200);
    expect(await refused).toBeInstanceOf(UnavailableError);
    expect(a.durable.mustConfirmExisting(room.sid)).toBe(true);
    network.resume('c');
    await time.advance(2 * HOP_MS);

    const sentBefore = a.durable.counters.replicateRequestsSent;
    const first = outcomeOf(a.durable.confirmExisting([held], time.nowMs() + DEADLINE_MS));
    const second = outcomeOf(a.durable.confirmExisting([held], time.nowMs() + DEADLINE_MS));
    await time.advance(2 * HOP_MS);
    expect([await first, await second]).toEqual(['confirmed', 'confirmed']);
    // One request per partner for both answers.
    expect(a.durable.counters.replicateRequestsSent - sentBefore).toBe(2);
    expect(c.store.get('r')?.sid).toBe(room.sid);
    expect(a.durable.mustConfirmExisting(room.sid)).toBe(false);
    await a.durable.confirmExisting([held], time.nowMs() + DEADLINE_MS);
    expect(a.durable.counters.replicateRequestsSent - sentBefore).toBe(2);
    // A resync that forgets the incarnation forgets that it was confirmed.
    a.durable.forget(room.sid);
    expect(a.durable.mustConfirmExisting(room.sid)).toBe(true);
  });

  it('with minAcks 2, knows its own confirmed writes held, the newest confirmedMax of them', async () => {
    const { time, route, a } = await writerAndPartners({ minAcks: 2, confirmedMax: 3 });
    route.partners = ['b', 'c'];
    const rooms = ['r0', 'r1', 'r2', 'r3'].map(
      (name) => a.store.getOrCreate({ name, homeRegion: 'us-east' }).room,
    );
    const confirms = rooms.map((room) => {
      a.durable.mark(room.sid);
      expect(a.durable.mustConfirmExisting(room.sid)).toBe(true);
      return outcomeOf(a.durable.confirm([room], time.nowMs() + DEADLINE_MS));
    });
    await time.advance(2 * HOP_MS);
    expect(await Promise.all(confirms)).toEqual(Array(4).fill('confirmed'));
    // Confirmed in order r0..r3; the oldest is forgotten past the bound (3 here).
    expect(a.durable.confirmedCount()).toBe(3);
    expect(rooms.map((room) => a.durable.mustConfirmExisting(room.sid))).toEqual([
      true,
      false,
      false,
      false,
    ]);
  });

  it('with minAcks 2, sheds an existing-room confirmation past pendingWritesMax', async () => {
    const { time, route, a, b } = await writerAndPartners({ minAcks: 2, pendingWritesMax: 1 });
    route.partners = ['b', 'c'];
    const held = ['r1', 'r2'].map((name) => {
      const room = b.store.getOrCreate({ name, homeRegion: 'us-east' }).room;
      a.store.merge({ ...room });
      return a.store.get(name)!;
    });
    const first = outcomeOf(a.durable.confirmExisting([held[0]!], time.nowMs() + DEADLINE_MS));
    // One waits for acks: the limit. Another room's confirmation is shed, changing nothing;
    // the same room's joins the one under way.
    await expect(
      a.durable.confirmExisting([held[1]!], time.nowMs() + DEADLINE_MS),
    ).rejects.toBeInstanceOf(OverloadedError);
    const joined = outcomeOf(a.durable.confirmExisting([held[0]!], time.nowMs() + DEADLINE_MS));
    await time.advance(2 * HOP_MS);
    expect([await first, await joined]).toEqual(['confirmed', 'confirmed']);
    expect(a.durable.mustConfirmExisting(held[1]!.sid)).toBe(true);
    expect(a.durable.counters.writesShed).toBe(1);
  });
});
