import { describe, expect, it } from 'vitest';
import {
  createPlacement,
  diffPlacement,
  InvalidMemberError,
  InvalidPlacementConfigError,
  MEMBER_ID_LENGTH_MAX,
  MEMBER_WEIGHT_MAX,
  MEMBERS_MAX,
  REGIONS_MAX,
  type RingMember,
} from '../src/index.js';
import { member } from './fixtures.js';

function rejectsMember(members: RingMember[], nodeId?: string): void {
  let caught: unknown;
  try {
    createPlacement({ members });
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidMemberError);
  const error = caught as InvalidMemberError;
  expect(error.name).toBe('InvalidMemberError');
  expect(error.code).toBe('ERR_INVALID_MEMBER');
  if (nodeId !== undefined) expect(error.nodeId).toBe(nodeId);
}

describe('member validation', () => {
  it('rejects empty, non-string and over-long node ids and regions', () => {
    rejectsMember([member('', 'eu')]);
    rejectsMember([
      { nodeId: 7, region: 'eu', weight: 1, state: 'alive' } as unknown as RingMember,
    ]);
    rejectsMember([member('x'.repeat(MEMBER_ID_LENGTH_MAX + 1), 'eu')]);
    rejectsMember([member('a', '')], 'a');
    rejectsMember([member('a', 'r'.repeat(MEMBER_ID_LENGTH_MAX + 1))], 'a');
    expect(() =>
      createPlacement({ members: [member('x'.repeat(MEMBER_ID_LENGTH_MAX), 'eu')] }),
    ).not.toThrow();
  });

  it('rejects non-positive, non-integer and oversized weights', () => {
    for (const weight of [
      0,
      -1,
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      MEMBER_WEIGHT_MAX + 1,
    ]) {
      rejectsMember([member('a', 'eu', weight)], 'a');
    }
    const heaviest = createPlacement({
      members: [member('a', 'eu', MEMBER_WEIGHT_MAX)],
      pointsPerWeight: 4,
    });
    expect(heaviest.points('a')).toBe(MEMBER_WEIGHT_MAX * 4);
  });

  it('rejects unknown states', () => {
    rejectsMember([{ ...member('a', 'eu'), state: 'zombie' } as unknown as RingMember], 'a');
  });

  it('rejects duplicate node ids, whatever their states or regions', () => {
    rejectsMember([member('a', 'eu'), member('a', 'us', 1, 'dead')], 'a');
  });

  it('copies members: later mutation of the input changes nothing', () => {
    const input = [member('a', 'eu'), member('b', 'eu')];
    const placement = createPlacement({ members: input });
    const before = placement.checksum();
    input[0]!.weight = 5;
    input[1]!.state = 'dead';
    expect(placement.checksum()).toBe(before);
    expect(placement.members().map((m) => m.weight)).toEqual([1, 1]);
    expect(Object.isFrozen(placement.members()[0])).toBe(true);
  });
});

describe('placement options', () => {
  it('rejects pointsPerWeight that is not a positive multiple of 4 within the limit', () => {
    for (const pointsPerWeight of [0, 2, 6, 8.5, -4, 16_388, Number.NaN]) {
      expect(() => createPlacement({ members: [], pointsPerWeight })).toThrow(
        InvalidPlacementConfigError,
      );
    }
    expect(createPlacement({ members: [member('a', 'eu')], pointsPerWeight: 4 }).points('a')).toBe(
      4,
    );
  });

  it('rejects a failover order with duplicates or empty names', () => {
    expect(() => createPlacement({ members: [], failoverOrder: ['eu', 'eu'] })).toThrow(
      InvalidPlacementConfigError,
    );
    expect(() => createPlacement({ members: [], failoverOrder: ['eu', ''] })).toThrow(
      expect.objectContaining({
        name: 'InvalidPlacementConfigError',
        code: 'ERR_INVALID_PLACEMENT_CONFIG',
      }),
    );
  });

  it('rejects memberships that need more ring points than a placement may hold', () => {
    // 30 x 100 x 2,048 = 6.1M points > 4,194,304; checked before any ring is built.
    const members = Array.from({ length: 30 }, (_, i) => member(`n${i}`, 'eu', MEMBER_WEIGHT_MAX));
    expect(() => createPlacement({ members })).toThrow(InvalidPlacementConfigError);
  });

  it('rejects more than MEMBERS_MAX members or REGIONS_MAX regions, even from an endless iterable', () => {
    function* endless() {
      for (let i = 0; ; i++) yield member(`n${i}`, 'eu', 1, 'dead');
    }
    expect(() => createPlacement({ members: endless() })).toThrow(InvalidPlacementConfigError);
    const dead = (n: number, regions: number) =>
      Array.from({ length: n }, (_, i) => member(`n${i}`, `r${i % regions}`, 1, 'dead'));
    expect(createPlacement({ members: dead(MEMBERS_MAX, REGIONS_MAX) }).regions()).toEqual([]);
    expect(() => createPlacement({ members: dead(MEMBERS_MAX + 1, 1) })).toThrow(
      InvalidPlacementConfigError,
    );
    expect(() => createPlacement({ members: dead(REGIONS_MAX + 1, REGIONS_MAX + 1) })).toThrow(
      InvalidPlacementConfigError,
    );
    const regions = Array.from({ length: REGIONS_MAX + 1 }, (_, i) => `r${i}`);
    expect(() => createPlacement({ members: [], failoverOrder: regions })).toThrow(
      InvalidPlacementConfigError,
    );
  });

  it('asserts argument ranges of replicaPartners and diffPlacement', () => {
    const placement = createPlacement({ members: [member('a', 'eu')] });
    expect(() => placement.replicaPartners('r', 'a', -1)).toThrow(RangeError);
    expect(() => placement.replicaPartners('r', 'a', 1.5)).toThrow(RangeError);
    expect(() => diffPlacement(placement, placement, [], 1001)).toThrow(RangeError);
    expect(() => diffPlacement(placement, placement, [], -1)).toThrow(RangeError);
  });
});

describe('empty membership', () => {
  it('places nothing and still answers every query', () => {
    const placement = createPlacement({ members: [member('a', 'eu', 1, 'dead')] });
    expect(placement.owner('room', 'eu')).toBeUndefined();
    expect(placement.owner('room', 'nowhere', 'a')).toBeUndefined();
    expect(placement.ownerInRegion('room', 'eu')).toBeUndefined();
    expect(placement.replicaPartners('room', 'a', 3)).toEqual([]);
    expect(placement.members()).toEqual([]);
    expect(placement.regions()).toEqual([]);
    expect(placement.regionOrder('us')).toEqual(['us', 'eu']);
    expect(placement.checksum()).toBe(createPlacement({ members: [] }).checksum());
    expect(placement.checksum()).toMatch(/^[0-9a-f]{16}$/);
    expect(placement.expectedShare('a')).toBe(0);
    expect(placement.points('a')).toBe(0);
  });
});
