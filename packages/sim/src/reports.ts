/**
 * What the sim's long-running commands write with `--json`: the figures apps/bench records in
 * docs/benchmarks.md (`pnpm bench -- --suite swarm|scale`).
 */

/** `pnpm sim:swarm -- --json F`: one run of many seeds. */
export interface SwarmSummary {
  from: number;
  seeds: number;
  failed: number[];
  calls: number;
  acked: number;
  faults: number;
  wallS: number;
  jobs: number;
  seedsPerHour: number;
  /** Slowest convergence after the faults stopped, as a share of its bound, and its seed. */
  worstConvergenceRatio: number;
  worstConvergenceSeed: number;
  /** Seeds whose cluster ran the large-cluster policy. */
  largeClusterSeeds: number;
}

/** `pnpm sim:scale -- --json F`: one cluster size. */
export interface ScaleRow {
  nodes: number;
  /** Sent per node per second, by kind and topic or protocol (each hop counted once). */
  channels: Record<string, { messagesPerNodePerS: number; bytesPerNodePerS: number }>;
  formedAfterMs: number;
  msgsPerNodePerS: number;
  bytesPerNodePerS: number;
  msgsPerNodePerSMax: number;
  connectionsPerNode: number;
  writeVisibleEverywhereMs: { p50: number; max: number };
  wallS: number;
}
