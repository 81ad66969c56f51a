/**
 * The failure detector (docs/protocol/membership.md, "Failure detector") on a hand-driven
 * clock: Membership with a fake host, ticks and messages delivered at exact times, so each
 * assertion names the tick at which a member changes state.
 */
import { type HeartbeatMessage, type MemberSuspectMessage, packHlc } from '@roomring/protocol';
import { describe, expect, it } from 'vitest';
import { type NodeConfig, resolveConfig } from '../src/config.js';
import { Membership, type MembershipHost } from '../src/membership.js';
import {
  CONFIRMATIONS_MAX,
  LOCAL_HEALTH_MAX,
  LocalHealth,
  lateTickThresholdMs,
  SUSPICION_STRETCH_MAX,
  suspicionPeriodMs,
} from '../src/suspicion.js';
import { DialTimeoutError } from '../src/transport.js';

const START_MS = 1_780_000_000_000;

/** Lets the probe's promise chain (fake dials answered by the test) run to its end. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface PendingDial {
  address: string;
  resolve(peer: string): void;
  reject(error: Error): void;
}

/** One node ('me') with a fake host: a settable clock, recorded messages and changes, dials
 *  that the test answers. */
function detector(profile: 'lan' | 'local' = 'lan') {
  const config: NodeConfig = resolveConfig({ nodeId: 'me', region: 'r', profile });
  let now = START_MS;
  const published: string[] = [];
  const changes: string[] = [];
  const connected = new Set<string>();
  const dials: PendingDial[] = [];
  /** ms the process is stopped for while it publishes next (pauseInNextPublish). */
  let stopInPublishMs = 0;
  const host: MembershipHost = {
    nowMs: () => now,
    publish: (m) => {
      now += stopInPublishMs;
      stopInPublishMs = 0;
      if (m.type === 'member-suspect') published.push(`${m.type} ${m.subject} ${m.state}`);
      else published.push(m.type);
    },
    dial: (address) =>
      new Promise<string>((resolve, reject) => dials.push({ address, resolve, reject })),
    isConnected: (peer) => connected.has(peer),
    pingNeighbours: () => undefined,
    hangUp: () => undefined,
    selfSummary: () => ({
      roomCount: 0,
      ringChecksum: '',
      storeDigest: '',
      sentAt: packHlc(now, 0),
      historySinceMs: START_MS,
    }),
    changed: (m, transition, reason) => {
      if (transition !== 'updated')
        changes.push(`+${now - START_MS} ${m.nodeId} ${transition} ${reason}`);
    },
    random: () => ({ nextUint32: () => 0 }),
    rejoined: () => undefined,
  };
  const membership = new Membership(config, 'peer-me', () => ['memory/me'], host);
  const incarnations = new Map<string, number>();
  const d = {
    config,
    membership,
    changes,
    published,
    connected,
    dials,
    /** The process is stopped for `ms` while it publishes next (a SIGSTOP or a GC that
     *  lands in the middle of a tick): the clock jumps inside publish(). */
    pauseInNextPublish(ms: number): void {
      stopInPublishMs = ms;
    },
    /** Sets the clock to START_MS + ms. */
    at(ms: number): void {
      now = START_MS + ms;
    },
    tickAt(ms: number): void {
      d.at(ms);
      membership.tick();
    },
    heartbeat(nodeId: string, addrs: string[] = [`memory/${nodeId}`]): void {
      const incarnation = incarnations.get(nodeId) ?? START_MS - 1_000;
      incarnations.set(nodeId, incarnation);
      const hb: HeartbeatMessage = {
        type: 'heartbeat',
        nodeId,
        region: 'r',
        incarnation,
        state: 'alive',
        weight: 1,
        httpUrl: '',
        p2pAddrs: addrs,
        roomCount: 0,
        ringChecksum: '',
        storeDigest: '',
        sentAt: packHlc(now, 0),
        seq: 0,
        historySinceMs: START_MS,
      };
      expect(membership.receive(hb, `peer-${nodeId}`)).toBe('accept');
      // A small cluster's full mesh: no redial of members that speak.
      connected.add(`peer-${nodeId}`);
    },
    /** The connection to `nodeId` drops (the transport's peerDisconnected). */
    drop(nodeId: string): void {
      connected.delete(`peer-${nodeId}`);
      membership.peerDisconnected(`peer-${nodeId}`);
    },
    notice(reporter: string, subject: string, subjectIncarnation?: number): string {
      const message: MemberSuspectMessage = {
        type: 'member-suspect',
        reporter,
        subject,
        subjectIncarnation:
          subjectIncarnation ??
          (subject === 'me' ? membership.incarnation : incarnations.get(subject)!),
        state: 'suspect',
        sentAt: packHlc(now, 0),
      };
      return membership.receive(message, `peer-${reporter}`);
    },
    state(nodeId: string): string | undefined {
      return membership.get(nodeId)?.state;
    },
    /** Heartbeats from each of `nodeIds` and a tick, every heartbeat interval from `fromMs`
     *  to `toMs` (heartbeats land 100 ms after each tick). */
    run(fromMs: number, toMs: number, speaking: readonly string[]): void {
      for (let t = fromMs; t <= toMs; t += config.heartbeatIntervalMs) {
        d.tickAt(t);
        d.at(t + 100);
        for (const id of speaking) d.heartbeat(id);
      }
    },
  };
  return d;
}

