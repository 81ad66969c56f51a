/**
 * Placement micro-benchmarks (@roomring/ring): owner lookups, replica partners, building a
 * placement, a movement diff, and the load balance the default ring points give.
 */
import {
  createPlacement,
  DEFAULT_POINTS_PER_WEIGHT,
  diffPlacement,
  type Placement,
  type RingMember,
  setRingPointCacheMax,
} from '@roomring/ring';
import HashRing from 'hashring';
import { atLeast, atMost, type BenchResult, collectGarbage, measureOpsPerSec } from './harness.js';

const SUITE = 'ring';
const REGIONS = ['ap-south', 'eu-west', 'us-east'];
/** Random-looking names, as clients send them: a ring lookup hashes every byte once. */
const NAME_COUNT = 100_000;
const LOOKUP_BATCH = 1000;

function names(count: number, salt: string): string[] {
  return Array.from(
    { length: count },
    (_, i) => `${salt}-${((i * 2_654_435_761) >>> 0).toString(36)}-${i.toString(16)}`,
  );
}

function cluster(perRegion: number): RingMember[] {
  return REGIONS.flatMap((region) =>
    Array.from({ length: perRegion }, (_, i) => ({
      nodeId: `12D3KooW${region}${i}`,
      region,
      weight: 1,
      state: 'alive' as const,
    })),
  );
}

