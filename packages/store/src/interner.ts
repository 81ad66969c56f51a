/**
 * Shares one string per distinct node id / region across all records: 1M rooms created by
 * 10 nodes in 3 regions hold 13 strings, not 5M copies (a decoded string is a fresh heap
 * object, ~40-80 B for a libp2p peer id).
 *
 * Bounded, because the values come from the network: past `stringsMax` distinct values new
 * ones are stored unshared (correct, only larger). 4,096 x ~100 B = 400 KiB at most.
 */
import { detachString } from '@roomring/protocol';

export class StringInterner {
  private readonly table = new Map<string, string>();

  constructor(private readonly stringsMax: number) {}

  intern(value: string): string {
    if (value === '') return '';
    const shared = this.table.get(value);
    if (shared !== undefined) return shared;
    // Kept strings are detached copies: a decoded node id is a slice of its whole batch.
    const own = detachString(value);
    if (this.table.size < this.stringsMax) this.table.set(own, own);
    return own;
  }

  get size(): number {
    return this.table.size;
  }
}