describe('suspicionPeriodMs (Lifeguard: max - (max - min) x log(C + 1) / log(K + 1))', () => {
  it.each([
    // min, max, confirmations, expected, period
    [3_000, 9_000, 0, 3, 9_000],
    [3_000, 9_000, 1, 3, 6_000],
    [3_000, 9_000, 2, 3, 4_245],
    [3_000, 9_000, 3, 3, 3_000],
    [3_000, 9_000, 5, 3, 3_000],
    [3_000, 9_000, 0, 1, 9_000],
    [3_000, 9_000, 1, 1, 3_000],
    [3_000, 9_000, 0, 0, 3_000],
    [1_500, 4_500, 1, 2, 2_607],
  ])('min %i, max %i, %i of %i confirmations: %i ms', (min, max, c, k, period) => {
    expect(suspicionPeriodMs(min, max, c, k)).toBe(period);
  });

  it('never goes below min or above max', () => {
    for (let k = 0; k <= CONFIRMATIONS_MAX; k++) {
      for (let c = 0; c <= k + 1; c++) {
        const p = suspicionPeriodMs(1_000, 1_000 * SUSPICION_STRETCH_MAX, c, k);
        expect(p).toBeGreaterThanOrEqual(1_000);
        expect(p).toBeLessThanOrEqual(1_000 * SUSPICION_STRETCH_MAX);
      }
    }
  });
});

describe('LocalHealth', () => {
  it('rises to LOCAL_HEALTH_MAX and falls to 0, one step at a time', () => {
    const health = new LocalHealth();
    expect(health.multiplier()).toBe(1);
    for (let i = 0; i < LOCAL_HEALTH_MAX + 3; i++) health.raise();
    expect(health.score).toBe(LOCAL_HEALTH_MAX);
    expect(health.multiplier()).toBe(LOCAL_HEALTH_MAX + 1);
    health.lower();
    expect(health.score).toBe(LOCAL_HEALTH_MAX - 1);
    for (let i = 0; i < LOCAL_HEALTH_MAX + 3; i++) health.lower();
    expect(health.score).toBe(0);
  });

  it('counts a tick late past half an interval', () => {
    expect(lateTickThresholdMs(1_000)).toBe(500);
    expect(lateTickThresholdMs(500)).toBe(250);
  });
});

