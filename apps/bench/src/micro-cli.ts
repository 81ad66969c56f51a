/**
 * Micro-benchmarks of @roomring/cli's pure parts: the `whatif` plan over a large room list
 * (two placements plus diffPlacement, from the ring package), the `ring --draw` sampling of
 * one region, and the table renderer on a `rooms --limit 10000` answer.
 *
 * Targets come from what an operator waits for: `whatif` over 100k rooms within 2 s of CPU
 * (the node's own /v1/ring scan of 100k rooms costs ~0.3 s, so the CLI may cost a few
 * times that); a drawing within 100 ms per region (a terminal command should feel instant);
 * 10,000 table rows (the admin API's page limit) rendered within 200 ms: >= 50,000 rows/s.
 */
import { type Cell, drawRegion, planWhatIf, renderTable } from '@roomring/cli';
import type { AdminRoom, Member } from '@roomring/client';
import { createPlacement, type RingMember } from '@roomring/ring';
import { atLeast, atMost, type BenchResult, measureOpsPerSec } from './harness.js';

const SUITE = 'cli';
const REGIONS = ['eu', 'us', 'ap'] as const;
const NODES_PER_REGION = 3;
const PLAN_ROOMS = 100_000;
const TABLE_ROWS = 10_000;

function members(): Member[] {
  const out: Member[] = [];
  for (const region of REGIONS) {
    for (let i = 1; i <= NODES_PER_REGION; i++) {
      out.push({
        nodeId: `${region}-${i}`,
        region,
        state: 'alive',
        incarnation: 1,
        weight: 1,
        httpUrl: '',
        p2pAddrs: [],
        roomCount: 0,
        ringChecksum: '',
        storeDigest: '',
        lastHeardMs: 0,
        stateSinceMs: 0,
        self: out.length === 0,
      });
    }
  }
  return out;
}

/** The ring members of a view (all alive here). */
function ringOf(live: readonly Member[]): RingMember[] {
  return live.map((m) => ({
    nodeId: m.nodeId,
    region: m.region,
    weight: m.weight,
    state: 'alive',
  }));
}

function rooms(live: Member[], count: number): AdminRoom[] {
  const placement = createPlacement({ members: ringOf(live) });
  return Array.from({ length: count }, (_, i) => {
    const name = `tenant-${i % 97}/room-${((i * 2_654_435_761) >>> 0).toString(36)}`;
    const homeRegion = REGIONS[i % REGIONS.length]!;
    return {
      name,
      sid: `RM_${String(i).padStart(12, 'a')}`,
      homeRegion,
      owner: placement.owner(name, homeRegion) ?? '',
      numParticipants: i % 9,
      numPublishers: i % 3,
      activeRecording: false,
      createdAtMs: 1_767_225_600_000 + i,
      metadata: '',
    };
  });
}

function timeMs(fn: () => void, runs: number): number {
  fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export async function run(): Promise<BenchResult[]> {
  const live = members().map((m) => ({ ...m }));
  const checksum = createPlacement({ members: ringOf(live) }).checksum();
  live[0]!.ringChecksum = checksum;
  const list = rooms(live, PLAN_ROOMS);

  let moved = 0;
  const planMs = timeMs(() => {
    moved = planWhatIf(live, list, { remove: ['eu-2'], add: [] }, 10).movedCount;
  }, 3);

  const placement = createPlacement({ members: ringOf(live) });
  const drawMs = timeMs(() => drawRegion(placement, 'eu'), 5);

  const tableRows: Cell[][] = list
    .slice(0, TABLE_ROWS)
    .map((r) => [r.name, r.sid, r.homeRegion, r.owner, String(r.numParticipants), '5m03s']);
  const columns = [
    { header: 'NAME' },
    { header: 'SID' },
    { header: 'HOME' },
    { header: 'OWNER' },
    { header: 'PARTICIPANTS', align: 'right' as const },
    { header: 'AGE', align: 'right' as const },
  ];
  const rowsPerSec = measureOpsPerSec(() => renderTable(columns, tableRows), TABLE_ROWS, {
    rounds: 3,
  });

  return [
    {
      suite: SUITE,
      name: `whatif plan, ${PLAN_ROOMS.toLocaleString('en-US')} rooms, 9 members, remove 1`,
      value: planMs,
      unit: 'ms',
      ...atMost(planMs, 2_000),
      note: `${moved.toLocaleString('en-US')} rooms move (expected ~1/9 = ${Math.round(PLAN_ROOMS / 9).toLocaleString('en-US')})`,
    },
    {
      suite: SUITE,
      name: 'ring --draw, one region of 3 members, 72 cells x 64 samples',
      value: drawMs,
      unit: 'ms',
      ...atMost(drawMs, 100),
    },
    {
      suite: SUITE,
      name: `table render, ${TABLE_ROWS.toLocaleString('en-US')} room rows`,
      value: rowsPerSec,
      unit: 'rows/s',
      ...atLeast(rowsPerSec, 50_000),
    },
  ];
}
