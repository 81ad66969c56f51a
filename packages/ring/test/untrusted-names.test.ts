import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createPlacement, type RingMember } from '../src/index.js';
import { member, roomNameArb, roomNames, SEED } from './fixtures.js';
import { ReferenceRing } from './reference-ketama.js';

const TRAPS = [
  '__proto__',
  'constructor',
  'hasOwnProperty',
  'toString',
  'valueOf',
  'isPrototypeOf',
  '__defineGetter__',
  'prototype',
  'value',
  'room:__proto__',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u0000__proto__',
  '🎉',
  '👩‍👩‍👧‍👦 family room',
  'Ωmega ≈ ç √',
  'שלום مرحبا',
  'e\u0301', // decomposed é: a different name from the composed one, hashed as given
  '\u00e9',
  'x'.repeat(256),
  '€'.repeat(85), // 255 UTF-8 bytes
];

const OBJECT_PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();

afterAll(() => {
  // Nothing any test did may have written onto Object.prototype or Object.
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(OBJECT_PROTOTYPE_KEYS);
  expect((Object as unknown as { value?: unknown }).value).toBeUndefined();
});

function threeRegions(suffix: string): RingMember[] {
  const members: RingMember[] = [];
  for (const region of ['eu', 'us', 'ap']) {
    for (let i = 0; i < 3; i++) members.push(member(`${region}-${i}${suffix}`, region));
  }
  return members;
}

describe('untrusted room names', () => {
  it('object-key traps, NUL, emoji and 256-byte names place exactly as the reference ketama', () => {
    // Two placements with disjoint members: with hashring's shared-object cache a `__proto__`
    // lookup on one would leak the other's answer through Object.prototype.
    for (const suffix of ['', '-b']) {
      const members = threeRegions(suffix);
      const placement = createPlacement({ members });
      const reference = new ReferenceRing(
        members.filter((m) => m.region === 'us'),
        2048,
      );
      for (const name of TRAPS) {
        const expected = reference.owner(name);
        expect(expected).toBeDefined();
        for (let round = 0; round < 3; round++) {
          expect(placement.owner(name, 'us')).toBe(expected);
          expect(placement.ownerInRegion(name, 'us')).toBe(expected);
        }
        expect(placement.replicaPartners(name, 'eu-0', 8)).toHaveLength(8);
      }
    }
    expect(({} as { value?: unknown }).value).toBeUndefined();
    expect(Object.hasOwn(Object.prototype, 'before')).toBe(false);
  });

  it('any string places exactly as the reference ketama (pinned placement function)', () => {
    const members = [member('alpha', 'eu'), member('beta', 'eu', 2), member('gamma', 'eu', 3)];
    const placement = createPlacement({ members, pointsPerWeight: 64 });
    const reference = new ReferenceRing(members, 64);
    fc.assert(
      fc.property(roomNameArb, (name) => {
        expect(placement.owner(name, 'eu')).toBe(reference.owner(name));
      }),
      { seed: SEED, numRuns: 2000 },
    );
    const defaults = createPlacement({ members });
    const defaultReference = new ReferenceRing(members, 2048);
    for (const name of roomNames(2000, 'pin')) {
      expect(defaults.owner(name, 'eu')).toBe(defaultReference.owner(name));
    }
  });

  it('node ids that are object-key traps get their full share of points and rooms', () => {
    const members = ['__proto__', 'constructor', 'hasOwnProperty', 'n:x'].map((id) =>
      member(id, 'eu'),
    );
    const placement = createPlacement({ members });
    const reference = new ReferenceRing(members, 2048);
    const counts = new Map<string, number>();
    for (const name of roomNames(8000, 'traps')) {
      const owner = placement.owner(name, 'eu')!;
      expect(owner).toBe(reference.owner(name));
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    for (const m of members) {
      expect(placement.points(m.nodeId)).toBe(2048);
      expect(counts.get(m.nodeId) ?? 0).toBeGreaterThan(8000 * 0.2);
    }
    expect(placement.owner('room', 'eu', '__proto__')).toBe('__proto__');
    expect(placement.owner('room', 'eu', 'toString')).toBe(placement.owner('room', 'eu'));
  });

  it('region names that are object-key traps work as regions', () => {
    const placement = createPlacement({
      members: [member('a', '__proto__'), member('b', 'constructor')],
    });
    expect(placement.regions()).toEqual(['__proto__', 'constructor']);
    expect(placement.owner('r', '__proto__')).toBe('a');
    expect(placement.owner('r', 'constructor')).toBe('b');
    expect(placement.owner('r', 'toString')).toBe('a'); // unknown: toString, __proto__, constructor
    expect(placement.regionOrder('hasOwnProperty')).toEqual([
      'hasOwnProperty',
      '__proto__',
      'constructor',
    ]);
  });
});
