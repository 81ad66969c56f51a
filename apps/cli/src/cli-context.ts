/**
 * What every cluster command shares: the validated global options (URL, credentials, timeout,
 * colour), one typed client per node URL (`@roomring/client`: deadlines, back-off, retry
 * budget), and the output channels (stdout for answers, stderr for warnings and progress).
 */
import { createRoomringClient, type RoomringClient } from '@roomring/client';
import type { Command } from 'commander';
import { UsageError } from './cli-errors.js';
import { withProgress } from './progress.js';
import { colorWanted, createStyle, type Style } from './render/style.js';

/** `--url` default: the first node of `roomring up`. */
export const DEFAULT_URL = 'http://127.0.0.1:7880';
/** The development key pair every `roomring up` node accepts (`--dev`). */
export const DEFAULT_API_KEY = 'devkey';
export const DEFAULT_API_SECRET = 'secret';
/** Deadline of one API call, retries included: the client library's default. */
export const DEFAULT_TIMEOUT_MS = 5_000;
/** Longest `--timeout-ms`: ten minutes is past any sane admin read. */
export const TIMEOUT_MS_MAX = 600_000;

/** The global options, after environment variables and defaults were applied. */
export interface CliInit {
  /** First node to ask. @default DEFAULT_URL (or ROOMRING_URL) */
  url: string;
  /** @default DEFAULT_API_KEY (or ROOMRING_API_KEY) */
  apiKey: string;
  /** @default DEFAULT_API_SECRET (or ROOMRING_API_SECRET) */
  apiSecret: string;
  /** Deadline of each API call in ms, retries included. @default DEFAULT_TIMEOUT_MS */
  timeoutMs: number;
  /** False with `--no-color`. Colour also needs a TTY and no NO_COLOR. @default true */
  color: boolean;
}

export interface CliContext {
  readonly init: Readonly<CliInit>;
  readonly style: Style;
  /** The client of `url` (default: `--url`); one per URL, so each keeps its retry budget. */
  client(url?: string): RoomringClient;
  /** One line (or block) on stdout. */
  print(text: string): void;
  /** A JSON document on stdout, two-space indented. */
  printJson(value: unknown): void;
  /** A line on stderr. */
  warn(text: string): void;
  /** Runs `work`, with a progress line on stderr if it takes over a second. */
  progress<T>(label: string, work: Promise<T>): Promise<T>;
  nowMs(): number;
}

/** Validates a node URL: http(s), no query or fragment; no trailing slash in the result. */
export function checkNodeUrl(text: string, what = '--url'): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${what}: not a URL: ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${what}: must be an http:// or https:// URL, got ${url.protocol}`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new UsageError(`${what}: must not have a query or a fragment`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Global options as commander hands them over (after `.env()` and defaults). */
interface RawGlobals {
  url?: string;
  apiKey?: string;
  apiSecret?: string;
  timeoutMs?: number;
  color?: boolean;
}

export function resolveCliInit(raw: RawGlobals): Readonly<CliInit> {
  const apiKey = raw.apiKey ?? DEFAULT_API_KEY;
  const apiSecret = raw.apiSecret ?? DEFAULT_API_SECRET;
  if (apiKey === '') throw new UsageError('--api-key must not be empty');
  if (apiSecret === '') throw new UsageError('--api-secret must not be empty');
  return Object.freeze({
    url: checkNodeUrl(raw.url ?? DEFAULT_URL),
    apiKey,
    apiSecret,
    timeoutMs: raw.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    color: raw.color ?? true,
  });
}

export function createCliContext(init: Readonly<CliInit>): CliContext {
  const clients = new Map<string, RoomringClient>();
  const style = createStyle(colorWanted(process.stdout.isTTY, process.env, init.color));
  return {
    init,
    style,
    client(url = init.url) {
      let client = clients.get(url);
      if (!client) {
        client = createRoomringClient({
          baseUrl: url,
          apiKey: init.apiKey,
          apiSecret: init.apiSecret,
          defaultDeadlineMs: init.timeoutMs,
        });
        clients.set(url, client);
      }
      return client;
    },
    print: (text) => {
      process.stdout.write(`${text}\n`);
    },
    printJson: (value) => {
      process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    warn: (text) => {
      process.stderr.write(`${text}\n`);
    },
    progress: (label, work) => withProgress(label, work, process.stderr),
    nowMs: () => Date.now(),
  };
}

/** The context of a subcommand, from its own and its parents' options. */
export function contextOf(command: Command): CliContext {
  return createCliContext(resolveCliInit(command.optsWithGlobals() as RawGlobals));
}
