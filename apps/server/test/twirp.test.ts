/**
 * The Twirp RoomService over app.inject() on a real single node: every auth answer, content
 * types, codecs, limits and routing errors exactly as livekit-roomservice.md states them, and
 * the node keeps serving afterwards.
 */
import { Writable } from 'node:stream';
import { CreateRoomRequest, ListRoomsRequest, ListRoomsResponse, Room } from '@livekit/protocol';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/index.js';
import { startTestServer, type TestServer } from './helpers/single-node.js';
import { ALL_GRANTS, handToken, nowS, sdkToken, TEST_KEY } from './helpers/tokens.js';

const BASE = '/twirp/livekit.RoomService';
let s: TestServer;
let token: string;

beforeAll(async () => {
  s = await startTestServer();
  token = await sdkToken(ALL_GRANTS);
});
afterAll(async () => {
  await s?.close();
});

interface CallOptions {
  auth?: string | null;
  contentType?: string | null;
  headers?: Record<string, string>;
  method?: 'POST' | 'GET' | 'PUT';
  app?: FastifyInstance;
}

async function call(rpc: string, payload: unknown, options: CallOptions = {}) {
  const headers: Record<string, string> = { ...options.headers };
  const auth = options.auth === undefined ? `Bearer ${token}` : options.auth;
  if (auth !== null) headers.authorization = auth;
  const contentType =
    options.contentType === undefined ? 'application/json;charset=UTF-8' : options.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  const body =
    payload === undefined
      ? undefined
      : typeof payload === 'string' || payload instanceof Uint8Array
        ? Buffer.from(payload)
        : JSON.stringify(payload);
  return (options.app ?? s.app).inject({
    method: options.method ?? 'POST',
    url: `${BASE}/${rpc}`,
    headers,
    ...(body !== undefined ? { payload: body } : {}),
  });
}

function expectTwirpError(
  res: Awaited<ReturnType<typeof call>>,
  status: number,
  code: string,
  msg?: string | RegExp,
) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toBe('application/json');
  const body = res.json() as { code: string; msg: string; meta: unknown };
  expect(body.code).toBe(code);
  expect(typeof body.meta).toBe('object');
  if (typeof msg === 'string') expect(body.msg).toBe(msg);
  else if (msg) expect(body.msg).toMatch(msg);
}

function expectPlain401(res: Awaited<ReturnType<typeof call>>, text: string | RegExp) {
  expect(res.statusCode).toBe(401);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  if (typeof text === 'string') expect(res.body).toBe(text);
  else expect(res.body).toMatch(text);
}

