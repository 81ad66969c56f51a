import { describe } from 'vitest';
import {
  createHostCluster,
  type HostCluster,
  type HostSpec,
  hostsUnavailableReason,
  type MemberEntry,
  type NodeStatus,
} from '../src/index.js';

/** Why these tests cannot run here (not root, no `ip`), or undefined. */
export const UNAVAILABLE = hostsUnavailableReason();

/** A describe block that needs real hosts: skipped, with the reason in its name, where the
 *  harness cannot run. */
export function describeHosts(name: string, options: { timeout: number }, fn: () => void): void {
  describe.skipIf(UNAVAILABLE !== undefined)(
    UNAVAILABLE === undefined ? name : `${name} (skipped: ${UNAVAILABLE})`,
    options,
    fn,
  );
}

/** The cluster: 5 hosts in 3 regions; use-1 is the one seed address every host lists. */
export const FIVE_HOSTS: readonly HostSpec[] = [
  { nodeId: 'use-1', region: 'us-east' },
  { nodeId: 'use-2', region: 'us-east' },
  { nodeId: 'usw-1', region: 'us-west' },
  { nodeId: 'usw-2', region: 'us-west' },
  { nodeId: 'euc-1', region: 'eu-central' },
];

/** Test progress on the test's output (vitest shows it), measured figures among it. */
export function log(line: string): void {
  console.log(`[hosts] ${line}`);
}

export function startFiveHosts(serverArgs: readonly string[] = []): Promise<HostCluster> {
  return createHostCluster({ hosts: FIVE_HOSTS, serverArgs, log });
}

/**
 * Polls `check` every `intervalMs` until it returns a value (not undefined or false), and
 * resolves with it and the time it was seen. Fails after `timeoutMs` with the last value or
 * error seen, so a failure says what state the cluster was in.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<{ value: T; atMs: number }> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return { value, atMs: Date.now() };
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${timeoutMs} ms; last: ${describeValue(last)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function describeValue(value: unknown): string {
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

export function statuses(cluster: HostCluster, nodeIds: readonly string[]): Promise<NodeStatus[]> {
  return Promise.all(nodeIds.map((id) => cluster.status(id)));
}

export function memberViews(
  cluster: HostCluster,
  nodeIds: readonly string[],
): Promise<MemberEntry[][]> {
  return Promise.all(nodeIds.map((id) => cluster.members(id)));
}

/** Every node of `nodeIds` connected to every other and seeing each alive. */
export async function fullMesh(cluster: HostCluster, nodeIds: readonly string[]): Promise<boolean> {
  const [all, views] = await Promise.all([
    statuses(cluster, nodeIds),
    memberViews(cluster, nodeIds),
  ]);
  const others = nodeIds.length - 1;
  return (
    all.every((s) => s.connectedPeers === others) &&
    views.every(
      (members) =>
        members.filter((m) => !m.self && m.state === 'alive' && nodeIds.includes(m.nodeId))
          .length === others,
    )
  );
}

/** Every node of `nodeIds` holding the same store digest (and the same number of rooms). */
export async function sameDigest(
  cluster: HostCluster,
  nodeIds: readonly string[],
): Promise<NodeStatus[] | undefined> {
  const all = await statuses(cluster, nodeIds);
  const digests = new Set(all.map((s) => s.storeDigest));
  return digests.size === 1 ? all : undefined;
}

export const ids = (cluster: HostCluster): string[] => cluster.hosts.map((h) => h.nodeId);
