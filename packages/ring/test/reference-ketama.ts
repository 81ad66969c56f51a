import { createHash } from 'node:crypto';
import type { RingMember } from '../src/index.js';

/**
 * An independent, obviously-correct re-implementation of the placement function: ketama points
 * md5(`n:` + nodeId + `-` + i), four little-endian 32-bit points per digest, weight x
 * pointsPerWeight points per member, ties in member order; a room hashes to the first 4 bytes
 * of md5(`room:` + name) and belongs to the first point at or after it, wrapping. Tests compare
 * the package against it, which also pins the placement across hashring upgrades: every node of
 * a cluster in a rolling upgrade must keep computing the same owners.
 */
export class ReferenceRing {
  private readonly values: number[] = [];
  private readonly owners: string[] = [];

  constructor(members: readonly RingMember[], pointsPerWeight: number) {
    const points: { value: number; owner: string; order: number }[] = [];
    const sorted = [...members].sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
    for (const m of sorted) {
      for (let i = 0; i < (m.weight * pointsPerWeight) / 4; i++) {
        const digest = createHash('md5').update(`n:${m.nodeId}-${i}`).digest();
        for (let j = 0; j < 4; j++) {
          points.push({ value: digest.readUInt32LE(j * 4), owner: m.nodeId, order: points.length });
        }
      }
    }
    points.sort((a, b) => a.value - b.value || a.order - b.order);
    for (const p of points) {
      this.values.push(p.value);
      this.owners.push(p.owner);
    }
  }

  owner(name: string): string | undefined {
    if (this.values.length === 0) return undefined;
    const h = createHash('md5').update(`room:${name}`).digest().readUInt32LE(0);
    let lo = 0;
    let hi = this.values.length; // first index with value >= h, or length
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.values[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === this.values.length ? 0 : lo];
  }
}
