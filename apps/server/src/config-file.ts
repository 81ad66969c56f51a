/**
 * The `--config` file: YAML (`.yaml`, `.yml`) or JSON, in roomring's own keys (the flag names
 * in camelCase, snake_case or kebab-case) or in the shape livekit-server operators know:
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
  for (const [key, value] of Object.entries(parsed)) {
    switch (key) {
      case 'port':
        set('http-port', value, key);
        continue;
      case 'bind_addresses':
        set('http-host', Array.isArray(value) ? value[0] : value, key);
        continue;
      case 'development':
        set('dev', value, key);
        continue;
      case 'keys':
        if (isObject(value)) {
          set(
            'keys',
            Object.entries(value).map(([k, secret]) => `${k}:${String(secret)}`),
            key,
          );
          continue;
        }
        break;
      case 'logging':
        if (isObject(value)) {
          if (value.level !== undefined) set('log-level', value.level, 'logging.level');
          continue;
        }
        break;
      case 'webhook':
        if (isObject(value)) {
          for (const [sub, v] of Object.entries(value)) {
            if (sub === 'api_key') set('webhook-key', v, 'webhook.api_key');
            else if (sub === 'urls') set('webhook-url', v, 'webhook.urls');
            else throw new ConfigFileError(`unknown key webhook.${sub} in ${path}`);
          }
          continue;
        }
        break;
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
