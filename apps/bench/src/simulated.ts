/**
 * Two on-request suites that record the simulator's figures in docs/benchmarks.md (issue #10):
 *
 * - `pnpm bench -- --suite scale`: per-node cost and write spread against cluster size
 *   (`pnpm sim:scale`); SCALE_NODES (default 3,10,30,100,300,1000), about an hour in all,
 *   most of it the 1,000-node cluster;
 * - `pnpm bench -- --suite swarm`: the randomized fault simulator over SWARM_SEEDS seeds
 *   (default 10,000) from SWARM_FROM (default 1), with 2 worker processes; about 1.5 hours.
 *
 * Each runs the sim's own command in a child process (the same code `pnpm sim:*` runs) and
 * turns the JSON it writes into table rows.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ScaleRow, SwarmSummary } from '@roomring/sim';
import { type BenchResult, formatNumber } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const simSrc = join(here, '..', '..', '..', 'packages', 'sim', 'src');

/** Runs one of the sim's commands with `args` plus `--json <file>`; returns what it wrote. */
async function runSimCommand<T>(script: string, args: readonly string[]): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'roomring-sim-'));
  const json = join(dir, 'out.json');
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          '--conditions=@roomring/source',
          '--import',
          'tsx',
          join(simSrc, script),
          ...args,
          '--json',
          json,
        ],
        { stdio: ['ignore', 'inherit', 'inherit'] },
      );
      child.once('error', reject);
      child.once('exit', resolve);
    });
    const out = JSON.parse(readFileSync(json, 'utf8')) as T;
    if (code !== 0 && code !== 1) throw new Error(`${script} exited with ${code}`);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const SCALE_DEFAULT = '3,10,30,100,300,1000';
/** Issue #10: one write visible everywhere within 2 s of virtual time at 1,000 nodes. */
const WRITE_SPREAD_TARGET_MS = 2_000;

export async function runScale(): Promise<{ results: BenchResult[]; markdown: string[] }> {
  // SCALE_ROWS: record rows a run made elsewhere (`sim:scale -- --json F`, or the JSON lines a
  // longer run printed, as an array) instead of running one now.
  const saved = process.env.SCALE_ROWS;
  const rows =
    saved !== undefined
      ? (JSON.parse(readFileSync(saved, 'utf8')) as ScaleRow[])
      : await runSimCommand<ScaleRow[]>('scale/main.ts', [
          '--nodes',
          process.env.SCALE_NODES ?? SCALE_DEFAULT,
          '--window-ms',
          '10000',
          '--writes',
          '5',
        ]);
  const nodes = rows.map((r) => r.nodes).join(',');
  const results: BenchResult[] = [];
  for (const row of rows) {
    results.push(
      {
        suite: 'scale',
        name: `${row.nodes} nodes: messages sent + received per node per second, idle`,
        value: row.msgsPerNodePerS,
        unit: 'msg/s',
        note: `busiest node ${formatNumber(row.msgsPerNodePerSMax)}; ${formatNumber(row.bytesPerNodePerS)} B/s per node; ${row.connectionsPerNode} connections per node`,
      },
      {
        suite: 'scale',
        name: `${row.nodes} nodes: one write visible on every node (max of 5)`,
        value: row.writeVisibleEverywhereMs.max,
        unit: 'virtual ms',
        ...(row.nodes >= 1_000
          ? {
              target: `<= ${formatNumber(WRITE_SPREAD_TARGET_MS)}`,
              met: row.writeVisibleEverywhereMs.max <= WRITE_SPREAD_TARGET_MS,
            }
          : {}),
        note: `p50 ${row.writeVisibleEverywhereMs.p50} ms; formed after ${(row.formedAfterMs / 1_000).toFixed(1)} virtual s; ${row.wallS} s of wall time to simulate`,
      },
    );
  }
  // Per-node cost O(log N) or better: from 30 nodes (full mesh, the largest before the policy
  // changes) to the largest size, messages per node may grow at most as log N does.
  const base = rows.find((r) => r.nodes === 30);
  const top = rows[rows.length - 1];
  if (base && top && top.nodes > base.nodes) {
    const allowed = Math.log2(top.nodes) / Math.log2(base.nodes);
    const growth = top.msgsPerNodePerS / base.msgsPerNodePerS;
    results.push({
      suite: 'scale',
      name: `per-node messages, ${top.nodes} nodes against 30 (O(log N): at most log ${top.nodes} / log 30 = ${allowed.toFixed(2)}x)`,
      value: Math.round(growth * 100) / 100,
      unit: 'x',
      target: `<= ${allowed.toFixed(2)}`,
      met: growth <= allowed,
    });
  }
  const channels = top
    ? Object.entries(top.channels)
        .map(([k, v]) => `${k} ${formatNumber(v.bytesPerNodePerS)} B/s`)
        .join('; ')
    : '';
  const markdown = [
    'Simulated (packages/sim): the real node logic on virtual time and an in-memory network that floods a',
    'publish to every connected subscriber, forwards over a gossip mesh of degree 2 (at most 4 mesh',
    "peers a node, gossipsub's D_hi) and repairs by IHAVE/IWANT each 1 s gossip heartbeat, as the real",
    "transport's gossipsub does. Production timings",
    '(`lan`: heartbeat 1 s, sync 5 s); nodes spread over up',
    'to 4 regions; no load but the measured writes. Each size forms until every node sees every other',
    'alive, settles 10 s, then measures a 10 s idle window (messages and bytes each node sends and',
    'receives) and 5 writes at random nodes, one at a time, each until every node holds it.',
    'Up to 32 members (`meshFullMax`) every node connects to every other and hears every heartbeat each',
    'interval: O(N) per node. Past it the large-cluster policy takes over (protocol/membership.md): about',
    '8 connections per node, heartbeats every ceil(N / 32) intervals, neighbours pinging each other, so',
    'per-node cost stays flat with N, and a write takes O(log N) hops.',
    `At ${top?.nodes ?? '?'} nodes, bytes per node by channel: ${channels}. The constant ~13 KB/s is`,
    "anti-entropy's digest exchange (4,096 buckets x 8 B each way, every 5 s).",
    `Re-measure: \`NODE_OPTIONS=--max-old-space-size=16000 SCALE_NODES=${nodes} npx -y pnpm@12.4.2 bench -- --suite scale\``,
    '(a 1,000-node cluster is slow to simulate while it forms: every node learns every other, rebuilds',
    'its rings as members arrive and syncs with the nodes it meets, all in one process; at 500 nodes the',
    'first 3 virtual s take ~200 s of CPU), or `npx -y pnpm@12.4.2 sim:scale -- --nodes 3,10,30` for a look.',
  ];
  return { results, markdown };
}

