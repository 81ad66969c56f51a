/**
 * The dashboard in a real browser (chromium via playwright-core) against a real cluster:
 * three server processes on 127.0.0.1, one per region, as `pnpm start` runs them (--dev, the
 * local profile). Every wait is on the page's DOM or the API, never a fixed sleep.
 */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WhatIfPlan } from '@roomring/whatif';
import { RoomServiceClient } from 'livekit-server-sdk';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  type ServerProcess,
  startServer,
  stopServers,
} from '../helpers/server-process.js';
import { handToken, nowS } from '../helpers/tokens.js';
import { launchChromium, openPage, screenshot, type WatchedPage } from './browser.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const CLI_MAIN = join(REPO_ROOT, 'apps', 'cli', 'src', 'main.ts');
const DEV_KEY = 'devkey';
const DEV_SECRET = 'secret';
const ROOMS = 30;
/** The bound for a new room to reach the table and the event stream. */
const ROOM_VISIBLE_MS = 2_000;
/** Suspect after ~1.5 s of silence and dead ~3 s later (local profile); margin for 2 busy
 *  cores. */
const MEMBER_STATE_MS = 20_000;

let servers: ServerProcess[] = [];
const spawned: ServerProcess[] = [];
let browser: Browser | undefined;
const pages: WatchedPage[] = [];
let url = '';

function serverArgs(nodeId: string, region: string, seeds: string[] = []): string[] {
  return [
    '--dev',
    '--region',
    region,
    '--node-id',
    nodeId,
    '--http-host',
    '127.0.0.1',
    '--http-port',
    '0',
    '--p2p-host',
    '127.0.0.1',
    '--p2p-port',
    '0',
    // As `pnpm start` runs a cluster: a write is acknowledged once another node holds it.
    '--min-acks',
    '1',
    '--profile',
    'local',
    '--log-level',
    'warn',
    ...(seeds.length > 0 ? ['--seeds', seeds.join(',')] : []),
  ];
}

async function alivePeers(s: ServerProcess, token: string): Promise<number> {
  const res = await fetch(`${s.url}/v1/members`, { headers: { authorization: `Bearer ${token}` } });
  const { members } = (await res.json()) as { members: { state: string }[] };
  return members.filter((m) => m.state === 'alive').length;
}

const readToken = () =>
  handToken({ iss: DEV_KEY, exp: nowS() + 600, video: { roomList: true } }, DEV_SECRET);

beforeAll(async () => {
  // First, so a machine without chromium fails at once, saying how to install it.
  browser = await launchChromium();
  const track = (p: ServerProcess) => {
    spawned.push(p);
    return p;
  };
  // The seed first (its cluster port is only known once it listens), then the other two.
  const first = track(await startServer(serverArgs('use-1', 'us-east')));
  const seeds = [first.p2pAddress];
  const rest = await Promise.all([
    startServer(serverArgs('usw-1', 'us-west', seeds)).then(track),
    startServer(serverArgs('euc-1', 'eu-central', seeds)).then(track),
  ]);
  servers = [first, ...rest];
  url = first.url;
  await eventually(
    async () => {
      for (const s of servers) {
        if ((await fetch(`${s.url}/readyz`)).status !== 200) return false;
        if ((await alivePeers(s, readToken())) !== 3) return false;
      }
      return true;
    },
    30_000,
    'three ready nodes that see each other',
  );
  // Rooms homed in every region, created at every node.
  await Promise.all(
    Array.from({ length: ROOMS }, (_, i) =>
      new RoomServiceClient(servers[i % 3]!.url, DEV_KEY, DEV_SECRET).createRoom({
        name: `room-${i}`,
      }),
    ),
  );
  await eventually(
    async () => {
      for (const s of servers) {
        const res = await fetch(`${s.url}/v1/status`, {
          headers: { authorization: `Bearer ${readToken()}` },
        });
        if (((await res.json()) as { rooms: number }).rooms !== ROOMS) return false;
      }
      return true;
    },
    15_000,
    'every node holding every room',
  );
}, 120_000);

