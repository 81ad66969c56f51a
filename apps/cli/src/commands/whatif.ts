/**
 * `roomring whatif --remove NODE` / `--add NODE@REGION[:weight]` (repeatable, combinable):
 * rooms that would move, from whom to whom, per node. Live membership and the whole room
 * list come from the node at --url; the computation is @roomring/whatif's planWhatIf (the ring
 * package), the same function the server's /v1/whatif and the dashboard use.
 */
import { DIFF_SAMPLE_MAX, type RingMember } from '@roomring/ring';
import { parseAddSpec, planWhatIf, WhatIfError, type WhatIfPlan } from '@roomring/whatif';
import { type Command, InvalidArgumentError } from 'commander';
import { collect, intInRange } from '../args.js';
import { CommandFailedError, UsageError } from '../cli-errors.js';
import { fetchAllRooms } from '../cluster.js';
import type { Style } from '../render/style.js';
import { renderTable } from '../render/table.js';
import { percent, printable } from '../render/text.js';
import { runAction } from '../run-action.js';

export const WHATIF_SAMPLE_DEFAULT = 10;

/** `--json` shape: the plan plus where it came from. */
export interface WhatIfJson extends WhatIfPlan {
  url: string;
  /** False when the room list could not be read whole (see docs/cli.md, paging). */
  roomsComplete: boolean;
}

const name = (id: string | null): string => (id === null ? '(no owner)' : id);

export function renderWhatIf(view: WhatIfJson, style: Style): string {
  const change = [
    ...view.change.remove.map((id) => `remove ${printable(id)}`),
    ...view.change.add.map((m) => `add ${printable(m.nodeId)}@${printable(m.region)}:${m.weight}`),
  ].join(', ');
  const out = [
    `what if: ${change}`,
    `ring members: ${view.ringMembersBefore} -> ${view.ringMembersAfter}` +
      `  (checksum ${view.ringChecksum.computed} -> ${view.ringChecksum.after})`,
    `rooms: ${view.roomCount}, would move: ${style.bold(String(view.movedCount))} (${percent(view.movedFraction)})`,
  ];
  if (!view.ringChecksum.match) {
    out.push(
      style.yellow(
        `warning: the live ring checksum is ${view.ringChecksum.live}, the CLI's view gives ${view.ringChecksum.computed}: membership changed while reading, or the nodes use placement options the CLI does not know`,
      ),
    );
  }
  if (!view.roomsComplete) {
    out.push(
      style.yellow(
        'warning: the room list is incomplete (an owner holds over 10,000 rooms of one region)',
      ),
    );
  }
  if (view.pairs.length > 0) {
    out.push(
      '',
      renderTable(
        [{ header: 'FROM' }, { header: 'TO' }, { header: 'ROOMS', align: 'right' }],
        view.pairs.map((p) => [name(p.from), name(p.to), String(p.count)]),
      ),
    );
  }
  out.push(
    '',
    renderTable(
      [
        { header: 'NODE' },
        { header: 'OWNS NOW', align: 'right' },
        { header: 'OWNS AFTER', align: 'right' },
        { header: 'LOSES', align: 'right' },
        { header: 'GAINS', align: 'right' },
      ],
      view.nodes.map((n) => [
        n.nodeId,
        String(n.ownedBefore),
        String(n.ownedAfter),
        String(n.lost),
        String(n.gained),
      ]),
    ),
  );
  if (view.sample.length > 0) {
    out.push(
      '',
      `first ${view.sample.length} moving rooms:`,
      renderTable(
        [{ header: 'ROOM' }, { header: 'HOME' }, { header: 'FROM' }, { header: 'TO' }],
        view.sample.map((s) => [s.name, s.homeRegion, name(s.from), name(s.to)]),
      ),
    );
  }
  return out.join('\n');
}

function addSpec(value: string, previous: RingMember[] | undefined): RingMember[] {
  try {
    return [...(previous ?? []), parseAddSpec(value)];
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

interface WhatIfOptions {
  remove?: string[];
  add?: RingMember[];
  sample: number;
  json?: boolean;
}

export function registerWhatIf(program: Command): void {
  program
    .command('whatif')
    .description('how many rooms would move if nodes left or joined, from whom to whom')
    .option('--remove <node>', 'a ring member leaves (repeatable)', collect)
    .option(
      '--add <node@region[:weight]>',
      'a new member joins (repeatable; weight 1..100, default 1)',
      addSpec,
    )
    .option(
      '--sample <n>',
      `list up to n moving rooms (0..${DIFF_SAMPLE_MAX})`,
      intInRange(0, DIFF_SAMPLE_MAX),
      WHATIF_SAMPLE_DEFAULT,
    )
    .option('--json', 'machine-readable output (see docs/cli.md)')
    .action(
      runAction<WhatIfOptions>(async (ctx, options) => {
        const change = { remove: options.remove ?? [], add: options.add ?? [] };
        if (change.remove.length === 0 && change.add.length === 0) {
          throw new UsageError('give --remove NODE and/or --add NODE@REGION[:weight]');
        }
        const client = ctx.client();
        const members = await ctx.progress('reading members', client.members());
        const listing = await ctx.progress('listing rooms', fetchAllRooms(client, members));
        let plan: WhatIfPlan;
        try {
          plan = planWhatIf(members, listing.rooms, change, options.sample);
        } catch (error) {
          if (error instanceof WhatIfError) throw new CommandFailedError(error.message);
          throw error;
        }
        const view: WhatIfJson = { url: ctx.init.url, roomsComplete: listing.complete, ...plan };
        if (options.json) ctx.printJson(view);
        else ctx.print(renderWhatIf(view, ctx.style));
        return 0;
      }),
    );
}
