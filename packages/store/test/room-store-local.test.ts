import { hlcWallMs, packHlc } from '@roomring/protocol';
import { describe, expect, it } from 'vitest';
import {
  bucketOfName,
  cellOfHash,
  createRoomStore,
  DEFAULT_TOMBSTONE_TTL_MS,
  InvalidBucketError,
  InvalidRoomNameError,
  InvalidRoomSettingsError,
  InvalidRoomStatsError,
  InvalidStoreInitError,
  MetadataTooLargeError,
  roomNameHash32,
  TooManyIncarnationsError,
} from '../src/index.js';
import { copy, dump, ManualClock, newStore, SeededRandom, T0 } from './helpers.js';

const SID = /^RM_[23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz]{12}$/;

describe('getOrCreate', () => {
  it('creates with a fresh sid, an HLC stamp and LiveKit defaults', () => {
    const { store } = newStore();
    const { room, created } = store.getOrCreate({ name: 'standup', homeRegion: 'eu' });
    expect(created).toBe(true);
    expect(room.sid).toMatch(SID);
    expect(hlcWallMs(room.createdAt)).toBe(T0);
    expect(copy(room)).toEqual({
      name: 'standup',
      sid: room.sid,
      createdAt: room.createdAt,
      creator: 'node-a',
      homeRegion: 'eu',
      settingsAt: room.createdAt,
      settingsBy: 'node-a',
      emptyTimeoutS: 300,
      departureTimeoutS: 20,
      maxParticipants: 0,
      metadata: '',
      pinnedNode: '',
      statsAt: room.createdAt,
      statsBy: 'node-a',
      numParticipants: 0,
      numPublishers: 0,
      activeRecording: false,
      everOccupied: false,
      deletedAt: 0,
      deletedBy: '',
    });
    expect(store.get('standup')).toBe(room);
    expect(store.counts()).toEqual({
      names: 1,
      visible: 1,
      incarnations: 1,
      live: 1,
      tombstones: 0,
    });
  });

  it('takes the settings given', () => {
    const { store } = newStore();
    const { room } = store.getOrCreate({
      name: 'r',
      homeRegion: 'us',
      emptyTimeoutS: 0,
      departureTimeoutS: 5,
      maxParticipants: 10,
      metadata: '{"a":1}',
      pinnedNode: 'node-b',
    });
    expect([room.emptyTimeoutS, room.departureTimeoutS, room.maxParticipants]).toEqual([0, 5, 10]);
    expect([room.metadata, room.pinnedNode, room.homeRegion]).toEqual(['{"a":1}', 'node-b', 'us']);
  });

  it('returns an existing room unchanged, whatever the request says', () => {
    const { store, clock } = newStore();
    const first = store.getOrCreate({ name: 'r', homeRegion: 'eu' });
    const before = copy(first.room);
    const digest = store.digest();
    clock.advance(10);
    const again = store.getOrCreate({ name: 'r', homeRegion: 'us', metadata: 'other' });
    expect(again.created).toBe(false);
    expect(again.room).toBe(first.room);
    expect(copy(again.room)).toEqual(before);
    expect(store.digest()).toBe(digest);
  });

  it('treats room names as opaque keys: __proto__, constructor, any unicode', () => {
    const { store } = newStore();
    const names = [
      '__proto__',
      'constructor',
      'hasOwnProperty',
      'toString',
      '🎉 room',
      'a'.repeat(256),
    ];
    for (const name of names)
      expect(store.getOrCreate({ name, homeRegion: 'eu' }).created).toBe(true);
    for (const name of names) expect(store.get(name)?.name).toBe(name);
    expect(store.get('valueOf')).toBeUndefined();
    expect(store.counts().visible).toBe(names.length);
  });

  it('throws typed errors for bad input, without changing the store', () => {
    const { store } = newStore();
    const bad: [object, string][] = [
      [{ name: '', homeRegion: 'eu' }, 'InvalidRoomNameError'],
      [{ name: 'é'.repeat(129), homeRegion: 'eu' }, 'InvalidRoomNameError'], // 258 bytes
      [{ name: 'a\ud800b', homeRegion: 'eu' }, 'InvalidRoomNameError'],
      [{ name: 'r', homeRegion: '' }, 'InvalidRoomSettingsError'],
      [{ name: 'r', homeRegion: 'x'.repeat(65) }, 'InvalidRoomSettingsError'],
      [{ name: 'r', homeRegion: 'eu', emptyTimeoutS: -1 }, 'InvalidRoomSettingsError'],
      [{ name: 'r', homeRegion: 'eu', departureTimeoutS: 1.5 }, 'InvalidRoomSettingsError'],
      [{ name: 'r', homeRegion: 'eu', maxParticipants: 2 ** 32 }, 'InvalidRoomSettingsError'],
      [{ name: 'r', homeRegion: 'eu', pinnedNode: 'n'.repeat(129) }, 'InvalidRoomSettingsError'],
      [
        { name: 'r', homeRegion: 'eu', metadata: 'm'.repeat(64 * 1024 + 1) },
        'MetadataTooLargeError',
      ],
      [{ name: 'r', homeRegion: 'eu', metadata: 'x\udc00' }, 'MetadataTooLargeError'], // no UTF-8 form
    ];
    for (const [input, name] of bad) {
      expect(() => store.getOrCreate(input as never)).toThrowError(
        expect.objectContaining({ name }),
      );
    }
    expect(store.counts().incarnations).toBe(0);
    expect(store.getOrCreate({ name: 'é'.repeat(128), homeRegion: 'eu' }).created).toBe(true);
    expect(() => store.getOrCreate({ name: '', homeRegion: 'eu' })).toThrow(InvalidRoomNameError);
  });

  it('limits incarnations per name', () => {
    const { store } = newStore({ incarnationsPerNameMax: 3 });
    for (let i = 0; i < 3; i++) {
      store.getOrCreate({ name: 'r', homeRegion: 'eu' });
      store.delete('r');
    }
    expect(() => store.getOrCreate({ name: 'r', homeRegion: 'eu' })).toThrow(
      TooManyIncarnationsError,
    );
  });
});

