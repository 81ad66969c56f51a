/**
 * `roomring whatif`: how many rooms a membership change would move, from whom to whom. The
 * answer comes from the ring package the nodes run (`createPlacement` + `diffPlacement`),
 * built from the live membership: the alive and suspect members of /v1/members, exactly the
 * members a node puts on its rings (DESIGN.md section 5). Its checksum is compared with the
 * node's own ring checksum, so a view that would place rooms differently is reported.
 *
 * Pinned rooms: the admin room shape has no `pinnedNode`. A room whose owner (as the node
 * reports it) is not its ring owner in the live placement, and is a ring member, must be
 * pinned there (a pin is the only other way to own a room), so it is treated as pinned to
 * that owner. A room pinned to the very node that is its ring owner looks unpinned; for it
 * `--add` may count a move that a pin would prevent (never for `--remove`).
 */
import type { AdminRoom, Member } from '@roomring/client';
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
import { ringMembersOf } from './cluster.js';

export interface MembershipChange {
  /** Node ids that leave the rings. */
  remove: readonly string[];
  /** Members that join (state alive). */
  add: readonly RingMember[];
}

/** The change cannot be applied to the live membership (exit 1). */
export class WhatIfError extends Error {
  override readonly name = 'WhatIfError';
  readonly code = 'ERR_WHATIF';
}

/** `--json` shape of `roomring whatif` (docs/cli.md). `null` = no owner (no member alive). */
export interface WhatIfPlan {
  change: { remove: string[]; add: { nodeId: string; region: string; weight: number }[] };
  ringChecksum: {
    /** The answering node's own ring checksum. */
    live: string;
    /** The placement built here from /v1/members. */
    computed: string;
    match: boolean;
    /** After the change. */
    after: string;
  };
  ringMembersBefore: number;
  ringMembersAfter: number;
  roomCount: number;
  movedCount: number;
  movedFraction: number;
  /** Rooms treated as pinned (see the module comment). */
  pinnedInferred: number;
  pairs: { from: string | null; to: string | null; count: number }[];
  nodes: {
    nodeId: string;
    ownedBefore: number;
    ownedAfter: number;
    lost: number;
    gained: number;
  }[];
  sample: { name: string; homeRegion: string; from: string | null; to: string | null }[];
}

/** Default weight of `--add NODE@REGION` without `:weight`. */
export const ADD_WEIGHT_DEFAULT = 1;

/** `NODE@REGION[:weight]`; the node id is everything before the last `@`. */
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
 * answering node, whose `ringChecksum` is the live checksum).
 */
export function planWhatIf(
  members: readonly Member[],
  rooms: readonly AdminRoom[],
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
      );
    }
  }
  const removed = new Set(change.remove);
  const added = new Set<string>();
  for (const m of change.add) {
    if ((onRing.has(m.nodeId) && !removed.has(m.nodeId)) || added.has(m.nodeId)) {
      throw new WhatIfError(`${JSON.stringify(m.nodeId)} is already on the ring`);
    }
    added.add(m.nodeId);
  }
  const before = build(ring, 'the live membership');
  const after = build(
    [...ring.filter((m) => !removed.has(m.nodeId)), ...change.add.map((m) => ({ ...m }))],
    'the changed membership',
  );

  let pinnedInferred = 0;
  const keys: RoomPlacementKey[] = rooms.map((room) => {
    const ringOwner = before.owner(room.name, room.homeRegion);
    if (room.owner !== '' && room.owner !== ringOwner && onRing.has(room.owner)) {
      pinnedInferred++;
      return { name: room.name, homeRegion: room.homeRegion, pinnedNode: room.owner };
    }
    return { name: room.name, homeRegion: room.homeRegion };
  });
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
