import { readFileSync } from 'node:fs';
import { ERROR_TABLE } from '@roomring/api-errors';
import { describe, expect, it } from 'vitest';
import {
  type CallOptions,
  RoomringApiError,
  type RoomringClient,
  type RoomringError,
  RoomringNetworkError,
} from '../src/index.js';
import {
  driveError,
  jsonResponse,
  makeClient,
  networkFailure,
  roomJson,
  twirpError,
} from './fake-env.js';

interface MethodCase {
  name: string;
  /** 'unsafe' = DeleteRoom: retried only when the failure proves nothing happened. */
  rule: 'idempotent' | 'unsafe';
  invoke: (c: RoomringClient, opts?: CallOptions) => Promise<unknown>;
  ok: () => Response;
}

const adminRoom = { name: 'a', sid: 'RM_abcdefghijkm', homeRegion: 'eu', owner: 'n1' };

const METHODS: MethodCase[] = [
  {
    name: 'createRoom',
    rule: 'idempotent',
    invoke: (c, o) => c.createRoom({ name: 'a' }, o),
    ok: () => jsonResponse(roomJson('a')),
  },
  {
    name: 'listRooms',
    rule: 'idempotent',
    invoke: (c, o) => c.listRooms(['a'], o),
    ok: () => jsonResponse({ rooms: [roomJson('a')] }),
  },
  {
    name: 'deleteRoom',
    rule: 'unsafe',
    invoke: (c, o) => c.deleteRoom('a', o),
    ok: () => jsonResponse({}),
  },
  {
    name: 'updateRoomMetadata',
    rule: 'idempotent',
    invoke: (c, o) => c.updateRoomMetadata('a', 'md', o),
    ok: () => jsonResponse(roomJson('a')),
  },
  {
    name: 'members',
    rule: 'idempotent',
    invoke: (c, o) => c.members(o),
    ok: () => jsonResponse({ members: [] }),
  },
  {
    name: 'ring',
    rule: 'idempotent',
    invoke: (c, o) => c.ring('eu', o),
    ok: () => jsonResponse({ checksum: 'c', agree: true, regions: [] }),
  },
  {
    name: 'owner',
    rule: 'idempotent',
    invoke: (c, o) => c.owner('a', o),
    ok: () => jsonResponse({ name: 'a', exists: false, partners: [] }),
  },
  {
    name: 'status',
    rule: 'idempotent',
    invoke: (c, o) => c.status(o),
    ok: () => jsonResponse({ nodeId: 'n1' }),
  },
  {
    name: 'rooms',
    rule: 'idempotent',
    invoke: (c, o) => c.rooms({}, o),
    ok: () => jsonResponse({ rooms: [] }),
  },
  {
    name: 'reportStats',
    rule: 'idempotent',
    invoke: (c, o) => c.reportStats('a', { numParticipants: 2, numPublishers: 1 }, o),
    ok: () => jsonResponse(adminRoom),
  },
];

/** Fails the first `failures` requests with `fail`, then answers `ok`. */
function failThenOk(failures: number, fail: () => Response | Error, ok: () => Response) {
  return (_req: unknown, i: number): Response => {
    if (i >= failures) return ok();
    const f = fail();
    if (f instanceof Error) throw f;
    return f;
  };
}

const NEVER_RETRIED: { label: string; fail: () => Response; code: string; status: number }[] = [
  {
    label: '401 plain text (bad token)',
    fail: () =>
      new Response('invalid token: signature mismatch', {
        status: 401,
        headers: { 'content-type': 'text/plain' },
      }),
    code: 'unauthenticated',
    status: 401,
  },
  {
    label: '401 permissions denied',
    fail: () => twirpError(401, 'unauthenticated', 'permissions denied'),
    code: 'unauthenticated',
    status: 401,
  },
  {
    label: '403 permission_denied',
    fail: () => twirpError(403, 'permission_denied'),
    code: 'permission_denied',
    status: 403,
  },
  {
    label: '400 invalid_argument',
    fail: () => twirpError(400, 'invalid_argument', 'name too long'),
    code: 'invalid_argument',
    status: 400,
  },
  {
    label: '400 malformed',
    fail: () => twirpError(400, 'malformed'),
    code: 'malformed',
    status: 400,
  },
  {
    label: '404 not_found',
    fail: () => twirpError(404, 'not_found', 'requested room does not exist'),
    code: 'not_found',
    status: 404,
  },
  {
    label: '404 bad_route',
    fail: () => twirpError(404, 'bad_route'),
    code: 'bad_route',
    status: 404,
  },
  {
    label: '412 failed_precondition',
    fail: () => twirpError(412, 'failed_precondition'),
    code: 'failed_precondition',
    status: 412,
  },
  { label: '500 internal', fail: () => twirpError(500, 'internal'), code: 'internal', status: 500 },
  {
    label: '501 unimplemented',
    fail: () => twirpError(501, 'unimplemented'),
    code: 'unimplemented',
    status: 501,
  },
];

