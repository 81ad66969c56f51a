/**
 * CreateRoom's JSON fast path against protobuf-es, the decoder it stands in for: whatever it
 * decodes, protobuf-es decodes to an equal message; whatever protobuf-es refuses, it leaves to
 * protobuf-es. And it does take the bodies clients send, or it would save nothing.
 */
import { CreateRoomRequest } from '@livekit/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRoomFromJson, FIELDS } from '../src/create-room-json.js';
import { decodeRequest } from '../src/twirp.js';

function protobufEs(value: unknown): CreateRoomRequest | Error {
  try {
    return CreateRoomRequest.fromJson(value as never, { ignoreUnknownFields: true });
  } catch (error) {
    return error as Error;
  }
}

const LONE_HIGH = '\ud800';
const LONE_LOW = '\udc00';

/** Values that probe every rule: types, ranges, surrogates, numbers as strings, null. */
const anyValue = fc.oneof(
  fc.string(),
  fc.constantFrom(
    '',
    `a${LONE_HIGH}`,
    `${LONE_LOW}b`,
    '\ud83d\ude00',
    '42',
    ' 42',
    '-1',
    '1e3',
    'NaN',
  ),
  fc.integer({ min: -10, max: 10 }),
  fc.constantFrom(0, -0, 0xffff_ffff, 0x1_0000_0000, -1, 1.5, 1e3, Number.MAX_SAFE_INTEGER),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
);

/** Keys: mostly the fast path's names (so most objects are made only of them), then fields it
 *  leaves to protobuf-es, unknown keys and odd ones. */
const anyKey = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...FIELDS.keys()) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'roomPreset',
      'room_preset',
      'syncStreams',
      'egress',
      'agents',
      'minPlayoutDelay',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom('unknown', '__proto__', 'Name', 'NAME', 'node-id', '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);

describe('createRoomFromJson', () => {
  it('decodes what protobuf-es decodes, to an equal message, and leaves the rest to it', () => {
    let taken = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(anyKey, anyValue), { maxLength: 5 }), (entries) => {
        // JSON text, so duplicate keys and __proto__ behave as in a real body.
        const text = `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`;
        const value: unknown = JSON.parse(text);
        const fast = createRoomFromJson(value);
        const reference = protobufEs(value);
        if (fast !== undefined) {
          taken++;
          expect(reference).toBeInstanceOf(CreateRoomRequest);
          expect(fast.equals(reference as CreateRoomRequest)).toBe(true);
          expect(fast.toJson()).toEqual((reference as CreateRoomRequest).toJson());
        }
      }),
      { numRuns: 3_000 },
    );
    // The comparison ran on many objects the fast path took, not only on its refusals.
    expect(taken).toBeGreaterThan(300);
  });

  it('takes the bodies clients send, by JSON or proto names', () => {
    const bodies = [
      { name: 'r1' },
      { name: 'r1', emptyTimeout: 60, departureTimeout: 10, maxParticipants: 4 },
      { name: 'r1', empty_timeout: 60, departure_timeout: 10, max_participants: 4 },
      { name: 'r1', metadata: '{"k":"v"}', nodeId: 'us-east-1' },
      { name: 'r1', node_id: 'us-east-1', max_participants: 0xffff_ffff },
      { name: 'r\u00e9\ud83d\ude00' },
    ];
    for (const body of bodies) {
      const fast = createRoomFromJson(body);
      expect(fast).toBeInstanceOf(CreateRoomRequest);
      expect(fast!.equals(protobufEs(body) as CreateRoomRequest)).toBe(true);
    }
  });

  it('leaves to protobuf-es what it would refuse or read differently', () => {
    for (const body of [
      { name: `a${LONE_HIGH}` }, // protobuf-es: invalid UTF8
      { emptyTimeout: -1 },
      { emptyTimeout: 1.5 },
      { emptyTimeout: 0x1_0000_0000 },
      { emptyTimeout: '60' }, // protobuf-es accepts it; the general path reads it
      { name: null },
      { name: 'a', nodeId: 'x', node_id: 'y' }, // the same field twice
      { name: 'a', roomPreset: 'p' }, // a field the fast path does not decode
      { name: 'a', unknown: 1 }, // ignored by protobuf-es, left to it
      [],
      'r1',
      null,
    ]) {
      expect(createRoomFromJson(body)).toBeUndefined();
    }
  });

  it('decodeRequest answers malformed for what protobuf-es refuses, and decodes the rest', () => {
    const body = (v: unknown) => Buffer.from(JSON.stringify(v));
    expect(() => decodeRequest(CreateRoomRequest, 'json', body({ emptyTimeout: -1 }))).toThrow(
      'the json request could not be decoded',
    );
    expect(() =>
      // A lone surrogate reaches JSON only as an escape (UTF-8 bytes cannot carry one).
      decodeRequest(CreateRoomRequest, 'json', Buffer.from('{"name":"a\\ud800"}')),
    ).toThrow('the json request could not be decoded');
    expect(() => decodeRequest(CreateRoomRequest, 'json', Buffer.from('{"name":'))).toThrow(
      'the json request could not be decoded',
    );
    const slow = decodeRequest(CreateRoomRequest, 'json', body({ name: 'a', emptyTimeout: '60' }));
    expect(slow.emptyTimeout).toBe(60);
    const fast = decodeRequest(CreateRoomRequest, 'json', body({ name: 'a', emptyTimeout: 60 }));
    expect(fast.equals(slow)).toBe(true);
  });
});
