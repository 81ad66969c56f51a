/**
 * Test helpers that write wire bytes WITHOUT the protocol's encoder: a plain msgpackr Packr
 * and the message layouts written out by hand from docs/protocol/wire-format.md. They let a
 * test put on the wire what encodeMessage() refuses to (over-limit values, wrong types), and
 * double as a check that the encoder follows the documented layout.
 */
import { Packr } from 'msgpackr';
import {
  MEMBER_STATES,
  MESSAGE_TYPE_CODES,
  type Message,
  PROTOCOL_VERSION,
  RPC_ERROR_CODES,
  recordToTuple,
} from '../src/index.js';

const rawPackr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false });

/** Plain msgpack of any value, no validation. */
export function rawPack(value: unknown): Uint8Array {
  return rawPackr.pack(value);
}

function heartbeatFields(m: Extract<Message, { type: 'heartbeat' }>): unknown[] {
  return [
    m.nodeId,
    m.region,
    m.incarnation,
    MEMBER_STATES.indexOf(m.state),
    m.weight,
    m.httpUrl,
    m.p2pAddrs,
    m.roomCount,
    m.ringChecksum,
    m.storeDigest,
    m.sentAt,
    m.seq,
    m.historySinceMs,
  ];
}

/** The documented envelope `[version, typeCode, ...fields]` of a message, unchecked. */
export function envelopeOf(m: Message): unknown[] {
  const head = [PROTOCOL_VERSION, MESSAGE_TYPE_CODES[m.type]];
  switch (m.type) {
    case 'room-batch':
      return [...head, m.origin, m.seq, m.sentAt, m.records.map(recordToTuple)];
    case 'heartbeat':
      return [...head, ...heartbeatFields(m)];
    case 'member-entry':
      return [...head, m.peerId, ...heartbeatFields(m.heartbeat)];
    case 'member-suspect':
      return [
        ...head,
        m.reporter,
        m.subject,
        m.subjectIncarnation,
        MEMBER_STATES.indexOf(m.state),
        m.sentAt,
      ];
    case 'leave':
      return [...head, m.nodeId, m.incarnation, m.sentAt];
    case 'sync-digest':
      return [...head, m.nodeId, m.sentAt, m.bucketCount, m.digests, m.storeDigest, m.recordCount];
    case 'sync-bucket-request':
      return [...head, m.buckets, m.sids];
    case 'sync-bucket-records':
      return [...head, m.buckets, m.records.map(recordToTuple), m.done];
    case 'sync-summary-request':
      return [...head, m.buckets];
    case 'sync-summaries':
      return [...head, m.entries.map((e) => [e.bucket, e.sid, e.hashHi, e.hashLo]), m.done];
    case 'sync-cell-summary-request':
      return m.quiet === undefined
        ? [...head, m.buckets, m.cellDigests]
        : [...head, m.buckets, m.cellDigests, m.quiet.ms, m.quiet.changedCells];
    case 'sync-cell-summaries':
      return [...head, m.entries.map((e) => [e.bucket, e.cell, e.sid, e.hashHi, e.hashLo]), m.done];
    case 'replicate':
      return [...head, m.requestId, m.origin, m.sentAt, m.records.map(recordToTuple)];
    case 'replicate-ack':
      return [...head, m.requestId, m.nodeId, m.stored];
    case 'rpc-error':
      return [...head, m.requestId, RPC_ERROR_CODES.indexOf(m.code), m.message];
  }
}

/** Raw wire bytes of a message, even an invalid one. */
export function rawMessage(m: Message): Uint8Array {
  return rawPack(envelopeOf(m));
}

/** A string of exactly `bytes` UTF-8 bytes (ASCII). */
export function bytesString(bytes: number, char = 'x'): string {
  return char.repeat(bytes);
}