/** Closing chromium gets this long; the servers are stopped first either way. */
const BROWSER_CLOSE_MS = 10_000;

// A worker that dies (a hook timed out, vitest was interrupted) must not leave its servers
// running: SIGKILL them as the process exits (kill is synchronous).
const killSpawned = (): void => {
  for (const s of spawned) if (s.child.exitCode === null) s.child.kill('SIGKILL');
};
process.once('exit', killSpawned);

afterAll(async () => {
  await stopServers(spawned);
  process.off('exit', killSpawned);
  const closing = (async () => {
    for (const p of pages) await p.context.close().catch(() => undefined);
    await browser?.close();
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    closing,
    new Promise((resolve) => {
      timer = setTimeout(resolve, BROWSER_CLOSE_MS);
    }),
  ]);
  clearTimeout(timer);
});

async function newPage(): Promise<WatchedPage> {
  const watched = await openPage(browser!);
  pages.push(watched);
  return watched;
}

let operator: WatchedPage | undefined;

/** One signed-in page shared by the tests that only look (each test still runs alone). */
async function operatorPage(): Promise<WatchedPage> {
  operator ??= await signIn();
  await openTab(operator.page, 'overview');
  return operator;
}

/** Opens /ui, checks the development key is filled in, signs in, waits for the overview. */
async function signIn(): Promise<WatchedPage> {
  const watched = await newPage();
  const { page } = watched;
  const response = await page.goto(`${url}/ui`);
  expect(response?.status()).toBe(200);
  expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
  // Development mode fills in the public development key and secret.
  await expect.poll(() => page.inputValue('input[name=apiKey]')).toBe(DEV_KEY);
  expect(await page.inputValue('input[name=secret]')).toBe(DEV_SECRET);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-testid=members] tbody tr');
  return watched;
}

/** The few DOM names the page functions below use (this file is type-checked without the
 *  DOM library, and string expressions would need the 'unsafe-eval' the page's CSP refuses). */
interface PageGlobals {
  document: { querySelectorAll(selector: string): { length: number }; cookie: string };
  localStorage: { length: number };
  sessionStorage: { length: number };
}

/** Waits until `selector` matches exactly `count` elements. */
async function waitForCount(page: Page, selector: string, count: number, timeout?: number) {
  await page.waitForFunction(
    ([sel, n]) =>
      (globalThis as unknown as PageGlobals).document.querySelectorAll(sel as string).length === n,
    [selector, count] as const,
    timeout === undefined ? {} : { timeout },
  );
}

