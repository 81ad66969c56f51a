/**
 * The ring view's drawing (docs/dashboard.md, Ring): a region's ring as two concentric
 * donuts, the outer one each node's expected share (weight / region weight), the inner one
 * its measured share (rooms it owns / rooms homed in the region), as SVG paths. Pure.
 */

export interface ShareInput {
  nodeId: string;
  share: number;
}

export interface Arc {
  nodeId: string;
  /** The share after normalising to the total (0..1). */
  share: number;
  /** Radians clockwise from 12 o'clock. */
  startAngle: number;
  endAngle: number;
  /** SVG path of the annular sector; '' for a zero share. */
  path: string;
}

const TAU = 2 * Math.PI;

function point(cx: number, cy: number, r: number, angle: number): string {
  const x = cx + r * Math.sin(angle);
  const y = cy - r * Math.cos(angle);
  return `${x.toFixed(3)} ${y.toFixed(3)}`;
}

/** An annular sector from `a0` to `a1` (a1 - a0 < 2pi). */
function sector(cx: number, cy: number, outer: number, inner: number, a0: number, a1: number) {
  const large = a1 - a0 > Math.PI ? 1 : 0;
  return (
    `M ${point(cx, cy, outer, a0)} A ${outer} ${outer} 0 ${large} 1 ${point(cx, cy, outer, a1)} ` +
    `L ${point(cx, cy, inner, a1)} A ${inner} ${inner} 0 ${large} 0 ${point(cx, cy, inner, a0)} Z`
  );
}

/**
 * Arcs for `items` in the order given, each spanning its share of the circle (shares are
 * normalised to their sum; negative and non-finite shares count as 0). A single share of the
 * whole circle is drawn as two halves, since one SVG arc cannot close on itself.
 */
export function donutArcs(
  items: readonly ShareInput[],
  cx: number,
  cy: number,
  outerRadius: number,
  innerRadius: number,
): Arc[] {
  const clean = items.map((i) => ({
    nodeId: i.nodeId,
    share: Number.isFinite(i.share) && i.share > 0 ? i.share : 0,
  }));
  const total = clean.reduce((sum, i) => sum + i.share, 0);
  let angle = 0;
  return clean.map((item) => {
    const share = total > 0 ? item.share / total : 0;
    const start = angle;
    const end = start + share * TAU;
    angle = end;
    let path = '';
    if (share >= 1 - 1e-9) {
      path = `${sector(cx, cy, outerRadius, innerRadius, 0, Math.PI)} ${sector(cx, cy, outerRadius, innerRadius, Math.PI, TAU)}`;
    } else if (share > 0) {
      path = sector(cx, cy, outerRadius, innerRadius, start, end);
    }
    return { nodeId: item.nodeId, share, startAngle: start, endAngle: end, path };
  });
}

/** Colours of nodes in a region, by their index in node-id order (10, then repeating). */
export const NODE_COLOURS = [
  '#2563eb',
  '#f59e0b',
  '#10b981',
  '#ef4444',
  '#8b5cf6',
  '#0ea5e9',
  '#f97316',
  '#84cc16',
  '#ec4899',
  '#64748b',
] as const;

export function colourOf(index: number): string {
  return NODE_COLOURS[index % NODE_COLOURS.length]!;
}
