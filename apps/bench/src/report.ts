import { cpus, totalmem } from 'node:os';
import { type BenchResult, formatNumber } from './harness.js';

export interface SuiteRun {
  suite: string;
  title: string;
  startedAt: string;
  results: BenchResult[];
  /** Markdown shown under the suite's table (setup, charts). */
  markdown?: string[];
}

function machine(): string {
  const cpu = cpus();
  const gib = (totalmem() / 2 ** 30).toFixed(0);
  return `${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}, ${gib} GiB, Node.js ${process.version}, ${process.platform}/${process.arch}`;
}

/**
 * What limits a target when a run misses it, for suites whose own markdown does not say:
 * shown once under the suite's table when a row not met matches `name`.
 */
const LIMITS: ReadonlyArray<{ suite: string; name: RegExp; text: string }> = [
  {
    suite: 'cluster',
    name: /^create-to-visible latency p99/,
    text: 'Not met, create-to-visible p99: 5 node processes and the load generator share 2 cores; every record is decoded, merged and hashed on every process, and every message pays noise and private-network encryption, so a receiver that is not scheduled for some milliseconds shows in the tail (the p50 rows are the replication path itself).',
  },
  {
    suite: 'cluster',
    name: /^CPU per replicated record per process/,
    text: "Not met in this run, CPU per replicated record (the first 100k, or the median step to 1M). The figure moves with the load on the 2 cores the 5 nodes and the bench share: over the suite's seven runs on the morning of 2026-12-07 the first 100k measured 10.1-13.9 us and the median step 9.7-12.0 us (the committed run of 2c1c37c 10.8 and 9.8); in the afternoon, when throwaway fills of the code before the change below measured a median step of 11.4-12.6 us, the suite's three runs after the change below measured 12.1-13.4 us (first 100k) and 10.9-11.3 us (median step). Where a filling node's CPU goes (CPU profiles of a receiver, steps from 200k to 400k rooms, 2026-12-07): the store about 27% (its bucket tables' lookups and inserts, which miss the CPU caches, and record hashing), decoding and encoding 9-12%, ownership about 7% (the ring's md5, the owned set and expiry index), the node's own creates 10-14%, gossipsub, Ed25519 (4% to check, 1.5% to sign), noise and private-network encryption, yamux and TCP about 30% together, GC 2-5% of the main thread. Two kinds of step cost more. The first: fresh processes grow their heaps (with V8's --trace-gc, 3-4 mark-compacts per node while the old generation grew from about 20 to 45 MB, against 0-1 per later step) and compile their hot paths, so V8's helper threads took 3.7-6.6 us per record per process against 0.6-2.5 later (per-thread CPU from /proc). And those with a mark-compact of a 300-500 MB heap. A third kind is gone since 2026-12-07: steps in which anti-entropy's churn rule compared every bucket that never stopped changing during the fill (about 10, 30 and 70 s into it; 27k-185k summary entries served in the step, 2-4 us per record per process more). Those comparisons now ask only for the cells quiet on both sides for a settle period (docs/protocol/sync.md). Two pairs of throwaway 10-step fills, old and new code alternating: summary entries served over the fill 324k and 317k before, 0 and 369 after; CPU per record per process, mean of the 10 steps, 12.9 and 13.1 us before, 11.1 and 12.3 after; median of steps 2-10 12.6 and 11.4 before, 10.4 and 11.1 after. Tried on 2026-12-07, measured side by side with throwaway fills, and no change in CPU per record beyond the noise: bucket tables as open addressing over a tag array (kept for what it does change: 15-18 B less heap per room, lookups 1.2-1.5x and inserts into a store past 500k rooms 1.15x, store suite and a throwaway script), V8's --initial-old-space-size=256 (it moves the first step's mark-compacts to the fifth; docs/operations.md), --max-semi-space-size=32 and 64 (first step 12.9-14.7 against 11.6-14.7 us without, two pairs), --v8-pool-size=1, and a 10 ms gossip flush (530 instead of 420 records per batch). Removed before, in this order (figures in git history and earlier runs of this file): a received record kept as decoded instead of copied, one-pass encoders for room-batches and cell summaries, follow-up sessions that back off during a fill, one name lookup per create, cell summaries (steps from 200k to 1M 19-37 us before, 13-23 after), a one-pass room-batch decoder, rooms allocated in the old generation and bucket tables keyed by the name hash, and earlier removals (forwarded copies of every batch, the fast message id's hash of every payload, a Hash object per owner lookup, a yamux window update per message, an Ed25519 key import per signature, an exception per noise chunk). Decided against, with their figures: dropping the private network for a key bound into noise's handshake (xsalsa20 costs ~1.1 us per record per process; it keeps peer ids and handshakes from anyone without the cluster key), and unsigned gossip (signing and checking 6-8% of the main thread; IWANT answers come from peers other than the origin, so the signature is what proves a batch's origin).",
  },
  {
    suite: 'cluster',
    name: /^fill to 1M: slowest 100k step/,
    text: "Not met in this run, the slowest 100k step against the median: the slowest steps are those in which a node marks a 400-500 MB heap (see the CPU note above); no node was suspected. In the four runs of the morning of 2026-12-07 whose ratio was kept it measured 1.56, 1.66 (the committed run of 2c1c37c), 1.83 and 2.22, the slowest step each time one in which anti-entropy's churn rule also compared every bucket; since those comparisons leave out cells that are not quiet (2026-12-07) it measured 1.34, 1.16 and 1.12 in the three runs since.",
  },
  {
    suite: 'cluster',
    name: /^RSS per node, 1M rooms, at rest/,
    text: "Not met, RSS at 1M rooms: the largest node's V8 heap in use is 321 MiB (about 300 B per room, docs/operations.md, Memory); the rest is V8's reserved young generation and part-empty old-space pages, glibc's heap of freed network buffers, and the binary. What varies, between nodes of one run and between runs, is mostly V8's committed heap: in one throwaway 1M fill (2026-12-06) every node held 315-316 MiB in use after a full GC, while its heap total stayed at 342-466 MiB and RSS at rest at 539-686 MiB, moving with it (the non-heap rest was 197-220 MiB on every node). So old-space pages left part-empty by the fill decide whether the largest node is under 600: this suite measured 568, 656 and 686 MiB at rest in its last three runs. Fixed earlier: stored names and sids that were slices of whole gossip batches (about 95 MiB at 1M) and an expiry index of every room instead of the owned ones (about 105 MiB with the server's default).",
  },
  {
    suite: 'incident',
    name: /^roomring, .*: (p99 of successful calls|back to steady state)/,
    text: "Not met in this run, roomring's p99 or return to steady state: these vary from run to run on this machine (after the in-process warm-up, the whole-run p99 measured 40-80 ms and the return to steady 1-7 s over four runs); the slow seconds are the kill and isolated stalls of the processes sharing 2 cores (see the p99 chart), never failed calls.",
  },
  {
    suite: 'incident',
    name: /^roomring, .*: worst per-second p99/,
    text: "Not met in this run, roomring's worst per-second p99. Two causes were found and removed (docs/operations.md, Load balancing and failover, with the measurements): the survivor's ownership scan running right when the moved clients arrived (f3ddd5a: it starts a heartbeat interval after the ring change), and the survivor's V8 marking its heap 32-55 s later with 4 helper threads on the 2 shared cores (local nodes now run with --v8-pool-size=1). What remains: with the client policy the kill's second's tail is the ~10 calls (~1% of that second's 1,100) the kill caught, retried after the policy's back-off (uniform in [0, 50] ms, then [0, 100] ms; logged one by one in two runs, they ended 100-122 ms after they started, while the calls started after the move waited at most 72 ms), and any process sharing the 2 cores may stall one second.",
  },
];

