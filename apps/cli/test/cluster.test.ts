/**
 * The CLI against a real local cluster (2 regions x 2 nodes, server processes from sources),
 * each command run as a child process with NO_COLOR=1. The whatif test runs last: it stops a
 * node and checks the prediction against what actually moved.
 */
import { createRoomringClient, type RoomringClient } from '@roomring/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MembersJson } from '../src/commands/members.js';
import type { OwnerJson } from '../src/commands/owner.js';
import type { RingJson } from '../src/commands/ring.js';
import type { RoomsJson } from '../src/commands/rooms.js';
import type { StatusJson } from '../src/commands/status.js';
import type { WhatIfJson } from '../src/commands/whatif.js';
import { type LocalNode, startLocalCluster, stopLocalCluster } from '../src/local-cluster.js';
import { freePortRange, json, runCli, spawnCli, waitFor } from './cli-process.js';
import { hasControl } from './fixtures.js';

const REGIONS = ['eu', 'us'];
const EU_ROOMS = 40;
const US_ROOMS = 20;
const HOSTILE = 'evil\u001b[31m\nname';
const TOTAL = EU_ROOMS + US_ROOMS + 1;

let nodes: LocalNode[] = [];
let url = '';
const clients = new Map<string, RoomringClient>();
const clientOf = (nodeId: string): RoomringClient => clients.get(nodeId)!;
const cli = (...args: string[]) => runCli(args, url);