describe('lateness: time our own tick ran late is not anyone’s silence', () => {
  /** a, b, c heard at +950, just before the tick at +1,000; the tick due at +2,000 runs
   *  at +3,990 (a GC pause, a busy core), before the heartbeats that queued meanwhile are
   *  read, as Node runs due timers before polling its sockets. */
  function lateTick() {
    const d = detector('lan');
    d.tickAt(0);
    d.at(950);
    for (const id of ['a', 'b', 'c']) d.heartbeat(id);
    d.tickAt(1_000);
    d.tickAt(3_990); // 1,990 ms late; 2,990 ms after the last tick: no freeze
    return d;
  }

  it('a tick 2 s late (lan) suspects nobody: of the 3,040 ms since it heard each member, it could listen 1,050', () => {
    const d = lateTick();
    expect(d.changes.filter((c) => !c.includes(' up '))).toEqual([]);
    expect(d.published.filter((p) => p.startsWith('member-suspect'))).toEqual([]);
    expect(d.membership.counters.lateTicks).toBe(1);
    expect(d.membership.counters.tickLateMs).toBe(1_990);
    expect(d.membership.counters.freezesDetected).toBe(0);
    expect(d.membership.localHealth()).toBe(1);
    // The queued heartbeats are read next; the next tick is on time and lowers local health.
    d.at(3_991);
    for (const id of ['a', 'b', 'c']) d.heartbeat(id);
    d.tickAt(4_990);
    expect(d.membership.localHealth()).toBe(0);
    expect(d.changes.filter((c) => !c.includes(' up '))).toEqual([]);
  });

  it('a member really silent is still suspected, once the silence we could hear reaches suspectAfterMs', () => {
    const d = lateTick();
    d.at(3_991);
    d.heartbeat('a');
    d.heartbeat('b');
    d.tickAt(4_990); // c: silent 4,040 - 1,990 = 2,050
    expect(d.state('c')).toBe('alive');
    d.tickAt(5_990); // 3,050
    expect(d.changes.filter((c) => !c.includes(' up '))).toEqual(['+5990 c suspect silent']);
  });

  it('a tick late by less than the threshold raises no local health but still discounts its lateness', () => {
    const d = detector('lan');
    d.run(0, 1_000, ['a']); // a heard at +1,100
    d.tickAt(2_400); // 400 ms late
    // a: silent 2,300 - 400 at +3,400, 3,300 - 400 at +4,400, 3,400 - 400 at +4,500
    d.tickAt(3_400);
    d.tickAt(4_400);
    expect(d.state('a')).toBe('alive');
    d.tickAt(4_500);
    expect(d.state('a')).toBe('suspect');
    expect(d.membership.counters.lateTicks).toBe(0);
    expect(d.membership.counters.tickLateMs).toBe(400);
    expect(d.membership.localHealth()).toBe(0);
    expect(d.membership.get('a')!.lastHeardMs).toBe(START_MS + 1_100);
  });
});

describe('local health stretches every threshold', () => {
  it('a node that just refuted suspicions of itself waits (1 + score) x suspectAfterMs before suspecting', () => {
    const suspicions = (d: ReturnType<typeof detector>) =>
      d.changes.filter((c) => c.includes('suspect'));
    const healthy = detector('lan');
    healthy.run(0, 0, ['a', 'b', 'c']); // heard at +100, then silent
    for (const t of [1_000, 2_000, 3_000]) healthy.tickAt(t);
    expect(suspicions(healthy)).toEqual([]);
    healthy.tickAt(4_000); // silent 3,900 >= 3,000
    expect(suspicions(healthy)).toHaveLength(3);

    const d = detector('lan');
    d.run(0, 0, ['a', 'b', 'c']);
    d.tickAt(1_000);
    d.tickAt(2_000);
    // Three members suspect us, one after the other, each at the incarnation we refuted with
    // last: each refutation raises local health by one.
    d.at(2_500);
    for (const reporter of ['a', 'b', 'c']) expect(d.notice(reporter, 'me')).toBe('accept');
    expect(d.membership.counters.refutations).toBe(3);
    expect(d.membership.localHealth()).toBe(3);
    d.tickAt(3_000); // on time: lowered to 2 first, so thresholds x 3
    expect(d.membership.localHealth()).toBe(2);
    d.tickAt(4_000); // x 2: silent 3,900 < 6,000
    expect(suspicions(d)).toEqual([]);
    d.tickAt(5_000); // x 1 again: silent 4,900 >= 3,000
    expect(suspicions(d)).toEqual([
      '+5000 a suspect silent',
      '+5000 b suspect silent',
      '+5000 c suspect silent',
    ]);
  });
});

