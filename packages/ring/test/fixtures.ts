import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { MemberState, RingMember } from '../src/index.js';

/** Printed by every property so a failure replays with the same seed. */
export const SEED = 20_251_129;

export function member(
  nodeId: string,
  region: string,
  weight = 1,
  state: MemberState = 'alive',
): RingMember {
  return { nodeId, region, weight, state };
}

/** `count` members `<prefix>-0..` of one region, all alive with weight 1. */
export function regionMembers(region: string, count: number, prefix = region): RingMember[] {
  return Array.from({ length: count }, (_, i) => member(`${prefix}-${i}`, region));
}

/** Deterministic, random-looking room names (what a media app might use). */
export function roomNames(count: number, salt = 'r'): string[] {
  const names: string[] = new Array(count);
  for (let i = 0; i < count; i++) {
    names[i] = `${salt}-${i.toString(36)}-${((i * 2_654_435_761) >>> 0).toString(16)}`;
  }
  return names;
}

/** Peer-id-like node ids derived from a seed, so property runs get unrelated ring points. */
export function nodeIds(count: number, seed: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    createHash('sha256').update(`${seed}/${i}`).digest('base64url').slice(0, 20),
  );
}

export const stateArb: fc.Arbitrary<MemberState> = fc.constantFrom(
  'alive',
  'alive',
  'alive',
  'suspect',
  'dead',
  'left',
);

const REGIONS = ['ap-south', 'eu-west', 'us-east', 'us-west'];

/** 1..maxMembers members with distinct ids over up to 4 regions, mixed weights and states. */
export function membersArb(maxMembers = 12): fc.Arbitrary<RingMember[]> {
  return fc.uniqueArray(
    fc.record({
      nodeId: fc.string({ minLength: 1, maxLength: 12 }),
      region: fc.constantFrom(...REGIONS),
      weight: fc.integer({ min: 1, max: 3 }),
      state: stateArb,
    }),
    { minLength: 1, maxLength: maxMembers, selector: (m) => m.nodeId },
  );
}

export const regionArb: fc.Arbitrary<string> = fc.constantFrom(...REGIONS, 'sa-east', 'zz-unknown');

/** Names as a hostile or careless client sends them: any characters, object-key traps. */
export const roomNameArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 64 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }),
  fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf', 'a\u0000b'),
);
