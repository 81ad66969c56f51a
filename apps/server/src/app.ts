/**
 * `buildApp({ node, config, logger })`: the HTTP facade over a registry node, built but not
 * listening (tests use `app.inject()`; main.ts listens). The control flow of a request:
 *
 *   onRequest: arrival time -> token (401 text/plain) -> deadline -> node ready? (503)
 *              -> admission slot (429 when shed)
 *   handler:   Twirp RoomService (twirp.ts) or admin API (admin.ts), node calls budgeted by
 *              what is left of the deadline
 *   onResponse / onRequestAbort: slot released, metrics observed
 *
 * Plus /healthz, /readyz, /metrics and the dashboard page under /ui (no token, no
 * admission; dashboard.ts), the /v1/events WebSocket (events.ts, on the server's upgrade
 * event), and the recent series /v1/series answers (series.ts, one sample per 2 s).
 */
import { createServer, type ServerOptions } from 'node:http';
import './request-state.js';
import type { RegistryNode } from '@roomring/node';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { adminRoutes } from './admin.js';
import { AdmissionController } from './admission.js';
import { AuthenticationError, TokenVerifier } from './auth.js';
import { REQUEST_TIMEOUT_MS_MAX, type ServerConfig } from './config.js';
import { DASHBOARD_DIR_DEFAULT, dashboardRoutes, loadDashboard } from './dashboard.js';
import { requestTimeoutMs, TIMEOUT_HEADER } from './deadline.js';
import { TwirpError, toTwirpError } from './errors.js';
import { EventStream } from './events.js';
import { createMetrics } from './metrics.js';
import { sendAuthFailure, sendTwirpError } from './reply.js';
import { SERIES_INTERVAL_MS, ServerSeries, watchReplicationLag } from './series.js';
import { isTwirpPath, requestIdOf, TwirpFront } from './twirp-front.js';
import { sendOwnedRoomWebhooks, WebhookSender } from './webhooks.js';

export interface BuildAppInit {
  node: RegistryNode;
  config: Readonly<ServerConfig>;
  logger: FastifyBaseLogger;
  /** Wall clock (ms); tests may move it. @default Date.now */
  nowMs?: () => number;
  /** Where the built dashboard is. @default DASHBOARD_DIR_DEFAULT (dist/ui of this package) */
  dashboardDir?: string;
}

/** Longest room name, percent-encoded: 256 bytes x 3 characters. */
const PARAM_CHARS_MAX = 768;

/** Fastify's routes that need a token: the admin API. (Twirp never reaches fastify's
 *  hooks but through app.inject(), which hands it to the front at once.) */
function isAdminPath(url: string): boolean {
  return url.startsWith('/v1/');
}

/** Metric labels of what fastify answers: `method` is empty (Twirp calls, labelled by method,
 *  are answered and counted by the front); `route` the route pattern, `not_found` for a path
 *  no route has. */
function requestLabels(request: FastifyRequest): { method: string; route: string } {
  return { method: '', route: request.routeOptions.url ?? 'not_found' };
}