describe('retries per method (README idempotency table)', () => {
  for (const m of METHODS) {
    it(`${m.name}: 503 unavailable is ${m.rule === 'unsafe' ? 'NOT retried' : 'retried up to maxAttempts'}`, async () => {
      const { sched, server, client } = makeClient(() => twirpError(503, 'unavailable'), {
        retry: { budgetEnabled: false },
      });
      const err = await driveError(sched, m.invoke(client));
      expect(err).toBeInstanceOf(RoomringApiError);
      expect((err as RoomringApiError).status).toBe(503);
      if (m.rule === 'unsafe') {
        expect(server.requests).toHaveLength(1);
        expect((err as RoomringApiError).retryStop).toBe('unsafe-method');
      } else {
        expect(server.requests).toHaveLength(4);
        expect((err as RoomringApiError).retryStop).toBe('max-attempts');
      }
    });

    it(`${m.name}: a connection reset (request may have been read) is ${m.rule === 'unsafe' ? 'NOT ' : ''}retried`, async () => {
      const { sched, server, client } = makeClient(
        failThenOk(1, () => networkFailure('ECONNRESET'), m.ok),
      );
      const outcome = await sched.drive(m.invoke(client)).then(
        () => 'ok',
        (e: unknown) => e,
      );
      if (m.rule === 'unsafe') {
        expect(outcome).toBeInstanceOf(RoomringNetworkError);
        expect((outcome as RoomringNetworkError).beforeSend).toBe(false);
        expect((outcome as RoomringNetworkError).systemCode).toBe('ECONNRESET');
        expect(server.requests).toHaveLength(1);
      } else {
        expect(outcome).toBe('ok');
        expect(server.requests).toHaveLength(2);
      }
    });

    it(`${m.name}: a refused connection (nothing sent) is retried`, async () => {
      const { sched, server, client } = makeClient(
        failThenOk(2, () => networkFailure('ECONNREFUSED'), m.ok),
      );
      await sched.drive(m.invoke(client));
      expect(server.requests).toHaveLength(3);
      expect(client.counters().errorsByCode.get('network')).toBe(2);
    });

    for (const c of NEVER_RETRIED) {
      it(`${m.name}: ${c.label} is never retried`, async () => {
        const { sched, server, client } = makeClient(failThenOk(1, c.fail, m.ok), {
          retry: { budgetEnabled: false },
        });
        const err = await driveError(sched, m.invoke(client));
        expect(err).toBeInstanceOf(RoomringApiError);
        expect((err as RoomringApiError).code).toBe(c.code);
        expect((err as RoomringApiError).status).toBe(c.status);
        expect((err as RoomringApiError).retryStop).toBe('not-retryable');
        expect((err as RoomringApiError).attempts).toBe(1);
        expect(server.requests).toHaveLength(1);
      });
    }
  }

  it('deleteRoom is retried after 429 resource_exhausted (shed before any work)', async () => {
    const { sched, server, client } = makeClient(
      failThenOk(
        1,
        () => twirpError(429, 'resource_exhausted', 'queue full', { 'retry-after': '1' }),
        () => jsonResponse({}),
      ),
    );
    await expect(sched.drive(client.deleteRoom('a'))).resolves.toBeUndefined();
    expect(server.requests).toHaveLength(2);
    expect(server.gapsMs()[0]).toBeGreaterThanOrEqual(1_000);
  });

  it('deleteRoom after a DNS failure (nothing sent) is retried', async () => {
    const { sched, server, client } = makeClient(
      failThenOk(
        1,
        () => networkFailure('ENOTFOUND'),
        () => jsonResponse({}),
      ),
    );
    await sched.drive(client.deleteRoom('a'));
    expect(server.requests).toHaveLength(2);
  });

  it('a proxy 502 without a Twirp body maps to unavailable and is retried', async () => {
    const { sched, server, client } = makeClient(
      failThenOk(
        1,
        () => new Response('<html>Bad Gateway</html>', { status: 502 }),
        () => jsonResponse({ rooms: [] }),
      ),
    );
    await sched.drive(client.listRooms());
    expect(server.requests).toHaveLength(2);
    expect(client.counters().errorsByCode.get('unavailable')).toBe(1);
  });

  it('retry: false makes a single attempt', async () => {
    const { sched, server, client } = makeClient(() => twirpError(503, 'unavailable'));
    const err = await driveError(sched, client.createRoom({ name: 'a' }, { retry: false }));
    expect((err as RoomringError).retryStop).toBe('disabled');
    expect(server.requests).toHaveLength(1);
  });

  it('counts calls, attempts, retries, outcomes and per-code errors', async () => {
    const { sched, client } = makeClient((req, i) => {
      if (req.body?.includes('"bad"')) return twirpError(400, 'invalid_argument');
      return i < 2 ? twirpError(503, 'unavailable') : jsonResponse(roomJson('a'));
    });
    await sched.drive(client.createRoom({ name: 'a' }));
    await driveError(sched, client.createRoom({ name: 'bad' }));
    const c = client.counters();
    expect(c).toMatchObject({
      calls: 2,
      attempts: 4,
      retries: 2,
      succeeded: 1,
      failed: 1,
      budgetExhausted: 0,
    });
    expect([...c.errorsByCode].sort()).toEqual([
      ['invalid_argument', 1],
      ['unavailable', 2],
    ]);
  });

  it('the README idempotency table says what the code does (a doc-drift check)', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('### Idempotency per method'));
    const rows = table.split('\n').filter((line) => line.startsWith('| `'));
    for (const m of METHODS) {
      const row = rows.find((r) => r.split('|')[1]!.includes(`\`${m.name}\``));
      expect(row, `README row for ${m.name}`).toBeDefined();
      const retried = row!.split('|')[3]!.trim();
      expect(retried.startsWith(m.rule === 'unsafe' ? 'only' : 'yes')).toBe(true);
    }
    for (const name of [
      'RoomringApiError',
      'RoomringNetworkError',
      'RoomringDeadlineExceededError',
      'RoomringCanceledError',
      'RoomringResponseError',
    ]) {
      expect(readme).toContain(`\`${name}\``);
    }
  });
});

