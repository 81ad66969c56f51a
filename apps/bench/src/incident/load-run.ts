/**
 * The run: open-loop CreateRoom calls from the API clients of several regions, with
 * per-second statistics.
 *
 * Open loop: calls start at a fixed rate whatever the answers, as real users keep arriving.
 * A 10 ms tick starts `floor(rate x elapsed) - started` calls per region, so the schedule
 * never drifts and catches up when the event loop was late. Failover (as DNS/GSLB would do)
 * re-points a region's clients at another region's URL; every later attempt, retries of
 * calls already in flight included, goes there.
 *
 * Clocks, timers, HTTP and the output sinks are injected (STYLE.md habit 3): load.ts passes
 * real ones, the tests a virtual clock (@roomring/sim's createVirtualTime), on which a run's
 * schedule, retries and every line are exact.
 */
import type { ClientClock, ClientRandom, ClientTimers, RoomringClient } from '@roomring/client';
import {
  type CallOutcome,
  callAtOnce,
  callPolicy,
  createPolicyClient,
  type LoadHttp,
  ReusedToken,
  type Route,
} from './load-calls.js';
import {
  drainBoundMs,
  type LoadConfig,
  REGIONS_MAX,
  type RegionLoadConfig,
} from './load-config.js';
import type { ControlCommand } from './load-control.js';
import {
  callsDue,
  mulberry32,
  RoomChooser,
  regionSeed,
  repeatEvery,
  seededClientRandom,
  TICK_INTERVAL_MS,
} from './load-schedule.js';
import {
  type DoneStats,
  LoadStatistics,
  type RecordingLine,
  type RegionTally,
  type SecondStats,
} from './load-stats.js';

export interface LoadRunInit {
  config: LoadConfig;
  /** Monotonic milliseconds: the schedule and latencies (load.ts: performance.now). */
  clock: ClientClock;
  /** Wall clock, unix ms: tokens' `nbf`/`exp` and the policy clients' deadlines (load.ts:
   *  Date.now). */
  wallClock: ClientClock;
  /** One-shot timers: the tick, and the policy clients' back-off and deadlines (load.ts:
   *  setTimeout / clearTimeout). */
  timers: ClientTimers;
  /**
   * Randomness of region `index`'s policy client (back-off jitter, request ids).
   * @default a mulberry32 stream per region seeded from config.seed, so a run's jitter
   *   replays like its names
   */
  clientRandom?: (regionIndex: number) => ClientRandom;
  /** The HTTP client of both modes (load.ts builds it from config.transport). */
  http: LoadHttp;
  /** Receives each per-second line, then the done line. */
  emit: (line: SecondStats | DoneStats | RecordingLine) => void;
  /** An acknowledged NEW room (load.ts appends `${name}\t${sid}\n` to ackedPath). */
  ack: (name: string, sid: string) => void;
  /** Diagnostics (stderr). */
  log: (message: string) => void;
}

export interface LoadRun {
  /** Applies a stdin command: failover re-points, stop ends call starts now. */
  command(cmd: ControlCommand): void;
  /** Resolves with the done line (already emitted) once in-flight calls have drained. */
  readonly done: Promise<DoneStats>;
}

/** Stream of region `index`'s policy client: after the names' and the statistics' streams. */
const CLIENT_STREAM_BASE = REGIONS_MAX + 3;

interface RegionState {
  readonly config: RegionLoadConfig;
  readonly chooser: RoomChooser;
  readonly tally: RegionTally;
  /** Calls scheduled so far: started + shed (the open-loop schedule's position). */
  scheduled: number;
  readonly route: Route;
  /** policy mode only. */
  readonly client: RoomringClient | undefined;
}

