/** `roomring room update-metadata <room> <metadata>`: UpdateRoomMetadata, with a token scoped
 *  to that room (roomAdmin + room, as LiveKit requires), minted by the client. */
import type { Command } from 'commander';
import { roomName } from '../args.js';
import { runAction } from '../run-action.js';
import { renderCreatedRoom } from './create.js';

export function registerRoom(program: Command): void {
  const room = program.command('room').description('act on one room');
  room
    .command('update-metadata')
    .description("replace a room's metadata (UpdateRoomMetadata)")
    .argument('<room>', 'room name', roomName)
    .argument('<metadata>', 'the new metadata ("" clears it)')
    .option('--json', 'the LiveKit Room, as the client library parses it')
    .action(
      runAction<{ json?: boolean }>(async (ctx, options, [name, metadata]) => {
        const updated = await ctx.progress(
          'updating the metadata',
          ctx.client().updateRoomMetadata(name!, metadata!),
        );
        if (options.json) ctx.printJson(updated);
        else ctx.print(renderCreatedRoom(updated));
        return 0;
      }),
    );
}
