/**
 * The `--config` file: YAML (`.yaml`, `.yml`) or JSON, in roomring's own keys (the flag names
 * in camelCase, snake_case or kebab-case) or in the shape livekit-server operators know
 * (LIVEKIT_KEYS below):
 *
 *   port: 7880                 -> --http-port
 *   bind_addresses: [1.2.3.4]  -> --http-host (the first)
 *   log_level: info            -> --log-level (also logging.level)
 *   region: us-east            -> --region
 *   development: true          -> --dev
 *   keys: { APIkey: secret }   -> --keys
 *   webhook: { api_key: APIkey, urls: [https://...] } -> --webhook-key, --webhook-url
 *
 * Sections of livekit-server's config that roomring has no use for (rtc, redis, turn, room,
 * ...) are listed in LIVEKIT_IGNORED_KEYS: read and ignored, and named in a warning at
 * start. Any other key is refused: a typo must not pass silently.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

/** Keys of livekit-server's config roomring reads past without using them. */
export const LIVEKIT_IGNORED_KEYS: ReadonlySet<string> = new Set([
  'rtc',
  'redis',
  'turn',
  'room',
  'audio',
  'video',
  'ingress',
  'egress',
  'agents',
  'signal_relay',
  'psrpc',
  'prometheus_port',
  'prometheus',
  'node_selector',
  'limit',
  'key_file',
  'trace',
  'node_ip',
  'rtc_config',
  'store',
  'sip',
]);

/** A key of livekit-server's config that roomring reads, and the setting it sets. */
export interface LivekitKey {
  /** The key; `section.key` for a key inside a section (`logging:`, `webhook:`). */
  path: string;
  /** The setting (a flag without `--`). */
  flag: string;
  /** Turns livekit-server's value into the setting's; the value as is without one. */
  read?: (value: unknown) => unknown;
}

/** livekit-server's keys roomring reads (log_level and region are roomring's own too). */
export const LIVEKIT_KEYS: readonly LivekitKey[] = [
  { path: 'port', flag: 'http-port' },
  // roomring listens on one address: the first.
  { path: 'bind_addresses', flag: 'http-host', read: (v) => (Array.isArray(v) ? v[0] : v) },
  { path: 'development', flag: 'dev' },
  // A map of key to secret; a `key:secret,...` string is read as roomring's own.
  {
    path: 'keys',
    flag: 'keys',
    read: (v) => (isObject(v) ? Object.entries(v).map(([k, s]) => `${k}:${String(s)}`) : v),
  },
  { path: 'logging.level', flag: 'log-level' },
  { path: 'webhook.api_key', flag: 'webhook-key' },
  { path: 'webhook.urls', flag: 'webhook-url' },
];

/**
 * Sections of livekit-server's config roomring reads keys of, and what happens to their other
 * keys: `logging` holds pion and sampling settings roomring has no use for; anything else under
 * `webhook` is a mistake worth refusing.
 */
const LIVEKIT_SECTIONS: ReadonlyMap<string, 'ignored' | 'refused'> = new Map([
  ['logging', 'ignored'],
  ['webhook', 'refused'],
]);

const LIVEKIT_BY_PATH: ReadonlyMap<string, LivekitKey> = new Map(
  LIVEKIT_KEYS.map((k) => [k.path, k]),
);

export interface ConfigFileResult {
  /** Setting name (a flag without `--`) -> value. */
  settings: Map<string, unknown>;
  /** livekit-server keys that were read and ignored. */
  ignored: string[];
}

export class ConfigFileError extends Error {
  override readonly name = 'ConfigFileError';
}

function kebab(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/_/g, '-')
    .toLowerCase();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads and maps `path`; `flags` are the settings roomring has (kebab-case). */
export function readConfigFile(path: string, flags: ReadonlySet<string>): ConfigFileResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigFileError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = /\.ya?ml$/i.test(path) ? parseYaml(text, { maxAliasCount: 100 }) : JSON.parse(text);
  } catch (error) {
    throw new ConfigFileError(`cannot parse ${path}: ${(error as Error).message.split('\n')[0]}`);
  }
  if (parsed === null || parsed === undefined) parsed = {};
  if (!isObject(parsed)) throw new ConfigFileError(`${path} must hold a mapping of settings`);
  const settings = new Map<string, unknown>();
  const ignored: string[] = [];
  const set = (flag: string, value: unknown, key: string): void => {
    if (settings.has(flag)) throw new ConfigFileError(`${key} in ${path} sets ${flag} twice`);
    settings.set(flag, value);
  };
  const setLivekit = (livekit: LivekitKey, value: unknown): void =>
    set(livekit.flag, livekit.read ? livekit.read(value) : value, livekit.path);
  for (const [key, value] of Object.entries(parsed)) {
    // A dotted path names a key inside a section, never a top-level key with a dot.
    const livekit = key.includes('.') ? undefined : LIVEKIT_BY_PATH.get(key);
    if (livekit) {
      setLivekit(livekit, value);
      continue;
    }
    const section = LIVEKIT_SECTIONS.get(key);
    if (section && isObject(value)) {
      for (const [sub, subValue] of Object.entries(value)) {
        const inner = LIVEKIT_BY_PATH.get(`${key}.${sub}`);
        if (inner) setLivekit(inner, subValue);
        else if (section === 'refused') {
          throw new ConfigFileError(`unknown key ${key}.${sub} in ${path}`);
        }
      }
      continue;
    }
    if (LIVEKIT_IGNORED_KEYS.has(key)) {
      ignored.push(key);
      continue;
    }
    const flag = kebab(key);
    if (!flags.has(flag) || flag === 'config') {
      throw new ConfigFileError(`unknown key ${key} in ${path}`);
    }
    set(flag, value, key);
  }
  return { settings, ignored };
}
