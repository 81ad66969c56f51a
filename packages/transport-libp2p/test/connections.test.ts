import { afterEach, describe, expect, it } from 'vitest';
import {
  createLibp2pTransport,
  DialTimeoutError,
  generateClusterKey,
  generatePrivateKey,
  InvalidAddressError,
  type Libp2pTransport,
  PeerUnreachableError,
  TransportStoppedError,
} from '../src/index.js';
import {
  closeServer,
  collect,
  deferred,
  failure,
  hostPort,
  silentServer,
  startNodes,
  stopAll,
  text,
} from './helpers.js';

const DIAL = { timeoutMs: 5_000 };

/** A loopback port that refuses connections (bound, then released). */
async function closedPort(): Promise<number> {
  const { server, port } = await silentServer();
  await closeServer(server);
  return port;
}

describe('dialling', () => {
  const key = generateClusterKey();
  let nodes: Libp2pTransport[] = [];
  afterEach(async () => {
    await stopAll(nodes);
    nodes = [];
  });

  it('dials by host:port and by the multiaddr listenAddresses() gives, learning the peer id', async () => {
    nodes = await startNodes(key, 3);
    const [a, b, c] = nodes;
    const bothConnected = deferred();
    const connected = new Set<string>();
    a!.addListener({
      peerConnected: (peer) => {
        connected.add(peer);
        if (connected.size === 2) bothConnected.resolve();
      },
    });
    expect(await b!.dial(hostPort(a!), DIAL)).toBe(a!.peerId);
    const address = a!.listenAddresses()[0]!;
    expect(address).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${a!.peerId}$`));
    expect(await c!.dial(address, DIAL)).toBe(a!.peerId);
    // The listener side learns of an inbound connection when its own upgrade completes.
    await bothConnected.promise;
    expect([...connected].sort()).toEqual([b!.peerId, c!.peerId].sort());
    expect(a!.connectedPeers().sort()).toEqual([b!.peerId, c!.peerId].sort());
  });

  it('refuses a multiaddr whose peer id is not the listener', async () => {
    nodes = await startNodes(key, 3);
    const [a, b, c] = nodes;
    const wrongId = `/ip4/127.0.0.1/tcp/${hostPort(a!).split(':')[1]}/p2p/${c!.peerId}`;
    const error = await failure(() => b!.dial(wrongId, DIAL));
    expect(error).toBeInstanceOf(PeerUnreachableError);
  });

  it('gives PeerUnreachableError for a refused port, DialTimeoutError for a peer that never answers', async () => {
    nodes = await startNodes(key, 1);
    const [a] = nodes;
    const port = await closedPort();
    const refused = await failure(() => a!.dial(`127.0.0.1:${port}`, DIAL));
    expect(refused).toBeInstanceOf(PeerUnreachableError);
    const silent = await silentServer();
    try {
      const started = performance.now();
      const hung = await failure(() => a!.dial(`127.0.0.1:${silent.port}`, { timeoutMs: 300 }));
      expect(hung).toBeInstanceOf(DialTimeoutError);
      expect(hung.name).toBe('DialTimeoutError'); // what @roomring/core's isDialTimeout matches
      expect(performance.now() - started).toBeLessThan(300 + 2_000);
    } finally {
      for (const socket of silent.sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.server.close(() => resolve()));
    }
  });

  it('gives InvalidAddressError for addresses it cannot parse, without dialling', async () => {
    nodes = await startNodes(key, 1);
    const [a] = nodes;
    for (const address of [
      '',
      'localhost',
      '127.0.0.1',
      '127.0.0.1:0',
      '127.0.0.1:70000',
      '[::1',
      '[1.2.3.4]:80',
      '/not/a/multiaddr',
    ]) {
      const error = await failure(() => a!.dial(address, DIAL));
      expect(error, address).toBeInstanceOf(InvalidAddressError);
    }
  });

  it('refuses every operation before start and after stop', async () => {
    const node = createLibp2pTransport({ clusterKey: key });
    for (const run of [
      () => node.publish('t', text('x')),
      () => node.dial('127.0.0.1:1', DIAL),
      () => collect(node.request(node.peerId, '/p/1', text('x'), { timeoutMs: 100, framesMax: 1 })),
    ]) {
      expect(await failure(run)).toBeInstanceOf(TransportStoppedError);
    }
    expect(node.listenAddresses()).toEqual([]);
    expect(node.connectedPeers()).toEqual([]);
  });
});

describe('connection events', () => {
  const key = generateClusterKey();
  let nodes: Libp2pTransport[] = [];
  afterEach(async () => {
    await stopAll(nodes);
    nodes = [];
  });

  it('reports connect and disconnect once per peer, even over two connections', async () => {
    nodes = await startNodes(key, 2);
    const [a, b] = nodes;
    const events: string[] = [];
    const disconnected = deferred();
    a!.addListener({
      peerConnected: (peer) => events.push(`connect:${peer}`),
      peerDisconnected: (peer) => {
        events.push(`disconnect:${peer}`);
        disconnected.resolve();
      },
    });
    // Each side dials the other by host:port (no peer id known): two TCP connections.
    await b!.dial(hostPort(a!), DIAL);
    await a!.dial(hostPort(b!), DIAL);
    expect(a!.connectedPeers()).toEqual([b!.peerId]);
    await b!.stop();
    await disconnected.promise;
    expect(events).toEqual([`connect:${b!.peerId}`, `disconnect:${b!.peerId}`]);
    expect(a!.connectedPeers()).toEqual([]);
  });

  it('fires peerDisconnected at every other node when one stops', async () => {
    nodes = await startNodes(key, 3);
    const [a, b, c] = nodes;
    await b!.dial(hostPort(a!), DIAL);
    await c!.dial(hostPort(a!), DIAL);
    await c!.dial(hostPort(b!), DIAL);
    const seen = [deferred<string>(), deferred<string>()];
    b!.addListener({ peerDisconnected: (peer) => peer === a!.peerId && seen[0]!.resolve(peer) });
    c!.addListener({ peerDisconnected: (peer) => peer === a!.peerId && seen[1]!.resolve(peer) });
    await a!.stop();
    expect(await Promise.all(seen.map((s) => s.promise))).toEqual([a!.peerId, a!.peerId]);
    expect(b!.connectedPeers()).toEqual([c!.peerId]);
  });

  it('setBlockedPeers hangs up and refuses a peer both ways, until lifted', async () => {
    nodes = await startNodes(key, 2);
    const [a, b] = nodes;
    const aSaw = { connected: deferred(), dropped: deferred(), reconnected: deferred() };
    let connects = 0;
    a!.addListener({
      peerConnected: () => (++connects === 1 ? aSaw.connected : aSaw.reconnected).resolve(),
      peerDisconnected: () => aSaw.dropped.resolve(),
    });
    await b!.dial(hostPort(a!), DIAL);
    await aSaw.connected.promise;
    await a!.setBlockedPeers([b!.peerId]);
    await aSaw.dropped.promise;
    expect(a!.connectedPeers()).toEqual([]);
    // Outbound: refused once the handshake names the peer, even dialled by host:port.
    expect(await failure(() => a!.dial(hostPort(b!), DIAL))).toBeInstanceOf(Error);
    // Inbound: the dialler may see its handshake finish, but the connection is closed at
    // once and never reported at the blocking side.
    const bDropped = deferred();
    b!.addListener({ peerDisconnected: () => bDropped.resolve() });
    await b!.dial(hostPort(a!), DIAL).catch(() => bDropped.resolve());
    await bDropped.promise;
    expect(connects).toBe(1);
    await a!.setBlockedPeers([]);
    await b!.dial(hostPort(a!), DIAL);
    await aSaw.reconnected.promise;
    expect(a!.connectedPeers()).toEqual([b!.peerId]);
  });

  it('hangUp disconnects, and a throwing listener does not stop the others', async () => {
    nodes = await startNodes(key, 2);
    const [a, b] = nodes;
    const disconnected = deferred<string>();
    b!.addListener({
      peerDisconnected: () => {
        throw new Error('listener bug');
      },
    });
    b!.addListener({ peerDisconnected: (peer) => disconnected.resolve(peer) });
    await a!.dial(hostPort(b!), DIAL);
    await a!.hangUp(b!.peerId);
    expect(await disconnected.promise).toBe(a!.peerId);
    expect(b!.metrics().listenerErrors).toBe(1);
  });

  it('rejects pending requests with TransportStoppedError on stop', async () => {
    nodes = await startNodes(key, 2);
    const [server, client] = nodes;
    const entered = deferred();
    const never = deferred<Uint8Array>();
    server!.handle('/test/never/1', () => {
      entered.resolve();
      return never.promise;
    });
    await client!.dial(hostPort(server!), DIAL);
    const pending = collect(
      client!.request(server!.peerId, '/test/never/1', text(''), {
        timeoutMs: 30_000,
        framesMax: 1,
      }),
    );
    const outcome = failure(() => pending); // handle the rejection before it happens
    await entered.promise;
    await client!.stop();
    expect(await outcome).toBeInstanceOf(TransportStoppedError);
    never.resolve(new Uint8Array(0));
  });
});

describe('identity', () => {
  const key = generateClusterKey();
  let nodes: Libp2pTransport[] = [];
  afterEach(async () => {
    await stopAll(nodes);
    nodes = [];
  });

  it('a restarted node with the same private key keeps its peer id and is dialable by it', async () => {
    const privateKey = generatePrivateKey();
    const first = createLibp2pTransport({ clusterKey: key, privateKey });
    nodes.push(first);
    await first.start();
    const oldId = first.peerId;
    await first.stop();
    const second = createLibp2pTransport({ clusterKey: key, privateKey });
    nodes.push(second);
    await second.start();
    expect(second.peerId).toBe(oldId);
    const [peer] = await startNodes(key, 1);
    nodes.push(peer!);
    // A multiaddr naming the old id only connects if the handshake proves that identity.
    expect(
      await peer!.dial(`/ip4/127.0.0.1/tcp/${hostPort(second).split(':')[1]}/p2p/${oldId}`, DIAL),
    ).toBe(oldId);
  });

  it('the same transport can stop and start again, keeping its peer id and handlers', async () => {
    nodes = await startNodes(key, 2);
    const [a, b] = nodes;
    a!.handle('/test/echo/1', async (request) => request);
    const id = a!.peerId;
    await a!.stop();
    await a!.start();
    expect(a!.peerId).toBe(id);
    await b!.dial(a!.listenAddresses()[0]!, DIAL);
    const frames = await collect(
      b!.request(a!.peerId, '/test/echo/1', text('again'), { timeoutMs: 5_000, framesMax: 1 }),
    );
    expect(frames.map((frame) => new TextDecoder().decode(frame))).toEqual(['again']);
  });
});
