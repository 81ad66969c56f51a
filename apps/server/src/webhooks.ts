/**
 * LiveKit webhooks `room_started` / `room_finished` (livekit-roomservice.md, Webhooks): a
 * POST of the `WebhookEvent` JSON (camelCase, defaults omitted) with
 * `Content-Type: application/webhook+json` and `Authorization: <JWT>` (no Bearer), HS256 with
 * the webhook key's secret, 5-minute expiry, claim `sha256` = base64(SHA-256(body)): what the
 * SDK's WebhookReceiver validates.
 *
 * Each room's webhooks are sent by its owner: room_started when it learns of a new room it
 * owns (created here or arriving by gossip), room_finished when a room it owns is deleted. A
 * room that changes owner later (failover) gets no second room_started. A node that starts
 * (or restarts) receives the cluster's rooms before it knows the members, and then believes
 * it owns all of them: it decides nothing until it has joined (ready, then one
 * `suspectAfterMs` for every member's heartbeat to reach it), and then sends only for rooms
 * created (deleted) since it joined; the others were announced by their owner at the time
 * (`roomring_webhooks_skipped_total`). Around a join or a partition two nodes may both
 * believe they own a room: the event id is derived from the sid and the event, so such a
 * duplicate carries the same id and a receiver drops it (delivery is at least once per live
 * owner; a webhook queued at a node that dies is lost with it). Delivery is a bounded FIFO
 * (`webhookQueueMax`, newest dropped and counted when full), WEBHOOK_CONCURRENCY at a time,
 * WEBHOOK_ATTEMPTS tries each with exponential back-off, then given up (counted).
 */
import { createHash } from 'node:crypto';
import { type Room, WebhookEvent } from '@livekit/protocol';
import type { RegistryNode } from '@roomring/node';
import type { RoomRecord } from '@roomring/protocol';
import { hlcWallMs, SID_ALPHABET } from '@roomring/protocol';
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

/** `EV_` + 12 characters of SHA-256(event, sid): the same on every node that sends it, so a
 *  receiver can drop a duplicate by id. */
export function webhookEventId(event: WebhookEventName, sid: string): string {
  const digest = createHash('sha256').update(`${event}\n${sid}`).digest();
  let id = 'EV_';
  for (let i = 0; i < EVENT_ID_CHARS; i++) id += SID_ALPHABET[digest[i]! % SID_ALPHABET.length];
  return id;
}

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
      id: webhookEventId(event, record.sid),
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
        this.init.logger.warn(
          { url: this.init.url, status: response.status, event: job.event },
          'webhook refused',
        );
      } catch (error) {
        this.init.logger.warn(
          { url: this.init.url, err: error, event: job.event },
          'webhook delivery failed',
        );
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

/** How often a node that has not joined yet checks whether it has (ms). */
const JOIN_POLL_MS = 100;
/** Events stamped up to this long before the moment the node was seen ready still count as
 *  its own: readiness is polled, and a room created here as it became ready is announced. A
 *  room another owner announced in that second may be announced twice (same event id). */
const READY_MARGIN_MS = 1_000;
/** Room events held while a node joins, at most (the oldest is dropped beyond, counted). */
export const WEBHOOK_PENDING_MAX = 100_000;

/**
 * Sends room_started / room_finished for the rooms this node owns, from the moment it has
 * joined its cluster (see the file comment). Returns an unsubscribe.
 */
export function sendOwnedRoomWebhooks(
  node: RegistryNode,
  senders: readonly WebhookSender[],
  metrics: ServerMetrics['webhooks'],
  nowMs: () => number,
): () => void {
  const owns = (room: Readonly<RoomRecord>): boolean =>
    node.ring().owner(room.name, room.homeRegion, room.pinnedNode || undefined) ===
    node.config.nodeId;
  /** Wall time this node first was ready (heard from its cluster), then joined. */
  let readyAtMs: number | undefined;
  let joined = false;
  const pending: { event: WebhookEventName; room: Readonly<RoomRecord> }[] = [];
  const stampOf = (event: WebhookEventName, room: Readonly<RoomRecord>): number =>
    hlcWallMs(event === 'room_started' ? room.createdAt : room.deletedAt);
  const decide = (event: WebhookEventName, room: Readonly<RoomRecord>): void => {
    // Before this node joined, the room's owner was another node, which sent it.
    if (stampOf(event, room) < readyAtMs! - READY_MARGIN_MS) {
      metrics.skipped.inc({ event });
      return;
    }
    if (!owns(room)) return;
    for (const sender of senders) sender.send(event, room);
  };
  const onEvent = (event: WebhookEventName, room: Readonly<RoomRecord>): void => {
    if (joined) {
      decide(event, room);
      return;
    }
    if (pending.length >= WEBHOOK_PENDING_MAX) {
      pending.shift();
      metrics.dropped.inc({ event });
    }
    pending.push({ event, room });
  };
  const poll = setInterval(() => {
    try {
      const now = nowMs();
      if (readyAtMs === undefined) {
        if (!node.readiness().ready) return;
        readyAtMs = now;
      }
      if (now - readyAtMs < node.config.suspectAfterMs) return;
      joined = true;
      clearInterval(poll);
      for (const { event, room } of pending.splice(0)) decide(event, room);
    } catch {
      // A node stopping under us: nothing to send.
    }
  }, JOIN_POLL_MS);
  poll.unref();
  const offs = [
    node.on('room-created', ({ room }) => onEvent('room_started', room)),
    node.on('room-deleted', ({ room }) => onEvent('room_finished', room)),
  ];
  return () => {
    clearInterval(poll);
    for (const off of offs) off();
  };
}
