/**
 * `roomring watch`: the node's live event stream (`GET /v1/events`, a WebSocket), one line
 * per event for people or NDJSON with --json. Ctrl-C (or SIGTERM) closes it and exits 0; the
 * stream ending otherwise (node stopped, slow-consumer cut) exits 1.
 *
 * The typed client has no WebSocket support, so this uses `ws` (as the server does) with a
 * token from the client package's `mintAccessToken` (grant roomList). The token is checked at
 * the upgrade only, so its 10-minute lifetime does not end the stream.
 */
import { mintAccessToken } from '@roomring/client';
import type { Command } from 'commander';
import WebSocket from 'ws';
import type { CliContext } from '../cli-context.js';
import { CommandFailedError } from '../cli-errors.js';
import type { Style } from '../render/style.js';
import { printable } from '../render/text.js';
import { runAction } from '../run-action.js';

/** Largest event frame accepted: a room event carries metadata (at most 64 KiB) and a 256-byte
 *  name; 1 MiB leaves room for growth and still bounds memory. */
export const EVENT_FRAME_BYTES_MAX = 1 << 20;
export const EVENTS_PATH = '/v1/events';

type Json = Record<string, unknown>;

const str = (v: unknown): string =>
  typeof v === 'string' ? v : v === undefined ? '-' : JSON.stringify(v);

/** HH:MM:SS.mmm (UTC) of a unix-ms stamp. */
function clock(atMs: unknown): string {
  return typeof atMs === 'number' && Number.isFinite(atMs)
    ? new Date(atMs).toISOString().slice(11, 23)
    : '--:--:--.---';
}

/** One human line for one event (every string made printable). */
export function formatEvent(event: Json, style: Style): string {
  const type = str(event.type);
  let detail: string;
  const room =
    typeof event.room === 'object' && event.room !== null ? (event.room as Json) : undefined;
  const member =
    typeof event.member === 'object' && event.member !== null ? (event.member as Json) : undefined;
  if (room) {
    detail =
      `${str(room.name)} ${str(room.sid)} home=${str(room.homeRegion)} owner=${room.owner === null ? '-' : str(room.owner)}` +
      ` participants=${str(room.numParticipants)} origin=${str(event.origin)}`;
  } else if (member) {
    detail = `${str(member.nodeId)} (${str(member.region)}) state=${str(member.state)} incarnation=${str(member.incarnation)}`;
  } else if (type === 'room-superseded') {
    detail = `${str(event.name)} winner=${str(event.winnerSid)} loser=${str(event.loserSid)}`;
  } else if (type === 'ownership-gained' || type === 'ownership-lost') {
    // ownership-lost after a delete carries sid ''.
    detail = event.sid === '' ? str(event.name) : `${str(event.name)} ${str(event.sid)}`;
  } else {
    const { type: _t, at: _a, nodeId: _n, ...rest } = event;
    detail = JSON.stringify(rest);
  }
  const paint =
    type.endsWith('-deleted') ||
    type === 'member-dead' ||
    type === 'member-left' ||
    type === 'ownership-lost'
      ? style.red
      : type === 'member-suspect' || type === 'room-superseded'
        ? style.yellow
        : type.endsWith('-created') || type === 'member-up' || type === 'ownership-gained'
          ? style.green
          : (t: string) => t;
  return `${clock(event.at)}  ${printable(str(event.nodeId))}  ${paint(printable(type).padEnd(16))}  ${printable(detail)}`;
}

/** The ws:// or wss:// URL of a node's event stream. */
export function eventsUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}${EVENTS_PATH}`;
}

function watch(ctx: CliContext, json: boolean): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const url = ctx.init.url;
    const token = mintAccessToken(
      ctx.init.apiKey,
      ctx.init.apiSecret,
      { roomList: true },
      ctx.nowMs(),
    );
    const ws = new WebSocket(eventsUrl(url), {
      headers: { Authorization: `Bearer ${token}` },
      handshakeTimeout: ctx.init.timeoutMs,
      maxPayload: EVENT_FRAME_BYTES_MAX,
      perMessageDeflate: false,
    });
    let stopping = false;
    let opened = false;
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      ws.close(1000, 'bye');
      // Do not wait for the close handshake of a node that went quiet.
      resolve(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    ws.on('unexpected-response', (_request, response) => {
      const status = response.statusCode ?? 0;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body = (body + chunk).slice(0, 500);
      });
      response.on('end', () => {
        const why =
          status === 401
            ? `${url} refused the credentials (401: ${body.trim()}); check --api-key and --api-secret (ROOMRING_API_KEY, ROOMRING_API_SECRET)`
            : status === 503
              ? `${url} has too many event consumers (503), try again later or another node`
              : `${url} refused the event stream (${status}: ${body.trim()})`;
        reject(new CommandFailedError(printable(why)));
      });
    });
    ws.on('open', () => {
      opened = true;
      ctx.warn(`watching events of ${url} (Ctrl-C to stop)`);
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let event: unknown;
      try {
        event = JSON.parse(data.toString());
      } catch {
        ctx.warn('skipped a frame that is not JSON');
        return;
      }
      if (typeof event !== 'object' || event === null || Array.isArray(event)) return;
      ctx.print(json ? JSON.stringify(event) : formatEvent(event as Json, ctx.style));
    });
    ws.on('error', (error: Error & { code?: string }) => {
      if (stopping) return;
      const why = error.code ?? error.message;
      reject(
        new CommandFailedError(
          opened
            ? `event stream of ${url} failed: ${why}`
            : `cannot reach ${url} (${why}): is a roomring node listening there? (--url or ROOMRING_URL)`,
        ),
      );
    });
    ws.on('close', (code, reason) => {
      if (stopping || !opened) return;
      reject(
        new CommandFailedError(
          `${url} closed the event stream (${code} ${printable(reason.toString())})`,
        ),
      );
    });
  });
}

export function registerWatch(program: Command): void {
  program
    .command('watch')
    .description('live event stream of a node, one line per event (Ctrl-C stops)')
    .option('--json', 'one JSON object per line (NDJSON), as the node sends them')
    .action(runAction<{ json?: boolean }>((ctx, options) => watch(ctx, options.json === true)));
}
