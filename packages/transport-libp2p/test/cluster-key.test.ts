import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DialTimeoutError,
  generateClusterKey,
  type Libp2pTransport,
  PeerUnreachableError,
} from '../src/index.js';
import { deferred, failure, hostPort, startNodes, stopAll, str, text } from './helpers.js';

const TOPIC = 'roomring/rooms/v1';
const DIAL = { timeoutMs: 5_000 };
const WRONG_KEY_DIAL = { timeoutMs: 1_500 };

describe('a node with another cluster key', () => {
  let members: Libp2pTransport[] = [];
  let outsider: Libp2pTransport;
  const atOutsider: string[] = [];
  const atMembers: Array<{ origin: string; body: string }> = [];
  let onMemberMessage: (() => void) | undefined;

  beforeAll(async () => {
    members = await startNodes(generateClusterKey(), 2);
    outsider = (await startNodes(generateClusterKey(), 1))[0]!;
    outsider!.subscribe(TOPIC, (message) => {
      atOutsider.push(str(message.data));
      return 'accept';
    });
    for (const member of members) {
      member.subscribe(TOPIC, (message) => {
        atMembers.push({ origin: message.origin, body: str(message.data) });
        onMemberMessage?.();
        return 'accept';
      });
    }
    await members[1]!.dial(hostPort(members[0]!), DIAL);
    await members[0]!.waitForTopicPeers(TOPIC, 1, { timeoutMs: 10_000 });
  });

  afterAll(async () => {
    await stopAll([...members, outsider]);
  });

  it('cannot dial a member, and a member cannot dial it', async () => {
    // A wrong key garbles the noise handshake, which then waits for bytes that never make
    // sense: the dial fails by its timeout (DialTimeoutError) or a reset
    // (PeerUnreachableError), whichever comes first, never by connecting.
    const refused = (error: Error) =>
      error instanceof DialTimeoutError || error instanceof PeerUnreachableError;
    const outward = await failure(() => outsider.dial(hostPort(members[0]!), WRONG_KEY_DIAL));
    expect(refused(outward), String(outward)).toBe(true);
    const inward = await failure(() => members[1]!.dial(hostPort(outsider), WRONG_KEY_DIAL));
    expect(refused(inward), String(inward)).toBe(true);
    expect(outsider.connectedPeers()).toEqual([]);
    expect(members[0]!.connectedPeers()).toEqual([members[1]!.peerId]);
  });

  it('neither receives the cluster gossip nor gets its own published', async () => {
    const delivered = deferred();
    onMemberMessage = () => delivered.resolve();
    const before = atMembers.length;
    const result = await members[0]!.publish(TOPIC, text('members only'));
    expect(result.recipients).toBe(1); // the other member, not the outsider
    // The positive control arrives at the other member...
    await delivered.promise;
    expect(atMembers.slice(before)).toEqual([{ origin: members[0]!.peerId, body: 'members only' }]);
    // ...while the outsider has no connection to send or receive on at all.
    expect(await outsider.publish(TOPIC, text('let me in'))).toEqual({ recipients: 0 });
    expect(outsider.topicPeers(TOPIC)).toEqual([]);
    expect(atOutsider).toEqual([]);
    expect(atMembers.some((message) => message.origin === outsider.peerId)).toBe(false);
  });
});
