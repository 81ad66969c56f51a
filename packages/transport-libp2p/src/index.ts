// The polyfill MUST stay the first import: libp2p 3 calls Promise.withResolvers, which Node 20
// lacks (PLATFORM.md). ES modules evaluate imports in order, so this runs before libp2p loads.
import './polyfill.js';

export { generateClusterKey } from './cluster-key.js';
export {
  DialTimeoutError,
  FrameTooLargeError,
  InvalidAddressError,
  InvalidConfigError,
  MessageTooLargeError,
  PeerBusyError,
  PeerUnreachableError,
  ProtocolNotSupportedError,
  ProtocolViolationError,
  RemoteHandlerError,
  RequestAbortedError,
  RequestTimeoutError,
  ResponseIncompleteError,
  TimeoutError,
  TooManyFramesError,
  TooManyPendingRequestsError,
  TransportError,
  TransportStoppedError,
} from './errors.js';
export { ERROR_MESSAGE_BYTES_MAX } from './frames.js';
export { generatePrivateKey } from './identity.js';
export type { Libp2pTransportInit } from './init.js';
export { LIBP2P_TRANSPORT_DEFAULTS } from './init.js';
export type { Libp2pTransportMetrics } from './metrics.js';
export type { Libp2pTransport, WaitForTopicPeersOptions } from './transport.js';
export { createLibp2pTransport } from './transport.js';
