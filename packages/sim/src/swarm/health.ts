/**
 * What the swarm did to each node and link, over virtual time, so the checker can tell a
 * member declared dead for a reason (crashed, stopped, cut off, on a degraded network) from
 * one declared dead while healthy, which is a bug.
 */

export interface Interval {
  from: number;
  /** Infinity while the fault lasts. */
  to: number;
}

interface Cut extends Interval {
  a: ReadonlySet<string>;
  b: ReadonlySet<string>;
  /** One-way cuts blackhole a -> b only; partitions cut both ways. */
  oneWay: boolean;
}

const overlaps = (i: Interval, from: number, to: number): boolean => i.from <= to && i.to >= from;

export class HealthLog {
  private readonly crashed = new Map<string, Interval[]>();
  private readonly paused = new Map<string, Interval[]>();
  private readonly cuts: Cut[] = [];
  private readonly degraded: Interval[] = [];

  private open(table: Map<string, Interval[]>, node: string, at: number): void {
    const list = table.get(node) ?? [];
    list.push({ from: at, to: Number.POSITIVE_INFINITY });
    table.set(node, list);
  }

  private close(table: Map<string, Interval[]>, node: string, at: number): void {
    const last = table.get(node)?.at(-1);
    if (last && last.to === Number.POSITIVE_INFINITY) last.to = at;
  }

  crash(node: string, at: number): void {
    this.open(this.crashed, node, at);
  }

  /** A restarted node: its old generation may still be declared dead for a while. */
  restart(node: string, at: number, graceMs: number): void {
    this.close(this.crashed, node, at + graceMs);
  }

  pause(node: string, at: number): void {
    this.open(this.paused, node, at);
  }

  resume(node: string, at: number, graceMs: number): void {
    this.close(this.paused, node, at + graceMs);
  }

  cut(a: readonly string[], b: readonly string[], oneWay: boolean, at: number): void {
    this.cuts.push({
      a: new Set(a),
      b: new Set(b),
      oneWay,
      from: at,
      to: Number.POSITIVE_INFINITY,
    });
  }

  /** Every open cut ends at `at`; links need `graceMs` more to be redialled. */
  healCuts(at: number, graceMs: number): void {
    for (const cut of this.cuts) if (cut.to === Number.POSITIVE_INFINITY) cut.to = at + graceMs;
  }

  degrade(at: number): void {
    this.degraded.push({ from: at, to: Number.POSITIVE_INFINITY });
  }

  restore(at: number, graceMs: number): void {
    const last = this.degraded.at(-1);
    if (last && last.to === Number.POSITIVE_INFINITY) last.to = at + graceMs;
  }

  isCrashed(node: string, at: number): boolean {
    return (this.crashed.get(node) ?? []).some((i) => overlaps(i, at, at));
  }

  /**
   * Why `observer` may have lost `subject` during [from, to], or undefined if healthy. With
   * `anyObserver` (a large cluster, where every node adopts the suspicion of the subject's
   * neighbours) a fault between the subject and any node counts.
   */
  reasonFor(
    observer: string,
    subject: string,
    from: number,
    to: number,
    anyObserver = false,
  ): string | undefined {
    if ((this.crashed.get(subject) ?? []).some((i) => overlaps(i, from, to))) return 'crashed';
    if ((this.paused.get(subject) ?? []).some((i) => overlaps(i, from, to))) return 'paused';
    if ((this.crashed.get(observer) ?? []).some((i) => overlaps(i, from, to))) {
      return 'observer restarted';
    }
    for (const cut of this.cuts) {
      if (!overlaps(cut, from, to)) continue;
      const forward = cut.a.has(subject) && (anyObserver || cut.b.has(observer));
      const backward = (anyObserver || cut.a.has(observer)) && cut.b.has(subject);
      // A one-way cut either way breaks dials (a handshake needs both directions).
      if (forward || backward) return cut.oneWay ? 'one-way cut' : 'partition';
    }
    if (this.degraded.some((i) => overlaps(i, from, to))) return 'degraded network';
    return undefined;
  }
}
