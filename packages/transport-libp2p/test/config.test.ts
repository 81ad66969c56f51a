import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createLibp2pTransport,
  generateClusterKey,
  generatePrivateKey,
  InvalidConfigError,
  LIBP2P_TRANSPORT_DEFAULTS,
  type Libp2pTransportInit,
} from '../src/index.js';

const KEY = generateClusterKey();
const SEED = 99;

function configError(init: Libp2pTransportInit): unknown {
  try {
    createLibp2pTransport(init);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('cluster key', () => {
  it('generateClusterKey gives 64 lower-case hex characters, different each time', () => {
    const keys = new Set(Array.from({ length: 20 }, () => generateClusterKey()));
    expect(keys.size).toBe(20);
    for (const key of keys) expect(key).toMatch(/^[0-9a-f]{64}$/);
  });

  it('accepts exactly 64 hex characters, either case (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-fA-F]{64}$/), (clusterKey) => {
        expect(createLibp2pTransport({ clusterKey }).peerId).toMatch(/^12D3KooW/);
      }),
      { numRuns: 50, seed: SEED },
    );
  });

  it('rejects anything else with InvalidConfigError (property)', () => {
    const notAKey = fc
      .string({ maxLength: 80 })
      .filter((value) => !/^[0-9a-fA-F]{64}$/.test(value));
    fc.assert(
      fc.property(notAKey, (clusterKey) => {
        expect(configError({ clusterKey })).toBeInstanceOf(InvalidConfigError);
      }),
      { numRuns: 200, seed: SEED },
    );
  });
});

describe('identity', () => {
  it('the same seed gives the same peer id; different seeds differ (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (seedA, seedB) => {
          const a1 = createLibp2pTransport({ clusterKey: KEY, identitySeed: seedA }).peerId;
          const a2 = createLibp2pTransport({ clusterKey: KEY, identitySeed: seedA }).peerId;
          const b = createLibp2pTransport({ clusterKey: KEY, identitySeed: seedB }).peerId;
          expect(a1).toBe(a2);
          if (seedA.some((byte, i) => byte !== seedB[i])) expect(b).not.toBe(a1);
        },
      ),
      { numRuns: 30, seed: SEED },
    );
  });

  it('a persisted private key gives the same peer id; no key gives a new one', () => {
    const privateKey = generatePrivateKey();
    const id = createLibp2pTransport({ clusterKey: KEY, privateKey }).peerId;
    expect(createLibp2pTransport({ clusterKey: KEY, privateKey }).peerId).toBe(id);
    const fresh = createLibp2pTransport({ clusterKey: KEY }).peerId;
    expect(fresh).not.toBe(id);
    expect(createLibp2pTransport({ clusterKey: KEY }).peerId).not.toBe(fresh);
  });

  it('rejects a bad key, a short seed, or both given', () => {
    expect(configError({ clusterKey: KEY, privateKey: new Uint8Array([1, 2, 3]) })).toBeInstanceOf(
      InvalidConfigError,
    );
    expect(configError({ clusterKey: KEY, identitySeed: new Uint8Array(31) })).toBeInstanceOf(
      InvalidConfigError,
    );
    expect(
      configError({
        clusterKey: KEY,
        privateKey: generatePrivateKey(),
        identitySeed: new Uint8Array(32),
      }),
    ).toBeInstanceOf(InvalidConfigError);
  });
});

describe('limits', () => {
  it('defaults are finite and documented values', () => {
    for (const [name, value] of Object.entries(LIBP2P_TRANSPORT_DEFAULTS)) {
      if (typeof value === 'number') expect(Number.isFinite(value), name).toBe(true);
    }
    expect(LIBP2P_TRANSPORT_DEFAULTS.frameBytesMax).toBe(4 * 1024 * 1024);
    expect(LIBP2P_TRANSPORT_DEFAULTS.gossipMessageBytesMax).toBe(1024 * 1024);
    expect(LIBP2P_TRANSPORT_DEFAULTS.listenHost).toBe('127.0.0.1');
    expect(Object.isFrozen(LIBP2P_TRANSPORT_DEFAULTS)).toBe(true);
  });

  it.each([
    ['frameBytesMax', 0],
    ['frameBytesMax', 1024],
    ['frameBytesMax', Number.POSITIVE_INFINITY],
    ['gossipMessageBytesMax', -1],
    ['requestsPendingMax', 0],
    ['requestsPendingMax', 1.5],
    ['inboundStreamsPerProtocolMax', Number.NaN],
    ['connectionsMax', 0],
    ['listenPort', 65_536],
    ['streamWindowBytesMax', 1024],
    ['streamIdleTimeoutMs', 0],
    ['gossipHeartbeatIntervalMs', 1],
  ] as const)('rejects %s = %s', (name, value) => {
    expect(configError({ clusterKey: KEY, [name]: value })).toBeInstanceOf(InvalidConfigError);
  });

  it('rejects a listen host that is not an IP literal', () => {
    for (const listenHost of ['localhost', '0.0.0.0.0', 'example.com', '']) {
      expect(configError({ clusterKey: KEY, listenHost }), listenHost).toBeInstanceOf(
        InvalidConfigError,
      );
    }
    expect(configError({ clusterKey: KEY, listenHost: '::1' })).toBeUndefined();
  });
});
