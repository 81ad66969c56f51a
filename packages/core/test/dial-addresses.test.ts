import { describe, expect, it } from 'vitest';
import { Backoff } from '../src/backoff.js';
import { dialOrder, endpointOf, isOwnAddress } from '../src/dial-addresses.js';

const ID = '12D3KooWJ8aZhpDTpCnnh9eBh3JjWBGaiydm4fckL3xHuhDZYCMs';

describe('endpointOf', () => {
  it.each([
    [`/ip4/198.18.0.11/tcp/7900/p2p/${ID}`, '198.18.0.11:7900'],
    ['/ip4/198.18.0.11/tcp/7900', '198.18.0.11:7900'],
    ['198.18.0.11:7900', '198.18.0.11:7900'],
    [`/ip6/2001:db8::1/tcp/7900/p2p/${ID}`, '[2001:db8::1]:7900'],
    ['[2001:DB8::1]:7900', '[2001:db8::1]:7900'],
    ['/dns/Node-1.example.net/tcp/7900', 'node-1.example.net:7900'],
    ['node-1.example.net:07900', 'node-1.example.net:7900'],
  ])('%s -> %s', (address, endpoint) => {
    expect(endpointOf(address)).toBe(endpoint);
  });

  it.each(['memory/peer-1', '/ip4/1.2.3.4/udp/7900', '/unix/tmp/sock', 'no-port', ''])(
    'none for %j',
    (address) => {
      expect(endpointOf(address)).toBeUndefined();
    },
  );
});

describe('isOwnAddress', () => {
  const own = [`/ip4/198.18.0.11/tcp/7900/p2p/${ID}`, `/ip4/198.19.0.2/tcp/7900/p2p/${ID}`];
  it('recognises a seed written host:port as one of our multiaddrs', () => {
    expect(isOwnAddress('198.18.0.11:7900', own)).toBe(true);
    expect(isOwnAddress('198.19.0.2:7900', own)).toBe(true);
  });
  it('does not mistake another port or host for us', () => {
    expect(isOwnAddress('198.18.0.11:7901', own)).toBe(false);
    expect(isOwnAddress('198.18.0.12:7900', own)).toBe(false);
  });
  it('compares other address forms whole', () => {
    expect(isOwnAddress('memory/peer-1', ['memory/peer-1'])).toBe(true);
    expect(isOwnAddress('memory/peer-1', ['memory/peer-2'])).toBe(false);
  });
});

describe('dialOrder', () => {
  const addresses = ['a', 'b', 'c'];
  it('keeps the advertised order until an address has worked', () => {
    expect(dialOrder(addresses, undefined)).toEqual(['a', 'b', 'c']);
  });
  it('puts the address that worked last first', () => {
    expect(dialOrder(addresses, 'c')).toEqual(['c', 'a', 'b']);
  });
  it('forgets a worked address the member no longer advertises', () => {
    expect(dialOrder(addresses, 'z')).toEqual(['a', 'b', 'c']);
  });
});

describe('Backoff.attemptUnderWay', () => {
  const top = { nextUint32: () => 2 ** 32 - 1 };
  it('is true while held, false once the attempt failed or succeeded or its hold ran out', () => {
    const b = new Backoff(100, 10_000);
    expect(b.attemptUnderWay(0)).toBe(false);
    b.hold(0, 500);
    expect(b.attemptUnderWay(499)).toBe(true);
    expect(b.attemptUnderWay(500)).toBe(false);
    b.hold(1_000, 500);
    b.failed(1_100, top);
    // Waiting out the delay after a failure is not an attempt under way.
    expect(b.ready(1_150)).toBe(false);
    expect(b.attemptUnderWay(1_150)).toBe(false);
    b.hold(2_000, 500);
    b.succeeded();
    expect(b.attemptUnderWay(2_100)).toBe(false);
  });
});
