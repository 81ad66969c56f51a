/**
 * One info line per ownership move (a room this node now hosts, or no longer does), as an
 * operator reads them after a failover; bounded: at most OWNERSHIP_LINES_PER_S lines per
 * second, and one summary line for the second's rest (a region failing over moves thousands
 * of rooms at once, and the log must not become the outage).
 */
import type { RegistryNode } from '@roomring/node';
import type { FastifyBaseLogger } from 'fastify';

export const OWNERSHIP_LINES_PER_S = 50;

export function logOwnershipMoves(
  node: Pick<RegistryNode, 'on'>,
  logger: Pick<FastifyBaseLogger, 'info'>,
  nowMs: () => number,
): () => void {
  let windowStartMs = Number.NEGATIVE_INFINITY;
  let lines = 0;
  let suppressed = { gained: 0, lost: 0 };
  const flush = (): void => {
    if (suppressed.gained + suppressed.lost === 0) return;
    logger.info(
      { event: 'ownership-moves', gained: suppressed.gained, lost: suppressed.lost },
      `${suppressed.gained + suppressed.lost} more ownership moves (not logged one by one)`,
    );
    suppressed = { gained: 0, lost: 0 };
  };
  const log = (kind: 'gained' | 'lost', name: string, sid: string): void => {
    const now = nowMs();
    if (now - windowStartMs >= 1_000) {
      flush();
      windowStartMs = now;
      lines = 0;
    }
    if (lines >= OWNERSHIP_LINES_PER_S) {
      suppressed[kind]++;
      return;
    }
    lines++;
    logger.info(
      { event: `ownership-${kind}`, room: name, sid },
      kind === 'gained' ? 'room now hosted here' : 'room no longer hosted here',
    );
  };
  // The summary of a burst's last second comes with the next move, or at most a second late.
  const timer = setInterval(() => {
    if (nowMs() - windowStartMs >= 1_000) flush();
  }, 1_000);
  timer.unref();
  const offs = [
    node.on('ownership-gained', ({ name, sid }) => log('gained', name, sid)),
    node.on('ownership-lost', ({ name, sid }) => log('lost', name, sid)),
  ];
  return () => {
    clearInterval(timer);
    flush();
    for (const off of offs) off();
  };
}
