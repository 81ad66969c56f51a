import type { ViewMember, ViewRoom } from '../src/index.js';

/** Printed by every property so a failure replays with the same seed. */
export const SEED = 20_251_129;

export function member(
  nodeId: string,
  region: string,
  extra: Partial<ViewMember> = {},
): ViewMember {
  return { nodeId, region, state: 'alive', weight: 1, ringChecksum: '', ...extra };
}

export function room(name: string, homeRegion: string, owner = ''): ViewRoom {
  return { name, homeRegion, owner };
}

/** Deterministic, random-looking room names. */
export function roomNames(count: number, salt = 'r'): string[] {
  return Array.from(
    { length: count },
    (_, i) => `${salt}-${i.toString(36)}-${((i * 2_654_435_761) >>> 0).toString(16)}`,
  );
}
