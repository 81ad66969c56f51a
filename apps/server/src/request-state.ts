/**
 * Per-request state the hooks of app.ts set: arrival time, deadline, grants, admission slot.
 */
import type { VideoGrants } from './auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Wall ms when the request arrived; its deadline counts from here. */
    startedAtMs: number;
    /** performance.now() when the request arrived: its duration, on a monotonic clock with
     *  sub-millisecond resolution (a CreateRoom takes microseconds). */
    startedAtPerfMs: number;
    /** Wall ms by which the caller wants an answer. */
    deadlineAtMs: number;
    /** Set for authenticated API routes (Twirp and /v1). */
    grants: VideoGrants | undefined;
    /** Frees the admission slot; idempotent. */
    releaseSlot: (() => void) | undefined;
    /** Aborted when the client goes away while the request waits for a slot. */
    clientGone: AbortController | undefined;
  }
}
