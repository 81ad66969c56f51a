import { WEIGHT_MAX } from '@roomring/protocol';
import { compareStrings } from './compare.js';
import { InvalidMemberError, InvalidPlacementConfigError, quote } from './errors.js';

/**
 * A member's state as the failure detector sees it (DESIGN.md section 6). Only `alive` and
 * `suspect` members are on the rings: a member leaves them when declared `dead` or when it
 * announces `left`, so a brief suspicion (3 s by default) does not move rooms back and forth.
 */
export type MemberState = 'alive' | 'suspect' | 'dead' | 'left';

export interface RingMember {
  /** Unique, non-empty, at most MEMBER_ID_LENGTH_MAX characters. */
  nodeId: string;
  /** Non-empty, at most MEMBER_ID_LENGTH_MAX characters. */
  region: string;
  /** Relative capacity: an integer in 1..MEMBER_WEIGHT_MAX. Weight 2 owns about twice the
   *  rooms of weight 1 on the same regional ring. */
  weight: number;
  state: MemberState;
}

/** Ids and region names are short tokens (a libp2p peer id is 52 characters); 256 leaves room
 *  and bounds what one bad heartbeat can make us hash and keep. */
export const MEMBER_ID_LENGTH_MAX = 256;

/** Ring points grow linearly with weight (weight x pointsPerWeight), so weight is capped:
 *  100 x 2,048 = 204,800 points for the heaviest member, about 0.3 s to place on a ring.
 *  The same cap as the wire's WEIGHT_MAX, so every weight a heartbeat carries is placeable. */
export const MEMBER_WEIGHT_MAX = WEIGHT_MAX;

const MEMBER_STATES: ReadonlySet<string> = new Set<MemberState>([
  'alive',
  'suspect',
  'dead',
  'left',
]);

/** Whether a member of this state is on its region's ring. */
export function isOnRing(state: MemberState): boolean {
  return state === 'alive' || state === 'suspect';
}

function validId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MEMBER_ID_LENGTH_MAX;
}

/** Validates one entry and returns a frozen copy holding only the four known fields. */
export function validateMember(input: RingMember): Readonly<RingMember> {
  const { nodeId, region, weight, state } = input;
  if (!validId(nodeId)) {
    throw new InvalidMemberError(
      `member nodeId must be a string of 1..${MEMBER_ID_LENGTH_MAX} characters, got ${quote(nodeId)}`,
      typeof nodeId === 'string' ? nodeId : undefined,
    );
  }
  if (!validId(region)) {
    throw new InvalidMemberError(
      `member ${quote(nodeId)}: region must be a string of 1..${MEMBER_ID_LENGTH_MAX} characters, got ${quote(region)}`,
      nodeId,
    );
  }
  if (!Number.isInteger(weight) || weight < 1 || weight > MEMBER_WEIGHT_MAX) {
    throw new InvalidMemberError(
      `member ${quote(nodeId)}: weight must be an integer in 1..${MEMBER_WEIGHT_MAX}, got ${quote(weight)}`,
      nodeId,
    );
  }
  if (typeof state !== 'string' || !MEMBER_STATES.has(state)) {
    throw new InvalidMemberError(
      `member ${quote(nodeId)}: state must be alive, suspect, dead or left, got ${quote(state)}`,
      nodeId,
    );
  }
  return Object.freeze({ nodeId, region, weight, state });
}

/** Entries of one member list, in any state: 4,096 is far above any one cluster, and bounds the
 *  work an endless or hostile membership view can cause (each entry is validated and kept). */
export const MEMBERS_MAX = 4096;

/** Validates every entry, rejects duplicate node ids, and returns the members sorted by
 *  node id, so nothing downstream depends on the order the caller gave them in. */
export function validateMembers(members: Iterable<RingMember>): readonly Readonly<RingMember>[] {
  const byId = new Map<string, Readonly<RingMember>>();
  for (const input of members) {
    if (byId.size >= MEMBERS_MAX) {
      throw new InvalidPlacementConfigError(`more than ${MEMBERS_MAX} members`);
    }
    const member = validateMember(input);
    if (byId.has(member.nodeId)) {
      throw new InvalidMemberError(
        `duplicate member nodeId ${quote(member.nodeId)}`,
        member.nodeId,
      );
    }
    byId.set(member.nodeId, member);
  }
  return [...byId.values()].sort((a, b) => compareStrings(a.nodeId, b.nodeId));
}
