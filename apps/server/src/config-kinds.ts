/**
 * The kinds of value a server setting takes, one constructor each. A constructor returns a
 * row of the settings table (config-settings.ts): how --help and the docs show the setting,
 * and `parse`, which validates a raw value (a flag's or env var's string; a file's string,
 * number, boolean or list) into the setting's type, or throws ServerConfigError naming it.
 */

const CLUSTER_KEY_PATTERN = /^[0-9a-fA-F]{64}$/;

/** What a value is, as --help and the docs say it. */
export type SettingKind =
  | 'text'
  | 'integer'
  | 'choice'
  | 'switch'
  | 'host:port list'
  | 'URL'
  | 'URL list'
  | 'key:secret list'
  | 'hex';

export interface Setting<T> {
  /** The flag without dashes, kebab-case. */
  readonly flag: string;
  readonly kind: SettingKind;
  /** Placeholder of the value in --help; undefined for a switch (it takes none). */
  readonly arg: string | undefined;
  readonly help: string;
  /** The default as --help and the docs show it; '' when there is none. */
  readonly defaultText: string;
  /** integer: the bounds; lists: the most entries. */
  readonly min: number | undefined;
  readonly max: number | undefined;
  /** choice: the values allowed. */
  readonly choices: readonly string[] | undefined;
  /** The value given by a flag, env var or file key (undefined: none), validated. */
  readonly parse: (value: unknown) => T;
}

/** A setting is missing or out of range. `setting` is the flag name without dashes. */
export class ServerConfigError extends Error {
  override readonly name = 'ServerConfigError';
  readonly code = 'ERR_SERVER_CONFIG';
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`invalid setting --${setting}: ${message}`);
  }
}

// ---------------------------------------------------------------------------------------
// One constructor per kind: each validates a raw value (a flag's or env var's string, or a
// file's string, number, boolean or list) and fixes the value's type.
// ---------------------------------------------------------------------------------------

export interface RowSpec {
  flag: string;
  arg: string;
  help: string;
  /** Overrides the default shown, when it is not a constant or needs a word. */
  defaultText?: string;
}

function row<T>(
  spec: RowSpec,
  kind: SettingKind,
  parse: (value: unknown) => T,
  shown: Partial<Pick<Setting<T>, 'defaultText' | 'min' | 'max' | 'choices'>> = {},
): Setting<T> {
  return Object.freeze({
    flag: spec.flag,
    kind,
    arg: kind === 'switch' ? undefined : spec.arg,
    help: spec.help,
    defaultText: spec.defaultText ?? shown.defaultText ?? '',
    min: shown.min,
    max: shown.max,
    choices: shown.choices,
    parse,
  });
}

/** The value as text; numbers as written, lists joined with ','; undefined when not given. */
function asText(flag: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return value.join(',');
  if (typeof value !== 'string') throw new ServerConfigError(flag, 'must be a string');
  return value;
}

function asList(flag: string, value: unknown): string[] {
  const text = asText(flag, value);
  if (text === undefined) return [];
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Text; '' counts as not given. `fallback` (a constant or computed) when not given. */
export function text(spec: RowSpec & { fallback: string | (() => string) }): Setting<string>;
export function text(spec: RowSpec): Setting<string | undefined>;
export function text(
  spec: RowSpec & { fallback?: string | (() => string) },
): Setting<string | undefined> {
  const { fallback } = spec;
  return row(
    spec,
    'text',
    (value) => {
      const given = asText(spec.flag, value);
      if (given) return given;
      return typeof fallback === 'function' ? fallback() : fallback;
    },
    { defaultText: typeof fallback === 'string' ? fallback : '' },
  );
}

/** Text that must be given. */
export function requiredText(spec: RowSpec): Setting<string> {
  return row(
    spec,
    'text',
    (value) => {
      const given = asText(spec.flag, value);
      if (!given) throw new ServerConfigError(spec.flag, 'is required');
      return given;
    },
    { defaultText: 'required' },
  );
}

function checkInteger(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new ServerConfigError(flag, `must be an integer, got "${text}"`);
  }
  const n = Number(text.trim());
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ServerConfigError(flag, `must be between ${min} and ${max}, got ${text}`);
  }
  return n;
}

/** A whole number in [min, max]; '' counts as not given. */
export function integer(
  spec: RowSpec & { fallback: number; min: number; max: number },
): Setting<number> {
  const { flag, fallback, min, max } = spec;
  return row(
    spec,
    'integer',
    (value) => {
      const given = asText(flag, value);
      return given === undefined || given === '' ? fallback : checkInteger(flag, given, min, max);
    },
    { defaultText: String(fallback), min, max },
  );
}

/** A whole number in [min, max], or undefined when not given (the default is decided later). */
export function optionalInteger(
  spec: RowSpec & { min: number; max: number },
): Setting<number | undefined> {
  const { flag, min, max } = spec;
  return row(
    spec,
    'integer',
    (value) => {
      const given = asText(flag, value);
      return given === undefined || given === '' ? undefined : checkInteger(flag, given, min, max);
    },
    { min, max },
  );
}

