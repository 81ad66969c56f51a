/**
 * The duplicate filter's fast id (gossip-options.ts): one id per signed message, computed
 * without hashing the payload again for every copy.
 */
import { describe, expect, it } from 'vitest';
import { fastMessageId, gossipOptions } from '../src/gossip-options.js';

type RpcMessage = Parameters<typeof fastMessageId>[0];

function message(overrides: Partial<RpcMessage> = {}): RpcMessage {
  return {
    from: new Uint8Array([0, 36, 8, 1, 18, 32, ...new Array(32).fill(7)]),
    seqno: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 42]),
    topic: 'roomring/rooms/1',
    data: new Uint8Array(1_000).fill(1),
    signature: new Uint8Array(64).fill(9),
    key: undefined,
    ...overrides,
  } as RpcMessage;
}

describe('fastMessageId', () => {
  it('gives every copy of a message the same id', () => {
    expect(fastMessageId(message())).toBe(fastMessageId(message()));
  });

  it('tells messages apart by origin, sequence number, topic, signature and key', () => {
    const base = fastMessageId(message());
    const others = [
      message({ from: new Uint8Array([0, 36, 8, 1, 18, 32, ...new Array(32).fill(8)]) }),
      message({ seqno: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 43]) }),
      message({ topic: 'roomring/membership/1' }),
      message({ signature: new Uint8Array(64).fill(10) }),
      message({ key: new Uint8Array([1, 2, 3]) }),
    ].map(fastMessageId);
    expect(new Set([base, ...others]).size).toBe(6);
  });

  it('does not read the payload: the signature already names it (a forged payload under a real signature fails validation first, or is a copy after)', () => {
    const withOther = message({ data: new Uint8Array(1_000).fill(2) });
    expect(fastMessageId(withOther)).toBe(fastMessageId(message()));
  });

  it('keeps field boundaries: moving a byte from one field to the next changes the id', () => {
    const a = message({ seqno: new Uint8Array([1, 2]), signature: new Uint8Array([3]) });
    const b = message({ seqno: new Uint8Array([1]), signature: new Uint8Array([2, 3]) });
    expect(fastMessageId(a)).not.toBe(fastMessageId(b));
  });

  it('is what gossipsub gets, counting every copy received', () => {
    let received = 0;
    const options = gossipOptions({
      gossipMessageBytesMax: 1_000_000,
      gossipOutboundBufferBytesMax: 1_000_000,
      gossipHeartbeatIntervalMs: 1_000,
      onGossipReceived: () => {
        received++;
      },
    });
    const id = options.fastMsgIdFn!(message());
    options.fastMsgIdFn!(message());
    expect(id).toBe(fastMessageId(message()));
    expect(received).toBe(2);
  });
});
