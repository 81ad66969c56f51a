/**
 * `pnpm sim:swarm`: runs swarm seeds (run.ts) and reports. Usage:
 *
 *   pnpm sim:swarm -- --seeds 200            seeds 1..200 (the CI set), 2 worker processes
 *   pnpm sim:swarm -- --seeds 10000 --from 1 --jobs 2
 *   pnpm sim:swarm -- --seed 1234            replay one seed and print its whole trace
 *
 * Exit status 1 when a seed fails: it prints the violation, the last steps before it and the
 * one command that replays it.
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { SwarmSummary } from '../reports.js';
import { runSeed, type SeedResult } from './run.js';

interface Args {
  seeds: number;
  from: number;
  seed: number | undefined;
  jobs: number;
  worker: boolean;
  nodesMax: number | undefined;
  stopOnFailure: boolean;
  /** Writes the run's summary (SwarmSummary) to this file as JSON. */
  json: string | undefined;
}

const USAGE =
  'usage: sim:swarm [--seeds N] [--from S] [--jobs J] [--nodes-max N] [--keep-going] [--json F] | --seed S';

function parseArgs(argv: readonly string[]): Args {
  const args: Args = {
    seeds: 200,
    from: 1,
    seed: undefined,
    jobs: Math.min(2, availableParallelism()),
    worker: false,
    nodesMax: undefined,
    stopOnFailure: true,
    json: undefined,
  };
  const list = argv.filter((a) => a !== '--');
  for (let i = 0; i < list.length; i++) {
    const flag = list[i]!;
    const value = (): number => {
      const n = Number(list[++i]);
      if (!Number.isSafeInteger(n) || n < 0)
        throw new Error(`${flag} needs a whole number\n${USAGE}`);
      return n;
    };
    if (flag === '--seeds') args.seeds = value();
    else if (flag === '--from') args.from = value();
    else if (flag === '--seed') args.seed = value();
    else if (flag === '--jobs') args.jobs = Math.max(1, value());
    else if (flag === '--nodes-max') args.nodesMax = Math.max(3, value());
    else if (flag === '--keep-going') args.stopOnFailure = false;
    else if (flag === '--json') {
      args.json = list[++i];
      if (!args.json) throw new Error(`--json needs a file\n${USAGE}`);
    } else if (flag === '--worker') args.worker = true;
    else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  return args;
}

const REPLAY = (seed: number): string => `npx -y pnpm@12.4.2 sim:swarm -- --seed ${seed}`;

function report(result: SeedResult): string {
  return [
    `seed ${result.seed} FAILED: ${result.violation}`,
    `  cluster: ${result.stats.nodes} nodes in ${result.stats.regions} regions, ${result.stats.calls} calls, ${result.stats.faults} faults, ${result.stats.virtualMs} virtual ms`,
    '  last steps:',
    ...result.trace.map((line) => `    ${line}`),
    `  replay: ${REPLAY(result.seed)}`,
  ].join('\n');
}

/** A worker process: runs the seeds it is sent, answers one JSON line each. */
async function worker(args: Args): Promise<void> {
  process.on('message', async (message: { seed?: number; done?: boolean }) => {
    if (message.done) process.exit(0);
    if (message.seed === undefined) return;
    const result = await runSeed(message.seed, { nodesMax: args.nodesMax });
    process.send?.(result);
  });
}

async function replay(seed: number, args: Args): Promise<number> {
  const result = await runSeed(seed, { traceAll: true, nodesMax: args.nodesMax });
  for (const line of result.trace) console.log(line);
  if (!result.ok) {
    console.log(report({ ...result, trace: result.trace.slice(-40) }));
    return 1;
  }
  console.log(
    `seed ${seed} ok: ${result.stats.nodes} nodes, ${result.stats.calls} calls (${result.stats.acked} rooms acknowledged), ${result.stats.faults} faults, converged ${result.stats.convergedAfterMs} ms after the faults stopped (bound ${result.stats.convergenceBoundMs} ms)`,
  );
  return 0;
}

async function many(args: Args): Promise<number> {
  const started = Date.now();
  const seeds = Array.from({ length: args.seeds }, (_, i) => args.from + i);
  const failures: SeedResult[] = [];
  let done = 0;
  let worstRatio = 0;
  let worstSeed = 0;
  let calls = 0;
  let acked = 0;
  let faults = 0;
  let large = 0;
  let next = 0;
  const script = fileURLToPath(import.meta.url);
  const jobs = Math.min(args.jobs, seeds.length);
  await new Promise<void>((resolve, reject) => {
    let live = jobs;
    for (let j = 0; j < jobs; j++) {
      const child = fork(
        script,
        ['--worker', ...(args.nodesMax ? ['--nodes-max', String(args.nodesMax)] : [])],
        {
          execArgv: process.execArgv,
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        },
      );
      const feed = (): void => {
        if (next < seeds.length && (failures.length === 0 || !args.stopOnFailure)) {
          child.send({ seed: seeds[next++] });
        } else child.send({ done: true });
      };
      child.on('message', (result: SeedResult) => {
        done++;
        calls += result.stats.calls;
        acked += result.stats.acked;
        faults += result.stats.faults;
        if (result.stats.largeCluster) large++;
        if (result.ok) {
          const ratio = result.stats.convergedAfterMs / result.stats.convergenceBoundMs;
          if (ratio > worstRatio) {
            worstRatio = ratio;
            worstSeed = result.seed;
          }
        } else {
          failures.push(result);
          console.log(report(result));
        }
        if (done % 100 === 0) {
          const elapsedS = (Date.now() - started) / 1000;
          console.log(
            `${done}/${seeds.length} seeds, ${failures.length} failed, ${elapsedS.toFixed(0)} s`,
          );
        }
        feed();
      });
      child.on('exit', (code) => {
        if (code !== 0 && code !== null) reject(new Error(`worker exited with ${code}`));
        if (--live === 0) resolve();
      });
      feed();
    }
  });
  const elapsedS = (Date.now() - started) / 1000;
  const perHour = Math.round((done / elapsedS) * 3600);
  console.log(
    `swarm: ${done} seeds (${args.from}..${args.from + done - 1}), ${failures.length} failed, ` +
      `${calls} calls, ${faults} faults, ${elapsedS.toFixed(1)} s wall with ${jobs} job(s), ` +
      `${perHour} seeds/hour; slowest convergence ${(worstRatio * 100).toFixed(0)}% of its bound (seed ${worstSeed})`,
  );
  for (const failure of failures)
    console.log(`failed: seed ${failure.seed}: ${REPLAY(failure.seed)}`);
  if (args.json !== undefined) {
    const summary: SwarmSummary = {
      from: args.from,
      seeds: done,
      failed: failures.map((f) => f.seed),
      calls,
      acked,
      faults,
      wallS: Math.round(elapsedS),
      jobs,
      seedsPerHour: perHour,
      worstConvergenceRatio: Math.round(worstRatio * 100) / 100,
      worstConvergenceSeed: worstSeed,
      largeClusterSeeds: large,
    };
    writeFileSync(args.json, `${JSON.stringify(summary, null, 2)}\n`);
  }
  return failures.length === 0 ? 0 : 1;
}

const args = (() => {
  try {
    return parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
})();
if (args.worker) await worker(args);
else process.exitCode = args.seed !== undefined ? await replay(args.seed, args) : await many(args);
