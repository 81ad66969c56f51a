import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../src/index.js';
import {
  arbMutatedMessage,
  deepEqual,
  propMutatedMessages,
  propMutatedSnapshots,
  propRandomBytes,
} from './fuzz-properties.js';

// Fixed seeds keep the suite deterministic; scripts/fuzz.ts explores other seeds.
const SEED = 20_261_129;

describe('fuzz: decoders never throw, and what they accept round-trips', () => {
  it('random bytes (10,000 cases, messages and snapshots)', () => {
    fc.assert(propRandomBytes(), { numRuns: 10_000, seed: SEED });
  });

  it('mutated valid messages: flips, truncation, insertion, deletion, splicing (10,000 cases)', () => {
    fc.assert(propMutatedMessages(), { numRuns: 10_000, seed: SEED + 1 });
  });

  it('mutated valid snapshots (2,000 cases)', () => {
    fc.assert(propMutatedSnapshots(), { numRuns: 2_000, seed: SEED + 2 });
  });

  it('is not vacuous: mutations reach both accepted inputs and several error codes', () => {
    const outcomes = new Map<string, number>();
    for (const bytes of fc.sample(arbMutatedMessage, { numRuns: 2_000, seed: SEED + 3 })) {
      const result = decodeMessage(bytes);
      const key = result.ok ? 'ok' : result.error.code;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    expect(outcomes.get('ok') ?? 0).toBeGreaterThan(50);
    for (const code of ['malformed', 'schema', 'limit', 'unknown-type', 'version']) {
      expect(outcomes.get(code) ?? 0, code).toBeGreaterThan(0);
    }
  });

  it('deepEqual, used by the round-trip check, tells values apart', () => {
    expect(deepEqual({ a: [1, new Uint8Array([1])] }, { a: [1, new Uint8Array([1])] })).toBe(true);
    expect(deepEqual({ a: [1, new Uint8Array([1])] }, { a: [1, new Uint8Array([2])] })).toBe(false);
    expect(deepEqual({ a: 0 }, { a: -0 })).toBe(false);
    expect(deepEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(deepEqual(['x'], ['x', 'y'])).toBe(false);
  });
});
