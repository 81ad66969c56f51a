import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createRoomringClient,
  type Room,
  RoomringApiError,
  RoomringResponseError,
} from '../src/index.js';
import { driveError, jsonResponse, makeClient, roomJson, twirpError } from './fake-env.js';

const EXPECTED_ROOM: Room = {
  sid: 'RM_abcdefghijkm',
  name: 'standup',
  emptyTimeout: 300,
  departureTimeout: 20,
  maxParticipants: 0,
  creationTime: 1_767_225_600,
  creationTimeMs: 1_767_225_600_123,
  metadata: '',
  numParticipants: 0,
  numPublishers: 0,
  activeRecording: false,
};

async function parseCreate(body: unknown): Promise<Room> {
  const { sched, client } = makeClient(() => jsonResponse(body));
  return sched.drive(client.createRoom({ name: 'standup' }));
}

type RoomWire = Record<string, unknown>;

/** Encodes a Room as a server might: snake_case or camelCase, int64 as string or number. */
function encodeRoom(room: Room, snake: boolean, int64AsString: boolean, omitDefaults: boolean) {
  const key = (camel: string) =>
    snake ? camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : camel;
  const out: RoomWire = {};
  for (const [k, v] of Object.entries(room)) {
    if (omitDefaults && (v === 0 || v === '' || v === false)) continue;
    const int64 = k === 'creationTime' || k === 'creationTimeMs';
    out[key(k)] = int64 && int64AsString ? String(v) : v;
  }
  return out;
}

describe('Room parsing', () => {
  it('reads livekit-server JSON: snake_case, every field, int64 as strings', async () => {
    expect(await parseCreate({ ...roomJson('standup'), name: 'standup' })).toEqual(EXPECTED_ROOM);
  });

  it('reads protobuf JSON: camelCase, defaults omitted, int64 as numbers', async () => {
    const room = await parseCreate({
      sid: 'RM_abcdefghijkm',
      name: 'standup',
      emptyTimeout: 300,
      departureTimeout: 20,
      creationTime: 1_767_225_600,
      creationTimeMs: '1767225600123',
      numParticipants: 3,
      version: { unixMicro: '1767225600123456', ticks: 2 },
      someFutureField: { nested: true },
    });
    expect(room).toEqual({
      ...EXPECTED_ROOM,
      numParticipants: 3,
      version: { unixMicro: 1_767_225_600_123_456, ticks: 2 },
    });
  });

  it('property: any room parses the same from snake_case or camelCase, int64 as string or number', async () => {
    const roomArb = fc.record({
      sid: fc.string(),
      name: fc.string({ unit: 'grapheme' }),
      emptyTimeout: fc.nat(),
      departureTimeout: fc.nat(),
      maxParticipants: fc.nat(),
      creationTime: fc.integer({ min: 0, max: 4_102_444_800 }),
      creationTimeMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
      metadata: fc.string({ unit: 'grapheme' }),
      numParticipants: fc.nat(),
      numPublishers: fc.nat(),
      activeRecording: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        roomArb,
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        async (room, snake, str, omit) => {
          expect(await parseCreate(encodeRoom(room, snake, str, omit))).toEqual(room);
        },
      ),
      { seed: 5_150, numRuns: 200 },
    );
  });

  it('lists rooms; an absent list is empty', async () => {
    const { sched, server, client } = makeClient((_req, i) =>
      i === 0 ? jsonResponse({ rooms: [roomJson('a'), roomJson('b')] }) : jsonResponse({}),
    );
    const rooms = await sched.drive(client.listRooms(['a', 'b', 'zzz']));
    expect(rooms.map((r) => r.name)).toEqual(['a', 'b']);
    expect(JSON.parse(server.requests[0]!.body!)).toEqual({ names: ['a', 'b', 'zzz'] });
    expect(await sched.drive(client.listRooms())).toEqual([]);
    expect(JSON.parse(server.requests[1]!.body!)).toEqual({});
  });

  it('a wrongly typed field fails with RoomringResponseError malformed_response, not retried', async () => {
    for (const bad of [
      { ...roomJson('a'), creation_time: 'yesterday' },
      { ...roomJson('a'), num_participants: 1.5 },
      { ...roomJson('a'), name: 7 },
      [roomJson('a')],
      'room',
    ]) {
      const { sched, server, client } = makeClient(() => jsonResponse(bad));
      const err = await driveError(sched, client.createRoom({ name: 'a' }));
      expect(err).toBeInstanceOf(RoomringResponseError);
      expect((err as RoomringResponseError).code).toBe('malformed_response');
      expect((err as RoomringResponseError).name).toBe('RoomringResponseError');
      expect(server.requests).toHaveLength(1);
    }
  });

  it('a 200 whose body is not JSON is malformed_response', async () => {
    const { sched, client } = makeClient(() => new Response('<html>', { status: 200 }));
    const err = await driveError(sched, client.status());
    expect((err as RoomringResponseError).code).toBe('malformed_response');
  });

  it('a body over responseBytesMax fails with response_too_large (declared or streamed)', async () => {
    const big = JSON.stringify({ rooms: Array.from({ length: 50 }, (_, i) => roomJson(`r${i}`)) });
    const declared = makeClient(
      () => new Response(big, { headers: { 'content-length': String(big.length) } }),
      {
        responseBytesMax: 1_000,
      },
    );
    const e1 = await driveError(declared.sched, declared.client.listRooms());
    expect((e1 as RoomringResponseError).code).toBe('response_too_large');
    const streamed = makeClient(
      () =>
        new Response(
          new ReadableStream({
            start(c) {
              for (let i = 0; i < 10; i++)
                c.enqueue(new TextEncoder().encode(big.slice(i * 500, (i + 1) * 500)));
              c.close();
            },
          }),
        ),
      { responseBytesMax: 1_000 },
    );
    const e2 = await driveError(streamed.sched, streamed.client.listRooms());
    expect((e2 as RoomringResponseError).code).toBe('response_too_large');
  });
});

