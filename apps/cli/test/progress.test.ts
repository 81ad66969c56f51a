import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PROGRESS_DELAY_MS, SPINNER_FRAME_MS, withProgress } from '../src/progress.js';

function stream(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, writes, write: (t: string) => writes.push(t) };
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('progress on stderr', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('shows nothing for work under a second', async () => {
    const s = stream(true);
    const work = deferred<number>();
    const result = withProgress('reading', work.promise, s);
    await vi.advanceTimersByTimeAsync(PROGRESS_DELAY_MS - 1);
    work.resolve(7);
    expect(await result).toBe(7);
    await vi.advanceTimersByTimeAsync(5 * PROGRESS_DELAY_MS);
    expect(s.writes).toEqual([]);
  });

  it('writes one plain line when stderr is not a terminal', async () => {
    const s = stream(false);
    const work = deferred<string>();
    const result = withProgress('listing rooms', work.promise, s);
    await vi.advanceTimersByTimeAsync(PROGRESS_DELAY_MS + 10 * SPINNER_FRAME_MS);
    work.resolve('done');
    expect(await result).toBe('done');
    expect(s.writes).toEqual(['listing rooms...\n']);
  });

  it('spins on a terminal, then erases its line; failures still propagate', async () => {
    const s = stream(true);
    const work = deferred<never>();
    const result = withProgress('asking 6 nodes', work.promise, s);
    await vi.advanceTimersByTimeAsync(PROGRESS_DELAY_MS + 3 * SPINNER_FRAME_MS);
    expect(s.writes.length).toBeGreaterThanOrEqual(4);
    expect(s.writes[0]).toBe('\r| asking 6 nodes');
    expect(s.writes[1]).toBe('\r/ asking 6 nodes');
    const failure = expect(result).rejects.toThrow('boom');
    (work as unknown as { resolve: (v: Promise<never>) => void }).resolve(
      Promise.reject(new Error('boom')),
    );
    await failure;
    expect(s.writes.at(-1)).toBe('\r\u001b[K');
    const count = s.writes.length;
    await vi.advanceTimersByTimeAsync(10 * SPINNER_FRAME_MS);
    expect(s.writes.length).toBe(count);
  });
});
