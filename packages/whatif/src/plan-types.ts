/**
 * The what-if plan's shape on its own, importing nothing, so the dashboard (apps/server/ui,
 * type-checked for the browser without node types) reads the same declaration the CLI and
 * `/v1/whatif` produce.
 */

/** The plan (`roomring whatif --json`, `/v1/whatif`; docs/cli.md). `null` = no owner (no
 *  member alive). */
export interface WhatIfPlan {
  change: { remove: string[]; add: { nodeId: string; region: string; weight: number }[] };
  ringChecksum: {
    /** The answering node's own ring checksum. */
    live: string;
    /** The placement built from the membership view. */
    computed: string;
    match: boolean;
    /** After the change. */
    after: string;
  };
  ringMembersBefore: number;
  ringMembersAfter: number;
  roomCount: number;
  movedCount: number;
  movedFraction: number;
  /** Rooms treated as pinned without saying so (see the module comment). */
  pinnedInferred: number;
  pairs: { from: string | null; to: string | null; count: number }[];
  nodes: {
    nodeId: string;
    ownedBefore: number;
    ownedAfter: number;
    lost: number;
    gained: number;
  }[];
  sample: { name: string; homeRegion: string; from: string | null; to: string | null }[];
}
