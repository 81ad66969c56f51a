/**
 * The `/v1/series` answer's shape on its own, importing nothing, so the dashboard
 * (apps/server/ui, type-checked for the browser without node types) reads the declaration
 * the server answers with.
 */

export interface SeriesPoint {
  /** Wall-clock end of the interval (unix ms). */
  atMs: number;
  /** Requests answered in the interval. */
  requests: number;
  requestsPerS: number;
  /** null: no request in the interval. */
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  /** Requests shed by admission control in the interval. */
  shed: number;
  /** Admission gauges at the end of the interval. */
  inFlight: number;
  queued: number;
  /** Room changes applied from other nodes in the interval. */
  replicated: number;
  /** null: nothing replicated in the interval. */
  replicationLagP50Ms: number | null;
  replicationLagP99Ms: number | null;
  /** Store digest equal to every alive peer's heartbeat digest at the end of the interval. */
  converged: boolean;
}

export interface SeriesView {
  intervalMs: number;
  pointsMax: number;
  /** When the answer was made (unix ms). */
  atMs: number;
  convergence: {
    converged: boolean;
    /** First sample of the current disagreement; null while converged. */
    divergedSinceMs: number | null;
    /** atMs - divergedSinceMs; 0 while converged. */
    lagMs: number;
  };
  /** Oldest first, at most pointsMax. */
  points: SeriesPoint[];
}
