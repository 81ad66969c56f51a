/**
 * `GET /v1/events`: a WebSocket stream of the node's room and member events, one JSON text
 * frame each (api-spec.md). Auth by `Authorization: Bearer` or `?access_token=`, grant
 * `roomList`. Each event is encoded once and sent to every consumer; a consumer whose
 * unsent bytes would pass `eventBufferBytesMax` is disconnected at once (socket terminated,
 * counted): the stream never grows a buffer without bound for a reader that stopped reading.
 * Node events are subscribed only while someone listens.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RegistryEventName, RegistryEvents, RegistryNode } from '@roomring/node';
import type { FastifyBaseLogger } from 'fastify';
import { type WebSocket, WebSocketServer } from 'ws';
import { AuthenticationError, PERMISSION_DENIED, type TokenVerifier } from './auth.js';
import type { ServerConfig } from './config.js';
import type { ServerMetrics } from './metrics.js';
import { toAdminRoom } from './room-mapping.js';

export const EVENTS_PATH = '/v1/events';
/** Consumers send nothing we read; bound what they may send anyway. */
const INBOUND_FRAME_BYTES_MAX = 1_024;
/** Ping period; a consumer that has not answered the previous ping is dropped. Proxies
 *  commonly close idle connections after 60 s. */
export const PING_INTERVAL_MS = 30_000;
/** How long a closing consumer gets for the close handshake before the socket is cut. */
const CLOSE_GRACE_MS = 500;

const STREAMED_EVENTS = [
  'room-created',
  'room-updated',
  'room-deleted',
  'room-superseded',
  'member-up',
  'member-suspect',
  'member-dead',
  'member-left',
  'ownership-gained',
  'ownership-lost',
] as const satisfies readonly RegistryEventName[];

type StreamedEvent = (typeof STREAMED_EVENTS)[number];

export interface EventStreamInit {
  node: RegistryNode;
  config: Readonly<ServerConfig>;
  logger: FastifyBaseLogger;
  metrics: ServerMetrics;
  nowMs: () => number;
  tokens: TokenVerifier;
}

interface Consumer {
  ws: WebSocket;
  alive: boolean;
}

export class EventStream {
  private readonly wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    maxPayload: INBOUND_FRAME_BYTES_MAX,
    perMessageDeflate: false,
  });
  private readonly consumers = new Set<Consumer>();
  private unsubscribe: (() => void)[] = [];
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(private readonly init: EventStreamInit) {}

  /** Handles upgrades on `server` (other paths are refused with 404). */
  attach(server: Server): void {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => undefined);
      try {
        this.upgrade(request, socket, head);
      } catch (error) {
        // An upgrade listener must never throw: it would crash the process.
        this.init.logger.error({ err: error }, 'event stream upgrade failed');
        socket.destroy();
      }
    });
  }

  get size(): number {
    return this.consumers.size;
  }

  private refuse(socket: Duplex, status: number, reason: string, body: string, type: string) {
    this.init.metrics.events.refused.inc({ reason });
    const text = { 401: 'Unauthorized', 404: 'Not Found', 503: 'Service Unavailable' }[status];
    socket.end(
      `HTTP/1.1 ${status} ${text ?? 'Error'}\r\nContent-Type: ${type}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== EVENTS_PATH || this.closed) {
      this.refuse(socket, 404, 'not_found', 'not found', 'text/plain; charset=utf-8');
      return;
    }
    const { tokens } = this.init;
    let roomList: boolean;
    try {
      const header = request.headers.authorization;
      const token = url.searchParams.get('access_token');
      const grants =
        header === undefined && token !== null
          ? tokens.verify(token, this.init.nowMs())
          : tokens.authenticate(header, this.init.nowMs());
      roomList = grants.roomList;
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      this.refuse(socket, 401, 'unauthenticated', error.message, 'text/plain; charset=utf-8');
      return;
    }
    if (!roomList) {
      const body = JSON.stringify({ code: 'unauthenticated', msg: PERMISSION_DENIED, meta: {} });
      this.refuse(socket, 401, 'permission', body, 'application/json');
      return;
    }
    if (this.consumers.size >= this.init.config.eventClientsMax) {
      const body = JSON.stringify({ code: 'unavailable', msg: 'too many event consumers' });
      this.refuse(socket, 503, 'capacity', body, 'application/json');
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.add(ws));
  }

  private add(ws: WebSocket): void {
    const consumer: Consumer = { ws, alive: true };
    this.consumers.add(consumer);
    this.init.metrics.events.clients.set(this.consumers.size);
    if (this.consumers.size === 1) this.subscribe();
    ws.on('pong', () => {
      consumer.alive = true;
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      this.consumers.delete(consumer);
      this.init.metrics.events.clients.set(this.consumers.size);
      if (this.consumers.size === 0) this.unsubscribeAll();
    });
  }

  private subscribe(): void {
    for (const event of STREAMED_EVENTS) {
      this.unsubscribe.push(
        this.init.node.on(event, (payload) => this.publish(event, payload as never)),
      );
    }
    this.pingTimer = setInterval(() => this.ping(), PING_INTERVAL_MS);
    this.pingTimer.unref();
  }

  private unsubscribeAll(): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  private ping(): void {
    for (const consumer of this.consumers) {
      if (!consumer.alive) {
        consumer.ws.terminate();
        continue;
      }
      consumer.alive = false;
      consumer.ws.ping();
    }
  }

  private payloadOf<E extends StreamedEvent>(payload: RegistryEvents[E]): Record<string, unknown> {
    if ('room' in payload) {
      const room = payload.room;
      const owner = this.init.node
        .ring()
        .owner(room.name, room.homeRegion, room.pinnedNode || undefined);
      return { origin: payload.origin, room: toAdminRoom(room, owner) };
    }
    if ('member' in payload) {
      const m = payload.member;
      return {
        member: {
          nodeId: m.nodeId,
          region: m.region,
          state: m.state,
          incarnation: m.incarnation,
          httpUrl: m.httpUrl,
        },
        reason: payload.reason,
      };
    }
    return { ...payload };
  }

  private publish<E extends StreamedEvent>(event: E, payload: RegistryEvents[E]): void {
    const frame = JSON.stringify({
      type: event,
      at: this.init.nowMs(),
      nodeId: this.init.config.nodeId,
      ...this.payloadOf(payload),
    });
    const bytes = Buffer.byteLength(frame);
    const max = this.init.config.eventBufferBytesMax;
    for (const consumer of this.consumers) {
      const { ws } = consumer;
      if (ws.readyState !== ws.OPEN) continue;
      if (ws.bufferedAmount + bytes > max) {
        this.init.metrics.events.slowConsumerDisconnects.inc();
        this.init.logger.warn({ bufferedBytes: ws.bufferedAmount }, 'slow event consumer cut');
        ws.terminate();
        continue;
      }
      ws.send(frame);
      this.init.metrics.events.sent.inc();
    }
  }

  /** Closes every consumer (1001 going away) and refuses new ones. */
  close(): void {
    this.closed = true;
    for (const { ws } of this.consumers) {
      ws.close(1001, 'server shutting down');
      setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
    }
    this.unsubscribeAll();
    this.wss.close();
  }
}
