/**
 * Recent figures of this node for the dashboard's charts and overview (docs/dashboard.md,
 * `GET /v1/series`): every SERIES_INTERVAL_MS the open interval is closed into one point and
 * the last SERIES_POINTS_MAX points are kept, so a page opened now shows the last five minutes
 * at once instead of starting empty. /metrics has the same request figures as cumulative
 * counters and a histogram; this is their recent history, kept where the browser can read it
 * with the same token as the rest of /v1.
 *
 * - Requests: every HTTP request answered (the ones `roomring_http_requests_total` counts),
 *   the dashboard's own polling included; latency from arrival to answer, p50 and p99 of the
 *   interval from a LogHistogram (within 20% above the true value).
 * - Replication lag: for every room change this node applies from another node (room
 *   created, updated or deleted with origin `remote`) while it is running: wall time now
 *   minus the wall time of the change's HLC stamp at its origin. It includes the clock offset
 *   between the two nodes (bounded by the node option maxClockOffsetMs). Rooms pulled while
 *   joining or resyncing are not counted: their age is not a lag.
 * - Convergence: at each sample, whether this node's store digest equals the digest in every
 *   alive peer's last heartbeat; `divergedSinceMs` is the first sample of the current run of
 *   disagreeing ones (the convergence lag, at the sampling resolution). Heartbeat digests are
 *   a heartbeat old, so under a steady write load digests rarely agree (as `roomring status`).
 */
import type { RegistryNode } from '@roomring/node';
import { hlcWallMs, type RoomRecord } from '@roomring/protocol';
import { LogHistogram } from './log-histogram.js';
import type { SeriesPoint, SeriesView } from './series-types.js';

export type { SeriesPoint, SeriesView } from './series-types.js';

/** One point per 2 s: fine enough to see a spike, cheap to send (150 points ~ 25 KB JSON). */
export const SERIES_INTERVAL_MS = 2_000;
/** Points kept: 150 x 2 s = the last 5 minutes. */
export const SERIES_POINTS_MAX = 150;

/** Latency buckets: 50 us .. 60 s (deadlines end requests well before), 20% apart: 78
 *  buckets. Replication lag uses the same range. */
const HISTOGRAM = { minValue: 0.05, maxValue: 60_000, growth: 1.2 } as const;

export interface ServerSeriesInit {
  nowMs: () => number;
  /** Whether this node's store digest agrees with every alive peer's now. */
  converged: () => boolean;
  /** Admission gauges now. */
  admission: () => { inFlight: number; queued: number };
  /** @default SERIES_POINTS_MAX */
  pointsMax?: number;
}

export class ServerSeries {
  private readonly latency = new LogHistogram(HISTOGRAM);
  private readonly lag = new LogHistogram(HISTOGRAM);
  private readonly points: SeriesPoint[] = [];
  private readonly pointsMax: number;
  private requests = 0;
  private shedCount = 0;
  private intervalStartMs: number;
  private divergedSinceMs: number | null = null;

  constructor(private readonly init: ServerSeriesInit) {
    this.pointsMax = init.pointsMax ?? SERIES_POINTS_MAX;
    if (!Number.isInteger(this.pointsMax) || this.pointsMax < 1) {
      throw new RangeError('pointsMax must be a positive integer');
    }
    this.intervalStartMs = init.nowMs();
  }

  observeRequest(durationMs: number): void {
    this.requests++;
    this.latency.observe(durationMs);
  }

  observeShed(): void {
    this.shedCount++;
  }

  observeReplicationLag(lagMs: number): void {
    this.lag.observe(Math.max(0, lagMs));
  }

  /** Closes the open interval into a point (the oldest is dropped past pointsMax). */
  sample(): SeriesPoint {
    const atMs = this.init.nowMs();
    const seconds = Math.max(atMs - this.intervalStartMs, 1) / 1_000;
    const converged = this.init.converged();
    if (converged) this.divergedSinceMs = null;
    else this.divergedSinceMs ??= atMs;
    const { inFlight, queued } = this.init.admission();
    const point: SeriesPoint = {
      atMs,
      requests: this.requests,
      requestsPerS: this.requests / seconds,
      latencyP50Ms: this.latency.quantile(0.5),
      latencyP99Ms: this.latency.quantile(0.99),
      shed: this.shedCount,
      inFlight,
      queued,
      replicated: this.lag.count,
      replicationLagP50Ms: this.lag.quantile(0.5),
      replicationLagP99Ms: this.lag.quantile(0.99),
      converged,
    };
    this.points.push(point);
    if (this.points.length > this.pointsMax) this.points.shift();
    this.requests = 0;
    this.shedCount = 0;
    this.latency.reset();
    this.lag.reset();
    this.intervalStartMs = atMs;
    return point;
  }

  view(): SeriesView {
    const atMs = this.init.nowMs();
    const last = this.points.at(-1);
    const converged = last?.converged ?? true;
    return {
      intervalMs: SERIES_INTERVAL_MS,
      pointsMax: this.pointsMax,
      atMs,
      convergence: {
        converged,
        divergedSinceMs: this.divergedSinceMs,
        lagMs: this.divergedSinceMs === null ? 0 : Math.max(0, atMs - this.divergedSinceMs),
      },
      points: [...this.points],
    };
  }
}

/** The HLC stamp of the change a room event reports. */
function changeStamp(room: Readonly<RoomRecord>, deleted: boolean): number {
  return deleted ? room.deletedAt : Math.max(room.createdAt, room.settingsAt, room.statsAt);
}

/**
 * Feeds `series` the replication lag of every room change `node` applies from another node
 * while running. Costs one subtraction per change (and the event payload the node then
 * builds). Returns the unsubscribe function.
 */
export function watchReplicationLag(
  node: Pick<RegistryNode, 'on' | 'nodeState'>,
  series: ServerSeries,
  nowMs: () => number,
): () => void {
  const observe =
    (deleted: boolean) =>
    ({ room, origin }: { room: Readonly<RoomRecord>; origin: string }): void => {
      if (origin !== 'remote' || node.nodeState() !== 'running') return;
      series.observeReplicationLag(nowMs() - hlcWallMs(changeStamp(room, deleted)));
    };
  const offs = [
    node.on('room-created', observe(false)),
    node.on('room-updated', observe(false)),
    node.on('room-deleted', observe(true)),
  ];
  return () => {
    for (const off of offs) off();
  };
}
