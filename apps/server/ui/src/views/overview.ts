/**
 * Overview (docs/dashboard.md): this node (health, state, version), regions and members with
 * state, incarnation and last heard, ring checksum and digest agreement with the convergence
 * lag, counts, admission, and the latest replication lag.
 */
import type { ReadyAnswer, SeriesAnswer, StatusAnswer } from '../api-types.js';
import {
  digestAgreement,
  type MemberHistory,
  type MemberRow,
  membersInOrder,
  regionsOf,
  ringAgreement,
} from '../cluster-view.js';
import { formatAgo, formatClock, formatCount, formatDuration, formatMs } from '../format.js';
import { html } from '../html.js';

export interface OverviewProps {
  status: StatusAnswer | undefined;
  members: MemberRow[] | undefined;
  ready: ReadyAnswer | undefined;
  series: SeriesAnswer | undefined;
  /** State changes seen on the event stream since the page opened. */
  history: MemberHistory;
  nowMs: number;
}

function Field({ label, value, id }: { label: string; value: unknown; id?: string }) {
  return html`<div class="field"><dt>${label}</dt><dd data-testid=${id}>${value}</dd></div>`;
}

function Badge({ state }: { state: string }) {
  return html`<span class=${`badge state-${state}`}>${state}</span>`;
}

