/**
 * Once per run of the `browser` project: build the dashboard (ui/build.mjs, ~1 s), since the
 * servers the tests start run from sources and serve dist/ui. Whether chromium is installed
 * is checked by the tests themselves (browser.ts), so a machine without it fails those tests,
 * naming the command, and not the whole run.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUILD = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'ui', 'build.mjs');

export default function setup(): void {
  const startedMs = Date.now();
  execFileSync(process.execPath, [BUILD], { stdio: ['ignore', 'ignore', 'inherit'] });
  console.log(`[browser] dashboard built in ${Date.now() - startedMs} ms`);
}
