/**
 * The node-error -> Twirp table (code, status, Retry-After, client retry, meta) against the
 * answers toTwirpError gives and against docs/api.md, cell for cell; and HS256 tokens: round
 * trips, and every single-character tampering is refused.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DeadlineExceededError,
  InvalidArgumentError,
  LimitExceededError,
  NodeNotReadyError,
  OverloadedError,
  RoomNotFoundError,
  UnavailableError,
} from '@roomring/node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLOCK_LEEWAY_S,
  FLAG_NAMES,
  JwtError,
  NODE_ERROR_MAPPING,
  signJwt,
  TokenVerifier,
  TWIRP_HTTP_STATUS,
  TwirpError,
  toTwirpError,
  verifyJwt,
} from '../src/index.js';

const README = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
const CONFIG_DOC = readFileSync(
  join(import.meta.dirname, '..', '..', '..', 'docs', 'configuration.md'),
  'utf8',
);
const API_DOC = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'api.md'), 'utf8');

describe('error mapping', () => {
  // One instance of each node error class, in the table's order.
  const samples = [
    new InvalidArgumentError('name', 'too long'),
    new RoomNotFoundError('r'),
    new UnavailableError('no partner', 1_500),
    new NodeNotReadyError('stopping', 2_000),
    new OverloadedError('pending writes', 200),
    new LimitExceededError('incarnationsPerNameMax', 'spent', 60_000),
    new DeadlineExceededError(),
  ];

  it('maps every node error as the table says', () => {
    expect(samples.map((e) => e.name)).toEqual(NODE_ERROR_MAPPING.map((m) => m.error));
    for (const [i, error] of samples.entries()) {
      const row = NODE_ERROR_MAPPING[i]!;
      const twirp = toTwirpError(error);
      expect(error.code).toBe(row.nodeCode);
      expect(twirp.code).toBe(row.code);
      expect(twirp.status).toBe(TWIRP_HTTP_STATUS[row.code]);
      expect(twirp.status).toBe(row.status);
      expect(twirp.retryAfterMs).toBe(row.retryAfter ? error.retryAfterMs : undefined);
      expect(Object.keys(twirp.meta)).toEqual(row.meta);
    }
    expect(toTwirpError(samples[0]!).meta).toEqual({ argument: 'name' });
    expect(toTwirpError(samples[0]!).message).toBe('name: too long');
    expect(toTwirpError(new RoomNotFoundError('x')).message).toBe('requested room does not exist');
    expect(toTwirpError(new Error('secret internals')).message).toBe('internal error');
    const twirp = new TwirpError('bad_route', 'no such route');
    expect(toTwirpError(twirp)).toBe(twirp);
  });

  it('docs/api.md shows the same table, cell for cell', () => {
    const section = API_DOC.slice(API_DOC.indexOf('## Error mapping (node errors -> Twirp)'));
    const lines = section.split('\n');
    const start = lines.findIndex((l) => l.startsWith('|'));
    const table = lines.slice(
      start,
      lines.findIndex((l, i) => i > start && !l.startsWith('|')),
    );
    const cells = (line: string) =>
      line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim());
    const code = (text: string) => `\`${text}\``;
    expect(cells(table[0]!)).toEqual([
      'node error',
      'code',
      'Twirp code',
      'HTTP',
      'Retry-After from',
      'client retries',
      'meta',
    ]);
    expect(table.slice(2).map(cells)).toEqual(
      NODE_ERROR_MAPPING.map((row) => [
        code(row.error),
        code(row.nodeCode),
        code(row.code),
        String(row.status),
        row.retryAfter ? row.retryAfterFrom : 'no',
        code(row.clientRetry),
        row.meta.length === 0 ? '—' : row.meta.map(code).join(', '),
      ]),
    );
  });

  it('README.md points to the generated settings table, which has every flag', () => {
    // The table itself is compared with the code by config-docs.test.ts.
    expect(README).toContain('docs/configuration.md#server-settings-roomring-server');
    for (const flag of FLAG_NAMES) expect(CONFIG_DOC, flag).toContain(`\`--${flag}`);
  });
});

describe('HS256 tokens', () => {
  const secret = 'jwt-test-secret';
  const secretOf = (key: string) => (key === 'k' ? secret : undefined);
  const nowMs = 1_800_000_000_000;
  const nowS = nowMs / 1_000;

  it('round-trips claims and refuses any single-character change', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ minLength: 1, maxLength: 8 }),
          fc.oneof(fc.string(), fc.integer(), fc.boolean()),
        ),
        fc.nat(),
        fc.nat(),
        (extra, position, replacement) => {
          const claims = { ...extra, iss: 'k', exp: nowS + 600 };
          const token = signJwt(claims, secret);
          expect(verifyJwt(token, secretOf, nowMs)).toEqual(JSON.parse(JSON.stringify(claims)));
          const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
          const i = position % token.length;
          const c = alphabet[replacement % alphabet.length]!;
          if (c === token[i]) return;
          const tampered = token.slice(0, i) + c + token.slice(i + 1);
          expect(() => verifyJwt(tampered, secretOf, nowMs)).toThrow(JwtError);
        },
      ),
      { numRuns: 500, seed: 77 },
    );
  });

  it('applies the 60 s leeway to exp and nbf', () => {
    const at = (claims: Record<string, unknown>) => () =>
      verifyJwt(signJwt({ iss: 'k', ...claims }, secret), secretOf, nowMs);
    expect(at({ exp: nowS - CLOCK_LEEWAY_S + 1 })).not.toThrow();
    expect(at({ exp: nowS - CLOCK_LEEWAY_S - 1 })).toThrow('token is expired');
    expect(at({ exp: nowS + 600, nbf: nowS + CLOCK_LEEWAY_S - 1 })).not.toThrow();
    expect(at({ exp: nowS + 600, nbf: nowS + CLOCK_LEEWAY_S + 1 })).toThrow('not valid yet');
    expect(at({})).toThrow('exp claim is required');
    expect(at({ exp: String(nowS + 600) })).toThrow('exp claim is required');
  });
});

describe('TokenVerifier', () => {
  const keys = new Map([['k', 'secret-k']]);
  const nowMs = 1_800_000_000_000;
  const nowS = nowMs / 1_000;
  const mint = (claims: Record<string, unknown>, secret = 'secret-k') =>
    signJwt({ iss: 'k', video: { roomList: true }, ...claims }, secret);

  it('remembers verified tokens within its bound and still applies exp and nbf', () => {
    const tokens = new TokenVerifier(keys, 2);
    const a = mint({ exp: nowS + 60 });
    expect(tokens.verify(a, nowMs)).toMatchObject({ roomList: true, roomCreate: false });
    expect(tokens.verify(a, nowMs)).toMatchObject({ roomList: true });
    expect(tokens.cached).toBe(1);
    tokens.verify(mint({ exp: nowS + 61 }), nowMs);
    tokens.verify(mint({ exp: nowS + 62 }), nowMs);
    expect(tokens.cached).toBe(2);
    // A cached token expires like any other.
    const b = mint({ exp: nowS + 62 });
    expect(() => tokens.verify(b, nowMs + (62 + CLOCK_LEEWAY_S + 1) * 1_000)).toThrow(
      'token is expired',
    );
    const early = mint({ exp: nowS + 600, nbf: nowS + 300 });
    expect(() => tokens.verify(early, nowMs)).toThrow('not valid yet');
  });

  it('never caches a refused token', () => {
    const tokens = new TokenVerifier(keys);
    const forged = mint({ exp: nowS + 60 }, 'other');
    for (let i = 0; i < 3; i++)
      expect(() => tokens.verify(forged, nowMs)).toThrow('signature is invalid');
    expect(tokens.cached).toBe(0);
    expect(() => tokens.authenticate(undefined, nowMs)).toThrow('missing authorization header');
    expect(() => tokens.authenticate('Basic x', nowMs)).toThrow('Must start with Bearer');
  });
});
