/**
 * RoomOwnership (packages/core/src/ownership.ts) on its own: a real store and event emitter
 * on virtual time, and a host whose placement the test sets room by room. Ownership needs no
 * network: what it asks of the node is who owns a room, whether the node is stopping, and to
 * expire a room (done here as the registry does it: a local delete, then afterChange).
 */
import {
  type NodeConfig,
  OWNERSHIP_SCAN_STEP_ROOMS,
  RegistryEventEmitter,
  type RegistryEventName,
  RoomOwnership,
  type Runtime,
} from '@roomring/core';
import type { RoomRecord } from '@roomring/protocol';
import type { RoomStore } from '@roomring/store';
import { describe, expect, it } from 'vitest';
import { createSeededRandom, createVirtualTime, type VirtualTime } from '../../src/index.js';
import { partConfig, runtimeOn, storeOf } from './fixtures.js';

const ROOM_EVENTS: readonly RegistryEventName[] = [
  'room-created',
  'room-updated',
  'room-deleted',
  'room-superseded',
  'ownership-gained',
  'ownership-lost',
];

/** Every room and ownership event as one line: `room-created r local RM_...`. */
function eventLog(events: RegistryEventEmitter): string[] {
  const log: string[] = [];
  for (const name of ROOM_EVENTS) {
    events.on(name, (payload) => {
      const p = payload as Record<string, unknown>;
      const room = p.room as Readonly<RoomRecord> | undefined;
      if (room) log.push(`${name} ${room.name} ${String(p.origin)} ${room.sid}`);
      else if (name === 'room-superseded')
        log.push(`${name} ${p.name} ${p.winnerSid}>${p.loserSid}`);
      else log.push(`${name} ${p.name} ${p.sid}`);
    });
  }
  return log;
}

interface OwnershipNode {
  config: NodeConfig;
  time: VirtualTime;
  store: RoomStore;
  ownership: RoomOwnership;
  log: string[];
  /** Owner by room name; `defaultOwner` for the others. */
  owners: Map<string, string>;
  /** `ownsCalls`: how many times the ownership asked whether this node owns a room. */
  placement: { defaultOwner: string; stopping: boolean; ownsCalls: number };
  expired: string[];
  /** A local create as the registry makes it: the store, then afterChange. */
  create(name: string): Readonly<RoomRecord>;
  /** A remote record as the replica merges it: afterChange only when the store changed. */
  mergeRemote(record: Readonly<RoomRecord>): void;
}

function ownershipNode(
  options: { scanBatchMax?: number; unreportedRoomTtlMs?: number; runtime?: Runtime } = {},
): OwnershipNode {
  const time = createVirtualTime();
  const config = partConfig({
    nodeId: 'a',
    scanBatchMax: options.scanBatchMax ?? 3,
    unreportedRoomTtlMs: options.unreportedRoomTtlMs ?? 0,
    tombstoneTtlMs: 5_000,
  });
  const store = storeOf(config, time, 1);
  const events = new RegistryEventEmitter();
  const log = eventLog(events);
  const owners = new Map<string, string>();
  const placement = { defaultOwner: 'a', stopping: false, ownsCalls: 0 };
  const expired: string[] = [];
  const ownership: RoomOwnership = new RoomOwnership(
    config,
    store,
    options.runtime ?? runtimeOn(time, 1),
    events,
    {
      ownsRoom: (room) => {
        placement.ownsCalls++;
        return (owners.get(room.name) ?? placement.defaultOwner) === 'a';
      },
      stopping: () => placement.stopping,
      expire: (room) => {
        expired.push(room.name);
        store.delete(room.name);
        ownership.afterChange(room.name, room.sid, 'local');
      },
    },
  );
  const create = (name: string): Readonly<RoomRecord> => {
    const room = store.getOrCreate({ name, homeRegion: 'us-east' }).room;
    ownership.afterChange(name, undefined, 'local');
    return room;
  };
  const mergeRemote = (record: Readonly<RoomRecord>): void => {
    const outcome = store.merge({ ...record });
    if (outcome.kind === 'inserted' || outcome.kind === 'updated') {
      ownership.afterChange(record.name, outcome.visibleSidBefore, 'remote');
    }
  };
  return { config, time, store, ownership, log, owners, placement, expired, create, mergeRemote };
}

