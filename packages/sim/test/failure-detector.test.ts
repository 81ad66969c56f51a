/**
 * The failure detector end to end (docs/protocol/membership.md, "Failure detector"): five
 * (or three) nodes on the simulated network with the production timings, pauses made as a
 * busy event loop makes them (`stall`: due timers fire before what arrived meanwhile is read)
 * or as SIGSTOP does (`pause`), connections dropped as libp2p's ping monitor drops them.
 */
import { DEFAULTS, PROFILES, type RegistryCore } from '@roomring/core';
import { decodeMessage } from '@roomring/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createSimCluster, type SimCluster, simSeed } from '../src/index.js';
import { allAlive, FIVE_NODES } from './helpers.js';

let cluster: SimCluster | undefined;
afterEach(async () => {
  await cluster?.shutdown();
  cluster = undefined;
});

const IDS = FIVE_NODES.map((n) => n.nodeId);
const LOCAL = { ...DEFAULTS, ...PROFILES.local };

async function started(
  profile: 'lan' | 'local',
  seed: number,
  nodes: readonly { nodeId: string; region: string }[] = FIVE_NODES,
): Promise<SimCluster> {
  const c = await createSimCluster({ nodes, seed, options: { profile } });
  cluster = c;
  await c.startAll();
  await c.until(() => allAlive(c), 20_000);
  return c;
}

/** Every member-suspect and member-dead event from now on: `observer: subject state reason`. */
function accusations(c: SimCluster, nodeIds: readonly string[]): string[] {
  const seen: string[] = [];
  for (const id of nodeIds) {
    const node = c.node(id);
    for (const event of ['member-suspect', 'member-dead'] as const) {
      node.on(event, ({ member, reason }) => {
        seen.push(`+${c.time.nowMs()} ${id}: ${member.nodeId} ${event.slice(7)} ${reason}`);
      });
    }
  }
  return seen;
}

const stateOf = (node: RegistryCore, subject: string): string | undefined =>
  node.members().find((m) => m.nodeId === subject)?.state;

describe('a node whose own event loop stalls accuses nobody', () => {
  // The stalled node's tick comes due during the stall and runs first when it ends, before
  // the heartbeats that queued meanwhile are read: without the lateness correction it counts
  // its own deafness as everyone's silence (stalls of 2-2.5 s x 4 peers x 10 phases).
  it.each([
    ['lan', 2_000, 2_500, 31],
    ['local', 1_000, 1_250, 32],
  ] as const)(
    '%s: stalls of %i-%i ms at ten phases of its tick',
    async (profile, shortMs, longMs, seed) => {
      const c = await started(profile, simSeed(seed));
      const stalled = 'usw-1';
      const interval = profile === 'lan' ? DEFAULTS.heartbeatIntervalMs : LOCAL.heartbeatIntervalMs;
      const seen = accusations(c, IDS);
      let stalls = 0;
      for (const stallMs of [shortMs, longMs]) {
        for (let phase = 0; phase < 10; phase++) {
          c.stall(stalled, stallMs);
          stalls++;
          await c.advance(stallMs + 8 * interval + Math.round((phase * interval) / 10) + 7);
        }
      }
      // Nobody was suspected or declared dead by the stalled node, and nobody was declared dead.
      expect(seen.filter((s) => s.includes(`${stalled}:`) || s.includes(' dead '))).toEqual([]);
      const counters = c.node(stalled).status().counters.membership;
      expect(counters.lateTicks).toBe(stalls);
    },
  );
});

describe('a member that stalls is not declared dead', () => {
  // libp2p's ping monitor may close a stalled peer's connections: the others probe it, and
  // the dial runs into probeTimeoutMs (the stalled process never finishes the handshake).
  it.each([
    ['lan', 2_000, 33],
    ['local', 1_000, 34],
  ] as const)(
    '%s: stalled %i ms, its connections dropped meanwhile',
    async (profile, stallMs, seed) => {
      const c = await started(profile, simSeed(seed));
      const stalled = 'usw-1';
      const seen = accusations(c, IDS);
      const peer = c.node(stalled).peerId;
      for (let round = 0; round < 3; round++) {
        c.stall(stalled, stallMs);
        await c.advance(100);
        for (const id of IDS) if (id !== stalled) c.network.disconnect(peer, c.node(id).peerId);
        await c.advance(stallMs - 100);
        await c.until(() => allAlive(c), 10_000);
        await c.advance(5_000);
      }
      expect(seen.filter((s) => s.includes(' dead '))).toEqual([]);
      // The probes ran into their deadline and kept it suspect.
      const timedOut = IDS.filter((id) => id !== stalled).map(
        (id) => c.node(id).status().counters.membership.probesTimedOut,
      );
      expect(timedOut).toEqual([3, 3, 3, 3]);
    },
  );
});