function limitsOf(run: SuiteRun): string[] {
  const lines: string[] = [];
  for (const limit of LIMITS) {
    if (limit.suite !== run.suite) continue;
    const missed = run.results.some((r) => limit.name.test(r.name) && r.met === false);
    if (missed) lines.push(limit.text, '');
  }
  return lines;
}

function verdict(result: BenchResult): string {
  if (result.met === undefined) return '';
  return result.met ? 'met' : '**not met**';
}

export function renderReport(runs: SuiteRun[]): string {
  const lines: string[] = [
    '# Benchmarks',
    '',
    'Generated by `npx -y pnpm@12.4.2 bench` (all suites), `npx -y pnpm@12.4.2 bench:incident`',
    '(the incident replay alone) or `npx -y pnpm@12.4.2 bench -- --suite <name>` (one suite; the',
    'others keep their last figures). Each suite says when it ran.',
    'Do not edit by hand: the tables below are rewritten on every run.',
    '',
    `Machine of the last run: ${machine()}. These machines are shared and noisy: figures vary`,
    'by 10-20% between runs; targets are checked against the median of several rounds.',
    '',
  ];
  for (const run of runs) {
    lines.push(`## ${run.title}`, '', `Run at ${run.startedAt}.`, '');
    lines.push('| case | value | unit | target | verdict | note |', '|---|---:|---|---|---|---|');
    for (const r of run.results) {
      lines.push(
        `| ${r.name} | ${formatNumber(r.value)} | ${r.unit} | ${r.target ?? ''} | ${verdict(r)} | ${r.note ?? ''} |`,
      );
    }
    lines.push('');
    lines.push(...limitsOf(run));
    if (run.markdown) lines.push(...run.markdown, '');
  }
  return `${lines.join('\n')}\n`;
}
