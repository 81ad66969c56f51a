import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { processCpuMs, threadCpuMs } from '../src/infra/process-cpu.js';

/** A shell whose child node process spins for `ms` of CPU, then both wait to be killed. */
function spinner(ms: number) {
  const script = `const end = process.hrtime.bigint() + ${ms}n * 1000000n; while (process.hrtime.bigint() < end); console.log('spun'); setInterval(() => {}, 1000);`;
  const shell = spawn('sh', ['-c', `"${process.execPath}" -e "${script}" & wait`], {
    stdio: ['ignore', 'pipe', 'inherit'],
    // Its own process group, so the test can kill the shell and its child at once.
    detached: true,
  });
  return shell;
}

describe('processCpuMs', () => {
  it('counts a process tree with descendants, and only the named process without', async () => {
    const shell = spinner(300);
    try {
      const [chunk] = (await once(shell.stdout!, 'data')) as [Buffer];
      expect(chunk.toString()).toContain('spun');
      const tree = processCpuMs([shell.pid!], true);
      const alone = processCpuMs([shell.pid!], false);
      // The node child spun 300 ms of CPU (plus its start-up); the shell itself did nothing.
      expect(tree).toBeGreaterThanOrEqual(280);
      expect(alone).toBeLessThan(100);
      expect(processCpuMs([], true)).toBe(0);
      expect(processCpuMs([2 ** 22 + 12_345], false)).toBe(0); // no such process
    } finally {
      process.kill(-shell.pid!, 'SIGKILL');
    }
  });
});

describe('threadCpuMs', () => {
  it("splits a process's CPU into its main thread and its other threads", async () => {
    // The main thread spins 300 ms, then a worker thread spins 300 ms.
    const script = `const spin = (ms) => { const end = process.hrtime.bigint() + BigInt(ms) * 1000000n; while (process.hrtime.bigint() < end); }; spin(300); const { Worker } = require('node:worker_threads'); new Worker('const end = process.hrtime.bigint() + 300n * 1000000n; while (process.hrtime.bigint() < end); require("node:worker_threads").parentPort.postMessage(1); setInterval(() => {}, 1000)', { eval: true }).on('message', () => console.log('spun')); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
      expect(chunk.toString()).toContain('spun');
      const { main, helpers } = threadCpuMs([child.pid!]);
      expect(main).toBeGreaterThanOrEqual(280);
      expect(helpers).toBeGreaterThanOrEqual(280);
      // Both halves of the process's own figure (ticks are read at slightly different times).
      expect(Math.abs(main + helpers - processCpuMs([child.pid!]))).toBeLessThan(50);
      expect(threadCpuMs([2 ** 22 + 12_345])).toEqual({ main: 0, helpers: 0 }); // no such process
    } finally {
      child.kill('SIGKILL');
    }
  });
});
