/**
 * Fuzz properties shared by test/fuzz.test.ts (fixed seeds, 10k+ cases each) and
 * scripts/fuzz.ts (long runs, any seed). The invariant, for ANY input bytes:
 *
 * - decodeMessage / decodeSnapshot never throw and return `{ ok: true, ... }` or
 *   `{ ok: false, error }` with a DecodeError carrying a documented code;
 * - an ok result re-encodes without error and decodes again to an equal value.
 */
import fc from 'fast-check';
import {
  DecodeError,
  type DecodeErrorCode,
  decodeMessage,
  decodeSnapshot,
  encodeMessage,
  encodeSnapshot,
  MESSAGE_TYPE_CODES,
  PROTOCOL_VERSION,
} from '../src/index.js';
import { arbMessage, arbRoomRecord } from './arbitraries.js';
import { rawPack } from './wire.js';

const DECODE_ERROR_CODES: readonly DecodeErrorCode[] = [
  'too-large',
  'malformed',
  'version',
  'unknown-type',
  'schema',
  'limit',
];

function fail(detail: string, bytes: Uint8Array): never {
  throw new Error(`${detail}; input (${bytes.length} B): ${Buffer.from(bytes).toString('hex')}`);
}

function checkError(error: unknown, bytes: Uint8Array): void {
  if (!(error instanceof DecodeError)) fail(`error is not a DecodeError: ${String(error)}`, bytes);
  if (!DECODE_ERROR_CODES.includes(error.code)) fail(`unknown error code ${error.code}`, bytes);
}

/** Throws (failing the property) when decodeMessage breaks its contract on `bytes`. */
export function checkMessageDecode(bytes: Uint8Array): void {
  let result: ReturnType<typeof decodeMessage>;
  try {
    result = decodeMessage(bytes);
  } catch (error) {
    fail(`decodeMessage threw ${String(error)}`, bytes);
  }
  if (result.ok === false) {
    checkError(result.error, bytes);
    return;
  }
  if (result.ok !== true) fail('result is neither ok nor an error', bytes);
  let again: Uint8Array;
  try {
    again = encodeMessage(result.message);
  } catch (error) {
    fail(`decoded message does not re-encode: ${String(error)}`, bytes);
  }
  const second = decodeMessage(again);
  if (!second.ok) fail(`re-encoded message does not decode: ${second.error.message}`, bytes);
  if (!deepEqual(second.message, result.message)) fail('re-decoded message differs', bytes);
}

/** Same contract for decodeSnapshot. */
export function checkSnapshotDecode(bytes: Uint8Array): void {
  let result: ReturnType<typeof decodeSnapshot>;
  try {
    result = decodeSnapshot(bytes);
  } catch (error) {
    fail(`decodeSnapshot threw ${String(error)}`, bytes);
  }
  if (result.ok === false) {
    checkError(result.error, bytes);
    return;
  }
  let again: Uint8Array;
  try {
    again = encodeSnapshot(result.snapshot);
  } catch (error) {
    fail(`decoded snapshot does not re-encode: ${String(error)}`, bytes);
  }
  const second = decodeSnapshot(again);
  if (!second.ok) fail(`re-encoded snapshot does not decode: ${second.error.message}`, bytes);
  if (!deepEqual(second.snapshot, result.snapshot)) fail('re-decoded snapshot differs', bytes);
}

/** Structural equality over what messages hold: primitives (Object.is), arrays, bytes, objects. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length)
      return false;
    return a.every((byte, i) => byte === b[i]);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    return a.every((item, i) => deepEqual(item, b[i]));
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every(
    (key) =>
      Object.hasOwn(b, key) &&
      deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

const typeCodes = Object.values(MESSAGE_TYPE_CODES);

/** Header bytes of a plausible envelope, so random tails reach the deeper parsers. */
const arbEnvelopeHead = fc
  .tuple(fc.integer({ min: 0, max: 20 }), fc.constantFrom(...typeCodes, 0, 13, 100, 255))
  .map(([count, code]) => Uint8Array.of(0x90 | Math.min(count, 15), PROTOCOL_VERSION, code));

/** Random bytes: raw, or behind a plausible envelope head. */
export const arbRandomInput: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ maxLength: 1024 }),
  fc
    .tuple(arbEnvelopeHead, fc.uint8Array({ maxLength: 256 }))
    .map(([head, tail]) => concat(head, tail)),
);

