/**
 * The admin API's answers (api-spec "Admin API"), typed and parsed. Fields are read in
 * camelCase or snake_case, integers as numbers or decimal strings, absent fields as their
 * zero value, so a newer server that adds fields or omits defaults still parses.
 */
import {
  asObject,
  type JsonObject,
  pick,
  readBool,
  readInt,
  readNumber,
  readObjects,
  readString,
  readStringArray,
} from './json-fields.js';

export interface Member {
  nodeId: string;
  region: string;
  /** 'alive' | 'suspect' | 'dead' | 'left' (kept as a string: newer servers may add states). */
  state: string;
  incarnation: number;
  weight: number;
  httpUrl: string;
  p2pAddrs: string[];
  roomCount: number;
  ringChecksum: string;
  storeDigest: string;
  lastHeardMs: number;
  stateSinceMs: number;
  /** True for the node that answered. */
  self: boolean;
}

export interface RingNode {
  nodeId: string;
  weight: number;
  points: number;
  expectedShare: number;
  measuredShare: number;
  rooms: number;
}

export interface RingRegion {
  region: string;
  checksum: string;
  nodes: RingNode[];
}

export interface RingView {
  checksum: string;
  /** Every alive member's heartbeat ring checksum equals the answering node's. */
  agree: boolean;
  regions: RingRegion[];
  /** Rooms the shares were counted over, when the server says (it may cap the scan). */
  roomsCounted?: number;
  /** False when the server capped the scan, so the measured shares are a sample. */
  complete?: boolean;
}

export interface OwnerView {
  name: string;
  exists: boolean;
  sid: string;
  homeRegion: string;
  /** '' when no member can own it. */
  owner: string;
  partners: string[];
}

export interface Convergence {
  peers: number;
  sameDigest: number;
  converged: boolean;
}

export interface NodeStatus {
  nodeId: string;
  region: string;
  state: string;
  ringChecksum: string;
  storeDigest: string;
  rooms: number;
  incarnations: number;
  tombstones: number;
  ownedRooms: number;
  members: number;
  connectedPeers: number;
  pendingWrites: number;
  convergence: Convergence;
  /** Counter name -> value, on a null-prototype object. */
  counters: Readonly<Record<string, number>>;
}

/** A room as the admin API lists it. */
export interface AdminRoom {
  name: string;
  sid: string;
  homeRegion: string;
  owner: string;
  numParticipants: number;
  numPublishers: number;
  activeRecording: boolean;
  createdAtMs: number;
  metadata: string;
}

/** Filter of `rooms()`; every field optional. */
export interface RoomsFilter {
  region?: string;
  owner?: string;
  /** 1..10,000 on the server; default 100. */
  limit?: number;
}

/** Body of `reportStats()`: absolute values, so a repeated report changes nothing. */
export interface RoomStatsReport {
  numParticipants: number;
  numPublishers: number;
  activeRecording?: boolean;
}

/** A digest or checksum that a server may send as a hex string or as a number. */
function readId(o: JsonObject, camel: string, snake: string): string {
  const v = pick(o, camel, snake);
  return typeof v === 'number' ? String(v) : readString(o, camel, snake);
}

export function parseMember(o: JsonObject): Member {
  return {
    nodeId: readString(o, 'nodeId', 'node_id'),
    region: readString(o, 'region'),
    state: readString(o, 'state'),
    incarnation: readInt(o, 'incarnation'),
    weight: readNumber(o, 'weight'),
    httpUrl: readString(o, 'httpUrl', 'http_url'),
    p2pAddrs: readStringArray(o, 'p2pAddrs', 'p2p_addrs'),
    roomCount: readInt(o, 'roomCount', 'room_count'),
    ringChecksum: readId(o, 'ringChecksum', 'ring_checksum'),
    storeDigest: readId(o, 'storeDigest', 'store_digest'),
    lastHeardMs: readInt(o, 'lastHeardMs', 'last_heard_ms'),
    stateSinceMs: readInt(o, 'stateSinceMs', 'state_since_ms'),
    self: readBool(o, 'self'),
  };
}

export function parseMembers(value: unknown): Member[] {
  return readObjects(asObject(value, 'members response'), parseMember, 'members');
}

function parseRingNode(o: JsonObject): RingNode {
  return {
    nodeId: readString(o, 'nodeId', 'node_id'),
    weight: readNumber(o, 'weight'),
    points: readInt(o, 'points'),
    expectedShare: readNumber(o, 'expectedShare', 'expected_share'),
    measuredShare: readNumber(o, 'measuredShare', 'measured_share'),
    rooms: readInt(o, 'rooms'),
  };
}

