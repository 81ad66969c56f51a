/**
 * Rooms (docs/dashboard.md): a searchable, paged table of the rooms this node holds (name,
 * sid, home region, owner, participants, age); a room's owner and partners on click; and the
 * what-if view below it. The node answers at most ROOMS_FETCH_MAX rooms per search (the
 * search runs on the node, over every room); the page sorts them by name and shows
 * ROOMS_PER_PAGE per page. Reloaded every ROOMS_POLL_MS and at once on a room event.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Session } from '../api.js';
import type { OwnerAnswer, RoomsAnswer } from '../api-types.js';
import type { MemberRow } from '../cluster-view.js';
import { formatCount, formatDuration } from '../format.js';
import { html } from '../html.js';
import { usePoll } from '../poll.js';
import { WhatIf } from './whatif.js';

/** Rooms asked for per search: 1,000 x ~250 B = ~250 KB per answer. */
export const ROOMS_FETCH_MAX = 1_000;
export const ROOMS_PER_PAGE = 50;
export const ROOMS_POLL_MS = 5_000;
/** Typing pauses this long before the search goes to the node. */
export const SEARCH_DEBOUNCE_MS = 250;

export interface RoomsProps {
  session: Session;
  members: MemberRow[] | undefined;
  roomBump: number;
  nowMs: number;
}

function OwnerPanel({
  session,
  name,
  roomBump,
}: {
  session: Session;
  name: string;
  roomBump: number;
}) {
  const owner = usePoll(
    () => session.get<OwnerAnswer>(`v1/owner/${encodeURIComponent(name)}`),
    ROOMS_POLL_MS,
    `${name}|${roomBump}`,
  );
  const o = owner.data;
  return html`
    <section class="card owner" data-testid="owner-panel">
      <h2>Room <code>${name}</code></h2>
      ${owner.error ? html`<p class="error">${owner.error.message}</p>` : null}
      ${
        o
          ? html`<dl>
              <div class="field"><dt>exists</dt><dd>${o.exists ? 'yes' : 'no (deleted or never created)'}</dd></div>
              <div class="field"><dt>sid</dt><dd><code>${o.sid ?? '-'}</code></dd></div>
              <div class="field"><dt>home region</dt><dd>${o.homeRegion}</dd></div>
              <div class="field"><dt>owner</dt><dd data-testid="owner">${o.owner ?? '(no member alive)'}</dd></div>
              <div class="field"><dt>partners</dt><dd data-testid="partners">${o.partners.length > 0 ? o.partners.join(', ') : 'none'}</dd></div>
            </dl>`
          : html`<p class="muted">Loading…</p>`
      }
    </section>`;
}

export function RoomsView({ session, members, roomBump, nowMs }: RoomsProps) {
  const [input, setInput] = useState('');
  const [search, setSearch] = useState('');
  const [page, setPage] = useState(0);
  const [selected, setSelected] = useState<string | undefined>();
  useEffect(() => {
    const timer = setTimeout(() => {
      setSearch(input);
      setPage(0);
    }, SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [input]);
  const rooms = usePoll(
    () => {
      const params = new URLSearchParams({ limit: String(ROOMS_FETCH_MAX) });
      if (search !== '') params.set('q', search);
      return session.get<RoomsAnswer>('v1/rooms', params);
    },
    ROOMS_POLL_MS,
    `${search}|${roomBump}`,
  );
  const sorted = [...(rooms.data?.rooms ?? [])].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  const pages = Math.max(1, Math.ceil(sorted.length / ROOMS_PER_PAGE));
  const current = Math.min(page, pages - 1);
  const rows = sorted.slice(current * ROOMS_PER_PAGE, (current + 1) * ROOMS_PER_PAGE);
  return html`
    <section class="card wide">
      <h2>Rooms</h2>
      <div class="toolbar">
        <input type="search" placeholder="Search: part of a name, or the start of a sid"
          aria-label="search rooms" data-testid="room-search" value=${input}
          onInput=${(e: Event) => setInput((e.target as HTMLInputElement).value)} />
        <span class="muted" data-testid="room-count">
          ${rooms.data ? `${formatCount(sorted.length)}${sorted.length >= ROOMS_FETCH_MAX ? '+' : ''} room${sorted.length === 1 ? '' : 's'}` : 'loading…'}
          ${sorted.length >= ROOMS_FETCH_MAX ? ` (the first ${formatCount(ROOMS_FETCH_MAX)} matches: narrow the search)` : ''}
        </span>
      </div>
      ${rooms.error ? html`<p class="error">${rooms.error.message}</p>` : null}
      <table class="grid rooms" data-testid="rooms">
        <thead><tr><th>name</th><th>sid</th><th>home</th><th>owner</th><th class="num">participants</th><th class="num">age</th></tr></thead>
        <tbody>
          ${rows.map(
            (r) => html`<tr data-room=${r.name} class=${selected === r.name ? 'selected' : ''}>
              <td><button type="button" class="link" onClick=${() => setSelected(r.name)}>${r.name}</button></td>
              <td><code>${r.sid}</code></td>
              <td>${r.homeRegion}</td>
              <td>${r.owner ?? '-'}</td>
              <td class="num">${r.numParticipants}</td>
              <td class="num">${formatDuration(nowMs - r.createdAtMs)}</td>
            </tr>`,
          )}
        </tbody>
      </table>
      <div class="pager">
        <button type="button" disabled=${current === 0} onClick=${() => setPage(current - 1)}>‹ previous</button>
        <span data-testid="room-page">page ${current + 1} of ${pages}</span>
        <button type="button" disabled=${current >= pages - 1} onClick=${() => setPage(current + 1)}>next ›</button>
      </div>
    </section>
    ${selected !== undefined ? html`<${OwnerPanel} session=${session} name=${selected} roomBump=${roomBump} />` : null}
    <${WhatIf} session=${session} members=${members} />
  `;
}
