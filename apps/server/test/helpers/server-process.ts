/**
 * roomring servers as child processes on 127.0.0.1 (the approach of
 * packages/node/src/testing/processes.ts): `node --conditions=@roomring/source --import tsx
 * src/main.ts ...`, ready when it logs its `listening` line. Always stop them in afterAll.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MAIN = join(dirname(fileURLToPath(import.meta.url)), '../../src/main.ts');

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  p2pAddress: string;
  peerId: string;
  /** Last 16 KiB of stdout + stderr. */
  output(): string;
  exited: Promise<number | null>;
}

/** A port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(),
      );
    });
  });
}

export function spawnServer(args: readonly string[]): ChildProcess {
  return spawn(
    process.execPath,
    ['--conditions=@roomring/source', '--import', 'tsx', MAIN, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
  );
}

export async function startServer(
  args: readonly string[],
  timeoutMs = 60_000,
): Promise<ServerProcess> {
  const child = spawnServer(args);
  let output = '';
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const listening = new Promise<{ http: string; p2p: string[]; peerId: string }>(
    (resolve, reject) => {
      let pending = '';
      const timer = setTimeout(
        () => reject(new Error(`server did not start: ${output}`)),
        timeoutMs,
      );
      child.stdout?.on('data', (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-16_384);
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          try {
            const entry = JSON.parse(line) as {
              event?: string;
              http: string;
              p2p: string[];
              peerId: string;
            };
            if (entry.event === 'listening') {
              clearTimeout(timer);
              resolve(entry);
            }
          } catch {
            // not a JSON line
          }
        }
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-16_384);
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code}: ${output}`));
      });
    },
  );
  let started: { http: string; p2p: string[]; peerId: string };
  try {
    started = await listening;
  } catch (error) {
    // Never leave a half-started server behind.
    child.kill('SIGKILL');
    throw error;
  }
  const tcp = started.p2p.find((a) => a.includes('/tcp/'))!;
  const port = tcp.split('/tcp/')[1]!.split('/')[0]!;
  return {
    child,
    url: started.http,
    p2pAddress: `127.0.0.1:${port}`,
    peerId: started.peerId,
    output: () => output,
    exited,
  };
}

export async function stopServers(servers: readonly (ServerProcess | undefined)[]): Promise<void> {
  await Promise.all(
    servers.map(async (s) => {
      if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return;
      s.child.kill('SIGCONT');
      s.child.kill('SIGKILL');
      await s.exited;
    }),
  );
}

/** The node test kit's poller, re-exported for the server tests. */
export { eventually } from '@roomring/node/testing';
