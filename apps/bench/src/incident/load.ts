/**
 * Process entry of the incident replay's load generator (logic in load-core.ts):
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
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  ControlCommandError,
  type DoneStats,
  type HttpTransport,
  LineSplitter,
  LoadConfigError,
  type LoadHttp,
  parseControlLine,
  parseLoadConfig,
  type RecordingLine,
  type SecondStats,
  startLoadRun,
} from './load-core.js';

/**
 * Bytes the acked-rooms file may lag behind: 16 MiB = ~400k lines of ~40 B, minutes of
 * the replay's new-room rate (~300/s) even if the disk stalled.
 */
const ACK_BACKLOG_BYTES_MAX = 16 * 1024 * 1024;
/**
 * Largest answer body the node-http transport reads: a Room JSON is ~300 B, a Twirp error
 * ~100 B; 1 MiB means a broken server, and the attempt fails as a network error.
 */
const RESPONSE_BYTES_MAX = 1024 * 1024;
/** Statuses whose Response must have a null body (the WHATWG constructor throws otherwise). */
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 204, 205, 304]);

/** The global fetch (undici), as API users of the LiveKit SDKs call the server. */
function fetchTransport(): LoadHttp {
  return {
    async post(url, headers, body, timeoutMs) {
      const response = await globalThis.fetch(url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      return { status: response.status, text: await response.text() };
    },
    fetch: (url, init) => globalThis.fetch(url, init),
  };
}

interface RawAnswer {
  status: number;
  rawHeaders: string[];
  body: Buffer;
}

/**
 * node:http with one keep-alive agent. No socket cap (maxSockets stays Infinity): a cap
 * would queue calls inside the generator and show up as server latency; the number of
 * sockets is bounded by inFlightMax instead. 1,024 idle sockets kept: after a burst
 * (thousands in flight) most are closed instead of held open.
 */
function nodeHttpTransport(): LoadHttp {
  const agent = new Agent({ keepAlive: true, maxFreeSockets: 1024 });

  function send(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
  ): Promise<RawAnswer> {
    return new Promise<RawAnswer>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
      const req = httpRequest(url, {
        method,
        agent,
        headers: payload === undefined ? headers : { ...headers, 'Content-Length': payload.length },
      });
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => fail(signal?.reason);
      function settle(): boolean {
        if (settled) return false;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        return true;
      }
      function fail(err: unknown): void {
        if (!settle()) return;
        req.destroy();
        reject(err);
      }
      if (timeoutMs !== undefined) {
        // Same error name as AbortSignal.timeout, which is what load-core classifies.
        timer = setTimeout(
          () => fail(new DOMException('attempt timed out', 'TimeoutError')),
          timeoutMs,
        );
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', fail);
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > RESPONSE_BYTES_MAX) fail(new Error(`answer over ${RESPONSE_BYTES_MAX} B`));
          else chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('aborted', () => fail(new Error('answer aborted')));
        res.on('end', () => {
          if (!settle()) return;
          resolve({
            status: res.statusCode ?? 0,
            rawHeaders: res.rawHeaders,
            body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes),
          });
        });
      });
      req.end(payload);
    });
  }

  return {
    async post(url, headers, body, timeoutMs) {
      const answer = await send(url, 'POST', headers, body, undefined, timeoutMs);
      return { status: answer.status, text: answer.body.toString('utf8') };
    },
    // packages/client reads status, headers and body through a WHATWG Response; building
    // one from the buffered answer costs far less than fetch's own request path.
    async fetch(url, init) {
      if (init.body !== undefined && init.body !== null && typeof init.body !== 'string') {
        throw new TypeError('the node-http transport sends string bodies only');
      }
      const headers = Object.fromEntries(new Headers(init.headers ?? {}));
      const answer = await send(
        url,
        init.method ?? 'GET',
        headers,
        init.body ?? undefined,
        init.signal ?? undefined,
        undefined,
      );
      const responseHeaders = new Headers();
      for (let i = 0; i + 1 < answer.rawHeaders.length; i += 2) {
        responseHeaders.append(answer.rawHeaders[i]!, answer.rawHeaders[i + 1]!);
      }
      const body = NULL_BODY_STATUSES.has(answer.status) ? null : answer.body;
      return new Response(body, { status: answer.status, headers: responseHeaders });
    },
  };
}

async function createTransport(transport: HttpTransport): Promise<LoadHttp> {
  if (transport === 'node-http') return nodeHttpTransport();
  // The first fetch loads undici (~250 ms here). Inside the first tick that stall would be
  // caught up as a burst of ~300 calls at 1,200/s, each on a new connection, and the extra
  // connects stall the next tick further. A data: URL loads it without touching a server.
  await (await globalThis.fetch('data:,')).text();
  return fetchTransport();
}

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
    nowMs: () => performance.now(),
    unixNowMs: () => Date.now(),
    setInterval: (fn, everyMs) => {
      const handle = setInterval(fn, everyMs);
      return () => clearInterval(handle);
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