describe('local updates', () => {
  it('updateMetadata writes the settings group with a newer stamp', () => {
    const { store, clock } = newStore();
    const { room } = store.getOrCreate({ name: 'r', homeRegion: 'eu' });
    const createdAt = room.createdAt;
    clock.advance(3);
    const updated = store.updateMetadata('r', 'hello');
    expect(updated).toBe(room);
    expect(room.metadata).toBe('hello');
    expect(room.settingsAt).toBe(packHlc(T0 + 3, 0));
    expect(room.createdAt).toBe(createdAt);
    expect(store.updateMetadata('missing', 'x')).toBeUndefined();
    expect(() => store.updateMetadata('r', 'm'.repeat(70_000))).toThrow(MetadataTooLargeError);
  });

  it('updateStats writes the stats group and latches everOccupied', () => {
    const { store } = newStore();
    store.getOrCreate({ name: 'r', homeRegion: 'eu' });
    const room = store.updateStats('r', {
      numParticipants: 2,
      numPublishers: 1,
      activeRecording: true,
    })!;
    expect([
      room.numParticipants,
      room.numPublishers,
      room.activeRecording,
      room.everOccupied,
    ]).toEqual([2, 1, true, true]);
    store.updateStats('r', { numParticipants: 0, numPublishers: 0, activeRecording: false });
    expect(room.everOccupied).toBe(true);
    expect(room.statsAt).toBeGreaterThan(room.createdAt);
    expect(() =>
      store.updateStats('r', { numParticipants: -1, numPublishers: 0, activeRecording: false }),
    ).toThrow(InvalidRoomStatsError);
    expect(
      store.updateStats('nope', { numParticipants: 1, numPublishers: 0, activeRecording: false }),
    ).toBeUndefined();
  });

  it('delete tombstones the room; a re-create is a new incarnation that is visible', () => {
    const { store } = newStore();
    const { room } = store.getOrCreate({ name: 'r', homeRegion: 'eu' });
    const deleted = store.delete('r');
    expect(deleted).toEqual([room]);
    expect(room.deletedAt).toBeGreaterThan(room.createdAt);
    expect(room.deletedBy).toBe('node-a');
    expect(store.get('r')).toBeUndefined();
    expect(store.delete('r')).toEqual([]);
    const again = store.getOrCreate({ name: 'r', homeRegion: 'eu' });
    expect(again.created).toBe(true);
    expect(again.room.sid).not.toBe(room.sid);
    expect(store.get('r')).toBe(again.room);
    expect(store.incarnations('r').map((r) => r.sid)).toEqual([room.sid, again.room.sid]);
    expect(store.counts()).toEqual({
      names: 1,
      visible: 1,
      incarnations: 2,
      live: 1,
      tombstones: 1,
    });
  });
});

