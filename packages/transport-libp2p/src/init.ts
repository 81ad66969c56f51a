import { isIP } from 'node:net';
import { P2P_ADDRS_MAX } from '@roomring/protocol';
import { parseAdvertiseAddress } from './address.js';
import { parseClusterKey } from './cluster-key.js';
import { InvalidConfigError } from './errors.js';

const KIB = 1024;
const MIB = 1024 * KIB;

/** Every default, named (STYLE.md habit 1). Units are last in the names. */
export const LIBP2P_TRANSPORT_DEFAULTS = Object.freeze({
  /** Loopback: a node is reachable from other hosts only when the operator says so. */
  listenHost: '127.0.0.1',
  /** 0 = an ephemeral port chosen by the OS (tests, `roomring up`). */
  listenPort: 0,
  /** A cluster of 20 nodes needs about 2 x 19 = 38 connections (both sides may dial); 64 leaves
   *  room for restarts overlapping old connections and CLI/admin peers. */
  connectionsMax: 64,
  /** A new TCP connection costs a noise handshake (~1 ms of CPU); 16 per second per remote
   *  host allows a local 16-node cluster to start at once, and still stops a reconnect storm
   *  from one host. libp2p's own default (5) is too low for a local cluster on one IP. */
  inboundConnectionsPerHostPerSecondMax: 16,
  /** Concurrent requests this node serves per protocol, across all peers. A sync stream holds
   *  about 2 frames in memory (2 x 4 MiB), so 32 bound the responder to ~256 MiB worst case.
   *  Past the limit the requester gets `PeerBusyError` at once (no queue). */
  inboundStreamsPerProtocolMax: 32,
  /** ...and from one peer: a peer pipelines at most 2 replicate requests (write path) and runs
   *  one sync session at a time, so 8 leave it headroom while no one peer can hold more than
   *  a quarter of a protocol's slots. */
  inboundStreamsPerPeerMax: 8,
  /** How long a responder waits for the request frame of a new stream. A requester writes it
   *  at once; 5 s covers a slow link, and a stream that stays silent gives its slot back in 5 s
   *  instead of streamIdleTimeoutMs. */
  requestReadTimeoutMs: 5_000,
  /** Requests this node has in flight at once (all peers, all protocols). Replication acks
   *  (DESIGN.md section 7) are one per write and short; 256 in flight at ~1.3 ms each is
   *  ~200k/s, far above the write path. Past the limit `request` throws at once. */
  requestsPendingMax: 256,
  /** One request or response frame. 4 MiB = a sync frame of ~10k rooms x ~400 B. */
  frameBytesMax: 4 * MIB,
  /** One gossip message. Replication batches are far smaller (`batchBytesMax`); 1 MiB caps
   *  what one forged or buggy message can cost every node. */
  gossipMessageBytesMax: 1 * MIB,
  /** Bytes queued for one peer's gossip stream before that stream is aborted (gossipsub has no
   *  back-pressure, PLATFORM.md). 16 MiB = 16 full-size messages, or ~3 s of 5 MB/s batches.
   *  Anti-entropy repairs what is lost (DESIGN.md section 7). */
  gossipOutboundBufferBytesMax: 16 * MIB,
  /** yamux flow-control window per stream: what a sender may have in flight unread. 4 MiB at
   *  100 ms RTT allows ~40 MB/s per stream, enough for cross-region sync, and bounds the
   *  receiver's buffer per stream. */
  streamWindowBytesMax: 4 * MIB,
  /** A responder waits at most this long for the request frame, and for a slow requester to
   *  read each response frame, before it resets the stream and frees its slot. */
  streamIdleTimeoutMs: 30_000,
  /** gossipsub heartbeat: mesh maintenance and IHAVE gossip. 1 s is the spec's value: grafts
   *  repair within a second, and the control traffic stays ~1 message/s per peer. */
  gossipHeartbeatIntervalMs: 1_000,
});

