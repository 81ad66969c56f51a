/**
 * Admission control (DESIGN.md section 8, P6): at most `maxInFlight` requests are served at
 * once and at most `queueMax` wait, in arrival order. A request is shed at once, never left
 * hanging, when
 * - the queue is full (reason `queue-full`), or
 * - its expected wait exceeds what is left of its deadline (reason `deadline`): the expected
 *   wait is ceil((waiting + 1) / maxInFlight) service times, the service time an exponential
 *   moving average (alpha 0.2, ~5 requests of memory) of recent admitted requests;
 * and a waiting request whose deadline passes before a slot frees is shed then (reason
 * `timeout`). Shed requests get 429 `resource_exhausted` with a Retry-After of the expected
 * wait (>= 1 s), so clients back off instead of piling on.
 */
import { TwirpError } from './errors.js';

export type ShedReason = 'queue-full' | 'deadline' | 'timeout';

export interface AdmissionInit {
  /** Requests served at once. */
  maxInFlight: number;
  /** Requests waiting for a slot at most; 0 = no queue. */
  queueMax: number;
  nowMs: () => number;
  /** One-shot timer; returns a cancel function. */
  setTimer: (delayMs: number, fn: () => void) => () => void;
  /** Called for each shed request (metrics). */
  onShed?: (reason: ShedReason) => void;
}

/** Weight of the newest sample in the service-time average. */
const SERVICE_EWMA_ALPHA = 0.2;

interface Waiter {
  deadlineAtMs: number;
  grant: (release: () => void) => void;
  shed: (error: TwirpError) => void;
  cancelTimer: () => void;
}

export class AdmissionController {
  private inFlightCount = 0;
  private readonly waiting = new Map<number, Waiter>();
  private nextWaiterId = 0;
  private serviceEwmaMs = 0;
  readonly shedCounts: Record<ShedReason, number> = { 'queue-full': 0, deadline: 0, timeout: 0 };

  constructor(private readonly init: AdmissionInit) {}

  get inFlight(): number {
    return this.inFlightCount;
  }

  get queued(): number {
    return this.waiting.size;
  }

  /** Average service time of recent requests (ms). */
  get serviceTimeMs(): number {
    return this.serviceEwmaMs;
  }

  /** Expected wait (ms) of a request that would queue now. */
  expectedWaitMs(): number {
    return Math.ceil((this.waiting.size + 1) / this.init.maxInFlight) * this.serviceEwmaMs;
  }

  /**
   * Resolves with a release function once the request may run; rejects with a 429 TwirpError
   * when it is shed. `signal` (client gone) withdraws a waiting request.
   */
  /** A slot now, or undefined when the request would have to wait: the hot path, without
   *  a promise. */
  tryAcquire(): (() => void) | undefined {
    if (this.inFlightCount < this.init.maxInFlight && this.waiting.size === 0) return this.start();
    return undefined;
  }

  acquire(deadlineAtMs: number, signal?: AbortSignal): Promise<() => void> {
    const now = this.tryAcquire();
    if (now) return Promise.resolve(now);
    if (this.waiting.size >= this.init.queueMax) {
      return Promise.reject(this.shed('queue-full', `admission queue is full`));
    }
    const remainingMs = deadlineAtMs - this.init.nowMs();
    if (this.expectedWaitMs() > remainingMs) {
      return Promise.reject(this.shed('deadline', 'expected wait exceeds the deadline'));
    }
    return new Promise((resolve, reject) => {
      const id = this.nextWaiterId++;
      const withdraw = (): void => {
        const waiter = this.waiting.get(id);
        if (!waiter) return;
        this.waiting.delete(id);
        waiter.cancelTimer();
      };
      const waiter: Waiter = {
        deadlineAtMs,
        grant: (release) => {
          signal?.removeEventListener('abort', withdraw);
          resolve(release);
        },
        shed: (error) => {
          signal?.removeEventListener('abort', withdraw);
          reject(error);
        },
        cancelTimer: this.init.setTimer(Math.max(0, remainingMs), () => {
          if (!this.waiting.delete(id)) return;
          waiter.shed(this.shed('timeout', 'deadline passed while waiting for a slot'));
        }),
      };
      this.waiting.set(id, waiter);
      signal?.addEventListener('abort', withdraw, { once: true });
    });
  }

  private start(): () => void {
    this.inFlightCount++;
    const startedAtMs = this.init.nowMs();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlightCount--;
      const tookMs = this.init.nowMs() - startedAtMs;
      this.serviceEwmaMs =
        this.serviceEwmaMs === 0
          ? tookMs
          : this.serviceEwmaMs + SERVICE_EWMA_ALPHA * (tookMs - this.serviceEwmaMs);
      this.admitNext();
    };
  }

  private admitNext(): void {
    while (this.inFlightCount < this.init.maxInFlight && this.waiting.size > 0) {
      const [id, waiter] = this.waiting.entries().next().value as [number, Waiter];
      this.waiting.delete(id);
      waiter.cancelTimer();
      if (waiter.deadlineAtMs <= this.init.nowMs()) {
        waiter.shed(this.shed('timeout', 'deadline passed while waiting for a slot'));
        continue;
      }
      waiter.grant(this.start());
    }
  }

  private shed(reason: ShedReason, message: string): TwirpError {
    this.shedCounts[reason]++;
    this.init.onShed?.(reason);
    return new TwirpError(
      'resource_exhausted',
      message,
      { reason },
      Math.max(1_000, this.expectedWaitMs()),
    );
  }
}
