/**
 * `createHostCluster(options)`: N hosts (network namespaces) on Linux bridges, each running
 * the real roomring server with the production flags of docs/operations.md, and the faults
 * an operator meets: kill -9, SIGSTOP/SIGCONT, a host's link down, a whole region cut off,
 * a restart with an empty store. The layout is in topology.ts; ownership.ts says how only
 * what the cluster created is ever removed.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminToken, getJson, type MemberEntry, type NodeStatus } from './admin.js';
import { ip, Ownership } from './ownership.js';
import { waitFor } from './poll.js';
import { ServerProcess } from './server.js';
import {
  CLUSTER_PREFIX_LENGTH,
  clusterPrefix,
  HOST_CLUSTER_IFNAME,
  HOST_MANAGEMENT_IFNAME,
  type HostPlan,
  type HostSpec,
  MANAGEMENT_PREFIX_LENGTH,
  planTopology,
  type RegionPlan,
} from './topology.js';

/** The ports of docs/operations.md, the same on every host (each host has its own address). */
export const HTTP_PORT = 7880;
export const P2P_PORT = 7900;
/** A server loads libp2p and fastify in ~1 s alone; five starting at once on 2 busy cores
 *  take several seconds each. */
const LISTENING_TIMEOUT_MS = 60_000;
/** Admin reads answer from memory in microseconds; a host paused or cut off never answers. */
const ADMIN_TIMEOUT_MS = 2_000;

export interface HostClusterOptions {
  hosts: readonly HostSpec[];
  /** Hosts (indexes) whose cluster address every server gets in `--seeds`. @default [0] */
  seeds?: readonly number[];
  /** Further server flags for every host, e.g. `['--profile', 'wan']`. */
  serverArgs?: readonly string[];
  /** Environment variables for one host's server process (e.g. a test's NODE_OPTIONS
   *  preload), by node id; the others inherit the test's environment only. */
  serverEnv?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Where the servers' logs go (kept); by default a directory removed with the cluster. */
  logDir?: string;
  /** Progress lines. @default none */
  log?: (line: string) => void;
  /** Start every server once the hosts exist. @default true */
  startServers?: boolean;
  /** The API key pair every server accepts (`--keys`). @default a random secret, key
   *  `hosts-test` */
  apiKey?: string;
  apiSecret?: string;
}

export interface Host extends HostPlan {
  /** The HTTP API over the management link: what tests and load clients call. */
  readonly url: string;
  /** The HTTP API on the cluster network, as the server advertises it (`--advertise-url`). */
  readonly advertiseUrl: string;
  /** `host:port` of the cluster transport on the cluster network (what `--seeds` lists). */
  readonly p2pAddress: string;
  readonly dataDir: string;
  readonly logPath: string;
  /** The server process now running on it, if any. */
  server: ServerProcess | undefined;
}

export interface MeshState {
  meshed: boolean;
  /** nodeId -> peers it holds a connection to (`/v1/status` connectedPeers). */
  connectedPeers: Record<string, number>;
  /** nodeId -> the other nodes it sees alive (`/v1/members`). */
  aliveMembers: Record<string, number>;
}

/** Clusters of this process not destroyed yet, for the exit and signal handlers. */
const live = new Set<HostCluster>();
let sequence = 0;
let handlersInstalled = false;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const cluster of live) cluster.destroySync();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      for (const cluster of live) cluster.destroySync();
      process.removeListener(signal, onSignal);
      // With no other handler left, die of the signal as the default action would.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

export class HostCluster {
  readonly hosts: readonly Host[];
  readonly regions: readonly RegionPlan[];
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly clusterKey = randomBytes(32).toString('hex');
  /** A token for every host's API (list, create, admin), valid 24 h. */
  readonly token: string;
  private readonly seedAddresses: string;
  private destroyed = false;

  private constructor(
    private readonly ownership: Ownership,
    readonly prefix: string,
    workDir: string,
    plan: ReturnType<typeof planTopology>,
    private readonly options: HostClusterOptions,
  ) {
    this.apiKey = options.apiKey ?? 'hosts-test';
    this.apiSecret = options.apiSecret ?? randomBytes(24).toString('hex');
    const logDir = options.logDir ?? join(workDir, 'logs');
    mkdirSync(logDir, { recursive: true });
    this.regions = plan.regions;
    this.hosts = plan.hosts.map((h) => ({
      ...h,
      url: `http://${h.managementIp}:${HTTP_PORT}`,
      advertiseUrl: `http://${h.clusterIp}:${HTTP_PORT}`,
      p2pAddress: `${h.clusterIp}:${P2P_PORT}`,
      dataDir: join(workDir, 'data', h.nodeId),
      logPath: join(logDir, `${h.nodeId}.log`),
      server: undefined,
    }));
    this.token = adminToken(this.apiKey, this.apiSecret);
    this.seedAddresses = (options.seeds ?? [0]).map((i) => this.host(i).p2pAddress).join(',');
  }

