/** `roomring --version`, as a real process: the package version and the Node.js it runs on. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli-process.js';

describe('roomring --version', () => {
  it('prints the version of apps/cli and exits 0', async () => {
    const { version } = JSON.parse(
      readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    const run = await runCli(['--version'], 'http://127.0.0.1:1');
    expect(run).toEqual({
      code: 0,
      stdout: `roomring ${version} (node ${process.version})\n`,
      stderr: '',
    });
  }, 30_000);
});
