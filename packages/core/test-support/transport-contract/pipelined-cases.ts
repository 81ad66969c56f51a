/**
 * Pipelined requests (`RequestOptions.pipelined`): the same outcomes as any request with a
 * one-frame answer, whether or not the transport carries them on a shared stream. The cases
 * are written so a shared stream's own failure modes show: answers completing out of order
 * must reach their own callers; one request failing (handler error, deadline, abort) must
 * not fail the others or the next one; a responder that goes away fails what is pending.
 */
import { expect } from 'vitest';
import {
  bytes,
  type ContractCase,
  connect,
  expectAtDeadline,
  expectKind,
  type Gate,
  gate,
  holdingHandler,
  pair,
  readAll,
  readStream,
  settled,
  text,
  track,
} from './observe.js';
import { stopFailsPendingCase, unsupportedProtocolCase } from './request-cases.js';

const OPTIONS = { timeoutMs: 10_000, framesMax: 1, pipelined: true };
const SHORT_TIMEOUT_MS = 500;

export const PIPELINED_CASES = {
  'pipelined-out-of-order': {
    title:
      'pipelined: 6 requests in flight at once, answered in reverse order, each get their own answer',
    async run(h) {
      const { client, server } = await pair(h);
      const gates = new Map<string, Gate>();
      const seen: string[] = [];
      server.handle('/contract/held/1', async (request, from) => {
        const name = text(request);
        seen.push(`${name}:${from === client.peerId}`);
        const held = gate();
        gates.set(name, held);
        await held.promise;
        return bytes(`answer:${name}`);
      });
      // 6: below any responder's limit on requests served per peer at once (libp2p: 8).
      const names = Array.from({ length: 6 }, (_, i) => `r${i}`);
      const reads = names.map((name) =>
        readStream(h, client.request(server.peerId, '/contract/held/1', bytes(name), OPTIONS)),
      );
      await h.until(() => gates.size === names.length, h.patienceMs, 'every handler runs');
      for (const name of [...names].reverse()) gates.get(name)!.open();
      for (const [i, read] of reads.entries()) {
        await settled(h, read.outcome, `request ${i}`);
        expect(read.outcome.error, `request ${i}`).toBeUndefined();
        expect(read.frames.map(text)).toEqual([`answer:${names[i]}`]);
      }
      expect([...seen].sort()).toEqual(names.map((name) => `${name}:true`).sort());
    },
  },

  'pipelined-one-fails': {
    title:
      'pipelined: a handler that throws fails its own request (remote); requests beside it and after it succeed',
    async run(h) {
      const { client, server } = await pair(h);
      server.handle('/contract/maybe/1', async (request) => {
        const name = text(request);
        if (name === 'bad') throw new Error('refused');
        return bytes(`ok:${name}`);
      });
      const ask = (name: string) =>
        readStream(h, client.request(server.peerId, '/contract/maybe/1', bytes(name), OPTIONS));
      const reads = [ask('a'), ask('bad'), ask('b')];
      for (const read of reads) await settled(h, read.outcome, 'request');
      expect(reads[0]!.frames.map(text)).toEqual(['ok:a']);
      expectKind(h, reads[1]!.outcome, ['remote'], 'throwing handler');
      expect(reads[2]!.frames.map(text)).toEqual(['ok:b']);
      const after = await readAll(
        h,
        client.request(server.peerId, '/contract/maybe/1', bytes('c'), OPTIONS),
        'after the failure',
      );
      expect(after.outcome.error).toBeUndefined();
      expect(after.frames.map(text)).toEqual(['ok:c']);
    },
  },

  'pipelined-deadline': {
    title:
      'pipelined: a request never answered fails (timeout) at timeoutMs; one sent after it still succeeds',
    async run(h) {
      const { client, server } = await pair(h);
      const never = holdingHandler();
      try {
        server.handle('/contract/never/1', never.handler);
        server.handle('/contract/echo/1', async (request) => request);
        const silent = readStream(
          h,
          client.request(server.peerId, '/contract/never/1', bytes(''), {
            ...OPTIONS,
            timeoutMs: SHORT_TIMEOUT_MS,
          }),
        );
        await settled(h, silent.outcome, 'silent responder');
        expectKind(h, silent.outcome, ['timeout'], 'silent responder');
        expectAtDeadline(h, silent.startedAtMs, silent.outcome, SHORT_TIMEOUT_MS, 'silent');
        const echo = await readAll(
          h,
          client.request(server.peerId, '/contract/echo/1', bytes('still here'), OPTIONS),
          'echo after a timeout',
        );
        expect(echo.outcome.error).toBeUndefined();
        expect(echo.frames.map(text)).toEqual(['still here']);
      } finally {
        never.release();
      }
    },
  },

  'pipelined-abort-signal': {
    title: "pipelined: the caller's signal fails its request (aborted) at once; others go on",
    async run(h) {
      const { client, server } = await pair(h);
      const held = gate();
      let entered = 0;
      server.handle('/contract/held/1', async (request) => {
        entered++;
        await held.promise;
        return request;
      });
      const controller = new AbortController();
      const aborted = readStream(
        h,
        client.request(server.peerId, '/contract/held/1', bytes('a'), {
          ...OPTIONS,
          signal: controller.signal,
        }),
      );
      const other = readStream(
        h,
        client.request(server.peerId, '/contract/held/1', bytes('b'), OPTIONS),
      );
      await h.until(() => entered === 2, h.patienceMs, 'both handlers run');
      const abortedAtMs = h.nowMs();
      controller.abort();
      await settled(h, aborted.outcome, 'aborted request');
      expectKind(h, aborted.outcome, ['aborted'], 'aborted request');
      expectAtDeadline(h, abortedAtMs, aborted.outcome, 0, 'abort');
      held.open();
      await settled(h, other.outcome, 'the other request');
      expect(other.outcome.error).toBeUndefined();
      expect(other.frames.map(text)).toEqual(['b']);
    },
  },

  'pipelined-unsupported-protocol': unsupportedProtocolCase(
    'pipelined: a protocol the peer does not handle fails the request (remote)',
    { pipelined: true },
  ),

  'pipelined-responder-stops': {
    title:
      'pipelined: the responder stopping fails every request pending on it (closed); a new responder is reached afresh',
    async run(h) {
      const [server, client, other] = await h.create(3);
      await connect(h, client!, server!);
      await connect(h, client!, other!);
      const never = holdingHandler();
      try {
        server!.handle('/contract/hold/1', never.handler);
        other!.handle('/contract/hold/1', async (request) => request);
        const reads = [0, 1, 2].map(() =>
          readStream(
            h,
            client!.request(server!.peerId, '/contract/hold/1', bytes(''), {
              ...OPTIONS,
              timeoutMs: 60_000,
            }),
          ),
        );
        await h.until(() => never.entered() === 3, h.patienceMs, 'three handlers run');
        await settled(h, track(h, server!.stop()), 'responder stops');
        for (const read of reads) {
          await settled(h, read.outcome, 'request after the responder stopped');
          expectKind(h, read.outcome, ['closed'], 'request after the responder stopped');
        }
        const fine = await readAll(
          h,
          client!.request(other!.peerId, '/contract/hold/1', bytes('other'), OPTIONS),
          'another responder',
        );
        expect(fine.outcome.error).toBeUndefined();
        expect(fine.frames.map(text)).toEqual(['other']);
      } finally {
        never.release();
      }
    },
  },

  'pipelined-stop': stopFailsPendingCase(
    "pipelined: stop() fails the requester's pending pipelined requests (closed)",
    { pipelined: true },
  ),
} as const satisfies Record<string, ContractCase>;
