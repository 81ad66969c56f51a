/**
 * Hand-written SVG line charts for the benchmark report (docs/benchmarks.md).
 *
 * No dependencies: the output is one standalone `<svg>` document (xmlns, viewBox, white
 * background, no scripts, no external references, no ids) so GitHub renders it through an
 * `<img>` tag in markdown. Output is a pure function of the input: the same `ChartInit` gives a
 * byte-identical string, so re-running a report only changes files whose numbers changed.
 */

/** Default image width in px: fits GitHub's ~780 px markdown column without scaling. */
export const DEFAULT_CHART_WIDTH_PX = 760;
/** Default image height in px: 2.5:1 keeps a 120 s per-second series readable. */
export const DEFAULT_CHART_HEIGHT_PX = 300;
/** Smallest accepted image: below this the axes, labels and legend overlap. */
export const CHART_SIZE_MIN_PX = 200;
/** Largest accepted image side: 4000 px is already far beyond any screen column. */
export const CHART_SIZE_MAX_PX = 4000;
/**
 * Series per chart. 16 distinct lines is past what a reader can tell apart; the limit also
 * bounds the legend to a few rows.
 */
export const CHART_SERIES_MAX = 16;
/**
 * Points per series. A 10-minute per-second run is 600 points; 100k points x ~12 bytes per
 * "x,y " pair keeps one line under ~1.2 MB of SVG.
 */
export const CHART_POINTS_PER_SERIES_MAX = 100_000;
/** Markers per chart: a handful of events (region killed, clients moved) is the use. */
export const CHART_MARKERS_MAX = 32;
/**
 * Legend text is cut to this many characters (plus an ellipsis): about 400 px at 12 px, so one
 * untrusted, very long series name cannot push the legend off the image.
 */
export const LEGEND_NAME_CHARS_MAX = 60;
/** Tick count the 1-2-5 linear step aims at: 5 gridlines over ~230 px leaves ~45 px each. */
export const LINEAR_TICK_TARGET = 5;
/** Decade ticks on a log axis before every other one is dropped (9 decades = 1 ns .. 1 s). */
export const LOG_TICKS_MAX = 8;

/**
 * Okabe & Ito (2008) colour-blind-safe palette, reordered so the first colours have the most
 * contrast on white; the yellow (#F0E442, 1.2:1 contrast on white) is last.
 */
export const DEFAULT_PALETTE: readonly string[] = Object.freeze([
  '#0072B2',
  '#D55E00',
  '#009E73',
  '#CC79A7',
  '#E69F00',
  '#56B4E9',
  '#000000',
  '#F0E442',
]);

export interface ChartSeries {
  /** Legend text; untrusted (escaped for XML). */
  name: string;
  /** [x, y] pairs in x order; y `null` (or a non-finite number) is a gap in the line. */
  points: ReadonlyArray<readonly [number, number | null]>;
  /** CSS colour; default: `DEFAULT_PALETTE[seriesIndex % 8]`. */
  color?: string;
  /** Dashed stroke, e.g. for a baseline. @default false */
  dashed?: boolean;
}

export interface ChartMarker {
  /** Position on the x axis; the x range is widened to include it. */
  x: number;
  /** Text drawn at the top of the vertical dashed line, e.g. "region killed". */
  label: string;
}

export interface ChartInit {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  /** Vertical dashed line + label per marker. At most `CHART_MARKERS_MAX`. */
  markers?: readonly ChartMarker[];
  /**
   * `log` for latency (p99 spans 1 ms .. 5 s); on a log axis values <= 0 are clamped to the
   * axis minimum. @default 'linear'
   */
  yScale?: 'linear' | 'log';
  /** Fixed lower y bound; values below it are drawn on the bottom edge. @default data minimum (0 for linear) */
  yMin?: number;
  /** Fixed upper y bound; values above it are drawn on the top edge. @default data maximum */
  yMax?: number;
  /** @default DEFAULT_CHART_WIDTH_PX (760) */
  width?: number;
  /** @default DEFAULT_CHART_HEIGHT_PX (300) */
  height?: number;
}

/** The chart options are unusable (bad size, range, or past a documented limit). */
export class ChartInitError extends Error {
  override readonly name = 'ChartInitError';
}

/** A nice axis: its domain (aligned to ticks where possible) and the tick values in it. */
export interface AxisTicks {
  min: number;
  max: number;
  ticks: number[];
}

