/**
 * Once per run of the `hosts` project, before its tests: remove what crashed earlier runs
 * left, and build the server the harness runs (the README's test command does not build).
 * Afterwards: remove whatever a test process that died left behind. Nothing happens when the
 * harness cannot run here (not root): the tests then skip, saying why.
 */
import { buildServer, hostsUnavailableReason, sweepLeftovers } from '../src/index.js';

export default function setup(): () => void {
  if (hostsUnavailableReason() !== undefined) return () => undefined;
  const swept = sweepLeftovers();
  if (swept.length > 0)
    console.log(`[hosts] removed leftovers of earlier runs: ${swept.join(' ')}`);
  const buildMs = buildServer();
  console.log(`[hosts] server built (tsc -b) in ${buildMs} ms`);
  return () => {
    const left = sweepLeftovers();
    if (left.length > 0) console.log(`[hosts] removed leftovers of this run: ${left.join(' ')}`);
  };
}
