/**
 * Snapshots of the whole store through the protocol's snapshot codec (DESIGN.md P8: optional
 * local files; a node must also start fine without one).
 *
 * Loading merges every record into the current state (call `clear()` first to replace it),
 * so loading is idempotent and never loses a newer write already merged. A snapshot taken
 * before the GC horizon is NOT loaded: its node was away longer than tombstoneTtlMs, so its
 * records may hold rooms the cluster deleted and has since forgotten (the tombstones are
 * gone); such a node must resync from a peer instead (the GC-horizon rule, DESIGN.md 4).
 */
import { decodeSnapshot, encodeSnapshot } from '@roomring/protocol';
import { InvalidSnapshotError } from './errors.js';
import type { RoomStore } from './room-store.js';

export interface SnapshotLoadResult {
  /** False when the snapshot was older than the GC horizon and nothing was merged. */
  loaded: boolean;
  /** Node that wrote the snapshot. */
  nodeId: string;
  /** Packed HLC of the moment it was taken. */
  takenAt: number;
  /** Records in the file. */
  records: number;
  inserted: number;
  updated: number;
  unchanged: number;
  /** Records refused by merge (e.g. tombstones that passed the GC horizon since). */
  rejected: number;
}

export function encodeStoreSnapshot(store: RoomStore): Uint8Array {
  return encodeSnapshot({
    nodeId: store.nodeId,
    takenAt: store.hlc.now(),
    records: store.records(),
  });
}

export function loadStoreSnapshot(store: RoomStore, bytes: Uint8Array): SnapshotLoadResult {
  const decoded = decodeSnapshot(bytes);
  if (!decoded.ok) {
    throw new InvalidSnapshotError(`snapshot does not decode: ${decoded.error.message}`, {
      cause: decoded.error,
    });
  }
  const { nodeId, takenAt, records } = decoded.snapshot;
  const result: SnapshotLoadResult = {
    loaded: false,
    nodeId,
    takenAt,
    records: records.length,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    rejected: 0,
  };
  if (takenAt < store.gcHorizon()) return result;
  result.loaded = true;
  for (const record of records) result[store.merge(record).kind]++;
  return result;
}
