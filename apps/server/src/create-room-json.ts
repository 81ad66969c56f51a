/**
 * CreateRoom's JSON body decoded without protobuf-es's reflective reader, for the bodies
 * clients send (`{"name":"..."}`, with a few of the fields CreateRoom reads). protobuf-es's
 * `fromJson` looks every key up in the message's field list and runs its generic scalar
 * reader: ~11% of the serving node's busy time under wrk (docs/benchmarks.md, HTTP), the
 * largest share after the answer's writev.
 *
 * It only takes what protobuf-es would take unchanged, and says undefined for anything else,
 * which then goes to protobuf-es (same message, or the same `malformed`): an object whose keys
 * are among FIELDS (JSON or proto name, each field once), strings that are well-formed
 * UTF-16 (protobuf-es refuses a lone surrogate), uint32 fields given as JSON numbers that are
 * integers in range. Other fields, null, numbers written as strings, and a field given under
 * both names take the general path. create-room-json.test.ts checks it against protobuf-es.
 */
import { CreateRoomRequest } from '@livekit/protocol';

type StringField = 'name' | 'metadata' | 'nodeId';
type Uint32Field = 'emptyTimeout' | 'departureTimeout' | 'maxParticipants';

interface FieldSpec {
  field: StringField | Uint32Field;
  kind: 'string' | 'uint32';
  /** One bit per field: a field named twice (JSON and proto name) is left to protobuf-es. */
  bit: number;
}

const UINT32_MAX = 0xffff_ffff;

const SPECS: readonly [jsonName: string, protoName: string, spec: FieldSpec][] = [
  ['name', 'name', { field: 'name', kind: 'string', bit: 1 }],
  ['metadata', 'metadata', { field: 'metadata', kind: 'string', bit: 2 }],
  ['nodeId', 'node_id', { field: 'nodeId', kind: 'string', bit: 4 }],
  ['emptyTimeout', 'empty_timeout', { field: 'emptyTimeout', kind: 'uint32', bit: 8 }],
  ['departureTimeout', 'departure_timeout', { field: 'departureTimeout', kind: 'uint32', bit: 16 }],
  ['maxParticipants', 'max_participants', { field: 'maxParticipants', kind: 'uint32', bit: 32 }],
];

/** The keys the fast path decodes: each field's JSON name and proto name. */
export const FIELDS: ReadonlyMap<string, FieldSpec> = new Map(
  SPECS.flatMap(([jsonName, protoName, spec]) => [
    [jsonName, spec],
    [protoName, spec],
  ]),
);

interface WellFormedString {
  isWellFormed(): boolean;
}

/** The request protobuf-es would decode from `value`, or undefined to let protobuf-es decide. */
export function createRoomFromJson(value: unknown): CreateRoomRequest | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const json = value as Record<string, unknown>;
  const message = new CreateRoomRequest();
  let seen = 0;
  for (const key of Object.keys(json)) {
    const spec = FIELDS.get(key);
    if (spec === undefined || (seen & spec.bit) !== 0) return undefined;
    seen |= spec.bit;
    const v = json[key];
    if (spec.kind === 'string') {
      if (typeof v !== 'string' || !(v as unknown as WellFormedString).isWellFormed()) {
        return undefined;
      }
      message[spec.field as StringField] = v;
    } else {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > UINT32_MAX) {
        return undefined;
      }
      message[spec.field as Uint32Field] = v;
    }
  }
  return message;
}
