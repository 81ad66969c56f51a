/**
 * What a membership change would move: how many rooms, from whom to whom, per node. The answer
 * comes from the ring package the nodes run (`createPlacement` + `diffPlacement`), built from
 * a live membership view: its alive and suspect members, exactly the members a node puts on
 * its rings (DESIGN.md section 5). The view's checksum is compared with the answering node's
 * own ring checksum, so a view that would place rooms differently is reported.
 *
 * `roomring whatif` (apps/cli) plans from `/v1/members` and `/v1/rooms`; the server's
 * `/v1/whatif` (the dashboard's what-if view) plans from the node's memory. Both call
 * `planWhatIf`, so they give the same numbers for the same membership and rooms.
 *
 * Pinned rooms: a room may say where it is pinned (`pinnedNode`, '' = not pinned); the server
 * knows this. The admin room shape the CLI reads has no `pinnedNode`, so for a room without
 * one it is inferred: a room whose owner (as the node reports it) is not its ring owner in
 * the live placement, and is a ring member, must be pinned there (a pin is the only other way
 * to own a room), so it is treated as pinned to that owner. A room pinned to the very node
 * that is its ring owner looks unpinned; for it an inferred plan's `add` may count a move
 * that the pin prevents (never for `remove`).
 */
import {
  createPlacement,
  DIFF_SAMPLE_MAX,
  diffPlacement,
  InvalidMemberError,
  InvalidPlacementConfigError,
  MEMBER_WEIGHT_MAX,
  type RingMember,
  type RoomPlacementKey,
} from '@roomring/ring';
import type { WhatIfPlan } from './plan-types.js';
import { ringMembersOf, type ViewMember } from './ring-members.js';

export type { WhatIfPlan } from './plan-types.js';

export interface MembershipChange {
  /** Node ids that leave the rings. */
  remove: readonly string[];
  /** Members that join (state alive). */
  add: readonly RingMember[];
}

/** A room as the admin API lists it, plus its pin where the caller knows it. */
export interface ViewRoom {
  name: string;
  homeRegion: string;
  /** The owner the node reported; '' or null when none. */
  owner: string | null;
  /** Where the room is pinned ('' = not pinned); absent = unknown, inferred from `owner`. */
  pinnedNode?: string;
}

/** The change cannot be applied to the live membership. `argument`: the part of the change
 *  at fault (a removed or an added member), when one is. */
export class WhatIfError extends Error {
  override readonly name = 'WhatIfError';
  readonly code = 'ERR_WHATIF';
  constructor(
    message: string,
    readonly argument?: 'remove' | 'add',
  ) {
    super(message);
  }
}

/** Default weight of `NODE@REGION` without `:weight`. */
export const ADD_WEIGHT_DEFAULT = 1;

/** `NODE@REGION[:weight]`; the node id is everything before the last `@`. Throws RangeError. */
export function parseAddSpec(text: string): RingMember {
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) {
    throw new RangeError(`expected NODE@REGION[:weight], got ${JSON.stringify(text)}`);
  }
  const nodeId = text.slice(0, at);
  let region = text.slice(at + 1);
  let weight = ADD_WEIGHT_DEFAULT;
  const colon = region.lastIndexOf(':');
  if (colon >= 0) {
    const weightText = region.slice(colon + 1);
    region = region.slice(0, colon);
    weight = /^\d{1,3}$/.test(weightText) ? Number(weightText) : 0;
    if (weight < 1 || weight > MEMBER_WEIGHT_MAX) {
      throw new RangeError(`weight must be an integer from 1 to ${MEMBER_WEIGHT_MAX}`);
    }
  }
  if (region === '')
    throw new RangeError(`expected NODE@REGION[:weight], got ${JSON.stringify(text)}`);
  return { nodeId, region, weight, state: 'alive' };
}

const orNull = (id: string | undefined): string | null => id ?? null;

function build(members: RingMember[], what: string) {
  try {
    return createPlacement({ members });
  } catch (error) {
    if (error instanceof InvalidMemberError || error instanceof InvalidPlacementConfigError) {
      throw new WhatIfError(`${what}: ${error.message}`);
    }
    throw error;
  }
}

/**
 * The movement `change` would cause over `rooms`, from the live `members` (the first is the
 * answering node, whose `ringChecksum` is the live checksum). Two owner lookups per room
 * (about 0.4 s per 100k rooms), three for a room whose pin is inferred.
 */
export function planWhatIf(
  members: readonly ViewMember[],
  rooms: Iterable<ViewRoom>,
  change: MembershipChange,
  sampleMax: number,
): WhatIfPlan {
  if (change.remove.length === 0 && change.add.length === 0) {
    throw new WhatIfError('nothing to compare: give --remove NODE and/or --add NODE@REGION');
  }
  if (!Number.isInteger(sampleMax) || sampleMax < 0 || sampleMax > DIFF_SAMPLE_MAX) {
    throw new RangeError(`sampleMax must be 0..${DIFF_SAMPLE_MAX}`);
  }
  const ring = ringMembersOf(members);
  const onRing = new Set(ring.map((m) => m.nodeId));
  for (const id of change.remove) {
    if (!onRing.has(id)) {
      throw new WhatIfError(
        `${JSON.stringify(id)} is not on the ring (alive or suspect members: ${[...onRing].sort().join(', ') || 'none'})`,
        'remove',
      );
    }
  }
  const removed = new Set(change.remove);
  const added = new Set<string>();
  for (const m of change.add) {
    if ((onRing.has(m.nodeId) && !removed.has(m.nodeId)) || added.has(m.nodeId)) {
      throw new WhatIfError(`${JSON.stringify(m.nodeId)} is already on the ring`, 'add');
    }
    added.add(m.nodeId);
  }
  const before = build(ring, 'the live membership');
  const after = build(
    [...ring.filter((m) => !removed.has(m.nodeId)), ...change.add.map((m) => ({ ...m }))],
    'the changed membership',
  );

  let pinnedInferred = 0;
  const keys: RoomPlacementKey[] = [];
  for (const room of rooms) {
    if (room.pinnedNode !== undefined) {
      keys.push({ name: room.name, homeRegion: room.homeRegion, pinnedNode: room.pinnedNode });
      continue;
    }
    const owner = room.owner ?? '';
    if (owner !== '' && onRing.has(owner) && owner !== before.owner(room.name, room.homeRegion)) {
      pinnedInferred++;
      keys.push({ name: room.name, homeRegion: room.homeRegion, pinnedNode: owner });
    } else {
      keys.push({ name: room.name, homeRegion: room.homeRegion });
    }
  }
  const diff = diffPlacement(before, after, keys, sampleMax);
  const live = members[0]?.ringChecksum ?? '';
  return {
    change: {
      remove: [...change.remove],
      add: change.add.map((m) => ({ nodeId: m.nodeId, region: m.region, weight: m.weight })),
    },
    ringChecksum: {
      live,
      computed: before.checksum(),
      match: live === before.checksum(),
      after: after.checksum(),
    },
    ringMembersBefore: before.members().length,
    ringMembersAfter: after.members().length,
    roomCount: diff.roomCount,
    movedCount: diff.movedCount,
    movedFraction: diff.movedFraction,
    pinnedInferred,
    pairs: diff.pairs.map((p) => ({ from: orNull(p.from), to: orNull(p.to), count: p.count })),
    nodes: diff.nodes.map((n) => ({ ...n })),
    sample: diff.sample.map((s) => ({
      name: s.name,
      homeRegion: s.homeRegion,
      from: orNull(s.from),
      to: orNull(s.to),
    })),
  };
}