describe('real failures are still detected', () => {
  it('a killed member (its address refuses dials) is declared dead within milliseconds', async () => {
    const c = await started('lan', simSeed(35));
    const seen = accusations(c, IDS);
    const killedAt = c.time.nowMs();
    c.crash('usw-1');
    await c.advance(50);
    const survivors = IDS.filter((id) => id !== 'usw-1');
    for (const id of survivors) expect(stateOf(c.node(id), 'usw-1')).toBe('dead');
    expect(seen.map((s) => s.replace(/^\+\d+ /, '')).sort()).toEqual(
      survivors
        .flatMap((id) => [`${id}: usw-1 dead probe-failed`, `${id}: usw-1 suspect connection-lost`])
        .sort(),
    );
    const lastAt = Math.max(...seen.map((s) => Number(s.slice(1, s.indexOf(' ')))));
    expect(lastAt - killedAt).toBeLessThanOrEqual(20); // two hops of 1-5 ms, a dial of one
  });

  it('a SIGSTOPped member, confirmed by every other, is dead within deadAfterMs + heartbeatIntervalMs', async () => {
    const c = await started('lan', simSeed(36));
    const seen = accusations(c, IDS);
    const stoppedAt = c.time.nowMs();
    c.pause('usw-1');
    await c.advance(DEFAULTS.deadAfterMs + DEFAULTS.heartbeatIntervalMs + 10);
    const deaths = seen.filter((s) => s.includes(' dead '));
    expect(deaths.map((s) => s.replace(/^\+\d+ /, '')).sort()).toEqual(
      IDS.filter((id) => id !== 'usw-1')
        .map((id) => `${id}: usw-1 dead silent`)
        .sort(),
    );
    for (const death of deaths) {
      const at = Number(death.slice(1, death.indexOf(' ')));
      expect(at - stoppedAt).toBeGreaterThanOrEqual(
        DEFAULTS.deadAfterMs - DEFAULTS.heartbeatIntervalMs,
      );
    }
    c.resume('usw-1');
    await c.until(() => allAlive(c), 10_000);
  });

  it('a member nobody else confirms is declared dead only after the stretched suspicion period', async () => {
    const three = FIVE_NODES.slice(0, 3);
    const c = await started('lan', simSeed(37), three);
    const ids = three.map((n) => n.nodeId);
    const silent = ids[2]!;
    const seen = accusations(c, ids);
    // Every member-suspect notice is lost: each observer's suspicion stays unconfirmed.
    c.network.setFilter((event) => {
      if (event.kind !== 'gossip') return 'deliver';
      const decoded = decodeMessage(event.data);
      return decoded.ok && decoded.message.type === 'member-suspect' ? 'drop' : 'deliver';
    });
    const heardAt = Math.max(
      ...ids
        .filter((id) => id !== silent)
        .map(
          (id) =>
            c
              .node(id)
              .members()
              .find((m) => m.nodeId === silent)!.lastHeardMs,
        ),
    );
    c.pause(silent);
    // suspectAfterMs + 3 x (deadAfterMs - suspectAfterMs) = 12 s of silence (lan), not 6 s.
    const stretchedMs =
      DEFAULTS.suspectAfterMs + 3 * (DEFAULTS.deadAfterMs - DEFAULTS.suspectAfterMs);
    await c.advance(stretchedMs - (c.time.nowMs() - heardAt) - 50);
    expect(seen.filter((s) => s.includes(' dead '))).toEqual([]);
    expect(ids.filter((id) => id !== silent).map((id) => stateOf(c.node(id), silent))).toEqual([
      'suspect',
      'suspect',
    ]);
    await c.advance(DEFAULTS.heartbeatIntervalMs + 100);
    expect(
      seen
        .filter((s) => s.includes(' dead '))
        .map((s) => s.replace(/^\+\d+ /, ''))
        .sort(),
    ).toEqual(ids.filter((id) => id !== silent).map((id) => `${id}: ${silent} dead silent`));
    c.network.setFilter(undefined);
    c.resume(silent);
    await c.until(() => allAlive(c), 15_000);
  });
});
