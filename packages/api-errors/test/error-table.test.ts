/**
 * The error table's own rules: statuses come from the Twirp spec, Retry-After sources are
 * given exactly where a row has a Retry-After, rows that share a Twirp code agree on the
 * client's retry, and an answer is built from the row alone. The table against the classes
 * is packages/core/test/errors-table.test.ts; against docs/api.md, the server's
 * errors-and-jwt.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  clientRetryOf,
  ERROR_TABLE,
  errorRowOf,
  isTwirpCode,
  TWIRP_HTTP_STATUS,
  twirpAnswerOf,
} from '../src/index.js';

const rows = Object.values(ERROR_TABLE);

describe('ERROR_TABLE', () => {
  it('keys each row by its code, with the Twirp status of its Twirp code', () => {
    for (const [code, row] of Object.entries(ERROR_TABLE)) {
      expect(row.code).toBe(code);
      expect(isTwirpCode(row.twirpCode)).toBe(true);
      expect(row.httpStatus).toBe(TWIRP_HTTP_STATUS[row.twirpCode]);
      expect(row.errors.length).toBeGreaterThan(0);
    }
  });

  it('says where retryAfterMs comes from exactly for the classes whose answer has one', () => {
    for (const row of rows) {
      for (const nodeError of row.errors) {
        expect(nodeError.retryAfterFrom !== undefined, nodeError.name).toBe(row.retryAfter);
      }
    }
  });

  it('names each class once', () => {
    const names = rows.flatMap((row) => row.errors.map((e) => e.name));
    expect(new Set(names).size).toBe(names.length);
  });

  it('is frozen all the way down', () => {
    expect(Object.isFrozen(ERROR_TABLE)).toBe(true);
    for (const row of rows) {
      expect(Object.isFrozen(row)).toBe(true);
      expect(Object.isFrozen(row.errors)).toBe(true);
      expect(Object.isFrozen(row.meta)).toBe(true);
      for (const e of row.errors) expect(Object.isFrozen(e)).toBe(true);
    }
    expect(Object.isFrozen(TWIRP_HTTP_STATUS)).toBe(true);
  });

  it('pins what each code means for the server and the client', () => {
    const summary = rows.map((r) => [
      r.code,
      r.twirpCode,
      r.httpStatus,
      r.retryAfter,
      r.clientRetry,
    ]);
    expect(summary).toEqual([
      ['invalid_argument', 'invalid_argument', 400, false, 'never'],
      ['not_found', 'not_found', 404, false, 'never'],
      ['unavailable', 'unavailable', 503, true, 'idempotent-calls'],
      ['resource_exhausted', 'resource_exhausted', 429, true, 'all-calls'],
      ['deadline_exceeded', 'deadline_exceeded', 408, false, 'idempotent-calls'],
    ]);
  });
});

describe('errorRowOf and clientRetryOf', () => {
  it('know no code outside the table, prototype names included', () => {
    for (const code of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'internal', '']) {
      expect(errorRowOf(code), code).toBeUndefined();
    }
    for (const code of ['toString', '__proto__', 'internal', 'failed_precondition', 'network']) {
      expect(clientRetryOf(code), code).toBe('never');
    }
  });

  it('give the client the row of each Twirp code', () => {
    for (const row of rows) expect(clientRetryOf(row.twirpCode)).toBe(row.clientRetry);
    const retried = Object.keys(TWIRP_HTTP_STATUS).filter((c) => clientRetryOf(c) !== 'never');
    expect(retried.sort()).toEqual(['deadline_exceeded', 'resource_exhausted', 'unavailable']);
  });
});

describe('twirpAnswerOf', () => {
  const facts = (code: string, more: { argument?: string; retryAfterMs?: number } = {}) => ({
    code,
    message: `${code} happened`,
    argument: more.argument,
    retryAfterMs: more.retryAfterMs,
  });

  it('builds every answer from the row: code, status, message, meta, Retry-After', () => {
    for (const row of rows) {
      const answer = twirpAnswerOf(facts(row.code, { argument: 'name', retryAfterMs: 1_500 }))!;
      expect(answer.code).toBe(row.twirpCode);
      expect(answer.status).toBe(row.httpStatus);
      expect(answer.msg).toBe(row.message ?? `${row.code} happened`);
      expect(Object.keys(answer.meta)).toEqual(row.meta);
      expect(answer.retryAfterMs).toBe(row.retryAfter ? 1_500 : undefined);
    }
  });

  it('names the argument, answers not_found with LiveKit text, skips unknown codes', () => {
    expect(twirpAnswerOf(facts('invalid_argument', { argument: 'metadata' }))?.meta).toEqual({
      argument: 'metadata',
    });
    expect(twirpAnswerOf(facts('not_found'))?.msg).toBe('requested room does not exist');
    expect(twirpAnswerOf(facts('failed_precondition'))).toBeUndefined();
    expect(twirpAnswerOf(facts('__proto__'))).toBeUndefined();
  });
});
