/**
 * Prometheus metrics (prom-client, one registry per app so several apps in one process, as
 * in tests, never collide). Labels stay few and bounded: `method` is a Twirp method name, an
 * admin route pattern or 'other'; `code` an HTTP status. Node figures are read at scrape
 * time from `node.status()`, never pushed on the hot path.
 */
import type { RegistryNode } from '@roomring/node';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AdmissionController, ShedReason } from './admission.js';
import { SERVER_VERSION } from './version.js';

export interface ServerMetrics {
  readonly registry: Registry;
  observeRequest(method: string, route: string, code: number, seconds: number): void;
  shed(reason: ShedReason): void;
  readonly events: {
    clients: Gauge;
    sent: Counter;
    slowConsumerDisconnects: Counter;
    refused: Counter<'reason'>;
  };
  readonly webhooks: {
    sent: Counter<'event'>;
    failed: Counter<'event'>;
    dropped: Counter<'event'>;
    /** Room events from before this node joined its cluster: not announced by it. */
    skipped: Counter<'event'>;
    queued: Gauge;
  };
}

/** Latency buckets (s): memory answers ~0.1 ms, acknowledged writes ~1-5 ms on a LAN,
 *  ~100 ms across regions, deadlines at 5 s. */
const LATENCY_BUCKETS_S = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** A scrape reads many gauges; they share one status snapshot this young. */
const STATUS_CACHE_MS = 100;

type CounterGroups = Record<string, Record<string, number>>;

/**
 * Label sets of the request metrics whose children are kept: Twirp methods (unknown ones are
 * `bad_route`) x routes (fastify's route templates) x status codes are a few hundred at most;
 * past this many, a safety net, the label object is passed as it comes.
 */
export const LABEL_CHILDREN_MAX = 1_024;

export function createMetrics(node: RegistryNode, admission: AdmissionController): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'roomring_http_requests_total',
    help: 'HTTP requests answered, by Twirp method (empty off Twirp), route and status code',
    labelNames: ['method', 'route', 'code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'roomring_http_request_duration_seconds',
    help: 'HTTP request duration from arrival to answer (monotonic clock), admission wait included',
    labelNames: ['method', 'route', 'code'] as const,
    buckets: LATENCY_BUCKETS_S,
    registers: [registry],
  });
  new Gauge({
    name: 'roomring_build_info',
    help: 'always 1: the server version and the Node.js version it runs on, as labels',
    labelNames: ['version', 'node_version'] as const,
    registers: [registry],
  }).set({ version: SERVER_VERSION, node_version: process.version }, 1);
  new Gauge({
    name: 'roomring_http_in_flight',
    help: 'requests being served (admission slots taken)',
    registers: [registry],
    collect() {
      this.set(admission.inFlight);
    },
  });
  new Gauge({
    name: 'roomring_http_queued',
    help: 'requests waiting for an admission slot',
    registers: [registry],
    collect() {
      this.set(admission.queued);
    },
  });
  const shed = new Counter({
    name: 'roomring_http_shed_total',
    help: 'requests shed by admission control (429), by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  // One node.status() per scrape (it hashes the digest), shared by the gauges below.
  let cached: { atMs: number; status: ReturnType<RegistryNode['status']> } | undefined;
  const status = (): ReturnType<RegistryNode['status']> => {
    const nowMs = Date.now();
    if (!cached || nowMs - cached.atMs > STATUS_CACHE_MS) {
      cached = { atMs: nowMs, status: node.status() };
    }
    return cached.status;
  };
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  };
  gauge('roomring_rooms', 'visible rooms held by this node', () => node.roomCount());
  gauge('roomring_owned_rooms', 'rooms this node hosts', () => status().ownedRooms);
  gauge('roomring_incarnations', 'room incarnations held', () => status().incarnations);
  gauge('roomring_tombstones', 'tombstones held', () => status().tombstones);
  gauge('roomring_connected_peers', 'peers connected', () => status().connectedPeers);
  gauge('roomring_pending_writes', 'writes waiting for acks', () => status().pendingWrites);
  gauge(
    'roomring_local_health',
    "failure detector's local health: 0 healthy .. 8; silence thresholds x (1 + it)",
    () => status().localHealth,
  );
  new Gauge({
    name: 'roomring_members',
    help: 'members known, by state (this node counts as alive)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const m of node.members()) counts.set(m.state, (counts.get(m.state) ?? 0) + 1);
      for (const [state, count] of counts) this.set({ state }, count);
    },
  });
  // The node keeps its own monotonic counters; expose them as Prometheus counters by
  // re-reading them at each scrape.
  new Counter({
    name: 'roomring_node_events_total',
    help: "the node's counters (gossip, replication, sync, writes, membership, store)",
    labelNames: ['group', 'name'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const groups = status().counters as unknown as CounterGroups;
      for (const [group, counters] of Object.entries(groups)) {
        for (const [name, value] of Object.entries(counters)) {
          if (typeof value === 'number') this.inc({ group, name }, value);
        }
      }
    },
  });
  // Each label set's children, so a request does not hash its label object twice (prom-client
  // does on every inc/observe by labels): ~1.5% of the serving node's time under wrk.
  const children = new Map<
    string,
    { count: ReturnType<typeof requests.labels>; time: ReturnType<typeof duration.labels> }
  >();
  const eventLabels = ['event'] as const;
  return {
    registry,
    observeRequest(method, route, code, seconds) {
      const key = `${method}\n${route}\n${code}`;
      let child = children.get(key);
      if (child === undefined && children.size < LABEL_CHILDREN_MAX) {
        const labels = { method, route, code };
        child = { count: requests.labels(labels), time: duration.labels(labels) };
        children.set(key, child);
      }
      if (child !== undefined) {
        child.count.inc();
        child.time.observe(seconds);
      } else {
        requests.inc({ method, route, code });
        duration.observe({ method, route, code }, seconds);
      }
    },
    shed(reason) {
      shed.inc({ reason });
    },
    events: {
      clients: new Gauge({
        name: 'roomring_event_stream_clients',
        help: '/v1/events connections',
        registers: [registry],
      }),
      sent: new Counter({
        name: 'roomring_event_stream_frames_total',
        help: 'event frames sent to /v1/events consumers',
        registers: [registry],
      }),
      slowConsumerDisconnects: new Counter({
        name: 'roomring_event_stream_slow_disconnects_total',
        help: 'event consumers disconnected for exceeding eventBufferBytesMax',
        registers: [registry],
      }),
      refused: new Counter({
        name: 'roomring_event_stream_refused_total',
        help: 'event stream upgrades refused, by reason',
        labelNames: ['reason'] as const,
        registers: [registry],
      }),
    },
    webhooks: {
      sent: new Counter({
        name: 'roomring_webhooks_sent_total',
        help: 'webhooks delivered (2xx)',
        labelNames: eventLabels,
        registers: [registry],
      }),
      skipped: new Counter({
        name: 'roomring_webhooks_skipped_total',
        help: 'room events from before this node joined its cluster, not announced by it (their owner then did)',
        labelNames: eventLabels,
        registers: [registry],
      }),
      failed: new Counter({
        name: 'roomring_webhooks_failed_total',
        help: 'webhooks given up after every attempt',
        labelNames: eventLabels,
        registers: [registry],
      }),
      dropped: new Counter({
        name: 'roomring_webhooks_dropped_total',
        help: 'webhooks dropped because the queue was full',
        labelNames: eventLabels,
        registers: [registry],
      }),
      queued: new Gauge({
        name: 'roomring_webhooks_queued',
        help: 'webhooks waiting for delivery',
        registers: [registry],
      }),
    },
  };
}