// ---------------------------------------------------------------------------------------------
// Tick helpers (pure, exported for tests)
// ---------------------------------------------------------------------------------------------

/**
 * The 1, 2 or 5 x 10^k nearest to `rawStep` (> 0) on a log scale (d3's thresholds: sqrt(2),
 * sqrt(10), sqrt(50)), so a 0..119 s axis with 5 wanted intervals gets a step of 20 (6 ticks)
 * rather than 50 (3 ticks).
 */
export function niceStep(rawStep: number): number {
  const exponent = Math.floor(Math.log10(rawStep));
  const decade = 10 ** exponent;
  const fraction = rawStep / decade;
  const mantissa =
    fraction >= Math.SQRT2 * 5
      ? 10
      : fraction >= Math.sqrt(10)
        ? 5
        : fraction >= Math.SQRT2
          ? 2
          : 1;
  return roundTo(mantissa * decade, exponent);
}

/**
 * Linear ticks on a 1-2-5 step, about `target` intervals (between ~0.7x and ~1.4x of it); the domain is widened outward to the
 * neighbouring ticks (0..37 -> 0..40 by 10). A zero-width range is widened around the value.
 */
export function linearTicks(min: number, max: number, target = LINEAR_TICK_TARGET): AxisTicks {
  let lo = Math.min(min, max);
  let hi = Math.max(min, max);
  if (hi - lo < Math.abs(hi) * 1e-12 || hi === lo) {
    // One distinct value: show it mid-axis, or 0..1 for zero.
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.5;
    lo = lo === 0 ? 0 : lo - pad;
    hi = hi + pad;
  }
  const step = niceStep((hi - lo) / Math.max(1, target));
  const exponent = Math.floor(Math.log10(step));
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(roundTo(i * step, exponent));
  return { min: ticks[0]!, max: ticks[ticks.length - 1]!, ticks };
}

/**
 * Log ticks: the powers of ten inside the domain (0.8..4000 -> 1, 10, 100, 1000). The domain is
 * widened outward to the next 1-2-5 value (0.8 -> 0.5, 4000 -> 5000) rather than a whole decade,
 * which would waste up to a quarter of a 4-decade plot. A range holding fewer than two powers of
 * ten also gets 2 and 5 multiples; more than `LOG_TICKS_MAX` decades keeps every other one.
 * Both bounds must be > 0.
 */
export function logTicks(min: number, max: number): AxisTicks {
  let lo = Math.min(min, max);
  let hi = Math.max(min, max);
  if (!(lo > 0)) throw new ChartInitError(`log axis needs a minimum > 0, got ${lo}`);
  lo = niceLogFloor(lo);
  hi = niceLogCeil(hi);
  if (hi <= lo) hi = niceLogCeil(lo * 1.01);
  const firstExp = Math.ceil(Math.log10(lo) - 1e-9);
  const lastExp = Math.floor(Math.log10(hi) + 1e-9);
  let ticks: number[] = [];
  for (let e = firstExp; e <= lastExp; e++) ticks.push(roundTo(10 ** e, e));
  if (ticks.length < 2) {
    ticks = [];
    for (let e = firstExp - 1; e <= lastExp; e++) {
      for (const m of [1, 2, 5]) {
        const v = roundTo(m * 10 ** e, e);
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push(v);
      }
    }
  } else if (ticks.length > LOG_TICKS_MAX) {
    const stride = Math.ceil(ticks.length / LOG_TICKS_MAX);
    ticks = ticks.filter((_, i) => i % stride === 0);
  }
  return { min: lo, max: hi, ticks };
}

/**
 * Tick labels for one axis. Plain numbers (1, 10, 100, 1000, 0.5); when the largest tick
 * reaches 10,000 every tick >= 1000 uses a k suffix (5k, 10k), >= 10^7 an M suffix, so the
 * labels of one axis share a form and stay under ~5 characters.
 */
