/**
 * encodeMessage / decodeMessage: the only way messages enter or leave a node
 * (docs/protocol/wire-format.md). Decoding order, each step bounding the next:
 *
 * 1. length <= MESSAGE_BYTES_MAX, before looking at a byte ('too-large');
 * 2. envelope array header, version, type code read by hand ('malformed', 'version',
 *    'unknown-type'), so a future version may change everything after its version field;
 * 3. structural pre-scan of the whole input (msgpack-scan.ts: subset, lengths, depth, no
 *    trailing bytes) ('malformed');
 * 4. msgpackr decodes the now well-formed bytes;
 * 5. every field validated into a fresh typed message ('schema', 'limit').
 *
 * A room-batch written as our encoder writes it skips steps 3-5: room-batch-fast.ts reads it
 * in one pass, under the same rules, or declines it to them. Encoding one has a fast path
 * too (room-batch-encode.ts), and so has the sync-cell-summaries frame an anti-entropy
 * responder writes (cell-summaries-encode.ts): the same bytes, without the envelope of tuples.
 */

import { encodeCellSummariesFast } from './cell-summaries-encode.js';
import { asDecodeError, DecodeError, EncodeError, toEncodeError } from './errors.js';
import { MESSAGE_BYTES_MAX, NESTING_DEPTH_MAX } from './limits.js';
import { messageFromEnvelope, messageToEnvelope } from './message-layouts.js';
import { type Message, messageTypeOfCode, PROTOCOL_VERSION } from './messages.js';
import { packValue, unpackRange } from './msgpack-codec.js';
import { readArrayHeader, readSmallUint, skipValue } from './msgpack-scan.js';
import { encodeRoomBatchFast } from './room-batch-encode.js';
import { decodeRoomBatchFast } from './room-batch-fast.js';
import { findLoneSurrogate } from './utf8.js';

export type DecodeResult = { ok: true; message: Message } | { ok: false; error: DecodeError };

/**
 * Encodes a message. Throws EncodeError when it breaks the schema or a limit (the checks the
 * decoder runs), or when the result exceeds MESSAGE_BYTES_MAX ('too-large'): a node never
 * sends what its peers would reject. The bytes may share an ArrayBuffer with other encoded
 * messages: send them, never write to them.
 */
export function encodeMessage(message: Message): Uint8Array {
  if (message.type === 'room-batch') {
    const fast = encodeRoomBatchFast(message);
    if (fast !== undefined) return fast;
  } else if (message.type === 'sync-cell-summaries') {
    const fast = encodeCellSummariesFast(message);
    if (fast !== undefined) return fast;
  }
  return encodeMessageGeneral(message);
}

/** encodeMessage without the fast paths: the reference they are tested and benchmarked
 *  against. */
export function encodeMessageGeneral(message: Message): Uint8Array {
  let bytes: Uint8Array;
  try {
    const envelope = messageToEnvelope(message);
    messageFromEnvelope(envelope[1] as number, envelope); // validate: same rules as decode
    const surrogate = findLoneSurrogate(envelope);
    if (surrogate !== null) {
      throw new EncodeError(
        'schema',
        `envelope[${surrogate.join('][')}]`,
        'string holds a lone UTF-16 surrogate (not encodable as UTF-8)',
      );
    }
    bytes = packValue(envelope);
  } catch (error) {
    throw toEncodeError(error);
  }
  if (bytes.length > MESSAGE_BYTES_MAX) {
    throw new EncodeError(
      'too-large',
      '',
      `${message.type} of ${bytes.length} bytes, over MESSAGE_BYTES_MAX (${MESSAGE_BYTES_MAX})`,
    );
  }
  return bytes;
}

/**
 * Decodes one message. Never throws and never returns anything but a fresh message or a
 * DecodeError, whatever the input.
 */
export function decodeMessage(bytes: Uint8Array): DecodeResult {
  try {
    return { ok: true, message: readMessage(bytes) };
  } catch (error) {
    return { ok: false, error: asDecodeError(error) };
  }
}

/** decodeMessage without the room-batch fast path: the reference it is tested against. */
export function decodeMessageGeneral(bytes: Uint8Array): DecodeResult {
  try {
    return { ok: true, message: readMessage(bytes, false) };
  } catch (error) {
    return { ok: false, error: asDecodeError(error) };
  }
}

function readMessage(bytes: Uint8Array, fast = true): Message {
  if (!(bytes instanceof Uint8Array)) {
    throw new DecodeError('malformed', '', 'input is not a Uint8Array');
  }
  const end = bytes.length;
  if (end > MESSAGE_BYTES_MAX) {
    throw new DecodeError(
      'too-large',
      '',
      `${end} bytes, over MESSAGE_BYTES_MAX (${MESSAGE_BYTES_MAX})`,
    );
  }
  const envelope = readArrayHeader(bytes, 0, end);
  if (envelope.count < 2)
    throw new DecodeError('malformed', '', 'envelope has no version and type');
  const version = readSmallUint(bytes, envelope.next, end);
  if (version.value < 0) throw new DecodeError('malformed', '', 'version is not a uint32');
  if (version.value !== PROTOCOL_VERSION) {
    throw new DecodeError('version', '', `version ${version.value}, expected ${PROTOCOL_VERSION}`);
  }
  const type = readSmallUint(bytes, version.next, end);
  if (type.value < 0) throw new DecodeError('malformed', '', 'type code is not a uint32');
  const typeName = messageTypeOfCode(type.value);
  if (typeName === undefined) {
    throw new DecodeError('unknown-type', '', `unknown message type code ${type.value}`);
  }
  if (fast && typeName === 'room-batch') {
    // Most messages a node receives: read straight into records when written as we write
    // them (room-batch-fast.ts); anything else takes the general path below.
    const batch = decodeRoomBatchFast(bytes, envelope.count, type.next);
    if (batch !== undefined) return batch;
  }
  const valueEnd = skipValue(bytes, 0, end, NESTING_DEPTH_MAX);
  if (valueEnd !== end) {
    throw new DecodeError('malformed', '', `${end - valueEnd} trailing bytes at byte ${valueEnd}`);
  }
  return messageFromEnvelope(type.value, unpackRange(bytes, 0, end));
}
