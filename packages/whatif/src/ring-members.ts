/**
 * The members of a membership view that place rooms: alive or suspect ones (DESIGN.md
 * section 5), exactly the members a node puts on its rings.
 */
import type { MemberState, RingMember } from '@roomring/ring';

/** A member as `/v1/members` answers it (or the node's own MemberView): the fields placement
 *  needs. `state` is a string, since a newer server may add states. */
export interface ViewMember {
  nodeId: string;
  region: string;
  state: string;
  weight: number;
  /** The member's ring checksum (its heartbeat's, or the node's own for the first member). */
  ringChecksum: string;
}

/** States that keep a member on the rings. */
const RING_STATES: ReadonlySet<string> = new Set(['alive', 'suspect']);

export function isRingState(state: string): boolean {
  return RING_STATES.has(state);
}

/** The members that place rooms, as the ring package wants them. */
export function ringMembersOf(members: readonly Omit<ViewMember, 'ringChecksum'>[]): RingMember[] {
  return members
    .filter((m) => isRingState(m.state))
    .map((m) => ({
      nodeId: m.nodeId,
      region: m.region,
      weight: m.weight,
      state: m.state as MemberState,
    }));
}
