/**
 * The admin API, /healthz, /readyz and /metrics over app.inject() on a real single node.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/single-node.js';
import { sdkToken } from './helpers/tokens.js';

let s: TestServer;
let reader: string;
let admin: string;

beforeAll(async () => {
  s = await startTestServer();
  reader = await sdkToken({ roomList: true });
  admin = await sdkToken({ roomAdmin: true });
  for (const name of ['alpha', 'beta', 'gamma/with slash', '__proto__']) {
    await s.node.createRoom({ name, metadata: `m-${name}` });
  }
});
afterAll(async () => {
  await s?.close();
});

async function get(url: string, token = reader) {
  return s.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
}

async function postStats(room: string, body: unknown, token = admin) {
  return s.app.inject({
    method: 'POST',
    url: `/v1/rooms/${encodeURIComponent(room)}/stats`,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
}

describe('admin API', () => {
  it('lists members with this node first', async () => {
    const res = await get('/v1/members');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const { members } = res.json() as { members: Record<string, unknown>[] };
    expect(members[0]).toMatchObject({
      nodeId: 'test-1',
      region: 'us-east',
      state: 'alive',
      weight: 1,
      roomCount: 4,
      self: true,
    });
    expect(Object.keys(members[0]!).sort()).toEqual(
      [
        'httpUrl',
        'incarnation',
        'lastHeardMs',
        'nodeId',
        'p2pAddrs',
        'region',
        'ringChecksum',
        'roomCount',
        'self',
        'state',
        'stateSinceMs',
        'historySinceMs',
        'storeDigest',
        'weight',
      ].sort(),
    );
  });

  it('shows the ring with shares and room counts', async () => {
    const ring = (await get('/v1/ring')).json() as {
      checksum: string;
      agree: boolean;
      regions: { region: string; nodes: Record<string, number | string>[] }[];
    };
    expect(ring.checksum).toMatch(/^[0-9a-f]{16}$/);
    expect(ring.agree).toBe(true);
    expect(ring.regions).toHaveLength(1);
    expect(ring.regions[0]!.nodes).toEqual([
      {
        nodeId: 'test-1',
        weight: 1,
        points: 2048,
        expectedShare: 1,
        measuredShare: 1,
        rooms: 4,
      },
    ]);
    const none = (await get('/v1/ring?region=mars')).json() as { regions: unknown[] };
    expect(none.regions).toEqual([]);
  });

  it('answers owner lookups for existing, missing and awkward names', async () => {
    const alpha = (await get('/v1/owner/alpha')).json();
    expect(alpha).toMatchObject({
      name: 'alpha',
      exists: true,
      homeRegion: 'us-east',
      owner: 'test-1',
    });
    expect((alpha as { sid: string }).sid).toMatch(/^RM_/);
    const slash = (await get(`/v1/owner/${encodeURIComponent('gamma/with slash')}`)).json();
    expect(slash).toMatchObject({ name: 'gamma/with slash', exists: true });
    const proto = (await get('/v1/owner/__proto__')).json();
    expect(proto).toMatchObject({ name: '__proto__', exists: true });
    const missing = (await get('/v1/owner/nobody')).json();
    expect(missing).toMatchObject({ exists: false, sid: null, partners: [] });
    const long = await get(`/v1/owner/${'x'.repeat(257)}`);
    expect(long.statusCode).toBe(400);
    expect(long.json()).toMatchObject({ code: 'invalid_argument' });
  });

  it('reports status with convergence and counters', async () => {
    const status = (await get('/v1/status')).json() as Record<string, unknown>;
    expect(status).toMatchObject({
      nodeId: 'test-1',
      region: 'us-east',
      state: 'running',
      rooms: 4,
      ownedRooms: 4,
      members: 1,
      convergence: { peers: 0, sameDigest: 0, converged: true },
    });
    expect(status.counters).toHaveProperty('writes');
    expect(status.http).toHaveProperty('inFlight', 1);
  });

  it('lists rooms with filters and a bounded limit', async () => {
    const all = (await get('/v1/rooms')).json() as { rooms: Record<string, unknown>[] };
    expect(all.rooms.map((r) => r.name).sort()).toEqual([
      '__proto__',
      'alpha',
      'beta',
      'gamma/with slash',
    ]);
    expect(all.rooms[0]).toHaveProperty('createdAtMs');
    expect(all.rooms[0]).toHaveProperty('owner', 'test-1');
    expect(((await get('/v1/rooms?limit=2')).json() as { rooms: unknown[] }).rooms).toHaveLength(2);
    expect(((await get('/v1/rooms?region=eu')).json() as { rooms: unknown[] }).rooms).toHaveLength(
      0,
    );
    expect(
      ((await get('/v1/rooms?owner=test-1&limit=3')).json() as { rooms: unknown[] }).rooms,
    ).toHaveLength(3);
    for (const bad of ['0', '10001', 'x', '-1']) {
      const res = await get(`/v1/rooms?limit=${bad}`);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'invalid_argument' });
    }
    expect((await get('/v1/rooms?limit=1&limit=2')).statusCode).toBe(400);
  });

  it('takes stats reports with roomAdmin and validates them', async () => {
    const res = await postStats('alpha', {
      numParticipants: 3,
      numPublishers: 1,
      activeRecording: true,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      name: 'alpha',
      numParticipants: 3,
      numPublishers: 1,
      activeRecording: true,
    });
    expect(s.node.getRoom('alpha')?.numParticipants).toBe(3);
    expect(
      (await postStats('nobody', { numParticipants: 1, numPublishers: 0 })).json(),
    ).toMatchObject({
      code: 'not_found',
      msg: 'requested room does not exist',
    });
    for (const bad of [
      { numParticipants: -1, numPublishers: 0 },
      { numParticipants: 1 },
      { numParticipants: 1.5, numPublishers: 0 },
      { numParticipants: 1, numPublishers: 0, activeRecording: 'yes' },
      { numParticipants: 1, numPublishers: 5 },
    ]) {
      const r = await postStats('alpha', bad);
      expect(r.statusCode).toBe(400);
      expect(r.json()).toMatchObject({ code: 'invalid_argument' });
    }
    expect(
      (await postStats('alpha', { numParticipants: 1, numPublishers: 5 })).json(),
    ).toMatchObject({ meta: { argument: 'numPublishers' } });
    // Refused reports changed nothing; a report without activeRecording keeps it.
    expect(s.node.getRoom('alpha')).toMatchObject({ numParticipants: 3, activeRecording: true });
    const countsOnly = await postStats('alpha', { numParticipants: 2, numPublishers: 2 });
    expect(countsOnly.json()).toMatchObject({ numParticipants: 2, activeRecording: true });
    await postStats('alpha', { numParticipants: 2, numPublishers: 0, activeRecording: false });
    expect(s.node.getRoom('alpha')?.activeRecording).toBe(false);
    const garbage = await s.app.inject({
      method: 'POST',
      url: '/v1/rooms/alpha/stats',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      payload: '{"numParticipants":',
    });
    expect(garbage.statusCode).toBe(400);
    expect(garbage.headers['content-type']).toBe('application/json');
    expect(garbage.json()).toMatchObject({ code: 'malformed' });
  });

  it('needs roomList to read and roomAdmin (for that room, if scoped) to write', async () => {
    const createOnly = await sdkToken({ roomCreate: true });
    for (const url of ['/v1/members', '/v1/ring', '/v1/owner/alpha', '/v1/status', '/v1/rooms']) {
      const res = await get(url, createOnly);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ code: 'unauthenticated', msg: 'permissions denied', meta: {} });
    }
    expect(
      (await postStats('alpha', { numParticipants: 0, numPublishers: 0 }, reader)).statusCode,
    ).toBe(401);
    const betaOnly = await sdkToken({ roomAdmin: true, room: 'beta' });
    expect(
      (await postStats('alpha', { numParticipants: 0, numPublishers: 0 }, betaOnly)).statusCode,
    ).toBe(401);
    expect(
      (await postStats('beta', { numParticipants: 0, numPublishers: 0 }, betaOnly)).statusCode,
    ).toBe(200);
    const anonymous = await s.app.inject({ method: 'GET', url: '/v1/members' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('serves health, readiness and Prometheus metrics without a token', async () => {
    expect((await s.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const ready = await s.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ ready: true, reason: 'serving', state: 'running' });
    const metrics = await s.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.body).toContain(
      'roomring_http_requests_total{method="",route="/v1/members",code="200"}',
    );
    // Durations on a monotonic sub-millisecond clock: the sum is not whole milliseconds.
    const sum =
      /roomring_http_request_duration_seconds_sum\{method="",route="\/v1\/members",code="200"\} ([\d.e-]+)/.exec(
        metrics.body,
      );
    expect(Number(sum?.[1])).toBeGreaterThan(0);
    expect(Number.isInteger(Number(sum?.[1]) * 1_000)).toBe(false);
    expect(metrics.body).toContain('roomring_rooms 4');
    expect(metrics.body).toMatch(
      /roomring_node_events_total\{group="writes",name="writesAcked"\} \d+/,
    );
    expect(metrics.body).toContain('roomring_members{state="alive"} 1');
    expect(metrics.body).toContain('roomring_http_in_flight');
  });

  it('answers GET / with 200 OK for load balancers, as livekit-server does', async () => {
    const res = await s.app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toBe('OK');
  });

  it('names its version in /v1/status and in roomring_build_info', async () => {
    const { version } = JSON.parse(
      readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect((await get('/v1/status')).json()).toMatchObject({ version });
    const metrics = await s.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain(
      `roomring_build_info{version="${version}",node_version="${process.version}"} 1`,
    );
  });

  it('answers a path that does not decode with the documented error body', async () => {
    const res = await get('/v1/owner/%E0%A4%A');
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json()).toMatchObject({ code: 'malformed' });
    expect((res.json() as { msg: string }).msg).toMatch(/percent-encoding/);
  });

  it('is not ready while a seeded node has no peer', async () => {
    const lonely = await startTestServer(
      { nodeId: 'lonely', seeds: ['127.0.0.1:1'] },
      { nodeId: 'lonely', seeds: ['127.0.0.1:1'] },
    );
    try {
      const res = await lonely.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ ready: false, reason: 'joining', alivePeers: 0 });
    } finally {
      await lonely.close();
    }
  });
});
