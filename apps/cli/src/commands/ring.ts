/**
 * `roomring ring [--region R] [--draw]`: per region, each node's share of rooms (measured
 * by the node at --url, expected from weights) and points; whether every node reports the
 * same ring checksum (each alive or suspect member is asked for its /v1/status); with
 * `--draw`, which node owns each arc of each region's hash space (render/ring-draw.ts).
 */
import type { Member, RingView } from '@roomring/client';
import { createPlacement } from '@roomring/ring';
import type { Command } from 'commander';
import { intInRange } from '../args.js';
import type { CliContext } from '../cli-context.js';
import { CommandFailedError } from '../cli-errors.js';
import { isRingState, perMember, ringMembersOf } from '../cluster.js';
import {
  DRAW_CELL_COUNT_DEFAULT,
  DRAW_CELL_COUNT_MAX,
  DRAW_CELL_COUNT_MIN,
  drawRegion,
  type RegionDrawing,
  renderRegionDrawing,
} from '../render/ring-draw.js';
import type { Style } from '../render/style.js';
import { renderTable } from '../render/table.js';
import { percent, printable } from '../render/text.js';
import { runAction } from '../run-action.js';

export interface NodeChecksum {
  nodeId: string;
  httpUrl: string;
  /** What the node reported; null when it did not answer. */
  ringChecksum: string | null;
  /** Equal to the checksum of the node at --url. */
  agrees: boolean;
  error?: string;
}

/** `--json` shape. */
export interface RingJson {
  url: string;
  /** Ring checksum of the node at --url. */
  checksum: string;
  /** The node at --url's view: every alive member's heartbeat carries its checksum. */
  heartbeatsAgree: boolean;
  /** Every alive or suspect member answered with the same checksum. */
  allNodesAgree: boolean;
  nodes: NodeChecksum[];
  roomsCounted: number | null;
  complete: boolean | null;
  regions: (RingView['regions'][number] & { drawing?: RegionDrawing })[];
  /** With --draw: the checksum of the placement the CLI built from /v1/members. */
  drawnChecksum?: string;
}

export function ringJson(
  url: string,
  ring: RingView,
  nodes: NodeChecksum[],
  drawings: ReadonlyMap<string, RegionDrawing> | undefined,
  drawnChecksum: string | undefined,
): RingJson {
  return {
    url,
    checksum: ring.checksum,
    heartbeatsAgree: ring.agree,
    allNodesAgree: nodes.length > 0 && nodes.every((n) => n.agrees),
    nodes,
    roomsCounted: ring.roomsCounted ?? null,
    complete: ring.complete ?? null,
    regions: ring.regions.map((r) => {
      const drawing = drawings?.get(r.region);
      return drawing ? { ...r, drawing } : { ...r };
    }),
    ...(drawnChecksum === undefined ? {} : { drawnChecksum }),
  };
}

