/**
 * `pnpm bench`: runs the benchmark suites and regenerates docs/benchmarks.md.
 *
 * Each suite's results are saved as JSON under apps/bench/results/, and the report is
 * rendered from every saved suite, so re-running one suite (`pnpm bench -- --suite store`)
 * refreshes its table without losing the others.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult, SuiteOptions } from './harness.js';
import { renderReport, type SuiteRun } from './report.js';

interface SuiteOutput {
  results: BenchResult[];
  markdown: string[];
}

interface Suite {
  name: string;
  title: string;
  /** A suite returns its table rows, and optionally markdown (text, charts) shown under them. */
  load: () => Promise<{ run: (options: SuiteOptions) => Promise<BenchResult[] | SuiteOutput> }>;
  options?: SuiteOptions;
  /** Runs only when named (`--suite`, or `--hosts` for the incident replay), not with all. */
  onRequest?: boolean;
}

const SUITES: Suite[] = [
  { name: 'store', title: 'Store (micro)', load: () => import('./micro-store.js') },
  { name: 'ring', title: 'Ring (micro)', load: () => import('./micro-ring.js') },
  { name: 'protocol', title: 'Codec (micro)', load: () => import('./micro-protocol.js') },
  { name: 'client', title: 'Client library (micro)', load: () => import('./micro-client.js') },
  { name: 'server', title: 'Server (micro)', load: () => import('./micro-server.js') },
  { name: 'cli', title: 'CLI (micro)', load: () => import('./micro-cli.js') },
  {
    name: 'cluster',
    title: 'Cluster: 5 node processes, 3 regions, real libp2p on 127.0.0.1',
    load: () => import('./cluster.js'),
  },
  {
    name: 'hosts',
    title: 'Real hosts: 5 network namespaces, 3 regions, one seed address',
    load: () => import('./hosts.js'),
  },
  {
    name: 'scale',
    title: 'Scale (simulated): per-node cost and write spread against cluster size',
    load: async () => ({ run: (await import('./simulated.js')).runScale }),
    onRequest: true,
  },
  {
    name: 'swarm',
    title: 'Swarm: the randomized fault simulator',
    load: async () => ({ run: (await import('./simulated.js')).runSwarm }),
    onRequest: true,
  },
  {
    name: 'http',
    title: 'HTTP: CreateRoom under wrk, roomring and the database-backed baselines',
    load: () => import('./http.js'),
  },
  {
    name: 'incident',
    title: 'Incident replay: a region fails over, roomring against PostgreSQL + cache',
    load: () => import('./incident/replay.js'),
  },
  {
    name: 'incident-hosts',
    title: 'Incident replay on real hosts: roomring regions as network namespaces',
    load: () => import('./incident/replay.js'),
    options: { hosts: true },
    onRequest: true,
  },
];

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, '..', 'results');
const reportPath = join(here, '..', '..', '..', 'docs', 'benchmarks.md');

function parseArgs(argv: string[]): { suites: string[] } {
  const suites: string[] = [];
  let renderOnly = false;
  let hosts = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--render-only') {
      renderOnly = true;
    } else if (arg === '--hosts') {
      // `bench:incident -- --hosts`: the incident replay with roomring's regions on real hosts.
      hosts = true;
    } else if (arg === '--suite') {
      const value = argv[++i];
      if (!value) throw new Error('--suite needs a name');
      suites.push(...value.split(','));
    } else if (arg !== '--') {
      throw new Error(
        `unknown argument ${arg}; usage: bench [--suite ${SUITES.map((s) => s.name).join(',')}] [--hosts] [--render-only]`,
      );
    }
  }
  for (const s of suites) {
    if (!SUITES.some((suite) => suite.name === s)) throw new Error(`unknown suite ${s}`);
  }
  if (hosts) {
    if (!suites.every((s) => s === 'incident' || s === 'incident-hosts')) {
      throw new Error('--hosts applies to the incident replay only (bench:incident -- --hosts)');
    }
    suites.splice(0, suites.length, 'incident-hosts');
  }
  // --render-only: no suite runs; the report is rendered again from the saved results.
  if (renderOnly) return { suites: [] };
  return {
    suites: suites.length > 0 ? suites : SUITES.filter((s) => !s.onRequest).map((s) => s.name),
  };
}

async function main(): Promise<void> {
  const { suites } = parseArgs(process.argv.slice(2));
  mkdirSync(resultsDir, { recursive: true });
  for (const suite of SUITES.filter((s) => suites.includes(s.name))) {
    console.log(`\n== ${suite.title}`);
    const startedAt = new Date().toISOString();
    const output = await (await suite.load()).run(suite.options ?? { hosts: false });
    const { results, markdown } = Array.isArray(output)
      ? { results: output, markdown: [] }
      : output;
    console.table(results.map(({ suite: _s, ...r }) => r));
    const run: SuiteRun = {
      suite: suite.name,
      title: suite.title,
      startedAt,
      results,
      ...(markdown.length > 0 ? { markdown } : {}),
    };
    writeFileSync(join(resultsDir, `${suite.name}.json`), `${JSON.stringify(run, null, 2)}\n`);
  }
  const order = SUITES.map((s) => s.name);
  const runs = readdirSync(resultsDir)
    .filter((f) => f.endsWith('.json') && SUITES.some((s) => `${s.name}.json` === f))
    .map((f) => JSON.parse(readFileSync(join(resultsDir, f), 'utf8')) as SuiteRun)
    .sort((a, b) => order.indexOf(a.suite) - order.indexOf(b.suite));
  writeFileSync(reportPath, renderReport(runs));
  console.log(`\nwrote ${reportPath}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
