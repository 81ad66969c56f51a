/**
 * The incident replay (`pnpm bench:incident`): incident-report.txt's failure, run against
 * roomring and against the design that failed, each with two kinds of client.
 *
 * Three regions take steady CreateRoom load: us-east 10x the others (1,000 calls/s against
 * 100/s), 95% of calls for rooms that exist, 5% new rooms. At KILL_AT_S every server of
 * us-east gets SIGKILL and its clients are sent to us-west at once (as DNS/GSLB failover
 * would), so us-west's load jumps elevenfold. Each design runs twice: clients that retry at
 * once on timeout (the incident's) and clients using @roomring/client's policy (full-jitter
 * back-off, 10% retry budget).
 *
 * - roomring: one node per region (3 processes, `--min-acks 1`): us-west already holds every
 *   us-east room, so failover changes nothing but the load.
 * - baseline: the incident's design, one server per region (Twirp CreateRoom, same auth) with
 *   an in-memory cache warm for its own region's rooms, in front of one shared PostgreSQL.
 *   The database gets the handicap of a remote shared one: DB_RTT_MS of round trip per query
 *   spent holding one of DB_POOL_SIZE pooled connections per server (so it serves at most
 *   ~DB_POOL_SIZE / (DB_RTT_MS + query time) = ~450 queries/s per server), and the API
 *   times out after API_TIMEOUT_MS while the query goes on (the incident's ordering of
 *   timeouts).
 *
 * Recorded per second (from the load generator, and the baseline servers' /stats): calls
 * started, attempts, successes, failures, timeouts, p50/p99, database queries; at the end, the
 * acknowledged new rooms that no surviving replica (or the database) holds.
 *
 * `--hosts` (`pnpm bench:incident -- --hosts`, suite `incident-hosts`): roomring's three
 * regions run as three hosts of @roomring/hosts (network namespaces, the built server with
 * the production flags and profile lan) instead of three processes on 127.0.0.1; the load
 * generator calls them over their management links. Same runs, same report, in its own
 * section and charts (docs/img/incident-hosts-*.svg).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type LocalNode, startLocalCluster, stopLocalCluster } from '@roomring/cli';
import { createHostCluster, type HostCluster, hostsUnavailableReason } from '@roomring/hosts';
import pg from 'pg';
import { ensureSchema, seedRooms } from '../baselines/index.js';
import { renderLineChart } from '../chart.js';
import { atMost, type BenchResult, formatNumber, type SuiteOptions } from '../harness.js';
import { ensureTools, type ServiceHandle, startPostgres } from '../infra/services.js';
import {
  BENCH_API_KEY,
  BENCH_API_SECRET,
  benchToken,
  fillRooms,
  roomNames,
  type Spawned,
  spawnBaseline,
  stopChild,
  tsEntry,
} from '../processes.js';
import type { DoneStats, LoadConfig, SecondStats } from './load-core.js';

const REGIONS = ['us-east', 'us-west', 'eu-central'] as const;
const FAILED = 'us-east';
const TAKEOVER = 'us-west';
/** Steady calls per second per region: the failing region carries 10x the takeover's load. */
const RATE: Readonly<Record<(typeof REGIONS)[number], number>> = {
  'us-east': 1_000,
  'us-west': 100,
  'eu-central': 100,
};
/** Rooms each region's clients use. us-east's are what us-west's baseline cache lacks. */
const EXISTING: Readonly<Record<(typeof REGIONS)[number], number>> = {
  'us-east': 10_000,
  'us-west': 2_000,
  'eu-central': 2_000,
};
const NEW_FRACTION = 0.05;
const DURATION_S = 75;
const KILL_AT_S = 15;
/** Unrecorded load before each run (same rates), so the run starts from a steady state:
 *  JIT-compiled code, open connections, a cluster done with the fill's replication. */
