import { createSimCluster, type SimCluster, type SimClusterInit } from '@roomring/sim';

export const FIVE_NODES = [
  { nodeId: 'use-1', region: 'us-east' },
  { nodeId: 'use-2', region: 'us-east' },
  { nodeId: 'usw-1', region: 'us-west' },
  { nodeId: 'usw-2', region: 'us-west' },
  { nodeId: 'euc-1', region: 'eu-central' },
] as const;

/** Starts a cluster and waits until every node sees every other as alive. */
export async function startedCluster(
  init: Partial<SimClusterInit> & { seed: number },
): Promise<SimCluster> {
  const cluster = await createSimCluster({ nodes: FIVE_NODES, ...init });
  await cluster.startAll();
  await cluster.until(() => allAlive(cluster), 10_000);
  return cluster;
}

export function allAlive(cluster: SimCluster): boolean {
  const running = cluster.running();
  return running.every(
    (n) => n.members().filter((m) => m.state === 'alive').length === running.length,
  );
}

/** Same visible sid per name on every running node, and equal digests. */
export function assertConverged(cluster: SimCluster): Map<string, string> {
  const [first, ...rest] = cluster.running();
  if (!first) throw new Error('no running node');
  const reference = cluster.visible(first.config.nodeId);
  for (const node of rest) {
    const view = cluster.visible(node.config.nodeId);
    if (view.size !== reference.size) {
      throw new Error(
        `${node.config.nodeId} shows ${view.size} rooms, ${first.config.nodeId} ${reference.size} (seed ${cluster.seed})`,
      );
    }
    for (const [name, sid] of reference) {
      if (view.get(name) !== sid) {
        throw new Error(
          `${node.config.nodeId} shows ${name} as ${view.get(name)}, not ${sid} (seed ${cluster.seed})`,
        );
      }
    }
  }
  return reference;
}
