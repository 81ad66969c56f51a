import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, PROFILES, resolveConfig } from '../src/index.js';

const base = { nodeId: 'n1', region: 'us-east' };

describe('resolveConfig', () => {
  it('applies defaults, then the profile, then explicit options, and freezes the result', () => {
    const lan = resolveConfig(base);
    expect(lan.heartbeatIntervalMs).toBe(DEFAULTS.heartbeatIntervalMs);
    expect(lan.replicationFanout).toBe(2);
    const local = resolveConfig({ ...base, profile: 'local' });
    expect(local.heartbeatIntervalMs).toBe(PROFILES.local.heartbeatIntervalMs);
    const explicit = resolveConfig({ ...base, profile: 'local', heartbeatIntervalMs: 400 });
    expect(explicit.heartbeatIntervalMs).toBe(400);
    expect(Object.isFrozen(explicit)).toBe(true);
    expect(Object.isFrozen(explicit.seeds)).toBe(true);
  });

  it('every profile resolves to a valid config', () => {
    for (const profile of Object.keys(PROFILES) as (keyof typeof PROFILES)[]) {
      expect(() => resolveConfig({ ...base, profile })).not.toThrow();
    }
  });

  it.each([
    [{ nodeId: '' }, 'nodeId'],
    [{ region: '' }, 'region'],
    [{ nodeId: 'x'.repeat(129) }, 'nodeId'],
    [{ heartbeatIntervalMs: 0 }, 'heartbeatIntervalMs'],
    [{ heartbeatIntervalMs: 1.5 }, 'heartbeatIntervalMs'],
    [{ suspectAfterMs: 1_500 }, 'suspectAfterMs'],
    [{ deadAfterMs: 3_000 }, 'deadAfterMs'],
    [{ bucketCount: 1000 }, 'bucketCount'],
    [{ minAcks: -1 }, 'minAcks'],
    [{ minAcks: 2, replicationFanout: 1 }, 'replicationFanout'],
    [{ redialBaseMs: 5_000, redialMaxMs: 1_000 }, 'redialMaxMs'],
    [{ seeds: [''] }, 'seeds'],
    [{ profile: 'moon' }, 'profile'],
  ])('rejects %o naming the option', (bad, option) => {
    let caught: unknown;
    try {
      resolveConfig({ ...base, ...(bad as object) });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).option).toBe(option);
  });
});
