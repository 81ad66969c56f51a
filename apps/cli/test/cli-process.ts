/** Runs the CLI as a real child process from its sources, as `pnpm roomring` does. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MAIN = join(REPO_ROOT, 'apps', 'cli', 'src', 'main.ts');
/** A CLI run from sources takes ~1.5 s on this 2-core machine next to 4 server processes. */
const RUN_TIMEOUT_MS = 25_000;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cliEnv(url: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ROOMRING_URL: url, ...extra };
  // The defaults (devkey/secret) unless a test sets them.
  if (!('ROOMRING_API_KEY' in extra)) delete env.ROOMRING_API_KEY;
  if (!('ROOMRING_API_SECRET' in extra)) delete env.ROOMRING_API_SECRET;
  return env;
}

export function spawnCli(
  args: readonly string[],
  url: string,
  extraEnv: Record<string, string> = {},
): ChildProcess {
  return spawn(
    process.execPath,
    ['--conditions=@roomring/source', '--import', 'tsx', MAIN, ...args],
    { cwd: REPO_ROOT, env: cliEnv(url, extraEnv), stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

export function runCli(
  args: readonly string[],
  url: string,
  extraEnv: Record<string, string> = {},
): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawnCli(args, url, extraEnv);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`roomring ${args.join(' ')} did not finish in ${RUN_TIMEOUT_MS} ms\n${stderr}`),
      );
    }, RUN_TIMEOUT_MS);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Parses stdout as JSON, failing with the whole run in the message. */
export function json<T>(run: CliRun): T {
  if (run.code !== 0)
    throw new Error(`exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once('error', () => resolvePromise(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePromise(true)));
  });
}

/** The first base from `start` (stepping by `step`) whose `count` ports are all free. */
export async function freePortRange(start: number, count: number, step = 100): Promise<number> {
  for (let base = start; base + count < 65_000; base += step) {
    const free = await Promise.all(Array.from({ length: count }, (_, i) => portFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no free port range');
}

/** Polls `check` every 200 ms until it returns true or `timeoutMs` passes. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
