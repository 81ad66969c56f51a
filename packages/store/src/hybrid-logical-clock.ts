/**
 * Hybrid logical clock (Kulkarni et al. 2014) over packed stamps (protocol's hlc.ts):
 * `(wallMs - epoch) * 4096 + logical`, so "physical part, then logical counter" ordering is
 * plain number ordering and a logical overflow (more than 4,096 stamps in one millisecond)
 * carries into the next millisecond by itself: `last + 1` borrows it, as HLC allows.
 * DESIGN.md section 4.
 */
import { HLC_EPOCH_MS, HLC_LOGICAL_BITS, hlcWallMs, packHlc } from '@roomring/protocol';
import type { Clock } from './clock.js';
import { InvalidClockReadingError, InvalidStoreInitError } from './errors.js';

/** Remote stamps further ahead of local wall time than this are refused. @default 500 */
export const DEFAULT_MAX_CLOCK_OFFSET_MS = 500;

/** Packed stamps must stay below 2^53: 2^(53 - 12) ms after the epoch, about year 2089. */
const WALL_MS_MAX = HLC_EPOCH_MS + 2 ** (53 - HLC_LOGICAL_BITS) - 1;

export interface HybridLogicalClockInit {
  /** This node's id: the tie-breaker of equal stamps in every `(stamp, nodeId)` comparison. */
  nodeId: string;
  /** Wall time. Readings are floored to whole milliseconds. */
  clock: Clock;
  /**
   * A remote stamp whose physical part is more than this ahead of local wall time is refused
   * and counted, not adopted: a node with a clock an hour fast would otherwise drag every
   * clock an hour ahead and make its writes win every conflict for that hour. Larger values
   * tolerate worse NTP; smaller ones refuse more honest writes from slightly fast clocks.
   * @default 500
   */
  maxClockOffsetMs?: number;
}

export interface HybridLogicalClock {
  readonly nodeId: string;
  readonly maxClockOffsetMs: number;
  /** A new stamp, strictly greater than every stamp issued or observed so far. */
  now(): number;
  /**
   * Adopts a remote stamp (later `now()` calls return greater stamps). Returns false, counts
   * the refusal and changes nothing when the stamp is more than `maxClockOffsetMs` ahead of
   * local wall time, or is not a non-negative safe integer.
   */
  observe(remote: number): boolean;
  /** The greatest stamp issued or observed (0 before any). */
  last(): number;
  /** Remote stamps refused by `observe` since creation. */
  rejectedCount(): number;
  /** Local wall time in whole milliseconds, as the clock bound sees it. */
  wallMs(): number;
}

class HybridLogicalClockImpl implements HybridLogicalClock {
  private lastStamp = 0;
  private rejected = 0;

  constructor(
    readonly nodeId: string,
    private readonly clock: Clock,
    readonly maxClockOffsetMs: number,
  ) {}

  now(): number {
    const physical = packHlc(this.wallMs(), 0);
    this.lastStamp = physical > this.lastStamp ? physical : this.lastStamp + 1;
    return this.lastStamp;
  }

  observe(remote: number): boolean {
    if (!Number.isSafeInteger(remote) || remote < 0) {
      this.rejected++;
      return false;
    }
    if (hlcWallMs(remote) - this.wallMs() > this.maxClockOffsetMs) {
      this.rejected++;
      return false;
    }
    if (remote > this.lastStamp) this.lastStamp = remote;
    return true;
  }

  last(): number {
    return this.lastStamp;
  }

  rejectedCount(): number {
    return this.rejected;
  }

  wallMs(): number {
    const reading = Math.floor(this.clock.nowMs());
    // A programmer error in the injected clock, not an operating condition: fail loudly.
    if (!(reading >= HLC_EPOCH_MS && reading <= WALL_MS_MAX)) {
      throw new InvalidClockReadingError(
        `clock.nowMs() returned ${reading}; expected unix ms between ${HLC_EPOCH_MS} (2020) and ${WALL_MS_MAX}`,
      );
    }
    return reading;
  }
}

export function createHybridLogicalClock(init: HybridLogicalClockInit): HybridLogicalClock {
  const maxClockOffsetMs = init.maxClockOffsetMs ?? DEFAULT_MAX_CLOCK_OFFSET_MS;
  if (!Number.isSafeInteger(maxClockOffsetMs) || maxClockOffsetMs < 0) {
    throw new InvalidStoreInitError(
      `maxClockOffsetMs must be a non-negative integer, got ${maxClockOffsetMs}`,
    );
  }
  if (typeof init.nodeId !== 'string' || init.nodeId === '') {
    throw new InvalidStoreInitError('nodeId must be a non-empty string');
  }
  return new HybridLogicalClockImpl(init.nodeId, init.clock, maxClockOffsetMs);
}
