/**
 * Gossip, as packages/core/src/transport.ts documents it: `publish` reaches every subscribed
 * peer and reports how many; each handler sees each message once, after duplicate
 * suppression, with `origin` (the publisher) and `propagationSource` (the neighbour that
 * handed it over); the verdict decides forwarding ('accept' forwards, 'ignore' and 'reject'
 * drop). Gossip ordering is not promised, so nothing here depends on it.
 */
import { expect } from 'vitest';
import type { GossipMessage } from '../../src/transport.js';
import { bytes, type ContractCase, connect, eventually, inbox, text } from './observe.js';

const TOPIC = 'contract/rooms';
const OTHER_TOPIC = 'contract/other';
const NOBODY_TOPIC = 'contract/nobody';

const bodies = (messages: readonly GossipMessage[]): string[] =>
  messages.map((message) => text(message.data));

export const GOSSIP_CASES = {
  'gossip-ring-exactly-once': {
    title:
      'gossip: in a ring of 4, each publish reaches every other subscriber exactly once, with its origin and the neighbour that handed it over',
    async run(h) {
      // Ring 0-1-2-3-0: the opposite node is two hops away on two paths, so copies of every
      // message reach its gossip layer twice and only duplicate suppression keeps it to one.
      const nodes = await h.create(4);
      const inboxes = nodes.map((node) => inbox(node, TOPIC));
      for (let i = 0; i < 4; i++) await connect(h, nodes[i]!, nodes[(i + 1) % 4]!);
      for (const node of nodes) await h.gossipReady(node, TOPIC, 2);
      const perNode = 3;
      for (let k = 0; k < perNode; k++) {
        for (const [i, node] of nodes.entries()) {
          await eventually(h, node.publish(TOPIC, bytes(`m:${i}:${k}`)), `node ${i} publishes`);
        }
      }
      const expected = 3 * perNode;
      await h.until(
        () => inboxes.every((received) => received.length >= expected),
        h.patienceMs,
        `${expected} messages at every node`,
      );
      await h.flushGossip(nodes);
      const ids = nodes.map((node) => node.peerId);
      for (const [i, received] of inboxes.entries()) {
        const others = [1, 2, 3].map((d) => (i + d) % 4);
        const want = others.flatMap((p) =>
          Array.from({ length: perNode }, (_, k) => `m:${p}:${k}`),
        );
        // Exactly once each, and never the node's own messages back.
        expect(bodies(received).sort(), `node ${i}`).toEqual(want.sort());
        const neighbours = [ids[(i + 1) % 4], ids[(i + 3) % 4]];
        for (const message of received) {
          const publisher = Number(text(message.data).split(':')[1]);
          expect(message.topic).toBe(TOPIC);
          expect(message.origin).toBe(ids[publisher]);
          expect(neighbours).toContain(message.propagationSource);
          if (publisher === (i + 2) % 4) {
            expect(message.propagationSource, 'forwarded').not.toBe(message.origin);
          }
        }
      }
    },
  },

  'gossip-verdicts': {
    title:
      "gossip: 'accept' forwards, 'ignore' and 'reject' drop (a line A - B - C where B judges)",
    async run(h) {
      const [a, b, c] = await h.create(3);
      const atA = inbox(a!, TOPIC);
      const atB = inbox(b!, TOPIC, (message) => {
        const body = text(message.data);
        return body === 'good' ? 'accept' : body === 'meh' ? 'ignore' : 'reject';
      });
      const atC = inbox(c!, TOPIC);
      await connect(h, a!, b!);
      await connect(h, c!, b!);
      await h.gossipReady(a!, TOPIC, 1);
      await h.gossipReady(b!, TOPIC, 2);
      await h.gossipReady(c!, TOPIC, 1);
      for (const body of ['bad', 'meh', 'good']) {
        expect(await eventually(h, a!.publish(TOPIC, bytes(body)), `publish ${body}`)).toEqual({
          recipients: 1,
        });
      }
      await h.until(
        () => atB.length >= 3 && atC.length >= 1,
        h.patienceMs,
        'B judged all three, C got the accepted one',
      );
      await h.flushGossip([a!, b!, c!]);
      expect(bodies(atB).sort()).toEqual(['bad', 'good', 'meh']);
      for (const message of atB) {
        expect(message.origin).toBe(a!.peerId);
        expect(message.propagationSource).toBe(a!.peerId);
      }
      expect(bodies(atC)).toEqual(['good']);
      expect(atC[0]!.origin).toBe(a!.peerId);
      expect(atC[0]!.propagationSource).toBe(b!.peerId);
      // The publisher's own handler never sees its message (nor a forwarded copy of it).
      expect(atA).toEqual([]);
    },
  },

  'gossip-topics-and-recipients': {
    title:
      'gossip: publish reaches only subscribers of its topic, resolves with their number, and resolves 0 with none',
    async run(h) {
      // A star: X in the middle; P and Q subscribe to TOPIC, W only to OTHER_TOPIC.
      const [x, p, q, w, lonely] = await h.create(5);
      const atX = inbox(x!, TOPIC);
      const atXOther = inbox(x!, OTHER_TOPIC);
      const atP = inbox(p!, TOPIC);
      const atQ = inbox(q!, TOPIC);
      const atW = inbox(w!, OTHER_TOPIC);
      for (const leaf of [p!, q!, w!]) await connect(h, leaf, x!);
      await h.gossipReady(x!, TOPIC, 2);
      await h.gossipReady(x!, OTHER_TOPIC, 1);

      const onTopic = await eventually(h, x!.publish(TOPIC, bytes('t')), 'publish on TOPIC');
      const onOther = await eventually(h, x!.publish(OTHER_TOPIC, bytes('o')), 'publish on OTHER');
      const onNobody = await eventually(
        h,
        x!.publish(NOBODY_TOPIC, bytes('n')),
        'publish on NOBODY',
      );
      expect(onTopic).toEqual({ recipients: 2 });
      expect(onOther).toEqual({ recipients: 1 });
      // "never throws because no peer is subscribed yet": connected peers, none subscribed...
      expect(onNobody).toEqual({ recipients: 0 });
      // ...and no peer at all, on a topic the publisher itself subscribes to.
      inbox(lonely!, TOPIC);
      expect(await eventually(h, lonely!.publish(TOPIC, bytes('alone')), 'lonely publish')).toEqual(
        { recipients: 0 },
      );

      await h.until(
        () => atP.length >= 1 && atQ.length >= 1 && atW.length >= 1,
        h.patienceMs,
        'each subscriber got its topic',
      );
      await h.flushGossip([x!, p!, q!, w!]);
      for (const received of [atP, atQ]) {
        expect(bodies(received)).toEqual(['t']);
        expect(received[0]!.topic).toBe(TOPIC);
        expect(received[0]!.origin).toBe(x!.peerId);
        expect(received[0]!.propagationSource).toBe(x!.peerId);
      }
      expect(bodies(atW)).toEqual(['o']);
      expect(atW[0]!.topic).toBe(OTHER_TOPIC);
      expect(atX).toEqual([]);
      expect(atXOther).toEqual([]);
    },
  },
} as const satisfies Record<string, ContractCase>;
