import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, PROFILES } from '../src/index.js';

const doc = readFileSync(
  join(import.meta.dirname, '..', '..', '..', 'docs', 'configuration.md'),
  'utf8',
);

describe('docs/configuration.md', () => {
  it('documents every option with its default', () => {
    for (const [option, value] of Object.entries(DEFAULTS)) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${option}\``));
      expect(row, `row for ${option}`).toBeDefined();
      if (typeof value === 'number') expect(row).toContain(`| ${value}`);
    }
    expect(doc).toContain('`replicationFanout`');
  });
  it('documents every profile', () => {
    for (const profile of Object.keys(PROFILES)) expect(doc).toContain(`| \`${profile}\``);
  });
});
