/**
 * The server's configuration: command-line flags, `ROOMRING_*` environment variables and an
 * optional YAML or JSON file (`--config`), validated into one frozen `ServerConfig`.
 * Precedence: flag > environment > file > default. Each setting is one row of SETTINGS
 * (config-settings.ts): the row parses its value, and the same rows make --help and the
 * table of docs/configuration.md; this file applies the rules between settings (--dev's
 * defaults, --p2p-host from --http-host, --webhook-key among --keys). A bad value throws
 * `ServerConfigError` naming the setting; main.ts prints it and exits with status 2.
 */
import type { ProfileName } from '@roomring/node';
import { ROOM_METADATA_BYTES_MAX } from '@roomring/protocol';
import { Command, CommanderError, Option } from 'commander';
import { ConfigFileError, LIVEKIT_KEYS, readConfigFile } from './config-file.js';
import {
  envName,
  fileKey,
  SETTING_ROWS,
  SETTINGS,
  ServerConfigError,
  type Setting,
  type SettingValues,
} from './config-settings.js';
import { versionLine } from './version.js';

export {
  BODY_BYTES_MAX_DEFAULT,
  EVENT_BUFFER_BYTES_MAX_DEFAULT,
  EVENT_CLIENTS_MAX_DEFAULT,
  envName,
  HTTP_HOST_DEFAULT,
  HTTP_PORT_DEFAULT,
  LIST_ROOMS_MAX_DEFAULT,
  type LogLevel,
  MAX_IN_FLIGHT_DEFAULT,
  P2P_PORT_DEFAULT,
  QUEUE_MAX_DEFAULT,
  REQUEST_TIMEOUT_MS_DEFAULT,
  REQUEST_TIMEOUT_MS_MAX,
  ServerConfigError,
  WEBHOOK_QUEUE_MAX_DEFAULT,
  WEBHOOK_URLS_MAX,
} from './config-settings.js';

/** Fixed development cluster key (`--dev` only): never use it in production. */
export const DEV_CLUSTER_KEY = 'de7de7de7de7de7de7de7de7de7de7de7de7de7de7de7de7de7de7de7de7de7d';
export const DEV_KEYS: ReadonlyMap<string, string> = new Map([['devkey', 'secret']]);

/** Environment variables read besides ROOMRING_*: livekit-server's LIVEKIT_KEYS (ROOMRING_KEYS
 *  wins when both are set). */
const ENV_ALIASES: ReadonlyMap<string, string> = new Map([['keys', 'LIVEKIT_KEYS']]);

/** Settings whose value depends on other settings (resolve below). */
type DependentSetting = 'p2pHost' | 'clusterKey' | 'profile';

/**
 * The validated settings, one field per row of SETTINGS (config-settings.ts gives each its
 * flag, default, bounds and meaning), with the rules between them applied.
 */
export interface ServerConfig extends Omit<SettingValues, DependentSetting> {
  /** --p2p-host, else the --http-host value. */
  p2pHost: string;
  /** --cluster-key: required without --dev, which uses DEV_CLUSTER_KEY. */
  clusterKey: string;
  /** --profile: lan, or local with --dev. */
  profile: ProfileName;
  /** Room metadata bytes accepted: ROOM_METADATA_BYTES_MAX, not a setting. */
  metadataBytesMax: number;
  /** livekit-server config keys the --config file held and roomring ignores (warned at start). */
  configIgnored: readonly string[];
}

/** Asked for --help or --version: print `output` and exit 0. */
export class HelpRequested extends Error {
  override readonly name = 'HelpRequested';
  constructor(readonly output: string) {
    super('help requested');
  }
}

/** The text --help shows for a setting after its meaning. */
function helpDetails(setting: Setting<unknown>): string {
  const parts: string[] = [];
  if (setting.choices) parts.push(` (${setting.choices.join('|')})`);
  if (setting.kind === 'integer') parts.push(` (${setting.min}..${setting.max})`);
  else if (setting.max !== undefined) parts.push(` (at most ${setting.max})`);
  const shown = setting.defaultText;
  if (shown.startsWith('required')) parts.push(` (${shown})`);
  else if (shown !== '') parts.push(` (default: ${shown})`);
  const aliases = ENV_ALIASES.get(setting.flag);
  parts.push(` [env ${envName(setting.flag)}${aliases ? `, ${aliases}` : ''}]`);
  return parts.join('');
}

function buildCommand(): Command {
  const program = new Command('roomring-server')
    .description('roomring node: LiveKit-compatible RoomService, admin API and event stream')
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
    .allowExcessArguments(false)
    .option(
      '--config <file>',
      'YAML or JSON file of settings (flag names, or livekit-server keys) [env ROOMRING_CONFIG]',
    )
    .option('--version', 'print the version and exit');
  for (const setting of SETTING_ROWS) {
    const flag =
      setting.arg === undefined ? `--${setting.flag}` : `--${setting.flag} <${setting.arg}>`;
    program.addOption(new Option(flag, `${setting.help}${helpDetails(setting)}`));
  }
  return program;
}

/** The --help text (also printed by main.ts for `--help`). */
export function helpText(): string {
  return buildCommand().helpInformation();
}

type Raw = Map<string, unknown>;

function readFile(path: string): { raw: Raw; ignored: string[] } {
  try {
    const { settings, ignored } = readConfigFile(path, new Set(SETTING_ROWS.map((s) => s.flag)));
    return { raw: settings, ignored };
  } catch (error) {
    if (error instanceof ConfigFileError) throw new ServerConfigError('config', error.message);
    throw error;
  }
}

/**
 * Parses `argv` (without node and script, e.g. `process.argv.slice(2)`) and `env`.
 * Throws ServerConfigError for a bad setting and HelpRequested for --help.
 */
