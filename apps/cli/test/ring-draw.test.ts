import { createPlacement, type RingMember } from '@roomring/ring';
import { describe, expect, it } from 'vitest';
import {
  DRAW_CELL_COUNT_DEFAULT,
  drawRegion,
  keyPosition,
  letterFor,
  renderRegionDrawing,
} from '../src/render/ring-draw.js';
import { createStyle } from '../src/render/style.js';
import { hasControl } from './fixtures.js';

const m = (nodeId: string, region: string, weight = 1): RingMember => ({
  nodeId,
  region,
  weight,
  state: 'alive',
});

const placement = createPlacement({
  members: [m('eu-1', 'eu'), m('eu-2', 'eu'), m('eu-3', 'eu', 2), m('us-1', 'us')],
});

describe('ring drawing', () => {
  it('gives every cell an owner of the region and shares that sum to 1', () => {
    const d = drawRegion(placement, 'eu');
    expect(d.cellOwners).toHaveLength(DRAW_CELL_COUNT_DEFAULT);
    expect(new Set(d.cellOwners)).toEqual(new Set(['eu-1', 'eu-2', 'eu-3']));
    expect(d.nodes.map((n) => [n.nodeId, n.letter])).toEqual([
      ['eu-1', 'A'],
      ['eu-2', 'B'],
      ['eu-3', 'C'],
    ]);
    const total = d.nodes.reduce((s, n) => s + n.sampledShare, 0);
    expect(total).toBeCloseTo(1, 9);
    expect(d.nodes.reduce((s, n) => s + n.cells, 0)).toBe(DRAW_CELL_COUNT_DEFAULT);
    // The weight-2 member holds about half the hash space: 72 x 64 samples put the sampled
    // share within about ±1.5% (3 sigma) of the ring's exact share, which is itself within
    // ~5% of 0.5 (ring README, balance table).
    expect(d.nodes[2]!.expectedShare).toBe(0.5);
    expect(d.nodes[2]!.sampledShare).toBeGreaterThan(0.44);
    expect(d.nodes[2]!.sampledShare).toBeLessThan(0.56);
  });

  it('is deterministic and follows the cell count', () => {
    expect(drawRegion(placement, 'eu')).toEqual(drawRegion(placement, 'eu'));
    const small = drawRegion(placement, 'eu', { cellCount: 16, samplesPerCell: 8 });
    expect(small.cellOwners).toHaveLength(16);
    expect(() => drawRegion(placement, 'eu', { cellCount: 3 })).toThrow(RangeError);
  });

  it('draws a one-member region as one owner everywhere, an empty region as nothing', () => {
    const us = drawRegion(placement, 'us');
    expect(new Set(us.cellOwners)).toEqual(new Set(['us-1']));
    expect(us.nodes[0]!.sampledShare).toBeCloseTo(1, 9);
    const none = drawRegion(placement, 'ap');
    expect(none.nodes).toEqual([]);
    expect(renderRegionDrawing(none)).toContain('no ring member');
  });

  it('places keys where the ring does: owners form runs along the circle', () => {
    // If keyPosition matched the ring's key hash, keys sorted by position fall into the
    // ring's arcs and consecutive keys mostly share an owner; with a wrong position function
    // the owners of neighbours would be independent (about 2/3 changes for 3 equal members).
    const ring = createPlacement({ members: [m('a', 'r'), m('b', 'r'), m('c', 'r')] });
    const keys = Array.from({ length: 60_000 }, (_, i) => `k${i}`);
    const sorted = keys
      .map((k) => ({ pos: keyPosition(k), owner: ring.ownerInRegion(k, 'r')! }))
      .sort((x, y) => x.pos - y.pos);
    let changes = 0;
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.owner !== sorted[i - 1]!.owner) changes++;
    }
    // 3 x 2,048 points -> at most 6,144 owner changes around the circle, ~4,100 expected.
    expect(changes).toBeLessThan(6_200);
    expect(changes).toBeGreaterThan(1_000);
  });

  it('renders a bar, a scale and a legend; letters coloured only with colour', () => {
    const d = drawRegion(placement, 'eu');
    const text = renderRegionDrawing(d);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^ {2}\|[ABC]{72}\|$/);
    expect(lines[1]).toMatch(/^ {3}0 +2\^32$/);
    expect(lines[2]).toContain('A eu-1');
    expect(lines[4]).toContain('C eu-3');
    expect(lines[4]).toContain('(expected 50.0%)');
    expect(hasControl(text)).toBe(false);
    expect(renderRegionDrawing(d, createStyle(true).palette)).toContain('\u001b[');
  });

  it('letters members A-Z, a-z, 0-9, then ?', () => {
    expect([0, 25, 26, 51, 52, 61, 62].map(letterFor)).toEqual(['A', 'Z', 'a', 'z', '0', '9', '?']);
  });
});
