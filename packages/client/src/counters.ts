/** Client-wide counters: what the retry policy did, for metrics and for tests. */

export interface ClientCounters {
  /** Calls started (each counts once, however many attempts it makes). */
  calls: number;
  /** HTTP attempts sent (calls + retries). */
  attempts: number;
  /** Retries sent: attempts after a call's first. */
  retries: number;
  /** Retries refused because the retry budget was spent. */
  budgetExhausted: number;
  /** Calls that returned a value. */
  succeeded: number;
  /** Calls that threw. */
  failed: number;
  /**
   * Failed ATTEMPTS by error code: Twirp codes, `network`, `deadline_exceeded` (server 408
   * or the local deadline), `canceled`, `malformed_response`, `response_too_large`. A
   * bounded key set: unknown server codes are counted as `unknown`.
   */
  errorsByCode: ReadonlyMap<string, number>;
}

export class CounterSet {
  calls = 0;
  attempts = 0;
  retries = 0;
  budgetExhausted = 0;
  succeeded = 0;
  failed = 0;
  readonly #errorsByCode = new Map<string, number>();

  countError(code: string): void {
    this.#errorsByCode.set(code, (this.#errorsByCode.get(code) ?? 0) + 1);
  }

  snapshot(): ClientCounters {
    return {
      calls: this.calls,
      attempts: this.attempts,
      retries: this.retries,
      budgetExhausted: this.budgetExhausted,
      succeeded: this.succeeded,
      failed: this.failed,
      errorsByCode: new Map(this.#errorsByCode),
    };
  }
}
