/** Abort plumbing: every wait in this package ends on a deadline, a caller's signal or stop. */
import { RequestAbortedError, RequestTimeoutError } from './errors.js';

export interface Deadline {
  /** Aborted with a typed error as `reason` (timeout, caller abort, or the stop reason). */
  readonly signal: AbortSignal;
  /** Clears the timer and listeners. Call it when the operation ends, whatever the outcome. */
  dispose(): void;
}

/** A signal that aborts after `timeoutMs`, when `callerSignal` aborts, or when `stopSignal`
 *  aborts; the reason is a `RequestTimeoutError`, a `RequestAbortedError`, or the stop signal's
 *  own reason. One timer, cleared by `dispose()` (no leak per request). */
export function createDeadline(
  timeoutMs: number,
  what: string,
  callerSignal: AbortSignal | undefined,
  stopSignal: AbortSignal,
): Deadline {
  const controller = new AbortController();
  const abort = (reason: unknown) => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const onCaller = () => abort(new RequestAbortedError(`${what} aborted by the caller`));
  const onStop = () => abort(stopSignal.reason);
  const timer = setTimeout(
    () => abort(new RequestTimeoutError(`${what} timed out after ${timeoutMs} ms`)),
    timeoutMs,
  );
  if (callerSignal?.aborted === true) onCaller();
  else callerSignal?.addEventListener('abort', onCaller, { once: true });
  if (stopSignal.aborted) onStop();
  else stopSignal.addEventListener('abort', onStop, { once: true });
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCaller);
      stopSignal.removeEventListener('abort', onStop);
    },
  };
}

/** Resolves like `promise`, or rejects with `signal.reason` as soon as `signal` aborts. The
 *  promise keeps running; the caller stops waiting for it. */
export function raceSignal<T>(promise: PromiseLike<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    Promise.resolve(promise).then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** A re-armable timer that aborts `controller` with `reason()` when it fires. */
export interface IdleTimer {
  /** (Re)starts the timer, for `overrideMs` instead of the default when given. */
  arm(overrideMs?: number): void;
  disarm(): void;
}

export function createIdleTimer(
  timeoutMs: number,
  controller: AbortController,
  reason: (timeoutMs: number) => Error,
): IdleTimer {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    arm(overrideMs = timeoutMs) {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (!controller.signal.aborted) controller.abort(reason(overrideMs));
      }, overrideMs);
    },
    disarm() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