export function renderRing(view: RingJson, style: Style): string {
  const out: string[] = [];
  const answered = view.nodes.filter((n) => n.ringChecksum !== null).length;
  const verdict = view.allNodesAgree
    ? style.green(`all ${view.nodes.length} nodes report it`)
    : style.red(
        `NOT all nodes agree (${view.nodes.filter((n) => n.agrees).length} of ${view.nodes.length} agree, ${answered} answered)`,
      );
  out.push(`ring checksum ${view.checksum}: ${verdict}`);
  if (view.roomsCounted !== null) {
    out.push(
      `measured over ${view.roomsCounted} rooms${view.complete === false ? ' (a sample: the node caps the scan)' : ''}`,
    );
  }
  const byNode = new Map(view.nodes.map((n) => [n.nodeId, n]));
  for (const region of view.regions) {
    out.push('', `${style.bold(printable(region.region))}  (region checksum ${region.checksum})`);
    out.push(
      renderTable(
        [
          { header: 'NODE' },
          { header: 'WEIGHT', align: 'right' },
          { header: 'POINTS', align: 'right' },
          { header: 'EXPECTED', align: 'right' },
          { header: 'MEASURED', align: 'right' },
          { header: 'ROOMS', align: 'right' },
          { header: 'CHECKSUM' },
        ],
        region.nodes.map((n) => {
          const reported = byNode.get(n.nodeId);
          const check =
            reported === undefined
              ? { text: 'not asked' }
              : reported.ringChecksum === null
                ? { text: `no answer (${reported.error ?? 'error'})`, paint: style.red }
                : reported.agrees
                  ? { text: 'same', paint: style.green }
                  : { text: `DIFFERENT ${reported.ringChecksum}`, paint: style.red };
          return [
            n.nodeId,
            String(n.weight),
            String(n.points),
            percent(n.expectedShare),
            percent(n.measuredShare),
            String(n.rooms),
            check,
          ];
        }),
      ),
    );
    if (region.drawing) out.push('', renderRegionDrawing(region.drawing, style.palette));
  }
  if (view.drawnChecksum !== undefined && view.drawnChecksum !== view.checksum) {
    out.push(
      '',
      style.yellow(
        `note: the drawing's placement (checksum ${view.drawnChecksum}) differs from the node's ring: membership changed while reading, or the nodes use placement options the CLI does not know`,
      ),
    );
  }
  return out.join('\n');
}

/** Every ring member's own checksum, compared with `checksum`. */
async function nodeChecksums(
  ctx: CliContext,
  members: readonly Member[],
  checksum: string,
): Promise<NodeChecksum[]> {
  const targets = members.filter((m) => isRingState(m.state) && m.httpUrl !== '');
  const results = await perMember(targets, (m) => ctx.client(m.httpUrl).status());
  return results.map(({ member, value, error }) => ({
    nodeId: member.nodeId,
    httpUrl: member.httpUrl,
    ringChecksum: value ? value.ringChecksum : null,
    agrees: value !== undefined && value.ringChecksum === checksum,
    ...(error === undefined ? {} : { error: (error as Error).message }),
  }));
}

interface RingOptions {
  region?: string;
  draw?: boolean;
  cells: number;
  json?: boolean;
}

export function registerRing(program: Command): void {
  program
    .command('ring')
    .description("per region: each node's share of rooms, points, and ring checksum agreement")
    .option('--region <region>', 'only this region')
    .option('--draw', "draw which node owns each arc of the region's hash space")
    .option(
      '--cells <n>',
      `cells of the drawing (${DRAW_CELL_COUNT_MIN}..${DRAW_CELL_COUNT_MAX})`,
      intInRange(DRAW_CELL_COUNT_MIN, DRAW_CELL_COUNT_MAX),
      DRAW_CELL_COUNT_DEFAULT,
    )
    .option('--json', 'machine-readable output (see docs/cli.md)')
    .action(
      runAction<RingOptions>(async (ctx, options) => {
        const client = ctx.client();
        const [ring, members] = await ctx.progress(
          'reading the ring',
          Promise.all([client.ring(options.region), client.members()]),
        );
        if (options.region !== undefined && ring.regions.length === 0) {
          const known = [...new Set(members.map((m) => m.region))].sort().join(', ');
          throw new CommandFailedError(
            `no region ${JSON.stringify(options.region)} on the ring (regions: ${known || 'none'})`,
          );
        }
        const nodes = await ctx.progress(
          'asking every node for its ring checksum',
          nodeChecksums(ctx, members, ring.checksum),
        );
        let drawings: Map<string, RegionDrawing> | undefined;
        let drawnChecksum: string | undefined;
        if (options.draw) {
          const placement = createPlacement({ members: ringMembersOf(members) });
          drawnChecksum = placement.checksum();
          drawings = new Map(
            ring.regions.map((r) => [
              r.region,
              drawRegion(placement, r.region, { cellCount: options.cells }),
            ]),
          );
        }
        const view = ringJson(ctx.init.url, ring, nodes, drawings, drawnChecksum);
        if (options.json) ctx.printJson(view);
        else ctx.print(renderRing(view, ctx.style));
        return 0;
      }),
    );
}
