/**
 * The connection and heartbeat policy by cluster size (DESIGN.md section 6,
 * docs/protocol/membership.md "Large clusters"). Pure helpers: no state, no I/O.
 *
 * Up to `meshFullMax` members every node connects to every other and hears every member's
 * heartbeat each interval: N - 1 connections and N heartbeats per interval per node, O(N), and
 * the fastest failure detection. Past it:
 * - connections: each node dials `meshDegree` mesh targets, the members with the lowest hash
 *   of (self, member), a stable choice, and accepts whoever dials it (~2 x meshDegree open);
 * - heartbeats: each node publishes one every heartbeatIntervalMs x ceil(N / meshFullMax), so
 *   the whole cluster publishes about meshFullMax per interval and each node receives about
 *   that many (times the gossip mesh's copies), whatever N;
 * - failure detection: neighbours (open connections) ping each other every interval with their
 *   heartbeats; a neighbour that stays silent is suspected by the nodes next to it, everyone
 *   adopts the suspicion, and it is declared dead unless it refutes within the suspicion
 *   period (SWIM's dissemination: per-node cost O(1) per interval plus O(1) per event).
 */

/** Whether `memberCount` (self included) is past the full-mesh size. */
export function isLargeCluster(memberCount: number, meshFullMax: number): boolean {
  return memberCount > meshFullMax;
}

/** Period of this node's gossip heartbeat for a cluster of `memberCount` members. */
export function heartbeatPublishIntervalMs(
  config: { heartbeatIntervalMs: number; meshFullMax: number },
  memberCount: number,
): number {
  return config.heartbeatIntervalMs * Math.max(1, Math.ceil(memberCount / config.meshFullMax));
}

/** FNV-1a over `a \n b`: a stable, cheap score of a pair of node ids. */
export function pairScore(a: string, b: string): number {
  let h = 0x811c9dc5;
  const s = `${a}\n${b}`;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The same score for (a, b) and (b, a). */
export function symmetricPairScore(a: string, b: string): number {
  return a < b ? pairScore(a, b) : pairScore(b, a);
}

/**
 * This node's mesh neighbours in a large cluster: the members it keeps connections to. A
 * relation both ends compute alike from the same membership (so each keeps the link the other
 * keeps, and pruning the rest never flaps):
 * - a ring over every member ordered by a hash of its node id: the member before and after
 *   this one, so the mesh is connected;
 * - chords: every member whose symmetric pair score falls below a threshold chosen for
 *   `degree` - 2 of them on average, so the mesh's diameter stays ~log N.
 */
export function meshNeighbours(
  selfNodeId: string,
  memberIds: readonly string[],
  degree: number,
): Set<string> {
  const all = [...new Set([selfNodeId, ...memberIds])];
  const out = new Set<string>();
  if (all.length <= 1) return out;
  const ring = all
    .map((id) => ({ id, h: pairScore(id, '') }))
    .sort((x, y) => x.h - y.h || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  const at = ring.findIndex((r) => r.id === selfNodeId);
  out.add(ring[(at + 1) % ring.length]!.id);
  out.add(ring[(at - 1 + ring.length) % ring.length]!.id);
  const chords = Math.max(0, degree - 2);
  const threshold = (chords / Math.max(1, all.length - 1)) * 2 ** 32;
  for (const id of all) {
    if (id !== selfNodeId && symmetricPairScore(selfNodeId, id) < threshold) out.add(id);
  }
  out.delete(selfNodeId);
  return out;
}
