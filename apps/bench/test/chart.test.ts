import { describe, expect, it } from 'vitest';
import {
  CHART_SERIES_MAX,
  type ChartInit,
  ChartInitError,
  DEFAULT_PALETTE,
  escapeXml,
  formatTicks,
  LEGEND_NAME_CHARS_MAX,
  linearTicks,
  logTicks,
  niceStep,
  renderLineChart,
  splitRuns,
} from '../src/chart.js';

interface XmlElement {
  name: string;
  attrs: Map<string, string>;
  text: string;
}

/**
 * A tiny XML well-formedness check, enough for the subset the chart emits: an optional XML
 * declaration, elements with quoted attributes, text with the five predefined entities. Throws
 * on unbalanced tags, unquoted or duplicate attributes, a raw `<` or `&` in text, or content
 * outside the one root element. Returns every element in document order.
 */
function parseXml(doc: string): XmlElement[] {
  const elements: XmlElement[] = [];
  const stack: XmlElement[] = [];
  let i = 0;
  let rootClosed = false;
  const checkText = (text: string, where: number): void => {
    let j = text.indexOf('&');
    while (j !== -1) {
      const end = text.indexOf(';', j);
      const entity = end === -1 ? '' : text.slice(j, end + 1);
      if (!['&amp;', '&lt;', '&gt;', '&quot;', '&apos;'].includes(entity)) {
        throw new Error(`bad entity at ${where + j}: ${text.slice(j, j + 8)}`);
      }
      j = text.indexOf('&', end);
    }
    if (text.includes('<') || text.includes('>')) throw new Error(`raw < or > at ${where}`);
  };
  while (i < doc.length) {
    const lt = doc.indexOf('<', i);
    const text = lt === -1 ? doc.slice(i) : doc.slice(i, lt);
    checkText(text, i);
    if (stack.length === 0 && text.trim() !== '') throw new Error(`text outside root at ${i}`);
    if (stack.length > 0) stack[stack.length - 1]!.text += text;
    if (lt === -1) break;
    const gt = doc.indexOf('>', lt);
    if (gt === -1) throw new Error(`unterminated tag at ${lt}`);
    const tag = doc.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('?')) continue;
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const open = stack.pop();
      if (open?.name !== name) throw new Error(`</${name}> closes <${open?.name ?? 'nothing'}>`);
      if (stack.length === 0) rootClosed = true;
      continue;
    }
    if (rootClosed) throw new Error(`second root element at ${lt}`);
    const selfClosing = tag.endsWith('/');
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const nameMatch = /^[A-Za-z][\w:-]*/.exec(body);
    if (!nameMatch) throw new Error(`bad tag name at ${lt}`);
    const el: XmlElement = { name: nameMatch[0], attrs: new Map(), text: '' };
    let rest = body.slice(nameMatch[0].length);
    const attrRe = /^\s+([A-Za-z][\w:-]*)="([^"<]*)"/;
    for (let m = attrRe.exec(rest); m; m = attrRe.exec(rest)) {
      if (el.attrs.has(m[1]!)) throw new Error(`duplicate attribute ${m[1]}`);
      checkText(m[2]!, lt);
      el.attrs.set(m[1]!, m[2]!);
      rest = rest.slice(m[0].length);
    }
    if (rest.trim() !== '') throw new Error(`malformed attributes in <${el.name}${rest}>`);
    elements.push(el);
    if (!selfClosing) stack.push(el);
    else if (stack.length === 0) rootClosed = true;
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  if (!rootClosed) throw new Error('no root element');
  return elements;
}

function decodeXml(text: string): string {
  return text
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&apos;', "'")
    .replaceAll('&amp;', '&');
}

function polylinePoints(el: XmlElement): Array<[number, number]> {
  return el.attrs
    .get('points')!
    .split(' ')
    .map((pair) => pair.split(',').map(Number) as [number, number]);
}

/** The axis frame: the polyline stroked with the axis colour, top-left -> bottom-left -> bottom-right. */
function frameOf(elements: XmlElement[]): XmlElement {
  return elements.find((e) => e.name === 'polyline' && e.attrs.get('stroke') === '#333')!;
}

/** Series polylines only: the axis frame is the one polyline stroked with the axis colour. */
function seriesPolylines(elements: XmlElement[]): XmlElement[] {
  return elements.filter((e) => e.name === 'polyline' && e.attrs.get('stroke') !== '#333');
}

