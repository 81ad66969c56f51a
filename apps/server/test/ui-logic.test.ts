/** The dashboard's pure parts (apps/server/ui/src): event buffer, ring drawing, member
 *  agreement, failure messages, formats. The page itself is tested in a real browser
 *  (test/browser). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  digestAgreement,
  MemberHistory,
  type MemberRow,
  membersInOrder,
  regionsOf,
  ringAgreement,
} from '../ui/src/cluster-view.js';
import {
  EVENT_FRAME_CHARS_MAX,
  EVENTS_KEPT_MAX,
  EventLog,
  parseEvent,
  type StreamEvent,
} from '../ui/src/event-log.js';
import { explainFailure } from '../ui/src/failure.js';
import { formatAgo, formatDuration, formatMs, formatPercent } from '../ui/src/format.js';
import { donutArcs } from '../ui/src/ring-arcs.js';

const SEED = 20_261_207;

function roomEvent(seq: number, name: string, type = 'room-created'): StreamEvent {
  return parseEvent(
    JSON.stringify({
      type,
      at: 1_000 + seq,
      nodeId: 'us-1',
      origin: 'local',
      room: { name, sid: `RM_${seq}`, homeRegion: 'us', owner: 'us-2' },
    }),
    seq,
  )!;
}

describe('event frames', () => {
  it('keep what the view shows of room, member and other events', () => {
    expect(roomEvent(1, 'standup')).toMatchObject({
      seq: 1,
      type: 'room-created',
      kind: 'rooms',
      subject: 'standup',
      detail: 'local',
      nodeId: 'us-1',
      room: { name: 'standup', sid: 'RM_1', homeRegion: 'us', owner: 'us-2' },
    });
    const member = parseEvent(
      JSON.stringify({
        type: 'member-suspect',
        at: 5,
        nodeId: 'us-1',
        member: { nodeId: 'eu-1', region: 'eu', state: 'suspect', incarnation: 3, httpUrl: 'x' },
        reason: 'connection-closed',
      }),
      2,
    );
    expect(member).toMatchObject({
      kind: 'members',
      subject: 'eu-1',
      detail: 'connection-closed',
      member: { state: 'suspect', incarnation: 3 },
    });
    const superseded = parseEvent(
      JSON.stringify({ type: 'room-superseded', name: 'x', winnerSid: 'RM_w', loserSid: 'RM_l' }),
      3,
    );
    expect(superseded).toMatchObject({ kind: 'rooms', subject: 'x', detail: 'winner RM_w' });
    expect(
      parseEvent(JSON.stringify({ type: 'ownership-gained', name: 'y', sid: 's' }), 4),
    ).toMatchObject({
      kind: 'ownership',
      subject: 'y',
    });
  });

  it('that are not events are dropped, however they look', () => {
    for (const bad of ['', 'nope', '[]', 'null', '{}', '{"type":5}', '{"type":""}']) {
      expect(parseEvent(bad, 1), bad).toBeUndefined();
    }
    const huge = JSON.stringify({ type: 'room-created', pad: 'x'.repeat(EVENT_FRAME_CHARS_MAX) });
    expect(parseEvent(huge, 1)).toBeUndefined();
    // A room named like an Object.prototype key is just a name.
    expect(roomEvent(1, '__proto__').subject).toBe('__proto__');
  });
});

describe('EventLog', () => {
  it('keeps the newest EVENTS_KEPT_MAX events, newest first, and counts what it dropped', () => {
    const log = new EventLog();
    for (let i = 1; i <= EVENTS_KEPT_MAX + 120; i++) log.push(roomEvent(i, `r${i}`));
    expect(log.size).toBe(EVENTS_KEPT_MAX);
    expect(log.received).toBe(EVENTS_KEPT_MAX + 120);
    expect(log.dropped).toBe(120);
    const shown = log.visible({ kind: 'all', text: '' });
    expect(shown).toHaveLength(EVENTS_KEPT_MAX);
    expect(shown[0]!.seq).toBe(EVENTS_KEPT_MAX + 120);
    expect(shown.at(-1)!.seq).toBe(121);
  });

  it('holds the view still while paused, goes on buffering, and catches up on resume', () => {
    const log = new EventLog(5);
    for (let i = 1; i <= 3; i++) log.push(roomEvent(i, `r${i}`));
    log.pause();
    for (let i = 4; i <= 10; i++) log.push(roomEvent(i, `r${i}`));
    expect(log.paused).toBe(true);
    expect(log.newWhilePaused).toBe(7);
    expect(log.visible({ kind: 'all', text: '' }).map((e) => e.seq)).toEqual([3, 2, 1]);
    log.resume();
    expect(log.newWhilePaused).toBe(0);
    expect(log.visible({ kind: 'all', text: '' }).map((e) => e.seq)).toEqual([10, 9, 8, 7, 6]);
    log.clear();
    expect(log.visible({ kind: 'all', text: '' })).toEqual([]);
    expect(() => new EventLog(0)).toThrow(RangeError);
  });

  it('filters by kind and by text in the subject, type or sender', () => {
    const log = new EventLog();
    log.push(roomEvent(1, 'Standup'));
    log.push(roomEvent(2, 'retro', 'room-deleted'));
    log.push(
      parseEvent(
        JSON.stringify({
          type: 'member-dead',
          nodeId: 'us-1',
          member: { nodeId: 'eu-2', state: 'dead' },
        }),
        3,
      )!,
    );
    const seqs = (kind: 'all' | 'rooms' | 'members', text: string) =>
      log.visible({ kind, text }).map((e) => e.seq);
    expect(seqs('rooms', '')).toEqual([2, 1]);
    expect(seqs('members', '')).toEqual([3]);
    expect(seqs('all', 'standup')).toEqual([1]);
    expect(seqs('all', 'deleted')).toEqual([2]);
    expect(seqs('all', 'eu-2')).toEqual([3]);
    expect(seqs('all', 'US-1')).toEqual([3, 2, 1]);
    expect(seqs('members', 'standup')).toEqual([]);
  });
});

describe('ring drawing', () => {
  it('gives each node its share of the circle, in order, closing the circle', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 10, noNaN: true }), { minLength: 1, maxLength: 12 }),
        (shares) => {
          const arcs = donutArcs(
            shares.map((share, i) => ({ nodeId: `n${i}`, share })),
            100,
            100,
            90,
            70,
          );
          const total = shares.reduce((a, b) => a + b, 0);
          expect(arcs.map((a) => a.nodeId)).toEqual(shares.map((_, i) => `n${i}`));
          for (const [i, arc] of arcs.entries()) {
            expect(arc.share).toBeCloseTo(total > 0 ? shares[i]! / total : 0, 9);
            expect(arc.endAngle - arc.startAngle).toBeCloseTo(arc.share * 2 * Math.PI, 9);
            expect(arc.path === '').toBe(arc.share === 0);
            if (i > 0) expect(arc.startAngle).toBeCloseTo(arcs[i - 1]!.endAngle, 9);
          }
          if (total > 0) expect(arcs.at(-1)!.endAngle).toBeCloseTo(2 * Math.PI, 9);
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('draws a whole ring as two half arcs, and ignores shares that are not numbers', () => {
    const [whole] = donutArcs([{ nodeId: 'a', share: 1 }], 50, 50, 40, 30);
    expect(whole!.path.match(/M /g)).toHaveLength(2);
    const odd = donutArcs(
      [
        { nodeId: 'a', share: Number.NaN },
        { nodeId: 'b', share: -1 },
        { nodeId: 'c', share: 2 },
      ],
      50,
      50,
      40,
      30,
    );
    expect(odd.map((a) => a.share)).toEqual([0, 0, 1]);
  });
});

function row(nodeId: string, region: string, extra: Partial<MemberRow> = {}): MemberRow {
  return {
    nodeId,
    region,
    state: 'alive',
    incarnation: 1,
    weight: 1,
    httpUrl: '',
    roomCount: 0,
    ringChecksum: 'c1',
    storeDigest: 'd1',
    lastHeardMs: 0,
    stateSinceMs: 0,
    self: false,
    ...extra,
  };
}

describe('member agreement', () => {
  const members = [
    row('us-1', 'us', { self: true }),
    row('eu-1', 'eu', { storeDigest: 'd2' }),
    row('us-2', 'us', { ringChecksum: 'c2' }),
    row('eu-2', 'eu', { state: 'dead', ringChecksum: 'old', storeDigest: 'old' }),
    row('ap-1', 'ap', { state: 'suspect' }),
  ];

  it('counts regions by state, in region order', () => {
    expect(regionsOf(members)).toEqual([
      { region: 'ap', alive: 0, suspect: 1, dead: 0, left: 0, total: 1 },
      { region: 'eu', alive: 1, suspect: 0, dead: 1, left: 0, total: 2 },
      { region: 'us', alive: 2, suspect: 0, dead: 0, left: 0, total: 2 },
    ]);
  });

  it('names the alive peers that differ from this node, ignoring the others', () => {
    expect(ringAgreement(members)).toEqual({ peers: 2, differing: ['us-2'], agree: false });
    expect(digestAgreement(members)).toEqual({ peers: 2, differing: ['eu-1'], agree: false });
    expect(ringAgreement([row('a', 'x', { self: true })])).toEqual({
      peers: 0,
      differing: [],
      agree: true,
    });
  });

  it('lists this node first, then by region and node id', () => {
    expect(membersInOrder(members).map((m) => m.nodeId)).toEqual([
      'us-1',
      'ap-1',
      'eu-1',
      'eu-2',
      'us-2',
    ]);
  });
});

describe('failure messages', () => {
  it('quote the server on refused credentials and say what to check', () => {
    const f = explainFailure(
      401,
      'text/plain; charset=utf-8',
      'invalid token: signature is invalid',
    );
    expect(f.kind).toBe('credentials');
    expect(f.message).toBe(
      'The node refused the credentials: invalid token: signature is invalid. Check the API key and secret, or the token.',
    );
  });

  it('tell a missing grant from bad credentials', () => {
    const body = JSON.stringify({ code: 'unauthenticated', msg: 'permissions denied', meta: {} });
    const f = explainFailure(401, 'application/json', body);
    expect(f.kind).toBe('permission');
    expect(f.message).toContain('roomList');
  });

  it('bound what they quote, and report other statuses', () => {
    expect(explainFailure(401, 'text/plain', 'x'.repeat(5_000)).message.length).toBeLessThan(400);
    expect(
      explainFailure(503, 'application/json', '{"code":"unavailable","msg":"node is joining"}'),
    ).toEqual({
      kind: 'unavailable',
      message: 'The node is busy or not ready (503): node is joining',
    });
    expect(explainFailure(500, 'application/json', 'not json').kind).toBe('other');
  });
});

describe('formats', () => {
  it('print durations, ages, latencies and shares for people', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(4_200)).toBe('4.2 s');
    expect(formatDuration(185_000)).toBe('3 min 5 s');
    expect(formatDuration(2 * 3_600_000 + 600_000)).toBe('2 h 10 min');
    expect(formatDuration(3 * 86_400_000 + 4 * 3_600_000)).toBe('3 d 4 h');
    expect(formatDuration(-5)).toBe('0 ms');
    expect(formatAgo(0, 10)).toBe('-');
    expect(formatAgo(1_000, 4_500)).toBe('3.5 s ago');
    expect(formatMs(null)).toBe('-');
    expect(formatMs(0.4213)).toBe('0.42 ms');
    expect(formatMs(12.54)).toBe('12.5 ms');
    expect(formatMs(1_234.4)).toBe('1,234 ms');
    expect(formatPercent(0.1234)).toBe('12.3%');
  });
});

describe('member history', () => {
  const at = (state: string, atMs: number) => ({ state, atMs, reason: 'r' });

  it('keeps each member`s newest transitions, oldest first', () => {
    const history = new MemberHistory(3, 10);
    history.record('eu-1', at('suspect', 1));
    history.record('eu-1', at('dead', 2));
    expect(history.of('eu-1').map((t) => t.state)).toEqual(['suspect', 'dead']);
    history.record('eu-1', at('alive', 3));
    history.record('eu-1', at('suspect', 4));
    expect(history.of('eu-1').map((t) => t.atMs)).toEqual([2, 3, 4]);
    expect(history.of('nobody')).toEqual([]);
  });

  it('forgets the member that changed longest ago past its bound', () => {
    const history = new MemberHistory(2, 3);
    history.record('a', at('dead', 1));
    history.record('b', at('dead', 2));
    history.record('c', at('dead', 3));
    history.record('a', at('alive', 4)); // a is now the most recent
    history.record('d', at('dead', 5)); // b goes
    expect(history.size).toBe(3);
    expect(history.of('b')).toEqual([]);
    expect(history.of('a').map((t) => t.state)).toEqual(['dead', 'alive']);
    expect(history.of('__proto__')).toEqual([]);
  });
});
