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
} from '@roomring/ring';
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
  results.push({
    suite: SUITE,
    name: 'owner() lookups, 3 regions x 3 nodes',
    value: lookups,
    unit: 'ops/s',
    // PLATFORM.md: hashring's own get() does about 300k/s; the wrapper must not be slower.
    ...atLeast(lookups, 300_000),
    note: `${NAME_COUNT.toLocaleString('en-US')} distinct names, md5 per lookup, no cache`,
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

  // 3. createPlacement(): once per membership change.
  collectGarbage();
  const thirty = cluster(10);
  const buildsPerSec = measureOpsPerSec(
    () => {
      sink += createPlacement({ members: thirty }).members().length;
    },
    1,
    { roundMs: 500, rounds: 3 },
  );
  const buildMs = 1000 / buildsPerSec;
  results.push({
    suite: SUITE,
    name: 'createPlacement, 30 members (3 regions x 10)',
    value: buildMs,
    unit: 'ms',
    ...atMost(buildMs, 250),
    note: `${(30 * DEFAULT_POINTS_PER_WEIGHT).toLocaleString('en-US')} ring points`,
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