const base: ChartInit = {
  title: 'CreateRoom throughput',
  xLabel: 'time (s)',
  yLabel: 'req/s',
  series: [
    {
      name: 'roomring',
      points: Array.from({ length: 60 }, (_, i) => [i, 1000 + 10 * i] as const),
    },
    {
      name: 'postgres',
      points: Array.from({ length: 60 }, (_, i) => [i, 200 + i] as const),
      dashed: true,
    },
  ],
  markers: [{ x: 30, label: 'region killed' }],
};

describe('tick helpers', () => {
  it('picks the nearest 1-2-5 step', () => {
    expect([0.7, 1, 1.3, 2, 3, 5, 7.4, 0.023, 4200, 23.8].map(niceStep)).toEqual([
      0.5, 1, 1, 2, 2, 5, 10, 0.02, 5000, 20,
    ]);
  });

  it('linear 0..37 gives 0,10,20,30,40', () => {
    expect(linearTicks(0, 37)).toEqual({ min: 0, max: 40, ticks: [0, 10, 20, 30, 40] });
  });

  it('linear ticks are free of float noise and cover the range', () => {
    expect(linearTicks(0.1, 0.7).ticks).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
    expect(linearTicks(0, 119).ticks).toEqual([0, 20, 40, 60, 80, 100, 120]);
    expect(linearTicks(0, 61234)).toEqual({
      min: 0,
      max: 70000,
      ticks: [0, 10000, 20000, 30000, 40000, 50000, 60000, 70000],
    });
    const neg = linearTicks(-3, 12);
    expect(neg.min).toBeLessThanOrEqual(-3);
    expect(neg.max).toBeGreaterThanOrEqual(12);
    expect(neg.ticks).toContain(0);
  });

  it('linear ticks widen a zero-width range', () => {
    expect(linearTicks(0, 0).ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    const t = linearTicks(50, 50);
    expect(t.min).toBeLessThan(50);
    expect(t.max).toBeGreaterThan(50);
  });

  it('log 0.8..4000 gives decades 1,10,100,1000', () => {
    const t = logTicks(0.8, 4000);
    expect(t.ticks).toEqual([1, 10, 100, 1000]);
    expect(t.min).toBe(0.5);
    expect(t.max).toBe(5000);
  });

  it('log 1..5000 ms and sub-ms decades', () => {
    expect(logTicks(1, 5000).ticks).toEqual([1, 10, 100, 1000]);
    expect(logTicks(0.009, 0.2).ticks).toEqual([0.01, 0.1]);
  });

  it('log range inside one decade falls back to 1-2-5 ticks', () => {
    expect(logTicks(3, 40).ticks).toEqual([2, 5, 10, 20, 50]);
    expect(logTicks(2.5, 4.5).ticks).toEqual([2, 5]);
  });

  it('log ticks thin out past 8 decades', () => {
    const t = logTicks(1e-3, 1e9).ticks;
    expect(t.length).toBeLessThanOrEqual(8);
    expect(t[0]).toBe(0.001);
  });

  it('log rejects a minimum <= 0', () => {
    expect(() => logTicks(0, 10)).toThrow(ChartInitError);
  });

  it('formats labels per axis', () => {
    expect(formatTicks([1, 10, 100, 1000])).toEqual(['1', '10', '100', '1000']);
    expect(formatTicks([0, 5000, 10000, 15000])).toEqual(['0', '5k', '10k', '15k']);
    expect(formatTicks([0, 2.5e7])).toEqual(['0', '25M']);
    expect(formatTicks([0.1 + 0.2])).toEqual(['0.3']);
  });
});

describe('renderLineChart', () => {
  it('emits a well-formed standalone svg with xmlns, viewBox and white background', () => {
    const svg = renderLineChart(base);
    const els = parseXml(svg);
    const root = els[0]!;
    expect(root.name).toBe('svg');
    expect(root.attrs.get('xmlns')).toBe('http://www.w3.org/2000/svg');
    expect(root.attrs.get('viewBox')).toBe('0 0 760 300');
    expect(root.attrs.get('width')).toBe('760');
    const bg = els.find((e) => e.name === 'rect')!;
    expect(bg.attrs.get('fill')).toBe('#ffffff');
    expect(bg.attrs.get('width')).toBe('760');
    // GitHub's <img> rendering drops scripts and external references: emit none.
    expect(svg).not.toMatch(/<script|href=|<foreignObject/);
  });

  it('escapes untrusted text (series names, labels, title)', () => {
    const evil = 'a & b <c> "d" \'e\'</text><script>x</script>';
    const svg = renderLineChart({
      ...base,
      title: evil,
      series: [{ name: evil, points: [[0, 1]] }],
      markers: [{ x: 0, label: evil }],
    });
    const els = parseXml(svg);
    expect(els.some((e) => e.name === 'script')).toBe(false);
    const texts = els.filter((e) => e.name === 'text').map((e) => decodeXml(e.text));
    // Title, legend entry and marker label all carry the original string back.
    expect(texts.filter((t) => t === evil)).toHaveLength(3);
    expect(escapeXml('a&b<c>')).toBe('a&amp;b&lt;c&gt;');
    const long = parseXml(
      renderLineChart({ ...base, series: [{ name: 'x'.repeat(500), points: [[0, 1]] }] }),
    );
    const legendText = long.find((e) => e.name === 'text' && e.text.startsWith('xxx'))!.text;
    expect(Array.from(legendText)).toHaveLength(LEGEND_NAME_CHARS_MAX);
    expect(legendText.endsWith('\u2026')).toBe(true);
    expect(escapeXml('bell\u0007')).toBe('bell');
  });

  it('breaks polylines at null gaps and draws lone points as dots', () => {
    const svg = renderLineChart({
      ...base,
      markers: [],
      series: [
        {
          name: 'gappy',
          points: [
            [0, 1],
            [1, 2],
            [2, null],
            [3, 4],
            [4, 5],
            [5, Number.NaN],
            [6, 3],
            [7, null],
          ],
        },
      ],
    });
    const els = parseXml(svg);
    const lines = seriesPolylines(els);
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => polylinePoints(l).length)).toEqual([2, 2]);
    expect(els.filter((e) => e.name === 'circle')).toHaveLength(1);
    expect(
      splitRuns([
        [0, null],
        [1, 1],
        [2, null],
        [3, null],
      ]),
    ).toEqual([[[1, 1]]]);
  });

  it('maps every point inside the plot area and preserves order', () => {
    const svg = renderLineChart({ ...base, yScale: 'log' });
    const els = parseXml(svg);
    const frame = frameOf(els);
    const [topLeft, bottomLeft, bottomRight] = polylinePoints(frame);
    const [left, top] = topLeft!;
    const bottom = bottomLeft![1];
    const right = bottomRight![0];
    const lines = seriesPolylines(els);
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      const pts = polylinePoints(line);
      expect(pts).toHaveLength(60);
      for (const [x, y] of pts) {
        expect(x).toBeGreaterThanOrEqual(left);
        expect(x).toBeLessThanOrEqual(right);
        expect(y).toBeGreaterThanOrEqual(top);
        expect(y).toBeLessThanOrEqual(bottom);
      }
      // First point on the left edge, last on the right (x domain = data extent).
      expect(pts[0]![0]).toBe(left);
      expect(pts[59]![0]).toBe(right);
      // Increasing values go up the image (smaller y).
      expect(pts[59]![1]).toBeLessThan(pts[0]![1]);
    }
    // Numbers are rounded to at most one decimal.
    expect(svg).not.toMatch(/\d\.\d\d/);
  });

  it('clamps values past a fixed range and <= 0 on a log axis to the plot edges', () => {
    const svg = renderLineChart({
      ...base,
      markers: [],
      yScale: 'log',
      yMin: 1,
      yMax: 1000,
      series: [
        {
          name: 's',
          points: [
            [0, 0],
            [1, -5],
            [2, 10],
            [3, 1e6],
          ],
        },
      ],
    });
    const els = parseXml(svg);
    const pts = polylinePoints(seriesPolylines(els)[0]!);
    const frame = polylinePoints(frameOf(els));
    const top = frame[0]![1];
    const bottom = frame[1]![1];
    const ys = pts.map((p) => p[1]);
    expect([ys[0], ys[1], ys[3]]).toEqual([bottom, bottom, top]);
    // 10 on a 1..1000 log axis is one third of the way up.
    expect(ys[2]).toBeCloseTo(bottom - (bottom - top) / 3, 0);
    const yLabels = els
      .filter((e) => e.name === 'text' && e.attrs.get('text-anchor') === 'end')
      .map((e) => e.text);
    expect(yLabels).toEqual(['1', '10', '100', '1000']);
  });

  it('draws markers as dashed vertical lines with their label', () => {
    const els = parseXml(renderLineChart(base));
    const marker = els.find((e) => e.name === 'line' && e.attrs.get('stroke-dasharray') === '4 3')!;
    expect(marker.attrs.get('x1')).toBe(marker.attrs.get('x2'));
    expect(Number(marker.attrs.get('y2'))).toBeGreaterThan(Number(marker.attrs.get('y1')));
    // x = 30 of 0..59 lands just left of the middle of the plot.
    const frame = polylinePoints(frameOf(els));
    const left = frame[0]![0];
    const right = frame[2]![0];
    const x = Number(marker.attrs.get('x1'));
    expect(x).toBeCloseTo(left + ((right - left) * 30) / 59, 0);
    expect(els.some((e) => e.name === 'text' && e.text === 'region killed')).toBe(true);
  });

  it('has one legend entry per series with palette colours and the dashed style', () => {
    const els = parseXml(renderLineChart(base));
    const texts = els.filter((e) => e.name === 'text').map((e) => e.text);
    expect(texts).toContain('roomring');
    expect(texts).toContain('postgres');
    const lines = seriesPolylines(els);
    expect(lines[0]!.attrs.get('stroke')).toBe(DEFAULT_PALETTE[0]);
    expect(lines[1]!.attrs.get('stroke')).toBe(DEFAULT_PALETTE[1]);
    expect(lines[0]!.attrs.has('stroke-dasharray')).toBe(false);
    expect(lines[1]!.attrs.get('stroke-dasharray')).toBe('6 4');
    const swatches = els.filter((e) => e.name === 'line' && e.attrs.get('stroke-width') === '3');
    expect(swatches.map((s) => s.attrs.get('stroke'))).toEqual([
      DEFAULT_PALETTE[0],
      DEFAULT_PALETTE[1],
    ]);
    const custom = parseXml(
      renderLineChart({
        ...base,
        series: [
          {
            name: 'c',
            points: [
              [0, 1],
              [1, 2],
            ],
            color: '#123456',
          },
        ],
      }),
    );
    expect(seriesPolylines(custom)[0]!.attrs.get('stroke')).toBe('#123456');
  });

  it('renders "no data" for empty and all-null series', () => {
    for (const series of [
      [],
      [{ name: 'x', points: [] }],
      [
        {
          name: 'y',
          points: [
            [0, null],
            [1, null],
          ] as const,
        },
      ],
    ]) {
      for (const yScale of ['linear', 'log'] as const) {
        const svg = renderLineChart({ ...base, markers: [], series, yScale });
        const els = parseXml(svg);
        expect(els.some((e) => e.name === 'text' && e.text === 'no data')).toBe(true);
        expect(seriesPolylines(els)).toHaveLength(0);
      }
    }
  });

  it('is deterministic', () => {
    const a = renderLineChart(base);
    const b = renderLineChart(structuredClone(base));
    expect(a).toBe(b);
    expect(renderLineChart({ ...base, title: 'other' })).not.toBe(a);
  });

  it('rejects unusable options with ChartInitError', () => {
    expect(() => renderLineChart({ ...base, width: 10 })).toThrow(ChartInitError);
    expect(() => renderLineChart({ ...base, yMin: 5, yMax: 5 })).toThrow(ChartInitError);
    expect(() => renderLineChart({ ...base, yScale: 'log', yMin: 0 })).toThrow(ChartInitError);
    const many = Array.from({ length: CHART_SERIES_MAX + 1 }, (_, i) => ({
      name: `s${i}`,
      points: [[0, 1]] as const,
    }));
    expect(() => renderLineChart({ ...base, series: many })).toThrow(/limit is 16/);
  });

  it('the xml checker itself rejects malformed documents', () => {
    expect(() => parseXml('<svg><g></svg>')).toThrow();
    expect(() => parseXml('<svg><text>a & b</text></svg>')).toThrow();
    expect(() => parseXml('<svg a=1></svg>')).toThrow();
    expect(() => parseXml('<svg/><svg/>')).toThrow();
    expect(parseXml('<svg><text>a &amp; b</text></svg>')).toHaveLength(2);
  });
});
