/**
 * Events (docs/dashboard.md): the live `/v1/events` stream, newest first, with pause and a
 * filter by kind and text. The page keeps the newest EVENTS_KEPT_MAX events (event-log.ts);
 * while paused the view holds still and new events go on into the buffer.
 */
import { useState } from 'preact/hooks';
import {
  EVENTS_KEPT_MAX,
  type EventKindFilter,
  type EventLog,
  type StreamEvent,
} from '../event-log.js';
import type { SocketStatus } from '../event-socket.js';
import { formatClock, formatCount, formatDuration } from '../format.js';
import { html } from '../html.js';

export interface EventsProps {
  log: EventLog;
  /** Changes whenever the log does, so the view renders again. */
  tick: number;
  status: SocketStatus;
}

function statusText(status: SocketStatus): string {
  if (status.state === 'open') return 'live';
  if (status.state === 'connecting') return 'connecting…';
  return `disconnected, retrying in ${formatDuration(status.retryInMs)}`;
}

function describe(e: StreamEvent): string {
  if (e.member)
    return `${e.member.state} (incarnation ${e.member.incarnation}, ${e.member.region})`;
  if (e.room) return `${e.room.sid} home ${e.room.homeRegion}, owner ${e.room.owner ?? '-'}`;
  return '';
}

export function EventsView({ log, status }: EventsProps) {
  const [kind, setKind] = useState<EventKindFilter>('all');
  const [text, setText] = useState('');
  const [, setPausedView] = useState(log.paused);
  const events = log.visible({ kind, text });
  const togglePause = () => {
    if (log.paused) log.resume();
    else log.pause();
    setPausedView(log.paused);
  };
  return html`
    <section class="card wide">
      <h2>Events <span class=${`badge stream-${status.state}`} data-testid="stream-status">${statusText(status)}</span></h2>
      <div class="toolbar">
        <button type="button" data-testid="events-pause" onClick=${togglePause}>
          ${log.paused ? `Resume (${formatCount(log.newWhilePaused)} new)` : 'Pause'}
        </button>
        <select aria-label="kind of event" data-testid="events-kind" value=${kind}
          onChange=${(e: Event) => setKind((e.target as HTMLSelectElement).value as EventKindFilter)}>
          <option value="all">all events</option>
          <option value="rooms">rooms</option>
          <option value="members">members</option>
          <option value="ownership">ownership</option>
          <option value="other">other</option>
        </select>
        <input type="search" placeholder="Filter: room, node or type" aria-label="filter events"
          data-testid="events-filter" value=${text}
          onInput=${(e: Event) => setText((e.target as HTMLInputElement).value)} />
        <button type="button" onClick=${() => {
          log.clear();
          setPausedView(log.paused);
        }}>Clear</button>
        <span class="muted">${`${formatCount(events.length)} shown; keeps the newest ${formatCount(EVENTS_KEPT_MAX)} (${formatCount(log.received)} received${log.dropped > 0 ? `, ${formatCount(log.dropped)} dropped` : ''})`}</span>
      </div>
      <ol class="events" data-testid="events">
        ${events.map(
          (e) => html`<li key=${e.seq} data-type=${e.type} data-subject=${e.subject}
            data-received-at=${e.receivedAtMs} class=${`kind-${e.kind}`}>
            <time>${formatClock(e.at)}</time>
            <span class="type">${e.type}</span>
            <strong class="subject">${e.subject}</strong>
            <span class="muted">${describe(e)}${e.detail ? ` · ${e.detail}` : ''} · from ${e.nodeId}</span>
          </li>`,
        )}
      </ol>
    </section>
  `;
}