  /** Creates the namespaces, links and bridges, and starts every server (all at once, as an
   *  operator's deploy would); resolves when each has logged that it listens. */
  static async create(options: HostClusterOptions): Promise<HostCluster> {
    const prefix = clusterPrefix(process.pid, sequence++ % 36);
    const ownership = Ownership.claim(prefix);
    const workDir = join(tmpdir(), `roomring-hosts-${prefix}`);
    installHandlers();
    let cluster: HostCluster | undefined;
    try {
      ownership.add('dirs', workDir);
      mkdirSync(workDir, { recursive: true });
      const plan = planTopology(prefix, ownership.managementBlock, options.hosts);
      cluster = new HostCluster(ownership, prefix, workDir, plan, options);
      live.add(cluster);
      await cluster.build(plan);
      if (options.startServers !== false) await cluster.startAll();
      return cluster;
    } catch (error) {
      if (cluster) await cluster.destroy();
      else ownership.removeAllSync();
      throw error;
    }
  }

  private log(line: string): void {
    this.options.log?.(`[hosts ${this.prefix}] ${line}`);
  }

  /** A link in the root namespace: recorded before it exists, tagged with our alias. */
  private async addLink(name: string, args: readonly string[]): Promise<void> {
    this.ownership.add('links', name);
    await ip(['link', 'add', name, ...args]);
    await ip(['link', 'set', name, 'alias', this.ownership.alias]);
  }

  private async build(plan: ReturnType<typeof planTopology>): Promise<void> {
    const started = Date.now();
    await this.addLink(plan.coreBridge, ['type', 'bridge']);
    await ip(['link', 'set', plan.coreBridge, 'up']);
    for (const region of plan.regions) {
      await this.addLink(region.bridge, ['type', 'bridge']);
      await ip(['link', 'set', region.bridge, 'up']);
      this.ownership.add('links', region.trunkCoreEnd);
      await this.addLink(region.trunkRegionEnd, [
        'type',
        'veth',
        'peer',
        'name',
        region.trunkCoreEnd,
      ]);
      await ip(['link', 'set', region.trunkCoreEnd, 'alias', this.ownership.alias]);
      await ip(['link', 'set', region.trunkRegionEnd, 'master', region.bridge, 'up']);
      await ip(['link', 'set', region.trunkCoreEnd, 'master', plan.coreBridge, 'up']);
    }
    await Promise.all(this.hosts.map((host) => this.buildHost(host)));
    this.log(
      `${this.hosts.length} hosts in ${plan.regions.length} regions built in ${Date.now() - started} ms`,
    );
  }

  private async buildHost(host: Host): Promise<void> {
    const region = this.regionOf(host);
    this.ownership.add('netns', host.netns);
    await ip(['netns', 'add', host.netns]);
    await ip(['-n', host.netns, 'link', 'set', 'lo', 'up']);
    // The management link first: the host lists its interfaces in this order, so every node
    // advertises its unreachable-from-peers management address before its cluster address.
    await this.addLink(host.managementLink, [
      'type',
      'veth',
      'peer',
      'name',
      HOST_MANAGEMENT_IFNAME,
      'netns',
      host.netns,
    ]);
    await ip([
      'addr',
      'add',
      `${host.managementPeerIp}/${MANAGEMENT_PREFIX_LENGTH}`,
      'dev',
      host.managementLink,
    ]);
    await ip(['link', 'set', host.managementLink, 'up']);
    await ip([
      '-n',
      host.netns,
      'addr',
      'add',
      `${host.managementIp}/${MANAGEMENT_PREFIX_LENGTH}`,
      'dev',
      HOST_MANAGEMENT_IFNAME,
    ]);
    await ip(['-n', host.netns, 'link', 'set', HOST_MANAGEMENT_IFNAME, 'up']);
    await this.addLink(host.clusterLink, [
      'type',
      'veth',
      'peer',
      'name',
      HOST_CLUSTER_IFNAME,
      'netns',
      host.netns,
    ]);
    await ip(['link', 'set', host.clusterLink, 'master', region.bridge, 'up']);
    await ip([
      '-n',
      host.netns,
      'addr',
      'add',
      `${host.clusterIp}/${CLUSTER_PREFIX_LENGTH}`,
      'dev',
      HOST_CLUSTER_IFNAME,
    ]);
    await ip(['-n', host.netns, 'link', 'set', HOST_CLUSTER_IFNAME, 'up']);
  }

