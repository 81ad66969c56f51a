/**
 * LiveKit's RoomService over Twirp (livekit-roomservice.md): `POST
 * /twirp/livekit.RoomService/<Method>`, JSON or binary protobuf by Content-Type, messages from
 * `@livekit/protocol` (the classes livekit-server-sdk uses). Room calls go to the node from
 * memory or through its durable write path with what is left of the request's deadline.
 */

import type { JsonValue, Message, MessageType } from '@bufbuild/protobuf';
import {
  CreateRoomRequest,
  DeleteRoomRequest,
  DeleteRoomResponse,
  ListRoomsRequest,
  ListRoomsResponse,
  UpdateRoomMetadataRequest,
} from '@livekit/protocol';
import type { RegistryNode } from '@roomring/node';
import { ROOM_NAME_BYTES_MAX, utf8ByteLength } from '@roomring/protocol';
import type { AnswerCache } from './answer-cache.js';
import { requireGrant, requireRoomAdmin, type VideoGrants } from './auth.js';
import type { ServerConfig } from './config.js';
import { createRoomFromJson } from './create-room-json.js';
import { TwirpError } from './errors.js';
import { toLivekitRoom } from './room-mapping.js';

export const TWIRP_PREFIX = '/twirp/';
export const ROOM_SERVICE = 'livekit.RoomService';

/** RoomService methods LiveKit defines that act on participants or media, which live on the
 *  hosting media node, not in a registry: Twirp `unimplemented` (501). */
export const UNIMPLEMENTED_METHODS: ReadonlySet<string> = new Set([
  'ListParticipants',
  'GetParticipant',
  'RemoveParticipant',
  'MutePublishedTrack',
  'UpdateParticipant',
  'UpdateSubscriptions',
  'SendData',
  'ForwardParticipant',
  'MoveParticipant',
  'PerformRpc',
]);

export type Codec = 'json' | 'protobuf';

/** What a handler needs from the request. */
export interface RpcContext {
  node: RegistryNode;
  config: Readonly<ServerConfig>;
  grants: VideoGrants;
  /** Time the node call may take (ms). */
  deadlineMs: () => number;
  /** Set when a ListRooms answer was cut at listRoomsMax. */
  truncated: boolean;
  /** Encoded Room answers of unchanged rooms (CreateRoom). */
  answers: AnswerCache;
}

/** An answer already encoded in the request's codec. */
export class EncodedAnswer {
  constructor(readonly bytes: Buffer) {}
}

interface Rpc<Req extends Message<Req>> {
  request: MessageType<Req>;
  call(ctx: RpcContext, request: Req, codec: Codec): Promise<Message | EncodedAnswer>;
}

function define<Req extends Message<Req>>(
  request: MessageType<Req>,
  call: (ctx: RpcContext, request: Req, codec: Codec) => Promise<Message | EncodedAnswer>,
): Rpc<Req> {
  return { request, call };
}

function checkName(name: string, argument = 'name'): void {
  const bytes = utf8ByteLength(name);
  if (bytes < 1 || bytes > ROOM_NAME_BYTES_MAX) {
    throw new TwirpError(
      'invalid_argument',
      `${argument} must be 1 to ${ROOM_NAME_BYTES_MAX} UTF-8 bytes, got ${bytes}`,
      { argument },
    );
  }
}

function checkMetadata(metadata: string, max: number): void {
  const bytes = utf8ByteLength(metadata);
  if (bytes > max) {
    throw new TwirpError(
      'invalid_argument',
      `metadata must be at most ${max} bytes, got ${bytes}`,
      {
        argument: 'metadata',
      },
    );
  }
}

