import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPlacement, type RingMember } from '../src/index.js';
import { member, membersArb, roomNameArb, roomNames, SEED } from './fixtures.js';

describe('replicaPartners', () => {
  it('distinct ring members, never self, other regions first, then self region, deterministic', () => {
    fc.assert(
      fc.property(
        membersArb(12),
        fc.nat(),
        fc.integer({ min: 0, max: 14 }),
        roomNameArb,
        (members, selfIndex, count, name) => {
          const placement = createPlacement({ members, pointsPerWeight: 16 });
          const self = members[selfIndex % members.length]!;
          const partners = placement.replicaPartners(name, self.nodeId, count);

          const ring = new Map(placement.members().map((m) => [m.nodeId, m]));
          const selfOnRing = ring.has(self.nodeId);
          expect(partners.length).toBe(Math.min(count, ring.size - (selfOnRing ? 1 : 0)));
          expect(new Set(partners).size).toBe(partners.length);
          expect(partners).not.toContain(self.nodeId);
          for (const p of partners) expect(ring.has(p)).toBe(true);

          // Tier 1: the room's owner on every other region's ring, in self's failover order.
          const others = placement
            .regionOrder(self.region)
            .filter((r) => r !== self.region && placement.regions().includes(r));
          const tier1 = others.map((r) => placement.ownerInRegion(name, r)!).slice(0, count);
          expect(partners.slice(0, tier1.length)).toEqual(tier1);
          // Tier 2: all of self's region that is wanted, before any second node of a region.
          const rest = partners.slice(tier1.length);
          const sameRegion = rest.filter((p) => ring.get(p)!.region === self.region);
          expect(rest.slice(0, sameRegion.length)).toEqual(sameRegion);

          // Deterministic, and independent of member order.
          const again = createPlacement({ members: [...members].reverse(), pointsPerWeight: 16 });
          expect(again.replicaPartners(name, self.nodeId, count)).toEqual(partners);
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("the first same-region partner is the room's owner there once self is gone", () => {
    const members: RingMember[] = Array.from({ length: 6 }, (_, i) => member(`eu${i}`, 'eu'));
    const placement = createPlacement({ members });
    const withoutSelf = createPlacement({
      members: members.map((m) => (m.nodeId === 'eu0' ? { ...m, state: 'dead' as const } : m)),
    });
    for (const name of roomNames(500, 'partners')) {
      const [first] = placement.replicaPartners(name, 'eu0', 2);
      expect(first).toBe(withoutSelf.ownerInRegion(name, 'eu'));
    }
  });

  it('prefers other regions: one copy per region before a second copy anywhere', () => {
    const members: RingMember[] = [];
    for (const region of ['eu', 'us', 'ap']) {
      for (let i = 0; i < 3; i++) members.push(member(`${region}${i}`, region));
    }
    const placement = createPlacement({ members });
    const regionOf = (id: string) => id.slice(0, 2);
    for (const name of roomNames(300, 'prefer')) {
      const partners = placement.replicaPartners(name, 'eu1', 8);
      expect(partners.slice(0, 2).map(regionOf)).toEqual(['us', 'ap']);
      expect(partners.slice(2, 4).map(regionOf)).toEqual(['eu', 'eu']);
      expect(partners.length).toBe(8);
      expect(placement.replicaPartners(name, 'eu1', 1)).toEqual(partners.slice(0, 1));
    }
  });

  it('works for a self that is not a member, and for count 0', () => {
    const placement = createPlacement({ members: [member('a', 'eu'), member('b', 'us')] });
    expect(placement.replicaPartners('room', 'stranger', 0)).toEqual([]);
    const partners = placement.replicaPartners('room', 'stranger', 5);
    expect([...partners].sort()).toEqual(['a', 'b']);
    expect(partners[0]).toBe('b' === partners[0] ? 'b' : 'a');
    expect(placement.replicaPartners('room', 'a', 5)).toEqual(['b']);
  });
});
