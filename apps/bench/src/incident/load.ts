/**
 * Process entry of the incident replay's load generator (logic in load-core.ts, HTTP clients
 * in load-http.ts):
 *
 *   node --conditions=@roomring/source --import tsx load.ts <config.json>
 *
 * stdin: JSON lines `{"cmd":"failover","from":"us-east","to":"us-west"}` / `{"cmd":"stop"}`.
 * stdout: one JSON line per elapsed second, then `{"type":"done",...}`; nothing else.
 * stderr: diagnostics. Exit 0 after the done line; 2 on a bad config or command line; 1 on
 * a crash or when the acked-rooms file falls behind (the replay's durability check would
 * then be wrong, so the run must not look valid).
 */
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import {
  ControlCommandError,
  type DoneStats,
  LineSplitter,
  LoadConfigError,
  parseControlLine,
  parseLoadConfig,
  type RecordingLine,
  type SecondStats,
  startLoadRun,
} from './load-core.js';
import { createTransport } from './load-http.js';

/**
 * Bytes the acked-rooms file may lag behind: 16 MiB = ~400k lines of ~40 B, minutes of
 * the replay's new-room rate (~300/s) even if the disk stalled.
 */
const ACK_BACKLOG_BYTES_MAX = 16 * 1024 * 1024;

function log(message: string): void {
  process.stderr.write(`[load] ${message}\n`);
}

function writeLine(line: SecondStats | DoneStats | RecordingLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const path = process.argv[2];
  if (path === undefined) {
    log('usage: load.ts <config.json>');
    process.exit(2);
  }
  let config: ReturnType<typeof parseLoadConfig>;
  try {
    config = parseLoadConfig(JSON.parse(await readFile(path, 'utf8')));
  } catch (err) {
    if (err instanceof LoadConfigError || err instanceof SyntaxError) {
      log(`bad config ${path}: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }

  const acked = createWriteStream(config.ackedPath, { flags: 'a' });
  acked.on('error', (err) => {
    log(`acked file ${config.ackedPath}: ${err.message}`);
    process.exit(1);
  });

  const http = await createTransport(config.transport ?? 'fetch');
  const run = startLoadRun({
    config,
    clock: { nowMs: () => performance.now() },
    wallClock: { nowMs: () => Date.now() },
    timers: {
      setTimer: (delayMs, fn) => {
        const handle = setTimeout(fn, delayMs);
        return () => clearTimeout(handle);
      },
    },
    http,
    // The done line is written below, after the acked file is flushed, so a reader that
    // sees it can trust the file is complete.
    emit: (line) => {
      if (line.type !== 'done') writeLine(line);
    },
    ack: (name, sid) => {
      acked.write(`${name}\t${sid}\n`);
      if (acked.writableLength > ACK_BACKLOG_BYTES_MAX) {
        log(`acked file over ${ACK_BACKLOG_BYTES_MAX} bytes behind: giving up`);
        process.exit(1);
      }
    },
    log,
  });

  const splitter = new LineSplitter();
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    const { lines, dropped } = splitter.push(chunk);
    if (dropped > 0) log(`${dropped} over-long control line(s) dropped`);
    for (const line of lines) {
      try {
        const cmd = parseControlLine(line);
        if (cmd !== undefined) run.command(cmd);
      } catch (err) {
        if (!(err instanceof ControlCommandError)) throw err;
        log(`control line ignored: ${err.message}`);
      }
    }
  });
  // stdin closing (the orchestrator exited or never writes) changes nothing: the run ends
  // at durationS.
  process.stdin.on('error', (err) => log(`stdin: ${err.message}`));

  const done = await run.done;
  await new Promise<void>((resolve) => acked.end(resolve));
  process.stdout.write(`${JSON.stringify(done)}\n`, () => process.exit(0));
}

main().catch((err: unknown) => {
  log(`crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
