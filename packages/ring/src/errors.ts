/**
 * One error class per failure kind, matched by `.name` or `.code` (js-libp2p's habit), never by
 * message text. Messages quote untrusted strings through JSON.stringify, shortened, so a NUL or
 * a 10 kB id cannot garble a log line.
 */

/** A member list entry is unusable: empty or over-long id/region, bad weight or state, or a
 *  node id given twice. */
export class InvalidMemberError extends Error {
  static readonly code = 'ERR_INVALID_MEMBER';
  override readonly name = 'InvalidMemberError';
  readonly code = InvalidMemberError.code;
  /** The offending node id, when the entry had a string one. */
  readonly nodeId: string | undefined;

  constructor(message: string, nodeId?: string) {
    super(message);
    this.nodeId = nodeId;
  }
}

/** A `PlacementInit` option is unusable (`pointsPerWeight`, `failoverOrder`), or the membership
 *  is larger than a placement may hold (members, regions or ring points). */
export class InvalidPlacementConfigError extends Error {
  static readonly code = 'ERR_INVALID_PLACEMENT_CONFIG';
  override readonly name = 'InvalidPlacementConfigError';
  readonly code = InvalidPlacementConfigError.code;
}

const QUOTED_CHARS_MAX = 80;

/** `"abc"`-style quoting for error messages, cut at 80 characters. */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  const cut = text.length > QUOTED_CHARS_MAX ? `${text.slice(0, QUOTED_CHARS_MAX)}…` : text;
  return JSON.stringify(cut);
}
