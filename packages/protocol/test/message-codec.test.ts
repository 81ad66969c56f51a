import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DecodeError,
  decodeMessage,
  EncodeError,
  encodeMessage,
  encodeSnapshot,
  MESSAGE_TYPE_CODES,
  type Message,
  PROTOCOL_VERSION,
} from '../src/index.js';
import { arbMessage, exampleRecord } from './arbitraries.js';
import { envelopeOf, rawMessage, rawPack } from './wire.js';

const NODE = '12D3KooWGzR8bWqTUVvVxWbYcZd9fEhKjLmNpQrStUvWxYz2a3b4';
const AT = 775_000_000_000_000;

/** One example of every message type. */
const HEARTBEAT_EXAMPLE: Extract<Message, { type: 'heartbeat' }> = {
  type: 'heartbeat',
  nodeId: NODE,
  region: 'eu-west-1',
  incarnation: 1_764_000_000_001,
  state: 'suspect',
  weight: 1,
  httpUrl: '',
  p2pAddrs: ['/ip4/10.0.0.8/tcp/4001'],
  roomCount: 12,
  ringChecksum: '9f86d081884c7d65',
  storeDigest: 'e3b0c44298fc1c14',
  sentAt: AT,
  seq: 3,
  historySinceMs: 1_764_000_000_000,
};

const EXAMPLES: Message[] = [
  { type: 'room-batch', origin: NODE, seq: 17, sentAt: AT, records: [exampleRecord()] },
  {
    type: 'heartbeat',
    nodeId: NODE,
    region: 'eu-west-1',
    incarnation: 1_764_000_000_000,
    state: 'alive',
    weight: 2,
    httpUrl: 'http://10.0.0.7:7880',
    p2pAddrs: ['/ip4/10.0.0.7/tcp/4001', '/ip6/::1/tcp/4001'],
    roomCount: 1234,
    ringChecksum: '9f86d081884c7d65',
    storeDigest: 'e3b0c44298fc1c14',
    sentAt: AT,
    seq: 99,
    historySinceMs: 1_764_000_000_000,
  },
  {
    type: 'member-suspect',
    reporter: NODE,
    subject: 'node-b',
    subjectIncarnation: 3,
    state: 'suspect',
    sentAt: AT,
  },
  { type: 'leave', nodeId: NODE, incarnation: 4, sentAt: AT },
  {
    type: 'sync-digest',
    nodeId: NODE,
    sentAt: AT,
    bucketCount: 4,
    digests: Uint8Array.from({ length: 32 }, (_, i) => i * 7),
    storeDigest: 'abc',
    recordCount: 10,
  },
  { type: 'sync-bucket-request', buckets: [0, 3, 4095, 17], sids: [] },
  {
    type: 'sync-bucket-records',
    buckets: [3],
    records: [
      exampleRecord(),
      exampleRecord({ sid: 'RM_zzzzzzzzzzzz', deletedAt: AT, deletedBy: NODE }),
    ],
    done: true,
  },
  {
    type: 'replicate',
    requestId: 0xffff_ffff,
    origin: NODE,
    sentAt: AT,
    records: [exampleRecord()],
  },
  { type: 'replicate-ack', requestId: 7, nodeId: 'node-b', stored: 1 },
  { type: 'rpc-error', requestId: 7, code: 'overloaded', message: 'queue full, retry in 50 ms' },
  { type: 'sync-summary-request', buckets: [5, 0, 65_535] },
  {
    type: 'sync-summaries',
    entries: [
      { bucket: 5, sid: 'RM_4kTfZbqW9xYd', hashHi: 0x6c64f725, hashLo: 0xcc5d95f5 },
      { bucket: 5, sid: 'RM_zzzzzzzzzzzz', hashHi: 0, hashLo: 0xffff_ffff },
      { bucket: 65_535, sid: 'RM_23456789ABCD', hashHi: 127, hashLo: 128 },
    ],
    done: false,
  },
  { type: 'sync-summaries', entries: [], done: true },
  {
    type: 'sync-cell-summary-request',
    buckets: [5, 65_535],
    cellDigests: Uint8Array.from({ length: 2 * 16 * 8 }, (_, i) => (i * 37) & 0xff),
  },
  { type: 'sync-cell-summary-request', buckets: [], cellDigests: new Uint8Array(0) },
  {
    type: 'sync-cell-summary-request',
    buckets: [5, 65_535],
    cellDigests: Uint8Array.from({ length: 2 * 16 * 8 }, (_, i) => (i * 41) & 0xff),
    quiet: { ms: 1_000, changedCells: Uint8Array.of(0x01, 0x80, 0xff, 0xff) },
  },
  {
    type: 'sync-cell-summaries',
    entries: [
      { bucket: 5, cell: 0, sid: 'RM_4kTfZbqW9xYd', hashHi: 0x6c64f725, hashLo: 0xcc5d95f5 },
      { bucket: 5, cell: 15, sid: 'RM_zzzzzzzzzzzz', hashHi: 0, hashLo: 0xffff_ffff },
    ],
    done: true,
  },
  {
    type: 'sync-bucket-request',
    buckets: [5, 65_535],
    sids: ['RM_4kTfZbqW9xYd', 'RM_23456789ABCD'],
  },
  { type: 'member-entry', peerId: 'peer-1', heartbeat: HEARTBEAT_EXAMPLE },
];

