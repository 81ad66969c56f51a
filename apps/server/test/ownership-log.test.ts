/** Ownership moves in the log: one line each, at most OWNERSHIP_LINES_PER_S per second, the
 *  rest summed in one line (on an injected clock). */
import { describe, expect, it } from 'vitest';
import { logOwnershipMoves, OWNERSHIP_LINES_PER_S } from '../src/ownership-log.js';

type Handler = (e: { name: string; sid: string }) => void;

describe('ownership move log', () => {
  it('logs each move, caps a burst per second and sums the rest', () => {
    const handlers = new Map<string, Handler>();
    const node = {
      on: (event: string, handler: Handler) => {
        handlers.set(event, handler);
        return () => handlers.delete(event);
      },
    };
    const lines: { fields: Record<string, unknown>; msg: string }[] = [];
    const logger = {
      info: (fields: Record<string, unknown>, msg: string) => lines.push({ fields, msg }),
    };
    let now = 1_000_000;
    const stop = logOwnershipMoves(node as never, logger as never, () => now);
    handlers.get('ownership-gained')!({ name: 'a', sid: 'RM_a' });
    handlers.get('ownership-lost')!({ name: 'b', sid: 'RM_b' });
    expect(lines).toEqual([
      {
        fields: { event: 'ownership-gained', room: 'a', sid: 'RM_a' },
        msg: 'room now hosted here',
      },
      {
        fields: { event: 'ownership-lost', room: 'b', sid: 'RM_b' },
        msg: 'room no longer hosted here',
      },
    ]);
    // A failover burst within the same second: capped.
    for (let i = 0; i < 1_000; i++)
      handlers.get('ownership-gained')!({ name: `r${i}`, sid: `RM_${i}` });
    expect(lines).toHaveLength(OWNERSHIP_LINES_PER_S);
    // The next second: the sum of what was not logged, then lines again.
    now += 1_000;
    handlers.get('ownership-lost')!({ name: 'z', sid: 'RM_z' });
    const skipped = 1_000 - (OWNERSHIP_LINES_PER_S - 2);
    expect(lines[OWNERSHIP_LINES_PER_S]).toEqual({
      fields: { event: 'ownership-moves', gained: skipped, lost: 0 },
      msg: `${skipped} more ownership moves (not logged one by one)`,
    });
    expect(lines[OWNERSHIP_LINES_PER_S + 1]!.fields).toMatchObject({
      event: 'ownership-lost',
      room: 'z',
    });
    stop();
    expect(handlers.size).toBe(0);
  });
});
