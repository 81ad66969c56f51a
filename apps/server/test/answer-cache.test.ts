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

  it('holds at most roomsMax rooms, evicting the least recently answered', () => {
    const { store: s } = store();
    const cache = new AnswerCache(2);
    const rooms = ['a', 'b', 'c'].map((name) => s.getOrCreate({ name, homeRegion: 'r' }).room);
    const a = cache.answer(rooms[0]!, 'json');
    cache.answer(rooms[1]!, 'json');
    expect(cache.answer(rooms[0]!, 'json')).toBe(a); // a is now the most recent
    cache.answer(rooms[2]!, 'json'); // evicts b
    expect(cache.size).toBe(2);
    expect(cache.answer(rooms[0]!, 'json')).toBe(a);
  });
});