function decodeError(bytes: Uint8Array): DecodeError {
  const result = decodeMessage(bytes);
  if (result.ok) throw new Error(`expected a decode error, got ${result.message.type}`);
  return result.error;
}

function encodeError(message: unknown): EncodeError {
  try {
    encodeMessage(message as Message);
  } catch (error) {
    if (error instanceof EncodeError) return error;
    throw error;
  }
  throw new Error('expected an EncodeError');
}

describe('message round trips', () => {
  it.each(EXAMPLES.map((m, i) => [`${m.type} #${i}`, m] as const))('%s', (_type, message) => {
    const bytes = encodeMessage(message);
    const result = decodeMessage(bytes);
    expect(result).toEqual({ ok: true, message });
    // The documented layout: [version, typeCode, ...fields], nothing else.
    expect(Buffer.from(bytes)).toEqual(Buffer.from(rawMessage(message)));
    // After the array header: fixarray (1 byte) up to 15 fields, array16 (3 bytes) beyond.
    const at = bytes[0] === 0xdc ? 3 : 1;
    expect(bytes[at]).toBe(PROTOCOL_VERSION);
    expect(bytes[at + 1]).toBe(MESSAGE_TYPE_CODES[message.type]);
  });

  it('carries a member-entry: a peer id and a whole heartbeat', () => {
    const entry: Message = {
      type: 'member-entry',
      peerId: '12D3KooWGzR8bWqTUVvVxWbYcZd9fEhKjLmNpQrStUvWxYz2a3b4',
      heartbeat: HEARTBEAT_EXAMPLE,
    };
    expect(decodeMessage(encodeMessage(entry))).toEqual({ ok: true, message: entry });
  });

  it('covers every message type', () => {
    expect(new Set(EXAMPLES.map((m) => m.type))).toEqual(new Set(Object.keys(MESSAGE_TYPE_CODES)));
  });

  it('any valid message decodes to an equal message (property)', () => {
    fc.assert(
      fc.property(arbMessage, (message) => {
        const result = decodeMessage(encodeMessage(message));
        expect(result).toEqual({ ok: true, message });
      }),
      { numRuns: 1_500, seed: 1 },
    );
  });

  it('builds fresh objects that share nothing with the input bytes', () => {
    const digest = EXAMPLES[4]!;
    const bytes = Uint8Array.from(encodeMessage(digest));
    const result = decodeMessage(bytes);
    if (!result.ok || result.message.type !== 'sync-digest') throw new Error('decode failed');
    bytes.fill(0);
    expect(result.message).toEqual(digest);
    expect(result.message.digests.buffer).not.toBe(bytes.buffer);
  });

  it('decodes from a view into a larger buffer', () => {
    for (const message of EXAMPLES) {
      const bytes = encodeMessage(message);
      const frame = new Uint8Array(bytes.length + 16).fill(0xc1); // hostile bytes around it
      frame.set(bytes, 7);
      expect(decodeMessage(frame.subarray(7, 7 + bytes.length))).toEqual({ ok: true, message });
    }
  });

  it('room names that are Object.prototype keys stay plain data', () => {
    for (const name of ['__proto__', 'constructor', 'toString']) {
      const message: Message = {
        type: 'room-batch',
        origin: NODE,
        seq: 1,
        sentAt: AT,
        records: [exampleRecord({ name })],
      };
      const result = decodeMessage(encodeMessage(message));
      if (!result.ok || result.message.type !== 'room-batch') throw new Error('decode failed');
      expect(result.message.records[0]!.name).toBe(name);
      expect(Object.getPrototypeOf(result.message.records[0])).toBe(Object.prototype);
    }
  });

  it('accepts wide integer encodings that other msgpack libraries write', () => {
    // leave: [1, 4, nodeId, incarnation as uint64, sentAt as int64]
    const bytes = Uint8Array.from([
      0x95, 0x01, 0x04, 0xa1, 0x6e, 0xcf, 0, 0, 0, 0, 0, 0, 0, 5, 0xd3, 0, 0, 0, 0, 0, 0, 0, 9,
    ]);
    expect(decodeMessage(bytes)).toEqual({
      ok: true,
      message: { type: 'leave', nodeId: 'n', incarnation: 5, sentAt: 9 },
    });
  });
});

