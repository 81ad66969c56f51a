import {
  RoomringApiError,
  RoomringDeadlineExceededError,
  RoomringNetworkError,
} from '@roomring/client';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { intInRange, roomName } from '../src/args.js';
import { checkNodeUrl, resolveCliInit } from '../src/cli-context.js';
import {
  CommandFailedError,
  describeFailure,
  EXIT_FAILURE,
  EXIT_USAGE,
  exitCodeOf,
  UsageError,
} from '../src/cli-errors.js';
import { membersJson, renderMembers } from '../src/commands/members.js';
import { ownerJson, renderOwner } from '../src/commands/owner.js';
import { renderRooms, roomsJson } from '../src/commands/rooms.js';
import { renderStatus, SETTLE_POLL_MS, settleDigests, statusJson } from '../src/commands/status.js';
import { eventsUrl, formatEvent } from '../src/commands/watch.js';
import { renderWhatIf, type WhatIfJson } from '../src/commands/whatif.js';
import { createStyle } from '../src/render/style.js';
import { hasControl, member, room } from './fixtures.js';

const style = createStyle(false);
const URL_A = 'http://127.0.0.1:7880';

const header = (text: string, line = 0): string[] => text.split('\n')[line]!.split(/\s{2,}/);

describe('members', () => {
  it('lists every member with the key columns and ages', () => {
    const view = membersJson(
      URL_A,
      [
        member('eu-1', 'eu', { self: true, lastHeardMs: 10_000 }),
        member('us-1', 'us', { state: 'suspect', lastHeardMs: 6_000, roomCount: 7 }),
        member('us-2', 'us', { state: 'dead', lastHeardMs: 0 }),
      ],
      10_000,
    );
    expect(view.members.map((m) => m.lastHeardAgoMs)).toEqual([0, 4_000, null]);
    const text = renderMembers(view, style);
    expect(header(text)).toEqual([
      'NODE',
      'REGION',
      'STATE',
      'INCARNATION',
      'ADDRESS',
      'ROOMS',
      'LAST HEARD',
    ]);
    expect(text).toMatch(/eu-1 \*\s+eu\s+alive/);
    expect(text).toMatch(/us-1\s+us\s+suspect.*\s7\s+4s ago/);
    expect(text).toContain('3 members (1 alive, 1 suspect, 1 dead)');
  });
});

describe('rooms', () => {
  it('shows sid, home, owner, participants and age; escapes names', () => {
    const view = roomsJson(
      URL_A,
      [
        room('standup', 'eu', 'eu-1', { numParticipants: 3, createdAtMs: 1_000 }),
        room('x\u001b[2Jy', 'us', '', { createdAtMs: 61_000 }),
      ],
      2,
      3_600_000 + 1_000,
    );
    expect(view.limitReached).toBe(true);
    const text = renderRooms(view, style);
    expect(header(text)).toEqual(['NAME', 'SID', 'HOME', 'OWNER', 'PARTICIPANTS', 'AGE']);
    expect(text).toMatch(/standup\s+RM_standup\s+eu\s+eu-1\s+3\s+1h00m/);
    expect(text).toContain('x\\u{1b}[2Jy');
    expect(hasControl(text)).toBe(false);
    expect(renderRooms(roomsJson(URL_A, [], 10, 0), style)).toBe('no rooms');
  });
});

describe('owner', () => {
  const answer = (owner: string, exists = true, homeRegion = 'eu') => ({
    name: 'r',
    exists,
    sid: exists ? 'RM_1' : '',
    homeRegion,
    owner,
    partners: ['us-1'],
  });

  it('agrees only when every node names the same sid, home and owner', () => {
    const ok = ownerJson(URL_A, answer('eu-1'), [
      { nodeId: 'eu-1', httpUrl: 'a', value: answer('eu-1') },
      { nodeId: 'us-1', httpUrl: 'b', value: answer('eu-1') },
    ]);
    expect(ok.agree).toBe(true);
    expect(renderOwner(ok, style)).toContain('all 2 nodes agree');
    const split = ownerJson(URL_A, answer('eu-1'), [
      { nodeId: 'eu-1', httpUrl: 'a', value: answer('eu-1') },
      { nodeId: 'us-1', httpUrl: 'b', value: answer('eu-2') },
      { nodeId: 'us-2', httpUrl: 'c', error: new Error('ECONNREFUSED') },
    ]);
    expect(split.agree).toBe(false);
    expect(split.nodes.map((n) => n.agrees)).toEqual([true, false, false]);
    expect(split.nodes[2]).toMatchObject({ owner: null, error: 'ECONNREFUSED' });
    const text = renderOwner(split, style);
    expect(text).toContain('1 of 3 nodes agree');
    expect(text).toContain('no answer: ECONNREFUSED');
  });

  it('compares only "does not exist" for an unknown room (each node names its own region)', () => {
    const view = ownerJson(URL_A, answer('eu-1', false, 'eu'), [
      { nodeId: 'eu-1', httpUrl: 'a', value: answer('eu-1', false, 'eu') },
      { nodeId: 'us-1', httpUrl: 'b', value: answer('us-1', false, 'us') },
    ]);
    expect(view).toMatchObject({ exists: false, sid: null, agree: true });
  });
});