describe('concurrent incarnations', () => {
  function twoCreates() {
    const clock = new ManualClock();
    const a = createRoomStore({
      nodeId: 'node-a',
      clock,
      random: new SeededRandom(1),
      bucketCount: 16,
    });
    const b = createRoomStore({
      nodeId: 'node-b',
      clock,
      random: new SeededRandom(2),
      bucketCount: 16,
    });
    const ra = copy(a.getOrCreate({ name: 'r', homeRegion: 'eu' }).room);
    const rb = copy(b.getOrCreate({ name: 'r', homeRegion: 'us' }).room);
    return { a, b, ra, rb };
  }

  it('keeps the first writer visible and lists the loser', () => {
    const { a, b, ra, rb } = twoCreates();
    expect(ra.createdAt).toBe(rb.createdAt); // same ms: node id breaks the tie
    const outcome = a.merge(rb);
    expect(outcome).toMatchObject({
      kind: 'inserted',
      visibleSidBefore: ra.sid,
      visibleSidAfter: ra.sid,
    });
    expect(b.merge(ra)).toMatchObject({
      kind: 'inserted',
      visibleSidBefore: rb.sid,
      visibleSidAfter: ra.sid,
    });
    expect(a.get('r')?.sid).toBe(ra.sid);
    expect(b.get('r')?.sid).toBe(ra.sid);
    expect(a.losers('r').map((r) => r.sid)).toEqual([rb.sid]);
    expect(b.losers('r').map((r) => r.sid)).toEqual([rb.sid]);
    expect(a.digest()).toBe(b.digest());
  });

  it('a delete ends the losers its node never saw: its tombstone is the name delete horizon', () => {
    const { a, b, ra, rb } = twoCreates();
    // b has not heard of a's (winning) incarnation; a deletes the name knowing only its own.
    const tombstone = copy(a.delete('r')[0]!);
    expect(b.get('r')?.sid).toBe(rb.sid);
    const outcome = b.merge(tombstone);
    // ra arrives as a tombstone created before rb, deleted after: rb is behind the horizon.
    expect(outcome).toMatchObject({ kind: 'inserted', visibleSidBefore: rb.sid });
    expect(outcome.visibleSidAfter).toBeUndefined();
    expect(b.get('r')).toBeUndefined();
    expect(b.losers('r')).toEqual([]);
    // The loser now carries the delete's own tombstone: the same record as on every node.
    expect(b.counts()).toMatchObject({ visible: 0, live: 0, tombstones: 2 });
    expect(b.incarnations('r').map((r) => [r.deletedAt, r.deletedBy])).toEqual([
      [tombstone.deletedAt, tombstone.deletedBy],
      [tombstone.deletedAt, tombstone.deletedBy],
    ]);
    // A re-create after the delete is a new room, visible everywhere.
    const again = copy(b.getOrCreate({ name: 'r', homeRegion: 'eu' }).room);
    expect(again.createdAt).toBeGreaterThan(tombstone.deletedAt);
    a.merge(copy(rb));
    a.merge(again);
    expect(a.get('r')?.sid).toBe(again.sid);
    expect(b.get('r')?.sid).toBe(again.sid);
    void ra;
  });

  it('collects the incarnations behind a delete horizon with it, so none resurfaces', () => {
    const { store: a, clock } = newStore({ tombstoneTtlMs: 1_000 });
    const { store: b } = newStore({ nodeId: 'node-b', random: new SeededRandom(9) });
    const loser = copy(b.getOrCreate({ name: 'r', homeRegion: 'eu' }).room);
    clock.advance(1);
    a.getOrCreate({ name: 'r', homeRegion: 'eu' });
    a.delete('r'); // a never saw b's incarnation
    a.merge(loser);
    expect(a.get('r')).toBeUndefined();
    expect(a.counts()).toMatchObject({ incarnations: 2, live: 0 });
    clock.advance(2_000);
    expect(a.gc()).toBe(2);
    expect(a.get('r')).toBeUndefined();
    expect(a.counts()).toEqual({ names: 0, visible: 0, incarnations: 0, live: 0, tombstones: 0 });
  });

  it('delete tombstones every live incarnation, so no loser surfaces', () => {
    const { a, ra, rb } = twoCreates();
    a.merge(rb);
    const deleted = a.delete('r');
    expect(deleted.map((r) => r.sid)).toEqual([ra.sid, rb.sid]);
    expect(a.get('r')).toBeUndefined();
    expect(a.counts()).toEqual({ names: 1, visible: 0, incarnations: 2, live: 0, tombstones: 2 });
  });
});

