import { readFileSync } from 'node:fs';
import { describe } from 'vitest';
import {
  createHostCluster,
  type HostCluster,
  type HostSpec,
  hostsUnavailableReason,
  type MemberEntry,
  type NodeStatus,
} from '../src/index.js';

export { waitFor } from '../src/index.js';

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

/** HOSTS_LOG_DIR keeps the servers' logs there (each test's cluster appends to
 *  <dir>/<node>.log); by default they go with the cluster's work directory. */
export function startFiveHosts(serverArgs: readonly string[] = []): Promise<HostCluster> {
  const logDir = process.env.HOSTS_LOG_DIR || undefined;
  return createHostCluster({ hosts: FIVE_HOSTS, serverArgs, log, logDir });
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
export function fullMesh(cluster: HostCluster, nodeIds: readonly string[]): Promise<boolean> {
  return cluster.fullMesh(nodeIds);
}

/** Every node of `nodeIds` holding the same store digest. */
export function sameDigest(
  cluster: HostCluster,
  nodeIds: readonly string[],
): Promise<NodeStatus[] | undefined> {
  return cluster.sameDigest(nodeIds);
}

export const ids = (cluster: HostCluster): string[] => cluster.hosts.map((h) => h.nodeId);

/** A server log line: the fields the tests read. */
export interface LogLine {
  event?: string;
  member?: string;
  reason?: string;
  time?: number;
  startMs?: number;
  endMs?: number;
}

/** The JSON lines of a host's log (stdout and stderr of every server it ran). */
export function logLines(path: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a partial line
    }
  }
  return out;
}

/**
 * Every member transition the servers logged since `sinceMs` (wall ms), one short line each
 * ("usw-2 +10012 member-suspect use-1 (connection-lost)"), from their log files: what a
 * failed membership assertion needs, small enough to be shown whole.
 */
export function memberEventsSince(cluster: HostCluster, sinceMs: number): string {
  const lines = cluster.hosts.flatMap((h) =>
    logLines(h.logPath)
      .filter((l) => l.event?.startsWith('member-') && l.time !== undefined && l.time >= sinceMs)
      .map((l) => `${h.nodeId} +${l.time! - sinceMs} ${l.event} ${l.member} (${l.reason})`),
  );
  const logs = cluster.hosts.map((h) => h.logPath).join(', ');
  return `member transitions since +0 (logs: ${logs}):\n${lines.join('\n')}`;
}
