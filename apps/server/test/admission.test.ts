/**
 * Admission control: a property test of the controller on a virtual clock, and a burst
 * against a real node whose writes cannot be acknowledged (its only partner is a server
 * process stopped with SIGSTOP), which must shed fast with 429 + Retry-After and never hang.
 */
import { randomBytes } from 'node:crypto';
import { createRegistryNode, type RegistryNode } from '@roomring/node';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AdmissionController,
  buildApp,
  createLogger,
  serverConfig,
  TwirpError,
} from '../src/index.js';
import {
  eventually,
  type ServerProcess,
  startServer,
  stopServers,
} from './helpers/server-process.js';
import { sdkToken, TEST_KEY, TEST_KEYS, TEST_SECRET } from './helpers/tokens.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** A virtual clock with one-shot timers. */
function virtualTime() {
  let now = 0;
  const timers = new Set<{ at: number; fn: () => void }>();
  return {
    nowMs: () => now,
    setTimer(delayMs: number, fn: () => void) {
      const timer = { at: now + delayMs, fn };
      timers.add(timer);
      return () => timers.delete(timer);
    },
    /** Fires due timers in order, letting promise callbacks run at each timer's time. */
    async advance(ms: number) {
      const target = now + ms;
      for (;;) {
        const due = [...timers].filter((t) => t.at <= target).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers.delete(due);
        now = due.at;
        due.fn();
        await flush();
      }
      now = target;
    },
  };
}

type Op =
  | { kind: 'arrive'; timeoutMs: number }
  | { kind: 'finish'; index: number }
  | { kind: 'tick'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('arrive' as const),
      timeoutMs: fc.integer({ min: 1, max: 500 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('finish' as const), index: fc.nat(50) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('tick' as const),
      ms: fc.integer({ min: 1, max: 200 }),
    }),
  },
);

describe('AdmissionController (virtual time)', () => {
  it('bounds in-flight and queue, grants in order, and settles every request by its deadline', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.array(opArb, { minLength: 1, maxLength: 60 }),
        async (maxInFlight, queueMax, ops) => {
          const time = virtualTime();
          const admission = new AdmissionController({ maxInFlight, queueMax, ...time });
          interface Req {
            id: number;
            deadlineAt: number;
            state: 'pending' | 'granted' | 'shed' | 'done';
            release?: () => void;
            settledAt?: number;
            retryAfterMs?: number;
          }
          const reqs: Req[] = [];
          const grantOrder: number[] = [];
          const queuedOrder: number[] = [];
          for (const op of ops) {
            if (op.kind === 'arrive') {
              const req: Req = {
                id: reqs.length,
                deadlineAt: time.nowMs() + op.timeoutMs,
                state: 'pending',
              };
              reqs.push(req);
              const before = admission.inFlight;
              admission.acquire(req.deadlineAt).then(
                (release) => {
                  req.state = 'granted';
                  req.release = release;
                  req.settledAt = time.nowMs();
                  grantOrder.push(req.id);
                },
                (error: TwirpError) => {
                  req.state = 'shed';
                  req.settledAt = time.nowMs();
                  req.retryAfterMs = error.retryAfterMs;
                  expect(error).toBeInstanceOf(TwirpError);
                  expect(error.code).toBe('resource_exhausted');
                },
              );
              if (before === maxInFlight) queuedOrder.push(req.id);
            } else if (op.kind === 'finish') {
              const running = reqs.filter((r) => r.state === 'granted');
              const victim = running[op.index % Math.max(1, running.length)];
              if (victim) {
                victim.state = 'done';
                victim.release!();
                victim.release!(); // idempotent
              }
            } else {
              await time.advance(op.ms);
            }
            await flush();
            expect(admission.inFlight).toBeLessThanOrEqual(maxInFlight);
            expect(admission.queued).toBeLessThanOrEqual(queueMax);
            expect(admission.inFlight).toBe(reqs.filter((r) => r.state === 'granted').length);
          }
          // Let every deadline pass: nothing may still be pending.
          await time.advance(1_000);
          await flush();
          for (const r of reqs) {
            expect(r.state).not.toBe('pending');
            expect(r.settledAt!).toBeLessThanOrEqual(r.deadlineAt);
            if (r.state === 'shed') expect(r.retryAfterMs).toBeGreaterThanOrEqual(1_000);
          }
          // Requests that had to queue were granted in arrival order.
          const queuedGrants = grantOrder.filter((id) => queuedOrder.includes(id));
          expect(queuedGrants).toEqual([...queuedGrants].sort((a, b) => a - b));
        },
      ),
      { numRuns: 150, seed: 4_242 },
    );
  });

  it('sheds at once when the expected wait exceeds the deadline', async () => {
    const time = virtualTime();
    const admission = new AdmissionController({ maxInFlight: 1, queueMax: 10, ...time });
    const first = await admission.acquire(1_000);
    await time.advance(400);
    first(); // service time now 400 ms
    const second = await admission.acquire(time.nowMs() + 1_000);
    await expect(admission.acquire(time.nowMs() + 300)).rejects.toMatchObject({
      code: 'resource_exhausted',
      meta: { reason: 'deadline' },
    });
    const queued = admission.acquire(time.nowMs() + 600);
    expect(admission.queued).toBe(1);
    second();
    await expect(queued).resolves.toBeTypeOf('function');
    expect(admission.shedCounts).toEqual({ 'queue-full': 0, deadline: 1, timeout: 0 });
  });

  it('withdraws a waiting request whose client went away', async () => {
    const time = virtualTime();
    const admission = new AdmissionController({ maxInFlight: 1, queueMax: 1, ...time });
    await admission.acquire(10_000);
    const gone = new AbortController();
    void admission.acquire(10_000, gone.signal).catch(() => undefined);
    expect(admission.queued).toBe(1);
    gone.abort();
    expect(admission.queued).toBe(0);
  });
});