describe('merge', () => {
  it('reports unchanged for a duplicate and updated for a newer group', () => {
    const { store: a } = newStore();
    const { store: b } = newStore({ nodeId: 'node-b' });
    const room = copy(a.getOrCreate({ name: 'r', homeRegion: 'eu' }).room);
    expect(b.merge(room).kind).toBe('inserted');
    expect(b.merge(room)).toMatchObject({ kind: 'unchanged', visibleSidAfter: room.sid });
    const newer = copy(a.updateMetadata('r', 'm')!);
    expect(b.merge(newer).kind).toBe('updated');
    expect(b.merge(room).kind).toBe('unchanged'); // the older version loses
    expect(b.get('r')?.metadata).toBe('m');
  });

  it('refuses stamps beyond the clock bound, counts them and changes nothing', () => {
    const { store: a, clock } = newStore();
    const { store: b } = newStore({ nodeId: 'node-b', clock: new ManualClock(T0) });
    clock.advance(10_000); // a's clock is 10 s fast
    const room = copy(a.getOrCreate({ name: 'r', homeRegion: 'eu' }).room);
    const outcome = b.merge(room);
    expect(outcome).toEqual({
      kind: 'rejected',
      rejection: 'clock-bound',
      record: undefined,
      visibleSidBefore: undefined,
      visibleSidAfter: undefined,
    });
    expect(b.counts().incarnations).toBe(0);
    expect(b.rejections()['clock-bound']).toBe(1);
    expect(b.hlc.rejectedCount()).toBe(1);
    expect(b.hlc.now()).toBeLessThan(room.createdAt);
  });

  it('refuses implausible records and identity conflicts', () => {
    const { store: a } = newStore();
    const { store: b } = newStore({ nodeId: 'node-b' });
    const room = copy(a.getOrCreate({ name: 'r', homeRegion: 'eu' }).room);
    expect(b.merge({ ...room, createdAt: 0 }).rejection).toBe('invalid');
    expect(b.merge({ ...room, settingsAt: room.createdAt - 1 }).rejection).toBe('invalid');
    expect(b.merge({ ...room, deletedAt: room.createdAt + 1 }).rejection).toBe('invalid'); // no deletedBy
    expect(b.merge({ ...room, statsBy: '' }).rejection).toBe('invalid');
    expect(b.merge(room).kind).toBe('inserted');
    expect(b.merge({ ...room, homeRegion: 'us' }).rejection).toBe('identity-conflict');
    expect(b.merge({ ...room, creator: 'node-z' }).rejection).toBe('identity-conflict');
    expect(b.rejections()).toEqual({
      invalid: 4,
      'clock-bound': 0,
      'gc-horizon': 0,
      'identity-conflict': 2,
      'incarnation-limit': 0,
    });
    expect(dump(b)).toEqual([room]);
  });

  it('accepts a record whose settings and stats were never written (stamp 0)', () => {
    const { store: a } = newStore();
    const { store: b } = newStore({ nodeId: 'node-b' });
    const room = copy(a.getOrCreate({ name: 'r', homeRegion: 'eu' }).room);
    const bare = { ...room, settingsAt: 0, settingsBy: '', statsAt: 0, statsBy: '' };
    expect(b.merge(bare).kind).toBe('inserted');
    expect(b.merge(room).kind).toBe('updated');
    expect(b.merge(bare).kind).toBe('unchanged');
  });

  it('keeps the incarnationsKeptPerName newest-created incarnations, whatever the arrival order', () => {
    const { store: a } = newStore();
    const sent = [];
    for (let i = 0; i < 3; i++) {
      a.getOrCreate({ name: 'r', homeRegion: 'eu' });
      sent.push(...a.delete('r').map(copy));
    }
    const limits = { incarnationsPerNameMax: 2, incarnationsKeptPerName: 2 };
    const { store: b } = newStore({ nodeId: 'node-b', ...limits });
    const { store: c } = newStore({ nodeId: 'node-c', ...limits });
    // Oldest first: the third arrival makes the oldest forgotten.
    expect(sent.map((r) => b.merge(copy(r)).kind)).toEqual(['inserted', 'inserted', 'inserted']);
    // Newest first: the oldest arrives last and is forgotten at once.
    expect([...sent].reverse().map((r) => c.merge(copy(r)).kind)).toEqual([
      'inserted',
      'inserted',
      'rejected',
    ]);
    for (const store of [b, c]) {
      expect(store.incarnations('r').map((r) => r.sid)).toEqual([sent[1]!.sid, sent[2]!.sid]);
      expect(store.rejections()['incarnation-limit']).toBe(1);
    }
    expect(b.digest()).toBe(c.digest());
    expect(b.counts()).toEqual(c.counts());
  });

  it('refuses a local create past incarnationsPerNameMax, and never a merge for it', () => {
    const { store } = newStore({ incarnationsPerNameMax: 2, incarnationsKeptPerName: 4 });
    for (let i = 0; i < 2; i++) {
      store.getOrCreate({ name: 'r', homeRegion: 'eu' });
      store.delete('r');
    }
    expect(() => store.getOrCreate({ name: 'r', homeRegion: 'eu' })).toThrow(
      TooManyIncarnationsError,
    );
    // Created after those deletes (a re-create elsewhere): never refused by the limit.
    const other = createRoomStore({
      nodeId: 'node-o',
      clock: new ManualClock(T0 + 100),
      random: new SeededRandom(77),
      bucketCount: 16,
    });
    const remote = copy(other.getOrCreate({ name: 'r', homeRegion: 'eu' }).room);
    expect(store.merge(remote).kind).toBe('inserted');
    expect(store.get('r')?.sid).toBe(remote.sid);
  });

  it('forget removes one incarnation as if it had never been stored', () => {
    const { store: a } = newStore();
    const { store: b } = newStore({ nodeId: 'node-b', random: new SeededRandom(5) });
    const first = copy(a.getOrCreate({ name: 'r', homeRegion: 'eu' }).room);
    const other = copy(a.getOrCreate({ name: 'kept', homeRegion: 'eu' }).room);
    const second = copy(b.getOrCreate({ name: 'r', homeRegion: 'eu' }).room);
    const { store: full } = newStore({ nodeId: 'node-f' });
    const { store: without } = newStore({ nodeId: 'node-w' });
    for (const r of [first, other, second]) full.merge(copy(r));
    for (const r of [other, second]) without.merge(copy(r));
    expect(full.forget('r', 'RM_notthereatall')).toBeUndefined();
    expect(full.forget('r', first.sid)?.sid).toBe(first.sid);
    expect(full.digest()).toBe(without.digest());
    expect(full.counts()).toEqual(without.counts());
    expect(full.get('r')?.sid).toBe(second.sid);
    expect(full.forget('r', second.sid)?.sid).toBe(second.sid);
    expect(full.get('r')).toBeUndefined();
    expect(full.counts()).toMatchObject({ names: 1, visible: 1, incarnations: 1 });
  });

  it('rejects incarnationsKeptPerName below incarnationsPerNameMax', () => {
    expect(() => newStore({ incarnationsPerNameMax: 8, incarnationsKeptPerName: 4 })).toThrow(
      /incarnationsKeptPerName/,
    );
  });
});

