/**
 * Charts (docs/dashboard.md): request rate, latency p50/p99 and replication lag p50/p99 over
 * the last minutes, from /v1/series (at most SERIES_POINTS_MAX = 150 points, one per 2 s),
 * drawn by uPlot.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { SeriesAnswer } from '../api-types.js';
import { html } from '../html.js';

export const CHART_HEIGHT_PX = 220;

interface ChartSpec {
  id: string;
  title: string;
  unit: string;
  lines: {
    label: string;
    colour: string;
    value: (p: SeriesAnswer['points'][number]) => number | null;
  }[];
}

const CHARTS: readonly ChartSpec[] = [
  {
    id: 'requests',
    title: 'Requests answered',
    unit: 'req/s',
    lines: [{ label: 'requests/s', colour: '#2563eb', value: (p) => p.requestsPerS }],
  },
  {
    id: 'latency',
    title: 'Latency, arrival to answer',
    unit: 'ms',
    lines: [
      { label: 'p50', colour: '#10b981', value: (p) => p.latencyP50Ms },
      { label: 'p99', colour: '#ef4444', value: (p) => p.latencyP99Ms },
    ],
  },
  {
    id: 'replication',
    title: 'Replication lag of room changes from other nodes',
    unit: 'ms',
    lines: [
      { label: 'p50', colour: '#8b5cf6', value: (p) => p.replicationLagP50Ms },
      { label: 'p99', colour: '#f59e0b', value: (p) => p.replicationLagP99Ms },
    ],
  },
];

function dataOf(spec: ChartSpec, series: SeriesAnswer): uPlot.AlignedData {
  const xs = series.points.map((p) => p.atMs / 1_000);
  return [xs, ...spec.lines.map((l) => series.points.map((p) => l.value(p)))];
}

function Chart({ spec, series }: { spec: ChartSpec; series: SeriesAnswer }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const u = new uPlot(
      {
        width: Math.max(el.clientWidth, 300),
        height: CHART_HEIGHT_PX,
        scales: { x: { time: true } },
        axes: [{}, { label: spec.unit, size: 60 }],
        series: [
          {},
          ...spec.lines.map((l) => ({
            label: l.label,
            stroke: l.colour,
            width: 2,
            spanGaps: false,
          })),
        ],
      },
      dataOf(spec, series),
      el,
    );
    plot.current = u;
    const resize = new ResizeObserver(() => {
      u.setSize({ width: Math.max(el.clientWidth, 300), height: CHART_HEIGHT_PX });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = undefined;
    };
  }, [spec]);
  useEffect(() => {
    plot.current?.setData(dataOf(spec, series));
  }, [spec, series]);
  return html`<section class="card wide chart" data-chart=${spec.id}>
    <h2>${spec.title}</h2>
    <div ref=${box}></div>
  </section>`;
}

export function ChartsView({ series }: { series: SeriesAnswer | undefined }) {
  if (!series) return html`<p class="muted">Loading…</p>`;
  return html`
    <p class="muted">
      ${`The last ${Math.round((series.pointsMax * series.intervalMs) / 60_000)} minutes of this node, one point per ${series.intervalMs / 1_000} s (${series.points.length} of ${series.pointsMax} points so far). Requests include this page's own reads.`}
    </p>
    ${CHARTS.map((spec) => html`<${Chart} key=${spec.id} spec=${spec} series=${series} />`)}
  `;
}