describe('Twirp error parsing', () => {
  it('keeps code, msg, status and string meta on a null-prototype object', async () => {
    const { sched, client } = makeClient(
      () =>
        new Response(
          '{"code":"invalid_argument","msg":"name too long","meta":{"__proto__":"x","field":"name","n":5}}',
          { status: 400, headers: { 'content-type': 'application/json' } },
        ),
    );
    const err = (await driveError(sched, client.createRoom({ name: 'a' }))) as RoomringApiError;
    expect(err).toBeInstanceOf(RoomringApiError);
    expect(err.name).toBe('RoomringApiError');
    expect(err.message).toBe('name too long');
    expect(err.status).toBe(400);
    expect(Object.getPrototypeOf(err.meta)).toBeNull();
    expect({ ...err.meta }).toEqual({ ['__proto__']: 'x', field: 'name' });
    expect(({} as Record<string, unknown>).field).toBeUndefined();
  });

  it('an unknown code becomes unknown and is not retried', async () => {
    const { sched, server, client } = makeClient(() => twirpError(503, 'melted'));
    const err = (await driveError(sched, client.createRoom({ name: 'a' }))) as RoomringApiError;
    expect(err.code).toBe('unknown');
    expect(server.requests).toHaveLength(1);
  });
});

describe('admin API parsing', () => {
  it('members: camelCase or snake_case', async () => {
    const member = {
      nodeId: 'n1',
      region: 'eu',
      state: 'alive',
      incarnation: '3',
      weight: 1,
      httpUrl: 'http://127.0.0.1:7880',
      p2pAddrs: ['/ip4/127.0.0.1/tcp/7900'],
      roomCount: 12,
      ringChecksum: 'c1d85627e1936dfe',
      storeDigest: 'ab12',
      lastHeardMs: 1_767_225_600_000,
      stateSinceMs: 1_767_225_500_000,
      self: true,
    };
    const snake = {
      node_id: 'n2',
      region: 'us',
      state: 'suspect',
      incarnation: 1,
      weight: 2,
      http_url: 'http://127.0.0.1:7881',
      p2p_addrs: [],
      room_count: '4',
      ring_checksum: 'c1d85627e1936dfe',
      store_digest: 12345,
      last_heard_ms: 1,
      state_since_ms: 2,
    };
    const { sched, server, client } = makeClient(() => jsonResponse({ members: [member, snake] }));
    const members = await sched.drive(client.members());
    expect(members[0]).toEqual({ ...member, incarnation: 3 });
    expect(members[1]).toEqual({
      nodeId: 'n2',
      region: 'us',
      state: 'suspect',
      incarnation: 1,
      weight: 2,
      httpUrl: 'http://127.0.0.1:7881',
      p2pAddrs: [],
      roomCount: 4,
      ringChecksum: 'c1d85627e1936dfe',
      storeDigest: '12345',
      lastHeardMs: 1,
      stateSinceMs: 2,
      self: false,
    });
    expect(server.requests[0]!.method).toBe('GET');
    expect(server.requests[0]!.url).toBe('http://roomring.test:7880/v1/members');
    expect(server.requests[0]!.headers['content-type']).toBeUndefined();
  });

  it('ring, owner, rooms: paths, queries and shapes', async () => {
    const { sched, server, client } = makeClient((req) => {
      if (req.url.includes('/v1/ring')) {
        return jsonResponse({
          checksum: 'aa',
          agree: true,
          roomsCounted: 48,
          complete: true,
          regions: [
            {
              region: 'eu',
              checksum: 'bb',
              nodes: [
                {
                  nodeId: 'n1',
                  weight: 1,
                  points: 2048,
                  expectedShare: 0.5,
                  measured_share: 0.48,
                  rooms: 48,
                },
              ],
            },
          ],
        });
      }
      if (req.url.includes('/v1/owner/')) {
        return jsonResponse({
          name: 'a/b',
          exists: true,
          sid: 'RM_x',
          home_region: 'eu',
          owner: 'n1',
          partners: ['n2'],
        });
      }
      return jsonResponse({
        rooms: [
          {
            name: 'a',
            sid: 'RM_x',
            homeRegion: 'eu',
            owner: 'n1',
            numParticipants: 2,
            created_at_ms: '17',
            metadata: 'm',
          },
        ],
      });
    });
    const ring = await sched.drive(client.ring('eu-west 1'));
    expect(ring).toEqual({
      checksum: 'aa',
      agree: true,
      roomsCounted: 48,
      complete: true,
      regions: [
        {
          region: 'eu',
          checksum: 'bb',
          nodes: [
            {
              nodeId: 'n1',
              weight: 1,
              points: 2048,
              expectedShare: 0.5,
              measuredShare: 0.48,
              rooms: 48,
            },
          ],
        },
      ],
    });
    const weird = 'a/b?c#d %__proto__';
    const owner = await sched.drive(client.owner(weird));
    expect(owner).toEqual({
      name: 'a/b',
      exists: true,
      sid: 'RM_x',
      homeRegion: 'eu',
      owner: 'n1',
      partners: ['n2'],
    });
    const rooms = await sched.drive(client.rooms({ region: 'eu', owner: 'n1', limit: 10 }));
    expect(rooms).toEqual([
      {
        name: 'a',
        sid: 'RM_x',
        homeRegion: 'eu',
        owner: 'n1',
        numParticipants: 2,
        numPublishers: 0,
        activeRecording: false,
        createdAtMs: 17,
        metadata: 'm',
      },
    ]);
    await sched.drive(client.ring());
    expect(server.requests.map((r) => r.url.slice('http://roomring.test:7880'.length))).toEqual([
      '/v1/ring?region=eu-west+1',
      '/v1/owner/a%2Fb%3Fc%23d%20%25__proto__',
      '/v1/rooms?region=eu&owner=n1&limit=10',
      '/v1/ring',
    ]);
  });

  it('owner of an unknown room: null sid and owner read as empty strings', async () => {
    const { sched, client } = makeClient(() =>
      jsonResponse({
        name: 'x',
        exists: false,
        sid: null,
        homeRegion: 'eu',
        owner: null,
        partners: [],
      }),
    );
    expect(await sched.drive(client.owner('x'))).toEqual({
      name: 'x',
      exists: false,
      sid: '',
      homeRegion: 'eu',
      owner: '',
      partners: [],
    });
  });

  it('status: counters flattened on a null-prototype object, convergence parsed', async () => {
    const { sched, client } = makeClient(() =>
      jsonResponse({
        nodeId: 'n1',
        region: 'eu',
        state: 'running',
        ringChecksum: 'aa',
        storeDigest: 'bb',
        rooms: 10,
        incarnations: 11,
        tombstones: 1,
        ownedRooms: 4,
        members: 3,
        connectedPeers: 2,
        pendingWrites: 0,
        convergence: { peers: 2, same_digest: 2, converged: true },
        counters: { roomsCreated: 10, gossip: { sent: '5', dropped: 0 }, label: 'x' },
      }),
    );
    const status = await sched.drive(client.status());
    expect(status.convergence).toEqual({ peers: 2, sameDigest: 2, converged: true });
    expect(Object.getPrototypeOf(status.counters)).toBeNull();
    expect({ ...status.counters }).toEqual({
      roomsCreated: 10,
      'gossip.sent': 5,
      'gossip.dropped': 0,
    });
    expect(status.ownedRooms).toBe(4);
  });

  it('reportStats posts absolute counts to /v1/rooms/:room/stats', async () => {
    const { sched, server, client } = makeClient(() =>
      jsonResponse({ name: 'a b', num_participants: 2 }),
    );
    const room = await sched.drive(
      client.reportStats('a b', { numParticipants: 2, numPublishers: 1, activeRecording: true }),
    );
    expect(room.numParticipants).toBe(2);
    expect(server.requests[0]!.url).toBe('http://roomring.test:7880/v1/rooms/a%20b/stats');
    expect(server.requests[0]!.method).toBe('POST');
    expect(server.requests[0]!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(server.requests[0]!.body!)).toEqual({
      numParticipants: 2,
      numPublishers: 1,
      activeRecording: true,
    });
  });
});