describe('envelope errors', () => {
  const leave: Message = { type: 'leave', nodeId: 'n', incarnation: 1, sentAt: 2 };

  it('an unknown version is a version error, whatever follows', () => {
    const error = decodeError(Uint8Array.from([0x93, PROTOCOL_VERSION + 1, 0x04, 0xc1, 0xc1]));
    expect(error.code).toBe('version');
    expect(decodeError(rawPack([0, 4, 'n', 1, 2])).code).toBe('version');
  });

  it('an unknown type code is an unknown-type error', () => {
    expect(decodeError(rawPack([PROTOCOL_VERSION, 16, 'x'])).code).toBe('unknown-type');
    expect(decodeError(rawPack([PROTOCOL_VERSION, 0])).code).toBe('unknown-type');
    const snapshot = encodeSnapshot({ nodeId: 'n', takenAt: 1, records: [] });
    expect(decodeError(snapshot).code).toBe('unknown-type');
  });

  it('a wrong field count is a schema error', () => {
    const envelope = envelopeOf(leave);
    expect(decodeError(rawPack([...envelope, 0])).code).toBe('schema');
    expect(decodeError(rawPack(envelope.slice(0, -1))).code).toBe('schema');
  });

  it('not an envelope, empty input, or not bytes at all: malformed', () => {
    expect(decodeError(new Uint8Array(0)).code).toBe('malformed');
    expect(decodeError(rawPack('hello')).code).toBe('malformed');
    expect(decodeError(rawPack([1])).code).toBe('malformed');
    expect(decodeError(rawPack(['1', 4])).code).toBe('malformed');
    expect(decodeError('not bytes' as unknown as Uint8Array).code).toBe('malformed');
    expect(decodeError(null as unknown as Uint8Array).code).toBe('malformed');
  });

  it('a field of the wrong type names the field', () => {
    const error = decodeError(rawPack([PROTOCOL_VERSION, 4, 'n', 'one', 2]));
    expect(error).toMatchObject({ name: 'DecodeError', code: 'schema', field: 'incarnation' });
    expect(error.message).toMatch(/^incarnation: /);
  });

  it('a bad record field is reported with its path', () => {
    const message = EXAMPLES[0]! as Extract<Message, { type: 'room-batch' }>;
    const bad = { ...message, records: [exampleRecord(), exampleRecord({ sid: 'RM_0000' })] };
    const error = decodeError(rawMessage(bad));
    expect(error).toMatchObject({ code: 'schema', field: 'records[1].sid' });
  });
});

