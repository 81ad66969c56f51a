/**
 * Cluster-wide reads the commands share: the ring members of a membership view, the whole
 * room list in pages the admin API allows, and one call per member node.
 */
import type { AdminRoom, Member, RoomringClient } from '@roomring/client';
import { isRingState } from '@roomring/whatif';

/** The members that place rooms (alive or suspect): the same rule whatif plans with. */
export { isRingState, ringMembersOf } from '@roomring/whatif';

/** `/v1/rooms` answers at most this many rooms per request (the server's limit). */
export const ROOMS_PAGE_MAX = 10_000;

export interface RoomListing {
  rooms: AdminRoom[];
  /** False when some (region, owner) slice held more than ROOMS_PAGE_MAX rooms. */
  complete: boolean;
  /** `/v1/rooms` requests made. */
  requests: number;
}

/**
 * Every visible room of the node behind `client`. The admin API has no cursor, only the
 * `region` and `owner` filters and a limit of 10,000, so a full answer is split: first all
 * rooms; if the limit was hit, one request per ring member (`owner`, each room has one); for
 * an owner at the limit, one per (owner, home region). A slice still at the limit makes the
 * listing incomplete. Rooms are kept by name, so a room that changed owner between two
 * requests is counted once.
 */
export async function fetchAllRooms(
  client: RoomringClient,
  members: readonly Member[],
): Promise<RoomListing> {
  let requests = 1;
  const first = await client.rooms({ limit: ROOMS_PAGE_MAX });
  if (first.length < ROOMS_PAGE_MAX) return { rooms: first, complete: true, requests };
  const byName = new Map<string, AdminRoom>();
  let complete = true;
  const regions = [...new Set(members.map((m) => m.region))].sort();
  for (const member of members.filter((m) => isRingState(m.state))) {
    requests++;
    const owned = await client.rooms({ owner: member.nodeId, limit: ROOMS_PAGE_MAX });
    let slices = [owned];
    if (owned.length >= ROOMS_PAGE_MAX) {
      slices = [];
      for (const region of regions) {
        requests++;
        const slice = await client.rooms({ owner: member.nodeId, region, limit: ROOMS_PAGE_MAX });
        if (slice.length >= ROOMS_PAGE_MAX) complete = false;
        slices.push(slice);
      }
    }
    for (const slice of slices) for (const room of slice) byName.set(room.name, room);
  }
  return { rooms: [...byName.values()], complete, requests };
}

export interface PerMemberResult<T> {
  member: Member;
  value?: T;
  error?: unknown;
}

/** `fn` for every member at once; a failing member is reported, not thrown. */
export function perMember<T>(
  members: readonly Member[],
  fn: (member: Member) => Promise<T>,
): Promise<PerMemberResult<T>[]> {
  return Promise.all(
    members.map(async (member) => {
      try {
        return { member, value: await fn(member) };
      } catch (error) {
        return { member, error };
      }
    }),
  );
}

export interface Readiness {
  ready: boolean;
  /** HTTP status of `/readyz`, or null when there was no answer. */
  status: number | null;
  /** Why there was no answer. */
  error?: string;
  /** The node's own reason (`serving`, `joining`, `resyncing`, `isolated`, ...), if it said. */
  reason?: string;
}

/**
 * `GET /readyz` of a node. `@roomring/client` has no method for the unauthenticated health
 * endpoints, so this one plain fetch is the exception to "every call through the client".
 */
export async function readiness(url: string, timeoutMs: number): Promise<Readiness> {
  try {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await response.text();
    let reason: string | undefined;
    try {
      const parsed = JSON.parse(body) as { reason?: unknown };
      if (typeof parsed.reason === 'string') reason = parsed.reason.slice(0, 40);
    } catch {
      // An older node, or not roomring: the status alone.
    }
    return {
      ready: response.ok,
      status: response.status,
      ...(reason !== undefined ? { reason } : {}),
    };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return { ready: false, status: null, error: cause?.code ?? (error as Error).name };
  }
}
