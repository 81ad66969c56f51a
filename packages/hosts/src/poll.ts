/**
 * Waiting for a cluster's state without sleeping blindly: poll a condition until it holds,
 * with a deadline, and say what was last seen when it does not.
 */

/**
 * Polls `check` every `intervalMs` until it returns a value (not undefined or false), and
 * resolves with it and the time it was seen. Fails after `timeoutMs` with the last value or
 * error seen, so a failure says what state the cluster was in.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<{ value: T; atMs: number }> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return { value, atMs: Date.now() };
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${timeoutMs} ms; last: ${describeValue(last)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function describeValue(value: unknown): string {
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
