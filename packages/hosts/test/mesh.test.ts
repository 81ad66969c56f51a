/**
 * Issue 11, scenario 1: 5 hosts in 3 regions started at once with the production flags and
 * one seed address: every node connected to every other within 10 s, over addresses that
 * reach them (never another host's loopback).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { HostCluster } from '../src/index.js';
import { describeHosts, FIVE_HOSTS, ids, log, memberViews, startFiveHosts } from './helpers.js';

/** The bound, from the moment every server listens. */
const FULL_MESH_MS = 10_000;

describeHosts('5 hosts, 3 regions, one seed address', { timeout: 90_000 }, () => {
  let cluster: HostCluster;
  let spawnedAt: number;
  let listeningAt: number;

  beforeAll(async () => {
    spawnedAt = Date.now();
    cluster = await startFiveHosts();
    listeningAt = Date.now();
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('connects every node to every other within 10 s', async () => {
    const atMs = await cluster.untilFullMesh(FULL_MESH_MS);
    log(
      `full mesh ${atMs - listeningAt} ms after every server listened (${atMs - spawnedAt} ms after they were spawned)`,
    );
    expect(atMs - listeningAt).toBeLessThanOrEqual(FULL_MESH_MS);
  });

  it('advertises routable addresses only: no node lists a loopback address', async () => {
    const views = await memberViews(cluster, ids(cluster));
    for (const members of views) {
      expect(members.map((m) => m.nodeId).sort()).toEqual(FIVE_HOSTS.map((h) => h.nodeId).sort());
      for (const member of members.filter((m) => !m.self)) {
        const host = cluster.host(member.nodeId);
        // The management address (which other hosts cannot reach) first, then the cluster one:
        // the interfaces' order. Membership got past the first to connect.
        expect(member.p2pAddrs.map((a) => a.split('/')[2])).toEqual([
          host.managementIp,
          host.clusterIp,
        ]);
      }
    }
  });
});
