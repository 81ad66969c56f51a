/**
 * The admin API (api-spec.md, Admin API): members, rings, owners, status, rooms, stats
 * reports from outside, and what the dashboard needs besides (docs/dashboard.md): recent
 * series and what-if plans. Reads need the `roomList` grant, writes `roomAdmin`. Everything
 * is answered from the node's memory; scans are bounded (RING_SCAN_ROOMS_MAX, limit).
 */
import type { RegistryNode } from '@roomring/node';
import { ROOM_NAME_BYTES_MAX, type RoomRecord, utf8ByteLength } from '@roomring/protocol';
import { DIFF_SAMPLE_MAX, MEMBER_ID_LENGTH_MAX, type RingMember } from '@roomring/ring';
import { parseAddSpec, planWhatIf, type ViewRoom, WhatIfError } from '@roomring/whatif';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AdmissionController } from './admission.js';
import { requireAdminWrite, requireGrant } from './auth.js';
import { TwirpError } from './errors.js';
import { sendJson } from './reply.js';
import { toAdminRoom } from './room-mapping.js';
import type { ServerSeries } from './series.js';
import { SERVER_VERSION } from './version.js';

/** /v1/rooms answers at most this many rooms. */
export const ADMIN_ROOMS_LIMIT_MAX = 10_000;
export const ADMIN_ROOMS_LIMIT_DEFAULT = 100;
/** /v1/ring counts owners over at most this many rooms: an owner lookup is ~3 us (md5 +
 *  binary search), so 100k rooms cost ~0.3 s of this node's single thread. */
export const RING_SCAN_ROOMS_MAX = 100_000;
/** Admin request bodies are a few numbers. */
export const ADMIN_BODY_BYTES_MAX = 4_096;
/** Stats are uint32 on the wire (protocol limits). */
const COUNT_MAX = 4_294_967_295;
/** /v1/rooms `q`: a room name's longest spelling in characters (256 bytes). */
export const ROOMS_QUERY_CHARS_MAX = ROOM_NAME_BYTES_MAX;
/** /v1/whatif plans over at most this many rooms: two owner lookups per room, so 100k rooms
 *  hold this node's thread ~0.4 s (the ring package's figure); `roomsComplete: false` past. */
export const WHATIF_ROOMS_MAX = RING_SCAN_ROOMS_MAX;
/** /v1/whatif `remove` plus `add` values at most: a plan is two placements, each built from
 *  every ring member; 64 changed members bound that work (and the query, 64 x 256 characters,
 *  stays under Node's 16 KiB request-head limit). */
export const WHATIF_CHANGES_MAX = 64;
/** /v1/whatif `sample` default, as `roomring whatif --sample`. */
export const WHATIF_SAMPLE_DEFAULT = 10;

export interface AdminRoutesInit {
  node: RegistryNode;
  admission: AdmissionController;
  series: ServerSeries;
}

function query(request: FastifyRequest, key: string): string | undefined {
  const q = request.query as Record<string, unknown> | undefined;
  const value = q && Object.hasOwn(q, key) ? q[key] : undefined;
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new TwirpError('invalid_argument', `${key} must be given once`, { argument: key });
  }
  return value;
}

/** Every value of a query key given zero or more times. */
function queryAll(request: FastifyRequest, key: string): string[] {
  const q = request.query as Record<string, unknown> | undefined;
  const value = q && Object.hasOwn(q, key) ? q[key] : undefined;
  if (value === undefined) return [];
  const values = Array.isArray(value) ? value : [value];
  if (!values.every((v): v is string => typeof v === 'string')) {
    throw new TwirpError('invalid_argument', `${key} must be text`, { argument: key });
  }
  return values;
}

