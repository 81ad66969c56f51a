/**
 * The yamux patch (patches/@chainsafe__libp2p-yamux@8.0.1.patch): a receiver grants window
 * once half of it is used, as hashicorp/yamux does, instead of answering every data frame
 * with a window-update frame (one more encrypted socket write per message received). Checked
 * by counting the window-update frames the requester's muxer sends while it reads answers.
 */
import type { Connection, Libp2p } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { afterEach, describe, expect, it } from 'vitest';
import { generateClusterKey, type Libp2pTransport } from '../src/index.js';
import { collect, hostPort, rawNode, startNodes, stopAll, text } from './helpers.js';

const KIB = 1024;
/** yamux frame types (spec): 0 data, 1 window update. */
const WINDOW_UPDATE = 1;

interface FrameHeader {
  type: number;
  flag: number;
}

/** Counts the window-update frames without SYN/ACK flags that `node` sends to `peer`. */
function countWindowUpdates(node: Libp2p, peer: string): { count: number } {
  const [connection] = node.getConnections(peerIdFromString(peer)) as Array<
    Connection & { muxer: { sendFrame(header: FrameHeader, data?: unknown): boolean } }
  >;
  if (connection === undefined) throw new Error('not connected');
  const counter = { count: 0 };
  const muxer = connection.muxer;
  const send = muxer.sendFrame.bind(muxer);
  muxer.sendFrame = (header, data) => {
    if (header.type === WINDOW_UPDATE && header.flag === 0) counter.count++;
    return send(header, data);
  };
  return counter;
}

describe('yamux flow control (patched)', () => {
  let nodes: Libp2pTransport[] = [];
  afterEach(async () => {
    await stopAll(nodes);
    nodes = [];
  });

  it('grants window once half is used, not once per frame received', async () => {
    nodes = await startNodes(generateClusterKey(), 2, { frameBytesMax: 64 * KIB });
    const [server, client] = nodes as [Libp2pTransport, Libp2pTransport];
    server.handle('/test/frames/1', async function* (request) {
      const [count, size] = new TextDecoder().decode(request).split(':').map(Number);
      for (let i = 0; i < count!; i++) yield new Uint8Array(size!).fill(i & 0xff);
    });
    await client.dial(hostPort(server), { timeoutMs: 5_000 });
    const raw = rawNode(client);
    const updates = countWindowUpdates(raw, server.peerId);
    const options = { timeoutMs: 30_000, framesMax: 10_000 };

    // 500 frames of 100 B: 50 KB, under half of yamux's initial 256 KiB window. The few
    // updates that are sent come from the window growing (yamux doubles it, up to
    // streamWindowBytesMax, while data arrives quickly), not from frames received.
    const small = await collect(
      client.request(server.peerId, '/test/frames/1', text('500:100'), options),
    );
    expect(small).toHaveLength(500);
    expect(updates.count).toBeLessThanOrEqual(10);
    const afterSmall = updates.count;

    // 4 MiB in 16 KiB frames: flow control must still grant window as the reader consumes
    // it, so the whole answer arrives, with a window update per half window or so (the
    // window grows up to streamWindowBytesMax), not one per frame (256).
    const large = await collect(
      client.request(server.peerId, '/test/frames/1', text('256:16384'), options),
    );
    expect(large).toHaveLength(256);
    expect(
      large.every((frame, i) => frame.byteLength === 16 * KIB && frame[0] === (i & 0xff)),
    ).toBe(true);
    expect(updates.count - afterSmall).toBeLessThanOrEqual(32);
  });
});
