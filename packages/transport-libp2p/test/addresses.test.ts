/**
 * What a node advertises (listenAddresses) and how it treats a dial that leads back to itself
 * (issue 11). Listening on 0.0.0.0 here sends nothing anywhere: only the addresses are read,
 * and every dial goes to 127.0.0.1.
 */
import { networkInterfaces } from 'node:os';
import { multiaddr } from '@multiformats/multiaddr';
import { P2P_ADDRS_MAX } from '@roomring/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAdvertiseAddress, routableFirst } from '../src/address.js';
import {
  createLibp2pTransport,
  generateClusterKey,
  InvalidConfigError,
  type Libp2pTransport,
} from '../src/index.js';
import { hostPort, LOOPBACK, startNodes, stopAll } from './helpers.js';

const KEY = generateClusterKey();
const DIAL = { timeoutMs: 5_000 };

const addrs = (...list: string[]) => list.map((a) => multiaddr(a));
const strings = (list: readonly { toString(): string }[]) => list.map(String);

describe('routableFirst', () => {
  it.each([
    {
      why: 'a host on a network: its interface addresses, never its loopback',
      given: ['/ip4/127.0.0.1/tcp/7900', '/ip4/198.18.0.11/tcp/7900', '/ip4/10.0.0.5/tcp/7900'],
      want: ['/ip4/198.18.0.11/tcp/7900', '/ip4/10.0.0.5/tcp/7900'],
    },
    {
      why: 'a local cluster: loopback, since there is nothing else',
      given: ['/ip4/127.0.0.1/tcp/7900'],
      want: ['/ip4/127.0.0.1/tcp/7900'],
    },
    {
      why: 'IPv6 loopback and IPv4-mapped loopback count as loopback',
      given: ['/ip6/::1/tcp/7900', '/ip6/::ffff:127.0.0.1/tcp/7900', '/ip6/2001:db8::5/tcp/7900'],
      want: ['/ip6/2001:db8::5/tcp/7900'],
    },
    {
      why: 'the whole 127.0.0.0/8 is loopback',
      given: ['/ip4/127.0.1.1/tcp/7900', '/ip4/192.168.1.4/tcp/7900'],
      want: ['/ip4/192.168.1.4/tcp/7900'],
    },
    {
      why: 'duplicates once, order kept',
      given: ['/ip4/10.0.0.2/tcp/1', '/ip4/10.0.0.1/tcp/1', '/ip4/10.0.0.2/tcp/1'],
      want: ['/ip4/10.0.0.2/tcp/1', '/ip4/10.0.0.1/tcp/1'],
    },
    { why: 'nothing listening: nothing', given: [], want: [] },
  ])('$why', ({ given, want }) => {
    expect(strings(routableFirst(addrs(...given), P2P_ADDRS_MAX))).toEqual(want);
  });

  it('keeps at most `max` (a heartbeat carries P2P_ADDRS_MAX)', () => {
    const many = Array.from({ length: 40 }, (_, i) => `/ip4/10.0.${i}.1/tcp/7900`);
    const kept = routableFirst(addrs(...many), P2P_ADDRS_MAX);
    expect(strings(kept)).toEqual(many.slice(0, P2P_ADDRS_MAX));
  });
});

describe('advertised address option', () => {
  it.each([
    ['198.51.100.7:7900', '/ip4/198.51.100.7/tcp/7900'],
    ['[2001:db8::7]:7900', '/ip6/2001:db8::7/tcp/7900'],
    ['node-1.example.net:7900', '/dns/node-1.example.net/tcp/7900'],
    ['/dns4/node-1.example.net/tcp/443', '/dns4/node-1.example.net/tcp/443'],
  ])('parses %s', (given, want) => {
    expect(parseAdvertiseAddress(given).toString()).toBe(want);
  });

  it.each([
    '198.51.100.7',
    '198.51.100.7:0',
    '198.51.100.7:70000',
    '/ip4/198.51.100.7/udp/7900',
    '/ip4/198.51.100.7/tcp/7900/p2p/12D3KooWJ8aZhpDTpCnnh9eBh3JjWBGaiydm4fckL3xHuhDZYCMs',
    '',
  ])('refuses %j with InvalidConfigError', (address) => {
    expect(() => createLibp2pTransport({ clusterKey: KEY, advertiseAddresses: [address] })).toThrow(
      InvalidConfigError,
    );
  });

  it('refuses more than P2P_ADDRS_MAX addresses', () => {
    const many = Array.from({ length: P2P_ADDRS_MAX + 1 }, (_, i) => `10.0.0.${i + 1}:7900`);
    expect(() => createLibp2pTransport({ clusterKey: KEY, advertiseAddresses: many })).toThrow(
      /at most 16/,
    );
  });
});

