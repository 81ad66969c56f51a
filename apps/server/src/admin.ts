/**
 * The admin API (api-spec.md, Admin API): members, rings, owners, status, rooms, and stats
 * reports from outside. Reads need the `roomList` grant, writes `roomAdmin`. Everything is
 * answered from the node's memory; scans are bounded (RING_SCAN_ROOMS_MAX, limit).
 */
import type { RegistryNode } from '@roomring/node';
import { ROOM_NAME_BYTES_MAX, type RoomRecord, utf8ByteLength } from '@roomring/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AdmissionController } from './admission.js';
import { requireAdminWrite, requireGrant } from './auth.js';
import { TwirpError } from './errors.js';
import { sendJson } from './reply.js';
import { toAdminRoom } from './room-mapping.js';
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

export interface AdminRoutesInit {
  node: RegistryNode;
  admission: AdmissionController;
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

export async function adminRoutes(app: FastifyInstance, init: AdminRoutesInit): Promise<void> {
  const { node, admission } = init;
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
      region === undefined && owner === undefined
        ? node.listRooms(undefined, limit)
        : node.listRooms();
    for (const room of all) {
      if (rooms.length >= limit) break;
      if (region !== undefined && room.homeRegion !== region) continue;
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

  app.get('/v1/events', async () => {
    throw new TwirpError('bad_route', '/v1/events is a WebSocket: send an Upgrade request');
  });
}