export interface Libp2pTransportInit {
  /** The cluster's pre-shared key: 64 hex characters (32 bytes). Required. Every connection is
   *  wrapped in a private network (`@libp2p/pnet`, XSalsa20) keyed by it, so a node with another
   *  key fails the handshake and can neither connect nor publish. Make one with
   *  `generateClusterKey()`. */
  clusterKey: string;
  /** The node's identity: a libp2p private key in protobuf form (`generatePrivateKey()` makes
   *  one). Persist it so a restarted node keeps its peer id. Exclusive with `identitySeed`.
   *  @default a new random Ed25519 key (a new peer id on every start of the process). */
  privateKey?: Uint8Array;
  /** 32 bytes from which an Ed25519 identity is derived deterministically (e.g. a secret in the
   *  node's config). Exclusive with `privateKey`. */
  identitySeed?: Uint8Array;
  /** IPv4/IPv6 literal to listen on. @default '127.0.0.1' */
  listenHost?: string;
  /** TCP port, 0 = ephemeral. @default 0 */
  listenPort?: number;
  /** What this node tells other nodes to dial instead of its listen addresses, for a node
   *  behind NAT or in a container whose interface addresses other hosts cannot reach:
   *  `host:port` (a host name, an IPv4 or `[IPv6]` literal) or a `/ip4|ip6|dns/<host>/tcp/<port>`
   *  multiaddr, at most P2P_ADDRS_MAX. When empty, a node advertises its listen addresses, a
   *  wildcard one expanded to the interfaces' addresses, loopback only when there is no other.
   *  @default [] */
  advertiseAddresses?: readonly string[];
  /** Open connections (libp2p prunes past it). @default 64 */
  connectionsMax?: number;
  /** New inbound connections per second from one IP before refusing. @default 16 */
  inboundConnectionsPerHostPerSecondMax?: number;
  /** Requests served concurrently per protocol, all peers. @default 32 */
  inboundStreamsPerProtocolMax?: number;
  /** Requests served concurrently per protocol from one peer (<= the above). @default 8 */
  inboundStreamsPerPeerMax?: number;
  /** Wait for the request frame of a new inbound stream. @default 5000 */
  requestReadTimeoutMs?: number;
  /** Requests in flight from this node. @default 256 */
  requestsPendingMax?: number;
  /** Bytes in one request/response frame. @default 4 MiB */
  frameBytesMax?: number;
  /** Bytes in one gossip message's data. @default 1 MiB */
  gossipMessageBytesMax?: number;
  /** Bytes queued per peer on the gossip stream before it is aborted. @default 16 MiB */
  gossipOutboundBufferBytesMax?: number;
  /** yamux per-stream flow-control window. @default 4 MiB */
  streamWindowBytesMax?: number;
  /** Responder idle limit per stream (request arrival, each frame drained). @default 30 s */
  streamIdleTimeoutMs?: number;
  /** gossipsub heartbeat. @default 1000 ms */
  gossipHeartbeatIntervalMs?: number;
}

/** Validated, frozen configuration. */
export interface Libp2pTransportConfig {
  readonly pskFile: Uint8Array;
  readonly privateKey: Uint8Array | undefined;
  readonly identitySeed: Uint8Array | undefined;
  readonly listenHost: string;
  readonly listenPort: number;
  /** Multiaddr strings without a peer id; empty = the listen addresses. */
  readonly advertiseAddresses: readonly string[];
  readonly connectionsMax: number;
  readonly inboundConnectionsPerHostPerSecondMax: number;
  readonly inboundStreamsPerProtocolMax: number;
  readonly inboundStreamsPerPeerMax: number;
  readonly requestReadTimeoutMs: number;
  readonly requestsPendingMax: number;
  readonly frameBytesMax: number;
  readonly gossipMessageBytesMax: number;
  readonly gossipOutboundBufferBytesMax: number;
  readonly streamWindowBytesMax: number;
  readonly streamIdleTimeoutMs: number;
  readonly gossipHeartbeatIntervalMs: number;
}

/** Smallest frame limit: an error frame plus its message must fit. */
const FRAME_BYTES_MIN = 4 * KIB;
/** Largest frame limit: the varint length prefix and yamux both handle more, but a frame is
 *  held whole in memory on both sides; 64 MiB is already a lot per stream. */
const FRAME_BYTES_LIMIT = 64 * MIB;
/** yamux rejects windows below its initial 256 KiB, and above 2^32 - 1. */
const STREAM_WINDOW_BYTES_MIN = 256 * KIB;
const STREAM_WINDOW_BYTES_LIMIT = 1024 * MIB;

function integer(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidConfigError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

function bytes(
  name: string,
  value: Uint8Array | undefined,
  length?: number,
): Uint8Array | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Uint8Array)) throw new InvalidConfigError(`${name} must be a Uint8Array`);
  if (length !== undefined && value.byteLength !== length) {
    throw new InvalidConfigError(`${name} must be ${length} bytes, got ${value.byteLength}`);
  }
  return Uint8Array.from(value);
}

