/** `roomring token`'s grants and durations (the process test against a cluster is in
 *  cluster.test.ts), and a minted token's claims as a real process prints them. */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { durationS } from '../src/args.js';
import { UsageError } from '../src/cli-errors.js';
import { tokenGrant } from '../src/commands/token.js';
import { json, runCli } from './cli-process.js';

describe('token grants', () => {
  it('maps flags to LiveKit grants and refuses tokens that cannot be used', () => {
    expect(tokenGrant({ create: true, list: true })).toEqual({ roomCreate: true, roomList: true });
    expect(tokenGrant({ admin: true, room: 'r' })).toEqual({ roomAdmin: true, room: 'r' });
    expect(tokenGrant({ join: true, room: 'r', identity: 'alice' })).toEqual({
      roomJoin: true,
      canPublish: true,
      canSubscribe: true,
      canPublishData: true,
      room: 'r',
    });
    expect(() => tokenGrant({})).toThrow(UsageError);
    expect(() => tokenGrant({ room: 'r' })).toThrow(/at least one grant/);
    expect(() => tokenGrant({ join: true, room: 'r' })).toThrow(/--identity/);
    expect(() => tokenGrant({ join: true, identity: 'a' })).toThrow(/--room/);
  });

  it('reads durations as lk does, 1 s to 30 days', () => {
    expect(durationS('90s')).toBe(90);
    expect(durationS('10m')).toBe(600);
    expect(durationS('6h')).toBe(21_600);
    expect(durationS('7d')).toBe(604_800);
    expect(durationS('45')).toBe(45);
    for (const bad of ['0s', '31d', '1w', '-5m', '1.5h', '', 'h']) {
      expect(() => durationS(bad), bad).toThrow(/duration/);
    }
  });
});

describe('roomring token (process)', () => {
  it('prints a token signed with --api-secret, with identity, grants and validity', async () => {
    const before = Math.floor(Date.now() / 1000);
    const run = await runCli(
      [
        'token',
        '--join',
        '--room',
        'standup',
        '--identity',
        'alice',
        '--name',
        'Alice',
        '--valid-for',
        '2h',
        '--json',
      ],
      'http://127.0.0.1:1',
      { ROOMRING_API_KEY: 'APIk', ROOMRING_API_SECRET: 'the-secret' },
    );
    const out = json<{ token: string; apiKey: string; expiresAt: string }>(run);
    expect(out.apiKey).toBe('APIk');
    const [header, payload, signature] = out.token.split('.');
    const expected = createHmac('sha256', 'the-secret')
      .update(`${header}.${payload}`)
      .digest('base64url');
    expect(signature).toBe(expected);
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    expect(claims).toMatchObject({
      iss: 'APIk',
      sub: 'alice',
      name: 'Alice',
      video: { roomJoin: true, room: 'standup', canPublish: true },
    });
    const exp = claims.exp as number;
    expect(exp - before).toBeGreaterThanOrEqual(7_200);
    expect(exp - before).toBeLessThanOrEqual(7_200 + 60);
    expect(Date.parse(out.expiresAt) / 1000).toBe(exp);

    const usage = await runCli(['token'], 'http://127.0.0.1:1');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('give at least one grant');
  }, 30_000);
});
