import { describe, expect, it } from 'vitest';
import { type CaughtError, Guard } from '../src/guards.js';
import type { Timers } from '../src/runtime.js';
import type {
  GossipMessage,
  GossipVerdict,
  RequestHandler,
  Transport,
  TransportListener,
} from '../src/transport.js';

/** Records what the guarded wrappers hand to the "adapter" so the test can fire it. */
function fakes() {
  const timers: (() => void)[] = [];
  const gossip = new Map<string, (m: GossipMessage) => GossipVerdict>();
  const handlers = new Map<string, RequestHandler>();
  const listeners: TransportListener[] = [];
  const rawTimers: Timers = {
    setTimer: (_delayMs, callback) => {
      timers.push(callback);
      return () => undefined;
    },
  };
  const rawTransport = {
    peerId: 'me',
    subscribe: (topic: string, handler: (m: GossipMessage) => GossipVerdict) =>
      gossip.set(topic, handler),
    handle: (protocol: string, handler: RequestHandler) => handlers.set(protocol, handler),
    addListener: (listener: TransportListener) => listeners.push(listener),
  } as unknown as Transport;
  return { timers, gossip, handlers, listeners, rawTimers, rawTransport };
}

const boom = (): never => {
  throw new Error('boom');
};

describe('Guard', () => {
  it('catches what each kind of scheduled callback throws, counts it by kind and reports it', async () => {
    const reported: CaughtError[] = [];
    const guard = new Guard((caught) => reported.push(caught));
    const f = fakes();
    const timers = guard.timers(f.rawTimers);
    const transport = guard.transport(f.rawTransport);

    let ranAfter = false;
    timers.setTimer(10, function lifecycleTick() {
      boom();
    });
    timers.setTimer(10, () => {
      ranAfter = true;
    });
    for (const fire of f.timers) expect(() => fire()).not.toThrow();
    expect(ranAfter).toBe(true);

    transport.subscribe('rooms', () => boom());
    const verdict = f.gossip.get('rooms')!({
      topic: 'rooms',
      origin: 'p',
      propagationSource: 'p',
      data: new Uint8Array(1),
    });
    expect(verdict).toBe('ignore');

    transport.handle('/sync', () => boom());
    const answer = f.handlers.get('/sync')!(new Uint8Array(1), 'p');
    await expect(answer as Promise<Uint8Array>).rejects.toThrow('boom');

    transport.addListener({ peerConnected: () => boom(), peerDisconnected: () => boom() });
    expect(() => f.listeners[0]!.peerConnected!('p')).not.toThrow();
    expect(() => f.listeners[0]!.peerDisconnected!('p')).not.toThrow();

    guard.task('background', Promise.reject(new Error('late')));
    await new Promise((resolve) => setImmediate(resolve));

    expect(guard.counts).toEqual({
      timer: 1,
      'gossip-handler': 1,
      'request-handler': 1,
      listener: 2,
      task: 1,
    });
    expect(reported.map((r) => `${r.kind}:${r.context}`)).toEqual([
      'timer:lifecycleTick',
      'gossip-handler:rooms',
      'request-handler:/sync',
      'listener:peerConnected',
      'listener:peerDisconnected',
      'task:background',
    ]);
  });

  it('survives a reporter that throws', () => {
    const guard = new Guard(() => boom());
    expect(() => guard.run('timer', 't', () => boom())).not.toThrow();
    expect(guard.counts.timer).toBe(1);
  });

  it('passes results through untouched when nothing throws', () => {
    const guard = new Guard(() => undefined);
    const f = fakes();
    const transport = guard.transport(f.rawTransport);
    transport.subscribe('rooms', () => 'reject');
    expect(
      f.gossip.get('rooms')!({
        topic: 'rooms',
        origin: 'p',
        propagationSource: 'p',
        data: new Uint8Array(1),
      }),
    ).toBe('reject');
    expect(transport.peerId).toBe('me');
    expect(Object.values(guard.counts).every((n) => n === 0)).toBe(true);
  });
});
