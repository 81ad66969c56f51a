/**
 * A tiny table renderer (no dependency): header row, columns two spaces apart, widths from
 * the widest cell, numbers right-aligned. Every cell is made printable first (render/text.ts)
 * and cut to its column's `widthMax`; colour is applied after padding so ANSI codes never
 * count as width.
 */
import { displayWidth, printable, truncate } from './text.js';

export interface Column {
  header: string;
  /** @default 'left' */
  align?: 'left' | 'right';
  /** Cells wider than this are cut with `…` (room names may be 256 bytes). @default 48 */
  widthMax?: number;
}

/** A cell: plain text, or text with a colour function applied after padding. */
export type Cell = string | { text: string; paint?: (text: string) => string };

/** Default cap of a column's width, in terminal columns. */
export const COLUMN_WIDTH_MAX_DEFAULT = 48;
const GAP = '  ';

function cellText(cell: Cell, widthMax: number): string {
  const text = typeof cell === 'string' ? cell : cell.text;
  return truncate(printable(text), widthMax);
}

/** Lines of the table, without a trailing newline; no trailing spaces on any line. */
export function renderTable(
  columns: readonly Column[],
  rows: readonly (readonly Cell[])[],
): string {
  const texts = rows.map((row) =>
    columns.map((col, i) => cellText(row[i] ?? '', col.widthMax ?? COLUMN_WIDTH_MAX_DEFAULT)),
  );
  const widths = columns.map((col, i) =>
    Math.max(displayWidth(col.header), ...texts.map((t) => displayWidth(t[i]!))),
  );
  const line = (cells: readonly string[], paints: readonly ((t: string) => string)[]): string =>
    cells
      .map((text, i) => {
        const pad = ' '.repeat(widths[i]! - displayWidth(text));
        const painted = paints[i] ? paints[i]!(text) : text;
        return columns[i]!.align === 'right' ? pad + painted : painted + pad;
      })
      .join(GAP)
      .trimEnd();
  const none: ((t: string) => string)[] = [];
  const out = [
    line(
      columns.map((c) => c.header),
      none,
    ),
  ];
  rows.forEach((row, r) => {
    const paints = columns.map((_, i) => {
      const cell = row[i];
      return typeof cell === 'object' && cell.paint ? cell.paint : (t: string) => t;
    });
    out.push(line(texts[r]!, paints));
  });
  return out.join('\n');
}

/** `key  value` lines with the keys padded to one width (for single-object answers). */
export function renderFields(fields: readonly (readonly [string, Cell])[]): string {
  const width = Math.max(0, ...fields.map(([k]) => displayWidth(k)));
  return fields
    .map(([key, cell]) => {
      const text = printable(typeof cell === 'string' ? cell : cell.text);
      const painted = typeof cell === 'object' && cell.paint ? cell.paint(text) : text;
      return `${key.padEnd(width)}  ${painted}`.trimEnd();
    })
    .join('\n');
}
