/** `roomring rooms [--region R] [--owner NODE] [--limit N]`: rooms with sid, owner, participants, age. */
import type { AdminRoom } from '@roomring/client';
import type { Command } from 'commander';
import { intInRange } from '../args.js';
import { ROOMS_PAGE_MAX } from '../cluster.js';
import type { Style } from '../render/style.js';
import { renderTable } from '../render/table.js';
import { formatDuration } from '../render/text.js';
import { runAction } from '../run-action.js';

export const ROOMS_LIMIT_DEFAULT = 100;

/** `--json` shape. */
export interface RoomsJson {
  url: string;
  atMs: number;
  limit: number;
  /** True when `limit` rooms came back: there may be more. */
  limitReached: boolean;
  /** The API's admin room shape; `owner` '' when no member is alive. */
  rooms: AdminRoom[];
}

export function roomsJson(
  url: string,
  rooms: AdminRoom[],
  limit: number,
  nowMs: number,
): RoomsJson {
  return { url, atMs: nowMs, limit, limitReached: rooms.length >= limit, rooms };
}

export function renderRooms(view: RoomsJson, style: Style): string {
  if (view.rooms.length === 0) return style.dim('no rooms');
  return renderTable(
    [
      { header: 'NAME' },
      { header: 'SID' },
      { header: 'HOME' },
      { header: 'OWNER' },
      { header: 'PARTICIPANTS', align: 'right' },
      { header: 'AGE', align: 'right' },
    ],
    view.rooms.map((r) => [
      r.name,
      r.sid,
      r.homeRegion,
      r.owner === '' ? '-' : r.owner,
      String(r.numParticipants),
      formatDuration(view.atMs - r.createdAtMs),
    ]),
  );
}

interface RoomsOptions {
  region?: string;
  owner?: string;
  limit: number;
  json?: boolean;
}

export function registerRooms(program: Command): void {
  program
    .command('rooms')
    .description('rooms with sid, home region, owner, participants and age')
    .option('--region <region>', 'only rooms of this home region')
    .option('--owner <node>', 'only rooms this node owns')
    .option(
      '--limit <n>',
      `at most this many rooms (1..${ROOMS_PAGE_MAX})`,
      intInRange(1, ROOMS_PAGE_MAX),
      ROOMS_LIMIT_DEFAULT,
    )
    .option('--json', 'machine-readable output (see docs/cli.md)')
    .action(
      runAction<RoomsOptions>(async (ctx, options) => {
        const rooms = await ctx.progress(
          'listing rooms',
          ctx.client().rooms({
            ...(options.region === undefined ? {} : { region: options.region }),
            ...(options.owner === undefined ? {} : { owner: options.owner }),
            limit: options.limit,
          }),
        );
        const view = roomsJson(ctx.init.url, rooms, options.limit, ctx.nowMs());
        if (options.json) {
          ctx.printJson(view);
          return 0;
        }
        ctx.print(renderRooms(view, ctx.style));
        if (view.limitReached) ctx.warn(`(first ${view.limit} rooms; --limit shows more)`);
        return 0;
      }),
    );
}