export function formatTicks(ticks: readonly number[]): string[] {
  const largest = ticks.reduce((acc, t) => Math.max(acc, Math.abs(t)), 0);
  return ticks.map((t) => {
    const abs = Math.abs(t);
    if (largest >= 1e7 && abs >= 1e6) return `${trimNumber(t / 1e6)}M`;
    if (largest >= 1e4 && abs >= 1e3) return `${trimNumber(t / 1e3)}k`;
    return trimNumber(t);
  });
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

// Layout in px, for the 760x300 default: left room for 5-character tick labels and the rotated
// y label, top room for the title (baseline 20) then legend rows of 18 px under it, bottom for
// tick labels + x label.
const MARGIN_LEFT_PX = 64;
const MARGIN_RIGHT_PX = 20;
const MARGIN_TOP_PX = 36;
const TITLE_BASELINE_PX = 20;
const LEGEND_FIRST_BASELINE_PX = 40;
const MARGIN_BOTTOM_PX = 44;
const LEGEND_ROW_PX = 18;
const LEGEND_SWATCH_PX = 18;
// Average glyph width of 12 px sans-serif, to wrap the legend without measuring text.
const CHAR_WIDTH_PX = 6.8;
const FONT_PX = 12;
const TITLE_FONT_PX = 14;
const DASH_PATTERN = '6 4';
const MARKER_DASH_PATTERN = '4 3';
const AXIS_COLOR = '#333';
const GRID_COLOR = '#e5e5e5';
const MARKER_COLOR = '#555';
const STROKE_WIDTH_PX = 1.8;

interface Plot {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

interface Scale {
  axis: AxisTicks;
  toPx: (v: number) => number;
}

/** Renders a complete standalone SVG document. Pure and deterministic. */
export function renderLineChart(init: ChartInit): string {
  const width = init.width ?? DEFAULT_CHART_WIDTH_PX;
  const height = init.height ?? DEFAULT_CHART_HEIGHT_PX;
  validate(init, width, height);
  const yLog = (init.yScale ?? 'linear') === 'log';
  const markers = init.markers ?? [];
  const series = init.series.map((s, i) => ({
    name: truncate(s.name, LEGEND_NAME_CHARS_MAX),
    color: s.color ?? DEFAULT_PALETTE[i % DEFAULT_PALETTE.length]!,
    dashed: s.dashed === true,
    points: s.points.filter((p) => Number.isFinite(p[0])),
  }));

  const legend = layoutLegend(
    series.map((s) => s.name),
    width,
  );
  const plot: Plot = {
    left: MARGIN_LEFT_PX,
    top: MARGIN_TOP_PX + legend.rows * LEGEND_ROW_PX + (legend.rows > 0 ? 8 : 0),
    right: width - MARGIN_RIGHT_PX,
    bottom: height - MARGIN_BOTTOM_PX,
  };
  if (plot.bottom - plot.top < 40) {
    throw new ChartInitError(`height ${height} px leaves no room for the plot under the legend`);
  }

  const ys: number[] = [];
  const xs: number[] = [];
  for (const s of series) {
    for (const [x, y] of s.points) {
      if (y === null || !Number.isFinite(y)) continue;
      xs.push(x);
      if (!yLog || y > 0) ys.push(y);
    }
  }
  const hasData = xs.length > 0;
  for (const m of markers) xs.push(m.x);

  const xScale = makeScale(linearExtent(xs, 0, 1), false, plot.left, plot.right);
  const yExtent = yLog ? logExtent(ys, init.yMin, init.yMax) : linYExtent(ys, init.yMin, init.yMax);
  const yScale = makeScale(yExtent, yLog, plot.bottom, plot.top);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" ` +
      `font-size="${FONT_PX}">`,
  );
  out.push(`<title>${escapeXml(init.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(
    `<text x="${n(width / 2)}" y="${TITLE_BASELINE_PX}" text-anchor="middle" font-size="${TITLE_FONT_PX}" ` +
      `font-weight="bold">${escapeXml(init.title)}</text>`,
  );
  renderAxes(out, plot, xScale, yScale, init.xLabel, init.yLabel);
  renderMarkers(out, plot, xScale, markers);
  if (hasData) {
    for (const s of series) renderSeries(out, s, xScale, yScale);
  } else {
    out.push(
      `<text x="${n((plot.left + plot.right) / 2)}" y="${n((plot.top + plot.bottom) / 2)}" ` +
        `text-anchor="middle" fill="#888" font-size="${TITLE_FONT_PX}">no data</text>`,
    );
  }
  renderLegend(out, series, legend);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function validate(init: ChartInit, width: number, height: number): void {
  for (const [label, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isFinite(v) || v < CHART_SIZE_MIN_PX || v > CHART_SIZE_MAX_PX) {
      throw new ChartInitError(
        `${label} must be ${CHART_SIZE_MIN_PX}..${CHART_SIZE_MAX_PX} px, got ${v}`,
      );
    }
  }
  if (init.series.length > CHART_SERIES_MAX) {
    throw new ChartInitError(`${init.series.length} series, limit is ${CHART_SERIES_MAX}`);
  }
  for (const s of init.series) {
    if (s.points.length > CHART_POINTS_PER_SERIES_MAX) {
      throw new ChartInitError(
        `series has ${s.points.length} points, limit is ${CHART_POINTS_PER_SERIES_MAX}`,
      );
    }
  }
  const markers = init.markers ?? [];
  if (markers.length > CHART_MARKERS_MAX) {
    throw new ChartInitError(`${markers.length} markers, limit is ${CHART_MARKERS_MAX}`);
  }
  if (markers.some((m) => !Number.isFinite(m.x))) {
    throw new ChartInitError('marker x must be finite');
  }
  const { yMin, yMax } = init;
  if (yMin !== undefined && !Number.isFinite(yMin)) throw new ChartInitError('yMin must be finite');
  if (yMax !== undefined && !Number.isFinite(yMax)) throw new ChartInitError('yMax must be finite');
  if (yMin !== undefined && yMax !== undefined && yMin >= yMax) {
    throw new ChartInitError(`yMin ${yMin} must be below yMax ${yMax}`);
  }
  if (init.yScale === 'log') {
    if (yMin !== undefined && yMin <= 0) throw new ChartInitError('log axis needs yMin > 0');
    if (yMax !== undefined && yMax <= 0) throw new ChartInitError('log axis needs yMax > 0');
  }
}

function linearExtent(values: readonly number[], emptyMin: number, emptyMax: number): AxisTicks {
  if (values.length === 0) return linearTicks(emptyMin, emptyMax);
  let lo = values[0]!;
  let hi = values[0]!;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  // The x axis spans exactly the data (time series start and end at the run's edges).
  if (lo === hi) return linearTicks(lo, hi);
  const t = linearTicks(lo, hi);
  return { min: lo, max: hi, ticks: t.ticks.filter((v) => v >= lo - 1e-9 && v <= hi + 1e-9) };
}

function linYExtent(ys: readonly number[], yMin?: number, yMax?: number): AxisTicks {
  // Throughput and counts read honestly only from zero: default the bottom to min(0, data).
  let lo = yMin ?? Math.min(0, ys.length > 0 ? minOf(ys) : 0);
  let hi = yMax ?? (ys.length > 0 ? maxOf(ys) : 1);
  if (yMin !== undefined && yMax === undefined && hi <= lo) hi = lo + 1;
  if (yMax !== undefined && yMin === undefined && lo >= hi) lo = hi - 1;
  const t = linearTicks(lo, hi);
  if (yMin === undefined && yMax === undefined) return t;
  // A fixed bound is kept exactly; the other side is still rounded out to a tick.
  lo = yMin ?? t.min;
  hi = yMax ?? t.max;
  return { min: lo, max: hi, ticks: t.ticks.filter((v) => v >= lo - 1e-9 && v <= hi + 1e-9) };
}

function logExtent(ys: readonly number[], yMin?: number, yMax?: number): AxisTicks {
  let lo = yMin ?? (ys.length > 0 ? minOf(ys) : 1);
  let hi = yMax ?? (ys.length > 0 ? maxOf(ys) : 1000);
  if (hi <= lo) {
    if (yMax === undefined) hi = lo * 10;
    else lo = hi / 10;
  }
  const t = logTicks(lo, hi);
  if (yMin === undefined && yMax === undefined) return t;
  lo = yMin ?? t.min;
  hi = yMax ?? t.max;
  return {
    min: lo,
    max: hi,
    ticks: t.ticks.filter((v) => v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)),
  };
}

function makeScale(axis: AxisTicks, log: boolean, fromPx: number, toPx: number): Scale {
  const f = log ? Math.log10 : (v: number) => v;
  const a = f(axis.min);
  const b = f(axis.max);
  const span = b - a || 1;
  return {
    axis,
    toPx: (v: number) => {
      // Clamp into the domain: log values <= 0 and values past a fixed yMin/yMax sit on the edge.
      const clamped = Math.min(axis.max, Math.max(axis.min, v));
      return fromPx + ((f(clamped) - a) / span) * (toPx - fromPx);
    },
  };
}

function renderAxes(
  out: string[],
  plot: Plot,
  xScale: Scale,
  yScale: Scale,
  xLabel: string,
  yLabel: string,
): void {
  const yLabels = formatTicks(yScale.axis.ticks);
  yScale.axis.ticks.forEach((t, i) => {
    const y = n(yScale.toPx(t));
    out.push(
      `<line x1="${plot.left}" y1="${y}" x2="${plot.right}" y2="${y}" stroke="${GRID_COLOR}"/>`,
    );
    out.push(
      `<text x="${plot.left - 6}" y="${n(yScale.toPx(t) + 4)}" text-anchor="end">` +
        `${escapeXml(yLabels[i]!)}</text>`,
    );
  });
  const xLabels = formatTicks(xScale.axis.ticks);
  xScale.axis.ticks.forEach((t, i) => {
    const x = n(xScale.toPx(t));
    out.push(
      `<line x1="${x}" y1="${plot.bottom}" x2="${x}" y2="${plot.bottom + 4}" stroke="${AXIS_COLOR}"/>`,
    );
    out.push(
      `<text x="${x}" y="${plot.bottom + 17}" text-anchor="middle">${escapeXml(xLabels[i]!)}</text>`,
    );
  });
  out.push(
    `<polyline points="${plot.left},${plot.top} ${plot.left},${plot.bottom} ` +
      `${plot.right},${plot.bottom}" fill="none" stroke="${AXIS_COLOR}"/>`,
  );
  out.push(
    `<text x="${n((plot.left + plot.right) / 2)}" y="${plot.bottom + 36}" ` +
      `text-anchor="middle">${escapeXml(xLabel)}</text>`,
  );
  const cy = n((plot.top + plot.bottom) / 2);
  out.push(
    `<text x="16" y="${cy}" text-anchor="middle" transform="rotate(-90 16 ${cy})">` +
      `${escapeXml(yLabel)}</text>`,
  );
}

function renderMarkers(
  out: string[],
  plot: Plot,
  xScale: Scale,
  markers: readonly ChartMarker[],
): void {
  for (const m of markers) {
    const x = n(xScale.toPx(m.x));
    // Labels past the middle are right-aligned so they stay inside the image.
    const anchor = xScale.toPx(m.x) > (plot.left + plot.right) / 2 ? 'end' : 'start';
    const dx = anchor === 'end' ? -3 : 3;
    out.push(
      `<line x1="${x}" y1="${plot.top}" x2="${x}" y2="${plot.bottom}" stroke="${MARKER_COLOR}" ` +
        `stroke-dasharray="${MARKER_DASH_PATTERN}"/>`,
    );
    out.push(
      `<text x="${n(xScale.toPx(m.x) + dx)}" y="${plot.top + 11}" text-anchor="${anchor}" ` +
        `fill="${MARKER_COLOR}" font-size="11">${escapeXml(m.label)}</text>`,
    );
  }
}

interface ResolvedSeries {
  name: string;
  color: string;
  dashed: boolean;
  points: ReadonlyArray<readonly [number, number | null]>;
}

function renderSeries(out: string[], s: ResolvedSeries, xScale: Scale, yScale: Scale): void {
  const color = escapeXml(s.color);
  const dash = s.dashed ? ` stroke-dasharray="${DASH_PATTERN}"` : '';
  for (const run of splitRuns(s.points)) {
    const coords = run.map(([x, y]) => `${n(xScale.toPx(x))},${n(yScale.toPx(y))}`);
    if (coords.length === 1) {
      // A lone point between gaps has no segment to draw: show it as a dot.
      const [cx, cy] = coords[0]!.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="2" fill="${color}"/>`);
    } else {
      out.push(
        `<polyline points="${coords.join(' ')}" fill="none" stroke="${color}" ` +
          `stroke-width="${STROKE_WIDTH_PX}" stroke-linejoin="round"${dash}/>`,
      );
    }
  }
}

/** Splits a series at null / non-finite y values into runs of plottable points. */
export function splitRuns(
  points: ReadonlyArray<readonly [number, number | null]>,
): Array<Array<readonly [number, number]>> {
  const runs: Array<Array<readonly [number, number]>> = [];
  let current: Array<readonly [number, number]> = [];
  for (const [x, y] of points) {
    if (y === null || !Number.isFinite(y) || !Number.isFinite(x)) {
      if (current.length > 0) runs.push(current);
      current = [];
    } else {
      current.push([x, y]);
    }
  }
  if (current.length > 0) runs.push(current);
  return runs;
}

interface LegendLayout {
  rows: number;
  items: Array<{ x: number; y: number }>;
}

function layoutLegend(names: readonly string[], width: number): LegendLayout {
  const items: Array<{ x: number; y: number }> = [];
  const left = MARGIN_LEFT_PX;
  const right = width - MARGIN_RIGHT_PX;
  let x = left;
  let row = 0;
  for (const name of names) {
    const itemWidth = LEGEND_SWATCH_PX + 6 + name.length * CHAR_WIDTH_PX + 16;
    if (x > left && x + itemWidth > right) {
      row++;
      x = left;
    }
    items.push({ x, y: LEGEND_FIRST_BASELINE_PX + row * LEGEND_ROW_PX });
    x += itemWidth;
  }
  return { rows: names.length === 0 ? 0 : row + 1, items };
}

function renderLegend(
  out: string[],
  series: readonly ResolvedSeries[],
  legend: LegendLayout,
): void {
  series.forEach((s, i) => {
    const { x, y } = legend.items[i]!;
    const dash = s.dashed ? ` stroke-dasharray="${DASH_PATTERN}"` : '';
    out.push(
      `<line x1="${n(x)}" y1="${y - 4}" x2="${n(x + LEGEND_SWATCH_PX)}" y2="${y - 4}" ` +
        `stroke="${escapeXml(s.color)}" stroke-width="3"${dash}/>`,
    );
    out.push(`<text x="${n(x + LEGEND_SWATCH_PX + 6)}" y="${y}">${escapeXml(s.name)}</text>`);
  });
}

// ---------------------------------------------------------------------------------------------
// Small pure helpers
// ---------------------------------------------------------------------------------------------

/** Escapes text and attribute values for XML (names are untrusted: & < > " '). */
export function escapeXml(text: string): string {
  let out = '';
  for (const ch of text) {
    switch (ch) {
      case '&':
        out += '&amp;';
        break;
      case '<':
        out += '&lt;';
        break;
      case '>':
        out += '&gt;';
        break;
      case '"':
        out += '&quot;';
        break;
      case "'":
        out += '&apos;';
        break;
      default: {
        // XML 1.0 forbids most C0 controls even as references; drop them.
        const code = ch.codePointAt(0)!;
        if (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) break;
        if (code === 0xfffe || code === 0xffff || (code >= 0xd800 && code <= 0xdfff)) break;
        out += ch;
      }
    }
  }
  return out;
}

/** Cuts `text` to `max` code points, marking the cut with an ellipsis. */
function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}\u2026`;
}

/** A coordinate rounded to 0.1 px (keeps files small; finer is invisible). */
function n(v: number): string {
  const r = Math.round(v * 10) / 10;
  return Object.is(r, -0) ? '0' : String(r);
}

/** A tick value without float noise (0.30000000000000004 -> "0.3"). */
function trimNumber(v: number): string {
  const r = Number(v.toPrecision(12));
  return Object.is(r, -0) ? '0' : String(r);
}

/** Rounds `v` to the decimal places a step of 10^exponent needs (0.1 * 3 -> 0.3). */
function roundTo(v: number, exponent: number): number {
  const decimals = Math.max(0, -exponent);
  return decimals > 0 ? Number(v.toFixed(Math.min(decimals, 20))) : Math.round(v);
}

function niceLogFloor(v: number): number {
  const e = Math.floor(Math.log10(v) + 1e-12);
  const d = 10 ** e;
  const m = v / d;
  const nice = m >= 5 - 1e-9 ? 5 : m >= 2 - 1e-9 ? 2 : 1;
  return roundTo(nice * d, e);
}

function niceLogCeil(v: number): number {
  const e = Math.floor(Math.log10(v) + 1e-12);
  const d = 10 ** e;
  const m = v / d;
  const nice = m <= 1 + 1e-9 ? 1 : m <= 2 + 1e-9 ? 2 : m <= 5 + 1e-9 ? 5 : 10;
  return roundTo(nice * d, e);
}

function minOf(values: readonly number[]): number {
  let m = Number.POSITIVE_INFINITY;
  for (const v of values) if (v < m) m = v;
  return m;
}

function maxOf(values: readonly number[]): number {
  let m = Number.NEGATIVE_INFINITY;
  for (const v of values) if (v > m) m = v;
  return m;
}
