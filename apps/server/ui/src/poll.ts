/**
 * `usePoll`: load now, then every `intervalMs` while the view is mounted, one request at a
 * time (a slow answer delays the next instead of piling requests up). Changing `key` loads
 * again at once (a new search, an event that says the data changed).
 */
import { useEffect, useRef, useState } from 'preact/hooks';

export interface PollState<T> {
  data: T | undefined;
  error: Error | undefined;
  /** Unix ms of the last answer. */
  atMs: number;
}

export function usePoll<T>(
  load: () => Promise<T>,
  intervalMs: number,
  key: unknown = 0,
): PollState<T> {
  const [state, setState] = useState<PollState<T>>({ data: undefined, error: undefined, atMs: 0 });
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      try {
        const data = await loadRef.current();
        if (!stopped) setState({ data, error: undefined, atMs: Date.now() });
      } catch (error) {
        if (!stopped) setState((s) => ({ ...s, error: error as Error }));
      }
      if (!stopped) timer = setTimeout(run, intervalMs);
    };
    void run();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [intervalMs, key]);
  return state;
}

/** A function that calls `fn` at most once per `periodMs` (the last call wins), for
 *  refreshing on bursts of events. */
export function throttle(fn: () => void, periodMs: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastMs = 0;
  return () => {
    if (timer !== undefined) return;
    const waitMs = Math.max(0, lastMs + periodMs - Date.now());
    timer = setTimeout(() => {
      timer = undefined;
      lastMs = Date.now();
      fn();
    }, waitMs);
  };
}