describe('whatif', () => {
  it('shows the totals, the pairs, the per-node table and the sample', () => {
    const view: WhatIfJson = {
      url: URL_A,
      roomsComplete: true,
      change: { remove: ['eu-2'], add: [] },
      ringChecksum: { live: 'aa', computed: 'aa', match: true, after: 'bb' },
      ringMembersBefore: 4,
      ringMembersAfter: 3,
      roomCount: 41,
      movedCount: 23,
      movedFraction: 23 / 41,
      pinnedInferred: 0,
      pairs: [{ from: 'eu-2', to: 'eu-1', count: 23 }],
      nodes: [
        { nodeId: 'eu-1', ownedBefore: 18, ownedAfter: 41, lost: 0, gained: 23 },
        { nodeId: 'eu-2', ownedBefore: 23, ownedAfter: 0, lost: 23, gained: 0 },
      ],
      sample: [{ name: 'room-1', homeRegion: 'eu', from: 'eu-2', to: 'eu-1' }],
    };
    const text = renderWhatIf(view, style);
    expect(text).toContain('what if: remove eu-2');
    expect(text).toContain('rooms: 41, would move: 23 (56.1%)');
    expect(text).toMatch(/FROM\s+TO\s+ROOMS\neu-2\s+eu-1\s+23/);
    expect(text).toMatch(/NODE\s+OWNS NOW\s+OWNS AFTER\s+LOSES\s+GAINS/);
    expect(text).toMatch(/room-1\s+eu\s+eu-2\s+eu-1/);
    expect(text).not.toContain('warning');
    const warned = renderWhatIf(
      {
        ...view,
        roomsComplete: false,
        ringChecksum: { ...view.ringChecksum, live: 'cc', match: false },
      },
      style,
    );
    expect(warned).toContain('live ring checksum is cc');
    expect(warned).toContain('room list is incomplete');
  });
});

