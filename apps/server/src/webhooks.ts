/**
 * LiveKit webhooks `room_started` / `room_finished` (livekit-roomservice.md, Webhooks): a
 * POST of the `WebhookEvent` JSON (camelCase, defaults omitted) with
 * `Content-Type: application/webhook+json` and `Authorization: <JWT>` (no Bearer), HS256 with
 * the webhook key's secret, 5-minute expiry, claim `sha256` = base64(SHA-256(body)): what the
 * SDK's WebhookReceiver validates.
 *
 * Each room's webhooks are sent once in the cluster: by its owner. The owner sends
 * room_started when it learns of a new room it owns (created here or arriving by gossip) and
 * room_finished when a room it owns is deleted. A room that changes owner later (failover)
 * gets no second room_started. Delivery is a bounded FIFO (`webhookQueueMax`, newest dropped
 * and counted when full), WEBHOOK_CONCURRENCY at a time, WEBHOOK_ATTEMPTS tries each with
 * exponential back-off, then given up (counted).
 */
import { createHash, randomInt } from 'node:crypto';
import { type Room, WebhookEvent } from '@livekit/protocol';
import type { RegistryNode } from '@roomring/node';
import type { RoomRecord } from '@roomring/protocol';
import { SID_ALPHABET } from '@roomring/protocol';
import type { FastifyBaseLogger } from 'fastify';
import { signJwt } from './jwt.js';
import type { ServerMetrics } from './metrics.js';
import { toLivekitRoom } from './room-mapping.js';

/** LiveKit's webhook tokens live 5 minutes. */
const WEBHOOK_TOKEN_TTL_S = 300;
/** Deliveries at once: a slow receiver costs at most this many sockets. */
export const WEBHOOK_CONCURRENCY = 2;
/** Tries per webhook; back-off 500 ms, 1 s between them: ~6.5 s worst case with timeouts. */
export const WEBHOOK_ATTEMPTS = 3;
export const WEBHOOK_ATTEMPT_TIMEOUT_MS = 2_000;
const WEBHOOK_BACKOFF_BASE_MS = 500;
const EVENT_ID_CHARS = 12;

export type WebhookEventName = 'room_started' | 'room_finished';

export interface WebhookSenderInit {
  url: string;
  apiKey: string;
  secret: string;
  queueMax: number;
  nowMs: () => number;
  logger: FastifyBaseLogger;
  metrics: ServerMetrics['webhooks'];
}

interface Job {
  event: WebhookEventName;
  body: string;
}

export class WebhookSender {
  private readonly queue: Job[] = [];
  private active = 0;
  private stopped = false;
  private readonly inflight = new Set<AbortController>();

  constructor(private readonly init: WebhookSenderInit) {}

  /** Queues a webhook for `record`; false if it was dropped (queue full or stopped). */
  send(event: WebhookEventName, record: Readonly<RoomRecord>): boolean {
    if (this.stopped || this.queue.length >= this.init.queueMax) {
      this.init.metrics.dropped.inc({ event });
      return false;
    }
    const payload = new WebhookEvent({
      event,
      room: toLivekitRoom(record) as Room,
      id: `EV_${Array.from({ length: EVENT_ID_CHARS }, () => SID_ALPHABET[randomInt(SID_ALPHABET.length)]).join('')}`,
      createdAt: BigInt(Math.floor(this.init.nowMs() / 1_000)),
    });
    this.queue.push({ event, body: JSON.stringify(payload.toJson()) });
    this.init.metrics.queued.set(this.queue.length);
    this.pump();
    return true;
  }

  private pump(): void {
    while (!this.stopped && this.active < WEBHOOK_CONCURRENCY && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.init.metrics.queued.set(this.queue.length);
      this.active++;
      void this.deliver(job).finally(() => {
        this.active--;
        this.pump();
      });
    }
  }

  private authorization(body: string): string {
    const nowS = Math.floor(this.init.nowMs() / 1_000);
    return signJwt(
      {
        iss: this.init.apiKey,
        nbf: nowS,
        exp: nowS + WEBHOOK_TOKEN_TTL_S,
        sha256: createHash('sha256').update(body).digest('base64'),
      },
      this.init.secret,
    );
  }

  private async deliver(job: Job): Promise<void> {
    for (let attempt = 0; attempt < WEBHOOK_ATTEMPTS && !this.stopped; attempt++) {
      if (attempt > 0) {
        await new Promise((resolve) =>
          setTimeout(resolve, WEBHOOK_BACKOFF_BASE_MS * 2 ** (attempt - 1)).unref(),
        );
      }
      const abort = new AbortController();
      this.inflight.add(abort);
      const timer = setTimeout(() => abort.abort(), WEBHOOK_ATTEMPT_TIMEOUT_MS);
      try {
        const response = await fetch(this.init.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/webhook+json',
            authorization: this.authorization(job.body),
          },
          body: job.body,
          signal: abort.signal,
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) {
          this.init.metrics.sent.inc({ event: job.event });
          return;
        }
        this.init.logger.warn({ status: response.status, event: job.event }, 'webhook refused');
      } catch (error) {
        this.init.logger.warn({ err: error, event: job.event }, 'webhook delivery failed');
      } finally {
        clearTimeout(timer);
        this.inflight.delete(abort);
      }
    }
    this.init.metrics.failed.inc({ event: job.event });
  }

  /** Drops what is queued (counted) and aborts deliveries in progress. */
  stop(): void {
    this.stopped = true;
    for (const job of this.queue) this.init.metrics.dropped.inc({ event: job.event });
    this.queue.length = 0;
    this.init.metrics.queued.set(0);
    for (const abort of this.inflight) abort.abort();
  }
}

/** Sends room_started / room_finished for the rooms this node owns. Returns an unsubscribe. */
export function sendOwnedRoomWebhooks(node: RegistryNode, sender: WebhookSender): () => void {
  const owns = (room: Readonly<RoomRecord>): boolean =>
    node.ring().owner(room.name, room.homeRegion, room.pinnedNode || undefined) ===
    node.config.nodeId;
  const offs = [
    node.on('room-created', ({ room }) => {
      if (owns(room)) sender.send('room_started', room);
    }),
    node.on('room-deleted', ({ room }) => {
      if (owns(room)) sender.send('room_finished', room);
    }),
  ];
  return () => {
    for (const off of offs) off();
  };
}
