/**
 * The incident replay's load generator, without the process around it (load.ts): what
 * load.ts, replay.ts and the tests import. One module per concern:
 *
 * - load-config.ts: the config file replay.ts writes, its limits and validation;
 * - load-schedule.ts: the open-loop schedule, the tick, seeded room choice;
 * - load-calls.ts: one CreateRoom call as the incident's clients and as packages/client;
 * - load-stats.ts: the per-second, recording and done lines and the counting behind them;
 * - load-control.ts: stdin control lines (failover, stop);
 * - load-run.ts: the run that wires them, on an injected clock, timers and HTTP client.
 */
export {
  CREATE_ROOM_PATH,
  isRetryableStatus,
  type LoadHttp,
  type PostAnswer,
  TOKEN_REUSE_MS,
} from './load-calls.js';
export {
  DEFAULT_TRANSPORT,
  DRAIN_SLACK_MS,
  DURATION_S_MAX,
  drainBoundMs,
  type HttpTransport,
  IN_FLIGHT_MAX_LIMIT,
  type LoadConfig,
  LoadConfigError,
  type LoadMode,
  normaliseRegionUrl,
  parseLoadConfig,
  RATE_PER_SEC_MAX,
  REGIONS_MAX,
  type RegionLoadConfig,
  ROOM_PREFIX_CHARS_MAX,
  TIMEOUT_MS_MAX,
} from './load-config.js';
export {
  CONTROL_LINE_BYTES_MAX,
  type ControlCommand,
  ControlCommandError,
  LineSplitter,
  parseControlLine,
} from './load-control.js';
export { type LoadRun, type LoadRunInit, startLoadRun } from './load-run.js';
export {
  callsDue,
  mulberry32,
  type RoomChoice,
  RoomChooser,
  regionSeed,
  TICK_INTERVAL_MS,
} from './load-schedule.js';
export {
  type DoneStats,
  LATENCY_SAMPLES_PER_SECOND_MAX,
  LatencyReservoir,
  percentile,
  type RecordingLine,
  type RegionSecondStats,
  RUN_LATENCY_SAMPLES_MAX,
  type SecondStats,
} from './load-stats.js';
