import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createPlacement,
  DIFF_SAMPLE_DEFAULT,
  diffPlacement,
  type Placement,
  type RingMember,
  type RoomPlacementKey,
} from '../src/index.js';
import {
  member,
  membersArb,
  regionArb,
  roomNameArb,
  roomNames,
  SEED,
  stateArb,
} from './fixtures.js';

/** Brute force: owners side by side, counted with plain loops and string keys in Maps. */
function bruteForce(
  before: Placement,
  after: Placement,
  rooms: RoomPlacementKey[],
  sampleMax: number,
) {
  const owners = rooms.map((r) => ({
    room: r,
    from: before.owner(r.name, r.homeRegion, r.pinnedNode),
    to: after.owner(r.name, r.homeRegion, r.pinnedNode),
  }));
  const moved = owners.filter((o) => o.from !== o.to);
  const ids = new Set<string>();
  for (const o of owners) {
    if (o.from !== undefined) ids.add(o.from);
    if (o.to !== undefined) ids.add(o.to);
  }
  const nodes = [...ids].sort().map((nodeId) => ({
    nodeId,
    ownedBefore: owners.filter((o) => o.from === nodeId).length,
    ownedAfter: owners.filter((o) => o.to === nodeId).length,
    lost: moved.filter((o) => o.from === nodeId).length,
    gained: moved.filter((o) => o.to === nodeId).length,
  }));
  const pairs = new Map<string, number>();
  for (const o of moved) {
    const key = JSON.stringify([o.from ?? null, o.to ?? null]);
    pairs.set(key, (pairs.get(key) ?? 0) + 1);
  }
  return {
    movedCount: moved.length,
    nodes,
    pairs,
    sample: moved.slice(0, sampleMax).map((o) => ({
      name: o.room.name,
      homeRegion: o.room.homeRegion,
      from: o.from,
      to: o.to,
    })),
  };
}

const roomArb: fc.Arbitrary<RoomPlacementKey> = fc.record(
  {
    name: roomNameArb,
    homeRegion: regionArb,
    pinnedNode: fc.oneof(fc.constant(''), fc.string({ minLength: 1, maxLength: 12 })),
  },
  { requiredKeys: ['name', 'homeRegion'] },
);

describe('diffPlacement', () => {
  it('agrees with a brute-force comparison', () => {
    fc.assert(
      fc.property(
        membersArb(10),
        fc.array(stateArb, { minLength: 10, maxLength: 10 }),
        fc.array(roomArb, { maxLength: 80 }),
        fc.integer({ min: 0, max: 30 }),
        (members, newStates, rooms, sampleMax) => {
          // Pin some rooms to real members so pinning takes part in the diff.
          const keyed = rooms.map((r, i) =>
            i % 4 === 0 ? { ...r, pinnedNode: members[i % members.length]!.nodeId } : r,
          );
          const before = createPlacement({ members, pointsPerWeight: 16 });
          const after = createPlacement({
            members: members.map((m, i) => ({ ...m, state: newStates[i]! })),
            pointsPerWeight: 16,
          });
          const diff = diffPlacement(before, after, keyed, sampleMax);
          const expected = bruteForce(before, after, keyed, sampleMax);
          expect(diff.roomCount).toBe(keyed.length);
          expect(diff.movedCount).toBe(expected.movedCount);
          expect(diff.movedFraction).toBe(
            keyed.length === 0 ? 0 : expected.movedCount / keyed.length,
          );
          expect(diff.nodes).toEqual(expected.nodes);
          expect(diff.sample).toEqual(expected.sample);
          const pairs = new Map(
            diff.pairs.map((p) => [JSON.stringify([p.from ?? null, p.to ?? null]), p.count]),
          );
          expect(pairs).toEqual(expected.pairs);
          expect(diff.pairs.length).toBe(expected.pairs.size);
          for (let i = 1; i < diff.pairs.length; i++) {
            expect(diff.pairs[i - 1]!.count).toBeGreaterThanOrEqual(diff.pairs[i]!.count);
          }
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('one dead member: every move leaves it, and matches what it owned', () => {
    const members: RingMember[] = ['a', 'b', 'c', 'd'].map((id) => member(id, 'eu'));
    const before = createPlacement({ members });
    const after = createPlacement({
      members: members.map((m) => (m.nodeId === 'c' ? { ...m, state: 'dead' as const } : m)),
    });
    const rooms = roomNames(10_000, 'diff').map((name) => ({ name, homeRegion: 'eu' }));
    const diff = diffPlacement(before, after, rooms);
    const c = diff.nodes.find((n) => n.nodeId === 'c')!;
    expect(c.lost).toBe(c.ownedBefore);
    expect(c.ownedAfter).toBe(0);
    expect(diff.movedCount).toBe(c.ownedBefore);
    expect(diff.pairs.every((p) => p.from === 'c')).toBe(true);
    expect(diff.pairs.reduce((sum, p) => sum + p.count, 0)).toBe(diff.movedCount);
    expect(diff.sample.length).toBe(DIFF_SAMPLE_DEFAULT);
    expect(diff.movedFraction).toBeGreaterThan(0.15);
    expect(diff.movedFraction).toBeLessThan(0.35);
  });

  it('reports rooms that lose every owner with an undefined side', () => {
    const before = createPlacement({ members: [member('a', 'eu')] });
    const after = createPlacement({ members: [member('a', 'eu', 1, 'left')] });
    const diff = diffPlacement(before, after, [{ name: '__proto__', homeRegion: 'eu' }], 5);
    expect(diff.pairs).toEqual([{ from: 'a', to: undefined, count: 1 }]);
    expect(diff.sample).toEqual([
      { name: '__proto__', homeRegion: 'eu', from: 'a', to: undefined },
    ]);
    expect(diff.nodes).toEqual([
      { nodeId: 'a', ownedBefore: 1, ownedAfter: 0, lost: 1, gained: 0 },
    ]);
  });
});
