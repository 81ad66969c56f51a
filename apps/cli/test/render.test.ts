import { describe, expect, it } from 'vitest';
import { colorWanted, createStyle } from '../src/render/style.js';
import { renderFields, renderTable } from '../src/render/table.js';
import {
  displayWidth,
  formatAgo,
  formatDuration,
  percent,
  printable,
  quoted,
  truncate,
} from '../src/render/text.js';
import { hasControl } from './fixtures.js';

const plain = createStyle(false);
const color = createStyle(true);

describe('text helpers', () => {
  it('makes control characters and bidi overrides visible', () => {
    expect(printable('a\u001b[31mb\nc')).toBe('a\\u{1b}[31mb\\u{a}c');
    expect(printable('x\u202ey\u2066z\u0085')).toBe('x\\u{202e}y\\u{2066}z\\u{85}');
    expect(printable('emoji 🎉 ok, née')).toBe('emoji 🎉 ok, née');
    expect(hasControl(printable('\u0000\u0007\u009b'))).toBe(false);
    expect(quoted('a\tb')).toBe('"a\\u{9}b"');
  });

  it('measures terminal width: wide, zero-width and plain characters', () => {
    expect(displayWidth('abc')).toBe(3);
    expect(displayWidth('会议')).toBe(4);
    expect(displayWidth('🎉')).toBe(2);
    expect(displayWidth('e\u0301')).toBe(1);
  });

  it('truncates to a width with an ellipsis', () => {
    expect(truncate('abcdef', 6)).toBe('abcdef');
    expect(truncate('abcdefg', 6)).toBe('abcde…');
    expect(displayWidth(truncate('会议会议会议', 5))).toBeLessThanOrEqual(5);
  });

  it('formats durations and percentages', () => {
    expect(formatDuration(-5)).toBe('0ms');
    expect(formatDuration(850)).toBe('850ms');
    expect(formatDuration(12_400)).toBe('12s');
    expect(formatDuration(5 * 60_000 + 3_000)).toBe('5m03s');
    expect(formatDuration(2 * 3_600_000 + 5 * 60_000)).toBe('2h05m');
    expect(formatDuration(3 * 86_400_000 + 4 * 3_600_000)).toBe('3d04h');
    expect(formatAgo(0, 1_000)).toBe('-');
    expect(formatAgo(1_000, 3_500)).toBe('2s ago');
    expect(percent(0.5034)).toBe('50.3%');
  });
});

describe('colour', () => {
  it('is on only for a TTY without NO_COLOR and without --no-color', () => {
    expect(colorWanted(true, {}, true)).toBe(true);
    expect(colorWanted(false, {}, true)).toBe(false);
    expect(colorWanted(undefined, {}, true)).toBe(false);
    expect(colorWanted(true, { NO_COLOR: '1' }, true)).toBe(false);
    expect(colorWanted(true, { NO_COLOR: '' }, true)).toBe(true);
    expect(colorWanted(true, {}, false)).toBe(false);
  });

  it('adds ANSI codes only when enabled', () => {
    expect(plain.red('x')).toBe('x');
    expect(plain.palette(3, 'B')).toBe('B');
    expect(color.red('x')).toBe('\u001b[31mx\u001b[0m');
    expect(color.palette(0, 'A')).not.toBe(color.palette(1, 'A'));
  });
});

describe('renderTable', () => {
  const columns = [{ header: 'NAME' }, { header: 'COUNT', align: 'right' as const }];

  it('pads columns to the widest cell, right-aligns numbers, trims line ends', () => {
    const text = renderTable(columns, [
      ['a', '1'],
      ['longer-name', '12345'],
    ]);
    expect(text.split('\n')).toEqual([
      'NAME         COUNT',
      'a                1',
      'longer-name  12345',
    ]);
    for (const line of text.split('\n')) expect(line).toBe(line.trimEnd());
  });

  it('does not count colour codes as width', () => {
    const painted = renderTable(columns, [[{ text: 'ok', paint: color.green }, '7']]);
    const unpainted = renderTable(columns, [['ok', '7']]);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI codes
    expect(painted.replace(/\u001b\[\d+m/g, '')).toBe(unpainted);
  });

  it('escapes hostile cells and cuts long ones', () => {
    const hostile = 'evil\u001b]0;pwned\u0007\nname';
    const text = renderTable([{ header: 'NAME', widthMax: 12 }], [[hostile], ['x'.repeat(300)]]);
    expect(hasControl(text)).toBe(false);
    expect(text.split('\n')).toHaveLength(3);
    for (const line of text.split('\n')) expect(displayWidth(line)).toBeLessThanOrEqual(12);
  });

  it('renders key/value fields aligned', () => {
    expect(
      renderFields([
        ['room', 'a'],
        ['home region', { text: 'eu', paint: plain.red }],
      ]),
    ).toBe('room         a\nhome region  eu');
  });
});
