#!/usr/bin/env node
/**
 * `roomring`: the cluster CLI. The parent holds the global options and the exit-code rules;
 * each command lives in src/commands/ (one file each).
 *
 * Exit codes: 0 success, 1 failure (node unreachable, credentials refused, unknown room, ...),
 * 2 usage error (unknown command or option, bad value). See docs/cli.md.
 */
import { Command, Option } from 'commander';
import { intInRange } from './args.js';
import {
  DEFAULT_API_KEY,
  DEFAULT_API_SECRET,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_URL,
  TIMEOUT_MS_MAX,
} from './cli-context.js';
import { EXIT_OK, EXIT_USAGE } from './cli-errors.js';
import { registerCreate } from './commands/create.js';
import { registerDelete } from './commands/delete.js';
import { registerKeygen } from './commands/keygen.js';
import { registerMembers } from './commands/members.js';
import { registerOwner } from './commands/owner.js';
import { registerRing } from './commands/ring.js';
import { registerRoom } from './commands/room.js';
import { registerRooms } from './commands/rooms.js';
import { registerStatus } from './commands/status.js';
import { registerToken } from './commands/token.js';
import { registerUp } from './commands/up.js';
import { registerWatch } from './commands/watch.js';
import { registerWhatIf } from './commands/whatif.js';
import { CLI_VERSION } from './version.js';

const program = new Command('roomring')
  .description('roomring: a database-free, multi-region room registry')
  .version(`roomring ${CLI_VERSION} (node ${process.version})`, '--version', 'print the version')
  // Before any subcommand is added: subcommands inherit it.
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? EXIT_OK : EXIT_USAGE);
  })
  .addOption(
    new Option('--url <url>', 'a node of the cluster').env('ROOMRING_URL').default(DEFAULT_URL),
  )
  .addOption(
    new Option('--api-key <key>', 'API key').env('ROOMRING_API_KEY').default(DEFAULT_API_KEY),
  )
  .addOption(
    new Option('--api-secret <secret>', 'API secret')
      .env('ROOMRING_API_SECRET')
      .default(DEFAULT_API_SECRET),
  )
  .addOption(
    new Option('--timeout-ms <ms>', 'deadline of each API call, retries included')
      .argParser(intInRange(1, TIMEOUT_MS_MAX))
      .default(DEFAULT_TIMEOUT_MS),
  )
  .option('--no-color', 'no ANSI colour (also off when not a terminal or NO_COLOR is set)');

registerUp(program);
registerMembers(program);
registerRing(program);
registerOwner(program);
registerRooms(program);
registerWhatIf(program);
registerStatus(program);
registerWatch(program);
registerCreate(program);
registerDelete(program);
registerKeygen(program);
registerToken(program);
registerRoom(program);

await program.parseAsync(process.argv);