  private regionOf(host: Host): RegionPlan {
    const region = this.regions.find((r) => r.name === host.region);
    if (!region) throw new Error(`no region ${host.region}`);
    return region;
  }

  /** A host by node id or index. */
  host(which: string | number): Host {
    const host =
      typeof which === 'number' ? this.hosts[which] : this.hosts.find((h) => h.nodeId === which);
    if (!host) throw new Error(`no host ${which}`);
    return host;
  }

  /** The production flags of docs/operations.md, with this host's addresses. */
  serverArgs(host: Host): string[] {
    return [
      '--region',
      host.region,
      '--node-id',
      host.nodeId,
      '--keys',
      `${this.apiKey}:${this.apiSecret}`,
      '--cluster-key',
      this.clusterKey,
      '--data-dir',
      host.dataDir,
      '--http-host',
      '0.0.0.0',
      '--http-port',
      String(HTTP_PORT),
      '--advertise-url',
      host.advertiseUrl,
      '--p2p-host',
      '0.0.0.0',
      '--p2p-port',
      String(P2P_PORT),
      '--seeds',
      this.seedAddresses,
      // Rooms of a scenario must outlive it: no media server reports stats here.
      '--keep-unreported-rooms',
      ...(this.options.serverArgs ?? []),
    ];
  }

