/**
 * The admin API of a host's server (docs/api.md, Admin API), read over its management link:
 * `/v1/status` and `/v1/members`, with an access token signed by the cluster's API key.
 */
import { createHmac } from 'node:crypto';

/** Fields of `/v1/status` the harness and its tests read. */
export interface NodeStatus {
  nodeId: string;
  region: string;
  state: string;
  ringChecksum: string;
  storeDigest: string;
  rooms: number;
  members: number;
  connectedPeers: number;
  /** The failure detector's local health, 0 (healthy) to 8 (docs/protocol/membership.md). */
  localHealth: number;
  pendingWrites: number;
  convergence: { peers: number; sameDigest: number; converged: boolean };
  counters: {
    membership: Record<string, number>;
    sync: Record<string, number>;
    writes: Record<string, number>;
  } & Record<string, Record<string, number>>;
}

/** One entry of `/v1/members` (the first is the node itself). */
export interface MemberEntry {
  nodeId: string;
  region: string;
  state: string;
  incarnation: number;
  httpUrl: string;
  p2pAddrs: string[];
  roomCount: number;
  storeDigest: string;
  lastHeardMs: number;
  /** Wall-clock ms of its last state change, by the observing node's clock (one machine:
   *  one clock for every host). */
  stateSinceMs: number;
  self: boolean;
}

/** An HS256 access token (LiveKit's format) granting list, create and admin. */
export function adminToken(apiKey: string, apiSecret: string, validForS = 24 * 3_600): string {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const nowS = Math.floor(Date.now() / 1_000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({
    iss: apiKey,
    sub: 'roomring-hosts',
    nbf: nowS - 60,
    exp: nowS + validForS,
    video: { roomList: true, roomCreate: true, roomAdmin: true },
  })}`;
  return `${body}.${createHmac('sha256', apiSecret).update(body).digest('base64url')}`;
}

/** GET `url` with the token; throws on a non-200 answer or after `timeoutMs`. */
export async function getJson<T>(url: string, token: string, timeoutMs: number): Promise<T> {
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${url}: HTTP ${response.status} ${text}`);
  return JSON.parse(text) as T;
}