describe('confirmation: a death on silence waits longer the fewer members confirm it', () => {
  it('confirmed by every member that could (K = 3): dead at deadAfterMs of silence, as before', () => {
    const d = detector('lan');
    d.run(0, 0, ['a', 'b', 'c', 's']);
    d.run(1_000, 3_000, ['a', 'b', 'c']);
    d.tickAt(4_000);
    expect(d.changes).toContain('+4000 s suspect silent');
    d.at(4_200);
    for (const reporter of ['a', 'b', 'c']) expect(d.notice(reporter, 's')).toBe('accept');
    expect(d.membership.counters.suspicionsConfirmed).toBe(3);
    d.at(4_300);
    for (const id of ['a', 'b', 'c']) d.heartbeat(id);
    d.run(5_000, 6_000, ['a', 'b', 'c']);
    expect(d.state('s')).toBe('suspect'); // silent 5,900 at +6,000
    d.tickAt(7_000);
    expect(d.changes.filter((c) => c.startsWith('+7000'))).toEqual(['+7000 s dead silent']);
  });

  it('unconfirmed: dead only after suspectAfterMs + SUSPICION_STRETCH_MAX x (deadAfterMs - suspectAfterMs)', () => {
    const e = detector('lan');
    e.run(0, 0, ['a', 'b', 'c', 's']); // s heard at +100
    e.run(1_000, 11_000, ['a', 'b', 'c']);
    expect(e.state('s')).toBe('suspect'); // silent 10,900 < 12,000
    e.tickAt(12_000);
    expect(e.state('s')).toBe('suspect'); // 11,900
    e.tickAt(13_000);
    expect(e.changes.filter((c) => c.includes(' s '))).toEqual([
      '+100 s up heartbeat',
      '+4000 s suspect silent',
      '+13000 s dead silent',
    ]);
  });

  it('one confirmation of three: the period shrinks on a log scale (6 s of a 3..9 s range)', () => {
    const d = detector('lan');
    d.run(0, 0, ['a', 'b', 'c', 's']);
    d.run(1_000, 4_000, ['a', 'b', 'c']);
    d.at(4_500);
    expect(d.notice('a', 's')).toBe('accept');
    d.run(5_000, 9_000, ['a', 'b', 'c']);
    expect(d.state('s')).toBe('suspect'); // silent 8,900 < 3,000 + 6,000
    d.tickAt(10_000);
    expect(d.changes.filter((c) => c.includes(' s dead'))).toEqual(['+10000 s dead silent']);
  });

  it('a confirmation counts only until the member is heard again, and at most CONFIRMATIONS_MAX are kept', () => {
    const d = detector('lan');
    d.run(0, 0, ['a', 'b', 'c', 'e', 'f', 's']);
    for (const reporter of ['a', 'b', 'c', 'e', 'f'])
      expect(d.notice(reporter, 's')).toBe('accept');
    expect(d.membership.counters.suspicionsConfirmed).toBe(CONFIRMATIONS_MAX);
    // Heard after the notices: they are out of date.
    d.at(200);
    d.heartbeat('s');
    d.run(1_000, 12_000, ['a', 'b', 'c', 'e', 'f']);
    expect(d.state('s')).toBe('suspect'); // silent 11,800 < 3,000 + 9,000
    d.tickAt(13_000);
    expect(d.state('s')).toBe('dead');
  });

  it('a notice from a member we hold dead, or naming an older incarnation, confirms nothing', () => {
    const d = detector('lan');
    d.run(0, 0, ['a', 'b', 'c', 's']);
    expect(d.notice('a', 's', START_MS - 2_000)).toBe('accept');
    expect(d.membership.counters.suspicionsConfirmed).toBe(0);
  });

  it('two members only (no one could confirm): dead at deadAfterMs, as memberlist does', () => {
    const d = detector('lan');
    d.run(0, 0, ['s']);
    d.run(1_000, 6_000, []);
    expect(d.state('s')).toBe('suspect');
    d.tickAt(7_000);
    expect(d.changes).toEqual([
      '+100 s up heartbeat',
      '+4000 s suspect silent',
      '+7000 s dead silent',
    ]);
  });
});

