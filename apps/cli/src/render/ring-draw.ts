/**
 * `roomring ring --draw`: which node owns each arc of a region's hash space, drawn as a bar of
 * `cellCount` cells (cell i = the arc [i, i+1) x 2^32 / cellCount of the 32-bit circle).
 *
 * Owners come from the ring package itself (`placement.ownerInRegion`), never from a copy of
 * the ring. The only thing computed here is where a synthetic key sits on the circle, so it can
 * be put in its cell: the first 4 bytes (little-endian) of md5(`room:` + key), the documented
 * key hash of @roomring/ring (README "Untrusted room names"; its test/reference-ketama.ts).
 * Keys `~draw:0`, `~draw:1`, ... are hashed until every cell holds `samplesPerCell` of them, so
 * the drawing is deterministic. A cell shows the node that owns most of its samples: with
 * 2,048 points per weight, one cell of 1/72 of the circle spans ~57 arcs per member, so the
 * bar shows how finely the members interleave, and the shares show the balance.
 */
import { createHash } from 'node:crypto';
import type { Placement } from '@roomring/ring';
import { displayWidth, printable } from './text.js';

export interface RingDrawInit {
  /** Cells of the bar; one cell = 2^32 / cellCount of the hash space. @default 72 */
  cellCount?: number;
  /** Least samples per cell. 64 gives each cell's owner shares to about ±6%. @default 64 */
  samplesPerCell?: number;
}

export const DRAW_CELL_COUNT_DEFAULT = 72;
export const DRAW_CELL_COUNT_MIN = 16;
export const DRAW_CELL_COUNT_MAX = 200;
export const DRAW_SAMPLES_PER_CELL_DEFAULT = 64;
export const DRAW_SAMPLES_PER_CELL_MAX = 1_024;
/** Keys hashed per needed sample before giving up; filling the emptiest cell of 72 takes
 *  about 1.3x cells x samples keys, so 8x is never reached in practice. */
const KEY_BUDGET_FACTOR = 8;
const KEY_PREFIX = '~draw:';
/** Part of @roomring/ring's placement function (its region-ring.ts). */
const ROOM_KEY_PREFIX = 'room:';
const CIRCLE = 2 ** 32;
/** Letters of members, in node-id order: A-Z, then a-z, then 0-9; `?` past 62. */
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export interface DrawnNode {
  nodeId: string;
  letter: string;
  /** Share of the hash space it owns, from the samples (cells weighted equally). */
  sampledShare: number;
  /** weight / total weight of the region's ring. */
  expectedShare: number;
  /** Cells where it owns most samples. */
  cells: number;
}

export interface RegionDrawing {
  region: string;
  cellCount: number;
  samplesPerCell: number;
  /** Node id owning most of each cell, cell 0 first (position 0 of the circle). */
  cellOwners: string[];
  nodes: DrawnNode[];
}

/** Where a key sits on the 32-bit circle. */
export function keyPosition(key: string): number {
  return createHash('md5')
    .update(ROOM_KEY_PREFIX + key)
    .digest()
    .readUInt32LE(0);
}

export function letterFor(index: number): string {
  return LETTERS[index] ?? '?';
}

function checkInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

/** Samples `region`'s ring of `placement`. Empty `nodes` when the region has no ring member. */
export function drawRegion(
  placement: Placement,
  region: string,
  init: RingDrawInit = {},
): RegionDrawing {
  const cellCount = checkInt(
    'cellCount',
    init.cellCount ?? DRAW_CELL_COUNT_DEFAULT,
    DRAW_CELL_COUNT_MIN,
    DRAW_CELL_COUNT_MAX,
  );
  const samplesPerCell = checkInt(
    'samplesPerCell',
    init.samplesPerCell ?? DRAW_SAMPLES_PER_CELL_DEFAULT,
    1,
    DRAW_SAMPLES_PER_CELL_MAX,
  );
  const members = placement
    .members()
    .filter((m) => m.region === region)
    .map((m) => m.nodeId);
  const index = new Map(members.map((id, i) => [id, i]));
  // counts[cell * members + member]: samples of the cell owned by the member.
  const counts = new Uint32Array(cellCount * Math.max(1, members.length));
  const filled = new Uint32Array(cellCount);
  let cellsDone = 0;
  const budget = cellCount * samplesPerCell * KEY_BUDGET_FACTOR;
  for (let k = 0; members.length > 0 && cellsDone < cellCount && k < budget; k++) {
    const key = `${KEY_PREFIX}${k}`;
    const cell = Math.floor((keyPosition(key) * cellCount) / CIRCLE);
    if (filled[cell]! >= samplesPerCell) continue;
    const owner = placement.ownerInRegion(key, region);
    const i = owner === undefined ? undefined : index.get(owner);
    if (i === undefined) continue;
    counts[cell * members.length + i]!++;
    filled[cell]!++;
    if (filled[cell] === samplesPerCell) cellsDone++;
  }
  const shares = new Float64Array(members.length);
  const cellWins = new Uint32Array(members.length);
  const cellOwners: string[] = [];
  for (let cell = 0; cell < cellCount; cell++) {
    let best = -1;
    let bestCount = 0;
    for (let i = 0; i < members.length; i++) {
      const c = counts[cell * members.length + i]!;
      if (filled[cell]! > 0) shares[i]! += c / filled[cell]! / cellCount;
      // Ties go to the smaller node id (members are sorted), so the drawing is stable.
      if (c > bestCount) {
        best = i;
        bestCount = c;
      }
    }
    cellOwners.push(best < 0 ? '' : members[best]!);
    if (best >= 0) cellWins[best]!++;
  }
  return {
    region,
    cellCount,
    samplesPerCell,
    cellOwners,
    nodes: members.map((nodeId, i) => ({
      nodeId,
      letter: letterFor(i),
      sampledShare: shares[i]!,
      expectedShare: placement.expectedShare(nodeId),
      cells: cellWins[i]!,
    })),
  };
}

/** The bar, a scale under it and a legend; letters coloured when `style` has colour. */
export function renderRegionDrawing(
  drawing: RegionDrawing,
  paint: (index: number, text: string) => string = (_i, t) => t,
): string {
  if (drawing.nodes.length === 0) return '  (no ring member in this region)';
  const indexOf = new Map(drawing.nodes.map((n, i) => [n.nodeId, i]));
  const bar = drawing.cellOwners
    .map((id) => {
      const i = indexOf.get(id);
      return i === undefined ? '.' : paint(i, drawing.nodes[i]!.letter);
    })
    .join('');
  const scaleEnd = '2^32';
  const scale = `0${' '.repeat(Math.max(1, drawing.cellCount + 1 - scaleEnd.length))}${scaleEnd}`;
  const ids = drawing.nodes.map((n) => printable(n.nodeId));
  const idWidth = Math.max(...ids.map(displayWidth));
  const legend = drawing.nodes.map(
    (n, i) =>
      `  ${paint(i, n.letter)} ${ids[i]!}${' '.repeat(idWidth - displayWidth(ids[i]!))}  ${(n.sampledShare * 100).toFixed(1).padStart(5)}% of the hash space` +
      ` (expected ${(n.expectedShare * 100).toFixed(1)}%), owns most of ${n.cells}/${drawing.cellCount} cells`,
  );
  return [`  |${bar}|`, `   ${scale}`, ...legend].join('\n');
}