describe('GC horizon', () => {
  it('gc drops only tombstones older than now - tombstoneTtlMs', () => {
    const { store, clock } = newStore({ tombstoneTtlMs: 1_000 });
    store.getOrCreate({ name: 'old', homeRegion: 'eu' });
    store.getOrCreate({ name: 'live', homeRegion: 'eu' });
    store.delete('old');
    clock.advance(500);
    store.getOrCreate({ name: 'young', homeRegion: 'eu' });
    store.delete('young');
    expect(store.gc()).toBe(0);
    clock.advance(501); // 'old' deleted 1,001 ms ago, 'young' 501 ms ago
    expect(store.gcHorizon()).toBe(packHlc(clock.timeMs - 1_000, 0));
    expect(store.gc()).toBe(1);
    expect([...store.names()].sort()).toEqual(['live', 'young']);
    expect(store.counts()).toEqual({
      names: 2,
      visible: 1,
      incarnations: 2,
      live: 1,
      tombstones: 1,
    });
    clock.advance(1_000);
    expect(store.gc()).toBe(1);
    expect([...store.names()]).toEqual(['live']);
  });

  it('a late tombstone past the horizon is refused; a recent one is merged', () => {
    const { store: a, clock } = newStore({ tombstoneTtlMs: 1_000 });
    const { store: b, clock: clockB } = newStore({ nodeId: 'node-b', tombstoneTtlMs: 1_000 });
    const room = copy(a.getOrCreate({ name: 'r', homeRegion: 'eu' }).room);
    b.merge(room);
    const tombstone = copy(a.delete('r')[0]!);
    clockB.advance(999);
    clock.advance(999);
    expect(b.merge(tombstone).kind).toBe('updated'); // 999 ms old: within the TTL
    const { store: c } = newStore({
      nodeId: 'node-c',
      tombstoneTtlMs: 1_000,
      clock: new ManualClock(T0 + 1_001),
    });
    expect(c.merge(tombstone)).toMatchObject({ kind: 'rejected', rejection: 'gc-horizon' });
    expect(c.counts().incarnations).toBe(0);
    // after GC on b, the same late tombstone cannot bring the record back
    clockB.advance(2);
    expect(b.gc()).toBe(1);
    expect(b.merge(tombstone).rejection).toBe('gc-horizon');
    expect(b.counts().incarnations).toBe(0);
  });

  it('a tombstone past the horizon is refused even by a store holding that room live (swarm seed 725)', () => {
    // Accepted by stores that still hold the room live and refused by those that collected
    // it, a late tombstone would split the cluster: the refusers hand the room back to the
    // acceptors after their sweep. Refused by all, the room stays live everywhere.
    const { store: a, clock } = newStore({ tombstoneTtlMs: 1_000 });
    const { store: b, clock: clockB } = newStore({ nodeId: 'node-b', tombstoneTtlMs: 1_000 });
    const room = copy(a.getOrCreate({ name: 'r', homeRegion: 'eu' }).room);
    b.merge(room);
    const tombstone = copy(a.delete('r')[0]!);
    clock.advance(1_500);
    clockB.advance(1_500);
    expect(b.merge(tombstone).rejection).toBe('gc-horizon');
    expect(b.get('r')?.sid).toBe(room.sid);
  });

  it('gc(bucketsMax) sweeps incrementally and covers every bucket in turn', () => {
    const { store, clock } = newStore({ tombstoneTtlMs: 10, bucketCount: 8 });
    for (let i = 0; i < 100; i++) store.getOrCreate({ name: `room-${i}`, homeRegion: 'eu' });
    for (let i = 0; i < 100; i++) store.delete(`room-${i}`);
    clock.advance(11);
    let dropped = 0;
    for (let step = 0; step < 4; step++) dropped += store.gc(2);
    expect(dropped).toBe(100);
    expect(store.counts().incarnations).toBe(0);
    expect(store.digest()).toBe(newStore({ bucketCount: 8 }).store.digest());
  });

  it('uses a 1 h TTL by default', () => {
    const { store } = newStore();
    expect(store.tombstoneTtlMs).toBe(DEFAULT_TOMBSTONE_TTL_MS);
    expect(DEFAULT_TOMBSTONE_TTL_MS).toBe(3_600_000);
  });
});