/** The implemented RPCs, by method name (a Map: method names come from the URL). */
export const RPCS: ReadonlyMap<string, Rpc<never>> = new Map<string, Rpc<never>>([
  [
    'CreateRoom',
    define(CreateRoomRequest, async (ctx, req, codec) => {
      requireGrant(ctx.grants, 'roomCreate');
      checkName(req.name);
      checkMetadata(req.metadata, ctx.config.metadataBytesMax);
      if (req.nodeId !== '' && !ctx.node.members().some((m) => m.nodeId === req.nodeId)) {
        // A pin to a node nobody knows is a typo, not a placement: say so rather than ignore it.
        throw new TwirpError(
          'invalid_argument',
          `node_id "${req.nodeId.slice(0, 128)}" is not a member of this cluster`,
          { argument: 'node_id' },
        );
      }
      // Protobuf has no "unset": 0 means LiveKit's default (300 s / 20 s), as in livekit-server.
      const room = await ctx.node.createRoom(
        {
          name: req.name,
          ...(req.emptyTimeout > 0 ? { emptyTimeoutS: req.emptyTimeout } : {}),
          ...(req.departureTimeout > 0 ? { departureTimeoutS: req.departureTimeout } : {}),
          maxParticipants: req.maxParticipants,
          metadata: req.metadata,
          ...(req.nodeId !== '' ? { pinnedNode: req.nodeId } : {}),
        },
        { deadlineMs: ctx.deadlineMs() },
      );
      return new EncodedAnswer(ctx.answers.answer(room, codec));
    }) as Rpc<never>,
  ],
  [
    'ListRooms',
    define(ListRoomsRequest, async (ctx, req) => {
      requireGrant(ctx.grants, 'roomList');
      const max = ctx.config.listRoomsMax;
      const records = ctx.node.listRooms(req.names, max + 1);
      ctx.truncated = records.length > max;
      return new ListRoomsResponse({ rooms: records.slice(0, max).map(toLivekitRoom) });
    }) as Rpc<never>,
  ],
  [
    'DeleteRoom',
    define(DeleteRoomRequest, async (ctx, req) => {
      requireGrant(ctx.grants, 'roomCreate');
      checkName(req.room, 'room');
      await ctx.node.deleteRoom(req.room, { deadlineMs: ctx.deadlineMs() });
      return new DeleteRoomResponse();
    }) as Rpc<never>,
  ],
  [
    'UpdateRoomMetadata',
    define(UpdateRoomMetadataRequest, async (ctx, req) => {
      requireRoomAdmin(ctx.grants, req.room);
      checkName(req.room, 'room');
      checkMetadata(req.metadata, ctx.config.metadataBytesMax);
      const room = await ctx.node.updateRoomMetadata(req.room, req.metadata, {
        deadlineMs: ctx.deadlineMs(),
      });
      return toLivekitRoom(room);
    }) as Rpc<never>,
  ],
]);

/** The metric label of a Twirp path: a known method name, or 'bad_route'. */
export function twirpMethodLabel(path: string): string {
  const method = path.slice(TWIRP_PREFIX.length + ROOM_SERVICE.length + 1);
  return path.startsWith(`${TWIRP_PREFIX}${ROOM_SERVICE}/`) &&
    (RPCS.has(method) || UNIMPLEMENTED_METHODS.has(method))
    ? method
    : 'bad_route';
}

/** Codec from the Content-Type before `;`, trimmed, lowercased; undefined if unsupported. */
export function codecOf(contentType: string | undefined): Codec | undefined {
  // What every SDK sends, answered without splitting the header.
  if (contentType === 'application/json') return 'json';
  const mime = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (mime === 'application/json') return 'json';
  if (mime === 'application/protobuf') return 'protobuf';
  return undefined;
}

/** Decodes a request body in `codec`; `malformed` when it does not decode. */
export function decodeRequest<T extends Message<T>>(
  type: MessageType<T>,
  codec: Codec,
  body: Buffer,
): T {
  if (codec === 'protobuf') {
    try {
      return type.fromBinary(body);
    } catch {
      throw new TwirpError('malformed', 'the protobuf request could not be decoded');
    }
  }
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if ((type as MessageType<never>) === (CreateRoomRequest as MessageType<never>)) {
      const fast = createRoomFromJson(value);
      if (fast !== undefined) return fast as unknown as T;
    }
    return type.fromJson(value as JsonValue, { ignoreUnknownFields: true });
  } catch {
    throw new TwirpError('malformed', 'the json request could not be decoded');
  }
}
