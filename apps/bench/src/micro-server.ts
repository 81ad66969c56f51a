/**
 * Micro-benchmarks of @roomring/server: what the HTTP facade adds on top of the node's
 * memory. Token verification, admission control, and whole Twirp requests through
 * `app.inject()` (fastify's routing, hooks, auth, codec; no socket) over a real single node
 * with minAcks 0, plus CreateRoom over loopback HTTP with the client in the same process.
 *
 * Targets: JWT verify >= 100,000/s and admission >= 1,000,000/s (each under 10% of a
 * request); over loopback sockets, server CPU per CreateRoom of an existing room at most 3x
 * that of a bare node:http + Map server measured in alternating rounds (fastify alone is
 * ~1.3x). CPU comes from process.cpuUsage, so the figure does not depend on the load
 * generator (a child process on the other core, Node's http client, slower than wrk); the
 * ratio also survives other work sharing the machine, which inflates absolute figures.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createRegistryNode } from '@roomring/node';
import {
  AdmissionController,
  buildApp,
  createLogger,
  serverConfig,
  signJwt,
  verifyJwt,
} from '@roomring/server';
import { atLeast, atMost, type BenchResult, measureOpsPerSec } from './harness.js';

const SUITE = 'server';
const KEY = 'benchkey';
const SECRET = 'bench-secret-0123456789abcdef0123456789';
const LIST_ROOMS = 100;
const LOAD_CONNECTIONS = 32;
const LOAD_ROUNDS = 3;
const LOAD_ROUND_MS = 2_000;
const LOAD_WARMUP_MS = 2_000;

/** The load generator, run in a child process: LOAD_CONNECTIONS keep-alive loops of POSTs
 *  for `durationMs`; prints requests per second (2xx only). */
const LOAD_SCRIPT = `
import http from 'node:http';
const [url, body, headersJson, connections, durationMs] = process.argv.slice(1);
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(connections) });
const headers = { ...JSON.parse(headersJson), 'content-length': Buffer.byteLength(body) };
let ok = 0;
const end = Date.now() + Number(durationMs);
const one = () => new Promise((resolve) => {
  const req = http.request({ host: target.hostname, port: target.port, path: target.pathname,
    method: 'POST', agent, headers }, (res) => {
    res.resume();
    res.on('end', () => { if (res.statusCode === 200) ok++; resolve(); });
  });
  req.on('error', resolve);
  req.end(body);
});
const loop = async () => { while (Date.now() < end) await one(); };
await Promise.all(Array.from({ length: Number(connections) }, loop));
console.log(ok / (Number(durationMs) / 1000));
agent.destroy();
`;

function loadFromChild(
  url: string,
  body: string,
  headers: Record<string, string>,
  durationMs: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        LOAD_SCRIPT,
        url,
        body,
        JSON.stringify(headers),
        String(LOAD_CONNECTIONS),
        String(durationMs),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', () => resolve(Number(out.trim())));
  });
}

