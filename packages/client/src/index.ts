export {
  mintAccessToken,
  TOKEN_NOT_BEFORE_SKEW_S,
  TOKEN_TTL_S,
  type TokenGrant,
  type TokenIdentity,
  type VideoGrant,
} from './access-token.js';
export type {
  AdminRoom,
  Convergence,
  Member,
  NodeStatus,
  OwnerView,
  RingNode,
  RingRegion,
  RingView,
  RoomStatsReport,
  RoomsFilter,
} from './admin-types.js';
export { type CallOptions, REQUEST_ID_HEADER, TIMEOUT_HEADER } from './call-runner.js';
export {
  type CreateRoomRequest,
  createRoomringClient,
  type RoomringClient,
} from './client.js';
export {
  type ClientClock,
  type ClientRandom,
  type ClientTimers,
  DEADLINE_MS_LIMIT,
  DEFAULT_ATTEMPT_ESTIMATE_MIN_MS,
  DEFAULT_BASE_DELAY_MS,
  DEFAULT_BUDGET_MIN_PER_WINDOW,
  DEFAULT_BUDGET_RATIO,
  DEFAULT_BUDGET_WINDOW_MS,
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_DELAY_MS,
  DEFAULT_RESPONSE_BYTES_MAX,
  type FetchLike,
  MAX_ATTEMPTS_LIMIT,
  type RetryPolicyInit,
  type RoomringClientInit,
} from './client-init.js';
export type { ClientCounters } from './counters.js';
export {
  type ResponseErrorCode,
  type RetryStopReason,
  RoomringApiError,
  RoomringCanceledError,
  RoomringDeadlineExceededError,
  RoomringError,
  RoomringNetworkError,
  RoomringResponseError,
  type TwirpErrorCode,
} from './errors.js';
export { BUDGET_BUCKET_COUNT, RetryBudget } from './retry-budget.js';
export type { Room, RoomVersion } from './room.js';
