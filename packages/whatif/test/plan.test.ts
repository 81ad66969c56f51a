import { createPlacement } from '@roomring/ring';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseAddSpec,
  planWhatIf,
  ringMembersOf,
  type ViewMember,
  type ViewRoom,
  WhatIfError,
} from '../src/index.js';
import { member, room, roomNames, SEED } from './fixtures.js';

/** A live view: members with the checksum of their placement, rooms with their live owners. */
function liveView(
  members: ViewMember[],
  names: readonly string[],
  regions: readonly string[],
): { members: ViewMember[]; rooms: ViewRoom[] } {
  const placement = createPlacement({ members: ringMembersOf(members) });
  const withChecksum = members.map((m) => ({ ...m, ringChecksum: placement.checksum() }));
  const rooms = names.map((name, i) => {
    const home = regions[i % regions.length]!;
    return room(name, home, placement.owner(name, home) ?? '');
  });
  return { members: withChecksum, rooms };
}

const membersArb = fc
  .record({
    eu: fc.integer({ min: 1, max: 3 }),
    us: fc.integer({ min: 0, max: 3 }),
    deadEu: fc.boolean(),
    weights: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 6, maxLength: 6 }),
  })
  .map(({ eu, us, deadEu, weights }) => {
    const out: ViewMember[] = [];
    for (let i = 0; i < eu; i++) out.push(member(`eu-${i}`, 'eu', { weight: weights[i]! }));
    for (let i = 0; i < us; i++) out.push(member(`us-${i}`, 'us', { weight: weights[3 + i]! }));
    if (deadEu) out.push(member('eu-dead', 'eu', { state: 'dead' }));
    return out;
  });

const NAMES = roomNames(400);

describe('whatif plan (the ring package over the live view)', () => {
  it('removing a member moves exactly its rooms, all away from it', () => {
    fc.assert(
      fc.property(membersArb, fc.nat(), (members, pick) => {
        const view = liveView(members, NAMES, ['eu', 'us']);
        const ring = ringMembersOf(members);
        const gone = ring[pick % ring.length]!.nodeId;
        const plan = planWhatIf(view.members, view.rooms, { remove: [gone], add: [] }, 5);
        const owned = view.rooms.filter((r) => r.owner === gone).length;
        expect(plan.ringChecksum.match).toBe(true);
        expect(plan.roomCount).toBe(NAMES.length);
        expect(plan.movedCount).toBe(owned);
        for (const p of plan.pairs) {
          expect(p.from).toBe(gone);
          expect(p.to).not.toBe(gone);
        }
        expect(plan.pairs.reduce((s, p) => s + p.count, 0)).toBe(owned);
        expect(plan.sample.length).toBe(Math.min(5, owned));
        const node = plan.nodes.find((n) => n.nodeId === gone);
        if (owned > 0)
          expect(node).toMatchObject({ ownedBefore: owned, ownedAfter: 0, lost: owned });
      }),
      { seed: SEED, numRuns: 25 },
    );
  });

  it('adding a member moves rooms only to it, and only rooms of its region', () => {
    fc.assert(
      fc.property(membersArb, fc.integer({ min: 1, max: 3 }), (members, weight) => {
        const view = liveView(members, NAMES, ['eu', 'us']);
        const plan = planWhatIf(
          view.members,
          view.rooms,
          { remove: [], add: [{ nodeId: 'eu-new', region: 'eu', weight, state: 'alive' }] },
          0,
        );
        for (const p of plan.pairs) expect(p.to).toBe('eu-new');
        const euRooms = view.rooms.filter((r) => r.homeRegion === 'eu').length;
        const usHasNodes = members.some((m) => m.region === 'us' && m.state === 'alive');
        // us rooms move only when us has no node (they fail over to eu).
        if (usHasNodes) expect(plan.movedCount).toBeLessThanOrEqual(euRooms);
        expect(plan.movedCount).toBeGreaterThan(0);
        expect(plan.sample).toEqual([]);
      }),
      { seed: SEED + 1, numRuns: 20 },
    );
  });

  it('treats a room owned off its ring owner as pinned: it stays unless its node leaves', () => {
    const members = [member('eu-1', 'eu'), member('eu-2', 'eu'), member('us-1', 'us')];
    const view = liveView(members, NAMES.slice(0, 50), ['eu']);
    // Pin every room to us-1 (a node no eu ring would pick).
    const pinned = view.rooms.map((r) => ({ ...r, owner: 'us-1' }));
    const removeEu = planWhatIf(view.members, pinned, { remove: ['eu-2'], add: [] }, 0);
    expect(removeEu.pinnedInferred).toBe(50);
    expect(removeEu.movedCount).toBe(0);
    const removeUs = planWhatIf(view.members, pinned, { remove: ['us-1'], add: [] }, 0);
    expect(removeUs.movedCount).toBe(50);
    for (const p of removeUs.pairs) expect(p.from).toBe('us-1');
  });

  it('reports a live view whose checksum differs from the node', () => {
    const view = liveView([member('a', 'eu'), member('b', 'eu')], NAMES.slice(0, 10), ['eu']);
    view.members[0]!.ringChecksum = '0000000000000000';
    const plan = planWhatIf(view.members, view.rooms, { remove: ['a'], add: [] }, 0);
    expect(plan.ringChecksum.match).toBe(false);
    expect(plan.ringChecksum.live).toBe('0000000000000000');
  });

  it('refuses changes that do not fit the membership', () => {
    const view = liveView(
      [member('a', 'eu'), member('b', 'eu'), member('c', 'eu', { state: 'left' })],
      NAMES.slice(0, 5),
      ['eu'],
    );
    const plan = (remove: string[], add: ReturnType<typeof parseAddSpec>[] = []) =>
      planWhatIf(view.members, view.rooms, { remove, add }, 0);
    expect(() => plan([])).toThrow(WhatIfError);
    expect(() => plan(['zz'])).toThrow(/not on the ring/);
    expect(() => plan(['c'])).toThrow(/not on the ring/); // left: already off the rings
    expect(() => plan([], [parseAddSpec('a@eu')])).toThrow(/already on the ring/);
    expect(() => plan([], [parseAddSpec('x@eu'), parseAddSpec('x@us')])).toThrow(/already/);
    // A member that left may come back; one removed and re-added with another weight is fine.
    expect(plan([], [parseAddSpec('c@eu')]).ringMembersAfter).toBe(3);
    expect(plan(['a'], [parseAddSpec('a@eu:3')]).ringMembersAfter).toBe(2);
  });

  it('parses NODE@REGION[:weight]', () => {
    expect(parseAddSpec('eu-3@eu')).toEqual({
      nodeId: 'eu-3',
      region: 'eu',
      weight: 1,
      state: 'alive',
    });
    expect(parseAddSpec('n@x@eu-west:12')).toEqual({
      nodeId: 'n@x',
      region: 'eu-west',
      weight: 12,
      state: 'alive',
    });
    for (const bad of ['eu', '@eu', 'a@', 'a@eu:0', 'a@eu:101', 'a@eu:x', 'a@:2']) {
      expect(() => parseAddSpec(bad), bad).toThrow(RangeError);
    }
  });
});