describe('listenAddresses', () => {
  let nodes: Libp2pTransport[] = [];
  afterEach(async () => {
    await stopAll(nodes);
    nodes = [];
  });

  it('on 0.0.0.0: every non-loopback IPv4 interface address, loopback only if there is none', async () => {
    const node = createLibp2pTransport({ clusterKey: KEY, listenHost: '0.0.0.0', listenPort: 0 });
    nodes = [node];
    await node.start();
    const external = Object.values(networkInterfaces())
      .flat()
      .filter((i) => i !== undefined && i.family === 'IPv4' && !i.internal)
      .map((i) => i!.address)
      .filter((a) => !a.startsWith('169.254.'));
    const listed = node.listenAddresses();
    const hosts = listed.map((a) => a.split('/')[2]);
    expect(hosts).toEqual(external.length > 0 ? external : [LOOPBACK]);
    const port = listed[0]!.split('/tcp/')[1]!.split('/')[0];
    for (const address of listed) {
      expect(address).toMatch(new RegExp(`/tcp/${port}/p2p/${node.peerId}$`));
    }
  });

  it('on 127.0.0.1: the loopback address (a local cluster)', async () => {
    nodes = await startNodes(KEY, 1);
    expect(nodes[0]!.listenAddresses()).toEqual([
      `/ip4/127.0.0.1/tcp/${hostPort(nodes[0]!).split(':')[1]}/p2p/${nodes[0]!.peerId}`,
    ]);
  });

  it('with advertiseAddresses: exactly those, in that order, with the peer id', async () => {
    const node = createLibp2pTransport({
      clusterKey: KEY,
      listenHost: LOOPBACK,
      listenPort: 0,
      advertiseAddresses: ['192.0.2.9:7900', '[2001:db8::9]:17900', 'rr.example.net:7900'],
    });
    nodes = [node];
    await node.start();
    expect(node.listenAddresses()).toEqual([
      `/ip4/192.0.2.9/tcp/7900/p2p/${node.peerId}`,
      `/ip6/2001:db8::9/tcp/17900/p2p/${node.peerId}`,
      `/dns/rr.example.net/tcp/7900/p2p/${node.peerId}`,
    ]);
  });

  it('is empty before start and after stop', async () => {
    const node = createLibp2pTransport({ clusterKey: KEY, listenHost: LOOPBACK });
    expect(node.listenAddresses()).toEqual([]);
    await node.start();
    expect(node.listenAddresses()).toHaveLength(1);
    await node.stop();
    expect(node.listenAddresses()).toEqual([]);
  });
});

describe('a dial that leads back to this node', () => {
  let nodes: Libp2pTransport[] = [];
  afterEach(async () => {
    await stopAll(nodes);
    nodes = [];
  });

  it('resolves with its own peer id, without a connection, by host:port and by multiaddr', async () => {
    nodes = await startNodes(KEY, 2);
    const [a, b] = nodes;
    expect(await a!.dial(hostPort(a!), DIAL)).toBe(a!.peerId);
    expect(await a!.dial(a!.listenAddresses()[0]!, DIAL)).toBe(a!.peerId);
    expect(a!.connectedPeers()).toEqual([]);
    // And another node's address still reaches that node.
    expect(await a!.dial(hostPort(b!), DIAL)).toBe(b!.peerId);
  });
});
