/**
 * The load generator's two HTTP clients (`transport` in the config), adapted to the
 * `LoadHttp` the run calls: the global fetch (undici), as SDK users call the API, and
 * node:http with a keep-alive agent, 3-4x cheaper per request here (load-config.ts).
 * The requests on the wire are the same.
 */
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import type { LoadHttp } from './load-calls.js';
import type { HttpTransport } from './load-config.js';

/**
 * Largest answer body the node-http transport reads: a Room JSON is ~300 B, a Twirp error
 * ~100 B; 1 MiB means a broken server, and the attempt fails as a network error.
 */
const RESPONSE_BYTES_MAX = 1024 * 1024;
/** Statuses whose Response must have a null body (the WHATWG constructor throws otherwise). */
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 204, 205, 304]);

/** The global fetch (undici), as API users of the LiveKit SDKs call the server. */
export function fetchTransport(): LoadHttp {
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
export function nodeHttpTransport(): LoadHttp {
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
        // Same error name as AbortSignal.timeout, which is what load-calls.ts classifies.
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

/** The transport `transport` names, ready for the first call. */
export async function createTransport(transport: HttpTransport): Promise<LoadHttp> {
  if (transport === 'node-http') return nodeHttpTransport();
  // The first fetch loads undici (~250 ms here). Inside the first tick that stall would be
  // caught up as a burst of ~300 calls at 1,200/s, each on a new connection, and the extra
  // connects stall the next tick further. A data: URL loads it without touching a server.
  await (await globalThis.fetch('data:,')).text();
  return fetchTransport();
}
