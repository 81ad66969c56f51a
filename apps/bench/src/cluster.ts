/**
 * Cluster benchmarks: five registry node processes in three regions on this machine (real
 * libp2p on 127.0.0.1), as DESIGN.md's P2/P5 and issue targets ask:
 *
 * - replicated room changes per second until every node holds them (gossip path);
 * - create-to-visible latency at 1,000 changes/s (p50/p99 over every receiver);
 * - cold join: a sixth node with an empty store until it holds 100k rooms;
 * - RSS per node at 100k and 1M rooms.
 *
 * All five processes share the same 2 cores as the bench itself, so every figure here is
 * pessimistic for a real deployment with a core or more per node.
 */
import { type NodeProcess, type NodeSpec, startNode, stopAll } from '@roomring/node/testing';
import { atLeast, atMost, type BenchResult } from './harness.js';

const SUITE = 'cluster';
const SPECS: NodeSpec[] = [
  { nodeId: 'use-1', region: 'us-east' },
  { nodeId: 'use-2', region: 'us-east' },
  { nodeId: 'usw-1', region: 'us-west' },
  { nodeId: 'usw-2', region: 'us-west' },
  { nodeId: 'euc-1', region: 'eu-central' },
];
const MIB = 2 ** 20;

function log(message: string): void {
  console.log(`[cluster] ${new Date().toISOString().slice(11, 19)} ${message}`);
}

