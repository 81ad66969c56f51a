import { BlockList, isIP } from 'node:net';
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

/** `host` of an `/ip4`, `/ip6` or `/dns*` multiaddr, undefined for anything else. */
function hostOf(address: Multiaddr): { protocol: string; host: string } | undefined {
  const first = address.getComponents()[0];
  if (first === undefined || first.value === undefined) return undefined;
  return /^(ip4|ip6|dns|dns4|dns6)$/.test(first.name)
    ? { protocol: first.name, host: first.value }
    : undefined;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8 and ::1, in any spelling (BlockList matches IPv4-mapped IPv6 too), and the name
 *  `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const family = isIP(host);
  if (family === 0) return host.toLowerCase() === 'localhost';
  return LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The addresses a node tells other nodes to dial (DESIGN.md section 6): every listen address
 * that another host can route to, in the order the interfaces are listed, and the loopback
 * ones only when there is nothing else (every node on one machine, `pnpm start`). A node
 * listening on 0.0.0.0 inside a host also listens on that host's 127.0.0.1, which is a
 * different machine for everyone else: advertising it first made every other host dial
 * itself (issue 11). Link-local addresses never get here (libp2p skips them when it expands
 * a wildcard listen address: without a zone id they cannot be dialled). At most `max`.
 */
export function routableFirst(listening: readonly Multiaddr[], max: number): Multiaddr[] {
  const seen = new Set<string>();
  const routable: Multiaddr[] = [];
  const loopback: Multiaddr[] = [];
  for (const address of listening) {
    const key = address.toString();
    if (seen.has(key)) continue;
    seen.add(key);
    const host = hostOf(address);
    if (host === undefined) continue;
    (isLoopbackHost(host.host) ? loopback : routable).push(address);
  }
  return (routable.length > 0 ? routable : loopback).slice(0, max);
}

/**
 * Parses an address to advertise instead of the listen addresses (NAT, containers):
 * `host:port`, `[ipv6]:port` or a `/ip4|ip6|dns*` + `/tcp/<port>` multiaddr without a peer
 * id (the transport appends its own).
 */
export function parseAdvertiseAddress(address: string): Multiaddr {
  const parsed = parseDialAddress(address);
  const components = parsed.getComponents();
  if (
    components.length !== 2 ||
    hostOf(parsed) === undefined ||
    components[1]?.name !== 'tcp' ||
    Number(components[1].value) < 1
  ) {
    throw new InvalidAddressError(
      `an advertised address is host:port or /ip4|ip6|dns/<host>/tcp/<port>, got ${address}`,
    );
  }
  return parsed;
}
