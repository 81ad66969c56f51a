/**
 * Events a registry node emits: what an embedding media server (which rooms to host) and the
 * HTTP event stream need. Listeners run synchronously; one that throws is reported through
 * the 'listener-error' event and never breaks the node.
 */
import type { RoomRecord } from '@roomring/protocol';
import type { CaughtError } from './guards.js';
import type { MemberChangeReason, MemberView } from './membership.js';

export type RoomOrigin = 'local' | 'remote';

export interface RegistryEvents {
  'room-created': { room: Readonly<RoomRecord>; origin: RoomOrigin };
  'room-updated': { room: Readonly<RoomRecord>; origin: RoomOrigin };
  'room-deleted': { room: Readonly<RoomRecord>; origin: RoomOrigin };
  /** A concurrent create of the same name lost (DESIGN.md section 4): `loser` is tombstoned,
   *  `winner` is the room every node shows. */
  'room-superseded': { name: string; winnerSid: string; loserSid: string };
  'member-up': { member: MemberView; reason: MemberChangeReason };
  'member-suspect': { member: MemberView; reason: MemberChangeReason };
  'member-dead': { member: MemberView; reason: MemberChangeReason };
  'member-left': { member: MemberView; reason: MemberChangeReason };
  /** This node became the owner (host) of a room, or stopped being it. */
  'ownership-gained': { name: string; sid: string };
  'ownership-lost': { name: string; sid: string };
  'listener-error': { event: string; error: unknown };
  /** A timer callback, handler or background task threw; it was caught and counted
   *  (status().counters.errors) and the node goes on. Log it: it is a bug. */
  'internal-error': CaughtError;
}

export type RegistryEventName = keyof RegistryEvents;
type Listener<E extends RegistryEventName> = (payload: RegistryEvents[E]) => void;

export class RegistryEventEmitter {
  private readonly listeners = new Map<RegistryEventName, Set<Listener<never>>>();

  on<E extends RegistryEventName>(event: E, listener: Listener<E>): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  off<E extends RegistryEventName>(event: E, listener: Listener<E>): void {
    this.listeners.get(event)?.delete(listener as Listener<never>);
  }

  /** Cheap check so hot paths build payloads only when someone listens. */
  has(event: RegistryEventName): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0;
  }

  emit<E extends RegistryEventName>(event: E, payload: RegistryEvents[E]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of set) {
      try {
        (listener as Listener<E>)(payload);
      } catch (error) {
        if (event !== 'listener-error') this.emit('listener-error', { event, error });
      }
    }
  }
}