export function parseServerConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): Readonly<ServerConfig> {
  const program = buildCommand();
  // `pnpm run start -- --flag` passes the `--` through; it ends nothing here.
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  try {
    program.parse(args, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.help') {
        throw new HelpRequested(program.helpInformation());
      }
      const flag = /'--?([a-z0-9-]+)/.exec(error.message)?.[1] ?? 'arguments';
      throw new ServerConfigError(flag, error.message.replace(/^error: /, ''));
    }
    throw error;
  }
  const options = program.opts<Record<string, unknown>>();
  if (options.version === true) throw new HelpRequested(versionLine('roomring-server'));
  const configPath = (options.config as string | undefined) ?? env.ROOMRING_CONFIG;
  const file = configPath ? readFile(configPath) : { raw: new Map(), ignored: [] };
  const raw: Raw = file.raw;
  for (const { flag } of SETTING_ROWS) {
    const alias = ENV_ALIASES.get(flag);
    const fromEnv = env[envName(flag)] ?? (alias === undefined ? undefined : env[alias]);
    // commander names each option's value as the file key does: camelCase.
    const value = options[fileKey(flag)] ?? fromEnv;
    if (value !== undefined) raw.set(flag, value);
  }
  const config = resolve(raw);
  return file.ignored.length > 0
    ? Object.freeze({ ...config, configIgnored: file.ignored })
    : config;
}

/** Every row's value, in table order (the first bad one is the one named). */
function parseSettings(raw: Raw): SettingValues {
  const values = new Map<string, unknown>();
  for (const [field, setting] of Object.entries(SETTINGS)) {
    values.set(field, (setting as Setting<unknown>).parse(raw.get(setting.flag)));
  }
  return Object.fromEntries(values) as SettingValues;
}

function resolve(raw: Raw): Readonly<ServerConfig> {
  const values = parseSettings(raw);
  const { dev, seeds } = values;
  let keys = values.keys;
  if (keys.size === 0) {
    if (!dev) throw new ServerConfigError('keys', 'is required (key:secret,...) without --dev');
    keys = new Map(DEV_KEYS);
  }
  let clusterKey = values.clusterKey;
  if (clusterKey === undefined) {
    if (!dev) {
      throw new ServerConfigError('cluster-key', 'is required (64 hex chars) without --dev');
    }
    clusterKey = DEV_CLUSTER_KEY;
  }
  const { webhookKey } = values;
  if (webhookKey !== undefined && !keys.has(webhookKey)) {
    throw new ServerConfigError('webhook-key', `${webhookKey} is not one of --keys`);
  }
  return Object.freeze({
    ...values,
    p2pHost: values.p2pHost ?? values.httpHost,
    keys,
    clusterKey,
    profile: values.profile ?? (dev ? 'local' : 'lan'),
    minAcks: values.minAcks ?? (dev && seeds.length === 0 ? 0 : undefined),
    webhookKey: webhookKey ?? keys.keys().next().value,
    metadataBytesMax: ROOM_METADATA_BYTES_MAX,
    configIgnored: [],
  });
}

/** Config for tests and embedding: defaults with `overrides` applied, validated. */
export function serverConfig(overrides: Partial<ServerConfig> & { region: string }): ServerConfig {
  const base = resolve(
    new Map<string, unknown>([
      ['region', overrides.region],
      ['dev', true],
      ['node-id', overrides.nodeId ?? 'node-1'],
    ]),
  );
  return Object.freeze({ ...base, ...overrides });
}

/** Names of every flag, for the README drift test. */
export const FLAG_NAMES: readonly string[] = ['config', ...SETTING_ROWS.map((s) => s.flag)];

// ---------------------------------------------------------------------------------------
// The settings table of docs/configuration.md
// ---------------------------------------------------------------------------------------

const DOCS_COLUMNS = ['flag', 'env', 'file key', 'kind', 'default', 'min', 'max', 'meaning'];

function code(text: string): string {
  return `\`${text}\``;
}

/** Text outside code spans: `<http-host>` must not read as an HTML tag. */
function prose(text: string): string {
  return text.replaceAll('<', '\\<');
}

function docsRow(setting: Setting<unknown>): string[] {
  const { flag } = setting;
  const envs = [envName(flag), ...(ENV_ALIASES.has(flag) ? [ENV_ALIASES.get(flag)!] : [])];
  // livekit-server's names for it, unless one of roomring's own spellings (`a_b`).
  const livekit = LIVEKIT_KEYS.filter(
    (k) => k.flag === flag && k.path !== flag.replaceAll('-', '_'),
  ).map((k) => code(k.path));
  const isList = setting.kind.endsWith('list');
  return [
    code(setting.arg === undefined ? `--${flag}` : `--${flag} <${setting.arg}>`),
    envs.map(code).join(', '),
    code(fileKey(flag)) + (livekit.length > 0 ? `; livekit-server: ${livekit.join(', ')}` : ''),
    setting.choices ? `one of ${setting.choices.map(code).join(', ')}` : setting.kind,
    prose(setting.defaultText),
    setting.min === undefined ? '' : String(setting.min),
    setting.max === undefined ? '' : isList ? `${setting.max} entries` : String(setting.max),
    prose(setting.help),
  ].map((cell) => cell.replaceAll('|', '\\|'));
}

/**
 * The table of every setting, as docs/configuration.md holds it between its
 * `server-settings` markers (columns padded as the rest of the document).
 */
export function settingsMarkdown(): string {
  const rows = [DOCS_COLUMNS, ...SETTING_ROWS.map(docsRow)];
  const widths = DOCS_COLUMNS.map((_, i) => Math.max(3, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(rows[0]!),
    `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`,
    ...rows.slice(1).map(line),
  ].join('\n');
}
