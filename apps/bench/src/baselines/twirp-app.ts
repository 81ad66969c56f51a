/**
 * `buildBaselineApp(init)`: what a team would build instead of roomring, answering LiveKit's
 * Twirp CreateRoom (livekit-roomservice.md) exactly as roomring's server does: same path,
 * JSON and binary protobuf codecs, same token check (roomring's TokenVerifier), same errors.
 * Built with fastify 5 like roomring's server so that only the storage differs. Built, not
 * listening: tests use `inject()`, main.ts listens.
 *
 * Only CreateRoom is implemented: the benchmarks call nothing else. The other RoomService
 * methods answer `unimplemented` (501), unknown paths `bad_route` (404).
 */
import type { Message } from '@bufbuild/protobuf';
import { CreateRoomRequest } from '@livekit/protocol';
import { ROOM_METADATA_BYTES_MAX, ROOM_NAME_BYTES_MAX, utf8ByteLength } from '@roomring/protocol';
import {
  AuthenticationError,
  ROOM_SERVICE,
  TokenVerifier,
  TwirpError,
  UNIMPLEMENTED_METHODS,
  type VideoGrants,
} from '@roomring/server';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { RequestTimeoutError, toBaselineTwirpError } from './errors.js';
import { intOption } from './options.js';
import {
  type BackendStats,
  DEPARTURE_TIMEOUT_S_DEFAULT,
  EMPTY_TIMEOUT_S_DEFAULT,
  type RoomBackend,
  type RoomCreate,
  toLivekitRoom,
} from './room.js';

/** The API's own wait for the storage, as the incident's "API's maximum wait time": 5 s. */
export const REQUEST_TIMEOUT_MS_DEFAULT = 5_000;
/** Twirp bodies, roomring's default: a CreateRoom with 64 KiB metadata is < 400 KiB. */
export const BODY_BYTES_MAX_DEFAULT = 1_048_576;

const CREATE_ROOM_PATH = `/twirp/${ROOM_SERVICE}/CreateRoom`;
const METHOD_PREFIX = `/twirp/${ROOM_SERVICE}/`;
/** Every RoomService method roomring knows: CreateRoom is served, the rest `unimplemented`. */
const ROOM_SERVICE_METHODS: ReadonlySet<string> = new Set([
  'CreateRoom',
  'ListRooms',
  'DeleteRoom',
  'UpdateRoomMetadata',
  ...UNIMPLEMENTED_METHODS,
]);

export interface BaselineAppInit {
  backend: RoomBackend;
  /** API key -> secret, as roomring's `--api-key/--api-secret`. */
  keys: ReadonlyMap<string, string>;
  /** Answer deadline_exceeded (408) when the backend takes longer (ms); the backend work
   *  keeps running and its result is still stored and cached.
   *  @default REQUEST_TIMEOUT_MS_DEFAULT (5,000) */
  requestTimeoutMs?: number;
  /** Largest request body (bytes). @default BODY_BYTES_MAX_DEFAULT (1 MiB) */
  bodyBytesMax?: number;
  /** Wall clock for token checks. @default Date.now */
  nowMs?: () => number;
}

/** `GET /stats`: monotonic counters, except the gauges cacheRooms and poolWaiting. */
export interface BaselineStats extends BackendStats {
  /** Twirp requests received. */
  requests: number;
  /** Answers deadline_exceeded: requestTimeoutMs or statement_timeout. */
  timeouts: number;
  /** Answers with a 5xx status (overload, storage failure). */
  errors: number;
}

type Codec = 'json' | 'protobuf';

function codecOf(contentType: string | undefined): Codec | undefined {
  const mime = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (mime === 'application/json') return 'json';
  if (mime === 'application/protobuf') return 'protobuf';
  return undefined;
}

function badRoute(message: string, method: string, path: string): TwirpError {
  return new TwirpError('bad_route', message, {
    twirp_invalid_route: `${method} ${path.slice(0, 300)}`,
  });
}

function decode(codec: Codec, body: Buffer): CreateRoomRequest {
  try {
    return codec === 'protobuf'
      ? CreateRoomRequest.fromBinary(body)
      : CreateRoomRequest.fromJson(JSON.parse(body.toString('utf8')), {
          ignoreUnknownFields: true,
        });
  } catch {
    throw new TwirpError('malformed', `the ${codec} request could not be decoded`);
  }
}

function encode(message: Message, codec: Codec): Buffer {
  if (codec === 'protobuf') return Buffer.from(message.toBinary());
  return Buffer.from(
    JSON.stringify(message.toJson({ useProtoFieldName: true, emitDefaultValues: true })),
  );
}

function checkBytes(value: string, argument: string, min: number, max: number): void {
  const bytes = utf8ByteLength(value);
  if (bytes < min || bytes > max) {
    throw new TwirpError(
      'invalid_argument',
      `${argument} must be ${min} to ${max} UTF-8 bytes, got ${bytes}`,
      { argument },
    );
  }
}

/** Defaults applied as livekit-server does: protobuf has no "unset", 0 means the default. */
function toRoomCreate(req: CreateRoomRequest): RoomCreate {
  return {
    name: req.name,
    emptyTimeoutS: req.emptyTimeout > 0 ? req.emptyTimeout : EMPTY_TIMEOUT_S_DEFAULT,
    departureTimeoutS:
      req.departureTimeout > 0 ? req.departureTimeout : DEPARTURE_TIMEOUT_S_DEFAULT,
    maxParticipants: req.maxParticipants,
    metadata: req.metadata,
  };
}

