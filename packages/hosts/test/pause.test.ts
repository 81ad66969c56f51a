/**
 * Issue 11, scenario 5: SIGSTOP of one host for 10 s. The others declare it dead within the
 * documented detection time; after SIGCONT it rejoins without a restart, and no other node
 * was suspected by anyone meanwhile, the paused node included.
 */
import { DEFAULTS } from '@roomring/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { HostCluster } from '../src/index.js';
import {
  describeHosts,
  ids,
  log,
  memberEventsSince,
  memberViews,
  startFiveHosts,
  waitFor,
} from './helpers.js';

/**
 * docs/operations.md, Crash: a member is declared dead at the first heartbeat tick at least
 * deadAfterMs after the last heartbeat heard from it. That heartbeat arrived at most when it
 * stopped, and ticks come every heartbeatIntervalMs: dead within deadAfterMs +
 * heartbeatIntervalMs of the stop (7 s with profile lan, which the servers run), plus however
 * late the observer's timer fires and the last heartbeat was delivered. On this 2-core
 * machine under the whole test suite that was 45 ms once (7,045 ms); the documented allowance
 * is TIMER_LATENESS_MAX_MS.
 */
const TIMER_LATENESS_MAX_MS = 250;
const HUNG_DETECTION_MS =
  DEFAULTS.deadAfterMs + DEFAULTS.heartbeatIntervalMs + TIMER_LATENESS_MAX_MS;
const PAUSE_MS = 10_000;
const PAUSED = 'usw-2';

describeHosts('SIGSTOP of one host for 10 s', { timeout: 120_000 }, () => {
  let cluster: HostCluster;
  beforeAll(async () => {
    cluster = await startFiveHosts();
    await cluster.untilFullMesh(15_000);
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('is declared dead in time, rejoins after SIGCONT without a restart, and nobody else was suspected', async () => {
    const others = ids(cluster).filter((id) => id !== PAUSED);
    const pid = cluster.host(PAUSED).server!.pid;
    const stoppedAt = cluster.pause(PAUSED);

    const { value: deadSince } = await waitFor(
      `${PAUSED} dead at every other node`,
      async () => {
        const views = await memberViews(cluster, others);
        const entries = views.map((members) => members.find((m) => m.nodeId === PAUSED)!);
        return entries.every((m) => m.state === 'dead')
          ? entries.map((m) => m.stateSinceMs)
          : undefined;
      },
      HUNG_DETECTION_MS + 2_000,
    );
    const detection = deadSince.map((at) => at - stoppedAt);
    log(`SIGSTOP detected (dead) after ${detection.join(', ')} ms at ${others.join(', ')}`);
    for (const ms of detection) expect(ms).toBeLessThanOrEqual(HUNG_DETECTION_MS);

    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, stoppedAt + PAUSE_MS - Date.now())),
    );
    const resumedAt = cluster.resume(PAUSED);
    const atMs = await cluster.untilFullMesh(20_000);
    log(`${PAUSED} back in the full mesh ${atMs - resumedAt} ms after SIGCONT`);
    expect(cluster.host(PAUSED).server!.pid).toBe(pid);
    expect(cluster.host(PAUSED).server!.running).toBe(true);

    // Nobody else changed state since before the pause, in anyone's view.
    const views = await memberViews(cluster, ids(cluster));
    const changed = views.flatMap((members, i) =>
      members
        .filter((m) => !m.self && m.nodeId !== PAUSED && m.stateSinceMs >= stoppedAt)
        .map(
          (m) =>
            `${ids(cluster)[i]} saw ${m.nodeId} ${m.state} since +${m.stateSinceMs - stoppedAt} ms`,
        ),
    );
    // On failure, the servers' logs say why: every member transition, with its reason.
    expect(changed, memberEventsSince(cluster, stoppedAt)).toEqual([]);
  });
});