const WARMUP_S = 5;
/** Steady again = this many consecutive seconds with no failure and p99 <= P99_TARGET_MS. */
const STEADY_WINDOW_S = 5;
/** In-flight calls per load generator before it stops starting more (counted as shed). */
const IN_FLIGHT_MAX = 20_000;
/** The incident's API wait: one attempt of an at-once client, and the baseline's timeout. */
const API_TIMEOUT_MS = 1_000;
const MAX_ATTEMPTS = 4;
/** Policy clients' per-call deadline: the attempts of an at-once client take at most 4 s too. */
const CALL_DEADLINE_MS = 4_000;
/** The baseline database's handicap: a remote shared database's round trip and small pool. */
const DB_RTT_MS = 20;
const DB_POOL_SIZE = 10;
/** Scheduling priority of the load generator (nice value; lower runs first). */
const LOAD_PRIORITY = -10;
/** Time after the run the survivors get to hold every acknowledged room (anti-entropy). */
const CONVERGE_TIMEOUT_MS = 20_000;
const ROOMRING_HTTP_PORT = 18_880;
const ROOMRING_P2P_PORT = 18_890;
/** roomring's targets (issue #6; the failover second's, issue #14: the second right after
 *  the kill may reach WORST_SECOND_TARGET_MS, every other second P99_TARGET_MS). */
const P99_TARGET_MS = 50;
const WORST_SECOND_TARGET_MS = 100;
/** The second right after the kill (the load generator counts seconds from 1). */
const KILL_SECOND = KILL_AT_S + 1;
const ERROR_RATE_TARGET = 0.001;
const AMPLIFICATION_TARGET = 1.05;

type Design = 'roomring' | 'baseline';
type Mode = LoadConfig['mode'];

export interface IncidentSecond extends SecondStats {
  dbQueries: number;
}

/** The load generator's totals of a run, plus what the replay measured around it. */
export interface IncidentRun
  extends Pick<DoneStats, 'calls' | 'attempts' | 'ok' | 'failed' | 'timedOut' | 'shed'> {
  design: Design;
  mode: Mode;
  seconds: IncidentSecond[];
  /** Acknowledged new rooms checked after the run (warm-up included). */
  ackedNew: number;
  lostAcked: number;
  dbQueries: number;
  /** Run-wide percentiles of successful calls (from the load generator). */
  p50Ms: number | null;
  p99Ms: number | null;
  p99AfterKillMs: number | null;
}

const here = dirname(fileURLToPath(import.meta.url));
const LOAD_MAIN = join(here, 'load.ts');
const log = (line: string): void => console.log(`  [incident] ${line}`);

function loadConfig(
  mode: Mode,
  urls: ReadonlyMap<string, string>,
  ackedPath: string,
  seed: number,
): LoadConfig {
  return {
    mode,
    // node:http, not fetch: fetch costs 3-4x more CPU per call, and on 2 cores the load
    // generator must not be what saturates.
    transport: 'node-http',
    apiKey: BENCH_API_KEY,
    apiSecret: BENCH_API_SECRET,
    seed,
    durationS: DURATION_S,
    warmupS: WARMUP_S,
    inFlightMax: IN_FLIGHT_MAX,
    attemptTimeoutMs: API_TIMEOUT_MS,
    maxAttempts: MAX_ATTEMPTS,
    callDeadlineMs: CALL_DEADLINE_MS,
    ackedPath,
    regions: REGIONS.map((name) => ({
      name,
      url: urls.get(name)!,
      ratePerSec: RATE[name],
      existing: { prefix: `${name}-room-`, count: EXISTING[name] },
      newFraction: NEW_FRACTION,
      newPrefix: `${name}-new-${mode}-`,
    })),
  };
}

interface RunHooks {
  /** Kills every server of the failed region. */
  kill(): void;
  /** Database queries so far (monotonic), or 0 for roomring. */
  dbQueries(): Promise<number>;
}

/** Runs the load generator (WARMUP_S unrecorded, then the run); at KILL_AT_S calls `kill`
 *  and fails its clients over. */
