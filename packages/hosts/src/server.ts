/**
 * One roomring server process on one host: the built daemon (`apps/server/dist/main.js`) run
 * with `ip netns exec <netns> node ...`. `ip netns exec` enters the namespace and then execs
 * node, so the child's pid is the server's own: signals go straight to it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built server the harness runs (built by `tsc -b`; see buildServer). */
export const SERVER_MAIN = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'apps',
  'server',
  'dist',
  'main.js',
);
/** Kept in memory per process for error messages; the whole log is in its file. */
const OUTPUT_TAIL_BYTES = 32_768;

export interface ListeningLine {
  http: string;
  p2p: string[];
  peerId: string;
}

export class ServerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private tail = '';
  private readonly log: WriteStream;
  /** Resolves with the `listening` line the server logs once it serves. */
  readonly listening: Promise<ListeningLine>;

  /** `extraEnv`: variables for this process only (a test hook such as a NODE_OPTIONS
   *  preload), set after the inherited ones. */
  constructor(
    netns: string,
    args: readonly string[],
    logPath: string,
    extraEnv: Readonly<Record<string, string>> = {},
  ) {
    if (!existsSync(SERVER_MAIN)) {
      throw new Error(`${SERVER_MAIN} is missing: build the server first (buildServer())`);
    }
    this.log = createWriteStream(logPath, { flags: 'a' });
    this.log.on('error', () => undefined); // a log we cannot write must not crash the test
    const env: NodeJS.ProcessEnv = { NO_COLOR: '1' };
    for (const [key, value] of Object.entries(process.env)) {
      // The test's own ROOMRING_* settings must not leak into the servers' configuration.
      if (!key.startsWith('ROOMRING_')) env[key] = value;
    }
    Object.assign(env, extraEnv);
    this.child = spawn('ip', ['netns', 'exec', netns, process.execPath, SERVER_MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.log.end();
        resolve({ code, signal });
      });
    });
    let pending = '';
    this.listening = new Promise<ListeningLine>((resolve, reject) => {
      this.child.stdout!.on('data', (chunk: Buffer) => {
        this.record(chunk);
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.includes('"listening"')) continue;
          try {
            const entry = JSON.parse(line) as { event?: string } & ListeningLine;
            if (entry.event === 'listening') resolve(entry);
          } catch {
            // not a JSON line
          }
        }
      });
      void this.exited.then(({ code, signal }) =>
        reject(new Error(`server exited (${signal ?? code}) before listening:\n${this.tail}`)),
      );
    });
    this.listening.catch(() => undefined); // observed by whoever awaits it
    this.child.stderr!.on('data', (chunk: Buffer) => this.record(chunk));
  }

  private record(chunk: Buffer): void {
    this.log.write(chunk);
    this.tail = (this.tail + chunk.toString()).slice(-OUTPUT_TAIL_BYTES);
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('server process has no pid');
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines of its stdout and stderr. */
  output(): string {
    return this.tail;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGKILL (a stopped process dies too) and wait for the exit. */
  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }
}