beforeAll(async () => {
  const basePort = await freePortRange(17_880, 4);
  const p2pBasePort = await freePortRange(basePort + 20, 4);
  nodes = await startLocalCluster({
    regions: REGIONS,
    nodesPerRegion: 2,
    basePort,
    p2pBasePort,
    fromSource: true,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  url = nodes[0]!.url;
  for (const n of nodes) {
    clients.set(
      n.nodeId,
      createRoomringClient({
        baseUrl: n.url,
        apiKey: 'devkey',
        apiSecret: 'secret',
        defaultDeadlineMs: 10_000,
      }),
    );
  }
  await Promise.all([
    ...Array.from({ length: EU_ROOMS }, (_, i) =>
      clientOf('eu-1').createRoom({ name: `eu-room-${i}` }),
    ),
    ...Array.from({ length: US_ROOMS }, (_, i) =>
      clientOf('us-1').createRoom({ name: `us-room-${i}` }),
    ),
    clientOf('eu-1').createRoom({ name: HOSTILE }),
  ]);
  await waitFor(
    'every node to hold every room',
    async () => {
      const statuses = await Promise.all(nodes.map((n) => clientOf(n.nodeId).status()));
      return statuses.every((s) => s.rooms === TOTAL && s.storeDigest === statuses[0]!.storeDigest);
    },
    30_000,
  );
}, 120_000);

afterAll(async () => {
  await stopLocalCluster(nodes);
});

/** Each test runs a few CLI processes (~1.5 s each from sources) next to 4 servers on 2
 *  cores; the whole-repo run shares those cores with other projects, hence the margin. */
const CLI_TEST_TIMEOUT_MS = 60_000;

describe('roomring against a live cluster', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('members: every member, alive, with its address (json and table)', async () => {
    const [asJson, asTable] = await Promise.all([cli('members', '--json'), cli('members')]);
    const view = json<MembersJson>(asJson);
    expect(view.members.map((m) => m.nodeId).sort()).toEqual(['eu-1', 'eu-2', 'us-1', 'us-2']);
    expect(view.members[0]).toMatchObject({ nodeId: 'eu-1', self: true });
    for (const m of view.members) {
      expect(m.state).toBe('alive');
      expect(m.httpUrl).toBe(nodes.find((n) => n.nodeId === m.nodeId)!.url);
      expect(m.lastHeardAgoMs).toBeLessThan(10_000);
    }
    expect(asTable.code).toBe(0);
    expect(asTable.stdout).toMatch(
      /^NODE\s+REGION\s+STATE\s+INCARNATION\s+ADDRESS\s+ROOMS\s+LAST HEARD/,
    );
    for (const n of nodes) expect(asTable.stdout).toContain(n.url);
  });

  it('ring: shares per region, every node on the same checksum, a drawing', async () => {
    const [asJson, drawn, table] = await Promise.all([
      cli('ring', '--json'),
      cli('ring', '--json', '--draw', '--region', 'us', '--cells', '64'),
      cli('ring', '--draw'),
    ]);
    const view = json<RingJson>(asJson);
    expect(view.allNodesAgree).toBe(true);
    expect(view.nodes).toHaveLength(4);
    expect(view.regions.map((r) => r.region)).toEqual(REGIONS);
    const roomsOf = (region: string) =>
      view.regions.find((r) => r.region === region)!.nodes.reduce((s, n) => s + n.rooms, 0);
    expect(roomsOf('eu')).toBe(EU_ROOMS + 1);
    expect(roomsOf('us')).toBe(US_ROOMS);
    for (const r of view.regions) for (const n of r.nodes) expect(n.expectedShare).toBe(0.5);

    const us = json<RingJson>(drawn);
    expect(us.regions.map((r) => r.region)).toEqual(['us']);
    expect(us.drawnChecksum).toBe(us.checksum);
    const drawing = us.regions[0]!.drawing!;
    expect(drawing.cellOwners).toHaveLength(64);
    expect(new Set(drawing.cellOwners)).toEqual(new Set(['us-1', 'us-2']));

    expect(table.code).toBe(0);
    expect(table.stdout).toContain('all 4 nodes report it');
    expect(table.stdout).toMatch(/NODE\s+WEIGHT\s+POINTS\s+EXPECTED\s+MEASURED\s+ROOMS\s+CHECKSUM/);
    expect(table.stdout).toMatch(/\|[AB]{72}\|/);
    expect(table.stdout).toMatch(/A eu-1 .*of the hash space/);
    expect(hasControl(table.stdout)).toBe(false);
  });

  it('owner: agrees with /v1/owner of every node and with the node that hosts the room', async () => {
    const names = ['eu-room-3', 'us-room-7', HOSTILE];
    const runs = await Promise.all(names.map((name) => cli('owner', name, '--json')));
    for (const [i, name] of names.entries()) {
      const view = json<OwnerJson>(runs[i]!);
      expect(view).toMatchObject({ name, exists: true, agree: true });
      expect(view.nodes).toHaveLength(4);
      for (const n of nodes) {
        const direct = await clientOf(n.nodeId).owner(name);
        expect(direct.owner).toBe(view.owner);
        expect(direct.sid).toBe(view.sid);
      }
      // The owner named is the node that hosts it per the room list.
      const [listed] = (await clientOf('us-2').rooms({ limit: 10_000 })).filter(
        (r) => r.name === name,
      );
      expect(listed!.owner).toBe(view.owner);
      expect(view.homeRegion).toBe(name.startsWith('us') ? 'us' : 'eu');
    }
    const human = await cli('owner', 'us-room-7');
    expect(human.stdout).toMatch(/home region\s+us/);
    expect(human.stdout).toContain('all 4 nodes agree');
    const unknown = await cli('owner', 'no-such-room');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('"no-such-room" does not exist');
  });

  it('rooms: filters by region, owner and limit; escapes hostile names', async () => {
    const [us, owned, limited, table] = await Promise.all([
      cli('rooms', '--json', '--region', 'us', '--limit', '500'),
      cli('rooms', '--json', '--owner', 'eu-1', '--limit', '500'),
      cli('rooms', '--json', '--limit', '5'),
      cli('rooms', '--region', 'eu', '--limit', '500'),
    ]);
    const usView = json<RoomsJson>(us);
    expect(usView.rooms).toHaveLength(US_ROOMS);
    expect(usView.limitReached).toBe(false);
    for (const r of usView.rooms) {
      expect(r.homeRegion).toBe('us');
      expect(r.sid).toMatch(/^RM_/);
      expect(['us-1', 'us-2']).toContain(r.owner);
    }
    const ownedView = json<RoomsJson>(owned);
    expect(ownedView.rooms.length).toBeGreaterThan(0);
    for (const r of ownedView.rooms) expect(r.owner).toBe('eu-1');
    expect(json<RoomsJson>(limited)).toMatchObject({ limit: 5, limitReached: true });
    expect(json<RoomsJson>(limited).rooms).toHaveLength(5);
    expect(table.stdout).toMatch(/^NAME\s+SID\s+HOME\s+OWNER\s+PARTICIPANTS\s+AGE/);
    expect(table.stdout).toContain('evil\\u{1b}[31m\\u{a}name');
    expect(hasControl(table.stdout)).toBe(false);
    expect(table.stdout.trim().split('\n')).toHaveLength(EU_ROOMS + 2);
  });

  it('status: every node ready, digests and checksums agree, no lag', async () => {
    const [asJson, table] = await Promise.all([cli('status', '--json'), cli('status')]);
    const view = json<StatusJson>(asJson);
    expect(view).toMatchObject({
      healthy: true,
      digestsAgree: true,
      ringChecksumsAgree: true,
      rooms: TOTAL,
      members: { alive: 4, total: 4 },
    });
    expect(view.convergenceLagMs).not.toBeNull();
    for (const n of view.nodes)
      expect(n).toMatchObject({ ready: true, nodeState: 'running', rooms: TOTAL });
    expect(table.stdout).toMatch(/^NODE\s+REGION\s+STATE\s+READY\s+ROOMS/);
    expect(table.stdout).toMatch(/health\s+ok/);
  });

  it('watch, create, delete: the stream shows both, Ctrl-C exits 0', async () => {
    const watch = spawnCli(['watch', '--json'], url);
    let out = '';
    let err = '';
    watch.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    watch.stderr!.setEncoding('utf8').on('data', (c: string) => {
      err += c;
    });
    const exited = new Promise<number | null>((r) => watch.once('close', (code) => r(code)));
    await waitFor('the stream to open', async () => err.includes('watching events'), 20_000);

    const created = await cli('create', 'watched-room', '--json', '--metadata', 'm1');
    expect(json<{ sid: string; metadata: string }>(created)).toMatchObject({ metadata: 'm1' });
    const sid = json<{ sid: string }>(created).sid;
    const deleted = await cli('delete', 'watched-room', '--json');
    expect(json(deleted)).toEqual({ name: 'watched-room', deleted: true });
    const again = await cli('delete', 'watched-room');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('"watched-room" does not exist');

    const events = () =>
      out
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { type: string; room?: { name: string; sid: string } });
    await waitFor(
      'both events',
      async () =>
        events().some((e) => e.type === 'room-deleted' && e.room?.name === 'watched-room'),
      10_000,
    );
    const created0 = events().find(
      (e) => e.type === 'room-created' && e.room?.name === 'watched-room',
    );
    expect(created0?.room?.sid).toBe(sid);
    watch.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it('token, room update-metadata, create --node: tokens work against the API as minted', async () => {
    // A list-only token reads; the same token cannot create.
    const listing = json<{ token: string }>(await cli('token', '--list', '--json'));
    const read = await fetch(`${url}/twirp/livekit.RoomService/ListRooms`, {
      method: 'POST',
      headers: { authorization: `Bearer ${listing.token}`, 'content-type': 'application/json' },
      body: '{"names":["eu-room-0"]}',
    });
    expect(read.status).toBe(200);
    const write = await fetch(`${url}/twirp/livekit.RoomService/CreateRoom`, {
      method: 'POST',
      headers: { authorization: `Bearer ${listing.token}`, 'content-type': 'application/json' },
      body: '{"name":"not-allowed"}',
    });
    // As livekit-server: a valid token without the grant is 401 "permissions denied".
    expect(write.status).toBe(401);
    expect(await write.json()).toMatchObject({
      code: 'unauthenticated',
      msg: 'permissions denied',
    });
    // The plain form prints the token alone, for $(roomring token ...).
    const plain = await cli('token', '--admin', '--room', 'eu-room-1', '--valid-for', '5m');
    expect(plain.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const meta = await fetch(`${url}/twirp/livekit.RoomService/UpdateRoomMetadata`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${plain.stdout.trim()}`,
        'content-type': 'application/json',
      },
      body: '{"room":"eu-room-1","metadata":"by-token"}',
    });
    expect(meta.status).toBe(200);

    const updated = await cli('room', 'update-metadata', 'eu-room-2', 'new-meta', '--json');
    expect(json<{ name: string; metadata: string }>(updated)).toMatchObject({
      name: 'eu-room-2',
      metadata: 'new-meta',
    });
    const missing = await cli('room', 'update-metadata', 'no-such-room', 'x');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('does not exist');

    const typo = await cli('create', 'pinned-typo', '--node', 'nobody-node');
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('node_id "nobody-node" is not a member of this cluster');
    const pinned = await cli('create', 'pinned-ok', '--node', 'us-2', '--json');
    expect(pinned.code).toBe(0);
    await cli('delete', 'pinned-ok');
  });

  it('failures: unreachable node and bad credentials exit 1, usage errors exit 2', async () => {
    const closedPort = await freePortRange(19_500, 1);
    const [
      unreachable,
      badSecret,
      badWatch,
      unknownCmd,
      badLimit,
      noChange,
      badAdd,
      badUrl,
      notMember,
    ] = await Promise.all([
      runCli(['members'], `http://127.0.0.1:${closedPort}`),
      runCli(['rooms'], url, { ROOMRING_API_SECRET: 'wrong' }),
      cli('watch', '--api-key', 'nobody'),
      cli('bogus'),
      cli('rooms', '--limit', '0'),
      cli('whatif'),
      cli('whatif', '--add', 'no-region'),
      cli('members', '--url', 'ftp://x'),
      cli('whatif', '--remove', 'zz-9'),
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(
      `cannot reach http://127.0.0.1:${closedPort} (ECONNREFUSED)`,
    );
    expect(badSecret.code).toBe(1);
    expect(badSecret.stderr).toContain('refused the credentials');
    expect(badWatch.code).toBe(1);
    expect(badWatch.stderr).toContain('refused the credentials (401');
    for (const run of [unknownCmd, badLimit, noChange, badAdd, badUrl]) {
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr.length).toBeGreaterThan(0);
    }
    expect(notMember.code).toBe(1);
    expect(notMember.stderr).toContain('"zz-9" is not on the ring');
  });

  it('whatif --remove predicts exactly what moves when that node stops', async () => {
    const [removal, addition] = await Promise.all([
      cli('whatif', '--remove', 'eu-2', '--json', '--sample', '1000'),
      cli('whatif', '--add', 'us-3@us:2', '--json'),
    ]);
    const plan = json<WhatIfJson>(removal);
    expect(plan.ringChecksum.match).toBe(true);
    expect(plan.roomsComplete).toBe(true);
    expect(plan.roomCount).toBe(TOTAL);
    const add = json<WhatIfJson>(addition);
    for (const p of add.pairs) expect(p.to).toBe('us-3');
    expect(add.movedCount).toBeGreaterThan(0);
    expect(add.movedCount).toBeLessThanOrEqual(US_ROOMS);

    const before = new Map(
      (await clientOf('us-1').rooms({ limit: 10_000 })).map((r) => [r.name, r.owner]),
    );
    const eu2 = nodes.find((n) => n.nodeId === 'eu-2')!;
    const gone = new Promise((r) => eu2.process.once('exit', r));
    eu2.process.kill('SIGTERM');
    await gone;
    await waitFor(
      'the others to mark eu-2 left or dead',
      async () => {
        const views = await Promise.all(
          ['eu-1', 'us-1', 'us-2'].map((id) => clientOf(id).members()),
        );
        return views.every((ms) =>
          ['left', 'dead'].includes(ms.find((m) => m.nodeId === 'eu-2')!.state),
        );
      },
      15_000,
    );
    const after = await clientOf('us-1').rooms({ limit: 10_000 });
    expect(after).toHaveLength(TOTAL);
    const moved = new Map<string, number>();
    const movedNames: string[] = [];
    for (const r of after) {
      const from = before.get(r.name)!;
      if (from === r.owner) continue;
      movedNames.push(r.name);
      const key = `${from}->${r.owner}`;
      moved.set(key, (moved.get(key) ?? 0) + 1);
    }
    expect(movedNames.length).toBe(plan.movedCount);
    expect(plan.movedCount).toBeGreaterThan(0);
    expect(new Map(plan.pairs.map((p) => [`${p.from}->${p.to}`, p.count]))).toEqual(moved);
    expect(plan.sample.map((s) => s.name).sort()).toEqual(movedNames.sort());
  });
});