async function drive(config: LoadConfig, hooks: RunHooks, dir: string) {
  const configPath = join(dir, `load-${config.mode}.json`);
  writeFileSync(configPath, JSON.stringify(config));
  const child: ChildProcess = spawn(process.execPath, [...tsEntry(LOAD_MAIN), configPath], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  // The clients stand for many machines: when the servers under test overload the 2 cores,
  // the load generator must still start calls and time them out on time, or its own lag
  // would show as server latency. A higher priority needs root; without it, it runs as is.
  try {
    if (child.pid !== undefined) setPriority(child.pid, LOAD_PRIORITY);
  } catch {
    log('could not raise the load generator priority (not root): client lag may add latency');
  }
  const seconds: IncidentSecond[] = [];
  let done: Record<string, number | null> | undefined;
  let lastDb = await hooks.dbQueries();
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const message = JSON.parse(line) as { type: string } & Record<string, unknown>;
    if (message.type === 'recording') {
      lastDb = await hooks.dbQueries(); // the warm-up's queries are not the run's
    } else if (message.type === 'second') {
      const stats = message as unknown as SecondStats;
      const db = await hooks.dbQueries();
      seconds.push({ ...stats, dbQueries: db - lastDb });
      lastDb = db;
      if (stats.t === KILL_AT_S) {
        hooks.kill();
        child.stdin!.write(`${JSON.stringify({ cmd: 'failover', from: FAILED, to: TAKEOVER })}\n`);
        log(`t=${stats.t}s: killed ${FAILED}, its clients now call ${TAKEOVER}`);
      } else if (stats.t % 15 === 0) {
        log(
          `t=${stats.t}s: ${stats.ok} ok, ${stats.failed + stats.timedOut + stats.shed} failed, p99 ${stats.p99Ms ?? '-'} ms, ${seconds.at(-1)!.dbQueries} DB queries`,
        );
      }
    } else if (message.type === 'done') {
      done = message as unknown as Record<string, number | null>;
    }
  }
  const code = await new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (c) => resolve(c));
  });
  if (code !== 0 || !done) throw new Error(`load generator exited with ${code}`);
  return { seconds, done };
}

function readAcked(path: string): Map<string, string> {
  const acked = new Map<string, string>();
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return acked; // no acknowledged new room: the load generator creates the file lazily
  }
  for (const line of text.split('\n')) {
    const [name, sid] = line.split('\t');
    if (name && sid) acked.set(name, sid);
  }
  return acked;
}

/** Acknowledged rooms no survivor holds with the acknowledged sid, polling until the
 *  survivors agree or CONVERGE_TIMEOUT_MS passes (anti-entropy repairs what gossip lost). */
async function lostOnSurvivors(
  survivors: readonly string[],
  acked: ReadonlyMap<string, string>,
): Promise<number> {
  const token = benchToken();
  const names = [...acked.keys()];
  const deadline = Date.now() + CONVERGE_TIMEOUT_MS;
  for (;;) {
    let held: Map<string, string>[];
    try {
      held = await Promise.all(survivors.map((url) => listSids(url, token, names)));
    } catch (error) {
      // A survivor still shedding the run's backlog (429/503) answers later; past the
      // deadline the error stands.
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
      continue;
    }
    const lost = names.filter((n) => !held.some((h) => h.get(n) === acked.get(n))).length;
    const partial = names.filter((n) => !held.every((h) => h.get(n) === acked.get(n))).length;
    if (partial === 0 || Date.now() > deadline) return lost;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function listSids(
  url: string,
  token: string,
  names: readonly string[],
): Promise<Map<string, string>> {
  const sids = new Map<string, string>();
  for (let i = 0; i < names.length; i += 1_000) {
    const response = await fetch(`${url}/twirp/livekit.RoomService/ListRooms`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ names: names.slice(i, i + 1_000) }),
    });
    if (!response.ok) throw new Error(`ListRooms at ${url}: HTTP ${response.status}`);
    const body = (await response.json()) as { rooms?: Array<{ name: string; sid: string }> };
    for (const room of body.rooms ?? []) sids.set(room.name, room.sid);
  }
  return sids;
}

function summarize(
  design: Design,
  mode: Mode,
  seconds: IncidentSecond[],
  done: Record<string, number | null>,
  lostAcked: number,
  ackedChecked: number,
): IncidentRun {
  return {
    design,
    mode,
    seconds,
    calls: done.calls ?? 0,
    attempts: done.attempts ?? 0,
    ok: done.ok ?? 0,
    failed: done.failed ?? 0,
    timedOut: done.timedOut ?? 0,
    shed: done.shed ?? 0,
    ackedNew: ackedChecked,
    p50Ms: done.p50Ms ?? null,
    p99Ms: done.p99Ms ?? null,
    p99AfterKillMs: done.p99AfterFailoverMs ?? null,
    lostAcked,
    dbQueries: seconds.reduce((sum, s) => sum + s.dbQueries, 0),
  };
}

