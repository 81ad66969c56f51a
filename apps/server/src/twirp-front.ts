/**
 * The Twirp RoomService on bare node:http: `POST /twirp/livekit.RoomService/<Method>` is
 * answered here, before fastify (app.ts hands every other path to fastify). A CreateRoom of an
 * existing room is a few microseconds of work; fastify's request and reply objects, hooks,
 * router and body parser cost more than that (docs/benchmarks.md, HTTP). The control flow is
 * the one app.ts documents for every API request, in the same order:
 *
 *   token (401 text/plain) -> deadline -> node ready? (503) -> admission slot (429 when shed)
 *   -> body (bodyBytesMax) -> method POST? route? Content-Type? (bad_route) -> decode
 *   -> the call, budgeted by what is left of the deadline -> one write of head and body
 *
 * `serve()` never throws and never leaves a request unanswered: any unexpected error is an
 * `internal` answer, logged. Tests reach it through `app.inject()` too (app.ts hands Twirp
 * paths over from its first hook), so both paths run this code.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MessageType } from '@bufbuild/protobuf';
import type { RegistryNode } from '@roomring/node';
import type { FastifyBaseLogger } from 'fastify';
import type { AdmissionController } from './admission.js';
import { AnswerCache, encodeAnswer } from './answer-cache.js';
import { AuthenticationError, type TokenVerifier } from './auth.js';
import { REQUEST_TIMEOUT_MS_MAX, type ServerConfig } from './config.js';
import { nodeBudgetMs, requestTimeoutMs, TIMEOUT_HEADER } from './deadline.js';
import { retryAfterSeconds, TwirpError, toTwirpError } from './errors.js';
import {
  codecOf,
  decodeRequest,
  EncodedAnswer,
  ROOM_SERVICE,
  RPCS,
  type RpcContext,
  TWIRP_PREFIX,
  twirpMethodLabel,
  UNIMPLEMENTED_METHODS,
} from './twirp.js';

const METHOD_PREFIX = `${TWIRP_PREFIX}${ROOM_SERVICE}/`;
const JSON_TYPE = 'application/json';
const PROTOBUF_TYPE = 'application/protobuf';
const TEXT_TYPE = 'text/plain; charset=utf-8';
/** `X-Livekit-Request-Id` values logged as the request id: the SDK sends a UUID (36). */
const REQUEST_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
let generatedIds = 0;

/** The id a request is logged under: the caller's `X-Livekit-Request-Id` when it is a
 *  plausible one, else `rr-<n>` (fastify's genReqId uses it too). */
export function requestIdOf(req: Pick<IncomingMessage, 'headers'>): string {
  const given = req.headers['x-livekit-request-id'];
  return typeof given === 'string' && REQUEST_ID_PATTERN.test(given)
    ? given
    : `rr-${(++generatedIds).toString(36)}`;
}

export interface TwirpFrontInit {
  node: RegistryNode;
  config: Readonly<ServerConfig>;
  tokens: TokenVerifier;
  admission: AdmissionController;
  logger: FastifyBaseLogger;
  /** Wall clock (ms): deadlines and token validity. */
  nowMs: () => number;
  /** Called once per answered request with its Twirp method label, HTTP status and duration
   *  (monotonic ms from arrival to the answer written). Must not throw. */
  onAnswered: (method: string, status: number, durationMs: number) => void;
}

/** True for the paths the front answers. */
export function isTwirpPath(url: string | undefined): boolean {
  return url?.startsWith(TWIRP_PREFIX) === true;
}

interface Call {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly path: string;
  readonly startedAtPerfMs: number;
  releaseSlot: (() => void) | undefined;
  clientGone: AbortController | undefined;
  answered: boolean;
}

export class TwirpFront {
  private readonly answers = new AnswerCache();

  constructor(private readonly init: TwirpFrontInit) {}

