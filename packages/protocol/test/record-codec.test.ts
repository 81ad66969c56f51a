import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkRecord,
  DecodeError,
  encodeSnapshot,
  estimateRecordBytes,
  isValidSid,
  RECORD_FIELDS,
  type RoomRecord,
  recordFromTuple,
  recordToTuple,
  SID_ALPHABET,
} from '../src/index.js';
import { arbRoomRecord, arbSid, exampleRecord } from './arbitraries.js';

/** Exact encoded bytes of one record tuple: a 1-record snapshot minus an empty one. */
function encodedRecordBytes(record: RoomRecord): number {
  const one = encodeSnapshot({ nodeId: 'n', takenAt: 0, records: [record] }).length;
  return one - encodeSnapshot({ nodeId: 'n', takenAt: 0, records: [] }).length;
}

function recordError(record: RoomRecord): DecodeError {
  try {
    checkRecord(record);
  } catch (error) {
    if (error instanceof DecodeError) return error;
    throw error;
  }
  throw new Error('expected a DecodeError');
}

describe('record tuple', () => {
  it('has the 20 fields of RoomRecord, in the documented order', () => {
    const record = exampleRecord();
    expect(RECORD_FIELDS).toHaveLength(20);
    expect(new Set(RECORD_FIELDS)).toEqual(new Set(Object.keys(record)));
    expect(recordToTuple(record)).toEqual(RECORD_FIELDS.map((field) => record[field]));
  });

  it('round-trips any valid record into a fresh object (property)', () => {
    fc.assert(
      fc.property(arbRoomRecord, (record) => {
        const tuple = recordToTuple(record);
        const back = recordFromTuple(tuple);
        expect(back).toEqual(record);
        expect(back).not.toBe(record);
      }),
      { numRuns: 1_000, seed: 2 },
    );
  });

  it('estimateRecordBytes is the exact encoded size (property)', () => {
    fc.assert(
      fc.property(arbRoomRecord, (record) => {
        expect(estimateRecordBytes(record)).toBe(encodedRecordBytes(record));
      }),
      { numRuns: 300, seed: 3 },
    );
  });

  it('a typical record is 150-250 bytes', () => {
    const bytes = encodedRecordBytes(exampleRecord());
    expect(bytes).toBeGreaterThanOrEqual(150);
    expect(bytes).toBeLessThanOrEqual(250);
  });
});

describe('record validation', () => {
  const cases: [string, Partial<RoomRecord>, string, string][] = [
    ['empty name', { name: '' }, 'name', 'schema'],
    ['bad sid', { sid: 'RM_abc' }, 'sid', 'schema'],
    ['sid with a character outside base57', { sid: 'RM_0bcdefghijkm' }, 'sid', 'schema'],
    ['empty creator', { creator: '' }, 'creator', 'schema'],
    ['empty home region', { homeRegion: '' }, 'homeRegion', 'schema'],
    ['negative stamp', { createdAt: -1 }, 'createdAt', 'limit'],
    ['fractional stamp', { settingsAt: 1.5 }, 'settingsAt', 'schema'],
    ['NaN count', { numParticipants: Number.NaN }, 'numParticipants', 'schema'],
    ['deletedBy without deletedAt', { deletedBy: 'node-a' }, 'deletedBy', 'schema'],
    ['deletedAt without deletedBy', { deletedAt: 5 }, 'deletedBy', 'schema'],
    ['statsAt without statsBy', { statsAt: 5 }, 'statsBy', 'schema'],
    ['settingsBy without settingsAt', { settingsAt: 0 }, 'settingsBy', 'schema'],
    [
      'boolean as number',
      { activeRecording: 1 as unknown as boolean },
      'activeRecording',
      'schema',
    ],
    [
      'string as number',
      { maxParticipants: '5' as unknown as number },
      'maxParticipants',
      'schema',
    ],
  ];
  it.each(cases)('%s', (_name, overrides, field, code) => {
    expect(recordError(exampleRecord(overrides))).toMatchObject({
      name: 'DecodeError',
      field,
      code,
    });
  });

  it('a tuple of the wrong length or type is a schema error', () => {
    const tuple = recordToTuple(exampleRecord());
    expect(() => recordFromTuple(tuple.slice(0, 19))).toThrow(/expected 20 elements/);
    expect(() => recordFromTuple([...tuple, 0])).toThrow(/expected 20 elements/);
    expect(() => recordFromTuple({ 0: 'x' })).toThrow(/expected an array/);
  });

  it('a tombstone with its writer is valid', () => {
    expect(() => checkRecord(exampleRecord({ deletedAt: 9, deletedBy: 'node-b' }))).not.toThrow();
  });
});

describe('sid', () => {
  it('accepts RM_ + 12 base57 characters only', () => {
    fc.assert(
      fc.property(arbSid, (sid) => isValidSid(sid)),
      { numRuns: 200, seed: 4 },
    );
    expect(isValidSid('RM_4kTfZbqW9xYd')).toBe(true);
    for (const bad of [
      '',
      'RM_',
      'RM_4kTfZbqW9xY',
      'RM_4kTfZbqW9xYdd',
      'rm_4kTfZbqW9xYd',
      'RM_4kTfZbqW9xY0',
    ]) {
      expect(isValidSid(bad), bad).toBe(false);
    }
    for (const excluded of ['0', '1', 'I', 'O', 'l']) {
      expect(SID_ALPHABET.includes(excluded)).toBe(false);
      expect(isValidSid(`RM_${excluded.repeat(12)}`)).toBe(false);
    }
    expect(SID_ALPHABET).toHaveLength(57);
    expect(isValidSid(42)).toBe(false);
  });
});
