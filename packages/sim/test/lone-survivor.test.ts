/**
 * The lone survivor of a regional outage longer than tombstoneTtlMs (docs/protocol/sync.md,
 * GC-horizon rule): every other node restarted empty, so it holds the only copy of every
 * room. Once it serves again those rooms must be held twice again at once, not whenever
 * random anti-entropy sessions happen to meet it: one more crash loses them (swarm seed 8075).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type SimCluster, simSeed } from '../src/index.js';
import { FIVE_NODES, startedCluster } from './helpers.js';

let cluster: SimCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

describe('the lone survivor of an outage longer than the TTL', () => {
  it('hands every room to the restarted nodes as soon as it serves again', async () => {
    const ttlMs = 10_000;
    const c = await startedCluster({ seed: simSeed(8075), options: { tombstoneTtlMs: ttlMs } });
    cluster = c;
    const survivor = 'usw-1';
    const others = FIVE_NODES.map((n) => n.nodeId).filter((id) => id !== survivor);
    for (let i = 0; i < 40; i++) {
      await c.settle(c.node(FIVE_NODES[i % 5]!.nodeId).createRoom({ name: `before-${i}` }));
    }
    await c.until(() => c.converged(), 10_000);
    const rooms = c.visible(survivor);
    expect(rooms.size).toBe(40);

    for (const id of others) c.crash(id);
    await c.advance(ttlMs + 1_000);
    for (const id of others) await c.restart(id);
    // A restarted node creates a room of its own meanwhile (once it sees every member alive:
    // the write needs a partner), so its buckets are not all empty.
    const restarted = c.node(others[0]!);
    await c.until(() => {
      const members = restarted.members();
      return members.length === FIVE_NODES.length && members.every((m) => m.state === 'alive');
    }, 10_000);
    await c.settle(restarted.createRoom({ name: 'made-since' }));
    await c.until(() => c.node(survivor).readiness().reason === 'serving', 20_000, 1);

    const config = c.node(survivor).config;
    const holdsAll = (id: string): boolean => {
      const view = c.visible(id);
      for (const [name, sid] of rooms) if (view.get(name) !== sid) return false;
      return true;
    };
    // One digest exchange and one pull per restarted node, not a sync interval or more.
    const waited = await c.until(() => others.every(holdsAll), config.syncIntervalMs, 1);
    expect(waited).toBeLessThan(config.syncIntervalMs / 4);
  });
});