describe('sync summaries and sid lists', () => {
  const SID = 'RM_4kTfZbqW9xYd';
  const entry = { bucket: 1, sid: SID, hashHi: 2, hashLo: 3 };

  it('sids in a sync-bucket-request are valid and distinct', () => {
    const request = { type: 'sync-bucket-request', buckets: [1] };
    expect(encodeError({ ...request, sids: [SID, 'RM_23456789ABCD', SID] })).toMatchObject({
      code: 'schema',
      field: 'sids[2]',
    });
    expect(encodeError({ ...request, sids: ['RM_0000000000000'] })).toMatchObject({
      code: 'schema',
      field: 'sids[0]',
    });
    expect(encodeError({ ...request, sids: [7] })).toMatchObject({
      code: 'schema',
      field: 'sids[0]',
    });
    expect(encodeError({ ...request, sids: 'all' })).toMatchObject({
      code: 'schema',
      field: 'sids',
    });
    // The pre-sids layout (3 fields) is refused, not read as "all records".
    expect(decodeError(rawPack([PROTOCOL_VERSION, 6, [1]]))).toMatchObject({ code: 'schema' });
  });

  it('cell summaries: digests of exactly 16 cells x 8 bytes per bucket, 5-tuple entries', () => {
    const request = (buckets: unknown, bytes: number): unknown => ({
      type: 'sync-cell-summary-request',
      buckets,
      cellDigests: new Uint8Array(bytes),
    });
    expect(encodeError(request([1, 2], 255))).toMatchObject({
      code: 'schema',
      field: 'cellDigests',
    });
    expect(encodeError(request([1, 1], 256))).toMatchObject({
      code: 'schema',
      field: 'buckets[1]',
    });
    const entry = { bucket: 1, cell: 3, sid: 'RM_4kTfZbqW9xYd', hashHi: 1, hashLo: 2 };
    const cells = (entries: unknown[]): unknown => ({
      type: 'sync-cell-summaries',
      entries,
      done: true,
    });
    expect(encodeError(cells([{ ...entry, cell: -1 }]))).toMatchObject({
      code: 'limit',
      field: 'entries[0].cell',
    });
    // The quiet period: 1..SYNC_QUIET_MS_MAX and 2 bytes of changed cells per bucket, both
    // or neither.
    const quiet = (ms: unknown, bytes: number): unknown => ({
      ...(request([1, 2], 256) as object),
      quiet: { ms, changedCells: new Uint8Array(bytes) },
    });
    expect(encodeError(quiet(0, 4))).toMatchObject({ code: 'limit', field: 'quiet.ms' });
    expect(encodeError(quiet(1.5, 4))).toMatchObject({ code: 'schema', field: 'quiet.ms' });
    expect(encodeError(quiet(1_000, 3))).toMatchObject({
      code: 'schema',
      field: 'quiet.changedCells',
    });
    expect(
      decodeError(rawPack([PROTOCOL_VERSION, 14, [1], new Uint8Array(128), 1_000])),
    ).toMatchObject({ code: 'schema' });
    // A 4-tuple (a sync-summaries entry) is not a cell entry.
    expect(
      decodeError(rawPack([PROTOCOL_VERSION, 15, [[1, 'RM_4kTfZbqW9xYd', 1, 2]], true])),
    ).toMatchObject({ code: 'schema', field: 'entries[0]' });
  });

  it('summary entries: 4-tuples with a bucket id, a sid and two uint32 words', () => {
    const summaries = (entries: unknown[]): unknown => ({
      type: 'sync-summaries',
      entries,
      done: true,
    });
    expect(encodeError(summaries([{ ...entry, sid: 'RM_short' }]))).toMatchObject({
      code: 'schema',
      field: 'entries[0].sid',
    });
    expect(encodeError(summaries([entry, { ...entry, hashLo: -1 }]))).toMatchObject({
      code: 'limit',
      field: 'entries[1].hashLo',
    });
    expect(encodeError(summaries([{ ...entry, hashHi: 1.5 }]))).toMatchObject({
      code: 'schema',
      field: 'entries[0].hashHi',
    });
    expect(encodeError(summaries([null]))).toMatchObject({ code: 'schema', field: 'entries[0]' });
    // Entries are not required to be distinct: two names may hold one sid.
    const twice = summaries([entry, entry]) as Message;
    expect(decodeMessage(encodeMessage(twice))).toEqual({ ok: true, message: twice });
    // On the wire, an entry of 3 or 5 fields is a schema error naming the entry.
    for (const bad of [
      [1, SID, 2],
      [1, SID, 2, 3, 4],
    ]) {
      const bytes = rawPack([PROTOCOL_VERSION, 12, [[1, SID, 2, 3], bad], false]);
      expect(decodeError(bytes)).toMatchObject({ code: 'schema', field: 'entries[1]' });
    }
    const map = rawPack([PROTOCOL_VERSION, 12, [new Map([['bucket', 1]])], false]);
    expect(decodeError(map).code).toBe('malformed');
  });
});

