/** Member state changes in the log, worded as an operator reads them. */
import { describe, expect, it } from 'vitest';
import { logMemberChanges, memberLogMessage } from '../src/member-log.js';

type Handler = (e: { member: Record<string, unknown>; reason: string }) => void;

describe('member log', () => {
  it('says joined, suspect, alive again, dead, rejoined, left', () => {
    const handlers = new Map<string, Handler>();
    const node = {
      on: (event: string, handler: Handler) => {
        handlers.set(event, handler);
        return () => handlers.delete(event);
      },
    };
    const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
    const logger = {
      info: (fields: Record<string, unknown>, msg: string) =>
        lines.push({ level: 'info', msg, fields }),
      warn: (fields: Record<string, unknown>, msg: string) =>
        lines.push({ level: 'warn', msg, fields }),
    };
    const stop = logMemberChanges(node as never, logger as never);
    const emit = (t: string, reason: string) =>
      handlers.get(`member-${t}`)!({
        member: { nodeId: 'usw-1', region: 'us-west', incarnation: 7 },
        reason,
      });
    emit('up', 'heartbeat');
    emit('suspect', 'silent');
    emit('up', 'heartbeat');
    emit('suspect', 'connection-lost');
    emit('dead', 'probe-failed');
    emit('up', 'heartbeat');
    emit('left', 'leave');
    expect(lines.map((l) => `${l.level} ${l.msg}`)).toEqual([
      'info member joined',
      'warn member suspect',
      'info member alive again',
      'warn member suspect',
      'warn member dead',
      'info member rejoined',
      'info member left',
    ]);
    expect(lines[4]!.fields).toEqual({
      event: 'member-dead',
      member: 'usw-1',
      region: 'us-west',
      incarnation: 7,
      reason: 'probe-failed',
    });
    expect(memberLogMessage('left', 'up')).toBe('member rejoined');
    stop();
    expect(handlers.size).toBe(0);
  });
});
