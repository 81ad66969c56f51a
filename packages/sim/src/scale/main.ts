/**
 * `pnpm sim:scale`: per-node cost and write spread against cluster size, on virtual time
 * (issue #10's scale table, docs/benchmarks.md). Usage:
 *
 *   pnpm sim:scale -- --nodes 3,10,30,100,300,1000 [--window-ms 20000] [--writes 5]
 *
 * For each N: N nodes over min(4, N) regions with the production (`lan`) timings, formed
 * until every node sees every other alive; then an idle window measures messages and bytes
 * each node sends and receives per virtual second (heartbeats, gossip, anti-entropy, pings);
 * then `--writes` creates, one at a time at random nodes, each measured until every node
 * holds it (virtual ms), spaced so they do not overlap. Prints one JSON line per N and a
 * Markdown table.
 */
import { writeFileSync } from 'node:fs';
import type { NodeOptions } from '@roomring/core';
import { createSimCluster, type SimCluster } from '../cluster.js';
import type { ScaleRow } from '../reports.js';

interface Args {
  nodes: number[];
  windowMs: number;
  writes: number;
  seed: number;
  options: Partial<NodeOptions>;
  /** Writes the rows as JSON to this file (pnpm bench -- --suite scale). */
  json: string | undefined;
}

const REGIONS = ['us-east', 'us-west', 'eu-central', 'ap-south'];

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    nodes: [3, 10, 30, 100],
    windowMs: 20_000,
    writes: 5,
    seed: 1,
    options: {},
    json: undefined,
  };
  const list = argv.filter((a) => a !== '--');
  for (let i = 0; i < list.length; i++) {
    const flag = list[i]!;
    const value = list[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--nodes') args.nodes = value.split(',').map(Number);
    else if (flag === '--window-ms') args.windowMs = Number(value);
    else if (flag === '--writes') args.writes = Number(value);
    else if (flag === '--seed') args.seed = Number(value);
    else if (flag === '--json') args.json = value;
    else if (flag === '--option') {
      const [key, raw] = value.split('=');
      (args.options as Record<string, number>)[key!] = Number(raw);
    } else throw new Error(`unknown option ${flag}`);
  }
  return args;
}

/** One line on stderr per phase: a 1,000-node run takes minutes. */
function progress(n: number, started: number, what: string): void {
  const mb = Math.round(process.memoryUsage().heapUsed / 2 ** 20);
  process.stderr.write(
    `[${n} nodes, ${((Date.now() - started) / 1000).toFixed(1)} s, heap ${mb} MB] ${what}\n`,
  );
}

type SimNode = ReturnType<SimCluster['running']>[number];

function seesEveryoneAlive(node: SimNode, n: number): boolean {
  return node.members().filter((m) => m.state === 'alive').length === n;
}

/**
 * Advances in 100 ms steps until every node sees all n alive; returns the virtual ms it took.
 * Only nodes that did not yet see everyone are checked each step (a member list is n entries,
 * so checking all n nodes is n^2 work per step), then all of them once more to confirm.
 * Prints progress every 5 virtual s.
 */
async function form(c: SimCluster, n: number, started: number): Promise<number> {
  let pending = c.running();
  let waited = 0;
  for (;;) {
    pending = pending.filter((node) => !seesEveryoneAlive(node, n));
    if (pending.length === 0) {
      pending = c.running().filter((node) => !seesEveryoneAlive(node, n));
      if (pending.length === 0) return waited;
    }
    if (waited >= FORM_MS_MAX) {
      throw new Error(`${n} nodes not formed within ${FORM_MS_MAX} virtual ms`);
    }
    if (waited > 0 && waited % 5_000 === 0) {
      progress(
        n,
        started,
        `forming: ${waited} virtual ms, ${n - pending.length}/${n} see all alive`,
      );
    }
    await c.advance(100);
    waited += 100;
  }
}

const FORM_MS_MAX = 600_000;

