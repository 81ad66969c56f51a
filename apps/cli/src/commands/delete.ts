/** `roomring delete <room>`: DeleteRoom; an unknown room is a failure (exit 1). */
import { RoomringApiError } from '@roomring/client';
import type { Command } from 'commander';
import { roomName } from '../args.js';
import { CommandFailedError } from '../cli-errors.js';
import { quoted } from '../render/text.js';
import { runAction } from '../run-action.js';

export function registerDelete(program: Command): void {
  program
    .command('delete')
    .description('delete a room')
    .argument('<room>', 'room name', roomName)
    .option('--json', 'print {"name","deleted":true}')
    .action(
      runAction<{ json?: boolean }>(async (ctx, options, [room]) => {
        const name = room!;
        try {
          await ctx.progress('deleting the room', ctx.client().deleteRoom(name));
        } catch (error) {
          if (error instanceof RoomringApiError && error.code === 'not_found') {
            throw new CommandFailedError(`room ${quoted(name)} does not exist`);
          }
          throw error;
        }
        if (options.json) ctx.printJson({ name, deleted: true });
        else ctx.print(`deleted room ${quoted(name)}`);
        return 0;
      }),
    );
}
