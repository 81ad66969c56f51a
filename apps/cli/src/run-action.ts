/**
 * The one place a cluster command's outcome becomes an exit code: the action gets a context
 * built from the global options, returns its exit code (0 by default), and anything it throws
 * is printed as one sentence on stderr (cli-errors.ts) with exit code 1, or 2 for usage.
 */
import type { Command } from 'commander';
import { type CliContext, contextOf } from './cli-context.js';
import { describeFailure, EXIT_OK, exitCodeOf } from './cli-errors.js';

export type ActionBody<O> = (
  ctx: CliContext,
  options: O,
  args: readonly string[],
) => Promise<number | undefined>;

export function runAction<O>(body: ActionBody<O>): (...params: unknown[]) => Promise<void> {
  return async (...params: unknown[]): Promise<void> => {
    // commander calls actions with (...arguments, options, command).
    const command = params[params.length - 1] as Command;
    const options = params[params.length - 2] as O;
    const args = params.slice(0, -2) as string[];
    let url = '';
    try {
      const ctx = contextOf(command);
      url = ctx.init.url;
      const code = await body(ctx, options, args);
      process.exit(code ?? EXIT_OK);
    } catch (error) {
      process.stderr.write(`roomring ${command.name()}: ${describeFailure(error, url)}\n`);
      process.exit(exitCodeOf(error));
    }
  };
}
