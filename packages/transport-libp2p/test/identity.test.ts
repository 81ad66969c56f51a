/**
 * Random identities: valid Ed25519 keys, and generating many of them never hangs the process.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys';
import { describe, expect, it } from 'vitest';
import { generatePrivateKey } from '../src/index.js';

const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const IDENTITY_TS = join(PACKAGE_DIR, 'src', 'identity.ts');

/** Iterations per child: the old generateKeyPairSync-based code hung in 2 of 4 such runs. */
const LOOP_KEYS = 5_000;
/** ~2 s each on this machine; the bound only has to tell a hang from a busy CI run. */
const LOOP_BOUND_MS = 60_000;

/** Runs generatePrivateKey LOOP_KEYS times in a child with a small young generation (many GCs). */
function generateInChild(): Promise<{ code: number | null; out: string; timedOut: boolean }> {
  const script = [
    `const { generatePrivateKey } = await import(${JSON.stringify(IDENTITY_TS)});`,
    `for (let i = 0; i < ${LOOP_KEYS}; i++) generatePrivateKey();`,
    `process.stdout.write('generated ${LOOP_KEYS}');`,
  ].join('\n');
  const child = spawn(
    process.execPath,
    [
      '--conditions=@roomring/source',
      '--import',
      'tsx',
      '--max-semi-space-size=1',
      '--input-type=module',
      '-e',
      script,
    ],
    { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  let timedOut = false;
  const bound = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, LOOP_BOUND_MS);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(bound);
      resolve({ code, out, timedOut });
    }),
  );
}

describe('generatePrivateKey', () => {
  it('gives distinct Ed25519 keys that sign and verify', async () => {
    const keys = Array.from({ length: 50 }, () => privateKeyFromProtobuf(generatePrivateKey()));
    expect(new Set(keys.map((k) => k.publicKey.toString())).size).toBe(keys.length);
    const message = new TextEncoder().encode('roomring');
    for (const key of keys.slice(0, 5)) {
      expect(key.type).toBe('Ed25519');
      const signature = await key.sign(message);
      expect(await key.publicKey.verify(message, signature)).toBe(true);
      expect(await keys[keys.length - 1]!.publicKey.verify(message, signature)).toBe(false);
    }
  });

  // Node 20's generateKeyPairSync('ed25519') + export could deadlock the process for good (a
  // GC finalising the key-generation job takes the mutex the export holds): it hung a CI
  // test worker. Two children at once, since a hang there was a coin toss per run.
  it(
    `generates ${LOOP_KEYS} keys in each of two processes without hanging`,
    async () => {
      const runs = await Promise.all([generateInChild(), generateInChild()]);
      for (const { code, out, timedOut } of runs) {
        expect(timedOut, out).toBe(false);
        expect(code, out).toBe(0);
        expect(out).toBe(`generated ${LOOP_KEYS}`);
      }
    },
    LOOP_BOUND_MS + 10_000,
  );
});