/** ops/s of an async `fn` doing `batch` operations, median of `rounds` rounds of >= roundMs. */
async function measureAsync(fn: () => Promise<void>, batch: number, roundMs = 300, rounds = 5) {
  const round = async (): Promise<number> => {
    let ops = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      await fn();
      ops += batch;
      elapsed = performance.now() - start;
    } while (elapsed < roundMs);
    return (ops / elapsed) * 1_000;
  };
  await round();
  const rates: number[] = [];
  for (let i = 0; i < rounds; i++) rates.push(await round());
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)]!;
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const nowS = Math.floor(Date.now() / 1_000);
  const keys = new Map([[KEY, SECRET]]);

  const token = signJwt(
    {
      iss: KEY,
      exp: nowS + 3_600,
      nbf: nowS,
      video: { roomCreate: true, roomList: true, roomAdmin: true },
    },
    SECRET,
  );
  const jwtRate = measureOpsPerSec(() => {
    for (let i = 0; i < 1_000; i++) verifyJwt(token, (k) => keys.get(k), Date.now());
  }, 1_000);
  results.push({
    suite: SUITE,
    name: 'JWT verify (HS256)',
    value: jwtRate,
    unit: 'ops/s',
    ...atLeast(jwtRate, 100_000),
  });

  const admission = new AdmissionController({
    maxInFlight: 256,
    queueMax: 1_024,
    nowMs: () => performance.now(),
    setTimer: () => () => undefined,
  });
  const admissionRate = await measureAsync(async () => {
    for (let i = 0; i < 1_000; i++) (await admission.acquire(Number.MAX_SAFE_INTEGER))();
  }, 1_000);
  results.push({
    suite: SUITE,
    name: 'admission acquire + release',
    value: admissionRate,
    unit: 'ops/s',
    ...atLeast(admissionRate, 1_000_000),
  });

  const clusterKey = randomBytes(32).toString('hex');
  const node = createRegistryNode({
    nodeId: 'bench-1',
    region: 'us-east',
    clusterKey,
    p2pPort: 0,
    minAcks: 0,
    profile: 'local',
  });
  await node.start();
  const config = serverConfig({ region: 'us-east', nodeId: 'bench-1', keys, clusterKey });
  const app = buildApp({ node, config, logger: createLogger('silent', 'bench-1', 'us-east') });
  await app.ready();
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const post = (rpc: string, payload: string | Uint8Array, contentType = 'application/json') =>
    app.inject({
      method: 'POST',
      url: `/twirp/livekit.RoomService/${rpc}`,
      headers: { ...headers, 'content-type': contentType },
      payload: typeof payload === 'string' ? payload : Buffer.from(payload),
    });
  try {
    const existing = JSON.stringify({ name: 'bench-existing', metadata: 'm' });
    await post('CreateRoom', existing);
    const existingRate = await measureAsync(async () => {
      for (let i = 0; i < 100; i++) await post('CreateRoom', existing);
    }, 100);
    results.push({
      suite: SUITE,
      name: 'CreateRoom, existing room, JSON (inject)',
      value: existingRate,
      unit: 'req/s',
      note: 'inject itself costs ~100 us a request here; compare rows, not absolutes',
    });

    // CreateRoomRequest { name = 1 }: tag 0x0a, length, UTF-8 bytes.
    const name = Buffer.from('bench-existing');
    const protoBody = Buffer.concat([Buffer.from([0x0a, name.length]), name]);
    const protoRate = await measureAsync(async () => {
      for (let i = 0; i < 100; i++) await post('CreateRoom', protoBody, 'application/protobuf');
    }, 100);
    results.push({
      suite: SUITE,
      name: 'CreateRoom, existing room, protobuf (inject)',
      value: protoRate,
      unit: 'req/s',
    });

    let next = 0;
    const newRate = await measureAsync(async () => {
      for (let i = 0; i < 100; i++)
        await post('CreateRoom', JSON.stringify({ name: `bench-new-${next++}` }));
    }, 100);
    results.push({
      suite: SUITE,
      name: 'CreateRoom, new room, minAcks 0, JSON (inject)',
      value: newRate,
      unit: 'req/s',
      note: `${next.toLocaleString('en-US')} rooms created`,
    });

    const names = Array.from({ length: LIST_ROOMS }, (_, i) => `bench-new-${i}`);
    const listBody = JSON.stringify({ names });
    const listRate = await measureAsync(async () => {
      for (let i = 0; i < 10; i++) await post('ListRooms', listBody);
    }, 10 * LIST_ROOMS);
    results.push({
      suite: SUITE,
      name: `ListRooms of ${LIST_ROOMS} named rooms, JSON (inject)`,
      value: listRate,
      unit: 'rooms/s',
    });

    const deniedRate = await measureAsync(async () => {
      for (let i = 0; i < 100; i++) {
        await app.inject({
          method: 'POST',
          url: '/twirp/livekit.RoomService/CreateRoom',
          payload: existing,
        });
      }
    }, 100);
    results.push({
      suite: SUITE,
      name: 'refused request (no token) (inject)',
      value: deniedRate,
      unit: 'req/s',
    });

    // Over sockets: the load comes from a child process (the other core), and a bare
    // fastify + Map server is measured in alternating rounds as the yardstick (PLATFORM.md:
    // rounds differ by up to ~20%, ratios hold).
    await app.listen({ host: '127.0.0.1', port: 0 });
    const bareRooms = new Map<string, { name: string; sid: string }>();
    const bare = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on('end', () => {
        const name = (JSON.parse(body) as { name: string }).name;
        let room = bareRooms.get(name);
        if (!room) {
          room = { name, sid: `RM_${bareRooms.size}` };
          bareRooms.set(name, room);
        }
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(room));
      });
    });
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
    const portOf = (server: typeof bare) => {
      const address = server.address();
      return typeof address === 'object' && address ? address.port : 0;
    };
    const twirpUrl = `http://127.0.0.1:${portOf(app.server)}/twirp/livekit.RoomService/CreateRoom`;
    const bareUrl = `http://127.0.0.1:${portOf(bare)}/create`;
    // Server CPU per request (process.cpuUsage over the round / requests answered) does not
    // depend on how fast the load generator is, so it is the figure to compare.
    const measure = async (url: string, requestHeaders: Record<string, string>) => {
      const cpuBefore = process.cpuUsage();
      const perSecond = await loadFromChild(url, existing, requestHeaders, LOAD_ROUND_MS);
      const cpu = process.cpuUsage(cpuBefore);
      const requests = (perSecond * LOAD_ROUND_MS) / 1_000;
      return { perSecond, cpuUsPerRequest: (cpu.user + cpu.system) / Math.max(1, requests) };
    };
    const roomringRuns: { perSecond: number; cpuUsPerRequest: number }[] = [];
    const bareRuns: { perSecond: number; cpuUsPerRequest: number }[] = [];
    await loadFromChild(twirpUrl, existing, headers, LOAD_WARMUP_MS);
    await loadFromChild(bareUrl, existing, { 'content-type': 'application/json' }, LOAD_WARMUP_MS);
    for (let round = 0; round < LOAD_ROUNDS; round++) {
      roomringRuns.push(await measure(twirpUrl, headers));
      bareRuns.push(await measure(bareUrl, { 'content-type': 'application/json' }));
    }
    await new Promise((resolve) => bare.close(resolve));
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const roomringRate = median(roomringRuns.map((r) => r.perSecond));
    const roomringCpuUs = median(roomringRuns.map((r) => r.cpuUsPerRequest));
    const bareRate = median(bareRuns.map((r) => r.perSecond));
    const bareCpuUs = median(bareRuns.map((r) => r.cpuUsPerRequest));
    results.push({
      suite: SUITE,
      name: `CreateRoom, existing room, loopback HTTP (${LOAD_CONNECTIONS} conns from a child process)`,
      value: roomringRate,
      unit: 'req/s',
      note: `bare node:http + Map under the same generator: ${Math.round(bareRate).toLocaleString('en-US')} req/s`,
    });
    results.push({
      suite: SUITE,
      name: 'server CPU per loopback CreateRoom',
      value: roomringCpuUs,
      unit: 'us',
      note: `bare node:http + Map: ${bareCpuUs.toFixed(0)} us`,
    });
    const cpuRatio = roomringCpuUs / bareCpuUs;
    results.push({
      suite: SUITE,
      name: 'CPU per request / bare node:http + Map',
      value: cpuRatio,
      unit: 'x',
      ...atMost(cpuRatio, 3),
      note: 'fastify alone is ~1.3x (PLATFORM.md: 0.79x the rate)',
    });
  } finally {
    await app.close();
    await node.stop();
  }
  return results;
}