async function openTab(page: Page, tab: string): Promise<void> {
  await page.click(`[data-tab=${tab}]`);
  await page.waitForSelector(`[data-view=${tab}]`);
}

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(
      process.execPath,
      ['--conditions=@roomring/source', '--import', 'tsx', CLI_MAIN, ...args],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          NO_COLOR: '1',
          ROOMRING_URL: url,
          ROOMRING_API_KEY: DEV_KEY,
          ROOMRING_API_SECRET: DEV_SECRET,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('the dashboard against a 3-node cluster', { timeout: 60_000 }, () => {
  it('loads with no console error, shows 3 alive members, and every view runs clean', async () => {
    const { page, errors } = await operatorPage();
    await waitForCount(page, '[data-testid=members] tr[data-state=alive]', 3);
    expect(await page.textContent('[data-testid=node-id]')).toBe('use-1');
    await page.waitForSelector(`[data-testid=count-rooms]:text-is("${ROOMS}")`);
    await page.waitForSelector('[data-testid=ring-agreement] .ok');
    expect(await page.textContent('[data-testid=admission-queued]')).toBe('0');
    const regions = await page.$$eval('[data-testid=regions] tbody tr', (rows) =>
      rows.map((r) => r.getAttribute('data-region')),
    );
    expect(regions).toEqual(['eu-central', 'us-east', 'us-west']);
    await screenshot(page, 'overview');

    await openTab(page, 'ring');
    await waitForCount(page, 'section.ring[data-region] path[data-arc=expected]', 3);
    await screenshot(page, 'ring');
    await openTab(page, 'rooms');
    await page.waitForSelector('[data-testid=rooms] tbody tr[data-room]');
    await openTab(page, 'events');
    await page.waitForSelector('[data-testid=stream-status].stream-open');
    await openTab(page, 'charts');
    await waitForCount(page, '[data-chart] canvas', 3);
    await screenshot(page, 'charts');

    // The credentials live in the page's memory only.
    expect(
      await page.evaluate(() => {
        const g = globalThis as unknown as PageGlobals;
        return [g.localStorage.length, g.sessionStorage.length, g.document.cookie];
      }),
    ).toEqual([0, 0, '']);
    expect(errors).toEqual([]);
  });

  it('shows a room created through the API in the table and the event stream within 2 s', async () => {
    // A page of its own: this test pauses and filters the event list.
    const { page, errors } = await signIn();
    await openTab(page, 'rooms');
    await page.waitForSelector('[data-testid=rooms] tbody tr[data-room]');
    const name = `browser-${Date.now().toString(36)}`;
    // Created at another node: it reaches this page's node by gossip.
    await new RoomServiceClient(servers[2]!.url, DEV_KEY, DEV_SECRET).createRoom({ name });
    const createdAtMs = Date.now();
    // The table reloads on the room's event; ~32 rooms fit on its first page.
    await page.waitForSelector(`[data-testid=rooms] tr[data-room="${name}"]`, {
      timeout: createdAtMs + ROOM_VISIBLE_MS - Date.now(),
    });
    // The search runs on the node and narrows the table to the one room.
    await page.fill('[data-testid=room-search]', name);
    await waitForCount(page, '[data-testid=rooms] tbody tr', 1);
    await page.click(`[data-testid=rooms] tr[data-room="${name}"] button`);
    await page.waitForSelector('[data-testid=owner]:text-is("euc-1")');
    await screenshot(page, 'rooms');

    await openTab(page, 'events');
    const item = page.locator(
      `[data-testid=events] li[data-type=room-created][data-subject="${name}"]`,
    );
    await item.waitFor();
    const receivedAtMs = Number(await item.getAttribute('data-received-at'));
    expect(receivedAtMs - createdAtMs).toBeLessThanOrEqual(ROOM_VISIBLE_MS);

    // Pause holds the list still while events keep arriving; the filter narrows it.
    await page.click('[data-testid=events-pause]');
    const later = `${name}-later`;
    // Homed in us-west: this page's node gets its room-created event and nothing else.
    await new RoomServiceClient(servers[1]!.url, DEV_KEY, DEV_SECRET).createRoom({ name: later });
    await page.waitForSelector('[data-testid=events-pause]:has-text("Resume (1 new)")');
    expect(await page.locator(`li[data-subject="${later}"]`).count()).toBe(0);
    await page.click('[data-testid=events-pause]');
    await page.waitForSelector(`li[data-subject="${later}"]`);
    await page.fill('[data-testid=events-filter]', later);
    await waitForCount(page, `[data-testid=events] li:not([data-subject="${later}"])`, 0);
    expect(await page.getAttribute('[data-testid=events] li', 'data-type')).toBe('room-created');
    await screenshot(page, 'events-filtered');
    await page.selectOption('[data-testid=events-kind]', 'members');
    await waitForCount(page, '[data-testid=events] li', 0);
    expect(errors).toEqual([]);
  });

  it('plans a membership change with the same numbers as roomring whatif', async () => {
    const { page, errors } = await operatorPage();
    await openTab(page, 'rooms');
    await page.check('input[name=remove][value=usw-1]');
    await page.fill('input[name=add]', 'use-2@us-east:2');
    await page.click('[data-testid=whatif] button[type=submit]');
    await page.waitForSelector('[data-testid=whatif-result]');
    const cli = await runCli(['whatif', '--remove', 'usw-1', '--add', 'use-2@us-east:2', '--json']);
    expect(cli.code, cli.stderr).toBe(0);
    const plan = JSON.parse(cli.stdout) as WhatIfPlan;
    expect(plan.ringChecksum.match).toBe(true);
    expect(plan.movedCount).toBeGreaterThan(0);
    const number = async (id: string) =>
      Number((await page.textContent(`[data-testid=${id}]`))!.replace(/,/g, ''));
    expect(await number('whatif-moved')).toBe(plan.movedCount);
    expect(await number('whatif-total')).toBe(plan.roomCount);
    const pairs = await page.$$eval('[data-testid=whatif-pairs] tbody tr', (rows) =>
      rows.map((r) => ({
        from: r.getAttribute('data-from'),
        to: r.getAttribute('data-to'),
        count: Number(r.getAttribute('data-count')),
      })),
    );
    const orNone = (id: string | null) => id ?? '(no owner)';
    expect(pairs).toEqual(
      plan.pairs.map((p) => ({ ...p, from: orNone(p.from), to: orNone(p.to) })),
    );
    const nodes = await page.$$eval('[data-testid=whatif-nodes] tbody tr', (rows) =>
      rows.map((r) => ({
        nodeId: r.getAttribute('data-node'),
        ownedBefore: Number(r.getAttribute('data-before')),
        ownedAfter: Number(r.getAttribute('data-after')),
        lost: Number(r.getAttribute('data-lost')),
        gained: Number(r.getAttribute('data-gained')),
      })),
    );
    expect(nodes).toEqual(plan.nodes);
    await screenshot(page, 'whatif');
    expect(errors).toEqual([]);
  });

  it('says clearly when the secret is wrong, or a token lacks the grant', async () => {
    const { page } = await newPage();
    await page.goto(`${url}/ui`);
    await page.waitForSelector('input[name=secret]');
    await page.fill('input[name=secret]', 'not-the-secret');
    await page.click('button[type=submit]');
    const error = page.locator('[data-testid=login-error]');
    await error.waitFor();
    expect(await error.textContent()).toBe(
      'The node refused the credentials: invalid token: signature is invalid. Check the API key and secret, or the token.',
    );
    expect(await page.locator('[data-testid=members]').count()).toBe(0);
    await screenshot(page, 'wrong-secret');

    // A valid token gets exactly its grants: without roomList the API says no.
    await page.click('button[role=tab]:has-text("Token")');
    const createOnly = handToken(
      { iss: DEV_KEY, exp: nowS() + 600, video: { roomCreate: true } },
      DEV_SECRET,
    );
    await page.fill('textarea[name=token]', createOnly);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=login-error]:has-text("needs the roomList grant")');
    await page.fill('textarea[name=token]', 'not a token');
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=login-error]:has-text("not a JWT")');
  });

  it('shows a node killed with SIGKILL as suspect, then dead', async () => {
    const { page, errors } = await operatorPage();
    await waitForCount(page, '[data-testid=members] tr[data-state=alive]', 3);
    const victim = '[data-testid=members] tr[data-node=euc-1]';
    // A killed node is suspected when its connection drops and declared dead as soon as the
    // probe dial is refused, milliseconds later: faster than any poll, so the page shows the
    // transitions the event stream reported. Waiting starts before the kill.
    const suspected = page.waitForSelector(`${victim} [data-transition=suspect]`, {
      timeout: MEMBER_STATE_MS,
    });
    servers[2]!.child.kill('SIGKILL');
    await suspected;
    await page.waitForSelector(`${victim}[data-state=dead] [data-transition=dead]`, {
      timeout: MEMBER_STATE_MS,
    });
    const trail = await page.$$eval(`${victim} [data-transition]`, (spans) =>
      spans.map((span) => span.getAttribute('data-transition')),
    );
    expect(trail.slice(-2)).toEqual(['suspect', 'dead']);
    await page.waitForSelector(
      '[data-testid=regions] tr[data-region=eu-central] td:nth-child(4):text-is("1")',
    );
    await screenshot(page, 'member-dead');
    await openTab(page, 'events');
    await page.waitForSelector(
      '[data-testid=events] li[data-type=member-suspect][data-subject=euc-1]',
    );
    await page.waitForSelector(
      '[data-testid=events] li[data-type=member-dead][data-subject=euc-1]',
    );
    await screenshot(page, 'events');
    expect(errors).toEqual([]);
  });
});
