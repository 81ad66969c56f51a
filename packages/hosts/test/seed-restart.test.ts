/**
 * Issue 11, scenario 4: the seed host, killed and restarted with an empty store (its only
 * seed is itself), rejoins the cluster and catches up: the others dial it back (it is a dead
 * member they keep re-dialling), and it pulls every room, those created while it was down
 * included.
 */
import { RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { HostCluster } from '../src/index.js';
import {
  describeHosts,
  fullMesh,
  ids,
  log,
  memberViews,
  sameDigest,
  startFiveHosts,
  waitFor,
} from './helpers.js';

const SEED = 'use-1';
const ROOMS_BEFORE = 300;
const ROOMS_WHILE_DOWN = 50;
/** Rejoining waits for another node's re-dial back-off (redialMaxMs, 10 s with lan) at worst,
 *  then one anti-entropy pull. */
const CATCH_UP_MS = 20_000;

describeHosts('the seed host restarted with an empty store', { timeout: 120_000 }, () => {
  let cluster: HostCluster;
  beforeAll(async () => {
    cluster = await startFiveHosts();
    await cluster.untilFullMesh(15_000);
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('rejoins and catches up', async () => {
    const client = (node: string) => {
      const host = cluster.host(node);
      return new RoomServiceClient(host.url, cluster.apiKey, cluster.apiSecret);
    };
    const sids = new Map<string, string>();
    await Promise.all(
      ids(cluster).map(async (node, n) => {
        for (let i = n; i < ROOMS_BEFORE; i += 5) {
          sids.set(`before-${i}`, (await client(node).createRoom({ name: `before-${i}` })).sid);
        }
      }),
    );
    await waitFor('rooms everywhere', () => sameDigest(cluster, ids(cluster)), 10_000);
    const peerIdBefore = (await memberViews(cluster, ['use-2']))[0]!.find(
      (m) => m.nodeId === SEED,
    )!;

    const pidBefore = cluster.host(SEED).server!.pid;
    await cluster.kill(SEED);
    const survivors = ids(cluster).filter((id) => id !== SEED);
    await waitFor(
      `${SEED} dead at the survivors`,
      async () =>
        (await memberViews(cluster, survivors)).every(
          (members) => members.find((m) => m.nodeId === SEED)?.state === 'dead',
        ) || undefined,
      5_000,
    );
    for (let i = 0; i < ROOMS_WHILE_DOWN; i++) {
      const node = survivors[i % survivors.length]!;
      sids.set(`while-down-${i}`, (await client(node).createRoom({ name: `while-down-${i}` })).sid);
    }

    const restartedAt = Date.now();
    await cluster.restart(SEED);
    // A new process: its store (memory only) starts empty.
    expect(cluster.host(SEED).server!.pid).not.toBe(pidBefore);
    const { value: caughtUp, atMs } = await waitFor(
      `${SEED} in the full mesh with every room`,
      async () => (await fullMesh(cluster, ids(cluster))) && sameDigest(cluster, ids(cluster)),
      CATCH_UP_MS,
      100,
    );
    log(
      `${SEED} restarted empty: full mesh and equal digests ${atMs - restartedAt} ms after the restart`,
    );
    expect(caughtUp.map((s) => s.rooms)).toEqual(caughtUp.map(() => sids.size));
    const held = await client(SEED).listRooms([...sids.keys()]);
    expect(new Map(held.map((r) => [r.name, r.sid]))).toEqual(sids);
    // Same data dir: the same peer id, recognised as the same member (a higher incarnation).
    const peerAfter = (await memberViews(cluster, ['use-2']))[0]!.find((m) => m.nodeId === SEED)!;
    expect(peerAfter.p2pAddrs).toEqual(peerIdBefore.p2pAddrs);
    expect(peerAfter.incarnation).toBeGreaterThan(peerIdBefore.incarnation);
  });
});