function parseRingRegion(o: JsonObject): RingRegion {
  return {
    region: readString(o, 'region'),
    checksum: readId(o, 'checksum', 'checksum'),
    nodes: readObjects(o, parseRingNode, 'nodes'),
  };
}

export function parseRing(value: unknown): RingView {
  const o = asObject(value, 'ring response');
  const ring: RingView = {
    checksum: readId(o, 'checksum', 'checksum'),
    agree: readBool(o, 'agree'),
    regions: readObjects(o, parseRingRegion, 'regions'),
  };
  if (pick(o, 'roomsCounted', 'rooms_counted') !== undefined) {
    ring.roomsCounted = readInt(o, 'roomsCounted', 'rooms_counted');
  }
  if (pick(o, 'complete') !== undefined) ring.complete = readBool(o, 'complete');
  return ring;
}

export function parseOwner(value: unknown): OwnerView {
  const o = asObject(value, 'owner response');
  return {
    name: readString(o, 'name'),
    exists: readBool(o, 'exists'),
    sid: readString(o, 'sid'),
    homeRegion: readString(o, 'homeRegion', 'home_region'),
    owner: readString(o, 'owner'),
    partners: readStringArray(o, 'partners'),
  };
}

/** Nested counter groups are flattened to `group.name`, 3 levels at most. */
const COUNTER_DEPTH_MAX = 3;

function parseCounters(value: unknown): Readonly<Record<string, number>> {
  const counters: Record<string, number> = Object.create(null);
  const walk = (v: unknown, prefix: string, depth: number): void => {
    if (typeof v === 'number' && Number.isFinite(v)) {
      counters[prefix] = v;
    } else if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) {
      counters[prefix] = Number(v); // int64 as a string
    } else if (
      typeof v === 'object' &&
      v !== null &&
      !Array.isArray(v) &&
      depth < COUNTER_DEPTH_MAX
    ) {
      for (const [key, inner] of Object.entries(v)) {
        walk(inner, prefix === '' ? key : `${prefix}.${key}`, depth + 1);
      }
    }
    // Anything else (a label, a list) is not a counter and is skipped.
  };
  if (value !== undefined && value !== null) walk(asObject(value, 'counters'), '', 0);
  return counters;
}

export function parseStatus(value: unknown): NodeStatus {
  const o = asObject(value, 'status response');
  const c = pick(o, 'convergence');
  const conv = c === undefined || c === null ? {} : asObject(c, 'convergence');
  return {
    nodeId: readString(o, 'nodeId', 'node_id'),
    region: readString(o, 'region'),
    state: readString(o, 'state'),
    ringChecksum: readId(o, 'ringChecksum', 'ring_checksum'),
    storeDigest: readId(o, 'storeDigest', 'store_digest'),
    rooms: readInt(o, 'rooms'),
    incarnations: readInt(o, 'incarnations'),
    tombstones: readInt(o, 'tombstones'),
    ownedRooms: readInt(o, 'ownedRooms', 'owned_rooms'),
    members: readInt(o, 'members'),
    connectedPeers: readInt(o, 'connectedPeers', 'connected_peers'),
    pendingWrites: readInt(o, 'pendingWrites', 'pending_writes'),
    convergence: {
      peers: readInt(conv, 'peers'),
      sameDigest: readInt(conv, 'sameDigest', 'same_digest'),
      converged: readBool(conv, 'converged'),
    },
    counters: parseCounters(pick(o, 'counters')),
  };
}

export function parseAdminRoom(value: unknown): AdminRoom {
  const o = asObject(value, 'room');
  return {
    name: readString(o, 'name'),
    sid: readString(o, 'sid'),
    homeRegion: readString(o, 'homeRegion', 'home_region'),
    owner: readString(o, 'owner'),
    numParticipants: readInt(o, 'numParticipants', 'num_participants'),
    numPublishers: readInt(o, 'numPublishers', 'num_publishers'),
    activeRecording: readBool(o, 'activeRecording', 'active_recording'),
    createdAtMs: readInt(o, 'createdAtMs', 'created_at_ms'),
    metadata: readString(o, 'metadata'),
  };
}

export function parseAdminRooms(value: unknown): AdminRoom[] {
  return readObjects(asObject(value, 'rooms response'), parseAdminRoom, 'rooms');
}
