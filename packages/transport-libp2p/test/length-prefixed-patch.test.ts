/**
 * The @libp2p/utils patch (patches/@libp2p__utils@7.4.1.patch): LengthPrefixedDecoder, which
 * noise uses to split every chunk it receives into encrypted frames, stops once the chunk's
 * whole frames are consumed instead of asking its length decoder for the length of an empty
 * buffer. Noise's decoder answers that with a thrown RangeError, so unpatched every chunk
 * received on every connection built an exception and its stack trace (~2.6 us a chunk on
 * this machine, more than the frames themselves). What must hold: the length decoder is
 * never asked about an empty buffer, and frames split across chunks anywhere still come out
 * whole and in order.
 */
import { LengthPrefixedDecoder } from '@libp2p/utils';
import { describe, expect, it } from 'vitest';

/** Noise's length decoder: a 2-byte big-endian length, RangeError when fewer bytes wait. */
function noiseLengthDecoder(
  calls: number[],
): (data: { byteLength: number; getUint16(offset: number): number } | Uint8Array) => number {
  return (data) => {
    calls.push(data.byteLength);
    if (data.byteLength < 2) throw new RangeError('Could not decode int16BE');
    return data instanceof Uint8Array ? (data[0]! << 8) | data[1]! : data.getUint16(0);
  };
}

function frame(length: number, fill: number): Uint8Array {
  const bytes = new Uint8Array(2 + length).fill(fill);
  bytes[0] = length >> 8;
  bytes[1] = length & 0xff;
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

describe('@libp2p/utils LengthPrefixedDecoder (patched)', () => {
  it('never asks for the length of an empty buffer once a chunk is consumed', () => {
    const calls: number[] = [];
    const decoder = new LengthPrefixedDecoder({
      lengthDecoder: noiseLengthDecoder(calls),
      encodingLength: () => 2,
    });
    const frames = [...decoder.decode(concat(frame(300, 1), frame(5, 2)))];
    expect(frames.map((f) => f.byteLength)).toEqual([300, 5]);
    // Each buffer the decoder held: both frames, then the second; never an empty one.
    expect(calls).toEqual([309, 7]);
  });

  it('puts frames split anywhere across chunks back together, in order', () => {
    const calls: number[] = [];
    const decoder = new LengthPrefixedDecoder({
      lengthDecoder: noiseLengthDecoder(calls),
      encodingLength: () => 2,
    });
    const stream = concat(frame(1_000, 1), frame(1, 2), frame(70_000 & 0xffff, 3), frame(2, 4));
    const received: Uint8Array[] = [];
    // Cut points inside a length prefix, inside a body and on frame boundaries.
    const cuts = [1, 2, 500, 1_002, 1_003, 1_005, 1_006, 3_000, stream.length - 3, stream.length];
    let from = 0;
    for (const to of cuts) {
      for (const f of decoder.decode(stream.subarray(from, to))) received.push(f.subarray());
      from = to;
    }
    expect(received.map((f) => [f.byteLength, f[0]])).toEqual([
      [1_000, 1],
      [1, 2],
      [70_000 & 0xffff, 3],
      [2, 4],
    ]);
    // The buffer held at each ask: 1 byte (a cut inside a length prefix: RangeError, wait),
    // never 0 (unpatched: after the chunks ending on a frame boundary, at 1,002, 1,005 and
    // the end).
    expect(calls).toEqual([1, 2, 500, 1_002, 1, 3, 1, 1_995, 4_467, 1, 4]);
  });
});
