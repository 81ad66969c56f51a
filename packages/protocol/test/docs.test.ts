import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MEMBER_STATES, MESSAGE_TYPE_CODES, RPC_ERROR_CODES } from '../src/index.js';
import * as limits from '../src/limits.js';

const docs = join(dirname(fileURLToPath(import.meta.url)), '../../../docs');
const read = (path: string): string => readFileSync(join(docs, path), 'utf8');

/** A table row starting with these cells, whatever the column padding (biome aligns tables). */
function row(...cells: string[]): RegExp {
  const escaped = cells.map((cell) => cell.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^\\|\\s*${escaped.join('\\s*\\|\\s*')}\\s*\\|`, 'm');
}

describe('docs stay in step with the code', () => {
  it('docs/limits.md has a row for every exported limit', () => {
    const text = read('limits.md');
    const names = Object.keys(limits);
    expect(names.length).toBeGreaterThan(30);
    const missing = names.filter((name) => !row(`\`${name}\``).test(text));
    expect(missing).toEqual([]);
  });

  it('docs/protocol/wire-format.md lists every message type with its code, and every enum', () => {
    const text = read('protocol/wire-format.md');
    for (const [type, code] of Object.entries(MESSAGE_TYPE_CODES)) {
      expect(text, type).toMatch(row(String(code), `\`${type}\``));
    }
    for (const [code, state] of MEMBER_STATES.entries()) {
      expect(text, state).toMatch(row(`\`${state}\``, String(code)));
    }
    for (const [code, name] of RPC_ERROR_CODES.entries()) {
      expect(text, name).toMatch(new RegExp(`\\|\\s*\`${name}\`\\s*\\|\\s*${code}\\s*\\|`));
    }
    for (const code of ['too-large', 'malformed', 'version', 'unknown-type', 'schema', 'limit']) {
      expect(text, code).toMatch(row(`\`${code}\``));
    }
  });

  it('the row matcher finds rows, padded or not, and nothing else', () => {
    expect(row('`A`').test('| `A` | 1 |')).toBe(true);
    expect(row('`A`').test('| `A`     |     1 |')).toBe(true);
    expect(row('`A`').test('| `AB` | 1 |')).toBe(false);
    expect(row('`A`').test('see `A` in text')).toBe(false);
  });
});
