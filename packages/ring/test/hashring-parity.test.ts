import { createHash } from 'node:crypto';
import fc from 'fast-check';
import HashRing from 'hashring';
import { describe, expect, it } from 'vitest';
import type { RingMember } from '../src/index.js';
import {
  POINT_CACHE_POINTS_MAX,
  POINTS_PER_DIGEST,
  RegionRing,
  regionRingKey,
  ringPointCacheStats,
  setRingPointCacheMax,
} from '../src/region-ring.js';
import { member, nodeIds, roomNameArb, roomNames, SEED } from './fixtures.js';
import { ReferenceRing } from './reference-ketama.js';

/**
 * The placement used to be `hashring` 3.2 configured as below; RegionRing re-implements it with
 * cached points and typed arrays. A cluster in a rolling upgrade mixes both, so every owner and
 * every partner walk must be the same, point for point, ties included.
 */
class HashringRing {
  private readonly ring: HashRing;
  private readonly memberCount: number;

  constructor(members: readonly RingMember[], pointsPerWeight: number) {
    const servers: Record<string, { vnodes: number; weight: number }> = Object.create(null);
    for (const m of members) {
      servers[`n:${m.nodeId}`] = {
        vnodes: (m.weight * pointsPerWeight) / POINTS_PER_DIGEST,
        weight: m.weight,
      };
    }
    this.memberCount = members.length;
    this.ring = new HashRing(servers, 'md5', { 'vnode count': 0, replicas: POINTS_PER_DIGEST });
  }

  owner(name: string): string {
    return this.ring.get(`room:${name}`).slice(2);
  }

  walk(name: string, self: string, out: string[], count: number): void {
    const wanted = Math.min(this.memberCount, count - out.length + 1);
    if (wanted <= 0) return;
    for (const server of this.ring.range(`room:${name}`, wanted, true)) {
      const nodeId = server.slice(2);
      if (nodeId === self || out.includes(nodeId)) continue;
      out.push(nodeId);
      if (out.length >= count) return;
    }
  }
}

function sortedById(members: RingMember[]): RingMember[] {
  return [...members].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
}

function build(members: RingMember[], pointsPerWeight: number): RegionRing {
  const sorted = sortedById(members);
  return new RegionRing('eu', sorted, pointsPerWeight, regionRingKey(sorted, pointsPerWeight));
}

const ringArb = fc.record({
  members: fc.uniqueArray(
    fc.record({
      // Short ids from a small alphabet, so `n:` + id + `-` + i strings overlap across members.
      nodeId: fc.string({ minLength: 1, maxLength: 6, unit: fc.constantFrom('a', 'b', '-', '1') }),
      weight: fc.integer({ min: 1, max: 5 }),
    }),
    { minLength: 1, maxLength: 24, selector: (m) => m.nodeId },
  ),
  pointsPerWeight: fc.constantFrom(4, 8, 16, 64),
});

describe('RegionRing against hashring 3.2', () => {
  it('owners and partner walks are identical for random members, weights and names', () => {
    fc.assert(
      fc.property(
        ringArb,
        fc.array(roomNameArb, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 30 }),
        (spec, names, count) => {
          const members = spec.members.map((m) => member(m.nodeId, 'eu', m.weight));
          const ring = build(members, spec.pointsPerWeight);
          const old = new HashringRing(sortedById(members), spec.pointsPerWeight);
          const reference = new ReferenceRing(members, spec.pointsPerWeight);
          for (const name of names) {
            expect(ring.owner(name)).toBe(old.owner(name));
            expect(ring.owner(name)).toBe(reference.owner(name));
            for (const self of [members[0]!.nodeId, 'not-a-member']) {
              const got = ['prefilled'];
              const want = ['prefilled'];
              ring.walk(name, self, got, count);
              old.walk(name, self, want, count);
              expect(got).toEqual(want);
            }
          }
        },
      ),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('equal 32-bit points keep member order, then point order, as hashring did', () => {
    // 64 members x 2,048 points = 131,072 32-bit points: these ids give equal points (checked
    // below). A room key that lands just before such a value must get the tie's first point.
    const members = nodeIds(64, 3).map((id) => member(id, 'eu'));
    const sorted = sortedById(members);
    const points: { value: number; order: number }[] = [];
    for (const m of sorted) {
      for (let i = 0; i < 2048 / 4; i++) {
        const digest = createHash('md5').update(`n:${m.nodeId}-${i}`).digest();
        for (let j = 0; j < 4; j++)
          points.push({ value: digest.readUInt32LE(j * 4), order: points.length });
      }
    }
    points.sort((a, b) => a.value - b.value || a.order - b.order);
    const ring = build(members, 2048);
    const old = new HashringRing(sorted, 2048);
    const reference = new ReferenceRing(members, 2048);
    let ties = 0;
    for (let k = 1; k < points.length; k++) {
      if (points[k]!.value !== points[k - 1]!.value) continue;
      const value = points[k]!.value;
      let first = k - 1;
      while (first > 0 && points[first - 1]!.value === value) first--;
      const below = first === 0 ? -1 : points[first - 1]!.value;
      // Search a room name whose key falls in (below, value]: it belongs to the tie.
      let name: string | undefined;
      for (let n = 0; n < 4_000_000 && name === undefined; n++) {
        const key = createHash('md5').update(`room:tie-${n}`).digest().readUInt32LE(0);
        if (key > below && key <= value) name = `tie-${n}`;
      }
      if (name === undefined) continue;
      ties++;
      expect(ring.owner(name)).toBe(old.owner(name));
      expect(ring.owner(name)).toBe(reference.owner(name));
    }
    expect(ties).toBeGreaterThan(0);
    expect(ring.size).toBe(points.length);
  });

  it('a rebuild reuses the cached points of members it has seen, and the cache is bounded', () => {
    const previous = setRingPointCacheMax(4 * 64);
    try {
      const members = nodeIds(3, 11).map((id) => member(id, 'eu'));
      build(members, 64);
      expect(ringPointCacheStats()).toEqual({ members: 3, points: 3 * 64 });
      // The same members again and one more: only the new member's points join, and the least
      // recently used member leaves to keep the bound.
      const newcomer = member('newcomer', 'eu');
      build([...members, newcomer], 64);
      expect(ringPointCacheStats()).toEqual({ members: 4, points: 4 * 64 });
      build([member('fifth', 'eu')], 64);
      expect(ringPointCacheStats()).toEqual({ members: 4, points: 4 * 64 });
      // A member larger than the bound is computed, used and not kept.
      const huge = build([member('huge', 'eu', 5)], 64);
      expect(huge.size).toBe(5 * 64);
      expect(huge.owner('x')).toBe('huge');
      expect(ringPointCacheStats().points).toBe(4 * 64);
      // The cached points give the same ring as freshly computed ones.
      const cached = build([...members, newcomer], 64);
      setRingPointCacheMax(0);
      expect(ringPointCacheStats()).toEqual({ members: 0, points: 0 });
      const fresh = build([...members, newcomer], 64);
      for (const name of roomNames(500, 'cache'))
        expect(cached.owner(name)).toBe(fresh.owner(name));
      expect(() => setRingPointCacheMax(-1)).toThrow(RangeError);
      expect(() => setRingPointCacheMax(POINT_CACHE_POINTS_MAX + 1)).toThrow(RangeError);
    } finally {
      setRingPointCacheMax(previous);
    }
  });
});
