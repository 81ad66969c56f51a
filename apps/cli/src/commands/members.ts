/** `roomring members`: every member the node at --url knows, with state and last heartbeat. */
import type { Member } from '@roomring/client';
import type { Command } from 'commander';
import { type Style, stateColor } from '../render/style.js';
import { renderTable } from '../render/table.js';
import { formatAgo } from '../render/text.js';
import { runAction } from '../run-action.js';

/** `--json` shape. */
export interface MembersJson {
  url: string;
  /** Unix ms when the CLI read the list. */
  atMs: number;
  /** The API's member shape plus `lastHeardAgoMs` (null when never heard); the answering node first. */
  members: (Member & { lastHeardAgoMs: number | null })[];
}

export function membersJson(url: string, members: readonly Member[], nowMs: number): MembersJson {
  return {
    url,
    atMs: nowMs,
    members: members.map((m) => ({
      ...m,
      lastHeardAgoMs: m.lastHeardMs > 0 ? Math.max(0, nowMs - m.lastHeardMs) : null,
    })),
  };
}

export function renderMembers(view: MembersJson, style: Style): string {
  const table = renderTable(
    [
      { header: 'NODE' },
      { header: 'REGION' },
      { header: 'STATE' },
      { header: 'INCARNATION', align: 'right' },
      { header: 'ADDRESS' },
      { header: 'ROOMS', align: 'right' },
      { header: 'LAST HEARD' },
    ],
    view.members.map((m) => [
      m.self ? `${m.nodeId} *` : m.nodeId,
      m.region,
      { text: m.state, paint: (t) => stateColor(style, t) },
      String(m.incarnation),
      m.httpUrl === '' ? '-' : m.httpUrl,
      String(m.roomCount),
      m.self ? 'self' : formatAgo(m.lastHeardMs, view.atMs),
    ]),
  );
  const counts = new Map<string, number>();
  for (const m of view.members) counts.set(m.state, (counts.get(m.state) ?? 0) + 1);
  const summary = [...counts].map(([state, n]) => `${n} ${state}`).join(', ');
  return `${table}\n\n${view.members.length} members (${summary}); * = ${view.url}`;
}

export function registerMembers(program: Command): void {
  program
    .command('members')
    .description('every member with region, state, incarnation, address, rooms, last heard')
    .option('--json', 'machine-readable output (see docs/cli.md)')
    .action(
      runAction<{ json?: boolean }>(async (ctx, options) => {
        const members = await ctx.progress('reading members', ctx.client().members());
        const view = membersJson(ctx.init.url, members, ctx.nowMs());
        if (options.json) ctx.printJson(view);
        else ctx.print(renderMembers(view, ctx.style));
        return 0;
      }),
    );
}
