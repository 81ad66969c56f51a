import { createHmac, timingSafeEqual } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type RoomringClient, TOKEN_NOT_BEFORE_SKEW_S, TOKEN_TTL_S } from '../src/index.js';
import { API_KEY, API_SECRET, jsonResponse, makeClient, roomJson, START_MS } from './fake-env.js';

interface Decoded {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

/** Verifies an HS256 JWT the way the server does (node:crypto) and returns its parts. */
function verifyJwt(token: string, secret: string): Decoded {
  const parts = token.split('.');
  expect(parts).toHaveLength(3);
  const [h, p, s] = parts as [string, string, string];
  const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${h}.${p}`).digest();
  const actual = Buffer.from(s, 'base64url');
  expect(actual.length).toBe(expected.length);
  expect(timingSafeEqual(actual, expected)).toBe(true);
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
    claims: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
  };
}

function bearer(headers: Record<string, string>): string {
  const value = headers.authorization ?? '';
  expect(value.startsWith('Bearer ')).toBe(true);
  return value.slice('Bearer '.length);
}

const okFor = (url: string): Response => {
  if (url.includes('/DeleteRoom')) return jsonResponse({});
  if (url.includes('/ListRooms') || url.endsWith('/v1/rooms')) return jsonResponse({ rooms: [] });
  if (url.includes('/v1/members')) return jsonResponse({ members: [] });
  if (url.includes('/v1/rooms/')) return jsonResponse({ name: 'a' });
  return jsonResponse(roomJson('a'));
};

const GRANTS: [string, (c: RoomringClient) => Promise<unknown>, Record<string, unknown>][] = [
  ['createRoom', (c) => c.createRoom({ name: 'a' }), { roomCreate: true }],
  ['listRooms', (c) => c.listRooms(), { roomList: true }],
  ['deleteRoom', (c) => c.deleteRoom('a'), { roomCreate: true }],
  [
    'updateRoomMetadata',
    (c) => c.updateRoomMetadata('a/ü', '{}'),
    { roomAdmin: true, room: 'a/ü' },
  ],
  ['members', (c) => c.members(), { roomList: true }],
  ['ring', (c) => c.ring(), { roomList: true }],
  ['owner', (c) => c.owner('a'), { roomList: true }],
  ['status', (c) => c.status(), { roomList: true }],
  ['rooms', (c) => c.rooms(), { roomList: true }],
  [
    'reportStats',
    (c) => c.reportStats('a b', { numParticipants: 1, numPublishers: 0 }),
    { roomAdmin: true, room: 'a b' },
  ],
];

describe('access token', () => {
  for (const [method, invoke, grant] of GRANTS) {
    it(`${method}: HS256 signature verifies; grants ${JSON.stringify(grant)}; iss, nbf, exp set`, async () => {
      const { sched, server, client } = makeClient((req) => okFor(req.url));
      await sched.drive(invoke(client));
      const { header, claims } = verifyJwt(bearer(server.requests[0]!.headers), API_SECRET);
      expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
      const nowS = Math.floor(START_MS / 1000);
      expect(claims).toEqual({
        iss: API_KEY,
        nbf: nowS - TOKEN_NOT_BEFORE_SKEW_S,
        exp: nowS + TOKEN_TTL_S,
        video: grant,
      });
      expect(TOKEN_TTL_S).toBe(600);
    });
  }

  it('does not verify with another secret', async () => {
    const { sched, server, client } = makeClient((req) => okFor(req.url));
    await sched.drive(client.status());
    const token = bearer(server.requests[0]!.headers);
    const [h, p, s] = token.split('.') as [string, string, string];
    const other = createHmac('sha256', 'not-the-secret').update(`${h}.${p}`).digest('base64url');
    expect(other).not.toBe(s);
  });

  it('mints a fresh token per call (the clock moves, exp follows)', async () => {
    const { sched, server, client } = makeClient((req) => okFor(req.url));
    await sched.drive(client.status());
    sched.now += 61_000;
    await sched.drive(client.status());
    const a = verifyJwt(bearer(server.requests[0]!.headers), API_SECRET).claims;
    const b = verifyJwt(bearer(server.requests[1]!.headers), API_SECRET).claims;
    expect((b.exp as number) - (a.exp as number)).toBe(61);
  });

  it('property: any key, secret and room name (unicode, quotes, slashes) signs and round-trips', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 64 }),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 64 }),
        async (apiKey, apiSecret, room) => {
          const { sched, server, client } = makeClient(() => jsonResponse(roomJson(room)), {
            apiKey,
            apiSecret,
          });
          await sched.drive(client.updateRoomMetadata(room, 'x'));
          const { claims } = verifyJwt(bearer(server.requests[0]!.headers), apiSecret);
          expect(claims.iss).toBe(apiKey);
          expect(claims.video).toEqual({ roomAdmin: true, room });
          expect(JSON.parse(server.requests[0]!.body!)).toEqual({ room, metadata: 'x' });
        },
      ),
      { seed: 77, numRuns: 100 },
    );
  });
});
