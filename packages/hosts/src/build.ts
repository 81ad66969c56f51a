/**
 * The harness runs the built server (`apps/server/dist/main.js`), as an operator would. The
 * README's test command does not build first, so the tests' global setup calls this: `tsc -b`
 * of the server and every package it references, incremental (about 1 s when nothing
 * changed, about 20 s from scratch on 2 cores).
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BUILD_TIMEOUT_MS = 300_000;

/** Builds apps/server and its dependencies; throws with the compiler's output on errors.
 *  Returns how long it took. */
export function buildServer(): number {
  const started = Date.now();
  const tsc = createRequire(join(REPO_ROOT, 'package.json')).resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-b', join(REPO_ROOT, 'apps', 'server')], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: BUILD_TIMEOUT_MS,
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`building the server failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
  return Date.now() - started;
}