export function Overview({ status, members, ready, series, history, nowMs }: OverviewProps) {
  if (!status || !members) return html`<p class="muted">Loading…</p>`;
  const ring = ringAgreement(members);
  const digest = digestAgreement(members);
  const regions = regionsOf(members);
  const latest = series?.points.at(-1);
  const lagMs = series?.convergence.lagMs ?? 0;
  const shed = Object.entries(status.http.shed);
  const shedTotal = shed.reduce((s, [, n]) => s + n, 0);
  return html`
    <div class="cards">
      <section class="card">
        <h2>This node</h2>
        <dl>
          <${Field} label="node" value=${status.nodeId} id="node-id" />
          <${Field} label="region" value=${status.region} />
          <${Field} label="version" value=${status.version} />
          <${Field} label="state" value=${html`<${Badge} state=${status.state} />`} id="node-state" />
          <${Field}
            label="health"
            id="node-health"
            value=${
              ready
                ? html`<span class=${ready.ready ? 'ok' : 'bad'}>${ready.ready ? 'ready' : 'not ready'} (${ready.reason})</span>`
                : '-'
            }
          />
        </dl>
      </section>
      <section class="card">
        <h2>Agreement</h2>
        <dl>
          <${Field} label="ring checksum" value=${html`<code>${status.ringChecksum}</code>`} id="ring-checksum" />
          <${Field}
            label="ring"
            id="ring-agreement"
            value=${
              ring.agree
                ? html`<span class="ok">all ${ring.peers + 1} alive nodes agree</span>`
                : html`<span class="bad">${ring.differing.length} of ${ring.peers} peers differ: ${ring.differing.join(', ')}</span>`
            }
          />
          <${Field}
            label="store digests"
            id="digest-agreement"
            value=${
              status.convergence.converged
                ? html`<span class="ok">converged (${status.convergence.sameDigest}/${status.convergence.peers} peers)</span>`
                : html`<span class="warn-text">not converged: ${status.convergence.sameDigest}/${status.convergence.peers} peers agree${lagMs > 0 ? `, for ${formatDuration(lagMs)}` : ''}</span>`
            }
          />
          <${Field}
            label="digests differing"
            value=${digest.differing.length === 0 ? 'none' : digest.differing.join(', ')}
          />
          <${Field}
            label="replication lag"
            id="replication-lag"
            value=${
              latest && latest.replicated > 0
                ? `p50 ${formatMs(latest.replicationLagP50Ms)}, p99 ${formatMs(latest.replicationLagP99Ms)} (${latest.replicated} changes)`
                : 'no changes from other nodes in the last interval'
            }
          />
        </dl>
      </section>
      <section class="card">
        <h2>Counts</h2>
        <dl>
          <${Field} label="rooms" value=${formatCount(status.rooms)} id="count-rooms" />
          <${Field} label="owned here" value=${formatCount(status.ownedRooms)} />
          <${Field} label="incarnations" value=${formatCount(status.incarnations)} />
          <${Field} label="tombstones" value=${formatCount(status.tombstones)} />
          <${Field} label="members" value=${formatCount(status.members)} />
          <${Field} label="connected peers" value=${formatCount(status.connectedPeers)} />
          <${Field} label="pending writes" value=${formatCount(status.pendingWrites)} />
        </dl>
      </section>
      <section class="card">
        <h2>Admission</h2>
        <dl>
          <${Field} label="in flight" value=${formatCount(status.http.inFlight)} id="admission-in-flight" />
          <${Field} label="queued" value=${formatCount(status.http.queued)} id="admission-queued" />
          <${Field}
            label="shed"
            id="admission-shed"
            value=${
              shedTotal === 0
                ? '0'
                : `${formatCount(shedTotal)} (${shed.map(([r, n]) => `${r} ${formatCount(n)}`).join(', ')})`
            }
          />
          <${Field} label="service time" value=${formatMs(status.http.serviceTimeMs)} />
          <${Field}
            label="requests"
            value=${latest ? `${latest.requestsPerS.toFixed(1)}/s, p99 ${formatMs(latest.latencyP99Ms)}` : '-'}
          />
        </dl>
      </section>
    </div>

    <section class="card wide">
      <h2>Regions</h2>
      <table class="grid" data-testid="regions">
        <thead><tr><th>region</th><th class="num">alive</th><th class="num">suspect</th><th class="num">dead</th><th class="num">left</th></tr></thead>
        <tbody>
          ${regions.map(
            (r) => html`<tr data-region=${r.region}>
              <td>${r.region}</td><td class="num">${r.alive}</td><td class="num">${r.suspect}</td>
              <td class="num">${r.dead}</td><td class="num">${r.left}</td></tr>`,
          )}
        </tbody>
      </table>
    </section>

    <section class="card wide">
      <h2>Members</h2>
      <table class="grid" data-testid="members">
        <thead>
          <tr>
            <th>node</th><th>region</th><th>state</th><th class="num">incarnation</th>
            <th>last heard</th><th>in state for</th><th class="num">rooms</th><th>ring</th><th>digest</th>
            <th>recent changes</th><th>address</th>
          </tr>
        </thead>
        <tbody>
          ${membersInOrder(members).map(
            (m) => html`<tr data-node=${m.nodeId} data-state=${m.state}>
              <td>${m.nodeId}${m.self ? html` <span class="muted">(this node)</span>` : null}</td>
              <td>${m.region}</td>
              <td><${Badge} state=${m.state} /></td>
              <td class="num">${m.incarnation}</td>
              <td>${m.self ? 'self' : formatAgo(m.lastHeardMs, nowMs)}</td>
              <td>${m.stateSinceMs > 0 ? formatDuration(nowMs - m.stateSinceMs) : '-'}</td>
              <td class="num">${formatCount(m.roomCount)}</td>
              <td>${
                m.state !== 'alive' && !m.self
                  ? '-'
                  : m.ringChecksum === status.ringChecksum
                    ? html`<span class="ok">same</span>`
                    : html`<span class="bad">${m.ringChecksum || '-'}</span>`
              }</td>
              <td>${
                m.state !== 'alive' && !m.self
                  ? '-'
                  : m.storeDigest === status.storeDigest
                    ? html`<span class="ok">same</span>`
                    : html`<span class="warn-text">differs</span>`
              }</td>
              <td class="trail">${history.of(m.nodeId).map(
                (
                  t,
                  i,
                ) => html`${i > 0 ? ' → ' : ''}<span data-transition=${t.state} title=${t.reason}
                  class=${`state-text-${t.state}`}>${t.state} ${formatClock(t.atMs)}</span>`,
              )}</td>
              <td class="muted">${m.httpUrl || '-'}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </section>
  `;
}