describe('hostile msgpack is refused before msgpackr parses it', () => {
  const head = [0x93, PROTOCOL_VERSION, MESSAGE_TYPE_CODES['sync-bucket-request']];

  it('an array32 header claiming 2^32 - 1 elements fails fast', () => {
    const bytes = Uint8Array.from([...head, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]);
    const error = decodeError(bytes);
    expect(error.code).toBe('malformed');
    expect(error.message).toMatch(/array of 4294967295 exceeds the 1 bytes left/);
    // ... also as the envelope itself
    expect(decodeError(Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff, 1, 6])).code).toBe(
      'malformed',
    );
  });

  it('str32 and bin32 headers longer than the input fail fast', () => {
    for (const token of [0xdb, 0xc6]) {
      const error = decodeError(Uint8Array.from([...head, token, 0xff, 0xff, 0xff, 0xff, 0x41]));
      expect(error.message).toMatch(/length 4294967295 exceeds the 1 bytes left/);
    }
  });

  it('maps, extensions and 0xc1 are malformed (no records, bundles, Error or RegExp)', () => {
    const cases = [
      [0x81, 0xa1, 0x61, 0x01], // fixmap
      [0xde, 0x00, 0x00], // map16
      [0xd4, 0x72, 0x00], // msgpackr record definition
      [0xd6, 0x62, 0, 0, 0, 0], // msgpackr bundled strings
      [0xd4, 0x65, 0x00], // msgpackr Error
      [0xd6, 0xff, 0, 0, 0, 0], // timestamp
      [0xc7, 0x01, 0x78, 0x00], // ext8 RegExp
      [0xc1],
    ];
    for (const value of cases) {
      const error = decodeError(Uint8Array.from([...head, ...value]));
      expect(error.code, value.join(',')).toBe('malformed');
      expect(error.message).toMatch(/unsupported msgpack/);
    }
  });

  it('nesting deeper than envelope > records > record is malformed', () => {
    expect(decodeError(Uint8Array.from([...head, 0x91, 0x91, 0x90])).message).toMatch(
      /nested deeper/,
    );
    const deep = new Uint8Array(100_000).fill(0x91); // would recurse 100,000 deep in msgpackr
    expect(decodeError(deep).code).toBe('malformed');
  });

  it('trailing bytes after the envelope are malformed', () => {
    const bytes = encodeMessage(EXAMPLES[3]!);
    const error = decodeError(Uint8Array.from([...bytes, 0x00]));
    expect(error.message).toMatch(/1 trailing bytes/);
  });

  it('a truncated UTF-8 sequence cannot make msgpackr skip into the next value', () => {
    // A 2-byte string 'a' + 0xe0, then the 1-byte string 'x', then 5. Without its native
    // addon, msgpackr would swallow the next two bytes into the first string and read 5 as
    // the next field (see msgpack-scan.ts); the scan refuses the string first.
    const envelope = Uint8Array.from([
      0x95,
      PROTOCOL_VERSION,
      4,
      0xa2,
      0x61,
      0xe0,
      0xa1,
      0x78,
      5,
      6,
    ]);
    expect(decodeError(envelope).message).toMatch(/invalid UTF-8 in string at byte 3/);
  });

  it('invalid UTF-8 is malformed: msgpackr would read past the string', () => {
    // 20-byte string ending in a 3-byte lead: msgpackr's JS reader would consume the next
    // two bytes (here a hidden record-definition extension) as part of the string.
    const name = [...Buffer.from('abcdefghijklmnopqrs'), 0xe0];
    const bytes = Uint8Array.from([0x95, PROTOCOL_VERSION, 4, 0xd9, 20, ...name, 0xd4, 0x72, 1, 2]);
    expect(decodeError(bytes)).toMatchObject({ code: 'malformed' });
    expect(decodeError(bytes).message).toMatch(/invalid UTF-8/);
    for (const bad of [
      [0xed, 0xa0, 0x80], // UTF-16 surrogate
      [0xc0, 0x80], // overlong NUL
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0xff],
    ]) {
      const leave = Uint8Array.from([0x95, PROTOCOL_VERSION, 4, 0xa0 | bad.length, ...bad, 1, 2]);
      expect(decodeError(leave).message).toMatch(/invalid UTF-8/);
    }
  });
});

