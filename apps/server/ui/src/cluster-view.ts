/**
 * What the overview derives from `/v1/members` (docs/dashboard.md, Overview): the regions with
 * their members by state, and which alive members disagree with the answering node on the
 * ring checksum or the store digest. Pure.
 */

/** The fields of a `/v1/members` entry the page reads. */
export interface MemberRow {
  nodeId: string;
  region: string;
  state: string;
  incarnation: number;
  weight: number;
  httpUrl: string;
  roomCount: number;
  ringChecksum: string;
  storeDigest: string;
  lastHeardMs: number;
  stateSinceMs: number;
  self: boolean;
}

export interface RegionSummary {
  region: string;
  alive: number;
  suspect: number;
  dead: number;
  left: number;
  total: number;
}

const STATES = ['alive', 'suspect', 'dead', 'left'] as const;

/** Regions in name order, each with its members counted by state. */
export function regionsOf(members: readonly MemberRow[]): RegionSummary[] {
  const byRegion = new Map<string, RegionSummary>();
  for (const m of members) {
    let r = byRegion.get(m.region);
    if (!r) {
      r = { region: m.region, alive: 0, suspect: 0, dead: 0, left: 0, total: 0 };
      byRegion.set(m.region, r);
    }
    r.total++;
    const state = STATES.find((s) => s === m.state);
    if (state) r[state]++;
  }
  return [...byRegion.values()].sort((a, b) => (a.region < b.region ? -1 : 1));
}

export interface Agreement {
  /** Alive members other than the answering node. */
  peers: number;
  /** Node ids of alive peers that report another value than the answering node. */
  differing: string[];
  agree: boolean;
}

function agreement(members: readonly MemberRow[], field: 'ringChecksum' | 'storeDigest') {
  const self = members.find((m) => m.self) ?? members[0];
  const peers = members.filter((m) => m !== self && m.state === 'alive');
  const differing = peers.filter((m) => m[field] !== self?.[field]).map((m) => m.nodeId);
  return { peers: peers.length, differing, agree: differing.length === 0 };
}

/** Alive peers whose last heartbeat carried another ring checksum than this node's. */
export function ringAgreement(members: readonly MemberRow[]): Agreement {
  return agreement(members, 'ringChecksum');
}

/** Alive peers whose last heartbeat carried another store digest than this node's. */
export function digestAgreement(members: readonly MemberRow[]): Agreement {
  return agreement(members, 'storeDigest');
}

/** Members in the order the table shows them: region, then node id; this node first. */
export function membersInOrder(members: readonly MemberRow[]): MemberRow[] {
  return [...members].sort((a, b) => {
    if (a.self !== b.self) return a.self ? -1 : 1;
    if (a.region !== b.region) return a.region < b.region ? -1 : 1;
    return a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0;
  });
}

/** Transitions kept per member: enough to read "alive -> suspect -> dead" and a return. */
export const MEMBER_TRANSITIONS_KEPT = 4;
/** Members tracked: as many as a placement holds (MEMBERS_MAX of packages/ring, 4,096);
 *  4,096 x 4 transitions x ~100 B = ~1.6 MB at most. Past that the member that changed
 *  longest ago is forgotten. */
export const MEMBERS_TRACKED_MAX = 4_096;

export interface MemberTransition {
  state: string;
  /** Unix ms at the reporting node. */
  atMs: number;
  /** Why (`connection-lost`, `probe-failed`, `silent`, ...). */
  reason: string;
}

/**
 * Each member's recent state changes, from the event stream. A killed node is suspected and
 * declared dead within milliseconds (the probe dial is refused at once), faster than any poll
 * of /v1/members: the trail keeps that "suspect, then dead" visible.
 */
export class MemberHistory {
  private readonly byNode = new Map<string, MemberTransition[]>();

  constructor(
    private readonly keptMax: number = MEMBER_TRANSITIONS_KEPT,
    private readonly membersMax: number = MEMBERS_TRACKED_MAX,
  ) {}

  record(nodeId: string, transition: MemberTransition): void {
    let trail = this.byNode.get(nodeId);
    if (trail) {
      // Most recently changed last, so the first key is the one to forget.
      this.byNode.delete(nodeId);
    } else {
      trail = [];
      if (this.byNode.size >= this.membersMax) {
        const oldest = this.byNode.keys().next().value;
        if (oldest !== undefined) this.byNode.delete(oldest);
      }
    }
    trail.push(transition);
    if (trail.length > this.keptMax) trail.shift();
    this.byNode.set(nodeId, trail);
  }

  /** Oldest first. */
  of(nodeId: string): readonly MemberTransition[] {
    return this.byNode.get(nodeId) ?? [];
  }

  get size(): number {
    return this.byNode.size;
  }
}
