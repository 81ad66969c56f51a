/**
 * The plan of a cluster of hosts: names and addresses, computed before anything is created
 * (pure, so the naming and address rules have table tests).
 *
 * ```
 *              root namespace (the test process)
 *   198.19.B.1/30 ─ <p>m0 ══ mgmt0 198.19.B.2/30 ┐
 *                                                │ host 0 (netns <p>-h0)
 *   <p>r0 (region bridge) ─ <p>h0 ══ eth0 198.18.0.10/16
 *      │                    <p>h1 ══ eth0 198.18.0.11/16   host 1
 *   <p>t0a ══ <p>t0b
 *                 │
 *   <p>c (core bridge) ── <p>t1b ══ <p>t1a ── <p>r1 (region bridge) ── <p>h2 ...
 * ```
 *
 * - The **cluster network** (198.18.0.0/16) is pure layer 2: a bridge per region, each joined
 *   to one core bridge by a veth "trunk". The root namespace has no address on it, so a cut
 *   trunk (a region cut off) or a host link set down is a real partition for everyone.
 * - The **management links** (198.19.B.0/24, a /30 per host) connect each host to the root
 *   namespace only: the test reaches every host over them, also while its cluster link or its
 *   region is cut. A host has no route to another host's management address, so dialling one
 *   fails at once (ENETUNREACH): the management interface is listed first in each host, so
 *   every node advertises an address its peers cannot reach before its cluster address, as a
 *   real host with a management network does, and membership must move on to the next.
 *
 * Both ranges are inside 198.18.0.0/15 (RFC 2544, benchmarking), which no real network uses.
 */

/** Linux interface names are at most 15 bytes (IFNAMSIZ 16 with the NUL). */
export const IFNAME_BYTES_MAX = 15;
/** Hosts per cluster: a /30 each in one /24 of management addresses. */
export const HOSTS_MAX = 62;
/** Regions per cluster (interface names keep the index to two characters). */
export const REGIONS_MAX = 36;
export const CLUSTER_PREFIX_LENGTH = 16;
export const MANAGEMENT_PREFIX_LENGTH = 30;
/** The interface names inside each host's namespace. */
export const HOST_CLUSTER_IFNAME = 'eth0';
export const HOST_MANAGEMENT_IFNAME = 'mgmt0';

export interface HostSpec {
  /** Node id of the server on this host, unique in the cluster. */
  nodeId: string;
  region: string;
}

export interface HostPlan extends HostSpec {
  index: number;
  netns: string;
  /** Root-namespace end of the cluster link (on its region's bridge). */
  clusterLink: string;
  /** Root-namespace end of the management link. */
  managementLink: string;
  /** The host's address on the cluster network. */
  clusterIp: string;
  /** The host's address on its management link. */
  managementIp: string;
  /** The root namespace's address on that link. */
  managementPeerIp: string;
}

export interface RegionPlan {
  name: string;
  bridge: string;
  /** Trunk ends: on the region bridge, and on the core bridge. */
  trunkRegionEnd: string;
  trunkCoreEnd: string;
}

export interface TopologyPlan {
  prefix: string;
  /** Third octet of the management /24, 198.19.<block>.0/24. */
  managementBlock: number;
  coreBridge: string;
  regions: RegionPlan[];
  hosts: HostPlan[];
}

function checkName(name: string): string {
  if (Buffer.byteLength(name) > IFNAME_BYTES_MAX || !/^[a-z0-9_]+$/.test(name)) {
    throw new RangeError(`interface name ${name} is not 1..15 of [a-z0-9_]`);
  }
  return name;
}

/**
 * Names every object of a cluster after `prefix` and gives every host its addresses.
 * Regions are ordered by first appearance in `hosts`.
 */
export function planTopology(
  prefix: string,
  managementBlock: number,
  hosts: readonly HostSpec[],
): TopologyPlan {
  if (!/^[a-z0-9_]{2,9}$/.test(prefix)) {
    throw new RangeError(`prefix must be 2..9 of [a-z0-9_], got ${prefix}`);
  }
  if (!Number.isInteger(managementBlock) || managementBlock < 1 || managementBlock > 254) {
    throw new RangeError(`managementBlock must be 1..254, got ${managementBlock}`);
  }
  if (hosts.length < 1 || hosts.length > HOSTS_MAX) {
    throw new RangeError(`a cluster has 1..${HOSTS_MAX} hosts, got ${hosts.length}`);
  }
  const ids = new Set(hosts.map((h) => h.nodeId));
  if (ids.size !== hosts.length) throw new RangeError('node ids must be unique');
  const regionNames = [...new Set(hosts.map((h) => h.region))];
  if (regionNames.length > REGIONS_MAX) {
    throw new RangeError(`at most ${REGIONS_MAX} regions, got ${regionNames.length}`);
  }
  const regions = regionNames.map((name, i) => {
    const tag = i.toString(36);
    return {
      name,
      bridge: checkName(`${prefix}r${tag}`),
      trunkRegionEnd: checkName(`${prefix}t${tag}a`),
      trunkCoreEnd: checkName(`${prefix}t${tag}b`),
    };
  });
  return {
    prefix,
    managementBlock,
    coreBridge: checkName(`${prefix}c`),
    regions,
    hosts: hosts.map((host, index) => ({
      ...host,
      index,
      netns: `${prefix}-h${index}`,
      clusterLink: checkName(`${prefix}h${index}`),
      managementLink: checkName(`${prefix}m${index}`),
      clusterIp: `198.18.${Math.floor((10 + index) / 256)}.${(10 + index) % 256}`,
      managementIp: `198.19.${managementBlock}.${4 * index + 2}`,
      managementPeerIp: `198.19.${managementBlock}.${4 * index + 1}`,
    })),
  };
}

/** The prefix of a cluster made by process `pid`, its `sequence`-th (0..35): `rr` + the pid in
 *  base 36 (at most 5 characters for Linux's 2^22 pids) + the sequence. */
export function clusterPrefix(pid: number, sequence: number): string {
  if (!Number.isInteger(sequence) || sequence < 0 || sequence > 35) {
    throw new RangeError(`sequence must be 0..35, got ${sequence}`);
  }
  return `rr${pid.toString(36)}${sequence.toString(36)}`;
}
