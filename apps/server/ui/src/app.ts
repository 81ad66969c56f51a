/**
 * The dashboard's parent: sign-in, then the tabs over one session. It polls the cheap reads
 * (/v1/status, /v1/members, /v1/series, /readyz) every POLL_MS, keeps the one /v1/events
 * connection, and refreshes at once on member and room events. A refused token (expired,
 * revoked key) ends the session with the server's reason.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, openGet, type Session } from './api.js';
import type { MembersAnswer, ReadyAnswer, SeriesAnswer, StatusAnswer } from './api-types.js';
import { MemberHistory } from './cluster-view.js';
import { EventLog } from './event-log.js';
import { EventSocket, type SocketStatus } from './event-socket.js';
import { html } from './html.js';
import { throttle, usePoll } from './poll.js';
import { ChartsView } from './views/charts.js';
import { EventsView } from './views/events.js';
import { Login } from './views/login.js';
import { Overview } from './views/overview.js';
import { RingView } from './views/ring.js';
import { RoomsView } from './views/rooms.js';

/** The overview's reads: four cheap answers from memory every 2 s. */
export const POLL_MS = 2_000;
/** Events re-render the events view at most this often (a burst of 1,000 room events is one
 *  render, not 1,000). */
export const EVENT_RENDER_MS = 200;
/** Member and room events trigger a reload at most this often. */
export const EVENT_RELOAD_MS = 250;

const TABS = [
  ['overview', 'Overview'],
  ['ring', 'Ring'],
  ['rooms', 'Rooms'],
  ['events', 'Events'],
  ['charts', 'Charts'],
] as const;
type Tab = (typeof TABS)[number][0];

function tabOf(hash: string): Tab {
  const name = hash.replace(/^#/, '');
  return TABS.find(([id]) => id === name)?.[0] ?? 'overview';
}

function useNow(periodMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), periodMs);
    return () => clearInterval(timer);
  }, [periodMs]);
  return now;
}

interface OverviewData {
  status: StatusAnswer;
  members: MembersAnswer;
  ready: ReadyAnswer | undefined;
}

function Dashboard({ session, onEnd }: { session: Session; onEnd: (why?: string) => void }) {
  const [tab, setTab] = useState<Tab>(tabOf(location.hash));
  const [eventTick, setEventTick] = useState(0);
  const [memberBump, setMemberBump] = useState(0);
  const [roomBump, setRoomBump] = useState(0);
  const [socket, setSocket] = useState<SocketStatus>({ state: 'connecting' });
  const log = useMemo(() => new EventLog(), []);
  const history = useMemo(() => new MemberHistory(), []);
  const nowMs = useNow(1_000);

  useEffect(() => {
    const onHash = () => setTab(tabOf(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    const render = throttle(() => setEventTick((n) => n + 1), EVENT_RENDER_MS);
    const members = throttle(() => setMemberBump((n) => n + 1), EVENT_RELOAD_MS);
    const rooms = throttle(() => setRoomBump((n) => n + 1), EVENT_RELOAD_MS);
    const stream = new EventSocket(
      session,
      log,
      (event) => {
        render();
        if (event.member) {
          history.record(event.member.nodeId, {
            state: event.member.state,
            atMs: event.at,
            reason: event.detail,
          });
          members();
        } else if (event.kind === 'rooms') rooms();
      },
      setSocket,
    );
    stream.start();
    return () => stream.stop();
  }, [session, log, history]);

  const overview = usePoll<OverviewData>(
    async () => {
      const [status, members, ready] = await Promise.all([
        session.get<StatusAnswer>('v1/status'),
        session.get<MembersAnswer>('v1/members'),
        openGet('readyz').then(
          (r) => r.body as ReadyAnswer,
          () => undefined,
        ),
      ]);
      return { status, members, ready };
    },
    POLL_MS,
    memberBump,
  );
  const series = usePoll(() => session.get<SeriesAnswer>('v1/series'), POLL_MS);

  // A token the node stops accepting (a pasted one expired, a key removed) ends the session.
  const refused = [overview.error, series.error].find(
    (e) =>
      e instanceof ApiError &&
      (e.failure.kind === 'credentials' || e.failure.kind === 'permission'),
  );
  useEffect(() => {
    if (refused) onEnd(refused.message);
  }, [refused, onEnd]);

  const status = overview.data?.status;
  const members = overview.data?.members.members;
  const failure = overview.error ?? series.error;
  let view: unknown;
  switch (tab) {
    case 'overview':
      view = html`<${Overview} status=${status} members=${members} ready=${overview.data?.ready}
        series=${series.data} history=${history} nowMs=${nowMs} />`;
      break;
    case 'ring':
      view = html`<${RingView} session=${session} memberBump=${memberBump} />`;
      break;
    case 'rooms':
      view = html`<${RoomsView} session=${session} members=${members} roomBump=${roomBump} nowMs=${nowMs} />`;
      break;
    case 'events':
      view = html`<${EventsView} log=${log} tick=${eventTick} status=${socket} />`;
      break;
    case 'charts':
      view = html`<${ChartsView} series=${series.data} />`;
      break;
  }
  return html`
    <header class="top">
      <h1><span class="logo" aria-hidden="true"></span> roomring</h1>
      <span class="where">${status ? `${status.nodeId} · ${status.region}` : ''}</span>
      <nav class="tabs" role="tablist">
        ${TABS.map(
          ([id, label]) => html`<a href=${`#${id}`} role="tab" aria-selected=${tab === id}
            data-tab=${id}>${label}</a>`,
        )}
      </nav>
      <span class="who muted">${session.label}</span>
      <button type="button" onClick=${() => onEnd()}>Sign out</button>
    </header>
    ${failure ? html`<p class="error banner" role="alert">${failure.message}</p>` : null}
    <div class="view" data-view=${tab}>${view}</div>
  `;
}

export function App() {
  const [session, setSession] = useState<Session | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const end = useMemo(
    () => (why?: string) => {
      setSession(undefined);
      setNotice(why);
    },
    [],
  );
  if (!session) {
    return html`<${Login} notice=${notice} onSession=${(s: Session) => {
      setNotice(undefined);
      setSession(s);
    }} />`;
  }
  return html`<${Dashboard} session=${session} onEnd=${end} />`;
}