describe('RoomOwnership', () => {
  it('emits created, updated, deleted and ownership events after each change', async () => {
    const node = ownershipNode();
    const { store, ownership, log } = node;
    node.owners.set('theirs', 'b');
    const r = node.create('r');
    const theirs = node.create('theirs');
    expect(ownership.ownedRooms()).toEqual(['r']);
    store.updateMetadata('r', 'm');
    ownership.afterChange('r', r.sid, 'local');
    store.updateStats('r', { numParticipants: 2, numPublishers: 1, activeRecording: false });
    ownership.afterChange('r', r.sid, 'remote');
    store.delete('r');
    ownership.afterChange('r', r.sid, 'local');
    expect(log).toEqual([
      `room-created r local ${r.sid}`,
      `ownership-gained r ${r.sid}`,
      `room-created theirs local ${theirs.sid}`,
      `room-updated r local ${r.sid}`,
      `room-updated r remote ${r.sid}`,
      `room-deleted r local ${r.sid}`,
      // No visible room is left to name: a loss by delete carries sid '' (docs/api.md).
      'ownership-lost r ',
    ]);
    expect(ownership.ownedRooms()).toEqual([]);
    expect(ownership.ownedCount()).toBe(0);
  });

  it('a visible room forgotten (a resync) stops being hosted and indexed, given the sid it was', () => {
    const node = ownershipNode({ unreportedRoomTtlMs: 1_000 });
    const { store, ownership } = node;
    node.owners.set('theirs', 'b');
    const r = node.create('r');
    node.create('theirs');
    expect(ownership.ownedRooms()).toEqual(['r']);
    expect(ownership.expiryCandidates()).toBe(1);
    expect(store.forget('r', r.sid)?.sid).toBe(r.sid);
    ownership.afterChange('r', r.sid, 'remote');
    expect(ownership.ownedRooms()).toEqual([]);
    expect(ownership.expiryCandidates()).toBe(0);
    // The name created again is hosted and indexed like any new room.
    const again = node.create('r');
    expect(again.sid).not.toBe(r.sid);
    expect(ownership.ownedRooms()).toEqual(['r']);
    expect(ownership.expiryCandidates()).toBe(1);
    expect(node.log.slice(-1)).toEqual([`ownership-gained r ${again.sid}`]);
  });

  it('an older incarnation of a concurrent create supersedes; a re-create is a delete and a create', async () => {
    const node = ownershipNode();
    const { time, store, ownership, log } = node;
    // Node b's clock is 1 s behind: its concurrent create of `r` is the first writer.
    const other = storeOf(partConfig({ nodeId: 'b' }), time, 2, -1_000);
    const mine = node.create('r');
    const older = other.getOrCreate({ name: 'r', homeRegion: 'us-east' }).room;
    node.mergeRemote(older);
    expect(store.get('r')?.sid).toBe(older.sid);
    expect(log).toEqual([
      `room-created r local ${mine.sid}`,
      `ownership-gained r ${mine.sid}`,
      `room-superseded r ${older.sid}>${mine.sid}`,
    ]);

    // b deletes r and creates it again; here the new incarnation arrives before the delete.
    log.length = 0;
    await time.advance(2_000);
    other.merge({ ...mine });
    const tombstones = other.delete('r');
    const again = other.getOrCreate({ name: 'r', homeRegion: 'us-east' }).room;
    expect(tombstones.map((r) => r.sid)).toEqual([older.sid, mine.sid]);
    node.mergeRemote(again);
    // The first tombstone's delete horizon ends `mine` too: its own tombstone changes nothing.
    for (const tombstone of tombstones) node.mergeRemote(tombstone);
    expect(store.get('r')?.sid).toBe(again.sid);
    expect(log).toEqual([
      // A change to an incarnation that is not visible: the visible room is reported updated.
      `room-updated r remote ${older.sid}`,
      `room-deleted r remote ${older.sid}`,
      `room-created r remote ${again.sid}`,
    ]);
    // The name stayed owned throughout: no ownership event.
    expect(ownership.ownedRooms()).toEqual(['r']);
  });

  it('re-evaluates ownership after a ring change in steps of scanBatchMax rooms', async () => {
    // Timers the test runs one at a time, to see each step of the scan.
    const steps: (() => void)[] = [];
    const time = createVirtualTime();
    const runtime: Runtime = {
      clock: time,
      random: createSeededRandom(1),
      timers: {
        setTimer: (_delayMs, callback) => {
          steps.push(callback);
          return () => undefined;
        },
      },
    };
    const node = ownershipNode({ scanBatchMax: 3, runtime });
    const gained = () => node.log.filter((line) => line.startsWith('ownership-gained')).length;
    node.placement.defaultOwner = 'b';
    for (let i = 0; i < 7; i++) node.create(`r${i}`);
    node.log.length = 0;
    node.placement.defaultOwner = 'a';
    node.ownership.ringsChanged();
    const runStep = () => steps.shift()?.();
    const trace: [gained: number, queued: number][] = [];
    runStep();
    trace.push([gained(), steps.length]);
    // Rings changed again mid-scan: the scan restarts, still one step at a time.
    node.ownership.ringsChanged();
    trace.push([gained(), steps.length]);
    for (let i = 0; i < 4; i++) {
      runStep();
      trace.push([gained(), steps.length]);
    }
    expect(trace).toEqual([
      [3, 1],
      [3, 1],
      [3, 1], // the restart walks the first three again: owned already, no event
      [6, 1],
      [7, 0], // the last room, then the scan ends: no further step
      [7, 0],
    ]);
    expect(node.ownership.ownedCount()).toBe(7);
    // A node stopping ends a scan at its next step.
    node.placement.defaultOwner = 'b';
    node.placement.stopping = true;
    node.ownership.ringsChanged();
    runStep();
    expect(steps).toHaveLength(0);
    expect(node.ownership.ownedCount()).toBe(7);
  });

  it('scans heartbeatIntervalMs after a ring change, once for a burst of changes', async () => {
    const node = ownershipNode({ scanBatchMax: 100 });
    const { ownership, time, config } = node;
    const wait = config.heartbeatIntervalMs;
    node.placement.defaultOwner = 'b';
    for (let i = 0; i < 10; i++) node.create(`r${i}`);
    node.placement.ownsCalls = 0;
    const walked = () => node.placement.ownsCalls;
    // A burst: the rings change three times within the wait, the rooms move to this node.
    node.placement.defaultOwner = 'a';
    ownership.ringsChanged();
    await time.advance(wait / 2);
    ownership.ringsChanged();
    await time.advance(wait / 2 - 1);
    ownership.ringsChanged();
    expect([ownership.ownedCount(), walked()]).toEqual([0, 0]);
    await time.advance(1);
    // One walk over the 10 rooms, on the rings as they were then.
    expect([ownership.ownedCount(), walked()]).toEqual([10, 10]);
    expect(node.log.filter((line) => line.startsWith('ownership-gained'))).toHaveLength(10);
    await time.advance(wait * 3);
    expect(walked()).toBe(10);
    // stop() drops a scan still waiting: the rooms move away, nothing walks them.
    node.placement.defaultOwner = 'b';
    ownership.ringsChanged();
    ownership.stop();
    await time.advance(wait * 2);
    expect([ownership.ownedCount(), walked()]).toEqual([10, 10]);
  });

  it('takes at most OWNERSHIP_SCAN_STEP_ROOMS per step, whatever scanBatchMax allows', () => {
    const steps: (() => void)[] = [];
    const time = createVirtualTime();
    const runtime: Runtime = {
      clock: time,
      random: createSeededRandom(2),
      timers: {
        setTimer: (_delayMs, callback) => {
          steps.push(callback);
          return () => undefined;
        },
      },
    };
    // The production default: a failover's scan must still yield every 1,000 rooms.
    const node = ownershipNode({ scanBatchMax: 20_000, runtime });
    node.placement.defaultOwner = 'b';
    const rooms = OWNERSHIP_SCAN_STEP_ROOMS * 2 + 500;
    for (let i = 0; i < rooms; i++) node.create(`r${i}`);
    node.placement.defaultOwner = 'a';
    node.ownership.ringsChanged();
    const owned: number[] = [];
    while (steps.length > 0) {
      steps.shift()!();
      owned.push(node.ownership.ownedCount());
    }
    expect(owned).toEqual([OWNERSHIP_SCAN_STEP_ROOMS, OWNERSHIP_SCAN_STEP_ROOMS * 2, rooms]);
  });

  it('indexes the expiry of owned rooms only, following ownership as the rings move', async () => {
    const node = ownershipNode({ scanBatchMax: 100, unreportedRoomTtlMs: 1_000 });
    const { ownership } = node;
    node.placement.defaultOwner = 'b';
    for (let i = 0; i < 4; i++) node.create(`r${i}`);
    // Only an owner expires a room: another node's rooms cost this one no index entry.
    expect(ownership.expiryCandidates()).toBe(0);
    node.placement.defaultOwner = 'a';
    ownership.ringsChanged();
    await node.time.advance(node.config.heartbeatIntervalMs);
    expect(ownership.ownedCount()).toBe(4);
    expect(ownership.expiryCandidates()).toBe(4);
    node.owners.set('r0', 'b');
    ownership.ringsChanged();
    await node.time.advance(node.config.heartbeatIntervalMs);
    expect(ownership.expiryCandidates()).toBe(3);
    await node.time.advance(1_000);
    ownership.tick();
    expect([...node.expired].sort()).toEqual(['r1', 'r2', 'r3']);
  });

  it('expires owned rooms nobody reports on at their deadline, scanBatchMax per tick', async () => {
    const node = ownershipNode({ scanBatchMax: 3, unreportedRoomTtlMs: 1_000 });
    const { time, store, ownership } = node;
    for (let i = 0; i < 5; i++) node.create(`x${i}`);
    // Occupied (its media server reports a participant): never expires.
    node.create('busy');
    store.updateStats('busy', { numParticipants: 1, numPublishers: 1, activeRecording: false });
    ownership.afterChange('busy', store.get('busy')?.sid, 'local');
    await time.advance(1);
    node.owners.set('theirs', 'b');
    node.create('theirs');
    // Only the rooms this node owns are indexed ('busy' is occupied, 'theirs' is b's).
    expect(ownership.expiryCandidates()).toBe(5);
    await time.advance(998);
    ownership.tick();
    expect(node.expired).toEqual([]);
    await time.advance(1);
    ownership.tick();
    expect(node.expired).toHaveLength(3);
    ownership.tick();
    expect([...node.expired].sort()).toEqual(['x0', 'x1', 'x2', 'x3', 'x4']);
    // Due a millisecond later, but owned by b: b expires it, not this node.
    await time.advance(1);
    ownership.tick();
    expect(node.expired).toHaveLength(5);
    expect(store.get('theirs')).toBeDefined();
    expect(store.get('busy')).toBeDefined();
    expect(ownership.ownedRooms()).toEqual(['busy']);
    expect(node.log.filter((line) => line.startsWith('room-deleted')).length).toBe(5);
  });

  it('collects expired tombstones on ticks, a share of the buckets per tick', async () => {
    const node = ownershipNode();
    const { config, time, store, ownership } = node;
    // 64 buckets, 100 ms ticks, a full sweep per 1 s: 7 buckets per tick.
    const perTick = Math.ceil(
      (config.bucketCount * config.lifecycleIntervalMs) / config.gcIntervalMs,
    );
    expect(perTick).toBe(7);
    const names = Array.from({ length: 40 }, (_, i) => `room-${i}`);
    for (const name of names) node.create(name);
    node.create('live');
    for (const name of names) store.delete(name);
    // Before the TTL a tick collects nothing (and sweeps buckets 0..6).
    ownership.tick();
    expect(store.counts().tombstones).toBe(40);
    await time.advance(config.tombstoneTtlMs + 1);
    const swept = new Set<number>();
    let cursor = perTick;
    const remaining: number[] = [];
    const expected: number[] = [];
    for (let tick = 0; tick < 10; tick++) {
      ownership.tick();
      for (let i = 0; i < perTick; i++) swept.add((cursor + i) % config.bucketCount);
      cursor = (cursor + perTick) % config.bucketCount;
      remaining.push(store.counts().tombstones);
      expected.push(names.filter((name) => !swept.has(store.bucketOf(name))).length);
    }
    expect(remaining).toEqual(expected);
    expect(remaining.at(-1)).toBe(0);
    expect(store.get('live')).toBeDefined();
  });

  // Found by this file (issue #12): tick() takes every due room out of the expiry index and
  // drops those another node owns; a room whose owner died shortly before its deadline was
  // then owned by the next node and never expired. Gaining a room re-indexes its expiry.
  it('expires a room whose deadline passed while another node owned it, once it gains it', async () => {
    const node = ownershipNode({ unreportedRoomTtlMs: 1_000 });
    node.placement.defaultOwner = 'b';
    node.mergeRemote(
      storeOf(partConfig({ nodeId: 'b' }), node.time, 2).getOrCreate({
        name: 'y',
        homeRegion: 'us-east',
      }).room,
    );
    // Its owner b dies at 900 ms; this node ticks on and learns of the death at 1,700 ms.
    for (let i = 0; i < 17; i++) {
      await node.time.advance(100);
      node.ownership.tick();
    }
    node.placement.defaultOwner = 'a';
    node.ownership.ringsChanged();
    await node.time.advance(node.config.heartbeatIntervalMs);
    expect(node.ownership.ownedRooms()).toEqual(['y']);
    for (let i = 0; i < 50; i++) {
      await node.time.advance(100);
      node.ownership.tick();
    }
    expect(node.expired).toEqual(['y']);
  });
});