describe('whatif plan with known pins (the server) against inferred pins (the CLI)', () => {
  it('a room that says where it is pinned is planned from its pin, never inferred', () => {
    const members = [member('eu-1', 'eu'), member('eu-2', 'eu'), member('us-1', 'us')];
    const view = liveView(members, NAMES.slice(0, 50), ['eu']);
    const pinned = view.rooms.map((r) => ({ ...r, owner: 'us-1', pinnedNode: 'us-1' }));
    const removeEu = planWhatIf(view.members, pinned, { remove: ['eu-2'], add: [] }, 0);
    expect(removeEu.pinnedInferred).toBe(0);
    expect(removeEu.movedCount).toBe(0);
    const removeUs = planWhatIf(view.members, pinned, { remove: ['us-1'], add: [] }, 0);
    expect(removeUs.movedCount).toBe(50);
    // pinnedNode '' says "not pinned": an owner off the ring owner is then not a pin.
    const unpinned = view.rooms.map((r) => ({ ...r, owner: 'us-1', pinnedNode: '' }));
    const plan = planWhatIf(view.members, unpinned, { remove: ['us-1'], add: [] }, 0);
    expect(plan.pinnedInferred).toBe(0);
    expect(plan.movedCount).toBe(0);
  });

  it('removing a member: known pins and pins inferred from owners give the same plan', () => {
    fc.assert(
      fc.property(
        membersArb,
        fc.array(fc.nat(), { minLength: 60, maxLength: 60 }),
        fc.nat(),
        (members, pins, pick) => {
          const ring = ringMembersOf(members);
          const placement = createPlacement({ members: ring });
          const live = members.map((m) => ({ ...m, ringChecksum: placement.checksum() }));
          // Every third room pinned to some ring member (possibly its own ring owner).
          const known: ViewRoom[] = NAMES.slice(0, 60).map((name, i) => {
            const home = i % 2 === 0 ? 'eu' : 'us';
            const pin = i % 3 === 0 ? ring[pins[i]! % ring.length]!.nodeId : '';
            return { name, homeRegion: home, owner: null, pinnedNode: pin };
          });
          const inferred: ViewRoom[] = known.map((r) => ({
            name: r.name,
            homeRegion: r.homeRegion,
            owner: placement.owner(r.name, r.homeRegion, r.pinnedNode || undefined) ?? '',
          }));
          const gone = ring[pick % ring.length]!.nodeId;
          const change = { remove: [gone], add: [] };
          const a = planWhatIf(live, known, change, 1_000);
          const b = planWhatIf(live, inferred, change, 1_000);
          expect(a.pinnedInferred).toBe(0);
          expect({ ...b, pinnedInferred: 0 }).toEqual(a);
        },
      ),
      { seed: SEED + 2, numRuns: 25 },
    );
  });
});
