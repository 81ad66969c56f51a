/**
 * The server's version: `version` of apps/server/package.json, read once at load. The module
 * sits one directory under the package root both as src/version.ts and dist/version.js.
 */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export const SERVER_VERSION: string = readVersion();

/** What `--version` prints: the version, then the Node.js it runs on. */
export function versionLine(program: string): string {
  return `${program} ${SERVER_VERSION} (node ${process.version})\n`;
}