describe('status', () => {
  it('marks nodes, agreement and health', () => {
    const members = [
      member('eu-1', 'eu', { self: true }),
      member('us-1', 'us'),
      member('us-2', 'us', { state: 'left' }),
    ];
    const status = (nodeId: string, digest: string) => ({
      nodeId,
      region: 'eu',
      state: 'running',
      ringChecksum: 'c1',
      storeDigest: digest,
      rooms: 5,
      incarnations: 5,
      tombstones: 1,
      ownedRooms: 2,
      members: 3,
      connectedPeers: 1,
      pendingWrites: 0,
      convergence: { peers: 1, sameDigest: 1, converged: true },
      counters: {},
    });
    const ready = new Map([
      ['eu-1', { ready: true, status: 200 }],
      ['us-1', { ready: true, status: 200 }],
    ]);
    const good = statusJson(
      URL_A,
      members,
      [
        { member: members[0]!, value: status('eu-1', 'd1') },
        { member: members[1]!, value: status('us-1', 'd1') },
      ],
      ready,
      0,
      3_000,
    );
    expect(good).toMatchObject({
      healthy: true,
      problems: [],
      digestsAgree: true,
      ringChecksumsAgree: true,
    });
    expect(good.members).toEqual({ alive: 2, suspect: 0, dead: 0, left: 1, total: 3 });
    expect(good.nodes[2]).toMatchObject({ queried: false, healthy: false, ready: null });
    const text = renderStatus(good, style);
    expect(header(text)).toEqual([
      'NODE',
      'REGION',
      'STATE',
      'READY',
      'ROOMS',
      'OWNED',
      'TOMBSTONES',
      'PENDING',
      'SAME DIGEST',
      'DIGEST',
      'RING',
    ]);
    expect(text).toMatch(/digests\s+all 2 nodes agree/);
    expect(text).toMatch(/health\s+ok/);

    const bad = statusJson(
      URL_A,
      members,
      [
        { member: members[0]!, value: status('eu-1', 'd1') },
        { member: members[1]!, error: new Error('refused') },
      ],
      new Map([
        ['eu-1', { ready: true, status: 200 }],
        ['us-1', { ready: false, status: null, error: 'ECONNREFUSED' }],
      ]),
      null,
      3_000,
    );
    expect(bad.healthy).toBe(false);
    expect(bad.nodes[1]).toMatchObject({ healthy: false, error: 'refused' });
    expect(bad.problems).toEqual(['us-1 did not answer (refused)']);
    const badText = renderStatus(bad, style);
    expect(badText).toMatch(/health\s+DEGRADED: us-1 did not answer \(refused\)/);
    expect(badText).toContain('not converged within 3s');

    // Every node that answers is fine, but a member is dead: not healthy, and it says why.
    const withDead = [...members.slice(0, 2), member('us-2', 'us', { state: 'dead' })];
    const degraded = statusJson(
      URL_A,
      withDead,
      [
        { member: withDead[0]!, value: status('eu-1', 'd1') },
        { member: withDead[1]!, value: status('us-1', 'd1') },
      ],
      ready,
      0,
      3_000,
    );
    expect(degraded).toMatchObject({ healthy: false, problems: ['us-2 is dead'] });
    expect(renderStatus(degraded, style)).toMatch(/health\s+DEGRADED: us-2 is dead/);
    // A node that answers but is not ready names its own reason.
    const resyncing = statusJson(
      URL_A,
      members,
      [
        { member: members[0]!, value: status('eu-1', 'd1') },
        { member: members[1]!, value: status('us-1', 'd1') },
      ],
      new Map([
        ['eu-1', { ready: true, status: 200, reason: 'serving' }],
        ['us-1', { ready: false, status: 503, reason: 'resyncing' }],
      ]),
      0,
      3_000,
    );
    expect(resyncing.problems).toEqual(['us-1 is not ready (resyncing)']);
  });
});

describe('watch lines', () => {
  it('formats each event kind on one escaped line', () => {
    const at = Date.UTC(2025, 0, 1, 12, 0, 1, 234);
    const lines = [
      formatEvent(
        {
          type: 'room-created',
          at,
          nodeId: 'eu-1',
          origin: 'local',
          room: { name: 'a\nb', sid: 'RM_1', homeRegion: 'eu', owner: 'eu-1', numParticipants: 0 },
        },
        style,
      ),
      formatEvent(
        {
          type: 'member-left',
          at,
          nodeId: 'eu-1',
          member: { nodeId: 'us-1', region: 'us', state: 'left', incarnation: 4 },
        },
        style,
      ),
      formatEvent(
        {
          type: 'room-superseded',
          at,
          nodeId: 'eu-1',
          name: 'r',
          winnerSid: 'RM_w',
          loserSid: 'RM_l',
        },
        style,
      ),
      formatEvent({ type: 'ownership-lost', at, nodeId: 'eu-1', name: 'r', sid: '' }, style),
      formatEvent({ type: 'future-thing', at, nodeId: 'eu-1', x: 1 }, style),
    ];
    expect(lines[0]).toBe(
      '12:00:01.234  eu-1  room-created      a\\u{a}b RM_1 home=eu owner=eu-1 participants=0 origin=local',
    );
    expect(lines[1]).toContain('member-left       us-1 (us) state=left incarnation=4');
    expect(lines[2]).toContain('r winner=RM_w loser=RM_l');
    expect(lines[3]).toMatch(/ownership-lost\s+r$/);
    expect(lines[4]).toContain('{"x":1}');
    for (const line of lines) expect(line).not.toContain('\n');
    expect(eventsUrl('https://n.example/x')).toBe('wss://n.example/x/v1/events');
    expect(eventsUrl('http://127.0.0.1:7880')).toBe('ws://127.0.0.1:7880/v1/events');
  });
});

