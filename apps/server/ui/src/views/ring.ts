/**
 * Ring (docs/dashboard.md): each region's ring as two donuts, outer = expected share of each
 * node (weight / region weight), inner = measured share (rooms it owns / rooms homed in the
 * region, from /v1/ring), with the numbers beside. Reloaded every RING_POLL_MS and at once on
 * a member event, so it follows members coming and going.
 */
import type { Session } from '../api.js';
import type { RingAnswer } from '../api-types.js';
import { formatCount, formatPercent } from '../format.js';
import { html } from '../html.js';
import { usePoll } from '../poll.js';
import { colourOf, donutArcs } from '../ring-arcs.js';

/** /v1/ring counts owners over up to 100k rooms (~0.3 s of the node's thread at that size),
 *  so it is asked less often than the cheap reads, and only while this view is open. */
export const RING_POLL_MS = 5_000;

const SIZE = 200;
const C = SIZE / 2;

export function RingView({ session, memberBump }: { session: Session; memberBump: number }) {
  const ring = usePoll(() => session.get<RingAnswer>('v1/ring'), RING_POLL_MS, memberBump);
  if (ring.error && !ring.data) return html`<p class="error">${ring.error.message}</p>`;
  if (!ring.data) return html`<p class="muted">Loading…</p>`;
  const { data } = ring;
  return html`
    <p>
      ${'Ring checksum '}<code data-testid="ring-view-checksum">${data.checksum}</code>${': '}
      ${data.agree ? html`<span class="ok">every alive member reports it</span>` : html`<span class="bad">some alive members report another checksum</span>`}${'. '}
      ${`Measured shares over ${formatCount(data.roomsCounted)} rooms${data.complete ? '' : ' (a sample: the node counts at most 100,000)'}. `}
      <span class="muted">Outer ring: expected share; inner ring: measured share.</span>
    </p>
    <div class="cards">
      ${data.regions.map((region) => {
        const nodes = [...region.nodes].sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
        const colour = new Map(nodes.map((n, i) => [n.nodeId, colourOf(i)]));
        const expected = donutArcs(
          nodes.map((n) => ({ nodeId: n.nodeId, share: n.expectedShare })),
          C,
          C,
          96,
          76,
        );
        const measured = donutArcs(
          nodes.map((n) => ({ nodeId: n.nodeId, share: n.measuredShare })),
          C,
          C,
          70,
          50,
        );
        const rooms = nodes.reduce((s, n) => s + n.rooms, 0);
        return html`
          <section class="card ring" data-region=${region.region}>
            <h2>${region.region}</h2>
            <svg class="donut" viewBox=${`0 0 ${SIZE} ${SIZE}`} width=${SIZE} height=${SIZE} role="img"
              aria-label=${`ring of ${region.region}`}>
              <circle cx=${C} cy=${C} r="86" class="track" />
              <circle cx=${C} cy=${C} r="60" class="track" />
              ${expected.map((a) => html`<path d=${a.path} fill=${colour.get(a.nodeId)} data-arc="expected" data-node=${a.nodeId}><title>${a.nodeId}: expected ${formatPercent(a.share)}</title></path>`)}
              ${measured.map((a) => html`<path d=${a.path} fill=${colour.get(a.nodeId)} opacity="0.75" data-arc="measured" data-node=${a.nodeId}><title>${a.nodeId}: measured ${formatPercent(a.share)}</title></path>`)}
              <text x=${C} y=${C - 4} text-anchor="middle" class="ring-label">${formatCount(rooms)}</text>
              <text x=${C} y=${C + 14} text-anchor="middle" class="ring-sub">rooms</text>
            </svg>
            <table class="grid">
              <thead><tr><th>node</th><th class="num">weight</th><th class="num">points</th><th class="num">expected</th><th class="num">measured</th><th class="num">rooms</th></tr></thead>
              <tbody>
                ${nodes.map(
                  (n) => html`<tr data-node=${n.nodeId}>
                    <td><svg class="swatch" viewBox="0 0 10 10" width="10" height="10"><rect width="10" height="10" fill=${colour.get(n.nodeId)} /></svg> ${n.nodeId}</td>
                    <td class="num">${n.weight}</td><td class="num">${formatCount(n.points)}</td>
                    <td class="num" data-testid="expected">${formatPercent(n.expectedShare)}</td>
                    <td class="num" data-testid="measured">${formatPercent(n.measuredShare)}</td>
                    <td class="num">${formatCount(n.rooms)}</td></tr>`,
                )}
              </tbody>
            </table>
            <p class="muted small">region checksum <code>${region.checksum}</code></p>
          </section>`;
      })}
    </div>
    ${ring.error ? html`<p class="error">Last refresh failed: ${ring.error.message}</p>` : null}
  `;
}