describe('Twirp requests', () => {
  it('POSTs JSON to /twirp/livekit.RoomService/<Method> with unset fields omitted', async () => {
    const { sched, server, client } = makeClient((req) =>
      req.url.endsWith('DeleteRoom') ? jsonResponse({}) : jsonResponse(roomJson('a')),
    );
    await sched.drive(client.createRoom({ name: 'a', emptyTimeout: 60, nodeId: 'n2' }));
    await sched.drive(client.updateRoomMetadata('a', '{"k":1}'));
    await sched.drive(client.deleteRoom('a'));
    expect(
      server.requests.map((r) => [r.method, r.url, r.headers['content-type'], JSON.parse(r.body!)]),
    ).toEqual([
      [
        'POST',
        'http://roomring.test:7880/twirp/livekit.RoomService/CreateRoom',
        'application/json',
        { name: 'a', emptyTimeout: 60, nodeId: 'n2' },
      ],
      [
        'POST',
        'http://roomring.test:7880/twirp/livekit.RoomService/UpdateRoomMetadata',
        'application/json',
        { room: 'a', metadata: '{"k":1}' },
      ],
      [
        'POST',
        'http://roomring.test:7880/twirp/livekit.RoomService/DeleteRoom',
        'application/json',
        { room: 'a' },
      ],
    ]);
    const ids = server.requests.map((r) => r.headers['x-livekit-request-id']);
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(3);
  });

  it('keeps one request id across the retries of a call', async () => {
    const { sched, server, client } = makeClient((_r, i) =>
      i < 2 ? twirpError(503, 'unavailable') : jsonResponse(roomJson('a')),
    );
    await sched.drive(client.createRoom({ name: 'a' }));
    expect(new Set(server.requests.map((r) => r.headers['x-livekit-request-id'])).size).toBe(1);
  });

  it('keeps a base path and drops a trailing slash', async () => {
    const { sched, server, client } = makeClient(() => jsonResponse({}), {
      baseUrl: 'https://api.example.com/roomring/',
    });
    await sched.drive(client.deleteRoom('a'));
    expect(server.requests[0]!.url).toBe(
      'https://api.example.com/roomring/twirp/livekit.RoomService/DeleteRoom',
    );
  });
});

