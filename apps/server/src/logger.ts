/** pino JSON logs to stdout, one line per entry, with the node's id and region on each. */
import pino, { type Logger } from 'pino';
import type { LogLevel } from './config.js';

export function createLogger(level: LogLevel, nodeId: string, region: string): Logger {
  return pino({
    level,
    base: { nodeId, region },
    // Tokens never reach the logs, whatever a log call passes.
    redact: ['req.headers.authorization', 'headers.authorization'],
  });
}
