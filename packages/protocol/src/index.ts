export * from './hlc.js';
export type { RoomRecord } from './room-record.js';
