/**
 * Test and benchmark kit (`@roomring/node/testing`): starts registry nodes as child processes
 * on 127.0.0.1 and drives them over the IPC channel. Used by the child-process tests and the
 * cluster benchmarks; not part of the embedding API.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The node program from source, through tsx (tests: no build needed). */
const SOURCE_PROGRAM = join(HERE, 'node-process.ts');
/** The same program as `pnpm build` emits it (this file runs from src/ or from dist/). */
const BUILT_PROGRAM = join(HERE, '..', '..', 'dist', 'testing', 'node-process.js');

export const TEST_CLUSTER_KEY = randomBytes(32).toString('hex');

export interface NodeSpec {
  nodeId: string;
  region: string;
  p2pPort?: number;
  seeds?: string[];
  clusterKey?: string;
  privateKeyHex?: string;
  options?: Record<string, unknown>;
  /** Extra node flags, e.g. ['--max-old-space-size=4096']. */
  nodeArgs?: string[];
  /**
   * Run the built JavaScript (packages/node/dist, from `pnpm build`) as a deployment does,
   * instead of the source through tsx. Benchmarks of a node's own memory and CPU use it:
   * tsx's loader runs on a thread of its own with its own V8 heap (an idle node: 138 MiB of
   * RSS under tsx, 88 built; measured 2026-12-06).
   */
  built?: boolean;
}

export class NodeProcess {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  readonly exited: Promise<number | null>;
  peerId = '';
  addrs: string[] = [];
  stderr = '';

  constructor(
    readonly spec: NodeSpec,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.on('message', (raw) => {
      const { id, ok, result, error } = raw as {
        id: number;
        ok: boolean;
        result: unknown;
        error?: { name: string; message: string };
      };
      const waiter = this.pending.get(id);
      if (!waiter) return;
      this.pending.delete(id);
      if (ok) waiter.resolve(result);
      else waiter.reject(Object.assign(new Error(error?.message), { name: error?.name }));
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-8_000);
    });
    child.once('exit', (code, signal) => {
      if (code !== 0 && !(signal && this.expectedSignals.has(signal))) {
        console.error(
          `[testkit] ${spec.nodeId} exited unexpectedly (${signal ?? code}):\n${this.stderr}`,
        );
      }
      for (const waiter of this.pending.values()) {
        waiter.reject(new Error(`${spec.nodeId} exited (${signal ?? code}): ${this.stderr}`));
      }
      this.pending.clear();
    });
  }

  get port(): number {
    const tcp = this.addrs.find((a) => a.includes('/tcp/'));
    return Number(tcp?.split('/tcp/')[1]?.split('/')[0]);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  call<T>(cmd: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (!this.child.connected) {
        reject(new Error(`${this.spec.nodeId} is not running: ${this.stderr}`));
        return;
      }
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, cmd, args }, (error) => {
        if (!error) return;
        this.pending.delete(id);
        reject(error);
      });
    });
  }

  /** Signals sent on purpose; any other exit is reported with the process's stderr. */
  private readonly expectedSignals = new Set<string>();

  kill(signal: NodeJS.Signals): void {
    this.expectedSignals.add(signal);
    this.child.kill(signal);
  }
}

export async function startNode(spec: NodeSpec, timeoutMs = 60_000): Promise<NodeProcess> {
  const env = {
    ...process.env,
    ROOMRING_TEST_NODE: JSON.stringify({
      nodeId: spec.nodeId,
      region: spec.region,
      clusterKey: spec.clusterKey ?? TEST_CLUSTER_KEY,
      p2pHost: '127.0.0.1',
      p2pPort: spec.p2pPort ?? 0,
      seeds: spec.seeds ?? [],
      profile: 'local',
      ...(spec.privateKeyHex ? { privateKeyHex: spec.privateKeyHex } : {}),
      ...spec.options,
    }),
  };
  if (spec.built && !existsSync(BUILT_PROGRAM)) {
    throw new Error(`${BUILT_PROGRAM} is missing: run \`npx -y pnpm@12.4.2 build\` first`);
  }
  const program = spec.built
    ? [...(spec.nodeArgs ?? []), BUILT_PROGRAM]
    : [
        '--conditions=@roomring/source',
        '--import',
        'tsx',
        ...(spec.nodeArgs ?? []),
        SOURCE_PROGRAM,
      ];
  const child = spawn(process.execPath, program, {
    env,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const proc = new NodeProcess(spec, child);
  const ready = new Promise<{ peerId: string; addrs: string[] }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${spec.nodeId} did not start: ${proc.stderr}`)),
      timeoutMs,
    );
    child.on('message', (raw) => {
      const m = raw as { id: number; result: { peerId: string; addrs: string[] } };
      if (m.id === 0) {
        clearTimeout(timer);
        resolve(m.result);
      }
    });
    void proc.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${spec.nodeId} exited with ${code}: ${proc.stderr}`));
    });
  });
  const { peerId, addrs } = await ready;
  proc.peerId = peerId;
  proc.addrs = addrs;
  return proc;
}

/** Polls `check` (each poll asks the processes over IPC) until it returns a value. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  timeoutMs: number,
  what: string,
  intervalMs = 100,
): Promise<T> {
  const started = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(
        `${what} not reached within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export async function stopAll(nodes: readonly NodeProcess[]): Promise<void> {
  await Promise.all(
    nodes.map(async (n) => {
      if (n.child.exitCode !== null || n.child.signalCode !== null) return;
      n.kill('SIGCONT');
      n.kill('SIGKILL');
      await n.exited;
    }),
  );
}

export const FIVE_NODE_SPECS: readonly NodeSpec[] = [
  { nodeId: 'use-1', region: 'us-east' },
  { nodeId: 'use-2', region: 'us-east' },
  { nodeId: 'usw-1', region: 'us-west' },
  { nodeId: 'usw-2', region: 'us-west' },
  { nodeId: 'euc-1', region: 'eu-central' },
];

/** Starts five nodes in three regions (the first is every other node's seed) and waits
 *  until each sees all five alive. */
export async function startFiveNodes(): Promise<NodeProcess[]> {
  const [firstSpec, ...restSpecs] = FIVE_NODE_SPECS;
  const first = await startNode(firstSpec!);
  const rest = await Promise.all(restSpecs.map((s) => startNode({ ...s, seeds: [first.address] })));
  const nodes = [first, ...rest];
  await allSeeAlive(nodes, nodes.length, 30_000);
  return nodes;
}

export interface MemberInfo {
  nodeId: string;
  state: string;
  peerId: string;
  incarnation: number;
}

export async function allSeeAlive(nodes: readonly NodeProcess[], count: number, timeoutMs: number) {
  await eventually(
    async () => {
      const views = await Promise.all(nodes.map((n) => n.call<MemberInfo[]>('members')));
      return views.every((v) => v.filter((m) => m.state === 'alive').length === count) || undefined;
    },
    timeoutMs,
    `every node seeing ${count} alive members`,
  );
}

export async function digests(nodes: readonly NodeProcess[]): Promise<string[]> {
  return Promise.all(
    nodes.map(async (n) => (await n.call<{ storeDigest: string }>('status')).storeDigest),
  );
}