function maxOverMean(placement: Placement, region: string, rooms: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const name of rooms) {
    const owner = placement.owner(name, region)!;
    counts.set(owner, (counts.get(owner) ?? 0) + 1);
  }
  const values = [...counts.values()];
  return Math.max(...values) / (rooms.length / values.length);
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const rooms = names(NAME_COUNT, 'bench');
  const members = cluster(3);
  const placement = createPlacement({ members });

  // 1. owner(): the hot path of every request that needs to know who hosts a room.
  collectGarbage();
  let cursor = 0;
  let sink = 0;
  const lookups = measureOpsPerSec(() => {
    for (let i = 0; i < LOOKUP_BATCH; i++) {
      sink += placement.owner(rooms[cursor]!, REGIONS[cursor % 3]!)!.length;
      cursor = (cursor + 1) % NAME_COUNT;
    }
  }, LOOKUP_BATCH);
  // The same lookups on a bare hashring (one region's 3 servers, the same points, its own
  // cache off), measured right after: the ratio says what the placement layer costs.
  const bare = new HashRing(
    Object.fromEntries(
      members
        .filter((m) => m.region === REGIONS[0])
        .map((m) => [m.nodeId, { vnodes: DEFAULT_POINTS_PER_WEIGHT / 4 }]),
    ),
    'md5',
    { 'vnode count': 0, replicas: 4 },
  );
  (bare as unknown as { cache: unknown }).cache = {
    get: () => undefined,
    set: () => undefined,
    reset: () => undefined,
    forEach: () => undefined,
  };
  const bareLookups = measureOpsPerSec(() => {
    for (let i = 0; i < LOOKUP_BATCH; i++) {
      sink += bare.get(`room:${rooms[cursor]!}`).length;
      cursor = (cursor + 1) % NAME_COUNT;
    }
  }, LOOKUP_BATCH);
  results.push({
    suite: SUITE,
    name: 'owner() lookups, 3 regions x 3 nodes',
    value: lookups,
    unit: 'ops/s',
    note: `${NAME_COUNT.toLocaleString('en-US')} distinct names, md5 per lookup, no cache`,
  });
  results.push({
    suite: SUITE,
    name: 'owner() / bare hashring get(), same run',
    value: lookups / bareLookups,
    unit: 'ratio',
    // The wrapper (region choice, pinning, untrusted-name handling) must cost little.
    ...atLeast(lookups / bareLookups, 0.8),
    note: `bare hashring: ${Math.round(bareLookups).toLocaleString('en-US')} ops/s`,
  });

  // 1b. isOwner(): what every node asks of every room it merges (its own hosting), measured
  // right after, over rooms of the 3 home regions alike.
  collectGarbage();
  const asker = members[0]!.nodeId;
  const ownerChecks = measureOpsPerSec(() => {
    for (let i = 0; i < LOOKUP_BATCH; i++) {
      sink += placement.isOwner(asker, rooms[cursor]!, REGIONS[cursor % 3]!) ? 1 : 0;
      cursor = (cursor + 1) % NAME_COUNT;
    }
  }, LOOKUP_BATCH);
  results.push({
    suite: SUITE,
    name: 'isOwner() of one node, 3 regions x 3 nodes / owner() lookups',
    value: ownerChecks / lookups,
    unit: 'ratio',
    note: `${Math.round(ownerChecks).toLocaleString('en-US')} ops/s; rooms of the other 2 regions need no md5`,
  });

  // 2. replicaPartners(): once per acknowledged write.
  collectGarbage();
  const self = members[3]!.nodeId;
  const partners = measureOpsPerSec(() => {
    for (let i = 0; i < LOOKUP_BATCH; i++) {
      sink += placement.replicaPartners(rooms[cursor]!, self, 2).length;
      cursor = (cursor + 1) % NAME_COUNT;
    }
  }, LOOKUP_BATCH);
  results.push({
    suite: SUITE,
    name: 'replicaPartners(count 2), 3 regions x 3 nodes',
    value: partners,
    unit: 'ops/s',
    ...atLeast(partners, 100_000),
    note: 'one lookup on each other region',
  });

  // 3. createPlacement(): once per membership change. Cold: no member's points cached (the
  // first placement a process builds); warm: every member's points cached, as on a rebuild
  // after a membership change (one new member's points are all a rebuild hashes).
  collectGarbage();
  const thirty = cluster(10);
  const cacheMax = setRingPointCacheMax(0);
  const coldPerSec = measureOpsPerSec(
    () => {
      sink += createPlacement({ members: thirty }).members().length;
    },
    1,
    { roundMs: 500, rounds: 3 },
  );
  setRingPointCacheMax(cacheMax);
  const coldMs = 1000 / coldPerSec;
  results.push({
    suite: SUITE,
    name: 'createPlacement, 30 members (3 regions x 10), no point cached',
    value: coldMs,
    unit: 'ms',
    ...atMost(coldMs, 250),
    note: `${(30 * DEFAULT_POINTS_PER_WEIGHT).toLocaleString('en-US')} ring points, md5 of each`,
  });
  collectGarbage();
  createPlacement({ members: thirty });
  const warmPerSec = measureOpsPerSec(
    () => {
      sink += createPlacement({ members: thirty }).members().length;
    },
    1,
    { roundMs: 500, rounds: 3 },
  );
  const buildMs = 1000 / warmPerSec;
  results.push({
    suite: SUITE,
    name: 'createPlacement, 30 members, points cached',
    value: buildMs,
    unit: 'ms',
    ...atMost(buildMs, 25),
    note: `radix sort of the cached points; ${(coldMs / buildMs).toFixed(0)}x faster than cold`,
  });

  // 3b. The same after a suspicion, with `previous`: no ring changed, so none is rebuilt.
  collectGarbage();
  const base = createPlacement({ members: thirty });
  const suspected = thirty.map((m, i) => (i === 0 ? { ...m, state: 'suspect' as const } : m));
  const reusesPerSec = measureOpsPerSec(
    () => {
      sink += createPlacement({ members: suspected, previous: base }).members().length;
    },
    1,
    { roundMs: 300, rounds: 3 },
  );
  const reuseMs = 1000 / reusesPerSec;
  results.push({
    suite: SUITE,
    name: 'createPlacement, 30 members, previous with the same rings',
    value: reuseMs,
    unit: 'ms',
    ...atMost(reuseMs, 5),
    note: 'a suspicion: rings shared, only checksums and orders recomputed',
  });

  // 4. diffPlacement(): "what moves if a node dies", over a registry of 100k rooms.
  collectGarbage();
  const after = createPlacement({
    members: members.map((m, i) => (i === 4 ? { ...m, state: 'dead' as const } : m)),
  });
  const keys = rooms.map((name, i) => ({ name, homeRegion: REGIONS[i % 3]! }));
  let moved = 0;
  const diffsPerSec = measureOpsPerSec(
    () => {
      moved = diffPlacement(placement, after, keys).movedCount;
    },
    1,
    { roundMs: 300, rounds: 3 },
  );
  const diffMs = 1000 / diffsPerSec;
  results.push({
    suite: SUITE,
    name: 'diffPlacement, 100k rooms, 1 of 9 nodes dead',
    value: diffMs,
    unit: 'ms',
    ...atMost(diffMs, 1000),
    note: `${moved.toLocaleString('en-US')} rooms moved (${((moved / NAME_COUNT) * 100).toFixed(1)}%)`,
  });

  // 5. Balance at the default points (DESIGN.md section 5: max/mean <= 1.1).
  for (const n of [3, 5, 10, 20]) {
    const region = 'eu-west';
    const ring = createPlacement({
      members: Array.from({ length: n }, (_, i) => ({
        nodeId: `12D3KooWnode${i}`,
        region,
        weight: 1,
        state: 'alive' as const,
      })),
    });
    const ratio = maxOverMean(ring, region, rooms);
    results.push({
      suite: SUITE,
      name: `max/mean rooms per node, ${n} nodes`,
      value: ratio,
      unit: 'ratio',
      ...atMost(ratio, 1.1),
      note: `${NAME_COUNT.toLocaleString('en-US')} rooms, ${DEFAULT_POINTS_PER_WEIGHT} points per node`,
    });
  }
  if (sink < 0) throw new Error('unreachable: keeps the measured work alive');
  return results;
}