/** roomring's nodes for one run: processes on 127.0.0.1, or hosts of @roomring/hosts. */
interface RoomringNodes {
  /** Region -> the URL its clients call. */
  urls: Map<string, string>;
  killFailedRegion(): void;
  stop(): Promise<void>;
}

async function localNodes(): Promise<RoomringNodes> {
  const nodes: LocalNode[] = await startLocalCluster({
    regions: REGIONS,
    nodesPerRegion: 1,
    basePort: ROOMRING_HTTP_PORT,
    p2pBasePort: ROOMRING_P2P_PORT,
    fromSource: false,
    log,
    // The replay's rooms must outlive the run: no stats reports come in a benchmark.
    serverArgs: ['--keep-unreported-rooms'],
  });
  return {
    urls: new Map(nodes.map((n) => [n.region, n.url])),
    killFailedRegion: () => {
      for (const n of nodes.filter((node) => node.region === FAILED)) n.process.kill('SIGKILL');
    },
    stop: () => stopLocalCluster(nodes),
  };
}

async function hostNodes(): Promise<RoomringNodes> {
  // One host per region, the first every host's seed; the bench's key pair, so the load
  // generator's tokens work as against the local cluster.
  const cluster: HostCluster = await createHostCluster({
    hosts: REGIONS.map((region) => ({ nodeId: `${region}-1`, region })),
    apiKey: BENCH_API_KEY,
    apiSecret: BENCH_API_SECRET,
    log,
  });
  try {
    // Every node connected to every other before the fill, as the local cluster's /readyz.
    await cluster.untilFullMesh(30_000);
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
  return {
    urls: new Map(cluster.hosts.map((h) => [h.region, h.url])),
    killFailedRegion: () => {
      for (const h of cluster.hosts.filter((host) => host.region === FAILED)) {
        cluster.kill(h.nodeId).catch((error: unknown) => log(`kill of ${h.nodeId}: ${error}`));
      }
    },
    stop: () => cluster.destroy(),
  };
}

async function runRoomring(
  mode: Mode,
  dir: string,
  seed: number,
  options: SuiteOptions,
): Promise<IncidentRun> {
  const token = benchToken();
  let nodes: RoomringNodes | undefined;
  try {
    nodes = options.hosts ? await hostNodes() : await localNodes();
    const { urls } = nodes;
    log(`roomring/${mode}: creating the regions' rooms`);
    await Promise.all(
      REGIONS.map((r) => fillRooms(urls.get(r)!, token, roomNames(`${r}-room-`, EXISTING[r]))),
    );
    const ackedPath = join(dir, `acked-roomring-${mode}.tsv`);
    const { seconds, done } = await drive(
      loadConfig(mode, urls, ackedPath, seed),
      { kill: () => nodes?.killFailedRegion(), dbQueries: async () => 0 },
      dir,
    );
    const survivors = REGIONS.filter((r) => r !== FAILED).map((r) => urls.get(r)!);
    const acked = readAcked(ackedPath);
    const lost = await lostOnSurvivors(survivors, acked);
    return summarize('roomring', mode, seconds, done, lost, acked.size);
  } finally {
    await nodes?.stop();
  }
}

async function runBaseline(
  mode: Mode,
  dir: string,
  seed: number,
  db: ServiceHandle,
): Promise<IncidentRun> {
  const servers = new Map<string, Spawned>();
  try {
    for (const region of REGIONS) {
      servers.set(
        region,
        await spawnBaseline(
          {
            backend: 'pg',
            dbUrl: db.url,
            poolSize: DB_POOL_SIZE,
            rttMs: DB_RTT_MS,
            requestTimeoutMs: API_TIMEOUT_MS,
            warmPrefix: `${region}-room-`,
          },
          `baseline ${region}`,
        ),
      );
    }
    const urls = new Map([...servers].map(([region, s]) => [region, s.url]));
    const ackedPath = join(dir, `acked-baseline-${mode}.tsv`);
    // Monotonic query counters per server; a killed server keeps its last value.
    const queries = new Map<string, number>(REGIONS.map((r) => [r, 0]));
    const alive = new Set<string>(REGIONS);
    const { seconds, done } = await drive(
      loadConfig(mode, urls, ackedPath, seed),
      {
        kill: () => {
          alive.delete(FAILED);
          servers.get(FAILED)!.process.kill('SIGKILL');
        },
        dbQueries: async () => {
          await Promise.all(
            [...alive].map(async (region) => {
              try {
                const response = await fetch(`${urls.get(region)}/stats`, {
                  signal: AbortSignal.timeout(2_000),
                });
                const stats = (await response.json()) as { dbQueries: number };
                queries.set(region, stats.dbQueries);
              } catch {
                // a server too busy to answer keeps its last count for this second
              }
            }),
          );
          return [...queries.values()].reduce((a, b) => a + b, 0);
        },
      },
      dir,
    );
    const acked = readAcked(ackedPath);
    const lost = await lostInDatabase(db.url, acked);
    return summarize('baseline', mode, seconds, done, lost, acked.size);
  } finally {
    await Promise.all([...servers.values()].map((s) => stopChild(s.process)));
  }
}

async function lostInDatabase(url: string, acked: ReadonlyMap<string, string>): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const names = [...acked.keys()];
    const result = await client.query<{ name: string; sid: string }>(
      'SELECT name, sid FROM rooms WHERE name = ANY($1::text[])',
      [names],
    );
    const stored = new Map(result.rows.map((r) => [r.name, r.sid]));
    return names.filter((n) => stored.get(n) !== acked.get(n)).length;
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------
// Analysis and report

export interface RunFigures {
  errorRate: number;
  amplification: number;
  /** Attempts per call among calls started after the kill. */
  amplificationAfterKill: number;
  p99WorstMs: number;
  /** The second of p99WorstMs. */
  p99WorstAt: number;
  /** The worst per-second p99 but the kill's second's. */
  p99WorstOtherMs: number;
  p99MedianAfterKillMs: number;
  /** Seconds from the kill until every later second is healthy; null: not within the run. */
  recoveryS: number | null;
  dbQueriesAfterKill: number;
}

function isHealthy(s: IncidentSecond): boolean {
  return s.failed + s.timedOut + s.shed === 0 && (s.p99Ms ?? 0) <= P99_TARGET_MS;
}

export function figures(run: IncidentRun): RunFigures {
  const after = run.seconds.filter((s) => s.t > KILL_AT_S);
  const afterP99 = after
    .map((s) => s.p99Ms)
    .filter((v): v is number => v !== null)
    .sort((a, b) => a - b);
  let recoveryS: number | null = null;
  for (let i = 0; i + STEADY_WINDOW_S <= after.length; i++) {
    if (after.slice(i, i + STEADY_WINDOW_S).every(isHealthy)) {
      recoveryS = after[i]!.t - 1 - KILL_AT_S;
      break;
    }
  }
  let p99WorstMs = 0;
  let p99WorstAt = 0;
  let p99WorstOtherMs = 0;
  for (const s of run.seconds) {
    if (s.p99Ms === null) continue;
    if (s.p99Ms > p99WorstMs) [p99WorstMs, p99WorstAt] = [s.p99Ms, s.t];
    if (s.t !== KILL_SECOND) p99WorstOtherMs = Math.max(p99WorstOtherMs, s.p99Ms);
  }
  const startedAfter = after.reduce((sum, s) => sum + s.callsStarted, 0);
  const attemptsAfter = after.reduce((sum, s) => sum + s.attempts, 0);
  return {
    errorRate:
      run.calls + run.shed === 0
        ? 0
        : (run.failed + run.timedOut + run.shed) / (run.calls + run.shed),
    amplification: run.calls === 0 ? 0 : run.attempts / run.calls,
    amplificationAfterKill: startedAfter === 0 ? 0 : attemptsAfter / startedAfter,
    p99WorstMs,
    p99WorstAt,
    p99WorstOtherMs,
    p99MedianAfterKillMs: afterP99[Math.floor(afterP99.length / 2)] ?? 0,
    recoveryS,
    dbQueriesAfterKill: after.reduce((sum, s) => sum + s.dbQueries, 0),
  };
}

const LABEL: Readonly<Record<Design, string>> = {
  roomring: 'roomring',
  baseline: 'PostgreSQL + cache',
};
const MODE_LABEL: Readonly<Record<Mode, string>> = {
  'at-once': 'retry at once',
  policy: 'client policy',
};
const COLOR: Readonly<Record<Design, string>> = { roomring: '#0072B2', baseline: '#D55E00' };

function runLabel(run: IncidentRun): string {
  return `${LABEL[run.design]}, ${MODE_LABEL[run.mode]}`;
}

function resultsOf(suite: string, run: IncidentRun, f: RunFigures): BenchResult[] {
  const name = (what: string) => `${runLabel(run)}: ${what}`;
  const target = run.design === 'roomring';
  const pct = (v: number) => v * 100;
  return [
    {
      suite,
      name: name('p99 of successful calls, whole run'),
      value: run.p99Ms ?? 0,
      unit: 'ms',
      ...(target ? atMost(run.p99Ms ?? 0, P99_TARGET_MS) : {}),
      note: `p50 ${formatNumber(run.p50Ms ?? 0)} ms; p99 of calls after the kill ${formatNumber(run.p99AfterKillMs ?? 0)} ms`,
    },
    {
      suite,
      name: name('worst per-second p99'),
      value: f.p99WorstMs,
      unit: 'ms',
      ...(target ? atMost(f.p99WorstMs, WORST_SECOND_TARGET_MS) : {}),
      note: `second ${f.p99WorstAt}${f.p99WorstAt === KILL_SECOND ? ` (the kill at the end of second ${KILL_AT_S})` : ''}; median second after the kill: ${formatNumber(f.p99MedianAfterKillMs)} ms`,
    },
    {
      suite,
      name: name('worst per-second p99 of the other seconds'),
      value: f.p99WorstOtherMs,
      unit: 'ms',
      ...(target ? atMost(f.p99WorstOtherMs, P99_TARGET_MS) : {}),
      note: `every second but the kill's (second ${KILL_SECOND})`,
    },
    {
      suite,
      name: name('calls failed or timed out'),
      value: pct(f.errorRate),
      unit: '%',
      ...(target ? atMost(pct(f.errorRate), pct(ERROR_RATE_TARGET)) : {}),
      note: `${formatNumber(run.failed)} failed, ${formatNumber(run.timedOut)} timed out, ${formatNumber(run.shed)} not started (client full) of ${formatNumber(run.calls)} calls`,
    },
    {
      suite,
      name: name('retry amplification (attempts per call)'),
      value: f.amplification,
      unit: 'x',
      ...(target ? atMost(f.amplification, AMPLIFICATION_TARGET) : {}),
      note: `${formatNumber(f.amplificationAfterKill)}x for calls started after the kill`,
    },
    {
      suite,
      name: name('database queries'),
      value: run.dbQueries,
      unit: 'queries',
      ...(target ? atMost(run.dbQueries, 0) : {}),
      note:
        run.design === 'roomring'
          ? 'roomring has no database'
          : `${formatNumber(f.dbQueriesAfterKill)} after the kill`,
    },
    {
      suite,
      name: name('back to steady state after the kill'),
      value: f.recoveryS ?? DURATION_S - KILL_AT_S,
      unit: 's',
      ...(target ? { target: '<= 5', met: f.recoveryS !== null && f.recoveryS <= 5 } : {}),
      note:
        f.recoveryS === null
          ? `more: not back within the ${DURATION_S - KILL_AT_S} s after the kill`
          : `then ${STEADY_WINDOW_S} s in a row with no failure and p99 <= ${P99_TARGET_MS} ms`,
    },
    {
      suite,
      name: name('acknowledged new rooms lost'),
      value: run.lostAcked,
      unit: 'rooms',
      ...(target ? atMost(run.lostAcked, 0) : {}),
      note: `of ${formatNumber(run.ackedNew)} acknowledged new rooms`,
    },
  ];
}

interface ChartSpec {
  file: string;
  title: string;
  yLabel: string;
  value: (s: IncidentSecond) => number | null;
  log?: boolean;
  runs?: (run: IncidentRun) => boolean;
}

const CHARTS: readonly ChartSpec[] = [
  {
    file: 'incident-ok.svg',
    title: 'Successful CreateRoom calls per second',
    yLabel: 'calls/s',
    value: (s) => s.ok,
  },
  {
    file: 'incident-p99.svg',
    title: 'p99 latency of successful calls, per second (log scale)',
    yLabel: 'ms',
    value: (s) => s.p99Ms,
    log: true,
  },
  {
    file: 'incident-errors.svg',
    title: 'Calls failed or timed out per second',
    yLabel: 'calls/s',
    value: (s) => s.failed + s.timedOut + s.shed,
  },
  {
    file: 'incident-attempts.svg',
    title: 'HTTP attempts sent per second (calls + retries)',
    yLabel: 'attempts/s',
    value: (s) => s.attempts,
  },
  {
    file: 'incident-db.svg',
    title: 'Database queries per second (baseline; roomring has none)',
    yLabel: 'queries/s',
    value: (s) => s.dbQueries,
    runs: (run) => run.design === 'baseline',
  },
];

function writeCharts(runs: readonly IncidentRun[], imgDir: string, prefix: string): string[] {
  mkdirSync(imgDir, { recursive: true });
  const lines: string[] = [];
  for (const chart of CHARTS) {
    const svg = renderLineChart({
      title: chart.title,
      xLabel: 'seconds since the load started',
      yLabel: chart.yLabel,
      yScale: chart.log ? 'log' : 'linear',
      markers: [{ x: KILL_AT_S, label: `${FAILED} killed` }],
      series: runs
        .filter((run) => chart.runs?.(run) ?? true)
        .map((run) => ({
          name: runLabel(run),
          color: COLOR[run.design],
          dashed: run.mode === 'at-once',
          points: run.seconds.map((s) => [s.t, chart.value(s)] as const),
        })),
    });
    const file = chart.file.replace(/^incident-/, `${prefix}-`);
    writeFileSync(join(imgDir, file), svg);
    lines.push(`![${chart.title}](img/${file})`, '');
  }
  return lines;
}

function describe(runs: readonly IncidentRun[], options: SuiteOptions): string[] {
  const lines = [
    ...(options.hosts
      ? [
          'roomring runs on real hosts here: one network namespace per region (@roomring/hosts), each running the built server with the production flags (`--http-host 0.0.0.0 --advertise-url`, `--p2p-host 0.0.0.0`, one seed address, profile lan, `--min-acks 1`); the load generator calls each over its management link. The baseline is unchanged (its regions share one database on 127.0.0.1).',
          '',
        ]
      : []),
    `Setup: 3 regions (${REGIONS.map((r) => `${r} ${formatNumber(RATE[r])} calls/s`).join(', ')}),`,
    `${(1 - NEW_FRACTION) * 100}% of calls for existing rooms (${REGIONS.map((r) => `${formatNumber(EXISTING[r])} in ${r}`).join(', ')}), ${NEW_FRACTION * 100}% new rooms.`,
    `Each run starts after ${WARMUP_S} s of unrecorded load at the same rates. At t=${KILL_AT_S} s every server of ${FAILED} gets SIGKILL and its clients call ${TAKEOVER} from then on; the load runs ${DURATION_S} s.`,
    `"Back to steady" counts the seconds from the kill until ${STEADY_WINDOW_S} seconds in a row have no failed call and p99 <= ${P99_TARGET_MS} ms; "lost" counts acknowledged new rooms (warm-up included) that no survivor (roomring) or the database (baseline) holds with the acknowledged sid.`,
    `At-once clients retry immediately on a timeout (${formatNumber(API_TIMEOUT_MS)} ms per attempt), a 5xx, 408 or 429, up to ${MAX_ATTEMPTS} attempts;`,
    `policy clients are @roomring/client (full-jitter back-off, 10% retry budget, ${formatNumber(CALL_DEADLINE_MS)} ms deadline, ${MAX_ATTEMPTS} attempts).`,
    `All clients live in one load-generator process (open loop: calls start at the set rate whatever the answers, at most ${formatNumber(IN_FLIGHT_MAX)} in flight) running at nice ${LOAD_PRIORITY}, so that servers overloading the 2 cores do not stall the clients' clocks.`,
    `roomring: one node per region, \`--min-acks 1\`. Baseline: one Twirp server per region (same auth) with a cache warm for its own region's rooms, in front of one shared PostgreSQL,`,
    `with the handicap of a remote shared database: ${DB_RTT_MS} ms round trip per query spent holding one of ${DB_POOL_SIZE} pooled connections per server, API timeout ${formatNumber(API_TIMEOUT_MS)} ms while the query goes on.`,
    '',
    '| run | calls | attempts | ok | failed | timed out | not started | p99 (ms) | worst second p99 (ms) | back to steady (s) | DB queries | acked new rooms lost |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const run of runs) {
    const f = figures(run);
    lines.push(
      `| ${runLabel(run)} | ${formatNumber(run.calls)} | ${formatNumber(run.attempts)} | ${formatNumber(run.ok)} | ${formatNumber(run.failed)} | ${formatNumber(run.timedOut)} | ${formatNumber(run.shed)} | ${formatNumber(run.p99Ms ?? 0)} | ${formatNumber(f.p99WorstMs)} | ${f.recoveryS ?? `> ${DURATION_S - KILL_AT_S}`} | ${formatNumber(run.dbQueries)} | ${run.lostAcked} of ${formatNumber(run.ackedNew)} |`,
    );
  }
  lines.push('');
  return lines;
}

/** `ROOMRING_BENCH_INCIDENT_RUNS=roomring:policy,baseline:at-once` runs only those (for
 *  profiling and development; the report then shows only them). Default: all four. */
function selected(design: Design, mode: Mode): boolean {
  const only = process.env.ROOMRING_BENCH_INCIDENT_RUNS;
  if (!only) return true;
  return only.split(',').includes(`${design}:${mode}`);
}

const reportDir = join(here, '..', '..', '..', '..', 'docs');
const resultsDir = join(here, '..', '..', 'results');

export async function run(
  options: SuiteOptions = { hosts: false },
): Promise<{ results: BenchResult[]; markdown: string[] }> {
  const suite = options.hosts ? 'incident-hosts' : 'incident';
  if (options.hosts) {
    const why = hostsUnavailableReason();
    if (why !== undefined) throw new Error(`--hosts cannot run here: ${why}`);
  }
  await ensureTools(['postgres'], log);
  const dir = mkdtempSync(join(tmpdir(), 'roomring-incident-'));
  const db = await startPostgres({ log });
  try {
    await ensureSchema(db.url);
    await seedRooms(
      db.url,
      REGIONS.flatMap((r) => roomNames(`${r}-room-`, EXISTING[r])),
    );
    const runs: IncidentRun[] = [];
    let seed = 0;
    for (const design of ['roomring', 'baseline'] as const) {
      for (const mode of ['at-once', 'policy'] as const) {
        seed++;
        if (!selected(design, mode)) continue;
        log(`${design}, ${MODE_LABEL[mode]}: ${DURATION_S} s of load, kill at ${KILL_AT_S} s`);
        const result =
          design === 'roomring'
            ? await runRoomring(mode, dir, seed, options)
            : await runBaseline(mode, dir, seed, db);
        runs.push(result);
        const f = figures(result);
        log(
          `${runLabel(result)}: ${formatNumber(f.errorRate * 100)}% failed, ${formatNumber(f.amplification)}x attempts, worst p99 ${formatNumber(f.p99WorstMs)} ms, ${result.lostAcked} acked rooms lost`,
        );
      }
    }
    writeFileSync(join(resultsDir, `${suite}-series.json`), `${JSON.stringify(runs, null, 1)}\n`);
    const results = runs.flatMap((r) => resultsOf(suite, r, figures(r)));
    const markdown = [
      ...describe(runs, options),
      ...writeCharts(runs, join(reportDir, 'img'), suite),
    ];
    return { results, markdown };
  } finally {
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