describe('auth', () => {
  it('refuses a request without Authorization with 401 text/plain', async () => {
    expectPlain401(
      await call('CreateRoom', { name: 'a' }, { auth: null }),
      'missing authorization header',
    );
  });

  it('refuses a header without the Bearer prefix', async () => {
    expectPlain401(
      await call('CreateRoom', { name: 'a' }, { auth: `Token ${token}` }),
      'invalid authorization header. Must start with Bearer',
    );
  });

  it('refuses an unknown API key', async () => {
    const other = await sdkToken(ALL_GRANTS, 'otherkey', 'whatever-secret');
    expectPlain401(
      await call('CreateRoom', { name: 'a' }, { auth: `Bearer ${other}` }),
      'invalid API key: otherkey',
    );
  });

  it('refuses a bad signature', async () => {
    const forged = await sdkToken(ALL_GRANTS, TEST_KEY, 'not-the-secret');
    expectPlain401(
      await call('CreateRoom', { name: 'a' }, { auth: `Bearer ${forged}` }),
      'invalid token: signature is invalid',
    );
  });

  it('refuses a token expired beyond the 60 s leeway, accepts one within it', async () => {
    const claims = { iss: TEST_KEY, video: ALL_GRANTS };
    const expired = handToken({ ...claims, exp: nowS() - 120 });
    expectPlain401(
      await call('CreateRoom', { name: 'a' }, { auth: `Bearer ${expired}` }),
      'invalid token: token is expired',
    );
    const lately = handToken({ ...claims, exp: nowS() - 30 });
    expect(
      (await call('CreateRoom', { name: 'leeway' }, { auth: `Bearer ${lately}` })).statusCode,
    ).toBe(200);
  });

  it('honours nbf, requires exp, accepts only HS256, rejects garbage', async () => {
    const claims = { iss: TEST_KEY, video: ALL_GRANTS };
    const early = handToken({ ...claims, exp: nowS() + 600, nbf: nowS() + 300 });
    expectPlain401(
      await call('ListRooms', {}, { auth: `Bearer ${early}` }),
      'invalid token: token is not valid yet',
    );
    const noExp = handToken(claims);
    expectPlain401(
      await call('ListRooms', {}, { auth: `Bearer ${noExp}` }),
      'invalid token: exp claim is required',
    );
    const none = handToken({ ...claims, exp: nowS() + 600 }, 'x', { alg: 'none' });
    expectPlain401(
      await call('ListRooms', {}, { auth: `Bearer ${none}` }),
      /^invalid token: only HS256/,
    );
    const hs512 = handToken({ ...claims, exp: nowS() + 600 }, 'x', { alg: 'HS512' });
    expectPlain401(
      await call('ListRooms', {}, { auth: `Bearer ${hs512}` }),
      /^invalid token: only HS256/,
    );
    expectPlain401(
      await call('ListRooms', {}, { auth: 'Bearer a.b' }),
      'invalid authorization token',
    );
    expectPlain401(
      await call('ListRooms', {}, { auth: `Bearer ${'x'.repeat(9_000)}` }),
      'invalid authorization token',
    );
  });

  it('answers a valid token without the grant with unauthenticated "permissions denied"', async () => {
    const listOnly = await sdkToken({ roomList: true });
    const createOnly = await sdkToken({ roomCreate: true });
    const denied = async (rpc: string, body: unknown, t: string) => {
      const res = await call(rpc, body, { auth: `Bearer ${t}` });
      expectTwirpError(res, 401, 'unauthenticated', 'permissions denied');
      expect(JSON.parse(res.body)).toMatchObject({
        code: 'unauthenticated',
        msg: 'permissions denied',
      });
    };
    await denied('CreateRoom', { name: 'g' }, listOnly);
    await denied('DeleteRoom', { room: 'g' }, listOnly);
    await denied('ListRooms', {}, createOnly);
    await denied('UpdateRoomMetadata', { room: 'g', metadata: 'x' }, createOnly);
    // roomAdmin for another room is not enough.
    const otherRoom = await sdkToken({ roomAdmin: true, room: 'other' });
    await denied('UpdateRoomMetadata', { room: 'g', metadata: 'x' }, otherRoom);
    expect(
      (await call('CreateRoom', { name: 'g' }, { auth: `Bearer ${createOnly}` })).statusCode,
    ).toBe(200);
    expect((await call('ListRooms', {}, { auth: `Bearer ${listOnly}` })).statusCode).toBe(200);
    const thisRoom = await sdkToken({ roomAdmin: true, room: 'g' });
    const updated = await call(
      'UpdateRoomMetadata',
      { room: 'g', metadata: 'ok' },
      { auth: `Bearer ${thisRoom}` },
    );
    expect(updated.json()).toMatchObject({ name: 'g', metadata: 'ok' });
  });
});

