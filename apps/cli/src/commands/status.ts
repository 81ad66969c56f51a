/**
 * `roomring status`: the health of every node (its /v1/status and /readyz), whether all store
 * digests and ring checksums agree, counts, and the convergence lag.
 *
 * The API has no lag figure, so the CLI measures one: when the digests of the answering nodes
 * differ, it asks again every SETTLE_POLL_MS until they agree or `--settle-ms` has passed.
 * `convergenceLagMs` is the time from the first sample to the first sample in which they all
 * agreed (0 = they already did; null = not within --settle-ms, e.g. under a steady write load
 * the digests of different moments rarely match).
 */
import type { Member, NodeStatus } from '@roomring/client';
import type { Command } from 'commander';
import { intInRange } from '../args.js';
import type { CliContext } from '../cli-context.js';
import {
  isRingState,
  type PerMemberResult,
  perMember,
  type Readiness,
  readiness,
} from '../cluster.js';
import { type Style, stateColor } from '../render/style.js';
import { renderFields, renderTable } from '../render/table.js';
import { formatDuration } from '../render/text.js';
import { runAction } from '../run-action.js';

/** Re-sampling period while the digests differ: a gossip batch flushes every 5 ms and a sync
 *  round runs every 5 s, so 250 ms resolves the lag finely enough for people. */
export const SETTLE_POLL_MS = 250;
export const SETTLE_MS_DEFAULT = 3_000;
export const SETTLE_MS_MAX = 60_000;

export interface NodeHealth {
  nodeId: string;
  region: string;
  /** Membership state as the node at --url sees it. */
  memberState: string;
  httpUrl: string;
  /** Asked for status and readiness (alive and suspect members only). */
  queried: boolean;
  ready: boolean | null;
  readyStatus: number | null;
  /** The node's own lifecycle state (`running`, ...); null without an answer. */
  nodeState: string | null;
  rooms: number | null;
  ownedRooms: number | null;
  tombstones: number | null;
  pendingWrites: number | null;
  connectedPeers: number | null;
  storeDigest: string | null;
  ringChecksum: string | null;
  /** The node's view: alive peers with its digest, of alive peers. */
  convergence: { peers: number; sameDigest: number; converged: boolean } | null;
  healthy: boolean;
  error?: string;
}

/** `--json` shape. */
export interface StatusJson {
  url: string;
  /** No problem: every member alive (none suspect or dead), every asked node answered and
   *  is ready, and all digests and checksums agree. */
  healthy: boolean;
  /** What makes the cluster not healthy, one line each (empty when healthy). */
  problems: string[];
  digestsAgree: boolean;
  ringChecksumsAgree: boolean;
  convergenceLagMs: number | null;
  settleMs: number;
  members: { alive: number; suspect: number; dead: number; left: number; total: number };
  /** Rooms and tombstones of the node at --url. */
  rooms: number | null;
  tombstones: number | null;
  nodes: NodeHealth[];
}

type StatusSample = PerMemberResult<NodeStatus>[];

/** Every answering node reports the same value of `field`. */
export function allEqual(sample: StatusSample, field: 'storeDigest' | 'ringChecksum'): boolean {
  const values = new Set(sample.flatMap((r) => (r.value ? [r.value[field]] : [])));
  return values.size <= 1 && sample.some((r) => r.value);
}

export function statusJson(
  url: string,
  members: readonly Member[],
  sample: StatusSample,
  ready: ReadonlyMap<string, Readiness>,
  lagMs: number | null,
  settleMs: number,
): StatusJson {
  const byNode = new Map(sample.map((r) => [r.member.nodeId, r]));
  const nodes: NodeHealth[] = members.map((m) => {
    const r = byNode.get(m.nodeId);
    const s = r?.value;
    const rd = ready.get(m.nodeId);
    const node: NodeHealth = {
      nodeId: m.nodeId,
      region: m.region,
      memberState: m.state,
      httpUrl: m.httpUrl,
      queried: r !== undefined,
      ready: rd ? rd.ready : null,
      readyStatus: rd ? rd.status : null,
      nodeState: s ? s.state : null,
      rooms: s ? s.rooms : null,
      ownedRooms: s ? s.ownedRooms : null,
      tombstones: s ? s.tombstones : null,
      pendingWrites: s ? s.pendingWrites : null,
      connectedPeers: s ? s.connectedPeers : null,
      storeDigest: s ? s.storeDigest : null,
      ringChecksum: s ? s.ringChecksum : null,
      convergence: s ? { ...s.convergence } : null,
      healthy: s !== undefined && rd?.ready === true && s.state === 'running',
    };
    if (r?.error !== undefined) node.error = (r.error as Error).message;
    else if (rd?.error !== undefined) node.error = `readyz: ${rd.error}`;
    return node;
  });
  const count = (state: string): number => members.filter((m) => m.state === state).length;
  const digestsAgree = allEqual(sample, 'storeDigest');
  const ringChecksumsAgree = allEqual(sample, 'ringChecksum');
  const self = sample.find((r) => r.member.self)?.value ?? sample[0]?.value;
  const problems: string[] = [];
  for (const m of members) {
    if (m.state === 'suspect' || m.state === 'dead') problems.push(`${m.nodeId} is ${m.state}`);
  }
  for (const n of nodes) {
    if (!n.queried || n.healthy) continue;
    const rd = ready.get(n.nodeId);
    if (n.error !== undefined) problems.push(`${n.nodeId} did not answer (${n.error})`);
    else problems.push(`${n.nodeId} is not ready (${rd?.reason ?? n.nodeState ?? 'no reason'})`);
  }
  if (!digestsAgree) problems.push('store digests differ');
  if (!ringChecksumsAgree) problems.push('ring checksums differ');
  return {
    url,
    healthy: problems.length === 0,
    problems,
    digestsAgree,
    ringChecksumsAgree,
    convergenceLagMs: lagMs,
    settleMs,
    members: {
      alive: count('alive'),
      suspect: count('suspect'),
      dead: count('dead'),
      left: count('left'),
      total: members.length,
    },
    rooms: self ? self.rooms : null,
    tombstones: self ? self.tombstones : null,
    nodes,
  };
}

