import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DecodeError,
  decodeSnapshot,
  EncodeError,
  encodeMessage,
  encodeSnapshot,
  PROTOCOL_VERSION,
  type RoomRecord,
  recordToTuple,
  SNAPSHOT_TYPE_CODE,
} from '../src/index.js';
import { arbHlc, arbNodeId, arbRoomRecord, exampleRecord } from './arbitraries.js';
import { rawPack } from './wire.js';

function decodeError(bytes: Uint8Array): DecodeError {
  const result = decodeSnapshot(bytes);
  if (result.ok) throw new Error('expected a decode error');
  return result.error;
}

describe('snapshot codec', () => {
  it('round-trips any valid snapshot (property)', () => {
    fc.assert(
      fc.property(
        arbNodeId,
        arbHlc,
        fc.array(arbRoomRecord, { maxLength: 8 }),
        (nodeId, takenAt, records) => {
          const bytes = encodeSnapshot({ nodeId, takenAt, records });
          expect(decodeSnapshot(bytes)).toEqual({
            ok: true,
            snapshot: { nodeId, takenAt, records },
          });
        },
      ),
      { numRuns: 500, seed: 5 },
    );
  });

  it('is the documented envelope, readable by any msgpack decoder', () => {
    const record = exampleRecord();
    const bytes = encodeSnapshot({ nodeId: 'n', takenAt: 3, records: [record] });
    // Same value as a plain msgpack array; only the records header width differs (array32).
    const plain = rawPack([PROTOCOL_VERSION, SNAPSHOT_TYPE_CODE, 'n', 3, [recordToTuple(record)]]);
    expect(decodeSnapshot(plain)).toEqual(decodeSnapshot(bytes));
    expect(bytes.length).toBe(plain.length + 4);
  });

  it('takes any iterable and spans many packing groups', () => {
    const count = 12_000; // ~2.6 MB: three 1 MiB groups
    function* records(): Generator<RoomRecord> {
      for (let i = 0; i < count; i++) yield exampleRecord({ name: `room-${i}` });
    }
    const result = decodeSnapshot(encodeSnapshot({ nodeId: 'n', takenAt: 1, records: records() }));
    if (!result.ok) throw result.error;
    expect(result.snapshot.records).toHaveLength(count);
    expect(result.snapshot.records[count - 1]!.name).toBe(`room-${count - 1}`);
  });

  it('refuses invalid records with their index', () => {
    const records = [exampleRecord(), exampleRecord({ sid: 'nope' })];
    expect(() => encodeSnapshot({ nodeId: 'n', takenAt: 1, records })).toThrow(EncodeError);
    try {
      encodeSnapshot({ nodeId: 'n', takenAt: 1, records });
    } catch (error) {
      expect(error).toMatchObject({ name: 'EncodeError', code: 'schema', field: 'records[1].sid' });
    }
    expect(() => encodeSnapshot({ nodeId: '', takenAt: 1, records: [] })).toThrow(/nodeId/);
    expect(() => encodeSnapshot({ nodeId: 'n\uDFFF', takenAt: 1, records: [] })).toThrow(
      /surrogate/,
    );
    const surrogate = [exampleRecord({ name: 'a\uD800' })];
    expect(() => encodeSnapshot({ nodeId: 'n', takenAt: 1, records: surrogate })).toThrow(
      /records\[0\]\.name/,
    );
  });

  it('reports version, type, truncation and trailing bytes', () => {
    const bytes = encodeSnapshot({ nodeId: 'n', takenAt: 1, records: [exampleRecord()] });
    expect(decodeError(rawPack([PROTOCOL_VERSION + 1, SNAPSHOT_TYPE_CODE])).code).toBe('version');
    const leave = encodeMessage({ type: 'leave', nodeId: 'n', incarnation: 1, sentAt: 1 });
    expect(decodeError(leave).code).toBe('unknown-type');
    expect(decodeError(bytes.subarray(0, bytes.length - 1)).code).toBe('malformed');
    expect(decodeError(Uint8Array.from([...bytes, 0])).message).toMatch(/trailing/);
    const wrongArity = rawPack([PROTOCOL_VERSION, SNAPSHOT_TYPE_CODE, 'n', 1]);
    expect(decodeError(wrongArity).code).toBe('schema');
    const badRecord = rawPack([PROTOCOL_VERSION, SNAPSHOT_TYPE_CODE, 'n', 1, [[1, 2]]]);
    expect(decodeError(badRecord)).toMatchObject({ code: 'schema', field: 'records[0]' });
    expect(decodeError([] as unknown as Uint8Array).code).toBe('malformed');
  });
});
