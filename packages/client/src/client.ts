/**
 * `createRoomringClient(init)`: LiveKit's RoomService over Twirp (JSON) and roomring's admin
 * API (api-spec.md), one token per call with the grants of that call, and the retry policy
 * of call-runner.ts. Room names are untrusted: they travel in JSON bodies and as
 * percent-encoded path segments, never as object keys.
 */
import {
  type AdminRoom,
  type Member,
  type NodeStatus,
  type OwnerView,
  parseAdminRoom,
  parseAdminRooms,
  parseMembers,
  parseOwner,
  parseRing,
  parseStatus,
  type RingView,
  type RoomStatsReport,
  type RoomsFilter,
} from './admin-types.js';
import { type CallContext, type CallOptions, type CallSpec, runCall } from './call-runner.js';
import { type RoomringClientInit, resolveClientInit } from './client-init.js';
import { type ClientCounters, CounterSet } from './counters.js';
import { RetryBudget } from './retry-budget.js';
import { parseRoom, parseRoomList, type Room } from './room.js';

/** LiveKit's CreateRoomRequest, the fields roomring honours (camelCase). */
export interface CreateRoomRequest {
  /** 1..256 UTF-8 bytes, any characters. */
  name: string;
  /** Seconds; the server default is 300. */
  emptyTimeout?: number;
  /** Seconds; the server default is 20. */
  departureTimeout?: number;
  /** 0 = unlimited. */
  maxParticipants?: number;
  /** Pin placement to this node while it is alive (LiveKit's `node_id`). */
  nodeId?: string;
  metadata?: string;
}

export interface RoomringClient {
  /** Get-or-create (never `already_exists`); retried. */
  createRoom(req: CreateRoomRequest, opts?: CallOptions): Promise<Room>;
  /** All rooms, or the named ones (unknown names skipped); retried. */
  listRooms(names?: readonly string[], opts?: CallOptions): Promise<Room[]>;
  /** Retried only when the failure proves nothing happened (see README). */
  deleteRoom(name: string, opts?: CallOptions): Promise<void>;
  /** Sets the metadata; retried (the same value again changes nothing). */
  updateRoomMetadata(name: string, metadata: string, opts?: CallOptions): Promise<Room>;
  members(opts?: CallOptions): Promise<Member[]>;
  ring(region?: string, opts?: CallOptions): Promise<RingView>;
  owner(room: string, opts?: CallOptions): Promise<OwnerView>;
  status(opts?: CallOptions): Promise<NodeStatus>;
  rooms(filter?: RoomsFilter, opts?: CallOptions): Promise<AdminRoom[]>;
  /** Absolute participant counts for a room; retried. */
  reportStats(room: string, stats: RoomStatsReport, opts?: CallOptions): Promise<AdminRoom>;
  /** A snapshot of the client-wide counters. */
  counters(): ClientCounters;
}

const TWIRP_PREFIX = '/twirp/livekit.RoomService/';

export function createRoomringClient(init: RoomringClientInit): RoomringClient {
  const config = resolveClientInit(init);
  const ctx: CallContext = {
    config,
    counters: new CounterSet(),
    budget: new RetryBudget(
      config.retry.budgetRatio,
      config.retry.budgetMinPerWindow,
      config.retry.budgetWindowMs,
    ),
  };
  const call = <T>(spec: CallSpec<T>, opts: CallOptions | undefined): Promise<T> =>
    runCall(ctx, spec, opts);
  const twirp = (method: string): string => `${TWIRP_PREFIX}${method}`;

  return {
    createRoom: (req, opts) =>
      call(
        {
          method: 'POST',
          path: twirp('CreateRoom'),
          body: createRoomBody(req),
          grant: { roomCreate: true },
          rule: 'idempotent',
          parse: parseRoom,
        },
        opts,
      ),
    listRooms: (names, opts) =>
      call(
        {
          method: 'POST',
          path: twirp('ListRooms'),
          body: names && names.length > 0 ? { names: [...names] } : {},
          grant: { roomList: true },
          rule: 'idempotent',
          parse: parseRoomList,
        },
        opts,
      ),
    deleteRoom: (name, opts) =>
      call(
        {
          method: 'POST',
          path: twirp('DeleteRoom'),
          body: { room: name },
          grant: { roomCreate: true },
          rule: 'unsafe',
          parse: () => undefined,
        },
        opts,
      ),
    updateRoomMetadata: (name, metadata, opts) =>
      call(
        {
          method: 'POST',
          path: twirp('UpdateRoomMetadata'),
          body: { room: name, metadata },
          grant: { roomAdmin: true, room: name },
          rule: 'idempotent',
          parse: parseRoom,
        },
        opts,
      ),
    members: (opts) => call(adminGet('/v1/members', parseMembers), opts),
    ring: (region, opts) => call(adminGet(`/v1/ring${query({ region })}`, parseRing), opts),
    owner: (room, opts) =>
      call(adminGet(`/v1/owner/${encodeURIComponent(room)}`, parseOwner), opts),
    status: (opts) => call(adminGet('/v1/status', parseStatus), opts),
    rooms: (filter, opts) =>
      call(
        adminGet(
          `/v1/rooms${query({
            region: filter?.region,
            owner: filter?.owner,
            limit: filter?.limit === undefined ? undefined : String(filter.limit),
          })}`,
          parseAdminRooms,
        ),
        opts,
      ),
    reportStats: (room, stats, opts) =>
      call(
        {
          method: 'POST',
          path: `/v1/rooms/${encodeURIComponent(room)}/stats`,
          body: statsBody(stats),
          grant: { roomAdmin: true, room },
          // Absolute values: a repeat sets the same counts again.
          rule: 'idempotent',
          parse: parseAdminRoom,
        },
        opts,
      ),
    counters: () => ctx.counters.snapshot(),
  };
}

/** Admin reads: GET, grant `roomList`, always retryable. */
function adminGet<T>(path: string, parse: (json: unknown) => T): CallSpec<T> {
  return { method: 'GET', path, grant: { roomList: true }, rule: 'idempotent', parse };
}

function query(params: { region?: string; owner?: string; limit?: string }): string {
  const search = new URLSearchParams();
  if (params.region !== undefined) search.set('region', params.region);
  if (params.owner !== undefined) search.set('owner', params.owner);
  if (params.limit !== undefined) search.set('limit', params.limit);
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

/** The request as the LiveKit Node SDK sends it: camelCase, unset fields omitted. */
function createRoomBody(req: CreateRoomRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { name: req.name };
  if (req.emptyTimeout !== undefined) body.emptyTimeout = req.emptyTimeout;
  if (req.departureTimeout !== undefined) body.departureTimeout = req.departureTimeout;
  if (req.maxParticipants !== undefined) body.maxParticipants = req.maxParticipants;
  if (req.nodeId !== undefined) body.nodeId = req.nodeId;
  if (req.metadata !== undefined) body.metadata = req.metadata;
  return body;
}

function statsBody(stats: RoomStatsReport): Record<string, unknown> {
  const body: Record<string, unknown> = {
    numParticipants: stats.numParticipants,
    numPublishers: stats.numPublishers,
  };
  if (stats.activeRecording !== undefined) body.activeRecording = stats.activeRecording;
  return body;
}