describe('burst against a node whose writes wait for an ack that cannot come', {
  timeout: 90_000,
}, () => {
  let partner: ServerProcess | undefined;
  let node: RegistryNode | undefined;
  let app: FastifyInstance | undefined;

  afterAll(async () => {
    await app?.close();
    await node?.stop();
    await stopServers([partner]);
  });

  it('answers every request fast with 429/503 + Retry-After, never hanging', async () => {
    const clusterKey = randomBytes(32).toString('hex');
    partner = await startServer([
      '--region',
      'us-west',
      '--node-id',
      'partner',
      '--http-port',
      '0',
      '--p2p-port',
      '0',
      '--keys',
      `${TEST_KEY}:${TEST_SECRET}`,
      '--cluster-key',
      clusterKey,
      '--log-level',
      'warn',
    ]);
    node = createRegistryNode({
      nodeId: 'burst',
      region: 'us-east',
      clusterKey,
      p2pHost: '127.0.0.1',
      p2pPort: 0,
      seeds: [partner.p2pAddress],
      minAcks: 1,
    });
    await node.start();
    const config = serverConfig({
      region: 'us-east',
      nodeId: 'burst',
      keys: TEST_KEYS,
      maxInFlight: 1,
      queueMax: 1,
    });
    app = buildApp({ node, config, logger: createLogger('silent', 'burst', 'us-east') });
    const token = await sdkToken({ roomCreate: true });
    const create = (name: string, timeoutMs: number) =>
      app!.inject({
        method: 'POST',
        url: '/twirp/livekit.RoomService/CreateRoom',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'x-twirp-timeout-ms': String(timeoutMs),
        },
        payload: JSON.stringify({ name }),
      });
    await eventually(
      async () => node!.members().some((m) => m.nodeId === 'partner' && m.state === 'alive'),
      30_000,
      'the partner seen alive',
    );
    const acked = await eventually(
      async () => {
        const res = await create('acked-before', 2_000);
        return res.statusCode === 200 && res;
      },
      10_000,
      'a write acknowledged by the partner',
    );
    expect(acked.statusCode).toBe(200);

    partner.child.kill('SIGSTOP');
    const deadlineMs = 1_500;
    // One slow request first: it waits for the ack until its deadline, then 503.
    let started = Date.now();
    const slow = await create('slow-0', deadlineMs);
    const slowMs = Date.now() - started;
    expect(slow.statusCode).toBe(503);
    expect(slow.json()).toMatchObject({ code: 'unavailable' });
    expect(Number(slow.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(slowMs).toBeGreaterThan(deadlineMs - 200);
    expect(slowMs).toBeLessThan(deadlineMs + 300);

    // Now a burst of 12: one slot, one queue place, every other request shed at once.
    started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const res = await create(`burst-${i}`, deadlineMs);
        return { res, ms: Date.now() - started };
      }),
    );
    const fast = answers.filter((a) => a.ms < 500);
    for (const { res, ms } of answers) {
      expect([429, 503]).toContain(res.statusCode);
      expect(res.headers['content-type']).toBe('application/json');
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(ms).toBeLessThan(deadlineMs + 300);
    }
    // At most the admitted request and the queued one wait; the rest are shed at once.
    expect(fast.length).toBeGreaterThanOrEqual(10);
    for (const { res } of fast) expect(res.json()).toMatchObject({ code: 'resource_exhausted' });
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(
      /roomring_http_shed_total\{reason="(queue-full|deadline)"\} [1-9]/,
    );
    partner.child.kill('SIGCONT');
  });
});