describe('codecs and content types', () => {
  it('answers JSON in snake_case with every field, as livekit-server does', async () => {
    const res = await call('CreateRoom', {
      name: 'json-room',
      emptyTimeout: 60,
      maxParticipants: 7,
      metadata: 'm',
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const room = res.json() as Record<string, unknown>;
    expect(room).toMatchObject({
      name: 'json-room',
      empty_timeout: 60,
      departure_timeout: 20,
      max_participants: 7,
      metadata: 'm',
      num_participants: 0,
      num_publishers: 0,
      active_recording: false,
      turn_password: '',
      enabled_codecs: [],
    });
    expect(room.sid).toMatch(/^RM_[2-9A-HJ-NP-Za-km-z]{12}$/);
    const createdMs = Number(room.creation_time_ms);
    expect(Math.abs(createdMs - Date.now())).toBeLessThan(10_000);
    expect(room.creation_time).toBe(String(Math.floor(createdMs / 1_000)));
    // The SDK's parser reads it back.
    expect(Room.fromJson(room as never, { ignoreUnknownFields: true }).sid).toBe(room.sid);
  });

  it('accepts snake_case input, int64 as number, and odd Content-Type spelling', async () => {
    const res = await call(
      'CreateRoom',
      { name: 'snake', empty_timeout: 42, unknown_field: 1 },
      {
        contentType: ' Application/JSON ; charset=utf-8',
      },
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: 'snake', empty_timeout: 42 });
  });

  it('answers binary protobuf to application/protobuf', async () => {
    const body = new CreateRoomRequest({ name: 'proto-room', metadata: 'p' }).toBinary();
    const res = await call('CreateRoom', body, { contentType: 'application/protobuf' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/protobuf');
    const room = Room.fromBinary(res.rawPayload);
    expect(room.name).toBe('proto-room');
    expect(room.metadata).toBe('p');
    const list = await call(
      'ListRooms',
      new ListRoomsRequest({ names: ['proto-room', 'nope'] }).toBinary(),
      {
        contentType: 'application/protobuf',
      },
    );
    expect(ListRoomsResponse.fromBinary(list.rawPayload).rooms.map((r) => r.sid)).toEqual([
      room.sid,
    ]);
  });

  it('answers an unsupported or missing Content-Type with bad_route 404', async () => {
    expectTwirpError(
      await call('CreateRoom', '{"name":"x"}', { contentType: 'text/plain' }),
      404,
      'bad_route',
      'unexpected Content-Type: "text/plain"',
    );
    expectTwirpError(
      await call('CreateRoom', '{"name":"x"}', { contentType: null }),
      404,
      'bad_route',
    );
    expectTwirpError(
      await call('CreateRoom', '{"name":"x"}', { contentType: '' }),
      404,
      'bad_route',
    );
    expectTwirpError(
      await call('CreateRoom', '{"name":"x"}', { contentType: 'application/x-protobuf' }),
      404,
      'bad_route',
    );
  });

  it('answers undecodable bodies with malformed 400', async () => {
    expectTwirpError(
      await call('CreateRoom', '{"name":'),
      400,
      'malformed',
      'the json request could not be decoded',
    );
    expectTwirpError(await call('CreateRoom', '{"name": 5}'), 400, 'malformed');
    expectTwirpError(await call('CreateRoom', '[1,2]'), 400, 'malformed');
    expectTwirpError(
      await call('CreateRoom', new Uint8Array([0xff, 0xff, 0xff, 0xff]), {
        contentType: 'application/protobuf',
      }),
      400,
      'malformed',
      'the protobuf request could not be decoded',
    );
  });

  it('answers an oversized body with invalid_argument 400', async () => {
    const big = JSON.stringify({ name: 'big', metadata: 'x'.repeat(s.config.bodyBytesMax) });
    expectTwirpError(
      await call('CreateRoom', big),
      400,
      'invalid_argument',
      'request body is too large',
    );
  });
});

describe('limits and semantics', () => {
  it('takes names of 1..256 UTF-8 bytes, refuses others with invalid_argument', async () => {
    const max = 'é'.repeat(128); // 256 bytes, 128 characters
    expect((await call('CreateRoom', { name: max })).json()).toMatchObject({ name: max });
    expectTwirpError(await call('CreateRoom', { name: `${max}a` }), 400, 'invalid_argument', /257/);
    expectTwirpError(await call('CreateRoom', { name: '' }), 400, 'invalid_argument');
    expectTwirpError(await call('CreateRoom', {}), 400, 'invalid_argument');
    expectTwirpError(await call('DeleteRoom', { room: 'x'.repeat(257) }), 400, 'invalid_argument');
  });

  it('takes metadata up to ROOM_METADATA_BYTES_MAX (64 KiB), refuses more', async () => {
    const limit = s.config.metadataBytesMax;
    expect(limit).toBe(65_536);
    const ok = await call('CreateRoom', { name: 'meta-max', metadata: 'm'.repeat(limit) });
    expect(ok.statusCode).toBe(200);
    expectTwirpError(
      await call('CreateRoom', { name: 'meta-over', metadata: 'm'.repeat(limit + 1) }),
      400,
      'invalid_argument',
      /metadata/,
    );
    expectTwirpError(
      await call(
        'UpdateRoomMetadata',
        { room: 'meta-max', metadata: 'é'.repeat(limit / 2 + 1) },
        { auth: `Bearer ${await sdkToken({ roomAdmin: true, room: 'meta-max' })}` },
      ),
      400,
      'invalid_argument',
    );
    expect(s.node.getRoom('meta-over')).toBeUndefined();
  });

  it('routes: unknown method and GET are bad_route, participant RPCs unimplemented', async () => {
    expectTwirpError(
      await call('Frobnicate', {}),
      404,
      'bad_route',
      `no handler for path "${BASE}/Frobnicate"`,
    );
    expectTwirpError(
      await call('CreateRoom', undefined, { method: 'GET', contentType: null }),
      404,
      'bad_route',
      'unsupported method "GET" (only POST is allowed)',
    );
    expectTwirpError(await call('CreateRoom', {}, { method: 'PUT' }), 404, 'bad_route');
    const wrongService = await s.app.inject({
      method: 'POST',
      url: '/twirp/livekit.Egress/CreateRoom',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: '{}',
    });
    expectTwirpError(wrongService, 404, 'bad_route');
    for (const rpc of [
      'ListParticipants',
      'GetParticipant',
      'RemoveParticipant',
      'MutePublishedTrack',
      'UpdateParticipant',
      'UpdateSubscriptions',
      'SendData',
    ]) {
      expectTwirpError(await call(rpc, { room: 'x' }), 501, 'unimplemented');
    }
    const elsewhere = await s.app.inject({ method: 'GET', url: '/nothing/here' });
    expectTwirpError(elsewhere, 404, 'bad_route');
  });

  it('is get-or-create, deletes, and answers a missing room with not_found', async () => {
    const first = (await call('CreateRoom', { name: 'goc', metadata: 'one' })).json() as Record<
      string,
      string
    >;
    const again = (await call('CreateRoom', { name: 'goc', metadata: 'two' })).json() as Record<
      string,
      string
    >;
    expect(again.sid).toBe(first.sid);
    expect(again.metadata).toBe('one');
    // LiveKit's rule: roomAdmin with `room` equal to the request's room.
    const admin = { auth: `Bearer ${await sdkToken({ roomAdmin: true, room: 'goc' })}` };
    const updated = await call('UpdateRoomMetadata', { room: 'goc', metadata: 'three' }, admin);
    expect(updated.json()).toMatchObject({ sid: first.sid, metadata: 'three' });
    const deleted = await call('DeleteRoom', { room: 'goc' });
    expect(deleted.statusCode).toBe(200);
    expect(deleted.body).toBe('{}');
    expectTwirpError(
      await call('DeleteRoom', { room: 'goc' }),
      404,
      'not_found',
      'requested room does not exist',
    );
    expectTwirpError(
      await call('UpdateRoomMetadata', { room: 'goc', metadata: 'x' }, admin),
      404,
      'not_found',
      'requested room does not exist',
    );
    const list = (await call('ListRooms', { names: ['goc', 'json-room', 'never'] })).json() as {
      rooms: { name: string }[];
    };
    expect(list.rooms.map((r) => r.name)).toEqual(['json-room']);
  });

  it('maps nodeId to a pinned node and cuts ListRooms at listRoomsMax', async () => {
    await call('CreateRoom', { name: 'pinned', nodeId: 'test-1' });
    expect(s.node.getRoom('pinned')?.pinnedNode).toBe('test-1');
    // A node id no member has is refused, and nothing is created.
    const typo = await call('CreateRoom', { name: 'pinned-typo', nodeId: 'nobody-node' });
    expect(typo.statusCode).toBe(400);
    expect(typo.json()).toMatchObject({
      code: 'invalid_argument',
      msg: 'node_id "nobody-node" is not a member of this cluster',
      meta: { argument: 'node_id' },
    });
    expect(s.node.getRoom('pinned-typo')).toBeUndefined();
    const small = buildApp({
      node: s.node,
      config: { ...s.config, listRoomsMax: 2 },
      logger: pino({ level: 'silent' }),
    });
    const res = await call('ListRooms', {}, { app: small });
    expect((res.json() as { rooms: unknown[] }).rooms).toHaveLength(2);
    expect(res.headers['x-roomring-truncated']).toBe('2');
    await small.close();
  });

  it('answers deadline_exceeded when the deadline leaves no time for the call', async () => {
    let clock = Date.now();
    const frozen = buildApp({
      node: s.node,
      config: s.config,
      logger: pino({ level: 'silent' }),
      nowMs: () => (clock += 5),
    });
    const res = await call(
      'CreateRoom',
      { name: 'late' },
      { app: frozen, headers: { 'x-twirp-timeout-ms': '8' } },
    );
    expectTwirpError(res, 408, 'deadline_exceeded');
    await frozen.close();
  });

  it('logs the X-Livekit-Request-Id as the request id', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logged = buildApp({
      node: s.node,
      config: s.config,
      logger: pino({ level: 'debug' }, sink),
    });
    await call(
      'ListRooms',
      {},
      { app: logged, headers: { 'x-livekit-request-id': 'req-1234-abcd' } },
    );
    await logged.close();
    expect(lines.some((l) => JSON.parse(l).reqId === 'req-1234-abcd')).toBe(true);
  });

  it('round-trips any room name, object-key traps included (JSON and protobuf)', async () => {
    const traps = [
      '__proto__',
      'constructor',
      'hasOwnProperty',
      'toString',
      'a\u0000b',
      '🙂',
      '/x/../y',
    ];
    const names = fc.sample(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }).filter((n) => {
        const bytes = Buffer.byteLength(n);
        return bytes >= 1 && bytes <= 256;
      }),
      { numRuns: 40, seed: 20_251_129 },
    );
    for (const [i, name] of [...traps, ...names].entries()) {
      const proto = i % 2 === 1;
      const res = proto
        ? await call('CreateRoom', new CreateRoomRequest({ name }).toBinary(), {
            contentType: 'application/protobuf',
          })
        : await call('CreateRoom', { name });
      expect(res.statusCode).toBe(200);
      const sid = proto ? Room.fromBinary(res.rawPayload).sid : (res.json() as { sid: string }).sid;
      const listed = (await call('ListRooms', { names: [name] })).json() as {
        rooms: { name: string; sid: string }[];
      };
      expect(listed.rooms).toEqual([expect.objectContaining({ name, sid })]);
    }
    expect(({} as Record<string, unknown>).sid).toBeUndefined();
  });

  it('keeps serving after every error above', async () => {
    const res = await call('CreateRoom', { name: 'after-all' });
    expect(res.statusCode).toBe(200);
    expect((await s.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await s.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });

  it('labels Twirp requests by method name only; the route label holds /twirp', async () => {
    await call('ListRooms', {});
    await s.app.inject({ method: 'POST', url: '/twirp/livekit.RoomService/NoSuchMethod' });
    const body = (await s.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(body).toMatch(
      /roomring_http_requests_total\{method="CreateRoom",route="\/twirp",code="200"\} \d+/,
    );
    expect(body).toMatch(
      /roomring_http_requests_total\{method="ListRooms",route="\/twirp",code="200"\} \d+/,
    );
    expect(body).toMatch(
      /roomring_http_requests_total\{method="bad_route",route="\/twirp",code="404"\} \d+/,
    );
    // No path is ever a method label.
    const methods = [...body.matchAll(/roomring_http_requests_total\{method="([^"]*)"/g)].map(
      (m) => m[1],
    );
    for (const m of methods) expect(m).not.toContain('/');
  });
});