describe('retries follow the one error table (@roomring/api-errors)', () => {
  const createRoom = METHODS.find((m) => m.name === 'createRoom')!;
  const deleteRoom = METHODS.find((m) => m.name === 'deleteRoom')!;

  for (const row of Object.values(ERROR_TABLE)) {
    for (const m of [createRoom, deleteRoom]) {
      const retried =
        row.clientRetry === 'all-calls' ||
        (row.clientRetry === 'idempotent-calls' && m.rule === 'idempotent');
      it(`${m.name}: ${row.httpStatus} ${row.twirpCode} is ${retried ? '' : 'NOT '}retried`, async () => {
        const headers: Record<string, string> = row.retryAfter ? { 'retry-after': '1' } : {};
        const { sched, server, client } = makeClient(
          failThenOk(
            1,
            () => twirpError(row.httpStatus, row.twirpCode, 'node error', headers),
            m.ok,
          ),
          { retry: { budgetEnabled: false } },
        );
        const outcome = await sched.drive(m.invoke(client)).then(
          () => 'ok',
          (e: unknown) => e,
        );
        if (retried) {
          expect(outcome).toBe('ok');
          expect(server.requests).toHaveLength(2);
          // A Retry-After is a floor for the wait.
          if (row.retryAfter) expect(server.gapsMs()[0]).toBeGreaterThanOrEqual(1_000);
        } else {
          expect(outcome).toBeInstanceOf(RoomringApiError);
          expect((outcome as RoomringApiError).code).toBe(row.twirpCode);
          expect((outcome as RoomringApiError).retryStop).toBe(
            row.clientRetry === 'never' ? 'not-retryable' : 'unsafe-method',
          );
          expect(server.requests).toHaveLength(1);
        }
      });
    }
  }
});
