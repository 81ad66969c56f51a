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
    name: /^CPU per replicated record per process, first/,
    text: "Not met, CPU per replicated record: each of the 5 processes on 2 cores decodes, merges and hashes every record, and pays the transport for every message. By thread (side-by-side fills with a throwaway script, 2026-12-07, per-thread CPU from /proc): in the step from 100k to 200k rooms the main thread took 13.7-14.0 us per record per process, and V8's helper threads (GC, compilers) 2.7-3.2 us after the store change below, 3.6-4.4 before. Where the main thread goes (CPU profile of a receiver, built code, the step from 100k to 200k rooms): the receive path about a third (the store's merge 19%, ownership 5%, decoding 4.5%, the Ed25519 check of each message 3.3% and gossipsub around it 2-3%), the socket layers (private-network and noise encryption, yamux) about 10% each way, the node's own creates 10%, GC 7-9%, anti-entropy 5-8%. This figure's run-to-run spread (20 to 35 us for the same step minutes apart) hides a change of 10%, so the last changes were measured where they act. (1) Room-batches are decoded in one pass straight into records (packages/protocol/src/room-batch-fast.ts): alone, 510 to 430 ns per record; in a node during a 100k step, allocation fell from ~2.1 to ~1.75 KB per record (V8's sampling heap profiler). (2) The store's rooms are allocated in the old generation by V8 and its bucket tables are keyed by the name's hash (packages/store/src/incarnation.ts, name-table.ts): over the 5 nodes of a 2-step fill (--trace-gc-nvp), the young generation's collections promoted 136 instead of 265 MiB, paused the nodes 3.2 instead of 4.8 s and kept helper threads busy 2.2 instead of 6.1 s; helper-thread CPU per step fell 7-40% (two side-by-side pairs of 3 steps), the main thread's did not move beyond the spread, and neither did this figure (20.9 and 27.3 us in the run of 04:06, 20.1 and 27.3 in the one before). Alone, a merge into a store growing from 100k to 200k rooms costs ~1.8 us (the store suite above), against ~1.2 us into a fresh store of 20k rooms, which stays in the CPU caches (the ~0.6 us quoted before was that case, in a quieter hour). Decided against, with their figures: dropping the private network for a key bound into noise's handshake (xsalsa20 costs 0.71 us per 230 B record per pass, ~1.1 us per record per process; it keeps peer ids and handshakes away from anyone without the cluster key), and unsigned gossip (signing and checking 5-7% of the main thread; IWANT answers come from peers other than the origin, so the signature is what proves a batch's origin). Tried without a measurable change: --v8-pool-size=1 (three side-by-side pairs), --max-semi-space-size=32 and 64, --single-threaded-gc, --no-parallel-scavenge. Removed before: forwarded copies of every batch (46-48 against 29-35 us), anti-entropy comparing buckets still receiving gossip, the fast message id's hash of every payload, a Hash object per owner lookup, a yamux window-update write per message, an Ed25519 key import per signature, an exception noise built for every chunk (23.6 and 27.2 us to 16.9 and 24.1), the md5 of another region's room for its owner. A CPU profile of a receiver after these changes (usw-1 in the step from 100k to 200k rooms, 2026-12-07 06:29, the same throwaway script): the store took 24% of the samples, of which the bucket tables' Map lookups and inserts 9.5% (a new room's name is looked up once, then probed twice more to insert it) and making the new rooms 3.8%; 12% were idle. (3) Anti-entropy summarises only the differing cells of a bucket (16 per bucket, each with its own digest: docs/protocol/sync.md). Before, the cost grew with the store (19-37 us per step on the way to 1M): during a fill every bucket differs from a peer's by the gossip in flight, and a summary re-read every record of the bucket on both sides; in a profile of a receiver between 600k and 700k rooms, serving and reading summaries took 55% of its samples. Side-by-side fills to 800k rooms (two pairs, the same throwaway script, 2026-12-07): summary entries per 100k step 1k-150k against 300k-800k over the 5 nodes, median step 17-21.5 against 24-25 us. In this run the steps from 200k to 1M stay between 13 and 23 us (median 18.4, 27.3 at 04:06). What is left is spread thin (a profile of a receiver between 600k and 700k rooms after the change): the store 30% of samples (the merge 8%, making the new rooms 6%), ownership 5%, the bench's create loop 4%, GC 5%, gossipsub, encryption and yamux a few percent each. The first 100k also pays each fresh process's warm-up: V8's helper threads (compilers, GC) took 3.4-3.9 s over the 5 processes in the first step against 0.7-2.6 s in later ones, about 4 us of that step's figure.",
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
