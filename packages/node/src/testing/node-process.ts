/**
 * A registry node as its own OS process, driven over the IPC channel (see processes.ts): the
 * child-process tests start five of these and SIGKILL / SIGSTOP / partition / restart them;
 * the cluster benchmarks load them. Config comes as JSON in ROOMRING_TEST_NODE.
 */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { hlcWallMs } from '@roomring/protocol';
import { createRegistryNode, type RegistryNodeInit } from '../index.js';

interface Command {
  id: number;
  cmd: string;
  args: unknown[];
}

const init = JSON.parse(process.env.ROOMRING_TEST_NODE ?? '{}') as RegistryNodeInit & {
  privateKeyHex?: string;
};
const { privateKeyHex, ...rest } = init;
const node = createRegistryNode({
  ...rest,
  ...(privateKeyHex ? { privateKey: new Uint8Array(Buffer.from(privateKeyHex, 'hex')) } : {}),
});

const events: string[] = [];
for (const event of ['member-up', 'member-suspect', 'member-dead', 'member-left'] as const) {
  node.on(event, (e) => events.push(`${event}:${e.member.nodeId}:${Date.now()}:${e.reason}`));
}

/**
 * Creates `count` rooms, `concurrency` at a time. Each worker gives the event loop a turn
 * after every create, as requests arriving over sockets do: with minAcks 0 a create resolves
 * without I/O, and 256 workers awaiting them back to back kept the microtask queue busy for
 * the whole fill (seconds), so no timer ran: no heartbeat went out and every other node
 * declared this one dead mid-fill (measured: each of 4 receivers, during a 100k fill).
 * `listAcked` false: the sids of the acknowledged rooms are not collected nor sent back (a
 * benchmark's fill measures the node's CPU, not 20k object keys and their IPC message).
 */
async function createMany(prefix: string, count: number, concurrency: number, listAcked = true) {
  const acked: Record<string, string> = {};
  const failures: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const name = `${prefix}${next++}`;
      try {
        const room = await node.createRoom({ name });
        if (listAcked) acked[name] = room.sid;
      } catch (error) {
        failures.push(`${name}: ${(error as Error).message}`);
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { acked, failures };
}

/** Create-to-visible latencies (ms) of rooms created elsewhere, while tracking is on. */
let latencies: number[] | undefined;
node.on('room-created', ({ room, origin }) => {
  if (origin === 'remote' && latencies) latencies.push(Date.now() - hlcWallMs(room.createdAt));
});

/** Resolves with the wall time at which this node first shows `count` visible rooms. */
function whenVisible(count: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = (): void => {
      if (node.roomCount() >= count) resolve(Date.now());
      else if (Date.now() - started > timeoutMs)
        reject(new Error(`only ${node.roomCount()} of ${count} rooms`));
      else setTimeout(check, 2);
    };
    check();
  });
}

/** Creates rooms at a steady rate: every 10 ms, the share of the second that is due. */
function paced(prefix: string, perSecond: number, durationMs: number): Promise<number> {
  return new Promise((resolve) => {
    const started = Date.now();
    let created = 0;
    const timer = setInterval(() => {
      const due = Math.min(
        Math.floor(((Date.now() - started) * perSecond) / 1000),
        Math.floor((durationMs * perSecond) / 1000),
      );
      while (created < due)
        void node.createRoom({ name: `${prefix}${created++}` }).catch(() => undefined);
      if (Date.now() - started >= durationMs) {
        clearInterval(timer);
        resolve(created);
      }
    }, 10);
  });
}

/** Event-loop delay since the last `loopDelay` call (a stalled loop is a silent node). */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
/** Longest GC pause since the last `loopDelay` call, and their sum. */
let gcMaxMs = 0;
let gcTotalMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcMaxMs = Math.max(gcMaxMs, entry.duration);
    gcTotalMs += entry.duration;
  }
}).observe({ entryTypes: ['gc'] });

const commands: Record<string, (...args: never[]) => unknown> = {
  loopDelay: () => {
    const result = {
      maxMs: loopDelay.max / 1e6,
      p99Ms: loopDelay.percentile(99) / 1e6,
      gcMaxMs,
      gcTotalMs,
    };
    loopDelay.reset();
    gcMaxMs = 0;
    gcTotalMs = 0;
    return result;
  },
  whenVisible,
  paced,
  trackLatency: (on: boolean) => {
    const collected = latencies ?? [];
    latencies = on ? [] : undefined;
    return collected;
  },
  /** process.memoryUsage(), after a full GC unless `collect` is false. */
  memory: (collect = true) => {
    if (collect) globalThis.gc?.();
    return process.memoryUsage();
  },
  create: async (name: string) => ({ ...(await node.createRoom({ name })) }),
  createMany,
  get: (name: string) => {
    const room = node.getRoom(name);
    return room ? { ...room } : null;
  },
  visible: () => Object.fromEntries(node.listRooms().map((r) => [r.name, r.sid])),
  delete: async (name: string) => node.deleteRoom(name),
  status: () => {
    const { counters: _, ...status } = node.status();
    return status;
  },
  counters: () => ({ ...node.status().counters, transport: node.p2p.metrics() }),
  members: () =>
    node.members().map((m) => ({
      nodeId: m.nodeId,
      state: m.state,
      peerId: m.peerId,
      incarnation: m.incarnation,
    })),
  owner: (name: string) => node.ownerOf(name),
  owners: (names: string[]) =>
    Object.fromEntries(names.map((n) => [n, node.ownerOf(n).owner ?? null])),
  events: () => events,
  block: (peers: string[]) => node.p2p.setBlockedPeers(peers),
};

process.on('message', (raw) => {
  const { id, cmd, args } = raw as Command;
  const handler = commands[cmd];
  Promise.resolve()
    .then(() => {
      if (!handler) throw new Error(`unknown command ${cmd}`);
      return (handler as (...a: unknown[]) => unknown)(...args);
    })
    .then(
      (result) => process.send?.({ id, ok: true, result: result ?? null }),
      (error: unknown) =>
        process.send?.({
          id,
          ok: false,
          error: { name: (error as Error).name, message: (error as Error).message },
        }),
    );
});

process.on('SIGTERM', () => {
  node.stop().finally(() => process.exit(0));
});

await node.start();
process.send?.({
  id: 0,
  ok: true,
  result: { peerId: node.peerId, addrs: node.p2p.listenAddresses() },
});
