import type { AdminRoom, Member } from '@roomring/client';

export function member(nodeId: string, region: string, extra: Partial<Member> = {}): Member {
  return {
    nodeId,
    region,
    state: 'alive',
    incarnation: 1,
    weight: 1,
    httpUrl: `http://127.0.0.1/${nodeId}`,
    p2pAddrs: [],
    roomCount: 0,
    ringChecksum: '',
    storeDigest: '',
    lastHeardMs: 0,
    stateSinceMs: 0,
    self: false,
    ...extra,
  };
}

export function room(
  name: string,
  homeRegion: string,
  owner = '',
  extra: Partial<AdminRoom> = {},
): AdminRoom {
  return {
    name,
    sid: `RM_${name}`,
    homeRegion,
    owner,
    numParticipants: 0,
    numPublishers: 0,
    activeRecording: false,
    createdAtMs: 0,
    metadata: '',
    ...extra,
  };
}

/** True when `text` holds an ANSI escape or another C0/C1 control other than newline. */
export function hasControl(text: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: that is what is looked for
  return /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(text);
}
