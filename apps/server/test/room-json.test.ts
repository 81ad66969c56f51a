/**
 * roomJson (src/room-mapping.ts) writes CreateRoom's JSON answer directly; what must hold is
 * that its bytes are exactly protobuf-es's for the same record (what the Twirp path wrote
 * before, and what LiveKit's SDKs parse), over the values a record can hold.
 */
import { HLC_EPOCH_MS, HLC_LOGICAL_MAX, packHlc, type RoomRecord } from '@roomring/protocol';
import { describe, expect, it } from 'vitest';
import { encodeAnswer } from '../src/answer-cache.js';
import { roomJson, toLivekitRoom } from '../src/room-mapping.js';

function record(overrides: Partial<RoomRecord> = {}): RoomRecord {
  const createdAt = packHlc(Date.UTC(2026, 11, 6, 16, 0, 0, 123), 0);
  return {
    name: 'standup',
    sid: 'RM_abcdefghijkl',
    createdAt,
    creator: 'use-1',
    homeRegion: 'us-east',
    settingsAt: createdAt,
    settingsBy: 'use-1',
    emptyTimeoutS: 300,
    departureTimeoutS: 20,
    maxParticipants: 0,
    metadata: '',
    pinnedNode: '',
    statsAt: createdAt,
    statsBy: 'use-1',
    numParticipants: 0,
    numPublishers: 0,
    activeRecording: false,
    everOccupied: false,
    deletedAt: 0,
    deletedBy: '',
    ...overrides,
  };
}

const protobufEs = (r: RoomRecord) => encodeAnswer(toLivekitRoom(r), 'json').toString('utf8');

describe('roomJson', () => {
  it('writes what protobuf-es writes, field for field', () => {
    const later = packHlc(Date.UTC(2026, 11, 6, 16, 5, 1, 999), HLC_LOGICAL_MAX);
    const cases: RoomRecord[] = [
      record(),
      record({ name: 'a"quote\\back\nslash\u0001', sid: 'RM_000000000000' }),
      record({ metadata: '{"json":"inside","emoji":"\u{1F3A5}","nul":"\u0000","lone":"\uD800"}' }),
      record({ metadata: 'x'.repeat(65_536), name: 'ü'.repeat(64) }),
      record({
        emptyTimeoutS: 4_294_967_295,
        departureTimeoutS: 4_294_967_295,
        maxParticipants: 4_294_967_295,
        numParticipants: 4_294_967_295,
        numPublishers: 4_294_967_295,
        activeRecording: true,
        everOccupied: true,
      }),
      // The version is the newest of the create, settings and stats stamps, logical part too.
      record({ settingsAt: later }),
      record({ statsAt: later, numParticipants: 3 }),
      record({
        createdAt: packHlc(HLC_EPOCH_MS + 1, 0),
        settingsAt: packHlc(HLC_EPOCH_MS + 1, 0),
        statsAt: packHlc(HLC_EPOCH_MS + 999, 7),
      }),
      record({ createdAt: packHlc(Date.UTC(2088, 0, 1), 12) }),
    ];
    for (const r of cases) expect(roomJson(r)).toBe(protobufEs(r));
  });

  it('matches over a thousand records of random values', () => {
    let seed = 11;
    const next = () => {
      seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0;
      return seed;
    };
    const text = (max: number) =>
      String.fromCharCode(...Array.from({ length: next() % (max + 1) }, () => next() % 0x2fff));
    for (let i = 0; i < 1_000; i++) {
      const createdAt = packHlc(
        1_700_000_000_000 + (next() % 1_000_000_000),
        next() % (HLC_LOGICAL_MAX + 1),
      );
      const r = record({
        name: text(40) || 'r',
        sid: `RM_${next().toString(36)}`,
        createdAt,
        settingsAt: createdAt + (next() % 3) * 1_000_000,
        statsAt: createdAt + (next() % 3) * 7_000_000,
        emptyTimeoutS: next(),
        departureTimeoutS: next() % 1_000,
        maxParticipants: next() % 3 === 0 ? 0 : next(),
        metadata: text(200),
        numParticipants: next() % 10_000,
        numPublishers: next() % 100,
        activeRecording: next() % 2 === 0,
      });
      expect(roomJson(r)).toBe(protobufEs(r));
    }
  });
});
