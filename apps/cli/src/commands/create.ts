/** `roomring create <room>`: CreateRoom (get-or-create: an existing room comes back unchanged). */
import type { Room } from '@roomring/client';
import type { Command } from 'commander';
import { intInRange, roomName } from '../args.js';
import { renderFields } from '../render/table.js';
import { runAction } from '../run-action.js';

/** uint32 on the wire. */
const UINT32_MAX = 4_294_967_295;

interface CreateOptions {
  emptyTimeout?: number;
  departureTimeout?: number;
  maxParticipants?: number;
  node?: string;
  metadata?: string;
  json?: boolean;
}

export function renderCreatedRoom(room: Room): string {
  return renderFields([
    ['name', room.name],
    ['sid', room.sid],
    ['created', new Date(room.creationTimeMs).toISOString()],
    ['empty timeout', `${room.emptyTimeout} s`],
    ['departure timeout', `${room.departureTimeout} s`],
    ['max participants', room.maxParticipants === 0 ? 'unlimited' : String(room.maxParticipants)],
    ['metadata', room.metadata === '' ? '-' : room.metadata],
  ]);
}

export function registerCreate(program: Command): void {
  program
    .command('create')
    .description('create a room (get-or-create: an existing room is returned unchanged)')
    .argument('<room>', 'room name', roomName)
    .option(
      '--empty-timeout <s>',
      'seconds an empty room lives (0 = 300)',
      intInRange(0, UINT32_MAX),
    )
    .option(
      '--departure-timeout <s>',
      'seconds after the last one leaves (0 = 20)',
      intInRange(0, UINT32_MAX),
    )
    .option('--max-participants <n>', '0 = unlimited', intInRange(0, UINT32_MAX))
    .option('--node <id>', 'pin the room to this node while it is alive')
    .option('--metadata <text>', 'room metadata')
    .option('--json', 'the LiveKit Room, as the client library parses it')
    .action(
      runAction<CreateOptions>(async (ctx, options, [name]) => {
        const room = await ctx.progress(
          'creating the room',
          ctx.client().createRoom({
            name: name!,
            ...(options.emptyTimeout === undefined ? {} : { emptyTimeout: options.emptyTimeout }),
            ...(options.departureTimeout === undefined
              ? {}
              : { departureTimeout: options.departureTimeout }),
            ...(options.maxParticipants === undefined
              ? {}
              : { maxParticipants: options.maxParticipants }),
            ...(options.node === undefined ? {} : { nodeId: options.node }),
            ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
          }),
        );
        if (options.json) ctx.printJson(room);
        else ctx.print(renderCreatedRoom(room));
        return 0;
      }),
    );
}
