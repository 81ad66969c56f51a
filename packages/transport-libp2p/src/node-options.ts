/**
 * The libp2p node's options: TCP + pnet + noise + yamux + identify + gossipsub, no discovery,
 * no relays, nothing that dials on its own. Every limit comes from the validated config.
 */
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { type GossipSub, gossipsub } from '@libp2p/gossipsub';
import { type Identify, identify } from '@libp2p/identify';
import type { PrivateKey } from '@libp2p/interface';
import { preSharedKey } from '@libp2p/pnet';
import { tcp } from '@libp2p/tcp';
import { P2P_ADDRS_MAX } from '@roomring/protocol';
import type { Libp2pOptions } from 'libp2p';
import { listenMultiaddr, routableFirst } from './address.js';
import { gossipOptions } from './gossip-options.js';
import type { Libp2pTransportConfig } from './init.js';

export interface Services extends Record<string, unknown> {
  identify: Identify;
  pubsub: GossipSub;
}

/** Streams one connection may carry at once, all protocols: gossipsub (2), identify (1-2),
 *  ping (1), plus our request protocols. 1,024 is yamux's default order of magnitude and caps
 *  a single peer's share of this node. */
const MUXED_STREAMS_PER_CONNECTION_MAX = 1_024;
/** Streams opened before the remote acknowledged them (yamux "early" streams). */
const EARLY_STREAMS_MAX = 32;
/** Connections still in their handshake (pnet + noise + yamux). Each costs ~1 ms of CPU;
 *  32 at once bounds a connection storm's CPU to ~32 ms bursts. */
const PENDING_INBOUND_CONNECTIONS_MAX = 32;
/** pnet's nonce exchange must complete within this; noise then has the upgrade timeout. */
const PNET_HANDSHAKE_TIMEOUT_MS = 2_000;
/** Whole inbound upgrade (pnet + noise + yamux negotiation): a few RTTs, under 0.5 s even
 *  across regions. A dialer with the wrong cluster key is not refused at once: its garbage
 *  stalls the handshake until this timeout, holding one of PENDING_INBOUND_CONNECTIONS_MAX
 *  slots; 3 s keeps that cost short and still tolerates an overloaded node. */
const INBOUND_UPGRADE_TIMEOUT_MS = 3_000;
/** A dial with no caller deadline (e.g. dialProtocol to a known peer) gives up after this. */
const DIAL_TIMEOUT_MS = 5_000;
/** libp2p pings each connection this often and aborts it when the ping times out: a hung peer
 *  (SIGSTOP) is noticed in ~5-11 s (PLATFORM.md), a killed one at once by TCP. */
const PING_INTERVAL_MS = 5_000;

export function nodeOptions(
  config: Libp2pTransportConfig,
  privateKey: PrivateKey,
  isBlocked: (peer: string) => boolean,
  onGossipReceived: () => void = () => {},
): Libp2pOptions<Services> {
  // Operator-blocked peers (setBlockedPeers): refused before and after encryption, in both
  // directions, so a dial by host:port (peer id unknown until the handshake) is caught too.
  const deny = (peer: { toString(): string }): boolean => isBlocked(peer.toString());
  return {
    privateKey,
    connectionGater: {
      denyDialPeer: deny,
      denyInboundEncryptedConnection: deny,
      denyOutboundEncryptedConnection: deny,
    },
    start: false,
    // What identify tells peers (their libp2p dials by peer id use it) matches what
    // listenAddresses() puts in heartbeats: the advertised addresses, or routable ones first.
    addresses:
      config.advertiseAddresses.length > 0
        ? {
            listen: [listenMultiaddr(config.listenHost, config.listenPort)],
            announce: [...config.advertiseAddresses],
          }
        : {
            listen: [listenMultiaddr(config.listenHost, config.listenPort)],
            announceFilter: (addresses) => routableFirst(addresses, P2P_ADDRS_MAX),
          },
    transports: [
      tcp({
        // Socket-level backstop above libp2p's own connection limit.
        maxConnections: config.connectionsMax * 2,
        dialOpts: { noDelay: true },
        listenOpts: { noDelay: true },
      }),
    ],
    connectionProtector: preSharedKey({ psk: config.pskFile, timeout: PNET_HANDSHAKE_TIMEOUT_MS }),
    connectionEncrypters: [noise()],
    streamMuxers: [
      yamux({
        maxInboundStreams: MUXED_STREAMS_PER_CONNECTION_MAX,
        maxOutboundStreams: MUXED_STREAMS_PER_CONNECTION_MAX,
        maxEarlyStreams: EARLY_STREAMS_MAX,
        streamOptions: {
          maxStreamWindowSize: config.streamWindowBytesMax,
          // A paused stream receives at most one window more; twice the window is headroom.
          maxReadBufferLength: 2 * config.streamWindowBytesMax,
        },
      }),
    ],
    // No mDNS, no bootstrap list, no DHT: membership decides whom to dial (DESIGN.md 6).
    peerDiscovery: [],
    connectionManager: {
      maxConnections: config.connectionsMax,
      inboundConnectionThreshold: config.inboundConnectionsPerHostPerSecondMax,
      maxIncomingPendingConnections: PENDING_INBOUND_CONNECTIONS_MAX,
      inboundUpgradeTimeout: INBOUND_UPGRADE_TIMEOUT_MS,
      dialTimeout: DIAL_TIMEOUT_MS,
      // libp2p's own redial of KEEP_ALIVE peers: none are tagged so; membership redials.
      reconnectRetries: 0,
    },
    connectionMonitor: {
      enabled: true,
      pingInterval: PING_INTERVAL_MS,
      abortConnectionOnPingFailure: true,
    },
    services: {
      identify: identify(),
      pubsub: gossipsub(gossipOptions({ ...config, onGossipReceived })),
    },
  };
}
