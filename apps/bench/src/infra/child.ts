/**
 * Child processes of the bench (databases, wrk, autocannon): spawned with both pipes drained
 * into a bounded tail for error messages, and SIGKILLed from a process 'exit' hook if still
 * running, so an interrupted bench never leaves a database or load generator behind. Temp dirs
 * made with `makeTempDir` are deleted by the same hook.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Bytes of a child's stdout+stderr kept for error messages: the last ~30 log lines. */
export const OUTPUT_TAIL_BYTES = 4096;
/** Fast shutdown of a bench-sized database takes < 1 s here; after 10 s we SIGKILL. */
export const STOP_TIMEOUT_MS = 10_000;

const liveChildren = new Set<ChildProcess>();
const liveTempDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: SIGKILL is the only thing we can still do here.
  process.on('exit', () => {
    for (const child of liveChildren) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of liveTempDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** mkdtemp under os.tmpdir(), deleted by removeTempDir or, failing that, at process exit. */
export async function makeTempDir(prefix: string): Promise<string> {
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), prefix));
  liveTempDirs.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  liveTempDirs.delete(dir);
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned child with a bounded tail of its output and a promise of its exit. */
export interface Tracked {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  hasExited(): boolean;
  /** The last `tailBytes` of stdout and stderr, interleaved as they arrived. */
  tail(): string;
  /** The last `tailBytes` of stdout alone (machine-readable result lines). */
  stdoutTail(): string;
}

export interface SpawnInit {
  cwd?: string;
  /** Run as this user/group (root only); the pid is then the program's own pid. */
  uid?: number;
  gid?: number;
  /** Output kept per stream. @default OUTPUT_TAIL_BYTES (4096) */
  tailBytes?: number;
}

function boundedTail(limitBytes: number): { keep(chunk: Buffer): void; text(): string } {
  let tail = Buffer.alloc(0);
  return {
    keep: (chunk) => {
      tail = Buffer.concat([tail, chunk]);
      if (tail.length > limitBytes) tail = tail.subarray(tail.length - limitBytes);
    },
    text: () => tail.toString('utf8'),
  };
}

export function spawnTracked(
  command: string,
  args: readonly string[],
  init: SpawnInit = {},
): Tracked {
  installExitHook();
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(init.cwd !== undefined ? { cwd: init.cwd } : {}),
    ...(init.uid !== undefined ? { uid: init.uid } : {}),
    ...(init.gid !== undefined ? { gid: init.gid } : {}),
  });
  liveChildren.add(child);
  // Both pipes are drained (else a chatty child blocks on a full 64 KB pipe); only the tails
  // are kept.
  const limitBytes = init.tailBytes ?? OUTPUT_TAIL_BYTES;
  const all = boundedTail(limitBytes);
  const out = boundedTail(limitBytes);
  child.stdout?.on('data', (chunk: Buffer) => {
    all.keep(chunk);
    out.keep(chunk);
  });
  child.stderr?.on('data', (chunk: Buffer) => all.keep(chunk));
  let done = false;
  const exited = new Promise<Exit>((resolve) => {
    child.once('error', (err) => {
      all.keep(Buffer.from(`spawn ${command}: ${err.message}\n`));
      done = true;
      liveChildren.delete(child);
      resolve({ code: null, signal: null });
    });
    child.once('close', (code, signal) => {
      done = true;
      liveChildren.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, exited, hasExited: () => done, tail: all.text, stdoutTail: out.text };
}

/** Sends `signal`, waits for exit, SIGKILLs after `timeoutMs`. */
export async function stopChild(
  run: Tracked,
  signal: NodeJS.Signals,
  timeoutMs = STOP_TIMEOUT_MS,
): Promise<void> {
  if (run.hasExited()) return;
  run.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      run.child.kill('SIGKILL');
      resolve();
    }, timeoutMs);
  });
  await Promise.race([run.exited, killed]);
  clearTimeout(timer);
  await run.exited;
}

/**
 * The JSON object a load generator prints on the line starting with `prefix`, if that line
 * exists, parses, and has a number in every one of `numberFields`; undefined otherwise.
 */
export function parseResultLine(
  stdout: string,
  prefix: string,
  numberFields: readonly string[],
): Record<string, unknown> | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith(prefix));
  if (!line) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(line.slice(prefix.length));
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const fields = new Map(Object.entries(raw));
  for (const field of numberFields) {
    if (typeof fields.get(field) !== 'number') return undefined;
  }
  return raw as Record<string, unknown>;
}
