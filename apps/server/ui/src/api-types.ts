/** The /v1 answers the page reads (docs/api.md, Admin API shapes). */
import type { WhatIfPlan } from '../../../../packages/whatif/src/plan-types.js';
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

/** `/v1/series`: the server's own declaration. */
export type {
  SeriesPoint as SeriesPointAnswer,
  SeriesView as SeriesAnswer,
} from '../../src/series-types.js';

/** `/v1/whatif`: the planner's plan (shared with `roomring whatif --json`), and whether the
 *  server read every room. */
export type WhatIfAnswer = WhatIfPlan & { roomsComplete: boolean };
