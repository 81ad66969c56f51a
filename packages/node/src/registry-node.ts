/**
 * `createRegistryNode(init)`: what a media server embeds. The node's logic (RegistryCore from
 * @roomring/core) on the real libp2p transport and real time.
 */
import { type NodeOptionsInput, RegistryCore } from '@roomring/core';
import {
  createLibp2pTransport,
  type Libp2pTransport,
  type Libp2pTransportInit,
} from '@roomring/transport-libp2p';
import { createRealRuntime } from './runtime.js';

export interface RegistryNodeInit extends NodeOptionsInput {
  /** 64 hex characters (32 random bytes) shared by every node of the cluster; nodes with
   *  another key cannot connect. Required. */
  clusterKey: string;
  /** Address the cluster transport listens on. @default '127.0.0.1' */
  p2pHost?: string;
  /** Port of the cluster transport; 0 picks a free one. @default 0 */
  p2pPort?: number;
  /** `host:port` addresses other nodes should dial instead of the listen addresses (NAT,
   *  containers); see `advertiseAddresses` of @roomring/transport-libp2p. @default [] */
  p2pAdvertise?: readonly string[];
  /** The node's libp2p identity (protobuf private key bytes). Keep it to keep the peer id
   *  across restarts; a random one is made when absent. */
  privateKey?: Uint8Array;
  /** Further transport limits (see @roomring/transport-libp2p). */
  transport?: Omit<
    Libp2pTransportInit,
    'clusterKey' | 'listenHost' | 'listenPort' | 'privateKey' | 'advertiseAddresses'
  >;
}

/** A registry node: the embedded API of RegistryCore, plus its libp2p transport as `p2p`. */
export class RegistryNode extends RegistryCore {
  constructor(
    init: Omit<
      RegistryNodeInit,
      'clusterKey' | 'p2pHost' | 'p2pPort' | 'p2pAdvertise' | 'privateKey' | 'transport'
    >,
    readonly p2p: Libp2pTransport,
  ) {
    super({ options: init, transport: p2p, runtime: createRealRuntime() });
  }
}

export function createRegistryNode(init: RegistryNodeInit): RegistryNode {
  const {
    clusterKey,
    p2pHost,
    p2pPort,
    p2pAdvertise,
    privateKey,
    transport: transportInit,
    ...options
  } = init;
  const transport = createLibp2pTransport({
    ...transportInit,
    clusterKey,
    ...(p2pHost !== undefined ? { listenHost: p2pHost } : {}),
    ...(p2pPort !== undefined ? { listenPort: p2pPort } : {}),
    ...(p2pAdvertise !== undefined ? { advertiseAddresses: p2pAdvertise } : {}),
    ...(privateKey !== undefined ? { privateKey } : {}),
  });
  return new RegistryNode(options, transport);
}
