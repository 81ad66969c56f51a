/**
 * Connections, as packages/core/src/transport.ts documents them: `dial` resolves with the
 * peer (its own `peerId` for an address that leads back to this node, or a rejection, and no
 * connection either way) and fails within its `timeoutMs`; `peerConnected` and
 * `peerDisconnected` fire once per peer however many dials were made; `connectedPeers()`
 * agrees with them; `hangUp` closes; `stop()` closes every connection and stops listening.
 */
import { expect } from 'vitest';
import { isDialTimeout } from '../../src/transport.js';
import {
  type ContractCase,
  connect,
  connectionEvents,
  DIAL_TIMEOUT_MS,
  eventually,
  expectAtDeadline,
  expectKind,
  settled,
  track,
} from './observe.js';

/** Short enough to wait for on a real clock, long enough for a loopback handshake, and
 *  twice a real harness's timing slack (see request-cases.ts). */
const SHORT_DIAL_TIMEOUT_MS = 500;

export const CONNECTION_CASES = {
  'connect-redial-hang-up': {
    title:
      'connections: peerConnected and peerDisconnected fire once per peer on each side, however many dials; connectedPeers() agrees; hangUp closes',
    async run(h) {
      const [a, b] = await h.create(2);
      const atA = connectionEvents(a!);
      const atB = connectionEvents(b!);
      const dialB = () => a!.dial(b!.listenAddresses()[0]!, { timeoutMs: DIAL_TIMEOUT_MS });
      const dialA = () => b!.dial(a!.listenAddresses()[0]!, { timeoutMs: DIAL_TIMEOUT_MS });

      await connect(h, a!, b!);
      await h.until(() => atA.length >= 1 && atB.length >= 1, h.patienceMs, 'connect events');
      // Dial again, both ways: the same peer, no second connection event.
      expect(await eventually(h, dialB(), 'redial b')).toBe(b!.peerId);
      expect(await eventually(h, dialA(), 'dial back a')).toBe(a!.peerId);
      expect(a!.connectedPeers()).toEqual([b!.peerId]);
      expect(b!.connectedPeers()).toEqual([a!.peerId]);

      await settled(h, track(h, a!.hangUp(b!.peerId)), 'hang up');
      await h.until(() => atA.length >= 2 && atB.length >= 2, h.patienceMs, 'disconnect events');
      await h.until(
        () => a!.connectedPeers().length === 0 && b!.connectedPeers().length === 0,
        h.patienceMs,
        'no peers after the hang-up',
      );
      // Connect once more: its event fences off any late duplicate of the earlier ones.
      await connect(h, a!, b!);
      await h.until(() => atA.length >= 3 && atB.length >= 3, h.patienceMs, 'reconnect events');
      expect(atA).toEqual([`+${b!.peerId}`, `-${b!.peerId}`, `+${b!.peerId}`]);
      expect(atB).toEqual([`+${a!.peerId}`, `-${a!.peerId}`, `+${a!.peerId}`]);
    },
  },

  'stop-closes-everything': {
    title:
      'stop: every peer sees peerDisconnected once, the stopped node lists no peers, and its address refuses dials',
    async run(h) {
      const [a, b, c] = await h.create(3);
      const atA = connectionEvents(a!);
      const atC = connectionEvents(c!);
      await connect(h, a!, b!);
      await connect(h, c!, b!);
      const address = b!.listenAddresses()[0]!;
      await settled(h, track(h, b!.stop()), 'stop');
      expect(b!.connectedPeers()).toEqual([]);
      await h.until(
        () => !a!.connectedPeers().includes(b!.peerId) && !c!.connectedPeers().includes(b!.peerId),
        h.patienceMs,
        'the others lost b',
      );
      const redial = await settled(
        h,
        track(h, a!.dial(address, { timeoutMs: DIAL_TIMEOUT_MS })),
        'dial the stopped node',
      );
      expectKind(h, redial, ['unreachable'], 'dial the stopped node');
      expect(atA).toEqual([`+${b!.peerId}`, `-${b!.peerId}`]);
      expect(atC).toEqual([`+${b!.peerId}`, `-${b!.peerId}`]);
    },
  },

  'dial-refused': {
    title: 'dial: an address where nothing listens fails (unreachable) before its timeout',
    async run(h) {
      const [a] = await h.create(1);
      const events = connectionEvents(a!);
      const address = await h.refusedAddress();
      const startedAtMs = h.nowMs();
      const dial = await settled(
        h,
        track(h, a!.dial(address, { timeoutMs: DIAL_TIMEOUT_MS })),
        'dial a refused address',
      );
      expectKind(h, dial, ['unreachable'], 'dial a refused address');
      // Proof that nothing listens there: not a DialTimeoutError (the failure detector
      // declares a member dead on it, docs/protocol/membership.md "Probes").
      expect(isDialTimeout(dial.error), 'a refused dial is no DialTimeoutError').toBe(false);
      expect(dial.atMs! - startedAtMs).toBeLessThan(DIAL_TIMEOUT_MS);
      expect(a!.connectedPeers()).toEqual([]);
      expect(events).toEqual([]);
    },
  },

  'dial-unresponsive': {
    title:
      'dial: an address that never completes the handshake fails (unreachable or timeout) at its timeout',
    async run(h) {
      const [a] = await h.create(1);
      const address = await h.unresponsiveAddress();
      const startedAtMs = h.nowMs();
      const dial = await settled(
        h,
        track(h, a!.dial(address, { timeoutMs: SHORT_DIAL_TIMEOUT_MS })),
        'dial an unresponsive address',
      );
      expectKind(h, dial, ['unreachable', 'timeout'], 'dial an unresponsive address');
      // A stopped process may still be there: the failure detector keeps it suspect.
      expect(isDialTimeout(dial.error), `${String(dial.error)} is a DialTimeoutError`).toBe(true);
      expectAtDeadline(h, startedAtMs, dial, SHORT_DIAL_TIMEOUT_MS, 'unresponsive dial');
      expect(a!.connectedPeers()).toEqual([]);
    },
  },

  'dial-self': {
    title:
      'dial: an address that leads back to this node resolves with its own peer id or rejects, and opens no connection',
    async run(h) {
      const [a, b] = await h.create(2);
      const events = connectionEvents(a!);
      const self = await settled(
        h,
        track(h, a!.dial(a!.listenAddresses()[0]!, { timeoutMs: DIAL_TIMEOUT_MS })),
        'dial self',
      );
      if (self.error === undefined) expect(self.value).toBe(a!.peerId);
      else expect(self.error).toBeInstanceOf(Error);
      expect(a!.connectedPeers()).toEqual([]);
      // A real connection's event fences off a late one for the self-dial.
      await connect(h, a!, b!);
      await h.until(() => events.length >= 1, h.patienceMs, 'connect event');
      expect(events).toEqual([`+${b!.peerId}`]);
      expect(a!.connectedPeers()).toEqual([b!.peerId]);
    },
  },
} as const satisfies Record<string, ContractCase>;