/** `work`, or RequestTimeoutError after `timeoutMs`; `work` is not cancelled and a late
 *  failure of it is absorbed here (no unhandled rejection). */
function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new RequestTimeoutError(timeoutMs)), timeoutMs);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function sendTwirpError(reply: FastifyReply, error: TwirpError): FastifyReply {
  if (error.retryAfterMs !== undefined) {
    reply.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterMs / 1_000))));
  }
  // Exactly application/json: the Node SDK decodes the Twirp code only on a strict match.
  return reply.code(error.status).header('content-type', 'application/json').send(error.body());
}

/** Framework errors (body limit, bad Content-Length) as roomring's server answers them. */
function fromFrameworkError(error: unknown): TwirpError {
  if (error instanceof TwirpError) return error;
  const code = (error as { code?: string }).code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new TwirpError('invalid_argument', 'request body is too large', { argument: 'body' });
  }
  if ((error as { statusCode?: number }).statusCode === 400) {
    return new TwirpError('malformed', 'the request could not be decoded');
  }
  return toBaselineTwirpError(error);
}

export function buildBaselineApp(init: BaselineAppInit): FastifyInstance {
  const { backend } = init;
  const requestTimeoutMs = intOption(
    'requestTimeoutMs',
    init.requestTimeoutMs,
    REQUEST_TIMEOUT_MS_DEFAULT,
    1,
    600_000,
  );
  const bodyBytesMax = intOption(
    'bodyBytesMax',
    init.bodyBytesMax,
    BODY_BYTES_MAX_DEFAULT,
    1_024,
    64 * 1_048_576,
  );
  const nowMs = init.nowMs ?? Date.now;
  const tokens = new TokenVerifier(init.keys);
  const counters = { requests: 0, timeouts: 0, errors: 0 };

  // No request logging: a log line per request would cost more than the storage under test.
  const app = Fastify({ logger: false, bodyLimit: bodyBytesMax, return503OnClosing: false });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit: bodyBytesMax },
    (_request, body, done) => done(null, body),
  );

  app.addHook('onResponse', async (_request, reply) => {
    if (reply.statusCode >= 500) counters.errors++;
    else if (reply.statusCode === 408) counters.timeouts++;
  });

  app.setErrorHandler((error, _request, reply) => {
    sendTwirpError(reply, fromFrameworkError(error));
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    sendTwirpError(
      reply,
      badRoute(`no handler for path "${path.slice(0, 300)}"`, request.method, path),
    );
  });

  const createRoom = async (
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply> => {
    counters.requests++;
    let grants: VideoGrants;
    try {
      grants = tokens.authenticate(request.headers.authorization, nowMs());
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      // livekit-server's auth middleware: 401 with a plain-text body.
      return reply
        .code(401)
        .header('content-type', 'text/plain; charset=utf-8')
        .send(error.message);
    }
    const path = request.url.split('?')[0]!;
    if (request.method !== 'POST') {
      throw badRoute(
        `unsupported method "${request.method}" (only POST is allowed)`,
        request.method,
        path,
      );
    }
    const method = path.startsWith(METHOD_PREFIX) ? path.slice(METHOD_PREFIX.length) : '';
    if (!ROOM_SERVICE_METHODS.has(method))
      throw badRoute(`no handler for path "${path.slice(0, 300)}"`, request.method, path);
    const codec = codecOf(request.headers['content-type']);
    if (!codec) {
      throw badRoute(
        `unexpected Content-Type: "${(request.headers['content-type'] ?? '').slice(0, 100)}"`,
        request.method,
        path,
      );
    }
    if (path !== CREATE_ROOM_PATH) {
      throw new TwirpError('unimplemented', `${method} is not implemented by the baseline server`);
    }
    const req = decode(codec, Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));
    // roomring's (and livekit-server's) answer to a token without the grant: 401
    // unauthenticated "permissions denied", JSON.
    if (!grants.roomCreate) throw new TwirpError('unauthenticated', 'permissions denied');
    checkBytes(req.name, 'name', 1, ROOM_NAME_BYTES_MAX);
    checkBytes(req.metadata, 'metadata', 0, ROOM_METADATA_BYTES_MAX);
    let room: Awaited<ReturnType<RoomBackend['getOrCreate']>>;
    try {
      room = await withTimeout(backend.getOrCreate(toRoomCreate(req)), requestTimeoutMs);
    } catch (error) {
      return sendTwirpError(reply, toBaselineTwirpError(error));
    }
    return reply
      .code(200)
      .header('content-type', codec === 'json' ? 'application/json' : 'application/protobuf')
      .send(encode(toLivekitRoom(room), codec));
  };
  app.all('/twirp/*', createRoom);

  app.get('/readyz', async (_request, reply) =>
    reply.header('content-type', 'text/plain; charset=utf-8').send('ok'),
  );
  app.get('/stats', async (_request, reply) => {
    const b = backend.stats();
    const stats: BaselineStats = {
      requests: counters.requests,
      dbQueries: b.dbQueries,
      cacheHits: b.cacheHits,
      cacheRooms: b.cacheRooms,
      timeouts: counters.timeouts,
      errors: counters.errors,
      poolWaiting: b.poolWaiting,
    };
    return reply.header('content-type', 'application/json').send(JSON.stringify(stats));
  });
  return app;
}