export async function runSwarm(): Promise<{ results: BenchResult[]; markdown: string[] }> {
  const seeds = process.env.SWARM_SEEDS ?? '10000';
  const from = process.env.SWARM_FROM ?? '1';
  // SWARM_SUMMARY: record a run made with `sim:swarm -- --json F` (say, alongside other work)
  // instead of running one now.
  const saved = process.env.SWARM_SUMMARY;
  const summary =
    saved !== undefined
      ? (JSON.parse(readFileSync(saved, 'utf8')) as SwarmSummary)
      : await runSimCommand<SwarmSummary>('swarm/main.ts', [
          '--seeds',
          seeds,
          '--from',
          from,
          '--jobs',
          '2',
          '--keep-going',
        ]);
  const results: BenchResult[] = [
    {
      suite: 'swarm',
      name: `seeds ${summary.from}..${summary.from + summary.seeds - 1}: failed`,
      value: summary.failed.length,
      unit: 'seeds',
      target: '0',
      met: summary.failed.length === 0,
      note:
        summary.failed.length > 0
          ? `replay: sim:swarm -- --seed ${summary.failed.slice(0, 5).join(', ')}`
          : `${formatNumber(summary.seeds)} seeds clean`,
    },
    {
      suite: 'swarm',
      name: 'wall time',
      value: summary.wallS,
      unit: 's',
      note: `${summary.jobs} worker processes; ${formatNumber(summary.seedsPerHour)} seeds/hour`,
    },
    {
      suite: 'swarm',
      name: 'API calls issued / rooms acknowledged / faults injected',
      value: summary.calls,
      unit: 'calls',
      note: `${formatNumber(summary.acked)} acknowledged rooms checked at the end; ${formatNumber(summary.faults)} faults`,
    },
    {
      suite: 'swarm',
      name: 'slowest convergence after the faults stopped, share of its bound',
      value: Math.round(summary.worstConvergenceRatio * 100),
      unit: '%',
      target: '<= 100',
      met: summary.worstConvergenceRatio <= 1,
      note: `seed ${summary.worstConvergenceSeed}; the bound is convergenceBoundMs (packages/sim/src/swarm/run.ts)`,
    },
    {
      suite: 'swarm',
      name: 'seeds under the large-cluster policy',
      value: summary.largeClusterSeeds,
      unit: 'seeds',
    },
  ];
  const markdown = [
    'Each seed draws a cluster (3-12 nodes over 1-4 regions, weights, every timing knob within its',
    'documented range, clock skews within the bound), a workload (creates, the same name at several',
    'nodes at once, deletes, re-creates, metadata up to 64 KiB, stats, lists) and a fault schedule (kill -9',
    'with an empty restart, a regional outage, SIGSTOP-like pauses, partitions of one node, one region or',
    'any split, one-way cuts, gossip loss and duplication, latency spikes, clock skew, malformed, oversized',
    'and forged messages from members), and checks the invariants after every step and at the end',
    '(packages/sim/README.md). The bound on convergence once faults stop is',
    '`redialMaxMs + deadAfterMs + suspectAfterMs + (8 + 2 log2 N) x syncIntervalMs + 2 x lifecycleIntervalMs`',
    '(+ 3 publish intervals + deadAfterMs under the large-cluster policy). CI runs seeds 1..200.',
    `Run with \`npx -y pnpm@12.4.2 sim:swarm -- --seeds ${summary.seeds} --from ${summary.from} --jobs ${summary.jobs} --keep-going\`.`,
    `Re-run: \`SWARM_SEEDS=${seeds} npx -y pnpm@12.4.2 bench -- --suite swarm\`, or`,
    '`npx -y pnpm@12.4.2 sim:swarm -- --seeds 10000`; one seed: `sim:swarm -- --seed N`.',
  ];
  return { results, markdown };
}