describe('digests and buckets', () => {
  it('bucketOf is a fixed function of the name (same on every node)', () => {
    // Pinned values: changing the hash is a wire change (docs/protocol/sync.md).
    // Values from an independent implementation (Python, over UTF-16 code units).
    expect(roomNameHash32('')).toBe(0xab3e7c0b);
    expect(roomNameHash32('room-000123')).toBe(0xee75dfb6);
    expect(roomNameHash32('\u{1f389} room')).toBe(0xff474873);
    expect(bucketOfName('room-000123', 4096)).toBe(0xfb6);
    const { store } = newStore({ bucketCount: 4096 });
    expect(store.bucketOf('room-000123')).toBe(0xfb6);
  });

  it('record hashes are a fixed function of the field values (pinned)', () => {
    // Pin of the record hash (record-hash.ts), values cross-checked with an independent Python
    // implementation: peers of different builds compare digests, so a change is a wire change.
    const record = {
      name: 'room-000123',
      sid: 'RM_23456789ABCD',
      createdAt: 775_736_524_800_000,
      creator: 'node-a',
      homeRegion: 'eu',
      settingsAt: 775_736_524_800_000,
      settingsBy: 'node-a',
      emptyTimeoutS: 300,
      departureTimeoutS: 20,
      maxParticipants: 0,
      metadata: '',
      pinnedNode: '',
      statsAt: 775_736_524_800_000,
      statsBy: 'node-a',
      numParticipants: 0,
      numPublishers: 0,
      activeRecording: false,
      everOccupied: false,
      deletedAt: 0,
      deletedBy: '',
    };
    const { store } = newStore({ bucketCount: 1 });
    expect(store.merge(record).kind).toBe('inserted');
    expect([...store.bucketDigests()].map((w) => w.toString(16))).toEqual(['cc5d95f5', '6c64f725']);
    expect(store.digest()).toBe('2f4849a59b6fbcde');
  });

  it('spreads names evenly over buckets', () => {
    const counts = new Array<number>(64).fill(0);
    for (let i = 0; i < 64_000; i++) counts[bucketOfName(`room-${i}`, 64)]!++;
    expect(Math.max(...counts)).toBeLessThan(1_150); // mean 1,000
    expect(Math.min(...counts)).toBeGreaterThan(850);
  });

  it('every change moves its bucket digest and only it; undoing restores it', () => {
    const { store } = newStore();
    const empty = store.bucketDigests();
    expect(empty.every((w) => w === 0)).toBe(true);
    const { room } = store.getOrCreate({ name: 'r', homeRegion: 'eu' });
    const b = store.bucketOf('r');
    const after = store.bucketDigests();
    for (let i = 0; i < store.bucketCount; i++) {
      const changed = after[2 * i] !== 0 || after[2 * i + 1] !== 0;
      expect(changed).toBe(i === b);
    }
    expect([...store.recordsInBucket(b)]).toEqual([room]);
    const d1 = store.digest();
    store.updateMetadata('r', 'x');
    expect(store.digest()).not.toBe(d1);
    expect(store.digest()).toMatch(/^[0-9a-f]{16}$/);
  });

  it('recordsInBucket rejects a bad index; bucketDigests is a copy', () => {
    const { store } = newStore();
    expect(() => store.recordsInBucket(64)).toThrow(InvalidBucketError);
    expect(() => store.recordsInBucket(-1)).toThrow(InvalidBucketError);
    expect(() => store.namesInBucket(64)).toThrow(InvalidBucketError);
    expect(() => store.namesInBucket(1.5)).toThrow(InvalidBucketError);
    const d = store.bucketDigests();
    d[0] = 1;
    expect(store.bucketDigests()[0]).toBe(0);
    expect(() => store.cellDigests(64)).toThrow(InvalidBucketError);
    expect(() => store.recordsInCell(0, 16)).toThrow(InvalidBucketError);
    expect(() => store.recordsInCell(0, 0.5)).toThrow(InvalidBucketError);
    const cells = store.cellDigests(0);
    cells[0] = 1;
    expect(store.cellDigests(0)[0]).toBe(0);
  });

  it('cellsChangedAfter marks the cells whose digest changed after a time: writes, merges, gc and clear', () => {
    const { store, clock } = newStore({ bucketCount: 1 });
    const cellOf = (name: string) => cellOfHash(roomNameHash32(name));
    expect(store.cellsChangedAfter(0, 0)).toBe(0);
    store.getOrCreate({ name: 'first', homeRegion: 'eu' });
    const t1 = clock.nowMs();
    expect(store.cellsChangedAfter(0, t1 - 1)).toBe(1 << cellOf('first'));
    expect(store.cellsChangedAfter(0, t1)).toBe(0);
    clock.advance(1_000);
    // A name in another cell: only its cell changed after t1.
    let other = 'second';
    for (let i = 0; cellOf(other) === cellOf('first'); i++) other = `second-${i}`;
    const { room } = store.getOrCreate({ name: other, homeRegion: 'eu' });
    expect(store.cellsChangedAfter(0, t1)).toBe(1 << cellOf(other));
    expect(store.cellsChangedAfter(0, t1 - 1)).toBe((1 << cellOf('first')) | (1 << cellOf(other)));
    // An equal merge changes no digest; a newer one does.
    clock.advance(1_000);
    const t2 = clock.nowMs() - 1;
    store.merge(copy(room));
    expect(store.cellsChangedAfter(0, t2)).toBe(0);
    store.updateMetadata(other, 'x');
    expect(store.cellsChangedAfter(0, t2)).toBe(1 << cellOf(other));
    // A delete, then the tombstone's drop by gc once past the TTL.
    clock.advance(1_000);
    store.delete('first');
    const t3 = clock.nowMs();
    expect(store.cellsChangedAfter(0, t3 - 1)).toBe(1 << cellOf('first'));
    clock.advance(store.tombstoneTtlMs + 1);
    const t4 = clock.nowMs() - 1;
    store.gc();
    expect(store.cellsChangedAfter(0, t4)).toBe(1 << cellOf('first'));
    // clear: every cell that held a record changed now.
    clock.advance(1_000);
    const t5 = clock.nowMs() - 1;
    store.clear();
    expect(store.cellsChangedAfter(0, t5)).toBe((1 << cellOf('first')) | (1 << cellOf(other)));
    expect(() => store.cellsChangedAfter(1, 0)).toThrow(InvalidBucketError);
  });

  it('clear forgets everything but keeps the clock monotonic', () => {
    const { store } = newStore();
    const { room } = store.getOrCreate({ name: 'r', homeRegion: 'eu' });
    store.clear();
    expect(store.get('r')).toBeUndefined();
    expect(store.counts()).toEqual({
      names: 0,
      visible: 0,
      incarnations: 0,
      live: 0,
      tombstones: 0,
    });
    expect(store.digest()).toBe(newStore().store.digest());
    expect(store.getOrCreate({ name: 'r', homeRegion: 'eu' }).room.createdAt).toBeGreaterThan(
      room.createdAt,
    );
  });

  it('visibleRooms and names iterate the state', () => {
    const { store } = newStore();
    for (const name of ['a', 'b', 'c']) store.getOrCreate({ name, homeRegion: 'eu' });
    store.delete('b');
    expect([...store.visibleRooms()].map((r) => r.name).sort()).toEqual(['a', 'c']);
    expect([...store.names()].sort()).toEqual(['a', 'b', 'c']);
  });
});

describe('init', () => {
  it('validates options', () => {
    const base = { nodeId: 'n', clock: new ManualClock(), random: new SeededRandom(1) };
    expect(createRoomStore(base).bucketCount).toBe(4096);
    for (const bad of [
      { bucketCount: 3 },
      { bucketCount: 0 },
      { bucketCount: 2 ** 17 },
      { nodeId: '' },
      { tombstoneTtlMs: -1 },
    ]) {
      expect(() => createRoomStore({ ...base, ...bad })).toThrow(InvalidStoreInitError);
    }
    expect(Object.isFrozen(createRoomStore(base).config)).toBe(true);
  });

  it('settings errors are typed', () => {
    const { store } = newStore();
    expect(() =>
      store.getOrCreate({ name: 'r', homeRegion: 'eu', emptyTimeoutS: Number.NaN }),
    ).toThrow(InvalidRoomSettingsError);
  });
});
