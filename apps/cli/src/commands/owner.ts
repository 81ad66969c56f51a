/**
 * `roomring owner <room>`: the room's home region, owner and replica partners, and whether
 * every node agrees: each alive or suspect member (its httpUrl from /v1/members) is asked for
 * /v1/owner/:room and its (sid, home region, owner) compared with the node at --url. Partners
 * are not compared: each node lists the partners of its own writes. An unknown room exits 1.
 */
import type { OwnerView } from '@roomring/client';
import type { Command } from 'commander';
import { roomName } from '../args.js';
import { isRingState, perMember } from '../cluster.js';
import type { Style } from '../render/style.js';
import { renderFields, renderTable } from '../render/table.js';
import { quoted } from '../render/text.js';
import { runAction } from '../run-action.js';

export interface NodeOwnerAnswer {
  nodeId: string;
  httpUrl: string;
  /** null when the node did not answer. */
  exists: boolean | null;
  sid: string | null;
  homeRegion: string | null;
  owner: string | null;
  partners: string[];
  agrees: boolean;
  error?: string;
}

/** `--json` shape. `sid`/`owner` are null when unknown. */
export interface OwnerJson {
  url: string;
  name: string;
  exists: boolean;
  sid: string | null;
  homeRegion: string;
  owner: string | null;
  partners: string[];
  /** Every asked node answered with the same sid, home region and owner. */
  agree: boolean;
  nodes: NodeOwnerAnswer[];
}

const orNull = (text: string): string | null => (text === '' ? null : text);

/**
 * Two answers agree on an existing room when sid, home region and owner are equal. For a room
 * that does not exist, each node names its OWN region as the home a create there would get,
 * so only "does not exist" is compared.
 */
function sameAnswer(a: OwnerView, b: OwnerView): boolean {
  if (!b.exists) return !a.exists;
  return a.sid === b.sid && a.homeRegion === b.homeRegion && a.owner === b.owner;
}

export function ownerJson(
  url: string,
  answer: OwnerView,
  nodes: readonly { nodeId: string; httpUrl: string; value?: OwnerView; error?: unknown }[],
): OwnerJson {
  const rows: NodeOwnerAnswer[] = nodes.map(({ nodeId, httpUrl, value, error }) => ({
    nodeId,
    httpUrl,
    exists: value ? value.exists : null,
    sid: value ? orNull(value.sid) : null,
    homeRegion: value ? value.homeRegion : null,
    owner: value ? orNull(value.owner) : null,
    partners: value ? value.partners : [],
    agrees: value !== undefined && sameAnswer(value, answer),
    ...(error === undefined ? {} : { error: (error as Error).message }),
  }));
  return {
    url,
    name: answer.name,
    exists: answer.exists,
    sid: orNull(answer.sid),
    homeRegion: answer.homeRegion,
    owner: orNull(answer.owner),
    partners: answer.partners,
    agree: rows.length > 0 && rows.every((r) => r.agrees),
    nodes: rows,
  };
}

/** Partners are per writing node: name the node at --url they belong to. */
function partnersText(view: OwnerJson): string {
  const list = view.partners.length === 0 ? '-' : view.partners.join(', ');
  const self = view.nodes.find((n) => n.httpUrl === view.url);
  return self ? `${list} (write partners of ${self.nodeId})` : list;
}

export function renderOwner(view: OwnerJson, style: Style): string {
  const agreeing = view.nodes.filter((n) => n.agrees).length;
  const fields = renderFields([
    ['room', view.name],
    ['exists', view.exists ? 'yes' : { text: 'no', paint: style.red }],
    ['sid', view.sid ?? '-'],
    ['home region', view.homeRegion],
    ['owner', view.owner ?? '(none: no member alive)'],
    ['partners', partnersText(view)],
    [
      'agreement',
      view.agree
        ? { text: `all ${view.nodes.length} nodes agree`, paint: style.green }
        : { text: `${agreeing} of ${view.nodes.length} nodes agree`, paint: style.red },
    ],
  ]);
  const table = renderTable(
    [
      { header: 'NODE' },
      { header: 'OWNER' },
      { header: 'HOME' },
      { header: 'SID' },
      { header: 'AGREES' },
    ],
    view.nodes.map((n) => [
      n.nodeId,
      n.error !== undefined ? `no answer: ${n.error}` : (n.owner ?? '-'),
      n.homeRegion ?? '-',
      n.sid ?? '-',
      n.agrees ? { text: 'yes', paint: style.green } : { text: 'NO', paint: style.red },
    ]),
  );
  return `${fields}\n\n${table}`;
}

export function registerOwner(program: Command): void {
  program
    .command('owner')
    .description('home region, owner and partners of a room, and whether all nodes agree')
    .argument('<room>', 'room name', roomName)
    .option('--json', 'machine-readable output (see docs/cli.md)')
    .action(
      runAction<{ json?: boolean }>(async (ctx, options, [room]) => {
        const name = room!;
        const client = ctx.client();
        const [answer, members] = await ctx.progress(
          'asking for the owner',
          Promise.all([client.owner(name), client.members()]),
        );
        const targets = members.filter((m) => isRingState(m.state) && m.httpUrl !== '');
        const results = await ctx.progress(
          'asking every node',
          perMember(targets, (m) => ctx.client(m.httpUrl).owner(name)),
        );
        const view = ownerJson(
          ctx.init.url,
          answer,
          results.map((r) => ({
            nodeId: r.member.nodeId,
            httpUrl: r.member.httpUrl,
            ...(r.value ? { value: r.value } : {}),
            ...(r.error === undefined ? {} : { error: r.error }),
          })),
        );
        if (options.json) ctx.printJson(view);
        else ctx.print(renderOwner(view, ctx.style));
        if (!view.exists) {
          ctx.warn(
            `roomring owner: room ${quoted(name)} does not exist (the owner shown is where it would be placed)`,
          );
          return 1;
        }
        return 0;
      }),
    );
}
