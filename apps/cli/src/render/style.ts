/**
 * Colour through plain ANSI SGR codes, only when stdout is a terminal and `NO_COLOR` is unset
 * (https://no-color.org: any non-empty value turns colour off) and `--no-color` was not given.
 */

export interface Style {
  readonly enabled: boolean;
  green(text: string): string;
  yellow(text: string): string;
  red(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
  /** One of a fixed palette, by index: tells ring letters apart. */
  palette(index: number, text: string): string;
}

const PALETTE = [31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96] as const;

function sgr(code: number, text: string): string {
  return `\u001b[${code}m${text}\u001b[0m`;
}

export function createStyle(enabled: boolean): Style {
  if (!enabled) {
    const same = (text: string): string => text;
    return {
      enabled,
      green: same,
      yellow: same,
      red: same,
      dim: same,
      bold: same,
      palette: (_i, text) => text,
    };
  }
  return {
    enabled,
    green: (t) => sgr(32, t),
    yellow: (t) => sgr(33, t),
    red: (t) => sgr(31, t),
    dim: (t) => sgr(2, t),
    bold: (t) => sgr(1, t),
    palette: (i, t) => sgr(PALETTE[i % PALETTE.length]!, t),
  };
}

/** Colour decision for a stream and environment (pure, so it is tested). */
export function colorWanted(
  isTty: boolean | undefined,
  env: Readonly<Record<string, string | undefined>>,
  flag: boolean,
): boolean {
  return flag && isTty === true && (env.NO_COLOR ?? '') === '';
}

/** Colour of a member state: alive green, suspect yellow, dead/left red. */
export function stateColor(style: Style, state: string): string {
  if (state === 'alive' || state === 'running') return style.green(state);
  if (state === 'suspect') return style.yellow(state);
  if (state === 'dead' || state === 'left') return style.red(state);
  return state;
}
