/** The /v1 answers the page reads (docs/api.md, Admin API shapes). */
import type { MemberRow } from './cluster-view.js';

export interface MembersAnswer {
  members: MemberRow[];
}

export interface StatusAnswer {
  nodeId: string;
  region: string;
  version: string;
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
  convergence: { peers: number; sameDigest: number; converged: boolean };
  http: {
    inFlight: number;
    queued: number;
    shed: Record<string, number>;
    serviceTimeMs: number;
  };
}

export interface ReadyAnswer {
  ready: boolean;
  reason: string;
  state: string;
  alivePeers: number;
}

export interface RingNodeAnswer {
  nodeId: string;
  weight: number;
  points: number;
  expectedShare: number;
  measuredShare: number;
  rooms: number;
}

export interface RingAnswer {
  checksum: string;
  agree: boolean;
  roomsCounted: number;
  complete: boolean;
  regions: { region: string; checksum: string; nodes: RingNodeAnswer[] }[];
}

export interface AdminRoomAnswer {
  name: string;
  sid: string;
  homeRegion: string;
  owner: string | null;
  numParticipants: number;
  numPublishers: number;
  activeRecording: boolean;
  createdAtMs: number;
  metadata: string;
}

export interface RoomsAnswer {
  rooms: AdminRoomAnswer[];
}

export interface OwnerAnswer {
  name: string;
  exists: boolean;
  sid: string | null;
  homeRegion: string;
  owner: string | null;
  partners: string[];
}

export interface SeriesPointAnswer {
  atMs: number;
  requests: number;
  requestsPerS: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  shed: number;
  inFlight: number;
  queued: number;
  replicated: number;
  replicationLagP50Ms: number | null;
  replicationLagP99Ms: number | null;
  converged: boolean;
}

export interface SeriesAnswer {
  intervalMs: number;
  pointsMax: number;
  atMs: number;
  convergence: { converged: boolean; divergedSinceMs: number | null; lagMs: number };
  points: SeriesPointAnswer[];
}

export interface WhatIfAnswer {
  change: { remove: string[]; add: { nodeId: string; region: string; weight: number }[] };
  ringChecksum: { live: string; computed: string; match: boolean; after: string };
  ringMembersBefore: number;
  ringMembersAfter: number;
  roomCount: number;
  movedCount: number;
  movedFraction: number;
  pinnedInferred: number;
  pairs: { from: string | null; to: string | null; count: number }[];
  nodes: {
    nodeId: string;
    ownedBefore: number;
    ownedAfter: number;
    lost: number;
    gained: number;
  }[];
  sample: { name: string; homeRegion: string; from: string | null; to: string | null }[];
  roomsComplete: boolean;
}
