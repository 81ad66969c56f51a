/**
 * The events view's buffer (docs/dashboard.md, Events): the newest EVENTS_KEPT_MAX events of
 * `/v1/events`, oldest dropped first, with pause (the view holds still while new events keep
 * arriving into the buffer) and a filter by kind and text.
 */

/** Events kept: 500 x ~600 B (a room event with short metadata) = ~300 KB of page memory. A
 *  room's metadata may be up to 64 KiB, so the bound is in events, and the frame size below. */
export const EVENTS_KEPT_MAX = 500;
/** A frame larger than this is counted and dropped, not parsed (a room with 64 KiB of
 *  metadata is ~66 KB as JSON; the server's frames are one event each). */
export const EVENT_FRAME_CHARS_MAX = 262_144;

export type EventKind = 'rooms' | 'members' | 'ownership' | 'other';
export type EventKindFilter = 'all' | EventKind;

export interface StreamRoom {
  name: string;
  sid: string;
  homeRegion: string;
  owner: string | null;
}

export interface StreamMember {
  nodeId: string;
  region: string;
  state: string;
  incarnation: number;
}

/** One `/v1/events` frame, as the page keeps it. */
export interface StreamEvent {
  /** Arrival order in this page, from 1. */
  seq: number;
  type: string;
  /** Unix ms at the node that sent it. */
  at: number;
  /** Unix ms when this page received it. */
  receivedAtMs: number;
  nodeId: string;
  kind: EventKind;
  room?: StreamRoom;
  member?: StreamMember;
  /** `origin` of room events, `reason` of member events. */
  detail: string;
  /** Room name, member id, or the name of an ownership / superseded event. */
  subject: string;
}

export function kindOf(type: string): EventKind {
  if (type.startsWith('room-')) return 'rooms';
  if (type.startsWith('member-')) return 'members';
  if (type.startsWith('ownership-')) return 'ownership';
  return 'other';
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Parses one frame; undefined when it is not an event object. */
export function parseEvent(text: string, seq: number, receivedAtMs = 0): StreamEvent | undefined {
  if (text.length > EVENT_FRAME_CHARS_MAX) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  if (typeof o.type !== 'string' || o.type === '') return undefined;
  const event: StreamEvent = {
    seq,
    type: o.type.slice(0, 64),
    at: typeof o.at === 'number' ? o.at : 0,
    receivedAtMs,
    nodeId: str(o.nodeId),
    kind: kindOf(o.type),
    detail: str(o.origin) || str(o.reason),
    subject: str(o.name),
  };
  if (typeof o.room === 'object' && o.room !== null) {
    const r = o.room as Record<string, unknown>;
    event.room = {
      name: str(r.name),
      sid: str(r.sid),
      homeRegion: str(r.homeRegion),
      owner: typeof r.owner === 'string' ? r.owner : null,
    };
    event.subject = event.room.name;
  }
  if (typeof o.member === 'object' && o.member !== null) {
    const m = o.member as Record<string, unknown>;
    event.member = {
      nodeId: str(m.nodeId),
      region: str(m.region),
      state: str(m.state),
      incarnation: typeof m.incarnation === 'number' ? m.incarnation : 0,
    };
    event.subject = event.member.nodeId;
  }
  if (o.type === 'room-superseded') event.detail = `winner ${str(o.winnerSid)}`;
  return event;
}

export interface EventFilter {
  kind: EventKindFilter;
  /** Case-insensitive substring of the subject, type or sending node; '' = all. */
  text: string;
}

export function matches(event: StreamEvent, filter: EventFilter): boolean {
  if (filter.kind !== 'all' && event.kind !== filter.kind) return false;
  if (filter.text === '') return true;
  const needle = filter.text.toLowerCase();
  return (
    event.subject.toLowerCase().includes(needle) ||
    event.type.includes(needle) ||
    event.nodeId.toLowerCase().includes(needle)
  );
}

export class EventLog {
  private events: StreamEvent[] = [];
  private frozen: StreamEvent[] | undefined;
  private receivedCount = 0;
  private droppedCount = 0;
  private sincePause = 0;

  constructor(private readonly keptMax: number = EVENTS_KEPT_MAX) {
    if (!Number.isInteger(keptMax) || keptMax < 1) throw new RangeError('keptMax must be >= 1');
  }

  push(event: StreamEvent): void {
    this.receivedCount++;
    if (this.frozen) this.sincePause++;
    this.events.push(event);
    if (this.events.length > this.keptMax) {
      this.events.shift();
      this.droppedCount++;
    }
  }

  /** The view stops moving; events keep arriving into the buffer. */
  pause(): void {
    this.frozen ??= [...this.events];
    this.sincePause = 0;
  }

  resume(): void {
    this.frozen = undefined;
    this.sincePause = 0;
  }

  clear(): void {
    this.events = [];
    if (this.frozen) this.frozen = [];
  }

  get paused(): boolean {
    return this.frozen !== undefined;
  }

  /** Events received since the last pause (shown on the resume button). */
  get newWhilePaused(): number {
    return this.sincePause;
  }

  get received(): number {
    return this.receivedCount;
  }

  /** Events pushed out of the buffer by newer ones. */
  get dropped(): number {
    return this.droppedCount;
  }

  get size(): number {
    return this.events.length;
  }

  /** What the view shows: newest first, filtered, from the frozen copy while paused. */
  visible(filter: EventFilter): StreamEvent[] {
    const source = this.frozen ?? this.events;
    const out: StreamEvent[] = [];
    for (let i = source.length - 1; i >= 0; i--) {
      if (matches(source[i]!, filter)) out.push(source[i]!);
    }
    return out;
  }
}
