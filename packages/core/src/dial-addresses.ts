/**
 * Pure helpers for choosing which address of a member or seed to dial (DESIGN.md section 6,
 * docs/protocol/membership.md, Re-dialling). Addresses are the transport's strings: libp2p
 * multiaddrs (`/ip4/10.0.0.5/tcp/7900/p2p/12D3KooW...`) in heartbeats, `host:port` in seed
 * lists, or any other form a transport uses (compared whole).
 */

const MULTIADDR_TCP = /^\/(ip4|ip6|dns|dns4|dns6)\/([^/]+)\/tcp\/(\d{1,5})(?:\/|$)/;
const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([^:/[\]]+)):(\d{1,5})$/;

/**
 * `host:port` (`[host]:port` for IPv6), lower-cased, of a TCP multiaddr or a `host:port`
 * string; undefined for any other form. Two spellings of one endpoint compare equal.
 */
export function endpointOf(address: string): string | undefined {
  const multi = MULTIADDR_TCP.exec(address);
  if (multi) {
    const host = multi[1] === 'ip6' ? `[${multi[2]}]` : multi[2];
    return `${host}:${Number(multi[3])}`.toLowerCase();
  }
  const plain = HOST_PORT.exec(address);
  if (plain) {
    const host = plain[1] !== undefined ? `[${plain[1]}]` : plain[2];
    return `${host}:${Number(plain[3])}`.toLowerCase();
  }
  return undefined;
}

/** Whether `address` names one of `own` addresses: the same string, or the same endpoint. */
export function isOwnAddress(address: string, own: readonly string[]): boolean {
  if (own.includes(address)) return true;
  const endpoint = endpointOf(address);
  return endpoint !== undefined && own.some((a) => endpointOf(a) === endpoint);
}

/**
 * The order to try a member's advertised addresses in: the one that worked last first (a
 * member that advertises an address we cannot reach, e.g. a management interface, costs a
 * failed try only until one works), then the others as advertised.
 */
export function dialOrder(addresses: readonly string[], worked: string | undefined): string[] {
  if (worked === undefined || !addresses.includes(worked)) return [...addresses];
  return [worked, ...addresses.filter((a) => a !== worked)];
}