/** Starts the run at once; the first second line comes ~1 s later. */
export function startLoadRun(init: LoadRunInit): LoadRun {
  const { config, clock, emit, ack, log } = init;
  const startMs = clock.nowMs();
  const warmupS = config.warmupS ?? 0;
  const durationMs = (warmupS + config.durationS) * 1000;
  const clientRandom =
    init.clientRandom ??
    ((index: number) => seededClientRandom(regionSeed(config.seed, CLIENT_STREAM_BASE + index)));
  const token = new ReusedToken(config, init.wallClock);
  let recording = warmupS === 0;

  const routes = config.regions.map((region): Route => ({ current: region.url }));
  const clients = config.regions.map((region, index) =>
    config.mode === 'policy'
      ? createPolicyClient({
          config,
          baseUrl: region.url,
          route: routes[index]!,
          fetch: init.http.fetch,
          wallClock: init.wallClock,
          timers: init.timers,
          random: clientRandom(index),
        })
      : undefined,
  );
  const stats = new LoadStatistics(
    config.seed,
    config.regions.map((region, index) => {
      const client = clients[index];
      return {
        name: region.name,
        attemptsCounter: client ? () => client.counters().attempts : undefined,
      };
    }),
  );
  const regions = new Map<string, RegionState>();
  config.regions.forEach((region, index) => {
    regions.set(region.name, {
      config: region,
      chooser: new RoomChooser(region, mulberry32(regionSeed(config.seed, index))),
      tally: stats.tally(index),
      scheduled: 0,
      route: routes[index]!,
      client: clients[index],
    });
  });

  let inFlight = 0;
  let nextSecond = 1;
  let stoppedAtMs: number | undefined;
  let finished = false;

  let resolveDone!: (done: DoneStats) => void;
  const done = new Promise<DoneStats>((resolve) => {
    resolveDone = resolve;
  });

  function startCall(state: RegionState): void {
    if (inFlight >= config.inFlightMax) {
      if (recording) stats.callShed();
      return;
    }
    const { name, isNew } = state.chooser.next();
    const recorded = recording;
    inFlight += 1;
    if (recorded) stats.callStarted(state.tally);
    const callStartMs = clock.nowMs();
    const call: Promise<CallOutcome> = state.client
      ? callPolicy(state.client, name, log)
      : callAtOnce({
          config,
          http: init.http,
          token,
          route: state.route,
          name,
          onAttempt: recorded ? () => stats.attemptStarted(state.tally) : () => undefined,
        });
    void call.then((outcome) => {
      // A call ending after the drain bound was already counted timedOut by finish(), and
      // the acked file may be closed: it changes nothing any more.
      if (finished) return;
      inFlight -= 1;
      // Counted at completion, in whatever second that is; a warm-up call only for its
      // acknowledged new room (the lost-room check).
      if (recorded) stats.callEnded(state.tally, outcome.kind, clock.nowMs() - callStartMs);
      if (outcome.kind === 'ok' && isNew) {
        stats.newRoomAcked();
        ack(name, outcome.sid);
      }
    });
  }

  function endSecond(t: number): void {
    if (t > warmupS) {
      emit(stats.secondLine(t - warmupS, inFlight));
      return;
    }
    // A warm-up second: read and drop its counts, then start recording after the last.
    stats.dropSecond();
    if (t === warmupS) {
      recording = true;
      emit({ type: 'recording' });
    }
  }

  function finish(): void {
    finished = true;
    cancelTick();
    if (inFlight > 0) log(`${inFlight} calls still in flight past the drain bound: timedOut`);
    const line = stats.doneLine(inFlight);
    emit(line);
    resolveDone(line);
  }

  function stop(atMs: number): void {
    if (stoppedAtMs === undefined) stoppedAtMs = atMs;
  }

  /** Starts every call due by `untilMs` (capped at the run's duration). */
  function startDue(untilMs: number): void {
    if (stoppedAtMs !== undefined) return;
    const scheduleMs = Math.min(untilMs, durationMs);
    for (const state of regions.values()) {
      const due = callsDue(state.config.ratePerSec, scheduleMs, state.scheduled);
      state.scheduled += due;
      for (let i = 0; i < due; i++) startCall(state);
    }
    if (untilMs >= durationMs) stop(untilMs);
  }

  function tick(): void {
    const elapsedMs = clock.nowMs() - startMs;
    // Calls due before a second's boundary are started, and counted, in that second even
    // when the tick comes late: callsStarted per second is exactly the rate unless shed.
    while (elapsedMs >= nextSecond * 1000) {
      startDue(nextSecond * 1000);
      endSecond(nextSecond);
      nextSecond += 1;
    }
    startDue(elapsedMs);
    if (stoppedAtMs !== undefined) {
      if (inFlight === 0 || elapsedMs - stoppedAtMs >= drainBoundMs(config)) finish();
    }
  }

  const cancelTick = repeatEvery(init.timers, TICK_INTERVAL_MS, tick);

  return {
    command(cmd) {
      if (cmd.cmd === 'stop') {
        stop(clock.nowMs() - startMs);
        return;
      }
      const from = regions.get(cmd.from);
      const to = regions.get(cmd.to);
      if (from === undefined || to === undefined) {
        log(`failover ignored: unknown region in ${JSON.stringify(cmd)}`);
        return;
      }
      stats.failedOver();
      // Every region routed to `from` (itself, or one failed over to it earlier) follows.
      const deadRoute = from.route.current;
      for (const state of regions.values()) {
        if (state.route.current === deadRoute) state.route.current = to.route.current;
      }
      log(`failover ${cmd.from} -> ${cmd.to}: now ${to.route.current}`);
    },
    done,
  };
}
