/**
 * One log line per member state change, worded as an operator reads them: `member joined`
 * (first seen), `member suspect`, `member alive again` (back from suspicion), `member dead`,
 * `member left`, `member rejoined` (back after dead or left). Suspect and dead at warn, the
 * rest at info; each with the member, its region and incarnation, and why (the node's
 * MemberChangeReason).
 */
import type { RegistryNode } from '@roomring/node';
import type { FastifyBaseLogger } from 'fastify';

type Transition = 'up' | 'left' | 'suspect' | 'dead';

/** Members remembered for the wording, at most (the node itself bounds its members). */
const MEMBERS_REMEMBERED_MAX = 65_536;

export function memberLogMessage(previous: Transition | undefined, transition: Transition): string {
  if (transition !== 'up') return `member ${transition}`;
  if (previous === undefined) return 'member joined';
  return previous === 'suspect' ? 'member alive again' : 'member rejoined';
}

export function logMemberChanges(
  node: Pick<RegistryNode, 'on'>,
  logger: Pick<FastifyBaseLogger, 'info' | 'warn'>,
): () => void {
  const last = new Map<string, Transition>();
  const offs = (['up', 'left', 'suspect', 'dead'] as const).map((transition) =>
    node.on(`member-${transition}`, ({ member, reason }) => {
      const message = memberLogMessage(last.get(member.nodeId), transition);
      if (!last.has(member.nodeId) && last.size >= MEMBERS_REMEMBERED_MAX) last.clear();
      last.set(member.nodeId, transition);
      const fields = {
        event: `member-${transition}`,
        member: member.nodeId,
        region: member.region,
        incarnation: member.incarnation,
        reason,
      };
      if (transition === 'suspect' || transition === 'dead') logger.warn(fields, message);
      else logger.info(fields, message);
    }),
  );
  return () => {
    for (const off of offs) off();
  };
}
