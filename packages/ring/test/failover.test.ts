import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPlacement, type MemberState, type RingMember } from '../src/index.js';
import { member, membersArb, regionArb, regionMembers, roomNames, SEED } from './fixtures.js';

const NAMES = roomNames(2000, 'failover');

/** Two nodes in each of ap, eu and us; `states` overrides some by node id. */
function cluster(states: Record<string, MemberState> = {}): RingMember[] {
  const members: RingMember[] = [];
  for (const region of ['eu', 'us', 'ap']) {
    for (let i = 0; i < 2; i++) {
      const nodeId = `${region}${i}`;
      members.push(member(nodeId, region, 1, states[nodeId] ?? 'alive'));
    }
  }
  return members;
}

describe('region order', () => {
  it('defaults to all known regions by name, rotated to start at home', () => {
    const placement = createPlacement({ members: cluster() });
    expect(placement.regionOrder('eu')).toEqual(['eu', 'us', 'ap']);
    expect(placement.regionOrder('us')).toEqual(['us', 'ap', 'eu']);
    expect(placement.regionOrder('ap')).toEqual(['ap', 'eu', 'us']);
    // Unknown home regions go first and take their place by name.
    expect(placement.regionOrder('br')).toEqual(['br', 'eu', 'us', 'ap']);
    expect(placement.regionOrder('zz')).toEqual(['zz', 'ap', 'eu', 'us']);
  });

  it('counts regions whose members are all dead as known', () => {
    const placement = createPlacement({ members: cluster({ us0: 'dead', us1: 'left' }) });
    expect(placement.regionOrder('eu')).toEqual(['eu', 'us', 'ap']);
    expect(placement.regions()).toEqual(['ap', 'eu']);
  });

  it('rotates an explicit order the same way; unlisted known regions come last by name', () => {
    const members = [...cluster(), member('sa0', 'sa'), member('af0', 'af')];
    const placement = createPlacement({ members, failoverOrder: ['us', 'eu', 'ap'] });
    expect(placement.regionOrder('eu')).toEqual(['eu', 'ap', 'us', 'af', 'sa']);
    expect(placement.regionOrder('us')).toEqual(['us', 'eu', 'ap', 'af', 'sa']);
    expect(placement.regionOrder('sa')).toEqual(['sa', 'us', 'eu', 'ap', 'af']);
    expect(placement.regionOrder('mars')).toEqual(['mars', 'us', 'eu', 'ap', 'af', 'sa']);
  });

  it('every order starts at home and lists each known region once', () => {
    fc.assert(
      fc.property(
        membersArb(10),
        regionArb,
        fc.option(fc.uniqueArray(regionArb, { maxLength: 4 }), { nil: undefined }),
        (members, home, failoverOrder) => {
          const placement = createPlacement({ members, failoverOrder, pointsPerWeight: 4 });
          const order = placement.regionOrder(home);
          expect(order[0]).toBe(home);
          expect(new Set(order).size).toBe(order.length);
          const known = new Set([home, ...members.map((m) => m.region), ...(failoverOrder ?? [])]);
          expect(new Set(order)).toEqual(known);
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });
});

describe('owner', () => {
  it('is the home ring owner, else the first region in order with a ring member', () => {
    fc.assert(
      fc.property(
        membersArb(10),
        regionArb,
        fc.option(fc.uniqueArray(regionArb, { maxLength: 4 }), { nil: undefined }),
        (members, home, failoverOrder) => {
          const placement = createPlacement({ members, failoverOrder, pointsPerWeight: 16 });
          const target = placement.regionOrder(home).find((r) => placement.regions().includes(r));
          for (const name of NAMES.slice(0, 50)) {
            const owner = placement.owner(name, home);
            if (target === undefined) expect(owner).toBeUndefined();
            else expect(owner).toBe(placement.ownerInRegion(name, target));
          }
        },
      ),
      { seed: SEED, numRuns: 150 },
    );
  });

  it('fails over to the next region in order when the home region has no ring member', () => {
    const healthy = createPlacement({ members: cluster() });
    const euDown = createPlacement({ members: cluster({ eu0: 'dead', eu1: 'left' }) });
    const euUsDown = createPlacement({
      members: cluster({ eu0: 'dead', eu1: 'dead', us0: 'dead', us1: 'left' }),
    });
    for (const name of NAMES) {
      expect(euDown.owner(name, 'eu')).toBe(healthy.ownerInRegion(name, 'us'));
      expect(euUsDown.owner(name, 'eu')).toBe(healthy.ownerInRegion(name, 'ap'));
      // Rooms of healthy regions do not move.
      expect(euDown.owner(name, 'ap')).toBe(healthy.owner(name, 'ap'));
    }
    expect(new Set(NAMES.map((n) => euDown.owner(n, 'eu')))).toEqual(new Set(['us0', 'us1']));
  });

  it('is undefined only when every node of every region is dead or left', () => {
    const allDown = Object.fromEntries(
      cluster().map((m, i) => [m.nodeId, i % 2 === 0 ? 'dead' : 'left'] as const),
    ) as Record<string, MemberState>;
    const none = createPlacement({ members: cluster(allDown) });
    expect(NAMES.every((n) => none.owner(n, 'eu') === undefined)).toBe(true);
    expect(none.owner('x', 'unknown-region')).toBeUndefined();
    const lastOne = createPlacement({ members: cluster({ ...allDown, ap1: 'suspect' }) });
    expect(NAMES.every((n) => lastOne.owner(n, 'eu') === 'ap1')).toBe(true);
    expect(lastOne.owner('x', 'unknown-region')).toBe('ap1');
  });

  it('keeps suspect members on the rings: a suspicion moves nothing', () => {
    const healthy = createPlacement({ members: cluster() });
    const suspected = createPlacement({ members: cluster({ eu0: 'suspect', eu1: 'suspect' }) });
    expect(NAMES.map((n) => suspected.owner(n, 'eu'))).toEqual(
      NAMES.map((n) => healthy.owner(n, 'eu')),
    );
    expect(suspected.members().map((m) => m.nodeId)).toEqual(
      healthy.members().map((m) => m.nodeId),
    );
    const dead = createPlacement({ members: cluster({ eu0: 'dead' }) });
    expect(dead.members().map((m) => m.nodeId)).not.toContain('eu0');
    expect(NAMES.every((n) => dead.owner(n, 'eu') === 'eu1')).toBe(true);
  });

  it('places rooms of an unknown home region by its rotated order', () => {
    const placement = createPlacement({ members: cluster() });
    for (const name of NAMES.slice(0, 200)) {
      expect(placement.owner(name, 'br')).toBe(placement.ownerInRegion(name, 'eu'));
      expect(placement.owner(name, 'zz')).toBe(placement.ownerInRegion(name, 'ap'));
    }
  });
});

describe('pinnedNode', () => {
  it('is honoured while alive or suspect, in any region, and ignored once dead or left', () => {
    const states: (MemberState | 'absent')[] = ['alive', 'suspect', 'dead', 'left', 'absent'];
    for (const state of states) {
      const members = cluster().filter((m) => !(m.nodeId === 'ap1' && state === 'absent'));
      const withState = members.map((m) =>
        m.nodeId === 'ap1' && state !== 'absent' ? { ...m, state } : m,
      );
      const placement = createPlacement({ members: withState });
      const reference = createPlacement({ members: cluster({ ap1: 'dead' }) });
      for (const name of NAMES.slice(0, 200)) {
        const owner = placement.owner(name, 'eu', 'ap1');
        if (state === 'alive' || state === 'suspect') expect(owner).toBe('ap1');
        else expect(owner).toBe(reference.owner(name, 'eu'));
      }
    }
  });

  it('treats an empty pinnedNode as none', () => {
    const placement = createPlacement({ members: cluster() });
    for (const name of NAMES.slice(0, 200)) {
      expect(placement.owner(name, 'us', '')).toBe(placement.owner(name, 'us'));
    }
  });
});

describe('isOwner', () => {
  it('is owner(...) === nodeId for every member and a stranger, any home, pin or state', () => {
    fc.assert(
      fc.property(
        membersArb(),
        regionArb,
        fc.option(fc.oneof(fc.constant(''), fc.constant('stranger'), fc.string({ maxLength: 12 }))),
        fc.array(fc.string({ minLength: 1, maxLength: 24 }), { minLength: 1, maxLength: 20 }),
        (members, home, pin, names) => {
          const placement = createPlacement({ members });
          const pinned = pin ?? undefined;
          for (const name of names) {
            const owner = placement.owner(name, home, pinned);
            for (const nodeId of [...members.map((m) => m.nodeId), 'stranger']) {
              expect(placement.isOwner(nodeId, name, home, pinned)).toBe(owner === nodeId);
            }
          }
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('a one-member ring owns every room of its region, and its member owns none elsewhere', () => {
    const placement = createPlacement({
      members: [member('solo', 'eu'), ...regionMembers('us', 3)],
    });
    for (const name of NAMES.slice(0, 500)) {
      expect(placement.owner(name, 'eu')).toBe('solo');
      expect(placement.isOwner('solo', name, 'eu')).toBe(true);
      expect(placement.isOwner('solo', name, 'us')).toBe(false);
      expect(placement.isOwner('us-0', name, 'eu')).toBe(false);
    }
  });
});
