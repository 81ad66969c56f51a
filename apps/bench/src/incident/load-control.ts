/**
 * Control lines: the orchestrator (replay.ts) steers a running load generator with JSON lines
 * on its stdin, `{"cmd":"failover","from":"us-east","to":"us-west"}` and `{"cmd":"stop"}`.
 */
import { isRecord, own } from './json-object.js';

export type ControlCommand = { cmd: 'failover'; from: string; to: string } | { cmd: 'stop' };

/** Longest stdin control line; a longer one is dropped whole (commands are ~60 bytes). */
export const CONTROL_LINE_BYTES_MAX = 4_096;

/** A stdin control line is not a known command; the line is ignored (logged). */
export class ControlCommandError extends Error {
  override readonly name = 'ControlCommandError';
}

/**
 * Splits stdin into lines with a bounded buffer: a line longer than CONTROL_LINE_BYTES_MAX
 * is dropped whole (reported once), so a runaway writer cannot grow memory.
 */
export class LineSplitter {
  readonly #maxChars: number;
  #buffer = '';
  #discarding = false;

  constructor(maxChars: number = CONTROL_LINE_BYTES_MAX) {
    this.#maxChars = maxChars;
  }

  /** Complete lines in `chunk` (without '\n') and how many over-long lines were dropped. */
  push(chunk: string): { lines: string[]; dropped: number } {
    const lines: string[] = [];
    let dropped = 0;
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', from);
      const piece = chunk.slice(from, nl === -1 ? undefined : nl);
      if (!this.#discarding) {
        this.#buffer += piece;
        if (this.#buffer.length > this.#maxChars) {
          this.#buffer = '';
          this.#discarding = true;
          dropped += 1;
        }
      }
      if (nl === -1) return { lines, dropped };
      if (!this.#discarding) lines.push(this.#buffer);
      this.#buffer = '';
      this.#discarding = false;
      from = nl + 1;
    }
  }
}

/** Parses one stdin line; empty lines are undefined; unknown shapes throw ControlCommandError. */
export function parseControlLine(line: string): ControlCommand | undefined {
  const text = line.trim();
  if (text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ControlCommandError(`control line is not JSON: ${text.slice(0, 100)}`);
  }
  if (!isRecord(value)) throw new ControlCommandError('control line is not a JSON object');
  const cmd = own(value, 'cmd');
  if (cmd === 'stop') return { cmd: 'stop' };
  if (cmd === 'failover') {
    const from = own(value, 'from');
    const to = own(value, 'to');
    if (typeof from !== 'string' || typeof to !== 'string') {
      throw new ControlCommandError('failover needs string "from" and "to"');
    }
    return { cmd: 'failover', from, to };
  }
  throw new ControlCommandError(`unknown command ${JSON.stringify(cmd)}`);
}
