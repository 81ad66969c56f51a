import { isIP } from 'node:net';
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';
import { InvalidAddressError } from './errors.js';

/** `/ip4/<host>/tcp/<port>` or `/ip6/...` for a listen host literal (validated by init). */
export function listenMultiaddr(host: string, port: number): string {
  return `/${isIP(host) === 6 ? 'ip6' : 'ip4'}/${host}/tcp/${port}`;
}

const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([^:/[\]]+)):(\d{1,5})$/;

/**
 * Parses what `dial` accepts: a multiaddr string (`/ip4/1.2.3.4/tcp/4001[/p2p/<id>]`, as
 * `listenAddresses()` returns), or `host:port` / `[ipv6]:port` for a peer whose id is not
 * known yet (libp2p learns it in the noise handshake). A host name becomes `/dns/<name>`.
 */
export function parseDialAddress(address: string): Multiaddr {
  if (typeof address !== 'string' || address.length === 0) {
    throw new InvalidAddressError('dial address must be a non-empty string');
  }
  if (address.startsWith('/')) {
    try {
      return multiaddr(address);
    } catch (cause) {
      throw new InvalidAddressError(`invalid multiaddr: ${address}`, { cause });
    }
  }
  const match = HOST_PORT.exec(address);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new InvalidAddressError(`expected host:port or a multiaddr, got ${address}`);
  }
  const family = isIP(host);
  if (match?.[1] !== undefined && family !== 6) {
    throw new InvalidAddressError(`not an IPv6 literal: ${host}`);
  }
  const protocol = family === 4 ? 'ip4' : family === 6 ? 'ip6' : 'dns';
  try {
    return multiaddr(`/${protocol}/${host}/tcp/${port}`);
  } catch (cause) {
    throw new InvalidAddressError(`invalid address: ${address}`, { cause });
  }
}
