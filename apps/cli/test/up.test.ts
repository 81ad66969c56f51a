/**
 * `roomring up` as a real process: ports another cluster holds are refused before any node
 * starts, and a node that dies after the start ends `up` with exit 1 and its last lines.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePortRange, runCli, spawnCli, waitFor } from './cli-process.js';

const held: Server[] = [];
afterEach(async () => {
  await Promise.all(held.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function hold(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      held.push(server);
      resolve();
    });
  });
}

/** A two-node `up` on the given first ports, from sources. */
const upArgs = (base: number, p2p: number): string[] => [
  'up',
  '--regions',
  'r1,r2',
  '--base-port',
  String(base),
  '--p2p-base-port',
  String(p2p),
  '--from-source',
];

describe('roomring up', () => {
  it('refuses ports another process holds, in one line, and exits 1', async () => {
    const base = await freePortRange(23_880, 2);
    const p2p = await freePortRange(base + 40, 2);
    await hold(base + 1);
    const run = await runCli(upArgs(base, p2p), 'http://127.0.0.1:1');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `port ${base + 1} on 127.0.0.1 is in use (another roomring up?): choose free ports with --base-port`,
    );
    expect(run.stdout).not.toContain('Ctrl-C stops every node');
  }, 60_000);

  it('stops and exits 1, showing why, when a node dies after the start', async () => {
    const base = await freePortRange(24_880, 2);
    const p2p = await freePortRange(base + 40, 2);
    const up = spawnCli(upArgs(base, p2p), 'http://127.0.0.1:1');
    let out = '';
    let err = '';
    up.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    up.stderr!.setEncoding('utf8').on('data', (c: string) => {
      err += c;
    });
    const exited = new Promise<number | null>((r) => up.once('close', (code) => r(code)));
    await waitFor('the banner', async () => out.includes('Ctrl-C stops every node'), 90_000);
    const pid = Number(/r2-1\s+r2\s+\S+\s+(\d+)/.exec(out)?.[1]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    expect(await exited).toBe(1);
    expect(err).toContain('node r2-1 exited (SIGKILL)');
    expect(err).toContain('r2-1 stopped: stopping the other nodes');
    // Its last log lines are shown (pino's JSON as level-free messages).
    expect(err).toMatch(/node r2-1 exited \(SIGKILL\):\n {2}\S/);
  }, 120_000);
});