export function buildApp(init: BuildAppInit): FastifyInstance {
  const { node, config, logger } = init;
  const nowMs = init.nowMs ?? Date.now;
  // Set once the parts it needs exist, before the server can accept a connection.
  let front: TwirpFront | undefined;
  const app = Fastify({
    // Twirp RoomService calls are answered on bare node:http (twirp-front.ts); every other
    // path goes to fastify. The server gets fastify's own settings for its timeouts.
    serverFactory: (handler, options) => {
      const settings = options as {
        http?: ServerOptions;
        keepAliveTimeout: number;
        requestTimeout: number;
        connectionTimeout: number;
      };
      const server = createServer(settings.http ?? {}, (req, res) => {
        if (front !== undefined && isTwirpPath(req.url)) front.serve(req, res);
        else handler(req, res);
      });
      server.keepAliveTimeout = settings.keepAliveTimeout;
      server.requestTimeout = settings.requestTimeout;
      server.setTimeout(settings.connectionTimeout);
      return server;
    },
    loggerInstance: logger,
    // One log line per failed request (onResponse below), not two per request.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: PARAM_CHARS_MAX },
    // Errors raised before routing (a path whose percent-encoding does not decode) get the
    // same Twirp-style body as every other error, not fastify's own.
    frameworkErrors: (error, _request, reply) => {
      sendTwirpError(reply, fromFrameworkError(error));
    },
    bodyLimit: config.bodyBytesMax,
    requestIdHeader: false,
    genReqId: requestIdOf,
    // On close: stop accepting, let requests in progress finish (the node still runs until
    // app.close() returns), close idle keep-alive sockets. Requests that still arrive on an
    // open socket meanwhile are served rather than answered with fastify's non-Twirp 503.
    return503OnClosing: false,
  });
  const admission = new AdmissionController({
    maxInFlight: config.maxInFlight,
    queueMax: config.queueMax,
    nowMs,
    setTimer: (delayMs, fn) => {
      const timer = setTimeout(fn, delayMs);
      return () => clearTimeout(timer);
    },
    onShed: (reason) => {
      metrics.shed(reason);
      series.observeShed();
    },
  });
  const metrics = createMetrics(node, admission);
  const series = new ServerSeries({
    nowMs,
    converged: () => {
      const members = node.members();
      const own = members[0]?.storeDigest;
      return members.every((m, i) => i === 0 || m.state !== 'alive' || m.storeDigest === own);
    },
    admission: () => ({ inFlight: admission.inFlight, queued: admission.queued }),
  });
  const stopLagWatch = watchReplicationLag(node, series, nowMs);
  const seriesTimer = setInterval(() => series.sample(), SERIES_INTERVAL_MS);
  seriesTimer.unref();
  const tokens = new TokenVerifier(config.keys);
  front = new TwirpFront({
    node,
    config,
    tokens,
    admission,
    logger,
    nowMs,
    onAnswered: (method, status, durationMs) => {
      metrics.observeRequest(method, '/twirp', status, durationMs / 1_000);
      series.observeRequest(durationMs);
    },
  });
  const twirp = front;
  const events = new EventStream({ node, config, logger, metrics, nowMs, tokens });
  events.attach(app.server);

  let stopWebhooks: (() => void) | undefined;
  const webhooks: WebhookSender[] = [];
  if (config.webhookUrls.length > 0 && config.webhookKey) {
    // One sender (queue, deliveries, retries) per receiver: a slow one does not hold the others.
    for (const url of config.webhookUrls) {
      webhooks.push(
        new WebhookSender({
          url,
          apiKey: config.webhookKey,
          secret: config.keys.get(config.webhookKey)!,
          queueMax: config.webhookQueueMax,
          nowMs,
          logger,
          metrics: metrics.webhooks,
        }),
      );
    }
    stopWebhooks = sendOwnedRoomWebhooks(node, webhooks, metrics.webhooks, nowMs);
  }

  app.decorateRequest('startedAtMs', 0);
  app.decorateRequest('startedAtPerfMs', 0);
  app.decorateRequest('deadlineAtMs', 0);
  app.decorateRequest('grants', undefined);
  app.decorateRequest('releaseSlot', undefined);
  app.decorateRequest('clientGone', undefined);

  app.addHook('onRequest', async (request, reply) => {
    if (isTwirpPath(request.url)) {
      // Only through app.inject() (tests): the server hands these to the front itself.
      reply.hijack();
      twirp.serve(request.raw, reply.raw);
      return;
    }
    request.startedAtMs = nowMs();
    request.startedAtPerfMs = performance.now();
    if (!isAdminPath(request.url)) return;
    try {
      request.grants = tokens.authenticate(request.headers.authorization, nowMs());
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      return sendAuthFailure(reply, error.message);
    }
    request.deadlineAtMs =
      request.startedAtMs +
      requestTimeoutMs(
        request.headers[TIMEOUT_HEADER],
        config.requestTimeoutMs,
        REQUEST_TIMEOUT_MS_MAX,
      );
    request.releaseSlot = admission.tryAcquire();
    if (request.releaseSlot) return;
    // Must wait: only now pay for an AbortController (~7 us) to withdraw if the client leaves.
    request.clientGone = new AbortController();
    try {
      request.releaseSlot = await admission.acquire(
        request.deadlineAtMs,
        request.clientGone.signal,
      );
    } catch (error) {
      return sendTwirpError(reply, toTwirpError(error));
    }
  });

  app.addHook('onRequestAbort', async (request) => {
    if (isTwirpPath(request.url)) return;
    request.clientGone?.abort();
    request.releaseSlot?.();
  });

  app.addHook('onResponse', async (request, reply) => {
    if (isTwirpPath(request.url)) return;
    request.releaseSlot?.();
    const code = reply.statusCode;
    const { method, route } = requestLabels(request);
    const durationMs = performance.now() - request.startedAtPerfMs;
    metrics.observeRequest(method, route, code, durationMs / 1_000);
    series.observeRequest(durationMs);
    // 503 (no ack in time, node not ready) and 501 are expected answers that can come by the
    // thousand per second in a partition: counted in metrics, logged at debug only.
    if (code >= 500 && code !== 503 && code !== 501) {
      request.log.warn({ method: request.method, url: request.url, code }, 'request failed');
    } else {
      request.log.debug({ method: request.method, url: request.url, code }, 'request');
    }
  });

  app.setErrorHandler((error, request, reply) => {
    const answer = fromFrameworkError(error);
    if (answer.code === 'internal') request.log.error({ err: error }, 'unexpected error');
    sendTwirpError(reply, answer);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    sendTwirpError(
      reply,
      new TwirpError('bad_route', `no handler for path "${path.slice(0, 300)}"`, {
        twirp_invalid_route: `${request.method} ${path.slice(0, 300)}`,
      }),
    );
  });

  app.register(adminRoutes, { node, admission, series });
  app.register(dashboardRoutes, {
    assets: loadDashboard(init.dashboardDir ?? DASHBOARD_DIR_DEFAULT),
    dev: config.dev,
    keys: config.keys,
  });

  // As livekit-server: load balancers probe `/` and expect 200 `OK`.
  app.get('/', async (_request, reply) =>
    reply.header('content-type', 'text/plain; charset=utf-8').send('OK'),
  );
  app.get('/healthz', async (_request, reply) =>
    reply.header('content-type', 'text/plain; charset=utf-8').send('ok'),
  );
  app.get('/readyz', async (_request, reply) => {
    // Ready: serves the API (docs/operations.md, "Ready and healthy"). The last live node
    // of a cluster stays ready; a node resyncing, cut off past the TTL or not yet joined is not.
    const { ready, reason } = node.readiness();
    const state = node.nodeState();
    const peers = node.members().filter((m, i) => i > 0 && m.state === 'alive').length;
    return reply
      .code(ready ? 200 : 503)
      .header('content-type', 'application/json')
      .send(Buffer.from(JSON.stringify({ ready, reason, state, alivePeers: peers })));
  });
  app.get('/metrics', async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(body);
  });

  app.addHook('preClose', async () => {
    clearInterval(seriesTimer);
    stopLagWatch();
    events.close();
    for (const sender of webhooks) sender.stop();
    stopWebhooks?.();
  });
  return app;
}

/** Fastify's own errors (body parsing, limits) as Twirp errors. */
function fromFrameworkError(error: unknown): TwirpError {
  if (error instanceof TwirpError) return error;
  const code = (error as { code?: string }).code;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      // Not resource_exhausted (429): retrying the same body can never succeed.
      return new TwirpError('invalid_argument', 'request body is too large', {
        argument: 'body',
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new TwirpError('malformed', 'body must be application/json');
    case 'FST_ERR_BAD_URL':
      return new TwirpError('malformed', 'the path has an invalid percent-encoding', {
        argument: 'path',
      });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new TwirpError('malformed', 'the request body could not be decoded');
    default:
      if ((error as { statusCode?: number }).statusCode === 400) {
        return new TwirpError('malformed', 'the request could not be decoded');
      }
      return toTwirpError(error);
  }
}