function roomParam(request: FastifyRequest): string {
  const name = (request.params as { room?: unknown }).room;
  const bytes = typeof name === 'string' ? utf8ByteLength(name) : 0;
  if (typeof name !== 'string' || bytes < 1 || bytes > ROOM_NAME_BYTES_MAX) {
    throw new TwirpError('invalid_argument', `room must be 1 to ${ROOM_NAME_BYTES_MAX} bytes`, {
      argument: 'room',
    });
  }
  return name;
}

function ownerOf(node: RegistryNode, room: Readonly<RoomRecord>): string | undefined {
  return node.ring().owner(room.name, room.homeRegion, room.pinnedNode || undefined);
}

function count(body: Record<string, unknown>, key: string): number {
  const value = body[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > COUNT_MAX) {
    throw new TwirpError('invalid_argument', `${key} must be an integer 0..${COUNT_MAX}`, {
      argument: key,
    });
  }
  return value;
}

/** `?remove=NODE&add=NODE@REGION[:weight]` (each repeatable) as a membership change. */
function whatIfChange(request: FastifyRequest): { remove: string[]; add: RingMember[] } {
  const remove = queryAll(request, 'remove');
  const addSpecs = queryAll(request, 'add');
  if (remove.length + addSpecs.length > WHATIF_CHANGES_MAX) {
    throw new TwirpError(
      'invalid_argument',
      `at most ${WHATIF_CHANGES_MAX} remove and add values together`,
      { argument: 'remove' },
    );
  }
  for (const id of remove) {
    if (id === '' || id.length > MEMBER_ID_LENGTH_MAX) {
      throw new TwirpError(
        'invalid_argument',
        `remove must be 1..${MEMBER_ID_LENGTH_MAX} characters`,
        {
          argument: 'remove',
        },
      );
    }
  }
  const add = addSpecs.map((spec) => {
    try {
      if (spec.length > 2 * MEMBER_ID_LENGTH_MAX + 5) throw new RangeError('add is too long');
      return parseAddSpec(spec);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      throw new TwirpError('invalid_argument', `add: ${error.message}`, { argument: 'add' });
    }
  });
  if (remove.length === 0 && add.length === 0) {
    throw new TwirpError('invalid_argument', 'give remove=NODE and/or add=NODE@REGION[:weight]', {
      argument: 'remove',
    });
  }
  return { remove, add };
}

