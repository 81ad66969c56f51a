/**
 * Issue 15, the failure detector: one host's server stops its own event loop for 2 s every
 * 30 s, six times (a busy-wait inside the process, as a long GC pause or a starved core
 * does; not SIGSTOP: the kernel keeps receiving on its sockets), with the production timings
 * (profile lan: heartbeat 1 s, suspect 3 s, dead 6 s). No node declares any member dead, the
 * paused node accuses nobody, and nobody suspects any other node; the paused node's own
 * counters show the late ticks, so the pauses really happened.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHostCluster, type HostCluster } from '../src/index.js';
import { describeHosts, FIVE_HOSTS, ids, log, logLines, waitFor } from './helpers.js';

const PRELOAD = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'busy-pause.mjs');
const PAUSED = 'usw-2';
const PAUSE_MS = 2_000;
const EVERY_MS = 30_000;
const PAUSES = 6;
/** Past the last pause: the slowest observer's next ticks, and a heartbeat each way. */
const SETTLE_MS = 5_000;

describeHosts('a node whose event loop stops for 2 s every 30 s', { timeout: 300_000 }, () => {
  let cluster: HostCluster;
  beforeAll(async () => {
    cluster = await createHostCluster({
      hosts: FIVE_HOSTS,
      log,
      logDir: process.env.HOSTS_LOG_DIR || undefined,
      serverEnv: {
        [PAUSED]: {
          NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(PRELOAD).href}`,
          BUSY_PAUSE_MS: String(PAUSE_MS),
          BUSY_PAUSE_EVERY_MS: String(EVERY_MS),
          BUSY_PAUSE_COUNT: String(PAUSES),
        },
      },
    });
    await cluster.untilFullMesh(20_000);
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('six pauses: no member declared dead, the paused node accuses nobody, nobody else is suspected', async () => {
    const host = cluster.host(PAUSED);
    const pauses = () => logLines(host.logPath).filter((l) => l.event === 'busy-pause');
    // The pauses run on their own schedule (the first EVERY_MS after the process started).
    const { atMs: lastPauseSeenMs } = await waitFor(
      `${PAUSES} pauses of ${PAUSED}`,
      async () => (pauses().length >= PAUSES ? true : undefined),
      PAUSES * EVERY_MS + 30_000,
      1_000,
    );
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const done = pauses();
    log(
      `${PAUSED} paused ${done.length} times: ${done.map((p) => `${p.endMs! - p.startMs!} ms`).join(', ')}; last seen ${Date.now() - lastPauseSeenMs} ms ago`,
    );
    expect(done).toHaveLength(PAUSES);
    for (const p of done) expect(p.endMs! - p.startMs!).toBeGreaterThanOrEqual(PAUSE_MS);

    // Every member transition each server logged (member-log.ts), by observer.
    const transitions = ids(cluster).flatMap((observer) =>
      logLines(cluster.host(observer).logPath)
        .filter((l) => l.event === 'member-suspect' || l.event === 'member-dead')
        .map((l) => `${observer} -> ${l.member} ${l.event} (${l.reason})`),
    );
    log(
      `suspicions and deaths during the run: ${transitions.length === 0 ? 'none' : transitions.join('; ')}`,
    );
    const deaths = transitions.filter((t) => t.includes('member-dead'));
    const byPaused = transitions.filter((t) => t.startsWith(`${PAUSED} ->`));
    const ofOthers = transitions.filter((t) => !t.includes(`-> ${PAUSED} `));
    expect({ deaths, byPaused, ofOthers }, cluster.outputs()).toEqual({
      deaths: [],
      byPaused: [],
      ofOthers: [],
    });

    // The paused node's own view of its timers: one late tick per pause (a 2 s pause makes
    // the tick due during it run 1-2 s late), local health back to 0 since.
    const status = await cluster.status(PAUSED);
    const m = status.counters.membership;
    log(
      `${PAUSED}: lateTicks ${m.lateTicks}, tickLateMs ${m.tickLateMs}, freezesDetected ${m.freezesDetected}, refutations ${m.refutations}, localHealth ${status.localHealth}`,
    );
    expect(m.lateTicks).toBeGreaterThanOrEqual(PAUSES);
    expect(m.tickLateMs).toBeGreaterThanOrEqual(PAUSES * (PAUSE_MS - 1_000));
    expect(status.localHealth).toBe(0);
    const others = await Promise.all(
      ids(cluster)
        .filter((id) => id !== PAUSED)
        .map(
          async (id) => `${id} ${(await cluster.status(id)).counters.membership.probesTimedOut}`,
        ),
    );
    log(`probes timed out (observer, count): ${others.join(', ')}`);

    // Everyone alive in everyone's view, the mesh whole.
    await cluster.untilFullMesh(10_000);
  });
});
