/**
 * `roomring up` / `pnpm start`: a local multi-region cluster, one OS process per node, all on
 * 127.0.0.1 with the development keys. Stops every node cleanly on Ctrl-C or SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LocalClusterOptions {
  regions: readonly string[];
  nodesPerRegion: number;
  /** HTTP port of the first node; the others follow (7880, 7881, ...). */
  basePort: number;
  /** libp2p port of the first node; the others follow. */
  p2pBasePort: number;
  /** Run the server from its TypeScript sources (tsx) instead of its build. */
  fromSource: boolean;
  /** Where progress goes. */
  log: (line: string) => void;
  /** Extra server flags for every node. */
  serverArgs?: readonly string[];
  /** A node exited on its own after the cluster started (not stopped by stopLocalCluster),
   *  with the last lines it printed. */
  onNodeExit?: (node: LocalNode, how: string, lastLines: string) => void;
}

export interface LocalNode {
  nodeId: string;
  region: string;
  url: string;
  p2pPort: number;
  pid: number;
  process: ChildProcess;
}

export const DEV_API_KEY = 'devkey';
export const DEV_API_SECRET = 'secret';
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

const here = dirname(fileURLToPath(import.meta.url));
const serverDir = join(here, '..', '..', 'server');

/**
 * Node.js flags of every node process of a local cluster. The nodes share the machine's
 * cores, and V8 gives each process 4 helper threads by default (concurrent GC marking,
 * parallel scavenges): in the incident replay on 2 cores, one node's helper threads ran at
 * 104-126% of a core for ~80 ms, 32-55 s after a failover raised its load, its own event loop
 * waited for a core meanwhile, and that second's p99 reached 58-288 ms in 7 of 13 runs
 * (docs/operations.md, Load balancing and failover). With one helper per node, every second but
 * the kill's stayed under 46 ms in the 10 runs measured that night; in a busier hour the next
 * morning such a second (62-354 ms) came back in 7 of 17 runs, with or without the day's
 * later changes. Rarer, not gone.
 */
export const LOCAL_NODE_RUNTIME_ARGS: readonly string[] = ['--v8-pool-size=1'];

function serverCommand(fromSource: boolean): string[] {
  const built = join(serverDir, 'dist', 'main.js');
  if (!fromSource && existsSync(built)) return [built];
  return ['--conditions=@roomring/source', '--import', 'tsx', join(serverDir, 'src', 'main.ts')];
}

/** Lines of a node's output kept to explain its exit. */
const LAST_LINES_KEPT = 8;

/** The last lines a node printed: pino's JSON lines as `level msg (err)`, others as they are. */
export function lastLines(output: string, count = LAST_LINES_KEPT): string {
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-count)
    .map((line) => {
      try {
        const entry = JSON.parse(line) as { msg?: unknown; err?: { message?: unknown } };
        if (typeof entry.msg === 'string') {
          const err = typeof entry.err?.message === 'string' ? `: ${entry.err.message}` : '';
          return `  ${entry.msg}${err}`.split('\n')[0]!.slice(0, 300);
        }
      } catch {
        // not a log line
      }
      return `  ${line.slice(0, 300)}`;
    })
    .join('\n');
}