describe('probes: a refused dial is proof, a timed-out one is not', () => {
  function dropped(addrs?: string[]) {
    const d = detector('lan');
    d.run(0, 0, ['a', 'b', 's']);
    if (addrs) {
      d.at(150);
      d.heartbeat('s', addrs);
    }
    d.tickAt(1_000);
    d.at(1_500);
    d.drop('s');
    expect(d.state('s')).toBe('suspect');
    return d;
  }

  it('refused: dead at once (a killed process)', async () => {
    const d = dropped();
    expect(d.dials.map((x) => x.address)).toEqual(['memory/s']);
    d.at(1_502);
    d.dials[0]!.reject(new Error('connection refused'));
    await settle();
    expect(d.changes.filter((c) => c.includes(' s '))).toEqual([
      '+100 s up heartbeat',
      '+1500 s suspect connection-lost',
      '+1502 s dead probe-failed',
    ]);
    expect(d.membership.counters.probesFailed).toBe(1);
    expect(d.membership.counters.probesTimedOut).toBe(0);
  });

  it('timed out: stays suspect, the timeout is one confirmation, and a heartbeat brings it back', async () => {
    const d = dropped();
    d.at(2_500);
    d.dials[0]!.reject(new DialTimeoutError('handshake timed out'));
    await settle();
    expect(d.state('s')).toBe('suspect');
    expect(d.membership.counters.probesTimedOut).toBe(1);
    // It was paused: it speaks again and is alive.
    d.at(2_600);
    d.heartbeat('s');
    expect(d.state('s')).toBe('alive');
  });

  it('timed out and silent: dead once the silence reaches the period one confirmation of two leaves', async () => {
    const d = dropped();
    d.run(2_000, 2_000, ['a', 'b']);
    d.at(2_500);
    d.dials[0]!.reject(new DialTimeoutError('handshake timed out'));
    await settle();
    // K = 2 (a and b), C = 1 (our probe): 9,000 - 6,000 x log 2 / log 3 = 5,214 ms.
    d.run(3_000, 8_000, ['a', 'b']);
    expect(d.state('s')).toBe('suspect'); // silent 7,900 < 3,000 + 5,214
    d.tickAt(9_000);
    expect(d.state('s')).toBe('dead');
  });

  it('refused at the address that reached it last beats a timeout at another', async () => {
    const d = dropped(['memory/x', 'memory/s']);
    // The first dial tries its addresses in order: x first (never reached it).
    d.at(1_600);
    d.dials[0]!.reject(new DialTimeoutError('x timed out'));
    await settle();
    expect(d.dials.map((x) => x.address)).toEqual(['memory/x', 'memory/s']);
    d.dials[1]!.resolve('peer-s'); // s is its working address now
    await settle();
    d.at(1_900);
    d.heartbeat('s', ['memory/x', 'memory/s']);
    d.at(1_950);
    d.drop('s');
    expect(d.dials.map((x) => x.address).slice(2)).toEqual(['memory/s']);
    d.dials[2]!.reject(new Error('refused'));
    await settle();
    expect(d.dials.map((x) => x.address).slice(3)).toEqual(['memory/x']);
    d.dials[3]!.reject(new DialTimeoutError('x timed out'));
    await settle();
    expect(d.state('s')).toBe('dead');
  });

  it('with no address known to work, a timeout at any address keeps it suspect', async () => {
    const d = dropped(['memory/x', 'memory/s']);
    d.dials[0]!.reject(new Error('no route'));
    await settle();
    d.dials[1]!.reject(new DialTimeoutError('s timed out'));
    await settle();
    expect(d.state('s')).toBe('suspect');
    expect(d.membership.counters.probesTimedOut).toBe(1);
  });
});

describe('drops right after our own pause are news about us', () => {
  it('no suspicion; the probe reconnects, and only a refused one declares the member dead', async () => {
    const d = detector('lan');
    d.run(0, 1_000, ['a', 'b']);
    // Our tick is overdue by 1.5 s when the drops are read (before it runs).
    d.at(3_500);
    d.drop('a');
    d.drop('b');
    expect(d.state('a')).toBe('alive');
    expect(d.state('b')).toBe('alive');
    expect(d.published).not.toContain('member-suspect a suspect');
    d.dials[0]!.resolve('peer-a');
    d.dials[1]!.reject(new Error('refused'));
    await settle();
    expect(d.changes.filter((c) => !c.includes(' up '))).toEqual(['+3500 b dead probe-failed']);
  });

  it('also when the pause lands while our tick runs: the next tick is due an interval after it started', async () => {
    const d = detector('lan');
    d.run(0, 1_000, ['a', 'b']); // a and b heard at +1,100
    const incarnation = d.membership.incarnation;
    // Stopped for 10 s while the tick at +2,000 publishes; it finishes at +12,000, and the
    // drops queued meanwhile are read before the next tick (due at +3,000) runs.
    d.pauseInNextPublish(10_000);
    d.tickAt(2_000);
    d.drop('a');
    d.drop('b');
    expect(d.state('a')).toBe('alive');
    expect(d.state('b')).toBe('alive');
    expect(d.published.filter((p) => p.startsWith('member-suspect'))).toEqual([]);
    // The probes reconnect; the overdue tick sees the freeze and discounts it as deafness.
    d.dials[0]!.resolve('peer-a');
    d.dials[1]!.resolve('peer-b');
    await settle();
    d.tickAt(12_001); // a, b: silent 10,901 - 9,001 deaf
    expect(d.membership.counters.freezesDetected).toBe(1);
    expect(d.membership.counters.tickLateMs).toBe(9_001);
    expect(d.membership.incarnation).toBe(incarnation + 1);
    expect(d.changes.filter((c) => !c.includes(' up '))).toEqual([]);
  });
});