/** One of `choices`; '' counts as not given. */
export function choice<C extends string>(
  spec: RowSpec & { choices: readonly C[]; fallback: C },
): Setting<C>;
export function choice<C extends string>(
  spec: RowSpec & { choices: readonly C[] },
): Setting<C | undefined>;
export function choice<C extends string>(
  spec: RowSpec & { choices: readonly C[]; fallback?: C },
): Setting<C | undefined> {
  const { flag, choices, fallback } = spec;
  return row(
    spec,
    'choice',
    (value) => {
      const given = asText(flag, value);
      if (given === undefined || given === '') return fallback;
      if (!(choices as readonly string[]).includes(given)) {
        throw new ServerConfigError(flag, `must be one of ${choices.join(', ')}, got "${given}"`);
      }
      return given as C;
    },
    { defaultText: fallback ?? '', choices },
  );
}

/** On or off; a bare flag is on. */
export function onOff(spec: Omit<RowSpec, 'arg'>): Setting<boolean> {
  return row(
    { ...spec, arg: '' },
    'switch',
    (value) => {
      if (value === undefined || value === false || value === 'false' || value === '0') {
        return false;
      }
      if (value === true || value === 'true' || value === '1' || value === '') return true;
      throw new ServerConfigError(spec.flag, 'must be true or false');
    },
    { defaultText: 'off' },
  );
}

/** `host:port` (`[ipv6]:port`) entries, each port 1..65535, at most `max` of them. */
export function hostPorts(spec: RowSpec & { max?: number }): Setting<readonly string[]> {
  const { flag, max } = spec;
  return row(
    spec,
    'host:port list',
    (value) => {
      const entries = asList(flag, value);
      for (const entry of entries) {
        const match = /^(?:\[[0-9a-fA-F:.]+\]|[^:/[\]\s]+):(\d{1,5})$/.exec(entry);
        if (!match || Number(match[1]) < 1 || Number(match[1]) > 65_535) {
          throw new ServerConfigError(flag, `"${entry}" is not host:port`);
        }
      }
      if (max !== undefined && entries.length > max) {
        throw new ServerConfigError(flag, `at most ${max} addresses`);
      }
      return Object.freeze(entries);
    },
    { max },
  );
}

function checkUrl(flag: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ServerConfigError(flag, `"${value}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ServerConfigError(flag, 'must be an http:// or https:// URL');
  }
  return value.replace(/\/+$/, '');
}

/** One http(s) URL, without trailing slashes; '' counts as not given. */
export function url(spec: RowSpec): Setting<string | undefined> {
  return row(spec, 'URL', (value) => {
    const given = asText(spec.flag, value);
    return given ? checkUrl(spec.flag, given) : undefined;
  });
}

/** Distinct http(s) URLs, at most `max`. */
export function urls(spec: RowSpec & { max: number }): Setting<readonly string[]> {
  const { flag, max } = spec;
  return row(
    spec,
    'URL list',
    (value) => {
      const list = asList(flag, value).map((entry) => checkUrl(flag, entry));
      if (list.length > max) throw new ServerConfigError(flag, `at most ${max} URLs`);
      if (new Set(list).size !== list.length) {
        throw new ServerConfigError(flag, 'a URL is given twice');
      }
      return list;
    },
    { max },
  );
}

/**
 * `key:secret,...`, or livekit-server's LIVEKIT_KEYS shape, one `key: secret` per line. A
 * Map: keys arrive in untrusted tokens (PLATFORM.md). Empty when not given.
 */
export function keyPairs(spec: RowSpec): Setting<ReadonlyMap<string, string>> {
  const { flag } = spec;
  return row(spec, 'key:secret list', (value) => {
    const keys = new Map<string, string>();
    const pairs = (asText(flag, value) ?? '')
      .split(/[,\n]/)
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    for (const pair of pairs) {
      const colon = pair.indexOf(':');
      const key = colon > 0 ? pair.slice(0, colon).trim() : '';
      const secret = colon > 0 ? pair.slice(colon + 1).trim() : '';
      if (!key || !secret) throw new ServerConfigError(flag, 'each entry must be key:secret');
      if (keys.has(key)) throw new ServerConfigError(flag, `key ${key} is given twice`);
      keys.set(key, secret);
    }
    return keys;
  });
}

/** 64 hex characters; undefined when not given (required or not is decided later). */
export function clusterKey(spec: RowSpec): Setting<string | undefined> {
  return row(spec, 'hex', (value) => {
    const given = asText(spec.flag, value);
    if (!given) return undefined;
    if (!CLUSTER_KEY_PATTERN.test(given)) {
      throw new ServerConfigError(spec.flag, 'must be 64 hex characters (32 bytes)');
    }
    return given;
  });
}
