/**
 * As LiveKit: a room nobody joins (no stats report) closes after its empty_timeout, by its
 * owner, with one room_finished; --keep-unreported-rooms keeps it. Real server processes.
 */
import { createServer, type Server } from 'node:http';
import { RoomServiceClient, WebhookReceiver } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  type ServerProcess,
  startServer,
  stopServers,
} from './helpers/server-process.js';

const KEY = 'devkey';
const SECRET = 'secret';
const hooks: { body: string; auth: string }[] = [];
let receiver: Server;
let hookUrl = '';
const servers: ServerProcess[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      hooks.push({ body, auth: req.headers.authorization ?? '' });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks`;
});
afterAll(async () => {
  await stopServers(servers);
  await new Promise((r) => receiver.close(r));
});

const args = (extra: string[]) => [
  '--dev',
  '--region',
  'r',
  '--http-host',
  '127.0.0.1',
  '--http-port',
  '0',
  '--p2p-port',
  '0',
  '--webhook-url',
  hookUrl,
  '--log-level',
  'warn',
  ...extra,
];

describe('rooms nobody reports on', { timeout: 60_000 }, () => {
  it('close after their empty_timeout with one room_finished, unless kept', async () => {
    const [closing, keeping] = await Promise.all([
      startServer(args([])),
      startServer(args(['--keep-unreported-rooms'])),
    ]);
    servers.push(closing, keeping);
    const a = new RoomServiceClient(closing.url, KEY, SECRET);
    const b = new RoomServiceClient(keeping.url, KEY, SECRET);
    const room = await a.createRoom({ name: 'short-lived', emptyTimeout: 1 });
    await b.createRoom({ name: 'kept', emptyTimeout: 1 });
    const longer = await a.createRoom({ name: 'long-lived', emptyTimeout: 300 });
    await eventually(
      async () => (await a.listRooms(['short-lived'])).length === 0,
      15_000,
      'short-lived to close',
    );
    const verify = new WebhookReceiver(KEY, SECRET);
    const events = async () => Promise.all(hooks.map((h) => verify.receive(h.body, h.auth)));
    await eventually(
      async () => (await events()).some((e) => e.event === 'room_finished'),
      10_000,
      'room_finished',
    );
    const finished = (await events()).filter((e) => e.event === 'room_finished');
    // One event (retries after a slow answer repeat it with its id): this room's.
    expect(new Set(finished.map((e) => `${e.id} ${e.room?.sid}`))).toEqual(
      new Set([`${finished[0]!.id} ${room.sid}`]),
    );
    // The other rooms are still there: a longer timeout, and a node told to keep them.
    expect((await a.listRooms(['long-lived']))[0]?.sid).toBe(longer.sid);
    expect(await b.listRooms(['kept'])).toHaveLength(1);
  });
});
