import { Room } from '@livekit/protocol';
import { createRoomStore } from '@roomring/store';
import { describe, expect, it } from 'vitest';
import { AnswerCache } from '../src/answer-cache.js';
import { toLivekitRoom } from '../src/room-mapping.js';

function store() {
  let now = Date.UTC(2026, 0, 1);
  let seed = 7;
  return {
    store: createRoomStore({
      nodeId: 'a',
      clock: { nowMs: () => now },
      random: {
        nextUint32: () => {
          seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0;
          return seed;
        },
      },
    }),
    tick: () => {
      now += 1_000;
    },
  };
}

const json = (bytes: Buffer) =>
  Room.fromJson(JSON.parse(bytes.toString('utf8')), { ignoreUnknownFields: true });

describe('AnswerCache', () => {
  it('answers an unchanged room with the same bytes, equal to encoding it afresh', () => {
    const { store: s } = store();
    const { room } = s.getOrCreate({ name: 'standup', homeRegion: 'r', metadata: 'm' });
    const cache = new AnswerCache();
    const first = cache.answer(room, 'json');
    expect(cache.answer(room, 'json')).toBe(first);
    expect(json(first).equals(toLivekitRoom(room))).toBe(true);
    const binary = cache.answer(room, 'protobuf');
    expect(Room.fromBinary(binary).equals(toLivekitRoom(room))).toBe(true);
    expect(cache.answer(room, 'protobuf')).toBe(binary);
  });

  it('re-encodes once metadata or stats changed', () => {
    const { store: s, tick } = store();
    const { room } = s.getOrCreate({ name: 'standup', homeRegion: 'r' });
    const cache = new AnswerCache();
    const before = cache.answer(room, 'json');
    tick();
    s.updateMetadata('standup', 'new metadata');
    const afterMetadata = cache.answer(room, 'json');
    expect(afterMetadata).not.toBe(before);
    expect(json(afterMetadata).metadata).toBe('new metadata');
    tick();
    s.updateStats('standup', { numParticipants: 3, numPublishers: 1, activeRecording: false });
    const afterStats = cache.answer(room, 'json');
    expect(json(afterStats).numParticipants).toBe(3);
    expect(json(afterStats).equals(toLivekitRoom(room))).toBe(true);
  });

  it('keeps every room of a working set as large as a generation, and holds at most two generations', () => {
    const { store: s } = store();
    const cache = new AnswerCache(4);
    const rooms = Array.from(
      { length: 4 },
      (_, i) => s.getOrCreate({ name: `r${i}`, homeRegion: 'r' }).room,
    );
    const first = rooms.map((room) => cache.answer(room, 'json'));
    // Cycling through exactly a generation's worth of rooms: every answer stays cached.
    for (let pass = 0; pass < 5; pass++) {
      for (const [i, room] of rooms.entries()) expect(cache.answer(room, 'json')).toBe(first[i]);
    }
    for (let i = 0; i < 50; i++) {
      cache.answer(s.getOrCreate({ name: `other-${i}`, homeRegion: 'r' }).room, 'json');
      expect(cache.size).toBeLessThanOrEqual(8);
    }
    // Not answered for 50 other rooms (more than two generations): encoded again.
    const again = cache.answer(rooms[0]!, 'json');
    expect(again).not.toBe(first[0]);
    expect(again.equals(first[0]!)).toBe(true);
  });

  it('keeps a room answered once per generation cached while many others pass', () => {
    const { store: s } = store();
    const cache = new AnswerCache(4);
    const hot = s.getOrCreate({ name: 'hot', homeRegion: 'r' }).room;
    const hotAnswer = cache.answer(hot, 'json');
    for (let i = 1; i <= 100; i++) {
      cache.answer(s.getOrCreate({ name: `cold-${i}`, homeRegion: 'r' }).room, 'json');
      // Once every 4 other rooms: within a generation.
      if (i % 4 === 0) expect(cache.answer(hot, 'json')).toBe(hotAnswer);
    }
  });
});