const dash = (v: number | string | null): string => (v === null ? '-' : String(v));

export function renderStatus(view: StatusJson, style: Style): string {
  const table = renderTable(
    [
      { header: 'NODE' },
      { header: 'REGION' },
      { header: 'STATE' },
      { header: 'READY' },
      { header: 'ROOMS', align: 'right' },
      { header: 'OWNED', align: 'right' },
      { header: 'TOMBSTONES', align: 'right' },
      { header: 'PENDING', align: 'right' },
      { header: 'SAME DIGEST' },
      { header: 'DIGEST' },
      { header: 'RING' },
    ],
    view.nodes.map((n) => [
      n.nodeId,
      n.region,
      { text: n.memberState, paint: (t) => stateColor(style, t) },
      !n.queried
        ? '-'
        : n.ready
          ? { text: 'yes', paint: style.green }
          : { text: n.error ? `no (${n.error})` : `no (${dash(n.readyStatus)})`, paint: style.red },
      dash(n.rooms),
      dash(n.ownedRooms),
      dash(n.tombstones),
      dash(n.pendingWrites),
      n.convergence ? `${n.convergence.sameDigest}/${n.convergence.peers} peers` : '-',
      dash(n.storeDigest),
      dash(n.ringChecksum),
    ]),
  );
  const queried = view.nodes.filter((n) => n.queried).length;
  const m = view.members;
  const agreement = (ok: boolean, what: string) =>
    ok
      ? { text: `all ${queried} nodes agree`, paint: style.green }
      : { text: `${what} differ between nodes`, paint: style.red };
  const fields = renderFields([
    ['members', `${m.alive} alive, ${m.suspect} suspect, ${m.dead} dead, ${m.left} left`],
    ['rooms', `${dash(view.rooms)} visible, ${dash(view.tombstones)} tombstones (${view.url})`],
    ['digests', agreement(view.digestsAgree, 'store digests')],
    ['ring', agreement(view.ringChecksumsAgree, 'ring checksums')],
    [
      'convergence',
      view.convergenceLagMs === null
        ? { text: `not converged within ${formatDuration(view.settleMs)}`, paint: style.red }
        : view.convergenceLagMs === 0
          ? 'converged (lag 0ms)'
          : `converged after ${formatDuration(view.convergenceLagMs)}`,
    ],
    [
      'health',
      view.healthy
        ? { text: 'ok', paint: style.green }
        : { text: `DEGRADED: ${view.problems.join('; ')}`, paint: style.red },
    ],
  ]);
  return `${table}\n\n${fields}`;
}

async function sampleStatuses(ctx: CliContext, targets: readonly Member[]): Promise<StatusSample> {
  return perMember(targets, (m) => ctx.client(m.httpUrl).status());
}

/** What `settleDigests` needs from the world (injected so it is tested on a fake clock). */
export interface SettleHost {
  sample(): Promise<StatusSample>;
  nowMs(): number;
  sleep(ms: number): Promise<void>;
}

/**
 * Re-samples every SETTLE_POLL_MS until the store digests agree or `settleMs` passes (see the
 * module comment). The lag counts from the first answer: 0 when it already agreed.
 */
export async function settleDigests(
  host: SettleHost,
  first: StatusSample,
  settleMs: number,
): Promise<{ sample: StatusSample; lagMs: number | null }> {
  if (allEqual(first, 'storeDigest')) return { sample: first, lagMs: 0 };
  const startMs = host.nowMs();
  let sample = first;
  while (host.nowMs() - startMs + SETTLE_POLL_MS <= settleMs) {
    await host.sleep(SETTLE_POLL_MS);
    sample = await host.sample();
    if (allEqual(sample, 'storeDigest')) return { sample, lagMs: host.nowMs() - startMs };
  }
  return { sample, lagMs: null };
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('health of every node, digest and ring agreement, convergence lag, counts')
    .option(
      '--settle-ms <ms>',
      `while digests differ, re-check for up to this long (0..${SETTLE_MS_MAX})`,
      intInRange(0, SETTLE_MS_MAX),
      SETTLE_MS_DEFAULT,
    )
    .option('--json', 'machine-readable output (see docs/cli.md)')
    .action(
      runAction<{ settleMs: number; json?: boolean }>(async (ctx, options) => {
        const members = await ctx.progress('reading members', ctx.client().members());
        const targets = members.filter((m) => isRingState(m.state) && m.httpUrl !== '');
        const [first, ready] = await ctx.progress(
          `asking ${targets.length} nodes`,
          Promise.all([
            sampleStatuses(ctx, targets),
            Promise.all(
              targets.map(
                async (m) => [m.nodeId, await readiness(m.httpUrl, ctx.init.timeoutMs)] as const,
              ),
            ),
          ]),
        );
        const settled = await ctx.progress(
          'waiting for the store digests to agree',
          settleDigests(
            {
              sample: () => sampleStatuses(ctx, targets),
              nowMs: ctx.nowMs,
              sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
            },
            first,
            options.settleMs,
          ),
        );
        const view = statusJson(
          ctx.init.url,
          members,
          settled.sample,
          new Map(ready),
          settled.lagMs,
          options.settleMs,
        );
        if (options.json) ctx.printJson(view);
        else ctx.print(renderStatus(view, ctx.style));
        return 0;
      }),
    );
}