async function startCluster(options: Record<string, unknown>): Promise<NodeProcess[]> {
  const nodeArgs = ['--max-old-space-size=4096', '--expose-gc'];
  const first = await startNode({ ...SPECS[0]!, options, nodeArgs });
  const rest = await Promise.all(
    SPECS.slice(1).map((s) => startNode({ ...s, seeds: [first.address], options, nodeArgs })),
  );
  const nodes = [first, ...rest];
  // Until every node sees every other alive and the gossip mesh has formed.
  for (;;) {
    const views = await Promise.all(nodes.map((n) => n.call<{ state: string }[]>('members')));
    if (views.every((v) => v.filter((m) => m.state === 'alive').length === nodes.length)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  return nodes;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Every node creates `perNode` rooms at once; resolves with records/s until all hold all. */
async function fill(
  nodes: NodeProcess[],
  prefix: string,
  perNode: number,
  total: number,
  concurrency = 256,
  allowFailures = false,
): Promise<number> {
  const started = Date.now();
  const done = Promise.all(nodes.map((n) => n.call<number>('whenVisible', total, 600_000)));
  const created = await Promise.all(
    nodes.map((n) =>
      n.call<{ failures: string[] }>(
        'createMany',
        `${prefix}${n.spec.nodeId}-`,
        perNode,
        concurrency,
      ),
    ),
  );
  const failures = created.reduce((sum, c) => sum + c.failures.length, 0);
  if (failures > 0 && !allowFailures) throw new Error(`${failures} creates failed`);
  const finishedAt = failures > 0 ? Date.now() : Math.max(...(await done));
  const acked = perNode * nodes.length - failures;
  lastFillFailures = failures;
  return (acked / (finishedAt - started)) * 1000;
}

/** Creates the last fill() saw fail (only when allowed). */
let lastFillFailures = 0;

/** One node creates `perSecond` rooms per second for 10 s; the other four record when each
 *  room became visible to them. Returns the sorted latencies (ms). */
async function visibleLatencies(nodes: NodeProcess[], prefix: string, perSecond: number) {
  await Promise.all(nodes.map((n) => n.call('trackLatency', true)));
  const created = await nodes[0]!.call<number>('paced', prefix, perSecond, 10_000);
  await Promise.all(nodes.slice(1).map((n) => n.call('whenVisible', created, 60_000)));
  const samples = await Promise.all(
    nodes.slice(1).map((n) => n.call<number[]>('trackLatency', false)),
  );
  return { created, sorted: samples.flat().sort((a, b) => a - b) };
}

function latencyResults(sorted: readonly number[], label: string, note: string): BenchResult[] {
  const p99 = percentile(sorted, 99);
  return [
    {
      suite: SUITE,
      name: `create-to-visible latency p50 at 1k creates/s, ${label}`,
      value: percentile(sorted, 50),
      unit: 'ms',
      note: `${sorted.length.toLocaleString('en-US')} samples on 4 receivers; ${note}`,
    },
    {
      suite: SUITE,
      name: `create-to-visible latency p99 at 1k creates/s, ${label}`,
      value: p99,
      unit: 'ms',
      ...atMost(p99, 50),
    },
  ];
}

async function rssMiB(nodes: NodeProcess[]): Promise<number> {
  const rss = await Promise.all(nodes.map((n) => n.call<{ rss: number }>('memory')));
  return Math.max(...rss.map((m) => m.rss)) / MIB;
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  let nodes: NodeProcess[] = [];
  try {
    // --- gossip throughput, cold join and memory: writes are not acknowledged (minAcks 0),
    // so what is measured is replication itself, not the ack round trip.
    log('starting 5 nodes (minAcks 0)');
    nodes = await startCluster({ minAcks: 0 });
    log('1,000 creates/s for 10 s from one node (gossip only)');
    const gossipOnly = await visibleLatencies(nodes, 'g-', 1_000);
    results.push(...latencyResults(gossipOnly.sorted, 'minAcks 0', 'the replication path alone'));
    const perNode = 20_000;
    log(`filling ${(perNode * 5).toLocaleString('en-US')} rooms from all 5 nodes`);
    const rate = await fill(nodes, 'a-', perNode, perNode * 5 + gossipOnly.created);
    results.push({
      suite: SUITE,
      name: 'replicated room creates/s until all 5 nodes hold them',
      value: rate,
      unit: 'records/s',
      ...atLeast(rate, 50_000),
      note: '100k rooms created on 5 nodes at once; 5 processes on 2 cores',
    });
    results.push({
      suite: SUITE,
      name: 'RSS per node, 100k rooms',
      value: await rssMiB(nodes),
      unit: 'MiB',
      note: 'largest of the 5 nodes, after a full GC',
    });

    log('cold join of a sixth node');
    const joiner = await startNode({
      nodeId: 'use-3',
      region: 'us-east',
      seeds: [nodes[0]!.address],
      options: { minAcks: 0 },
      nodeArgs: ['--max-old-space-size=4096'],
    });
    const joinStarted = Date.now();
    nodes.push(joiner);
    const joinedAt = await joiner.call<number>(
      'whenVisible',
      perNode * 5 + gossipOnly.created,
      120_000,
    );
    const joinMs = joinedAt - joinStarted;
    results.push({
      suite: SUITE,
      name: 'cold join: empty node to 100k rooms',
      value: joinMs,
      unit: 'ms',
      ...atMost(joinMs, 5_000),
      note: 'from the started process to holding every room (anti-entropy pull)',
    });
    await stopAll([joiner]);
    nodes.pop();

    // To 1M in steps of 100k, each replicated everywhere before the next, so the figure is
    // memory at rest rather than a backlog; the overall rate is reported beside it.
    log('filling to 1M rooms, 100k at a time');
    const fillStarted = Date.now();
    let total = perNode * 5 + gossipOnly.created;
    for (let step = 1; total < 1_000_000; step++) {
      await fill(nodes, `b${step}-`, perNode, total + perNode * 5);
      total += perNode * 5;
      log(`${total.toLocaleString('en-US')} rooms on every node`);
    }
    const millionRate =
      ((total - perNode * 5 - gossipOnly.created) / (Date.now() - fillStarted)) * 1000;
    results.push({
      suite: SUITE,
      name: 'RSS per node, 1M rooms',
      value: await rssMiB(nodes),
      unit: 'MiB',
      note: `largest of the 5 nodes, after a full GC; 100k-to-1M filled at ${Math.round(millionRate).toLocaleString('en-US')} records/s in steps of 100k`,
    });
    await stopAll(nodes);

    // --- latency at 1k changes/s with the default durable writes (minAcks 1).
    log('starting 5 nodes (defaults: minAcks 1)');
    nodes = await startCluster({});
    log('1,000 creates/s for 10 s from one node (each acknowledged by a replica)');
    const durable = await visibleLatencies(nodes, 'lat-', 1_000);
    results.push(
      ...latencyResults(
        durable.sorted,
        'minAcks 1',
        'every create also waits for one of its 2 replica partners (replicate requests batched per partner)',
      ),
    );
    const created = durable.created;
    log('acknowledged creates/s (minAcks 1, 64 in flight per node)');
    const acked = await fill(nodes, 'ack-', 5_000, created + 25_000, 64, true);
    results.push({
      suite: SUITE,
      name: 'acknowledged creates/s (minAcks 1), 64 in flight per node',
      value: acked,
      unit: 'records/s',
      note: `each create waits for a replica partner in another region; ${lastFillFailures.toLocaleString('en-US')} of 25,000 answered unavailable/overloaded (fast, with Retry-After)`,
    });
  } catch (error) {
    // Keep what was measured; say where and why the run stopped.
    results.push({
      suite: SUITE,
      name: 'run stopped early',
      value: results.length,
      unit: 'cases done',
      note: (error as Error).message.split('\n')[0]!.slice(0, 200),
    });
  } finally {
    await stopAll(nodes);
  }
  return results;
}
