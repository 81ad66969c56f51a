/**
 * Anti-entropy pulls only the records that differ (docs/protocol/sync.md, "A session").
 *
 * Two nodes hold 5,000 rooms; gossip then loses every message while one node creates 50
 * more. With 64 buckets (test profile) those 50 rooms land in ~35 buckets, which hold
 * ~2,400 records: a whole-bucket pull re-sends them all, the summary step only the 50.
 */
import type { RegistryCore } from '@roomring/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createSimCluster, type SimCluster, simSeed } from '../src/index.js';
import { allAlive, FIVE_NODES } from './helpers.js';

const TWO_NODES = [
  { nodeId: 'node-a', region: 'us-east' },
  { nodeId: 'node-b', region: 'us-east' },
] as const;
const ROOMS = 5_000;
const LOST = 50;
/** Creates in flight at once while filling (each resolves at once: minAcks 0). */
const FILL_CHUNK = 250;

let cluster: SimCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

const syncOf = (node: RegistryCore) => node.status().counters.sync;
const sum = (c: SimCluster, count: (node: RegistryCore) => number): number =>
  c.running().reduce((n, node) => n + count(node), 0);
const pulledRecords = (c: SimCluster): number => sum(c, (n) => syncOf(n).recordsReceived);

const names = (prefix: string, from: number, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}-${from + i}`);

async function create(c: SimCluster, node: RegistryCore, roomNames: string[]): Promise<void> {
  await c.settle(Promise.all(roomNames.map((name) => node.createRoom({ name }))));
}

describe('sync efficiency', () => {
  it(`repairs ${LOST} rooms gossip lost by pulling about ${LOST} records, not their buckets`, async () => {
    // minAcks 0: no replicate requests, so gossip (and then sync) is the only way rooms spread.
    const c = await createSimCluster({
      nodes: TWO_NODES,
      seed: simSeed(2_024),
      options: { minAcks: 0 },
    });
    cluster = c;
    await c.startAll();
    await c.until(() => allAlive(c), 10_000);
    const a = c.node('node-a');
    const b = c.node('node-b');
    for (let i = 0; i < ROOMS; i += FILL_CHUNK) {
      await create(c, a, names('room', i, FILL_CHUNK));
    }
    await c.until(() => c.converged() && b.status().rooms === ROOMS, 20_000);

    const before = pulledRecords(c);
    const summariesBefore = sum(c, (n) => syncOf(n).summariesReceived);
    const wantedBefore = sum(c, (n) => syncOf(n).recordsWanted);
    c.network.setFaults({ gossipLossRate: 1 });
    await create(c, a, names('late', 0, LOST));
    await c.advance(20); // the batch is flushed into the void
    c.network.setFaults({ gossipLossRate: 0 });
    expect(b.status().rooms).toBe(ROOMS);
    expect(c.converged()).toBe(false);

    await c.until(() => c.converged(), 5_000);
    expect(b.status().rooms).toBe(ROOMS + LOST);
    const pulled = pulledRecords(c) - before;
    const summaries = sum(c, (n) => syncOf(n).summariesReceived) - summariesBefore;
    // Measured with this seed: 50 records. Before summaries, the
    // ~35 whole buckets the 50 rooms fell in were re-sent both ways: 4,745 records.
    expect(pulled).toBeGreaterThanOrEqual(LOST);
    expect(pulled).toBeLessThanOrEqual(4 * LOST);
    expect(sum(c, (n) => syncOf(n).recordsWanted) - wantedBefore).toBeLessThanOrEqual(4 * LOST);
    expect(summaries).toBeGreaterThan(0);
    // Only the differing cells are summarised: 578 entries with this seed (4,744 when every
    // record of each differing bucket was).
    expect(summaries).toBeLessThan(ROOMS / 4);

    // A cold restart still receives everything, in one pass of whole-bucket pulls.
    c.crash('node-b');
    await c.advance(2_000);
    const fresh = await c.restart('node-b');
    expect(fresh.status().rooms).toBe(0);
    await c.until(() => c.converged() && fresh.status().rooms === ROOMS + LOST, 10_000);
    expect(syncOf(fresh).recordsReceived).toBeGreaterThanOrEqual(ROOMS + LOST);
    // An empty node pulls every bucket whole: no summary round trip.
    expect(syncOf(fresh).summariesReceived).toBe(0);
  });

  it(`five nodes: each of the four that missed ${LOST} rooms pulls about ${LOST} records`, async () => {
    const c = await createSimCluster({
      nodes: FIVE_NODES,
      seed: simSeed(2_025),
      options: { minAcks: 0 },
    });
    cluster = c;
    await c.startAll();
    await c.until(() => allAlive(c), 10_000);
    const writer = c.node('use-1');
    for (let i = 0; i < ROOMS; i += FILL_CHUNK) {
      await create(c, writer, names('room', i, FILL_CHUNK));
    }
    await c.until(
      () => c.converged() && c.running().every((n) => n.status().rooms === ROOMS),
      20_000,
    );

    const before = pulledRecords(c);
    c.network.setFaults({ gossipLossRate: 1 });
    await create(c, writer, names('late', 0, LOST));
    await c.advance(20);
    c.network.setFaults({ gossipLossRate: 0 });
    await c.until(() => c.converged(), 10_000);
    expect(c.running().every((n) => n.status().rooms === ROOMS + LOST)).toBe(true);
    // Measured with this seed: exactly 200 (each of the four pulled the 50 once).
    const pulled = pulledRecords(c) - before;
    expect(pulled).toBeGreaterThanOrEqual(4 * LOST);
    expect(pulled).toBeLessThanOrEqual(4 * 4 * LOST);
  });
});