/** Well-formed msgpack with plausible envelopes but arbitrary field values (schema paths). */
export const arbRandomEnvelope: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.constantFrom(...typeCodes),
    fc.array(
      fc.oneof(
        fc.string(),
        fc.integer(),
        fc.double(),
        fc.boolean(),
        fc.constant(null),
        fc.uint8Array({ maxLength: 16 }),
        fc.array(fc.oneof(fc.string(), fc.nat(), fc.array(fc.nat(), { maxLength: 22 })), {
          maxLength: 4,
        }),
      ),
      { maxLength: 14 },
    ),
  )
  .map(([code, fields]) => rawPack([PROTOCOL_VERSION, code, ...fields]));

type Mutation =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'splice'; at: number; from: number; other: Uint8Array };

const arbPosition = fc.nat({ max: 0xffff });

/** Encoded messages to splice tails from: a fixed sample, cheaper than generating each time. */
let pool: Uint8Array[] | undefined;
function splicePool(): Uint8Array[] {
  pool ??= fc.sample(arbMessage, { numRuns: 200, seed: 7 }).map((m) => encodeMessage(m));
  return pool;
}
const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    at: arbPosition,
    xor: fc.integer({ min: 1, max: 255 }),
  }),
  fc.record({
    kind: fc.constant('set' as const),
    at: arbPosition,
    value: fc.constantFrom(
      0x00,
      0x7f,
      0x80,
      0x90,
      0xc0,
      0xc1,
      0xc7,
      0xd4,
      0xd9,
      0xdb,
      0xdd,
      0xdf,
      0xff,
    ),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: arbPosition }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: arbPosition,
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    at: arbPosition,
    length: fc.integer({ min: 1, max: 8 }),
  }),
  fc.record({
    kind: fc.constant('splice' as const),
    at: arbPosition,
    from: arbPosition,
    other: fc.constantFrom(...splicePool()),
  }),
);

function applyMutation(bytes: Uint8Array, m: Mutation): Uint8Array {
  const at = bytes.length === 0 ? 0 : m.at % (bytes.length + 1);
  switch (m.kind) {
    case 'flip': {
      const out = Uint8Array.from(bytes);
      if (at < out.length) out[at]! ^= m.xor;
      return out;
    }
    case 'set': {
      const out = Uint8Array.from(bytes);
      if (at < out.length) out[at] = m.value;
      return out;
    }
    case 'truncate':
      return bytes.slice(0, at);
    case 'insert':
      return concat(bytes.subarray(0, at), m.bytes, bytes.subarray(at));
    case 'delete':
      return concat(bytes.subarray(0, at), bytes.subarray(at + m.length));
    case 'splice':
      // This input's head, another message's tail: layouts cross at an arbitrary byte.
      return concat(bytes.subarray(0, at), m.other.subarray(m.from % (m.other.length + 1)));
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}

/** Valid encoded messages with 1-4 mutations applied. */
export const arbMutatedMessage: fc.Arbitrary<Uint8Array> = fc
  .tuple(arbMessage, fc.array(arbMutation, { minLength: 1, maxLength: 4 }))
  .map(([message, mutations]) => mutations.reduce(applyMutation, encodeMessage(message)));

/** Valid encoded snapshots with 1-4 mutations applied. */
export const arbMutatedSnapshot: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.array(arbRoomRecord, { maxLength: 4 }),
    fc.array(arbMutation, { minLength: 1, maxLength: 4 }),
  )
  .map(([records, mutations]) =>
    mutations.reduce(applyMutation, encodeSnapshot({ nodeId: 'node-1', takenAt: 42, records })),
  );

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

export const propRandomBytes = (): fc.IPropertyWithHooks<[Uint8Array]> =>
  fc.property(fc.oneof(arbRandomInput, arbRandomEnvelope), (bytes) => {
    checkMessageDecode(bytes);
    checkSnapshotDecode(bytes);
  });

export const propMutatedMessages = (): fc.IPropertyWithHooks<[Uint8Array]> =>
  fc.property(arbMutatedMessage, (bytes) => {
    checkMessageDecode(bytes);
  });

export const propMutatedSnapshots = (): fc.IPropertyWithHooks<[Uint8Array]> =>
  fc.property(arbMutatedSnapshot, (bytes) => {
    checkSnapshotDecode(bytes);
  });

/** The properties by name, for scripts/fuzz.ts. */
export const FUZZ_PROPERTIES = {
  'random-bytes': propRandomBytes,
  'mutated-messages': propMutatedMessages,
  'mutated-snapshots': propMutatedSnapshots,
} as const;
