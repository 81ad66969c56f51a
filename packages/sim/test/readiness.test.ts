/**
 * RegistryCore.readiness(), what /readyz answers: the last live node stays ready (it serves
 * from a warm state); past isolationAfterMs (half the tombstone TTL) alone it is not (it
 * refuses writes, GC-horizon rule), nor while it resyncs; then it is again.
 */
import { isolationAfterMs } from '@roomring/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type SimCluster, simSeed } from '../src/index.js';
import { FIVE_NODES, startedCluster } from './helpers.js';

let cluster: SimCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

describe('readiness', () => {
  it('stays ready on the last live node, not past isolationAfterMs alone nor while resyncing', async () => {
    const ttlMs = 10_000;
    const isolationMs = isolationAfterMs({ tombstoneTtlMs: ttlMs });
    const c = await startedCluster({ seed: simSeed(77), options: { tombstoneTtlMs: ttlMs } });
    cluster = c;
    for (const node of c.running())
      expect(node.readiness()).toEqual({ ready: true, reason: 'serving' });

    const survivor = 'usw-1';
    const others = FIVE_NODES.map((n) => n.nodeId).filter((id) => id !== survivor);
    for (const id of others) c.crash(id);
    await c.advance(isolationMs - 1_000);
    expect(c.node(survivor).readiness()).toEqual({ ready: true, reason: 'serving' });
    // Reads answer from its state; a write stands locally and answers unavailable (no
    // partner to hold it), as documented for CreateRoom.
    await expect(c.settle(c.node(survivor).createRoom({ name: 'alone' }))).rejects.toThrow(
      /replica partner/,
    );

    await c.advance(2_000);
    expect(c.node(survivor).readiness()).toEqual({ ready: false, reason: 'isolated' });

    await c.restart(others[0]!);
    const seen = new Set<string>();
    await c.until(
      () => {
        const { reason } = c.node(survivor).readiness();
        seen.add(reason);
        return reason === 'serving';
      },
      20_000,
      10,
    );
    expect(seen).toContain('resyncing');
    expect(c.node(survivor).readiness().ready).toBe(true);
  });
});