function listenHost(value: string): string {
  if (typeof value !== 'string' || isIP(value) === 0) {
    throw new InvalidConfigError(`listenHost must be an IPv4 or IPv6 literal, got ${value}`);
  }
  return value;
}

function advertiseAddresses(value: readonly string[] | undefined): readonly string[] {
  if (value === undefined) return Object.freeze([]);
  if (!Array.isArray(value) || value.length > P2P_ADDRS_MAX) {
    throw new InvalidConfigError(
      `advertiseAddresses must be a list of at most ${P2P_ADDRS_MAX} addresses (P2P_ADDRS_MAX)`,
    );
  }
  return Object.freeze(
    value.map((address: unknown) => {
      try {
        return parseAdvertiseAddress(address as string).toString();
      } catch (cause) {
        throw new InvalidConfigError(`advertiseAddresses: ${(cause as Error).message}`, {
          cause,
        });
      }
    }),
  );
}

/** Validates `init` against the documented bounds and fills in defaults. */
export function resolveConfig(init: Libp2pTransportInit): Libp2pTransportConfig {
  if (init === null || typeof init !== 'object') throw new InvalidConfigError('init is required');
  const d = LIBP2P_TRANSPORT_DEFAULTS;
  const privateKey = bytes('privateKey', init.privateKey);
  const identitySeed = bytes('identitySeed', init.identitySeed, 32);
  if (privateKey !== undefined && identitySeed !== undefined) {
    throw new InvalidConfigError('give privateKey or identitySeed, not both');
  }
  const frameBytesMax = integer(
    'frameBytesMax',
    init.frameBytesMax ?? d.frameBytesMax,
    FRAME_BYTES_MIN,
    FRAME_BYTES_LIMIT,
  );
  return Object.freeze({
    pskFile: parseClusterKey(init.clusterKey),
    privateKey,
    identitySeed,
    listenHost: listenHost(init.listenHost ?? d.listenHost),
    listenPort: integer('listenPort', init.listenPort ?? d.listenPort, 0, 65_535),
    advertiseAddresses: advertiseAddresses(init.advertiseAddresses),
    connectionsMax: integer('connectionsMax', init.connectionsMax ?? d.connectionsMax, 1, 100_000),
    inboundConnectionsPerHostPerSecondMax: integer(
      'inboundConnectionsPerHostPerSecondMax',
      init.inboundConnectionsPerHostPerSecondMax ?? d.inboundConnectionsPerHostPerSecondMax,
      1,
      100_000,
    ),
    inboundStreamsPerProtocolMax: integer(
      'inboundStreamsPerProtocolMax',
      init.inboundStreamsPerProtocolMax ?? d.inboundStreamsPerProtocolMax,
      1,
      10_000,
    ),
    inboundStreamsPerPeerMax: integer(
      'inboundStreamsPerPeerMax',
      init.inboundStreamsPerPeerMax ?? d.inboundStreamsPerPeerMax,
      1,
      10_000,
    ),
    requestReadTimeoutMs: integer(
      'requestReadTimeoutMs',
      init.requestReadTimeoutMs ?? d.requestReadTimeoutMs,
      1,
      3_600_000,
    ),
    requestsPendingMax: integer(
      'requestsPendingMax',
      init.requestsPendingMax ?? d.requestsPendingMax,
      1,
      100_000,
    ),
    frameBytesMax,
    gossipMessageBytesMax: integer(
      'gossipMessageBytesMax',
      init.gossipMessageBytesMax ?? d.gossipMessageBytesMax,
      1,
      FRAME_BYTES_LIMIT,
    ),
    gossipOutboundBufferBytesMax: integer(
      'gossipOutboundBufferBytesMax',
      init.gossipOutboundBufferBytesMax ?? d.gossipOutboundBufferBytesMax,
      KIB,
      4 * 1024 * MIB,
    ),
    streamWindowBytesMax: integer(
      'streamWindowBytesMax',
      init.streamWindowBytesMax ?? d.streamWindowBytesMax,
      STREAM_WINDOW_BYTES_MIN,
      STREAM_WINDOW_BYTES_LIMIT,
    ),
    streamIdleTimeoutMs: integer(
      'streamIdleTimeoutMs',
      init.streamIdleTimeoutMs ?? d.streamIdleTimeoutMs,
      1,
      3_600_000,
    ),
    gossipHeartbeatIntervalMs: integer(
      'gossipHeartbeatIntervalMs',
      init.gossipHeartbeatIntervalMs ?? d.gossipHeartbeatIntervalMs,
      10,
      60_000,
    ),
  });
}