export async function adminRoutes(app: FastifyInstance, init: AdminRoutesInit): Promise<void> {
  const { node, admission, series } = init;
  const readable = (request: FastifyRequest): void => requireGrant(request.grants!, 'roomList');

  app.get('/v1/members', async (request, reply) => {
    readable(request);
    const members = node.members().map((m, i) => ({
      nodeId: m.nodeId,
      region: m.region,
      state: m.state,
      incarnation: m.incarnation,
      weight: m.weight,
      httpUrl: m.httpUrl,
      p2pAddrs: m.p2pAddrs,
      roomCount: m.roomCount,
      ringChecksum: m.ringChecksum,
      storeDigest: m.storeDigest,
      lastHeardMs: m.lastHeardMs,
      stateSinceMs: m.stateSinceMs,
      historySinceMs: m.historySinceMs,
      self: i === 0,
    }));
    return sendJson(reply, { members });
  });

  app.get('/v1/ring', async (request, reply) => {
    readable(request);
    const only = query(request, 'region');
    const placement = node.ring();
    const checksum = placement.checksum();
    const agree = node
      .members()
      .filter((m) => m.state === 'alive')
      .every((m) => m.ringChecksum === checksum);
    const regions = placement.regions().filter((r) => only === undefined || r === only);
    const wanted = new Set(regions);
    // region -> owner -> rooms; and rooms per home region.
    const owned = new Map<string, Map<string, number>>();
    const totals = new Map<string, number>();
    const rooms = node.listRooms(undefined, RING_SCAN_ROOMS_MAX + 1);
    const complete = rooms.length <= RING_SCAN_ROOMS_MAX;
    for (const room of complete ? rooms : rooms.slice(0, RING_SCAN_ROOMS_MAX)) {
      if (!wanted.has(room.homeRegion)) continue;
      totals.set(room.homeRegion, (totals.get(room.homeRegion) ?? 0) + 1);
      const owner = ownerOf(node, room);
      if (owner === undefined) continue;
      const byOwner = owned.get(room.homeRegion) ?? new Map<string, number>();
      owned.set(room.homeRegion, byOwner);
      byOwner.set(owner, (byOwner.get(owner) ?? 0) + 1);
    }
    const members = placement.members();
    return sendJson(reply, {
      checksum,
      agree,
      roomsCounted: Math.min(rooms.length, RING_SCAN_ROOMS_MAX),
      complete,
      regions: regions.map((region) => {
        const total = totals.get(region) ?? 0;
        return {
          region,
          checksum: placement.regionChecksum(region),
          nodes: members
            .filter((m) => m.region === region)
            .map((m) => {
              const count = owned.get(region)?.get(m.nodeId) ?? 0;
              return {
                nodeId: m.nodeId,
                weight: m.weight,
                points: placement.points(m.nodeId),
                expectedShare: placement.expectedShare(m.nodeId),
                measuredShare: total === 0 ? 0 : count / total,
                rooms: count,
              };
            }),
        };
      }),
    });
  });

  app.get('/v1/owner/:room', async (request, reply) => {
    readable(request);
    const info = node.ownerOf(roomParam(request));
    return sendJson(reply, {
      name: info.name,
      exists: info.sid !== undefined,
      sid: info.sid ?? null,
      homeRegion: info.homeRegion,
      owner: info.owner ?? null,
      partners: info.partners,
    });
  });

  app.get('/v1/status', async (request, reply) => {
    readable(request);
    const status = node.status();
    const peers = node.members().filter((m, i) => i > 0 && m.state === 'alive');
    const sameDigest = peers.filter((m) => m.storeDigest === status.storeDigest).length;
    return sendJson(reply, {
      nodeId: status.nodeId,
      region: status.region,
      version: SERVER_VERSION,
      state: status.state,
      ringChecksum: status.ringChecksum,
      storeDigest: status.storeDigest,
      rooms: status.rooms,
      incarnations: status.incarnations,
      tombstones: status.tombstones,
      ownedRooms: status.ownedRooms,
      members: status.members,
      connectedPeers: status.connectedPeers,
      localHealth: status.localHealth,
      pendingWrites: status.pendingWrites,
      convergence: {
        peers: peers.length,
        sameDigest,
        converged: sameDigest === peers.length,
      },
      http: {
        inFlight: admission.inFlight,
        queued: admission.queued,
        shed: { ...admission.shedCounts },
        serviceTimeMs: admission.serviceTimeMs,
      },
      counters: status.counters,
    });
  });

  app.get('/v1/rooms', async (request, reply) => {
    readable(request);
    const region = query(request, 'region');
    const owner = query(request, 'owner');
    const search = query(request, 'q');
    if (search !== undefined && search.length > ROOMS_QUERY_CHARS_MAX) {
      throw new TwirpError(
        'invalid_argument',
        `q must be at most ${ROOMS_QUERY_CHARS_MAX} characters`,
        {
          argument: 'q',
        },
      );
    }
    // Case-sensitive, as names are: a substring of the name, or the start of the sid.
    const matches = (room: Readonly<RoomRecord>): boolean =>
      !search || room.name.includes(search) || room.sid.startsWith(search);
    const limitText = query(request, 'limit');
    let limit = ADMIN_ROOMS_LIMIT_DEFAULT;
    if (limitText !== undefined) {
      limit = /^\d{1,6}$/.test(limitText) ? Number(limitText) : 0;
      if (limit < 1 || limit > ADMIN_ROOMS_LIMIT_MAX) {
        throw new TwirpError('invalid_argument', `limit must be 1..${ADMIN_ROOMS_LIMIT_MAX}`, {
          argument: 'limit',
        });
      }
    }
    const rooms: ReturnType<typeof toAdminRoom>[] = [];
    const all =
      region === undefined && owner === undefined && !search
        ? node.listRooms(undefined, limit)
        : node.listRooms();
    for (const room of all) {
      if (rooms.length >= limit) break;
      if (region !== undefined && room.homeRegion !== region) continue;
      if (!matches(room)) continue;
      const roomOwner = ownerOf(node, room);
      if (owner !== undefined && roomOwner !== owner) continue;
      rooms.push(toAdminRoom(room, roomOwner));
    }
    return sendJson(reply, { rooms });
  });

  app.post('/v1/rooms/:room/stats', { bodyLimit: ADMIN_BODY_BYTES_MAX }, async (request, reply) => {
    const name = roomParam(request);
    requireAdminWrite(request.grants!, name);
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new TwirpError('malformed', 'body must be a JSON object');
    }
    const fields = body as Record<string, unknown>;
    const activeRecording = fields.activeRecording;
    if (activeRecording !== undefined && typeof activeRecording !== 'boolean') {
      throw new TwirpError('invalid_argument', 'activeRecording must be a boolean', {
        argument: 'activeRecording',
      });
    }
    const numParticipants = count(fields, 'numParticipants');
    const numPublishers = count(fields, 'numPublishers');
    if (numPublishers > numParticipants) {
      // Publishers are participants that publish (LiveKit's Room counts them so).
      throw new TwirpError(
        'invalid_argument',
        `numPublishers (${numPublishers}) must not exceed numParticipants (${numParticipants})`,
        { argument: 'numPublishers' },
      );
    }
    // Left out, activeRecording keeps what the room has: a report of counts only must not
    // end a recording.
    const room = node.updateRoomStats(name, {
      numParticipants,
      numPublishers,
      activeRecording: activeRecording ?? node.getRoom(name)?.activeRecording ?? false,
    });
    return sendJson(reply, toAdminRoom(room, ownerOf(node, room)));
  });

  app.get('/v1/series', async (request, reply) => {
    readable(request);
    return sendJson(reply, series.view());
  });

  app.get('/v1/whatif', async (request, reply) => {
    readable(request);
    const change = whatIfChange(request);
    const sampleText = query(request, 'sample');
    let sample = WHATIF_SAMPLE_DEFAULT;
    if (sampleText !== undefined) {
      sample = /^\d{1,4}$/.test(sampleText) ? Number(sampleText) : -1;
      if (sample < 0 || sample > DIFF_SAMPLE_MAX) {
        throw new TwirpError('invalid_argument', `sample must be 0..${DIFF_SAMPLE_MAX}`, {
          argument: 'sample',
        });
      }
    }
    // The node knows every room's pin: the plan needs no inference (@roomring/whatif).
    const records = node.listRooms(undefined, WHATIF_ROOMS_MAX + 1);
    const roomsComplete = records.length <= WHATIF_ROOMS_MAX;
    const rooms: ViewRoom[] = (roomsComplete ? records : records.slice(0, WHATIF_ROOMS_MAX)).map(
      (room) => ({
        name: room.name,
        homeRegion: room.homeRegion,
        owner: null,
        pinnedNode: room.pinnedNode,
      }),
    );
    try {
      const plan = planWhatIf(node.members(), rooms, change, sample);
      return sendJson(reply, { ...plan, roomsComplete });
    } catch (error) {
      if (!(error instanceof WhatIfError)) throw error;
      throw new TwirpError('invalid_argument', error.message, {
        argument: error.argument ?? (change.add.length > 0 ? 'add' : 'remove'),
      });
    }
  });

  app.get('/v1/events', async () => {
    throw new TwirpError('bad_route', '/v1/events is a WebSocket: send an Upgrade request');
  });
}