async function measure(n: number, args: Args): Promise<ScaleRow> {
  const started = Date.now();
  const nodes = Array.from({ length: n }, (_, i) => ({
    nodeId: `n${i}`,
    region: REGIONS[i % Math.min(4, n)]!,
  }));
  const c = await createSimCluster({
    nodes,
    seed: args.seed,
    // Production timings; fewer ring points only make ring builds cheaper to simulate.
    options: { profile: 'lan', ringPointsPerWeight: 64, ...args.options },
    network: { latencyMsMin: 1, latencyMsMax: 5 },
    clockSkewMs: 20,
  });
  await c.startAll();
  const formedAfterMs = await form(c, n, started);
  progress(n, started, `formed after ${formedAfterMs} virtual ms`);
  // Let joins, first syncs and ring changes settle before measuring the steady state.
  await c.advance(10_000);
  const peers = c.running().map((node) => node.peerId);
  const before = peers.map((p) => c.network.traffic(p));
  const byChannel = new Map<string, { messages: number; bytes: number }>();
  c.network.setFilter((e) => {
    const key = `${e.kind} ${e.channel}`;
    const t = byChannel.get(key) ?? { messages: 0, bytes: 0 };
    t.messages++;
    t.bytes += e.data.length;
    byChannel.set(key, t);
    return 'deliver';
  });
  progress(n, started, 'settled; measuring the idle window');
  await c.advance(args.windowMs);
  c.network.setFilter(undefined);
  progress(n, started, 'window measured; writing');
  const after = peers.map((p) => c.network.traffic(p));
  const seconds = args.windowMs / 1000;
  const perNode = after.map((t, i) => {
    const b = before[i]!;
    return {
      msgs: (t.messagesIn - b.messagesIn + t.messagesOut - b.messagesOut) / seconds,
      bytes: (t.bytesIn - b.bytesIn + t.bytesOut - b.bytesOut) / seconds,
    };
  });
  const connections = c.running().reduce((sum, node) => sum + node.status().connectedPeers, 0) / n;
  const spreads: number[] = [];
  for (let w = 0; w < args.writes; w++) {
    const writer = c.node(`n${c.random.int(n)}`);
    const name = `scale-${w}`;
    // From the call to the moment the last node holds it, in 1 ms steps.
    const create = writer.createRoom({ name });
    const tookMs = await c.until(
      () => c.running().every((node) => node.getRoom(name) !== undefined),
      60_000,
      1,
    );
    spreads.push(tookMs);
    await c.settle(create, 30_000);
    await c.advance(1_000);
  }
  spreads.sort((a, b) => a - b);
  await c.shutdown();
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  const channels: Record<string, { messagesPerNodePerS: number; bytesPerNodePerS: number }> = {};
  for (const [key, t] of [...byChannel].sort((a, b) => b[1].bytes - a[1].bytes)) {
    channels[key] = {
      messagesPerNodePerS: Math.round(t.messages / seconds / n),
      bytesPerNodePerS: Math.round(t.bytes / seconds / n),
    };
  }
  return {
    nodes: n,
    channels,
    formedAfterMs,
    msgsPerNodePerS: Math.round(mean(perNode.map((p) => p.msgs))),
    bytesPerNodePerS: Math.round(mean(perNode.map((p) => p.bytes))),
    msgsPerNodePerSMax: Math.round(Math.max(...perNode.map((p) => p.msgs))),
    connectionsPerNode: Math.round(connections * 10) / 10,
    writeVisibleEverywhereMs: {
      p50: spreads[Math.floor(spreads.length / 2)] ?? 0,
      max: spreads[spreads.length - 1] ?? 0,
    },
    wallS: Math.round((Date.now() - started) / 100) / 10,
  };
}

const args = parseArgs(process.argv.slice(2));
const rows: ScaleRow[] = [];
for (const n of args.nodes) {
  const row = await measure(n, args);
  rows.push(row);
  console.log(JSON.stringify(row));
  // Written after every size, so a long run's finished sizes survive an interruption.
  if (args.json !== undefined) writeFileSync(args.json, `${JSON.stringify(rows, null, 2)}\n`);
}
console.log('');
console.log(
  '| nodes | formed after (virtual s) | messages / node / s | bytes / node / s | busiest node msgs / s | connections / node | one write visible everywhere, p50 / max (virtual ms) | wall s |',
);
console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(
    `| ${r.nodes} | ${(r.formedAfterMs / 1000).toFixed(1)} | ${r.msgsPerNodePerS} | ${r.bytesPerNodePerS} | ${r.msgsPerNodePerSMax} | ${r.connectionsPerNode} | ${r.writeVisibleEverywhereMs.p50} / ${r.writeVisibleEverywhereMs.max} | ${r.wallS} |`,
  );
}
