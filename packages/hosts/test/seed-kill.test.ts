/**
 * Issue 11, scenario 2: kill -9 of the seed host while the official LiveKit SDK loads the
 * four survivors. No call for an existing room fails, every survivor creates new rooms within
 * 2 s of the kill, and no acknowledged room is lost. Before the fix, the survivors were
 * connected only through the seed: they declared each other dead and refused new rooms
 * (`unavailable: 0 replica partner(s) reachable`), the incident this project exists to prevent.
 */
import { RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { HostCluster } from '../src/index.js';
import {
  describeHosts,
  ids,
  log,
  memberViews,
  sameDigest,
  startFiveHosts,
  waitFor,
} from './helpers.js';

const SEED = 'use-1';
const EXISTING_ROOMS = 200;
/** Share of calls for rooms that exist; the rest create new ones. */
const EXISTING_SHARE = 0.75;
const WORKERS_PER_SURVIVOR = 2;
/** Pause between one worker's calls: ~4 survivors x 2 workers x ~80 calls/s. */
const PACE_MS = 10;
const LOAD_BEFORE_KILL_MS = 3_000;
const LOAD_AFTER_KILL_MS = 6_000;
/** The bound for new rooms at every survivor after the kill. */
const NEW_ROOMS_WITHIN_MS = 2_000;
/** Time the survivors get to hold every acknowledged room (gossip, then anti-entropy). */
const CONVERGE_MS = 10_000;

interface Call {
  node: string;
  kind: 'existing' | 'new';
  name: string;
  startedAt: number;
  endedAt: number;
  sid?: string;
  error?: string;
}

describeHosts('kill -9 of the seed host under LiveKit SDK load', { timeout: 120_000 }, () => {
  let cluster: HostCluster;
  let clients: Map<string, RoomServiceClient>;
  beforeAll(async () => {
    cluster = await startFiveHosts();
    await cluster.untilFullMesh(15_000);
    clients = new Map(
      cluster.hosts.map((h) => [
        h.nodeId,
        new RoomServiceClient(h.url, cluster.apiKey, cluster.apiSecret),
      ]),
    );
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('fails no call for an existing room, creates new rooms at every survivor within 2 s, loses none', async () => {
    // Existing rooms, created at every node (the seed included) and held everywhere.
    const existing = Array.from({ length: EXISTING_ROOMS }, (_, i) => `existing-${i}`);
    const acked = new Map<string, string>();
    await Promise.all(
      ids(cluster).map(async (node, n) => {
        for (const name of existing.filter((_, i) => i % 5 === n)) {
          acked.set(name, (await clients.get(node)!.createRoom({ name })).sid);
        }
      }),
    );
    await waitFor('existing rooms everywhere', () => sameDigest(cluster, ids(cluster)), 10_000);

    const survivors = ids(cluster).filter((id) => id !== SEED);
    const calls: Call[] = [];
    let stopped = false;
    let sequence = 0;
    const worker = async (node: string): Promise<void> => {
      const client = clients.get(node)!;
      while (!stopped) {
        const kind = Math.random() < EXISTING_SHARE ? 'existing' : 'new';
        const name =
          kind === 'existing'
            ? existing[Math.floor(Math.random() * existing.length)]!
            : `new-${node}-${sequence++}`;
        const call: Call = { node, kind, name, startedAt: Date.now(), endedAt: 0 };
        try {
          call.sid = (await client.createRoom({ name })).sid;
        } catch (error) {
          call.error = String(error);
        }
        call.endedAt = Date.now();
        calls.push(call);
        await new Promise((resolve) => setTimeout(resolve, PACE_MS));
      }
    };
    const load = Promise.all(
      survivors.flatMap((node) => Array.from({ length: WORKERS_PER_SURVIVOR }, () => worker(node))),
    );
    await new Promise((resolve) => setTimeout(resolve, LOAD_BEFORE_KILL_MS));
    const killedAt = await cluster.kill(SEED);
    await new Promise((resolve) => setTimeout(resolve, LOAD_AFTER_KILL_MS));
    stopped = true;
    await load;

    const failed = calls.filter((c) => c.error !== undefined);
    log(
      `${calls.length} SDK calls at ${survivors.length} survivors (${calls.filter((c) => c.kind === 'new').length} new rooms), ${failed.length} failed`,
    );
    // 1. No call for an existing room failed, before or after the kill.
    expect(
      failed.filter((c) => c.kind === 'existing').map((c) => `${c.node} ${c.name}: ${c.error}`),
    ).toEqual([]);

    // 2. Every survivor created a new room within 2 s of the kill, and no new-room call
    //    started later than that failed.
    for (const node of survivors) {
      const afterKill = calls.filter(
        (c) => c.node === node && c.kind === 'new' && c.startedAt >= killedAt,
      );
      const firstOk = Math.min(
        ...afterKill.filter((c) => c.sid !== undefined).map((c) => c.endedAt),
      );
      log(`${node}: first new room after the kill acknowledged at +${firstOk - killedAt} ms`);
      expect(firstOk - killedAt).toBeLessThanOrEqual(NEW_ROOMS_WITHIN_MS);
      const lateFailures = afterKill.filter(
        (c) => c.error !== undefined && c.startedAt >= killedAt + NEW_ROOMS_WITHIN_MS,
      );
      expect(lateFailures.map((c) => `${c.name}: ${c.error}`)).toEqual([]);
    }
    const detections = (await memberViews(cluster, survivors)).map((members) => {
      const seed = members.find((m) => m.nodeId === SEED)!;
      return seed.state === 'dead' ? seed.stateSinceMs - killedAt : `${seed.state}`;
    });
    log(
      `kill -9 of ${SEED} detected (dead) after ${detections.join(', ')} ms at ${survivors.join(', ')}`,
    );

    // 3. Every acknowledged room, held by every survivor with its acknowledged sid.
    for (const call of calls)
      if (call.kind === 'new' && call.sid !== undefined) acked.set(call.name, call.sid);
    const names = [...acked.keys()];
    const { value: lost } = await waitFor(
      'every acknowledged room at every survivor',
      async () => {
        const missing: string[] = [];
        for (const node of survivors) {
          const held = new Map<string, string>();
          for (let i = 0; i < names.length; i += 500) {
            for (const room of await clients.get(node)!.listRooms(names.slice(i, i + 500))) {
              held.set(room.name, room.sid);
            }
          }
          for (const name of names)
            if (held.get(name) !== acked.get(name)) missing.push(`${node}:${name}`);
        }
        return missing.length === 0 ? missing : undefined;
      },
      CONVERGE_MS,
      200,
    );
    log(`${names.length} acknowledged rooms held by every survivor`);
    expect(lost).toEqual([]);
  });
});
