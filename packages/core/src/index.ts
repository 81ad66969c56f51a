export {
  AntiEntropy,
  SYNC_BUCKETS_PROTOCOL,
  SYNC_DIGEST_PROTOCOL,
  type SyncOutcome,
} from './anti-entropy.js';
export { ClusterView, type ClusterViewHost } from './cluster-view.js';
export {
  DEFAULTS,
  isolationAfterMs,
  type NodeConfig,
  type NodeOptions,
  type NodeOptionsInput,
  PROFILES,
  type ProfileName,
  resolveConfig,
} from './config.js';
export {
  CONFIRMED_MAX,
  DurableWrites,
  type DurableWritesHost,
  UNACKED_MAX,
} from './durable-writes.js';
export {
  type ClientRetry,
  ConfigError,
  DeadlineExceededError,
  ERROR_TABLE,
  type ErrorTableRow,
  errorRowOf,
  fromStoreError,
  InvalidArgumentError,
  LimitExceededError,
  NODE_ARGUMENT_OF_STORE_FIELD,
  NodeNotReadyError,
  OverloadedError,
  RegistryError,
  type RegistryErrorCode,
  RoomNotFoundError,
  UnavailableError,
} from './errors.js';
export {
  RegistryEventEmitter,
  type RegistryEventName,
  type RegistryEvents,
  type RoomOrigin,
} from './events.js';
export { Guard } from './guards.js';
export { Isolation, type IsolationHost } from './isolation.js';
export type { MemberChangeReason, MemberView } from './membership.js';
export {
  heartbeatPublishIntervalMs,
  isLargeCluster,
  meshNeighbours,
  pairScore,
} from './mesh.js';
export { OWNERSHIP_SCAN_STEP_ROOMS, RoomOwnership, type RoomOwnershipHost } from './ownership.js';
export {
  type CallOptions,
  type CreateRoomRequest,
  createRegistryCore,
  MEMBERS_PROTOCOL,
  MEMBERSHIP_TOPIC,
  type NodeState,
  type OwnerInfo,
  PING_PROTOCOL,
  type Readiness,
  type ReadinessReason,
  RegistryCore,
  type RegistryCoreInit,
  ROOMS_TOPIC,
  type RoomStats,
} from './registry.js';
export { Replica, type ReplicaHost } from './replica.js';
export type { CancelTimer, Clock, Random, Runtime, Timers } from './runtime.js';
export type * from './transport.js';
export { DialTimeoutError, isDialTimeout } from './transport.js';
export { REPLICATE_PROTOCOL } from './write-path.js';