  /** Starts the server of `host` (it must have none running): a new process, so an empty
   *  store; the data dir keeps its peer key unless `newIdentity`. Resolves when it listens. */
  async startServer(
    which: string | number,
    options: { newIdentity?: boolean } = {},
  ): Promise<void> {
    const host = this.host(which);
    if (host.server?.running) throw new Error(`${host.nodeId} already runs a server`);
    if (options.newIdentity) rmSync(join(host.dataDir, 'peer-key'), { force: true });
    mkdirSync(host.dataDir, { recursive: true });
    const server = new ServerProcess(
      host.netns,
      this.serverArgs(host),
      host.logPath,
      this.options.serverEnv?.[host.nodeId],
    );
    host.server = server;
    const timer = setTimeout(() => void server.kill(), LISTENING_TIMEOUT_MS);
    try {
      await server.listening;
    } catch (error) {
      throw new Error(`${host.nodeId}: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  async startAll(): Promise<void> {
    const started = Date.now();
    await Promise.all(this.hosts.map((host) => this.startServer(host.index)));
    this.log(`${this.hosts.length} servers listening after ${Date.now() - started} ms`);
  }

  private serverOf(which: string | number): ServerProcess {
    const host = this.host(which);
    if (!host.server?.running) throw new Error(`${host.nodeId} runs no server`);
    return host.server;
  }

  // -------------------------------------------------------------------------------- faults
  // Each returns Date.now() at the moment the fault took effect.

  /** kill -9 of the host's server; resolves once it has exited. */
  async kill(which: string | number): Promise<number> {
    const server = this.serverOf(which);
    const at = Date.now();
    server.signal('SIGKILL');
    await server.exited;
    this.log(`${this.host(which).nodeId}: killed`);
    return at;
  }

  /** SIGSTOP: the process hangs, its sockets stay open (a GC pause, a frozen VM). */
  pause(which: string | number): number {
    this.serverOf(which).signal('SIGSTOP');
    this.log(`${this.host(which).nodeId}: stopped`);
    return Date.now();
  }

  /** SIGCONT after pause(). */
  resume(which: string | number): number {
    this.serverOf(which).signal('SIGCONT');
    this.log(`${this.host(which).nodeId}: continued`);
    return Date.now();
  }

  /** Sets the cluster link of each host down: its packets go nowhere, both ways (a pulled
   *  cable). The management link stays up, so the test still reaches the host. */
  async linkDown(...which: (string | number)[]): Promise<number> {
    const hosts = which.map((w) => this.host(w));
    await Promise.all(hosts.map((h) => ip(['link', 'set', h.clusterLink, 'down'])));
    this.log(`link down: ${hosts.map((h) => h.nodeId).join(', ')}`);
    return Date.now();
  }

  async linkUp(...which: (string | number)[]): Promise<number> {
    const hosts = which.map((w) => this.host(w));
    await Promise.all(hosts.map((h) => ip(['link', 'set', h.clusterLink, 'up'])));
    this.log(`link up: ${hosts.map((h) => h.nodeId).join(', ')}`);
    return Date.now();
  }

  /** Cuts a whole region off: its trunk to the core bridge goes down, so its hosts still
   *  reach each other but no other region (a region's uplink failing). */
  async cutRegion(region: string): Promise<number> {
    const plan = this.regions.find((r) => r.name === region);
    if (!plan) throw new Error(`no region ${region}`);
    await ip(['link', 'set', plan.trunkRegionEnd, 'down']);
    this.log(`region ${region} cut off`);
    return Date.now();
  }

  async healRegion(region: string): Promise<number> {
    const plan = this.regions.find((r) => r.name === region);
    if (!plan) throw new Error(`no region ${region}`);
    await ip(['link', 'set', plan.trunkRegionEnd, 'up']);
    this.log(`region ${region} reconnected`);
    return Date.now();
  }

  /** kill -9 (if running) and start again: an empty store, the same flags and data dir. */
  async restart(which: string | number, options: { newIdentity?: boolean } = {}): Promise<void> {
    const host = this.host(which);
    if (host.server?.running) await this.kill(which);
    await this.startServer(which, options);
    this.log(`${host.nodeId}: restarted with an empty store`);
  }

  // ---------------------------------------------------------------------------- observing

  status(which: string | number): Promise<NodeStatus> {
    return getJson<NodeStatus>(`${this.host(which).url}/v1/status`, this.token, ADMIN_TIMEOUT_MS);
  }

  async members(which: string | number): Promise<MemberEntry[]> {
    const body = await getJson<{ members: MemberEntry[] }>(
      `${this.host(which).url}/v1/members`,
      this.token,
      ADMIN_TIMEOUT_MS,
    );
    return body.members;
  }

  /** Node ids of every host, in order. */
  nodeIds(): string[] {
    return this.hosts.map((h) => h.nodeId);
  }

  /** Per node of `nodeIds`: its connected peers and the members among `nodeIds` it sees
   *  alive; `meshed` when each is connected to every other and sees each of them alive. */
  async meshState(nodeIds: readonly string[] = this.nodeIds()): Promise<MeshState> {
    const [all, views] = await Promise.all([
      Promise.all(nodeIds.map((id) => this.status(id))),
      Promise.all(nodeIds.map((id) => this.members(id))),
    ]);
    const others = nodeIds.length - 1;
    const alive = views.map(
      (members) =>
        members.filter((m) => !m.self && m.state === 'alive' && nodeIds.includes(m.nodeId)).length,
    );
    return {
      meshed: all.every((s) => s.connectedPeers === others) && alive.every((n) => n === others),
      connectedPeers: Object.fromEntries(nodeIds.map((id, i) => [id, all[i]!.connectedPeers])),
      aliveMembers: Object.fromEntries(nodeIds.map((id, i) => [id, alive[i]!])),
    };
  }

  /** Every node of `nodeIds` connected to every other and seeing each of them alive. */
  async fullMesh(nodeIds: readonly string[] = this.nodeIds()): Promise<boolean> {
    return (await this.meshState(nodeIds)).meshed;
  }

  /** Resolves when `fullMesh(nodeIds)` holds, with the time it was seen; fails after
   *  `timeoutMs` naming each node's connected peers and alive members. */
  async untilFullMesh(
    timeoutMs: number,
    nodeIds: readonly string[] = this.nodeIds(),
  ): Promise<number> {
    const { atMs } = await waitFor(
      'full mesh',
      async () => {
        const state = await this.meshState(nodeIds);
        if (state.meshed) return state;
        throw new Error(
          `connected peers ${JSON.stringify(state.connectedPeers)}, alive members ${JSON.stringify(state.aliveMembers)}`,
        );
      },
      timeoutMs,
    );
    return atMs;
  }

  /** The statuses of `nodeIds` if they all hold the same store digest, else undefined. */
  async sameDigest(nodeIds: readonly string[] = this.nodeIds()): Promise<NodeStatus[] | undefined> {
    const all = await Promise.all(nodeIds.map((id) => this.status(id)));
    return new Set(all.map((s) => s.storeDigest)).size === 1 ? all : undefined;
  }

  /** The last lines each server wrote, for a failing test's message. */
  outputs(): string {
    return this.hosts
      .map((h) => `--- ${h.nodeId} (${h.logPath})\n${h.server?.output().slice(-4_000) ?? ''}`)
      .join('\n');
  }

  // ---------------------------------------------------------------------------- clean-up

  /** Kills every server and removes every namespace, link, bridge and directory it made. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    await Promise.all(this.hosts.map((h) => h.server?.kill()));
    this.destroySync();
  }

  /** The same without waiting for the processes' exit (exit and signal handlers). */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const host of this.hosts) host.server?.signal('SIGKILL');
    const removed = this.ownership.removeAllSync();
    this.log(`removed ${removed.length} namespaces, links and directories`);
  }
}

export function createHostCluster(options: HostClusterOptions): Promise<HostCluster> {
  return HostCluster.create(options);
}