  /** Answers one Twirp request. Never throws. */
  serve(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const call: Call = {
      req,
      res,
      path: query < 0 ? url : url.slice(0, query),
      startedAtPerfMs: performance.now(),
      releaseSlot: undefined,
      clientGone: undefined,
      answered: false,
    };
    this.run(call).catch((error: unknown) => this.fail(call, error));
  }

  private async run(call: Call): Promise<void> {
    const { req } = call;
    const { config, node, tokens, admission } = this.init;
    const startedAtMs = this.init.nowMs();
    let grants: RpcContext['grants'];
    try {
      grants = tokens.authenticate(req.headers.authorization, startedAtMs);
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      return this.write(call, 401, TEXT_TYPE, Buffer.from(error.message));
    }
    const deadlineAtMs =
      startedAtMs +
      requestTimeoutMs(
        req.headers[TIMEOUT_HEADER],
        config.requestTimeoutMs,
        REQUEST_TIMEOUT_MS_MAX,
      );
    const state = node.nodeState();
    if (state !== 'running' && state !== 'resyncing') {
      return this.error(call, new TwirpError('unavailable', `node is ${state}`, {}, 1_000));
    }
    call.releaseSlot = admission.tryAcquire();
    if (call.releaseSlot === undefined) {
      // Must wait: only now pay for an AbortController and a close listener, to withdraw if
      // the client leaves while queued.
      const clientGone = new AbortController();
      call.clientGone = clientGone;
      call.res.once('close', () => {
        if (!call.answered) clientGone.abort();
      });
      try {
        call.releaseSlot = await admission.acquire(deadlineAtMs, clientGone.signal);
      } catch (error) {
        return this.error(call, toTwirpError(error));
      }
      if (call.answered || clientGone.signal.aborted) return this.release(call);
    }
    const body = req.method === 'POST' ? await this.readBody(call) : EMPTY;
    if (body === undefined) return; // answered (too large, aborted)
    if (req.method !== 'POST') {
      throw badRoute(`unsupported method "${req.method}" (only POST is allowed)`, call);
    }
    const method = call.path.startsWith(METHOD_PREFIX) ? call.path.slice(METHOD_PREFIX.length) : '';
    const rpc = RPCS.get(method);
    if (rpc === undefined && !UNIMPLEMENTED_METHODS.has(method)) {
      throw badRoute(`no handler for path "${call.path.slice(0, 300)}"`, call);
    }
    const contentType = req.headers['content-type'];
    const codec = codecOf(contentType);
    if (codec === undefined) {
      throw badRoute(`unexpected Content-Type: "${(contentType ?? '').slice(0, 100)}"`, call);
    }
    if (rpc === undefined) {
      throw new TwirpError(
        'unimplemented',
        `${method} is not implemented by a room registry: participants live on the media node`,
      );
    }
    const message = decodeRequest(rpc.request as MessageType<never>, codec, body);
    const nowMs = this.init.nowMs;
    const ctx: RpcContext = {
      node,
      config,
      grants,
      deadlineMs: () => nodeBudgetMs(deadlineAtMs, nowMs()),
      truncated: false,
      answers: this.answers,
    };
    const response = await rpc.call(ctx, message, codec);
    const bytes =
      response instanceof EncodedAnswer ? response.bytes : encodeAnswer(response, codec);
    this.write(
      call,
      200,
      codec === 'json' ? JSON_TYPE : PROTOBUF_TYPE,
      bytes,
      ctx.truncated ? ['x-roomring-truncated', String(config.listRoomsMax)] : undefined,
    );
  }

