import { describe, expect, it } from 'vitest';
import { createPlacement, DEFAULT_POINTS_PER_WEIGHT, type RingMember } from '../src/index.js';
import { member, nodeIds, roomNames } from './fixtures.js';

const NAMES = roomNames(100_000, 'balance');
const REGION = 'eu-west';

function roomsPerNode(
  members: RingMember[],
  names: readonly string[] = NAMES,
): Map<string, number> {
  const placement = createPlacement({ members });
  const counts = new Map<string, number>(members.map((m) => [m.nodeId, 0]));
  for (const name of names) {
    const owner = placement.owner(name, REGION)!;
    counts.set(owner, counts.get(owner)! + 1);
  }
  return counts;
}

function maxOverMean(counts: Map<string, number>): number {
  const values = [...counts.values()];
  const total = values.reduce((sum, v) => sum + v, 0);
  return Math.max(...values) / (total / values.length);
}

describe('load balance at the default points', () => {
  // The README quotes these runs (ids from nodeIds(n, 2025)).
  it.each([3, 5, 10, 20])(
    'max/mean rooms per node <= 1.1 for %i equal members, 100k rooms',
    (n) => {
      const ratio = maxOverMean(roomsPerNode(nodeIds(n, 2025).map((id) => member(id, REGION))));
      expect(ratio).toBeLessThanOrEqual(1.1);
    },
  );

  it('holds for readable ids too (10 x "node-i", 100k rooms)', () => {
    const members = Array.from({ length: 10 }, (_, i) => member(`node-${i}`, REGION));
    expect(maxOverMean(roomsPerNode(members))).toBeLessThanOrEqual(1.1);
  });

  it('a weight-2 member gets about twice the share of a weight-1 member', () => {
    const members = nodeIds(5, 99).map((id, i) => member(id, REGION, i === 0 ? 2 : 1));
    const names = NAMES.slice(0, 30_000);
    const counts = roomsPerNode(members, names);
    const heavy = counts.get(members[0]!.nodeId)!;
    const lightMean = (names.length - heavy) / 4;
    expect(heavy / lightMean).toBeGreaterThan(1.8);
    expect(heavy / lightMean).toBeLessThan(2.2);

    const placement = createPlacement({ members });
    expect(placement.expectedShare(members[0]!.nodeId)).toBeCloseTo(2 / 6, 12);
    expect(placement.expectedShare(members[1]!.nodeId)).toBeCloseTo(1 / 6, 12);
    expect(placement.points(members[0]!.nodeId)).toBe(2 * DEFAULT_POINTS_PER_WEIGHT);
    expect(placement.points(members[1]!.nodeId)).toBe(DEFAULT_POINTS_PER_WEIGHT);
    expect(Math.abs(heavy / names.length - 2 / 6)).toBeLessThan(0.03);
  });

  it('expected shares are per region and 0 off the rings', () => {
    const placement = createPlacement({
      members: [
        member('a', 'eu', 1),
        member('b', 'eu', 3),
        member('c', 'us', 2),
        member('d', 'us', 2, 'suspect'),
        member('e', 'us', 5, 'dead'),
      ],
    });
    expect(placement.expectedShare('a')).toBe(0.25);
    expect(placement.expectedShare('b')).toBe(0.75);
    expect(placement.expectedShare('c')).toBe(0.5);
    expect(placement.expectedShare('d')).toBe(0.5);
    expect(placement.expectedShare('e')).toBe(0);
    expect(placement.expectedShare('nobody')).toBe(0);
    expect(placement.points('e')).toBe(0);
  });
});