describe('errors, options and exit codes', () => {
  it('describes every client failure in one sentence naming the node', () => {
    const refused = new RoomringNetworkError('fetch failed', 'ECONNREFUSED', true, undefined);
    expect(describeFailure(refused, URL_A)).toBe(
      `cannot reach ${URL_A} (ECONNREFUSED): is a roomring node listening there? (--url or ROOMRING_URL)`,
    );
    const inner = new RoomringNetworkError(
      'fetch failed',
      '',
      false,
      new Error('x', { cause: new Error('bad port') }),
    );
    expect(describeFailure(inner, URL_A)).toContain('(bad port)');
    const auth = new RoomringApiError('unauthenticated', 'invalid token', 401, undefined, {});
    expect(describeFailure(auth, URL_A)).toContain('refused the credentials');
    expect(describeFailure(auth, URL_A)).toContain('--api-secret');
    const busy = new RoomringApiError('unavailable', 'not ready', 503, 1_000, {});
    expect(describeFailure(busy, URL_A)).toBe(
      `${URL_A} answered 503 unavailable: not ready, retry after 1000 ms`,
    );
    expect(describeFailure(new RoomringDeadlineExceededError(5_000), URL_A)).toContain(
      'within 5000 ms',
    );
    expect(exitCodeOf(new UsageError('x'))).toBe(EXIT_USAGE);
    expect(exitCodeOf(new CommandFailedError('x'))).toBe(EXIT_FAILURE);
    expect(exitCodeOf(auth)).toBe(EXIT_FAILURE);
  });

  it('validates URLs, credentials and argument values', () => {
    expect(checkNodeUrl('http://127.0.0.1:7880/')).toBe('http://127.0.0.1:7880');
    for (const bad of ['nope', 'ftp://x', 'http://x/?a=1', 'http://x/#f']) {
      expect(() => checkNodeUrl(bad), bad).toThrow(UsageError);
    }
    expect(resolveCliInit({})).toMatchObject({
      url: 'http://127.0.0.1:7880',
      apiKey: 'devkey',
      apiSecret: 'secret',
      timeoutMs: 5_000,
      color: true,
    });
    expect(() => resolveCliInit({ apiKey: '' })).toThrow(UsageError);
    expect(intInRange(1, 10)('7')).toBe(7);
    for (const bad of ['0', '11', '1.5', '-1', 'x', '']) {
      expect(() => intInRange(1, 10)(bad), bad).toThrow(InvalidArgumentError);
    }
    expect(roomName('é'.repeat(128))).toHaveLength(128);
    expect(() => roomName('é'.repeat(129))).toThrow(InvalidArgumentError);
    expect(() => roomName('')).toThrow(InvalidArgumentError);
  });
});

describe('convergence lag', () => {
  const at = (digests: string[]) =>
    digests.map((d, i) => ({
      member: member(`n${i}`, 'eu'),
      value: {
        nodeId: `n${i}`,
        region: 'eu',
        state: 'running',
        ringChecksum: 'c',
        storeDigest: d,
        rooms: 0,
        incarnations: 0,
        tombstones: 0,
        ownedRooms: 0,
        members: 0,
        connectedPeers: 0,
        pendingWrites: 0,
        convergence: { peers: 0, sameDigest: 0, converged: true },
        counters: {},
      },
    }));

  function fakeHost(samples: ReturnType<typeof at>[]) {
    let now = 1_000;
    let calls = 0;
    return {
      host: {
        sample: async () => {
          now += 10; // each round of status calls takes 10 ms
          return samples[Math.min(calls++, samples.length - 1)]!;
        },
        nowMs: () => now,
        sleep: async (ms: number) => {
          now += ms;
        },
      },
      calls: () => calls,
    };
  }

  it('is 0 when the first sample agrees, the time until agreement otherwise', async () => {
    const already = fakeHost([]);
    expect((await settleDigests(already.host, at(['a', 'a']), 3_000)).lagMs).toBe(0);
    expect(already.calls()).toBe(0);

    const later = fakeHost([at(['a', 'b']), at(['b', 'b'])]);
    const settled = await settleDigests(later.host, at(['a', 'b']), 3_000);
    expect(settled.lagMs).toBe(2 * (SETTLE_POLL_MS + 10));
    expect(settled.sample[0]!.value!.storeDigest).toBe('b');
  });

  it('gives up after --settle-ms with null, and 0 means no second look', async () => {
    const never = fakeHost([at(['a', 'b'])]);
    const result = await settleDigests(never.host, at(['a', 'b']), 1_000);
    expect(result.lagMs).toBeNull();
    expect(never.calls()).toBeLessThanOrEqual(Math.floor(1_000 / SETTLE_POLL_MS));
    const none = fakeHost([at(['b', 'b'])]);
    expect((await settleDigests(none.host, at(['a', 'b']), 0)).lagMs).toBeNull();
    expect(none.calls()).toBe(0);
  });
});
