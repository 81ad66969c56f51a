import HashRing from 'hashring';
import type { RingMember } from './member.js';

/**
 * One region's consistent-hash ring, on `hashring` 3.2 (ketama layout). How it is configured,
 * from reading its index.js:
 *
 * - Points. hashring takes the md5 of `server + '-' + i` for i < vnodes and cuts each 16-byte
 *   digest into 4 points (`replicas`, 4 = ketama), so a server has vnodes x 4 points. Without
 *   per-server vnodes it scales by weight as floor(weight / totalWeight x vnodeCount x servers),
 *   which changes EVERY server's point count when one member of another weight joins or leaves,
 *   moving rooms between members that stayed. So each server gets explicit
 *   `vnodes = weight x pointsPerWeight / 4`: its points depend on its own weight only, and one
 *   member leaving moves only that member's rooms. The ring-wide `vnode count` is set to 0 so
 *   that no server's vnodes equals it (hashring only honours a per-server vnodes value that
 *   differs from the ring-wide one).
 * - Server strings. hashring and its `connection-parse` store per-server data in plain objects
 *   keyed by the server string; a node id `__proto__` would silently get 0 points there. Servers
 *   are therefore `n:` + nodeId (never an Object.prototype name), mapped back through a Map, and
 *   added in node-id order so ties between equal 32-bit points sort the same on every node.
 * - Room keys. `get()` memoises lookups in `simple-lru-cache`, whose store is a plain `{}`: a
 *   room named `__proto__` would read Object.prototype as a cache hit and then WRITE the owner
 *   into `Object.prototype.value` (prototype pollution; `constructor` or `hasOwnProperty` hit
 *   functions). Its `max cache size: 0` is no way out: the first insert then dereferences an
 *   empty tail and throws. So the cache is replaced by a no-op (measured here: 5,000-entry
 *   cache 0.2-0.26 M lookups/s over 100k distinct names, no cache 0.45-0.53 M/s, so it also
 *   costs speed at registry working-set sizes), and every key is hashed as `room:` + name, which
 *   keeps a future hashring that brings its cache back away from Object.prototype names.
 */

/** md5 gives 16 bytes = 4 points of 32 bits per digest (hashring's `replicas`, ketama's 4). */
export const POINTS_PER_DIGEST = 4;
const SERVER_PREFIX = 'n:';
/** Part of the placement function: every node must hash `room:` + name to agree on owners. */
export const ROOM_KEY_PREFIX = 'room:';

interface LookupCache {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  reset(): void;
  forEach(fn: (value: string, key: string) => void): void;
}

const NO_CACHE: LookupCache = Object.freeze({
  get: () => undefined,
  set: () => {},
  reset: () => {},
  forEach: () => {},
});

/**
 * Everything a region's ring depends on, exactly (no hash, so no collision can ever share the
 * wrong ring): points per weight and the sorted (nodeId, weight) list. Two placements whose
 * region rings have equal keys may share the ring object: rings are never mutated.
 */
export function regionRingKey(
  members: readonly Readonly<RingMember>[],
  pointsPerWeight: number,
): string {
  return JSON.stringify([pointsPerWeight, members.map((m) => [m.nodeId, m.weight])]);
}

export class RegionRing {
  readonly region: string;
  readonly key: string;
  readonly memberCount: number;
  readonly totalWeight: number;
  private readonly ring: HashRing;
  private readonly nodeIdByServer: Map<string, string>;

  /** `members`: non-empty, all of `region`, sorted by node id, validated. Only ids and weights
   *  are used (states may differ between placements sharing this ring). */
  constructor(
    region: string,
    members: readonly Readonly<RingMember>[],
    pointsPerWeight: number,
    key: string,
  ) {
    this.region = region;
    this.key = key;
    this.memberCount = members.length;
    this.nodeIdByServer = new Map();
    // A null-prototype object: keys are `n:`-prefixed anyway, and insertion order (node-id
    // order) is what connection-parse's Object.keys returns, since no key is integer-like.
    const servers: Record<string, { vnodes: number; weight: number }> = Object.create(null);
    let totalWeight = 0;
    for (const member of members) {
      const server = SERVER_PREFIX + member.nodeId;
      servers[server] = {
        vnodes: (member.weight * pointsPerWeight) / POINTS_PER_DIGEST,
        weight: member.weight,
      };
      this.nodeIdByServer.set(server, member.nodeId);
      totalWeight += member.weight;
    }
    this.totalWeight = totalWeight;
    this.ring = new HashRing(servers, 'md5', {
      'vnode count': 0,
      replicas: POINTS_PER_DIGEST,
    });
    (this.ring as unknown as { cache: LookupCache }).cache = NO_CACHE;
  }

  /** The room's owner on this ring: the first point clockwise from md5(`room:` + name). */
  owner(name: string): string {
    return this.nodeIdByServer.get(this.ring.get(ROOM_KEY_PREFIX + name))!;
  }

  /**
   * Walks the ring clockwise from the room's position and appends distinct members to `out`
   * until it holds `count` entries, skipping `self` and ids already in `out`.
   */
  walk(name: string, self: string, out: string[], count: number): void {
    // Everything this ring can add is at most every member but one already excluded, so ask
    // hashring for at most memberCount servers: asking for more would make `range` scan all
    // of the ring's points looking for servers that do not exist.
    const wanted = Math.min(this.memberCount, count - out.length + 1);
    if (wanted <= 0) return;
    for (const server of this.ring.range(ROOM_KEY_PREFIX + name, wanted, true)) {
      const nodeId = this.nodeIdByServer.get(server)!;
      if (nodeId === self || out.includes(nodeId)) continue;
      out.push(nodeId);
      if (out.length >= count) return;
    }
  }
}
