/**
 * What the dashboard reads besides the older admin API: `/v1/series`, `/v1/whatif` (the
 * shared planner, compared with the CLI's way of calling it), `/v1/rooms?q=`, and the page
 * itself under `/ui` with its headers. app.inject() on a real single node.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planWhatIf, type WhatIfPlan } from '@roomring/whatif';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ASSET_CACHE_CONTROL,
  DASHBOARD_CSP,
  INDEX_CACHE_CONTROL,
  loadDashboard,
} from '../src/dashboard.js';
import type { WhatIfAnswer } from '../ui/src/api-types.js';
import { startTestServer, type TestServer } from './helpers/single-node.js';
import { sdkToken } from './helpers/tokens.js';

const ROOMS = 60;
let s: TestServer;
let reader: string;
let creator: string;
let uiDir: string;

beforeAll(async () => {
  uiDir = mkdtempSync(join(tmpdir(), 'roomring-ui-'));
  mkdirSync(join(uiDir, 'assets'));
  writeFileSync(join(uiDir, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(uiDir, 'assets', 'app-ABC123.js'), 'console.log(1)');
  writeFileSync(join(uiDir, 'assets', 'style-DEF456.css'), 'body{}');
  s = await startTestServer({ dev: true }, {}, { dashboardDir: uiDir });
  reader = await sdkToken({ roomList: true });
  creator = await sdkToken({ roomCreate: true });
  for (let i = 0; i < ROOMS; i++) await s.node.createRoom({ name: `room-${i}` });
  await s.node.createRoom({ name: 'pinned-here', pinnedNode: 'test-1' });
});
afterAll(async () => {
  await s?.close();
  rmSync(uiDir, { recursive: true, force: true });
});

/** GET with the reader token, another token, or none (null). */
async function get(url: string, token: string | null = reader) {
  return s.app.inject({
    method: 'GET',
    url,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
}

describe('/v1/series', () => {
  it('needs a token with roomList, like every /v1 read', async () => {
    expect((await get('/v1/series', null)).statusCode).toBe(401);
    const denied = await get('/v1/series', creator);
    expect(denied.statusCode).toBe(401);
    expect(denied.json()).toMatchObject({ code: 'unauthenticated', msg: 'permissions denied' });
  });

  it('answers the interval, the bound, the convergence and the points', async () => {
    const res = await get('/v1/series');
    expect(res.statusCode).toBe(200);
    const view = res.json() as Record<string, unknown>;
    expect(view).toMatchObject({
      intervalMs: 2_000,
      pointsMax: 150,
      convergence: { converged: true, divergedSinceMs: null, lagMs: 0 },
    });
    expect(Array.isArray(view.points)).toBe(true);
  });
});

describe('/v1/whatif', () => {
  it('plans with the shared planner: the same numbers as the CLI gets from /v1/members and /v1/rooms', async () => {
    const members = (await get('/v1/members')).json() as { members: never[] };
    const rooms = (await get('/v1/rooms?limit=10000')).json() as { rooms: never[] };
    for (const query of ['add=test-2@us-east', 'add=test-2@us-east:3&add=test-3@us-east']) {
      const res = await get(`/v1/whatif?${query}&sample=1000`);
      expect(res.statusCode, res.body).toBe(200);
      const served = res.json() as WhatIfAnswer;
      // The type the page reads must hold the planner's answer (a compile-time check).
      const { roomsComplete, ...plan } = served satisfies WhatIfPlan & { roomsComplete: boolean };
      expect(roomsComplete).toBe(true);
      const adds = new URLSearchParams(query).getAll('add');
      const { parseAddSpec } = await import('@roomring/whatif');
      const cli = planWhatIf(
        members.members,
        rooms.rooms,
        { remove: [], add: adds.map(parseAddSpec) },
        1_000,
      );
      expect(plan.ringChecksum.match).toBe(true);
      expect(plan.roomCount).toBe(ROOMS + 1);
      expect(plan.movedCount).toBeGreaterThan(0);
      // The pin is known here: the room pinned to test-1 never moves. The CLI infers pins
      // and cannot see a pin to the ring owner itself (documented), so compare the rest.
      expect(plan.sample.map((m) => m.name)).not.toContain('pinned-here');
      const cliMoved = cli.sample.filter((m) => m.name !== 'pinned-here');
      expect(plan.sample).toEqual(cliMoved);
      expect(plan.movedCount).toBe(cliMoved.length);
    }
  });

  it('removing the only member leaves every room without an owner', async () => {
    const plan = (await get('/v1/whatif?remove=test-1&sample=0')).json() as WhatIfAnswer;
    expect(plan.movedCount).toBe(ROOMS + 1);
    expect(plan.pairs).toEqual([{ from: 'test-1', to: null, count: ROOMS + 1 }]);
    expect(plan.nodes).toEqual([
      { nodeId: 'test-1', ownedBefore: ROOMS + 1, ownedAfter: 0, lost: ROOMS + 1, gained: 0 },
    ]);
    expect(plan.sample).toEqual([]);
  });

  it('refuses changes that do not fit, naming the argument', async () => {
    const cases: [string, string, RegExp][] = [
      ['/v1/whatif', 'remove', /give remove=NODE/],
      ['/v1/whatif?remove=nobody', 'remove', /"nobody" is not on the ring/],
      ['/v1/whatif?add=test-1@us-east', 'add', /already on the ring/],
      ['/v1/whatif?add=no-region', 'add', /expected NODE@REGION/],
      ['/v1/whatif?add=x@us-east:0', 'add', /weight must be/],
      ['/v1/whatif?remove=test-1&sample=1001', 'sample', /sample must be 0..1000/],
      ['/v1/whatif?remove=test-1&sample=x', 'sample', /sample must be/],
      [`/v1/whatif?${'remove=a&'.repeat(65)}`, 'remove', /at most 64/],
      [`/v1/whatif?remove=${'x'.repeat(257)}`, 'remove', /1..256 characters/],
    ];
    for (const [url, argument, message] of cases) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(400);
      const body = res.json() as { code: string; msg: string; meta: { argument: string } };
      expect(body.code, url).toBe('invalid_argument');
      expect(body.meta.argument, url).toBe(argument);
      expect(body.msg, url).toMatch(message);
    }
    expect((await get('/v1/whatif?remove=test-1', creator)).statusCode).toBe(401);
  });
});

describe('/v1/rooms?q=', () => {
  it('finds rooms by part of the name or the start of the sid, case-sensitively', async () => {
    const names = async (q: string, extra = '') => {
      const res = await get(`/v1/rooms?q=${encodeURIComponent(q)}${extra}`);
      expect(res.statusCode).toBe(200);
      return ((res.json() as { rooms: { name: string }[] }).rooms ?? []).map((r) => r.name).sort();
    };
    expect(await names('room-5')).toEqual([
      'room-5',
      'room-50',
      'room-51',
      'room-52',
      'room-53',
      'room-54',
      'room-55',
      'room-56',
      'room-57',
      'room-58',
      'room-59',
    ]);
    expect(await names('ROOM-5')).toEqual([]);
    expect(await names('room-5', '&limit=3')).toHaveLength(3);
    expect(await names('pinned')).toEqual(['pinned-here']);
    const sid = s.node.getRoom('room-7')!.sid;
    expect(await names(sid.slice(0, 10))).toContain('room-7');
    const long = await get(`/v1/rooms?q=${'x'.repeat(257)}`);
    expect(long.statusCode).toBe(400);
    expect(long.json()).toMatchObject({ meta: { argument: 'q' } });
  });
});

describe('/ui', () => {
  it('sends /ui on to /ui/, relative to where it is served', async () => {
    const res = await get('/ui', null);
    expect(res.statusCode).toBe(308);
    expect(res.headers.location).toBe('ui/');
  });

  it('serves the page without a token, with a CSP, no-cache and an ETag', async () => {
    const res = await get('/ui/', null);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('<title>t</title>');
    expect(res.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    expect(res.headers['cache-control']).toBe(INDEX_CACHE_CONTROL);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    const etag = res.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]{22}"$/);
    const again = await s.app.inject({ url: '/ui/', headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('serves hashed assets as immutable, and nothing else', async () => {
    const js = await get('/ui/assets/app-ABC123.js', null);
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe(ASSET_CACHE_CONTROL);
    expect(js.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    const css = await get('/ui/assets/style-DEF456.css', null);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    for (const path of [
      '/ui/assets/missing.js',
      '/ui/assets/..%2Findex.html',
      '/ui/assets/__proto__',
      '/ui/index.html',
    ]) {
      expect((await get(path, null)).statusCode, path).toBe(404);
    }
  });

  it('tells the page whether to fill in the development credentials', async () => {
    const res = await get('/ui/config.json', null);
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    // --dev, but with the test keys, not devkey/secret: nothing to fill in.
    expect(res.json()).toEqual({ dev: true, devCredentials: false });
    const dev = await startTestServer(
      { dev: true, keys: new Map([['devkey', 'secret']]) },
      {},
      { dashboardDir: uiDir },
    );
    try {
      const config = await dev.app.inject({ url: '/ui/config.json' });
      expect(config.json()).toEqual({ dev: true, devCredentials: true });
      // The page knows the public development secret; the node never sends one.
      expect(config.body).not.toContain('secret');
    } finally {
      await dev.close();
    }
  });

  it('says how to build the page when it is not built', async () => {
    expect(loadDashboard(join(uiDir, 'nowhere'))).toBeUndefined();
    const bare = await startTestServer(
      { dev: false },
      {},
      { dashboardDir: join(uiDir, 'nowhere') },
    );
    try {
      const res = await bare.app.inject({ url: '/ui/' });
      expect(res.statusCode).toBe(404);
      expect(res.body).toContain('pnpm@12.4.2 build');
      const config = await bare.app.inject({ url: '/ui/config.json' });
      expect(config.json()).toEqual({ dev: false, devCredentials: false });
    } finally {
      await bare.close();
    }
  });
});