describe('options validation', () => {
  const base = { baseUrl: 'http://127.0.0.1:7880', apiKey: 'k', apiSecret: 's' };
  it.each([
    ['a relative baseUrl', { baseUrl: '/api' }],
    ['a ws: baseUrl', { baseUrl: 'ws://127.0.0.1:7880' }],
    ['a baseUrl with a query', { baseUrl: 'http://h/?x=1' }],
    ['an empty apiKey', { apiKey: '' }],
    ['an empty apiSecret', { apiSecret: '' }],
    ['maxAttempts 0', { retry: { maxAttempts: 0 } }],
    ['maxAttempts 11', { retry: { maxAttempts: 11 } }],
    ['maxAttempts 2.5', { retry: { maxAttempts: 2.5 } }],
    ['baseDelayMs above maxDelayMs', { retry: { baseDelayMs: 500, maxDelayMs: 100 } }],
    ['a negative budgetRatio', { retry: { budgetRatio: -0.1 } }],
    ['an infinite budgetRatio', { retry: { budgetRatio: Number.POSITIVE_INFINITY } }],
    ['budgetWindowMs 0', { retry: { budgetWindowMs: 0 } }],
    ['defaultDeadlineMs 0', { defaultDeadlineMs: 0 }],
    ['responseBytesMax 0', { responseBytesMax: 0 }],
  ])('rejects %s with RangeError', (_label, patch) => {
    expect(() =>
      createRoomringClient({ ...base, ...patch } as Parameters<typeof createRoomringClient>[0]),
    ).toThrow(RangeError);
  });
});