describe('encodeMessage refuses what peers would reject', () => {
  it('unknown types and enum values', () => {
    expect(encodeError({ type: 'gossip' })).toMatchObject({
      name: 'EncodeError',
      code: 'unknown-type',
    });
    const heartbeat = EXAMPLES[1]!;
    expect(encodeError({ ...heartbeat, state: 'zombie' })).toMatchObject({
      code: 'schema',
      field: 'state',
    });
    const suspect = EXAMPLES[2]!;
    expect(encodeError({ ...suspect, state: 'alive' })).toMatchObject({
      code: 'schema',
      field: 'state',
    });
    const rpcError = EXAMPLES[9]!;
    expect(encodeError({ ...rpcError, code: 'teapot' })).toMatchObject({
      code: 'schema',
      field: 'code',
    });
  });

  it('strings with a lone surrogate (they have no UTF-8 form)', () => {
    const leave = { type: 'leave', nodeId: 'n\uD800', incarnation: 1, sentAt: 2 };
    expect(encodeError(leave)).toMatchObject({ code: 'schema', field: 'envelope[2]' });
    const batch = {
      ...EXAMPLES[0]!,
      records: [exampleRecord({ metadata: `${'m'.repeat(100)}\uDC00` })],
    };
    expect(encodeError(batch).code).toBe('schema');
  });

  it('fields of the wrong type, negative or fractional numbers', () => {
    const leave = { type: 'leave', nodeId: 'n', incarnation: 1, sentAt: 2 };
    expect(encodeError({ ...leave, incarnation: -1 })).toMatchObject({
      code: 'limit',
      field: 'incarnation',
    });
    expect(encodeError({ ...leave, sentAt: 1.5 })).toMatchObject({
      code: 'schema',
      field: 'sentAt',
    });
    expect(encodeError({ ...leave, nodeId: 7 })).toMatchObject({ code: 'schema', field: 'nodeId' });
    expect(encodeError({ ...leave, nodeId: '' })).toMatchObject({
      code: 'schema',
      field: 'nodeId',
    });
    expect(encodeError({ ...EXAMPLES[0]!, records: [] })).toMatchObject({
      code: 'schema',
      field: 'records',
    });
    expect(encodeError({ ...EXAMPLES[0]!, records: [null] })).toMatchObject({ code: 'schema' });
  });

  it('duplicate buckets and bucket counts that are not powers of two', () => {
    expect(
      encodeError({ type: 'sync-bucket-request', buckets: [1, 2, 1], sids: [] }),
    ).toMatchObject({ code: 'schema', field: 'buckets[2]' });
    expect(encodeError({ type: 'sync-summary-request', buckets: [7, 7] })).toMatchObject({
      code: 'schema',
      field: 'buckets[1]',
    });
    const digest = EXAMPLES[4]! as Extract<Message, { type: 'sync-digest' }>;
    expect(encodeError({ ...digest, bucketCount: 3, digests: new Uint8Array(24) })).toMatchObject({
      code: 'schema',
      field: 'bucketCount',
    });
    expect(encodeError({ ...digest, digests: new Uint8Array(31) })).toMatchObject({
      code: 'schema',
      field: 'digests',
    });
  });
});
