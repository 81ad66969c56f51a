/**
 * The pure parts of the failure detector (docs/protocol/membership.md, "Failure detector"):
 * local health, as Lifeguard's local health multiplier (LHM), and the suspicion period that
 * independent confirmations shrink, as Lifeguard's LHA-Suspicion (memberlist suspicion.go).
 * membership.ts holds the state and the control flow.
 */

/**
 * Highest local health score (Lifeguard's S = 8, as memberlist's AwarenessMaxMultiplier):
 * every silence threshold is multiplied by 1 + score, so at most 9x (lan: a member is
 * suspected after 27 s of silence instead of 3 s). A node that sees its own timers fire late
 * again and again distrusts every silence it measures that much; one on-time tick takes off
 * one step.
 */
export const LOCAL_HEALTH_MAX = 8;

/**
 * A tick is late when it runs more than heartbeatIntervalMs x this after it was due (lan:
 * 500 ms, local: 250 ms), and then raises local health by one. Timers of a process sharing
 * 2 busy cores with four others ran up to 45 ms late (PLATFORM.md, packages/hosts pause
 * test), a full GC of an 800 MB heap or a SIGSTOP runs them seconds late: half an interval
 * lies far from both. Smaller lateness is still discounted from silences (membership.ts).
 */
export const LATE_TICK_FRACTION = 0.5;

/**
 * Independent confirmations after which a suspicion lasts its shortest (Lifeguard's K = 3):
 * other members' notices about the subject, and our own probe of it that timed out. At most
 * this many reporters are kept per member (a bounded list), whatever the cluster's size.
 */
export const CONFIRMATIONS_MAX = 3;

/**
 * How much longer than the shortest suspicion period an unconfirmed one lasts (Lifeguard's
 * beta; memberlist uses 6). 3 keeps a member no one else suspects (our own link to it is the
 * likelier culprit) in the rings for 3 x (deadAfterMs - suspectAfterMs): lan 9 s instead of
 * 3 s, so such a member is declared dead after 12 s of silence instead of 6 s.
 */
export const SUSPICION_STRETCH_MAX = 3;

/** How late a tick may run before it counts as late (LATE_TICK_FRACTION). */
export function lateTickThresholdMs(heartbeatIntervalMs: number): number {
  return heartbeatIntervalMs * LATE_TICK_FRACTION;
}

/**
 * The suspicion period (from suspected to dead, in ms of silence) given `confirmations` of
 * `expected` possible ones: `maxMs` with none, shrinking on a log scale to `minMs` at
 * `expected` (Lifeguard: max - (max - min) x log(C + 1) / log(K + 1)). With no one who could
 * confirm (`expected` < 1: a two-node cluster) it is `minMs`, as in memberlist: waiting
 * longer would only delay every death there.
 */
export function suspicionPeriodMs(
  minMs: number,
  maxMs: number,
  confirmations: number,
  expected: number,
): number {
  if (expected < 1 || confirmations >= expected) return minMs;
  const fraction = Math.log(Math.max(0, confirmations) + 1) / Math.log(expected + 1);
  return Math.max(minMs, Math.floor(maxMs - fraction * (maxMs - minMs)));
}

/**
 * Local health: 0 (healthy) to LOCAL_HEALTH_MAX. Raised by one when this node sees its own
 * timers fire late or must refute a suspicion of itself (both mean it is the slow one);
 * lowered by one per on-time tick. Silence thresholds are multiplied by `multiplier()`.
 */
export class LocalHealth {
  private value = 0;

  get score(): number {
    return this.value;
  }

  raise(): void {
    if (this.value < LOCAL_HEALTH_MAX) this.value++;
  }

  lower(): void {
    if (this.value > 0) this.value--;
  }

  /** 1 + score: what every silence threshold and suspicion period is multiplied by. */
  multiplier(): number {
    return 1 + this.value;
  }
}
