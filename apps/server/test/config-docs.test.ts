/**
 * docs/configuration.md's table of server settings is generated from SETTINGS
 * (config-settings.ts): this test fails when the two differ, and rewrites the table when run
 * with UPDATE_DOCS=1:
 *
 *   UPDATE_DOCS=1 npx vitest run --project server test/config-docs.test.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { settingsMarkdown } from '../src/config.js';
import { SETTING_ROWS } from '../src/config-settings.js';

const DOC_PATH = join(import.meta.dirname, '..', '..', '..', 'docs', 'configuration.md');
const START = /<!-- server-settings:start[^>]*-->\n/;
const END = '<!-- server-settings:end -->';

/** The document's text between the markers, and the document with `table` put there. */
function generatedSection(doc: string): { current: string; withTable: (table: string) => string } {
  const start = START.exec(doc);
  const end = doc.indexOf(END);
  if (start === null || end < start.index) throw new Error(`${DOC_PATH} lacks the markers`);
  const from = start.index + start[0].length;
  return {
    current: doc.slice(from, end),
    withTable: (table) => `${doc.slice(0, from)}${table}${doc.slice(end)}`,
  };
}

describe('docs/configuration.md', () => {
  it('holds the settings table generated from the code', () => {
    const doc = readFileSync(DOC_PATH, 'utf8');
    const section = generatedSection(doc);
    const table = `${settingsMarkdown()}\n`;
    if (process.env.UPDATE_DOCS === '1' && section.current !== table) {
      writeFileSync(DOC_PATH, section.withTable(table));
      return;
    }
    expect(section.current).toBe(table);
  });

  it('has a row for every setting, with its env var, default and bounds', () => {
    const table = settingsMarkdown().split('\n');
    expect(table).toHaveLength(2 + SETTING_ROWS.length);
    const port = table.find((line) => line.startsWith('| `--http-port <port>`'))!;
    expect(port.split('|').map((cell) => cell.trim())).toEqual([
      '',
      '`--http-port <port>`',
      '`ROOMRING_HTTP_PORT`',
      '`httpPort`; livekit-server: `port`',
      'integer',
      '7880',
      '0',
      '65535',
      'HTTP port; 0 picks a free one',
      '',
    ]);
    const keys = table.find((line) => line.startsWith('| `--keys'))!;
    expect(keys).toContain('`ROOMRING_KEYS`, `LIVEKIT_KEYS`');
    expect(table.find((line) => line.startsWith('| `--profile'))).toContain(
      'one of `lan`, `wan`, `local`, `test`',
    );
  });
});
