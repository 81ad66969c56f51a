/**
 * The replicated room record: one incarnation (one `sid`) of a room name.
 * See docs/architecture.md and DESIGN.md section 4 for the merge rule.
 *
 * Field groups, each with its own version stamp `(xxxAt, xxxBy)` compared as
 * `(hlc, nodeId)`, last writer wins:
 * - identity (immutable once created): name, sid, createdAt, creator, homeRegion
 * - settings: emptyTimeoutS, departureTimeoutS, maxParticipants, metadata, pinnedNode
 * - stats (reported by the hosting node): numParticipants, numPublishers, activeRecording,
 *   everOccupied
 * - tombstone: deletedAt / deletedBy (0 / '' while live); the larger stamp wins.
 *
 * Timestamps are packed hybrid logical clock values (see hlc.ts): plain numbers so a
 * record costs one heap number per stamp, not an object.
 */
export interface RoomRecord {
  /** Room name: any UTF-8 string of 1..ROOM_NAME_BYTES_MAX bytes. Untrusted. */
  name: string;
  /** `RM_` + 12 base57 characters, as LiveKit. */
  sid: string;
  /** Packed HLC of the create. With `creator` and `sid` it orders concurrent creates. */
  createdAt: number;
  /** Node id of the node that created this incarnation. */
  creator: string;
  /** Region whose ring places the room (DESIGN.md section 5). */
  homeRegion: string;

  settingsAt: number;
  settingsBy: string;
  /** Seconds a room may stay empty before the owner removes it (LiveKit default 300). */
  emptyTimeoutS: number;
  /** Seconds after the last participant leaves before removal (LiveKit default 20). */
  departureTimeoutS: number;
  /** 0 = unlimited. */
  maxParticipants: number;
  metadata: string;
  /** LiveKit's `node_id`: placement pinned to this node while it is alive; '' = none. */
  pinnedNode: string;

  statsAt: number;
  statsBy: string;
  numParticipants: number;
  numPublishers: number;
  activeRecording: boolean;
  /** True once any stats report showed a participant: picks departure vs empty timeout. */
  everOccupied: boolean;

  /** Packed HLC of the delete, 0 while the incarnation is live. */
  deletedAt: number;
  deletedBy: string;
}