/** Whether `port` can be listened on at 127.0.0.1 now (nothing else holds it). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host: '127.0.0.1', port, exclusive: true }, () =>
      probe.close(() => resolve(true)),
    );
  });
}

async function waitReady(
  node: LocalNode,
  deadlineAt: number,
  output: () => string,
  listening: () => boolean,
): Promise<void> {
  for (;;) {
    if (node.process.exitCode !== null || node.process.signalCode !== null) {
      const how = node.process.signalCode ?? `code ${node.process.exitCode}`;
      throw new Error(`${node.nodeId} exited while starting (${how}):\n${lastLines(output())}`);
    }
    // Only our own process's port counts: it says so in its `listening` line once bound.
    if (!listening()) {
      if (Date.now() > deadlineAt) throw new Error(`${node.nodeId} did not start listening`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    try {
      const response = await fetch(`${node.url}/readyz`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadlineAt) throw new Error(`${node.nodeId} not ready at ${node.url}/readyz`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalNode[]> {
  const command = serverCommand(options.fromSource);
  const total = options.regions.length * options.nodesPerRegion;
  // A second cluster on the same ports would answer /readyz for nodes that died at once.
  for (const [first, flag] of [
    [options.basePort, '--base-port'],
    [options.p2pBasePort, '--p2p-base-port'],
  ] as const) {
    for (let port = first; port < first + total; port++) {
      if (!(await portFree(port))) {
        throw new Error(
          `port ${port} on 127.0.0.1 is in use (another roomring up?): choose free ports with ${flag}`,
        );
      }
    }
  }
  const nodes: LocalNode[] = [];
  const outputs: string[] = [];
  const listeningSeen: boolean[] = [];
  const firstP2p = `127.0.0.1:${options.p2pBasePort}`;
  let index = 0;
  for (let k = 1; k <= options.nodesPerRegion; k++) {
    for (const region of options.regions) {
      const httpPort = options.basePort + index;
      const p2pPort = options.p2pBasePort + index;
      const nodeId = `${region}-${k}`;
      const args = [
        ...LOCAL_NODE_RUNTIME_ARGS,
        ...command,
        '--dev',
        '--profile',
        'local',
        '--region',
        region,
        '--node-id',
        nodeId,
        '--http-host',
        '127.0.0.1',
        '--http-port',
        String(httpPort),
        '--p2p-port',
        String(p2pPort),
        ...(index === 0 ? [] : ['--seeds', firstP2p]),
        // With more than one node, writes wait for a replica as in production (P4).
        ...(options.regions.length * options.nodesPerRegion > 1 ? ['--min-acks', '1'] : []),
        ...(options.serverArgs ?? []),
      ];
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      // Both streams, last 16 KB: pino logs to stdout, a crash trace goes to stderr.
      const slot = outputs.push('') - 1;
      listeningSeen.push(false);
      const keep = (chunk: Buffer): void => {
        outputs[slot] = (outputs[slot]! + chunk.toString()).slice(-16_384);
        if (!listeningSeen[slot] && outputs[slot]!.includes('"event":"listening"')) {
          listeningSeen[slot] = true;
        }
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      const node: LocalNode = {
        nodeId,
        region,
        url: `http://127.0.0.1:${httpPort}`,
        p2pPort,
        pid: child.pid ?? -1,
        process: child,
      };
      child.once('exit', (code, signal) => {
        if (stopping || !started) return;
        const how = signal ?? `code ${code}`;
        const last = lastLines(outputs[slot]!);
        options.log(`node ${nodeId} exited (${how})${last ? `:\n${last}` : ''}`);
        options.onNodeExit?.(node, how, last);
      });
      nodes.push(node);
      index++;
    }
  }
  const deadlineAt = Date.now() + READY_TIMEOUT_MS;
  try {
    await Promise.all(
      nodes.map((n, i) =>
        waitReady(
          n,
          deadlineAt,
          () => outputs[i]!,
          () => listeningSeen[i]!,
        ),
      ),
    );
  } catch (error) {
    await stopLocalCluster(nodes);
    throw error;
  }
  started = true;
  return nodes;
}

let stopping = false;
let started = false;

/** SIGTERM to every node (each announces leave and exits), SIGKILL past a timeout. */
export async function stopLocalCluster(nodes: readonly LocalNode[]): Promise<void> {
  stopping = true;
  await Promise.all(
    nodes.map(
      (node) =>
        new Promise<void>((resolve) => {
          const child = node.process;
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}

export function describeCluster(nodes: readonly LocalNode[], token: string): string {
  const widths = [
    Math.max(4, ...nodes.map((n) => n.nodeId.length)),
    Math.max(6, ...nodes.map((n) => n.region.length)),
    Math.max(3, ...nodes.map((n) => n.url.length)),
    8,
  ];
  const row = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const first = nodes[0]?.url ?? 'http://127.0.0.1:7880';
  return [
    row(['NODE', 'REGION', 'URL', 'PID']),
    ...nodes.map((n) => row([n.nodeId, n.region, n.url, String(n.pid)])),
    '',
    `API key: ${DEV_API_KEY}   secret: ${DEV_API_SECRET}   (development only)`,
    '',
    `Dashboard: ${first}/ui   (every node serves one; the key and secret are filled in)`,
    '',
    'LiveKit server SDK (npm i livekit-server-sdk):',
    "  import { RoomServiceClient } from 'livekit-server-sdk';",
    `  const rooms = new RoomServiceClient('${first}', '${DEV_API_KEY}', '${DEV_API_SECRET}');`,
    "  await rooms.createRoom({ name: 'my-room' });",
    '  console.log(await rooms.listRooms());',
    '',
    'curl (this token is valid for 24 h and may create, list and administer rooms):',
    `  TOKEN=${token}`,
    `  curl -s -X POST ${first}/twirp/livekit.RoomService/CreateRoom \\`,
    '    -H "Authorization: Bearer $TOKEN" -H \'Content-Type: application/json\' \\',
    `    -d '{"name":"my-room"}'`,
    `  curl -s -H "Authorization: Bearer $TOKEN" ${nodes[1]?.url ?? first}/v1/ring`,
    '',
    'Ctrl-C stops every node.',
  ].join('\n');
}
