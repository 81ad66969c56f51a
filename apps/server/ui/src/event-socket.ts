/**
 * The page's one connection to `/v1/events`: every frame goes into the EventLog and to the
 * listeners (the views refresh on room and member events). A closed stream is reopened after
 * 1 s, doubling to 30 s, with a fresh token each time.
 */
import type { Session } from './api.js';
import { type EventLog, parseEvent, type StreamEvent } from './event-log.js';

export const RECONNECT_MS_MIN = 1_000;
export const RECONNECT_MS_MAX = 30_000;

export type SocketStatus =
  | { state: 'connecting' }
  | { state: 'open' }
  | { state: 'closed'; retryInMs: number };

export class EventSocket {
  private ws: WebSocket | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private retryMs = RECONNECT_MS_MIN;
  private seq = 0;
  private stopped = false;

  constructor(
    private readonly session: Session,
    private readonly log: EventLog,
    private readonly onEvent: (event: StreamEvent) => void,
    private readonly onStatus: (status: SocketStatus) => void,
  ) {}

  start(): void {
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.ws?.close(1000, 'page closed the stream');
    this.ws = undefined;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.onStatus({ state: 'connecting' });
    let url: string;
    try {
      url = await this.session.eventsUrl();
    } catch {
      this.retry();
      return;
    }
    if (this.stopped) return;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      this.retryMs = RECONNECT_MS_MIN;
      this.onStatus({ state: 'open' });
    };
    ws.onmessage = (message) => {
      if (typeof message.data !== 'string') return;
      const event = parseEvent(message.data, ++this.seq, Date.now());
      if (!event) return;
      this.log.push(event);
      this.onEvent(event);
    };
    ws.onclose = () => {
      if (this.ws === ws) this.retry();
    };
  }

  private retry(): void {
    if (this.stopped) return;
    const waitMs = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MS_MAX);
    this.onStatus({ state: 'closed', retryInMs: waitMs });
    this.timer = setTimeout(() => void this.connect(), waitMs);
  }
}
