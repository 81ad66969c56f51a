/**
 * Webhooks of one real node to two real receivers (--webhook-url a,b): each gets every event,
 * once, with the same stable id; a receiver that refuses does not hold up the other.
 */
import { createServer, type Server } from 'node:http';
import { WebhookReceiver } from 'livekit-server-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { webhookEventId } from '../src/webhooks.js';
import { eventually } from './helpers/server-process.js';
import { startTestServer, type TestServer } from './helpers/single-node.js';
import { TEST_KEY, TEST_SECRET } from './helpers/tokens.js';

const servers: Server[] = [];
let node: TestServer | undefined;
afterEach(async () => {
  await node?.close();
  node = undefined;
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function receiver(
  status: number,
): Promise<{ url: string; bodies: string[]; auths: string[] }> {
  const bodies: string[] = [];
  const auths: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      bodies.push(body);
      auths.push(req.headers.authorization ?? '');
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}/hooks`, bodies, auths };
}

describe('webhooks to several URLs', () => {
  it('posts every event to every URL; a refusing one does not hold up the others', async () => {
    const [a, b, refusing] = await Promise.all([receiver(200), receiver(200), receiver(500)]);
    node = await startTestServer({
      webhookUrls: [refusing.url, a.url, b.url],
      webhookKey: TEST_KEY,
    });
    // Joined once ready (no seeds) and one suspectAfterMs later.
    const metrics = async () => (await node!.app.inject({ method: 'GET', url: '/metrics' })).body;
    const room = await node.node.createRoom({ name: 'hooked' });
    await node.node.deleteRoom('hooked');
    await eventually(
      async () => a.bodies.length >= 2 && b.bodies.length >= 2,
      10_000,
      'both events at both receivers',
    );
    const verify = new WebhookReceiver(TEST_KEY, TEST_SECRET);
    for (const r of [a, b]) {
      const events = await Promise.all(r.bodies.map((body, i) => verify.receive(body, r.auths[i])));
      // At least once: a retry after a slow answer repeats an event with its id.
      const distinct = [...new Map(events.map((e) => [e.id, e])).values()];
      expect(distinct.map((e) => [e.event, e.room?.sid, e.id])).toEqual([
        ['room_started', room.sid, webhookEventId('room_started', room.sid)],
        ['room_finished', room.sid, webhookEventId('room_finished', room.sid)],
      ]);
    }
    // The refusing receiver got its tries (3 per event) and both were counted as failed.
    await eventually(
      async () => /roomring_webhooks_failed_total\{event="room_finished"\} 1/.test(await metrics()),
      20_000,
      'the refused deliveries given up',
    );
    // Every try reached it: 3 per event, no more.
    expect(refusing.bodies).toHaveLength(6);
    expect(await metrics()).toMatch(/roomring_webhooks_sent_total\{event="room_started"\} 2/);
  }, 30_000);
});
