import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPlacement, type Placement, type RingMember } from '../src/index.js';
import { member, membersArb, regionArb, roomNames, SEED } from './fixtures.js';

const NAMES = roomNames(300, 'order');
const HOMES = ['ap-south', 'eu-west', 'us-east', 'us-west', 'sa-east'];

function snapshot(placement: Placement): unknown {
  return {
    checksum: placement.checksum(),
    regionChecksums: HOMES.map((r) => placement.regionChecksum(r)),
    members: placement.members(),
    regions: placement.regions(),
    owners: NAMES.map((name, i) => placement.owner(name, HOMES[i % HOMES.length]!)),
    partners: NAMES.slice(0, 30).map((name, i) => {
      const self = placement.members()[i % Math.max(1, placement.members().length)]?.nodeId ?? 'x';
      return placement.replicaPartners(name, self, 3);
    }),
  };
}

describe('insertion order', () => {
  it('owners, partners and checksums do not depend on the order members are given', () => {
    fc.assert(
      fc.property(
        membersArb(12).chain((members) =>
          fc.tuple(
            fc.constant(members),
            fc.shuffledSubarray(members, { minLength: members.length, maxLength: members.length }),
          ),
        ),
        ([members, shuffled]) => {
          const a = createPlacement({ members, pointsPerWeight: 64 });
          const b = createPlacement({ members: shuffled, pointsPerWeight: 64 });
          expect(snapshot(b)).toEqual(snapshot(a));
        },
      ),
      { seed: SEED, numRuns: 60 },
    );
  });

  it('holds at the default points too (one reversed 9-member cluster)', () => {
    const members: RingMember[] = [];
    for (const region of ['eu', 'us', 'ap']) {
      for (let i = 0; i < 3; i++) members.push(member(`${region}-node-${i}`, region, 1 + (i % 2)));
    }
    const a = createPlacement({ members });
    const b = createPlacement({ members: [...members].reverse() });
    const names = roomNames(5000, 'default');
    expect(names.map((n) => b.owner(n, 'us'))).toEqual(names.map((n) => a.owner(n, 'us')));
    expect(b.checksum()).toBe(a.checksum());
  });
});

describe('previous placement (ring reuse)', () => {
  it('gives exactly the owners, partners and checksums of a fresh build', () => {
    fc.assert(
      fc.property(
        membersArb(10),
        membersArb(10),
        fc.constantFrom(16, 64),
        fc.constantFrom(16, 64),
        (first, second, pointsBefore, pointsAfter) => {
          // `second` overlaps `first` in part: same ids with other states or weights, new ids.
          const next = [
            ...first
              .slice(0, 5)
              .map((m, i) => (i % 2 === 0 ? { ...m, state: 'suspect' as const } : m)),
            ...second.filter((m) => !first.some((f) => f.nodeId === m.nodeId)),
          ];
          const previous = createPlacement({ members: first, pointsPerWeight: pointsBefore });
          const reused = createPlacement({ members: next, pointsPerWeight: pointsAfter, previous });
          const fresh = createPlacement({ members: next, pointsPerWeight: pointsAfter });
          expect(snapshot(reused)).toEqual(snapshot(fresh));
          // The previous placement itself is unaffected.
          expect(snapshot(previous)).toEqual(
            snapshot(createPlacement({ members: first, pointsPerWeight: pointsBefore })),
          );
        },
      ),
      { seed: SEED, numRuns: 80 },
    );
  });
});

describe('checksum', () => {
  const base = [member('a', 'eu'), member('b', 'eu'), member('c', 'us', 2)];
  const sum = (
    members: RingMember[],
    init: { pointsPerWeight?: number; failoverOrder?: string[] } = {},
  ) => createPlacement({ members, ...init }).checksum();

  it('changes with any ring member, region, weight or placement option', () => {
    const reference = sum(base);
    const variants = [
      sum([...base, member('d', 'us')]),
      sum(base.slice(1)),
      sum([member('a', 'us'), base[1]!, base[2]!]),
      sum([member('a', 'eu', 2), base[1]!, base[2]!]),
      sum(base, { pointsPerWeight: 1024 }),
      sum(base, { failoverOrder: ['us', 'eu'] }),
    ];
    expect(new Set([reference, ...variants]).size).toBe(variants.length + 1);
  });

  it('is pinned: the canonical form must not change silently (mixed versions compare it)', () => {
    const members: RingMember[] = [
      { nodeId: 'eu-a', region: 'eu-west', weight: 1, state: 'alive' },
      { nodeId: 'eu-b', region: 'eu-west', weight: 2, state: 'suspect' },
      { nodeId: 'us-a', region: 'us-east', weight: 1, state: 'alive' },
      { nodeId: 'us-b', region: 'us-east', weight: 1, state: 'dead' },
    ];
    expect(sum(members)).toBe('c1d85627e1936dfe');
  });

  it('ignores what does not change placement: suspect vs alive, dead and left members', () => {
    const reference = sum(base);
    expect(sum([member('a', 'eu', 1, 'suspect'), base[1]!, base[2]!])).toBe(reference);
    expect(sum([...base, member('z', 'ap', 1, 'dead'), member('y', 'eu', 3, 'left')])).toBe(
      reference,
    );
  });

  it('separates ids that only differ in where a delimiter falls', () => {
    expect(sum([member('a,b', 'c')])).not.toBe(sum([member('a', 'b,c')]));
  });

  it('region checksums cover only their region', () => {
    fc.assert(
      fc.property(membersArb(10), regionArb, (members, region) => {
        const all = createPlacement({ members, pointsPerWeight: 8 });
        const inRegion = members.filter((m) => m.region === region);
        const only = createPlacement({ members: inRegion, pointsPerWeight: 8 });
        // Other regions' members do not enter it...
        expect(all.regionChecksum(region)).toBe(only.regionChecksum(region));
        // ...and a new member of the region changes it.
        const grown = createPlacement({
          members: [...members, member('\u0000new', region)],
          pointsPerWeight: 8,
        });
        expect(grown.regionChecksum(region)).not.toBe(all.regionChecksum(region));
      }),
      { seed: SEED, numRuns: 100 },
    );
  });
});