  /**
   * The body, at most bodyBytesMax bytes (fastify's rules: a larger Content-Length is refused
   * before reading). Undefined when the request was answered instead (too large) or the client
   * went away.
   */
  private readBody(call: Call): Promise<Buffer | undefined> {
    const { req } = call;
    const max = this.init.config.bodyBytesMax;
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > max) {
      this.tooLarge(call);
      return Promise.resolve(undefined);
    }
    if (req.complete && req.readableLength === 0) return Promise.resolve(EMPTY);
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let length = 0;
      const done = (value: Buffer | undefined): void => {
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', onError);
        req.off('close', onClose);
        resolve(value);
      };
      const onData = (chunk: Buffer): void => {
        length += chunk.length;
        if (length > max) {
          done(undefined);
          this.tooLarge(call);
          return;
        }
        chunks.push(chunk);
      };
      const onEnd = (): void => {
        done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length));
      };
      // Closed before its end: the client went away mid-body.
      const onClose = (): void => {
        done(undefined);
        this.release(call);
      };
      const onError = (): void => {
        done(undefined);
        if (!call.res.headersSent) {
          this.error(call, new TwirpError('malformed', 'the request body could not be read'));
        } else {
          this.release(call);
        }
      };
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('error', onError);
      req.on('close', onClose);
    });
  }

  private tooLarge(call: Call): void {
    // The rest of the body is not read: close the connection after the answer.
    call.res.shouldKeepAlive = false;
    this.error(
      call,
      new TwirpError('invalid_argument', 'request body is too large', { argument: 'body' }),
    );
  }

  /** Anything thrown on the way: a TwirpError or node error as its answer, else `internal`. */
  private fail(call: Call, error: unknown): void {
    try {
      const answer = toTwirpError(error);
      if (answer.code === 'internal') {
        this.init.logger.error({ err: error, reqId: requestIdOf(call.req) }, 'unexpected error');
      }
      if (call.answered || call.res.headersSent) this.release(call);
      else this.error(call, answer);
    } catch (failure) {
      // Nothing left to answer with: drop the connection rather than leave it hanging.
      this.init.logger.error({ err: failure }, 'could not answer a Twirp request');
      call.res.destroy();
      this.release(call);
    }
  }

  private error(call: Call, error: TwirpError): void {
    this.write(
      call,
      error.status,
      JSON_TYPE,
      error.body(),
      error.retryAfterMs !== undefined
        ? ['retry-after', String(retryAfterSeconds(error.retryAfterMs))]
        : undefined,
    );
  }

  /** Head and body in one write; the slot is released and the request observed once. */
  private write(
    call: Call,
    status: number,
    contentType: string,
    body: Buffer,
    extra?: readonly [string, string],
  ): void {
    if (call.answered) return;
    call.answered = true;
    const { res } = call;
    if (!res.destroyed) {
      res.writeHead(
        status,
        extra === undefined
          ? ['content-type', contentType, 'content-length', String(body.length)]
          : ['content-type', contentType, 'content-length', String(body.length), ...extra],
      );
      res.end(body);
    }
    this.release(call);
    const durationMs = performance.now() - call.startedAtPerfMs;
    const method = twirpMethodLabel(call.path);
    try {
      this.init.onAnswered(method, status, durationMs);
    } catch (error) {
      this.init.logger.error({ err: error }, 'onAnswered threw');
    }
    // 503 (no ack in time, node not ready) and 501 are expected answers that can come by the
    // thousand per second in a partition: counted in metrics, logged at debug only.
    const logger = this.init.logger;
    if (status >= 500 && status !== 503 && status !== 501) {
      logger.warn(
        { reqId: requestIdOf(call.req), method: call.req.method, url: call.req.url, code: status },
        'request failed',
      );
    } else if (logger.level === 'debug' || logger.level === 'trace') {
      logger.debug(
        { reqId: requestIdOf(call.req), method: call.req.method, url: call.req.url, code: status },
        'request',
      );
    }
  }

  private release(call: Call): void {
    const release = call.releaseSlot;
    call.releaseSlot = undefined;
    release?.();
  }
}

const EMPTY = Buffer.alloc(0);

function badRoute(message: string, call: Call): TwirpError {
  return new TwirpError('bad_route', message, {
    twirp_invalid_route: `${call.req.method} ${call.path}`,
  });
}
