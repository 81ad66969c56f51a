/**
 * Configuration: flags, env and file with their precedence, validation naming the setting,
 * --dev, --help, exit status 2 for a refused start, and the peer-key file of --data-dir.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROFILES } from '@roomring/node';
import { afterAll, describe, expect, it } from 'vitest';
import { LIVEKIT_KEYS } from '../src/config-file.js';
import {
  envName,
  fileKey,
  PROFILE_NAMES,
  SETTING_ROWS,
  SETTINGS,
  type Setting,
} from '../src/config-settings.js';
import {
  HelpRequested,
  helpText,
  loadOrCreatePeerKey,
  PEER_KEY_FILE,
  parseServerConfig,
  ServerConfigError,
} from '../src/index.js';
import { spawnServer, startServer, stopServers } from './helpers/server-process.js';

const KEY = 'a'.repeat(64);
const REQUIRED = ['--region', 'us-east', '--keys', 'k1:s1', '--cluster-key', KEY];
const tmp = mkdtempSync(join(tmpdir(), 'roomring-server-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function refused(argv: string[], env: Record<string, string> = {}): ServerConfigError {
  try {
    parseServerConfig(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ServerConfigError);
    return error as ServerConfigError;
  }
  throw new Error(`accepted ${argv.join(' ')}`);
}

describe('parseServerConfig', () => {
  it('applies the documented defaults and freezes the result', () => {
    const c = parseServerConfig(REQUIRED, {});
    expect(c).toMatchObject({
      region: 'us-east',
      httpHost: '127.0.0.1',
      httpPort: 7880,
      p2pHost: '127.0.0.1',
      p2pPort: 7900,
      p2pAdvertise: [],
      seeds: [],
      clusterKey: KEY,
      logLevel: 'info',
      dev: false,
      profile: 'lan',
      minAcks: undefined,
      weight: 1,
      requestTimeoutMs: 5_000,
      maxInFlight: 256,
      queueMax: 1_024,
      bodyBytesMax: 1_048_576,
      metadataBytesMax: 65_536,
      webhookUrls: [],
      webhookKey: 'k1',
    });
    expect(c.nodeId.length).toBeGreaterThan(0);
    expect([...c.keys]).toEqual([['k1', 's1']]);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('parses every flag', () => {
    const c = parseServerConfig(
      [
        ...REQUIRED,
        '--node-id',
        'n1',
        '--http-host',
        '0.0.0.0',
        '--http-port',
        '8000',
        '--p2p-port',
        '9000',
        '--p2p-advertise',
        '203.0.113.7:17900,[2001:db8::7]:17900',
        '--seeds',
        '10.0.0.1:7900, host.example:7901',
        '--keys',
        'k1:s1,k2:s:with:colons',
        '--data-dir',
        '/var/lib/rr',
        '--log-level',
        'debug',
        '--profile',
        'wan',
        '--min-acks',
        '2',
        '--weight',
        '3',
        '--request-timeout-ms',
        '2500',
        '--max-in-flight',
        '16',
        '--queue-max',
        '0',
        '--webhook-url',
        'http://127.0.0.1:9/hooks',
        '--webhook-key',
        'k2',
      ],
      {},
    );
    expect(c).toMatchObject({
      nodeId: 'n1',
      httpHost: '0.0.0.0',
      p2pHost: '0.0.0.0',
      httpPort: 8000,
      p2pPort: 9000,
      p2pAdvertise: ['203.0.113.7:17900', '[2001:db8::7]:17900'],
      seeds: ['10.0.0.1:7900', 'host.example:7901'],
      dataDir: '/var/lib/rr',
      logLevel: 'debug',
      profile: 'wan',
      minAcks: 2,
      weight: 3,
      requestTimeoutMs: 2_500,
      maxInFlight: 16,
      queueMax: 0,
      webhookUrls: ['http://127.0.0.1:9/hooks'],
      webhookKey: 'k2',
    });
    expect(c.keys.get('k2')).toBe('s:with:colons');
  });

  it('refuses to start without --keys or --cluster-key unless --dev', () => {
    expect(refused(['--region', 'r', '--cluster-key', KEY]).setting).toBe('keys');
    expect(refused(['--region', 'r', '--keys', 'k:s']).setting).toBe('cluster-key');
    expect(refused(['--keys', 'k:s', '--cluster-key', KEY]).setting).toBe('region');
  });

  it('names the setting of every bad value', () => {
    const cases: [string[], string][] = [
      [['--http-port', '70000'], 'http-port'],
      [['--http-port', '80x'], 'http-port'],
      [['--cluster-key', 'abc'], 'cluster-key'],
      [['--seeds', 'nohostport'], 'seeds'],
      [['--seeds', '::1:7900'], 'seeds'],
      [['--p2p-advertise', '203.0.113.7'], 'p2p-advertise'],
      [['--p2p-advertise', '203.0.113.7:0'], 'p2p-advertise'],
      [['--p2p-advertise', '/ip4/203.0.113.7/tcp/7900'], 'p2p-advertise'],
      [
        ['--p2p-advertise', Array.from({ length: 17 }, (_, i) => `10.0.0.${i}:7900`).join(',')],
        'p2p-advertise',
      ],
      [['--profile', 'fast'], 'profile'],
      [['--log-level', 'loud'], 'log-level'],
      [['--keys', 'nosecret'], 'keys'],
      [['--keys', 'k:a,k:b'], 'keys'],
      [['--weight', '0'], 'weight'],
      [['--max-in-flight', '0'], 'max-in-flight'],
      [['--request-timeout-ms', '600000'], 'request-timeout-ms'],
      [['--webhook-url', 'ftp://x'], 'webhook-url'],
      [['--webhook-url', 'http://a/h,http://a/h'], 'webhook-url'],
      [
        [
          '--webhook-url',
          Array.from({ length: 9 }, (_, i) => `http://127.0.0.1:${9000 + i}/h`).join(','),
        ],
        'webhook-url',
      ],
      [['--webhook-key', 'nobody'], 'webhook-key'],
      [['--min-acks', '-1'], 'min-acks'],
      [['--bogus', '1'], 'bogus'],
    ];
    for (const [extra, setting] of cases) {
      const error = refused([...REQUIRED, ...extra]);
      expect(error.setting, extra.join(' ')).toBe(setting);
      expect(error.message).toContain(`--${setting}`);
    }
  });

  it('gives --dev its keys, cluster key, profile and min-acks 0 without seeds', () => {
    const dev = parseServerConfig(['--dev', '--region', 'us-east'], {});
    expect([...dev.keys]).toEqual([['devkey', 'secret']]);
    expect(dev.clusterKey).toMatch(/^[0-9a-f]{64}$/);
    expect(dev).toMatchObject({ dev: true, profile: 'local', minAcks: 0 });
    const seeded = parseServerConfig(['--dev', '--region', 'eu', '--seeds', '127.0.0.1:7900'], {});
    expect(seeded.minAcks).toBeUndefined();
    const explicit = parseServerConfig(
      ['--dev', '--region', 'eu', '--keys', 'mine:s', '--min-acks', '1'],
      {},
    );
    expect([...explicit.keys]).toEqual([['mine', 's']]);
    expect(explicit.minAcks).toBe(1);
  });

  it('reads ROOMRING_* env and a --config file; flag > env > file > default', () => {
    const file = join(tmp, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({
        region: 'from-file',
        httpPort: 1111,
        weight: 4,
        keys: 'fk:fs',
        clusterKey: KEY,
        p2pAdvertise: ['192.0.2.1:7900'],
      }),
    );
    const env = {
      ROOMRING_HTTP_PORT: '2222',
      ROOMRING_REGION: 'from-env',
      ROOMRING_DEV: '0',
      ROOMRING_P2P_ADVERTISE: '198.51.100.4:7900',
    };
    const c = parseServerConfig(['--config', file, '--region', 'from-flag'], env);
    expect(c).toMatchObject({
      region: 'from-flag',
      httpPort: 2222,
      weight: 4,
      p2pAdvertise: ['198.51.100.4:7900'],
    });
    expect([...c.keys]).toEqual([['fk', 'fs']]);
    expect(parseServerConfig([], { ...env, ROOMRING_CONFIG: file }).region).toBe('from-env');
    expect(parseServerConfig(['--config', file], {}).p2pAdvertise).toEqual(['192.0.2.1:7900']);
    writeFileSync(file, JSON.stringify({ region: 'x', colour: 'blue' }));
    expect(refused(['--config', file]).setting).toBe('config');
    expect(refused(['--config', join(tmp, 'missing.json')]).setting).toBe('config');
  });

  it("reads a YAML file in livekit-server's shape, and roomring's keys in any case", () => {
    const file = join(tmp, 'livekit.yaml');
    writeFileSync(
      file,
      [
        'port: 7999',
        'bind_addresses:',
        '  - 127.0.0.1',
        'log_level: debug',
        'region: eu-west',
        'keys:',
        '  APIone: first-secret',
        '  APItwo: second-secret',
        'webhook:',
        '  api_key: APItwo',
        '  urls:',
        '    - https://hooks.example.com/a',
        '    - https://hooks.example.com/b',
        'rtc:',
        '  tcp_port: 7881',
        'redis:',
        '  address: localhost:6379',
        `cluster_key: ${KEY}`,
        'node-id: yaml-node',
        'maxInFlight: 77',
      ].join('\n'),
    );
    const c = parseServerConfig(['--config', file], {});
    expect(c).toMatchObject({
      httpPort: 7999,
      httpHost: '127.0.0.1',
      logLevel: 'debug',
      region: 'eu-west',
      nodeId: 'yaml-node',
      maxInFlight: 77,
      webhookKey: 'APItwo',
      webhookUrls: ['https://hooks.example.com/a', 'https://hooks.example.com/b'],
      configIgnored: ['rtc', 'redis'],
    });
    expect([...c.keys]).toEqual([
      ['APIone', 'first-secret'],
      ['APItwo', 'second-secret'],
    ]);
    // A flag still wins over the file.
    expect(parseServerConfig(['--config', file, '--region', 'x'], {}).region).toBe('x');
    // Unknown keys and unparsable files are refused, naming the file.
    writeFileSync(file, 'region: r\ncolour: blue\n');
    expect(refused(['--config', file]).message).toContain('unknown key colour');
    writeFileSync(file, 'webhook:\n  secret: x\n');
    expect(refused(['--config', file]).message).toContain('unknown key webhook.secret');
    writeFileSync(file, 'region: [unclosed\n');
    expect(refused(['--config', file]).message).toContain('cannot parse');
    writeFileSync(file, 'port: 1\nhttp_port: 2\n');
    expect(refused(['--config', file]).message).toContain('twice');
  });

  it("takes livekit-server's LIVEKIT_KEYS (one `key: secret` per line); ROOMRING_KEYS wins", () => {
    const base = ['--region', 'r', '--cluster-key', KEY];
    const lk = parseServerConfig(base, { LIVEKIT_KEYS: 'APIabc: s3cret\nAPIdef: other ' });
    expect([...lk.keys]).toEqual([
      ['APIabc', 's3cret'],
      ['APIdef', 'other'],
    ]);
    const both = parseServerConfig(base, { LIVEKIT_KEYS: 'lk: a', ROOMRING_KEYS: 'rr:b' });
    expect([...both.keys]).toEqual([['rr', 'b']]);
    expect(refused(base, { LIVEKIT_KEYS: 'no-secret' }).setting).toBe('keys');
  });

  it('documents every required flag in --help, with env names and defaults', () => {
    const help = helpText();
    for (const flag of [
      'region',
      'node-id',
      'http-host',
      'http-port',
      'p2p-port',
      'p2p-advertise',
      'seeds',
      'keys',
      'cluster-key',
      'data-dir',
      'log-level',
      'dev',
      'profile',
      'min-acks',
      'weight',
      'request-timeout-ms',
      'max-in-flight',
      'queue-max',
      'webhook-url',
      'webhook-key',
      'config',
    ]) {
      expect(help).toContain(`--${flag}`);
    }
    expect(help).toContain('ROOMRING_HTTP_PORT');
    expect(help).toContain('peer-key');
    expect(help).toContain('(default: 7880)');
    expect(() => parseServerConfig(['--help'], {})).toThrow(HelpRequested);
  });
});

describe('the settings table drives parsing', () => {
  const integers = Object.entries(SETTINGS).filter(([, s]) => s.kind === 'integer') as [
    string,
    Setting<unknown>,
  ][];

  it('every integer setting: its default, its env var and file keys, its bounds', () => {
    expect(integers.length).toBeGreaterThan(10);
    const defaults = parseServerConfig(REQUIRED, {}) as unknown as Record<string, unknown>;
    for (const [field, setting] of integers) {
      const { flag, min, max } = setting as Setting<unknown> & { min: number; max: number };
      // The row's own default reaches the config, and is the one --help and the docs show.
      const expected = setting.parse(undefined);
      expect(defaults[field], flag).toBe(expected);
      if (expected !== undefined)
        expect(setting.defaultText.startsWith(String(expected))).toBe(true);
      const fromEnv = parseServerConfig(REQUIRED, { [envName(flag)]: String(max) });
      expect((fromEnv as unknown as Record<string, unknown>)[field], flag).toBe(max);
      for (const key of [fileKey(flag), flag.replaceAll('-', '_'), flag]) {
        const file = join(tmp, `integer-${flag}.json`);
        writeFileSync(file, JSON.stringify({ [key]: min }));
        const fromFile = parseServerConfig([...REQUIRED, '--config', file], {});
        expect((fromFile as unknown as Record<string, unknown>)[field], key).toBe(min);
      }
      const over = refused([...REQUIRED, `--${flag}`, String(max + 1)]);
      expect(over.setting).toBe(flag);
      expect(over.message).toBe(
        `invalid setting --${flag}: must be between ${min} and ${max}, got ${max + 1}`,
      );
      const text = refused([...REQUIRED, `--${flag}`, '12abc']);
      expect(text.message).toBe(`invalid setting --${flag}: must be an integer, got "12abc"`);
      if (min > 0) expect(refused([...REQUIRED, `--${flag}`, String(min - 1)]).setting).toBe(flag);
    }
  });

  it("--help lists every setting with its env var, and only the table's settings", () => {
    const help = helpText();
    for (const setting of SETTING_ROWS) {
      expect(help).toContain(`--${setting.flag}`);
      expect(help).toContain(envName(setting.flag));
    }
    const flags = [...help.matchAll(/^ {2}(?:-h, )?--([a-z0-9-]+)/gm)].map((m) => m[1]);
    expect(flags).toEqual(['config', 'version', ...SETTING_ROWS.map((s) => s.flag), 'help']);
  });

  it("--profile's choices are the node's profiles (one ProfileName, from @roomring/core)", () => {
    expect([...PROFILE_NAMES].sort()).toEqual(Object.keys(PROFILES).sort());
    expect(SETTINGS.profile.choices).toEqual(PROFILE_NAMES);
    for (const profile of PROFILE_NAMES) {
      expect(parseServerConfig([...REQUIRED, '--profile', profile], {}).profile).toBe(profile);
    }
  });

  it('every livekit-server key maps to a setting of the table; a dotted top-level key is not one', () => {
    const flags = new Set(SETTING_ROWS.map((s) => s.flag));
    for (const key of LIVEKIT_KEYS) expect(flags.has(key.flag), key.path).toBe(true);
    const file = join(tmp, 'dotted.yaml');
    writeFileSync(file, 'region: r\nlogging.level: debug\n');
    expect(refused(['--config', file]).message).toContain('unknown key logging.level');
    writeFileSync(file, 'region: r\nlogging:\n  level: debug\n  pion_level: error\n');
    expect(parseServerConfig(['--config', file, '--dev'], {}).logLevel).toBe('debug');
  });
});

describe('the process', () => {
  const run = (argv: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawnServer(argv);
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (c: Buffer) => {
        stdout += c.toString();
      });
      child.stderr?.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      child.once('exit', (code) => resolve({ code, stdout, stderr }));
    });

  it('exits 2 with a clear message when --keys is missing, 0 for --help and --version', async () => {
    const [missing, help, version] = await Promise.all([
      run(['--region', 'us-east', '--cluster-key', KEY]),
      run(['--help']),
      run(['--version']),
    ]);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(version.code).toBe(0);
    expect(version.stdout).toBe(`roomring-server ${pkg.version} (node ${process.version})\n`);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--keys');
    expect(missing.stderr).toContain('without --dev');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--cluster-key');
  }, 30_000);
});

describe('a YAML config file (process)', () => {
  it('starts from a livekit-server-shaped file and warns about the keys it ignores', async () => {
    const file = join(tmp, 'process.yaml');
    writeFileSync(
      file,
      [
        'port: 0',
        'bind_addresses: [127.0.0.1]',
        'region: yaml-region',
        'development: true',
        'rtc:',
        '  port_range_start: 50000',
        'log_level: info',
      ].join('\n'),
    );
    const server = await startServer(['--config', file, '--p2p-port', '0']);
    try {
      expect((await fetch(`${server.url}/`)).status).toBe(200);
      expect(server.output()).toContain('livekit-server settings in the config file');
      expect(server.output()).toContain('"keys":["rtc"]');
    } finally {
      await stopServers([server]);
    }
  }, 60_000);
});

describe('a busy port', () => {
  it('stops the server with one line naming the port and the flag, exit 1', async () => {
    const holder = createServer();
    const port = await new Promise<number>((resolve) =>
      holder.listen(0, '127.0.0.1', () => resolve((holder.address() as AddressInfo).port)),
    );
    try {
      const child = spawnServer([
        '--dev',
        '--region',
        'r',
        '--http-host',
        '127.0.0.1',
        '--http-port',
        '0',
        '--p2p-port',
        String(port),
        '--log-level',
        'error',
      ]);
      let stderr = '';
      child.stderr?.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      expect(code).toBe(1);
      expect(stderr).toBe(
        `roomring-server: 127.0.0.1:${port} is already in use (--p2p-port): is another node running?\n`,
      );
    } finally {
      await new Promise((r) => holder.close(r));
    }
  }, 30_000);
});

describe('loadOrCreatePeerKey', () => {
  it('creates the data dir and a key once, then reads the same key', () => {
    const dir = join(tmp, 'data', 'nested');
    const first = loadOrCreatePeerKey(dir);
    expect(first.created).toBe(true);
    const second = loadOrCreatePeerKey(dir);
    expect(second.created).toBe(false);
    expect(Buffer.from(second.key)).toEqual(Buffer.from(first.key));
    expect(readFileSync(join(dir, PEER_KEY_FILE)).length).toBe(first.key.length);
  });
});
